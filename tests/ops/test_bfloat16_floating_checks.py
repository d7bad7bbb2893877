"""bfloat16 is floating: ops that once asked ``dtype.kind == "f"`` (bfloat16's NumPy kind is
``'V'``) and so took a bfloat16 tensor for an integer one, compared against PyTorch.

Each row builds the same computation with ``lib`` = chainrule or torch and returns the
output and the inputs whose gradients to compare. A row checks the output's dtype, values
(bfloat16 tolerance, or exact), ``requires_grad`` / ``grad_fn`` presence and the inputs'
gradients; ``random=True`` rows draw samples, so only dtype, shape and finiteness compare.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch

import chainrule as cr

NAN, INF = math.nan, math.inf


class Row(NamedTuple):
    name: str
    build: Callable[[Any], tuple[Any, list]]
    exact: bool = False  # the float32 views equal exactly (one rounding in both)
    random: bool = False  # sampled values: dtype, shape and finiteness only
    grads: bool = True  # compare the inputs' gradients


def bf(lib: Any, values: Any, grad: bool = False) -> Any:
    return lib.tensor(values, dtype=lib.bfloat16, requires_grad=grad)


def _f(lib: Any) -> Any:
    return lib.nn.functional


def _scatter_reduce(reduce: str, include_self: bool) -> Callable:
    def build(lib: Any) -> tuple[Any, list]:
        src = bf(lib, [1.0, 2.0, 3.0, 4.0], True)
        base = bf(lib, [5.0, 0.5], True)
        idx = lib.tensor([0, 1, 0, 1])
        return base.scatter_reduce(0, idx, src, reduce, include_self=include_self), [base, src]

    return build


def _fmax(lib: Any) -> tuple[Any, list]:
    a, b = bf(lib, [1.0, NAN, 3.0, 2.0], True), bf(lib, [2.0, 2.0, NAN, 1.0], True)
    return lib.fmax(a, b), [a, b]


def _fmin(lib: Any) -> tuple[Any, list]:
    a, b = bf(lib, [1.0, NAN, 3.0, 2.0], True), bf(lib, [2.0, 2.0, NAN, 1.0], True)
    return lib.fmin(a, b), [a, b]


def _nan_to_num(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [1.0, NAN, INF, -INF], True)
    return lib.nan_to_num(x), [x]


def _corrcoef(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[1.0, 2.0, 4.0], [3.0, 1.0, 0.5]], True)
    return lib.corrcoef(x), [x]


def _cov_bf16_weights(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[1.0, 2.0, 4.0], [3.0, 1.0, 0.5]], True)
    return lib.cov(x, aweights=bf(lib, [1.0, 2.0, 0.5])), [x]


def _cov_float32_weights(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[1.0, 2.0, 4.0], [3.0, 1.0, 0.5]], True)
    return lib.cov(x, aweights=lib.tensor([1.0, 2.0, 0.5])), [x]


def _sort_nan(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [1.0, NAN, 3.0, -1.0], True)
    values, indices = lib.sort(x, descending=True)
    return lib.stack([values, indices.to(lib.bfloat16)]), [x]


def _topk_nan(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [1.0, NAN, 3.0, -1.0], True)
    values, indices = lib.topk(x, 2)
    return lib.stack([values, indices.to(lib.bfloat16)]), [x]


def _logcumsumexp(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [1.0, 2.0, 3.0, -1.0], True)
    return lib.logcumsumexp(x, 0), [x]


def _setitem(lib: Any) -> tuple[Any, list]:
    v = bf(lib, [2.0], True)
    x = lib.zeros(3, dtype=lib.bfloat16)
    x[1:2] = v
    return x, [v]


def _segment_reduce(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [1.0, 2.0, 3.0, 4.0], True)
    return lib.segment_reduce(x, "sum", lengths=lib.tensor([2, 2])), [x]


def _addcdiv(lib: Any) -> tuple[Any, list]:
    x, a, b = bf(lib, [1.0, 2.0], True), bf(lib, [3.0, 5.0], True), bf(lib, [7.0, 3.0], True)
    out = lib.addcdiv(x, a, b, value=0.7)
    assert out.grad_fn.name() == "AddcdivBackward0"
    return out, [x, a, b]


def _addcmul(lib: Any) -> tuple[Any, list]:
    x, a, b = bf(lib, [1.0, 2.0], True), bf(lib, [3.0, 5.0], True), bf(lib, [7.0, 3.1], True)
    out = lib.addcmul(x, a, b, value=0.7)
    assert out.grad_fn.name() == "AddcmulBackward0"
    return out, [x, a, b]


def _max_pool1d_nan(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[1.0, NAN, 3.0, 2.0]]], True)
    y, idx = _f(lib).max_pool1d(x, 2, return_indices=True)
    return lib.cat([y, idx.to(lib.bfloat16)], -1), [x]


def _max_pool2d_nan_padded(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[1.0, NAN], [3.0, 2.0]]]], True)
    y, idx = _f(lib).max_pool2d(x, 2, padding=1, return_indices=True)
    return lib.cat([y, idx.to(lib.bfloat16)], -1), [x]


def _max_pool3d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[[1.0, 6.0], [3.0, 2.0]], [[5.0, 1.0], [NAN, 2.0]]]]], True)
    y, idx = _f(lib).max_pool3d(x, (1, 2, 2), return_indices=True)
    return lib.cat([y, idx.to(lib.bfloat16)], -1), [x]


def _max_unpool2d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[1.0, 2.0], [4.0, 3.0]]]], True)
    y, idx = _f(lib).max_pool2d(x, 2, return_indices=True)
    return _f(lib).max_unpool2d(y, idx, 2), [x]


def _max_unpool3d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[[1.0, 2.0], [4.0, 3.0]]]]], True)
    y, idx = _f(lib).max_pool3d(x, (1, 2, 2), return_indices=True)
    return _f(lib).max_unpool3d(y, idx, (1, 2, 2)), [x]


def _adaptive_max_pool1d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[1.0, 5.0, 3.0, 2.0]]], True)
    return _f(lib).adaptive_max_pool1d(x, 2), [x]


def _adaptive_max_pool3d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[[1.0, 6.0], [3.0, 2.0]], [[5.0, 1.0], [0.0, 2.0]]]]], True)
    return _f(lib).adaptive_max_pool3d(x, (2, 1, 1)), [x]


def _fractional_max_pool2d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[1.0, 2.0], [4.0, 3.0]]]], True)
    return _f(lib).fractional_max_pool2d(x, 2, output_size=1), [x]


def _embedding_bag(lib: Any) -> tuple[Any, list]:
    w = bf(lib, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.5]], True)
    return _f(lib).embedding_bag(lib.tensor([[0, 2]]), w), [w]


def _cross_map_lrn2d(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[[1.0, 2.0]], [[3.0, 4.0]], [[0.5, 6.0]]]], True)
    return lib.nn.CrossMapLRN2d(3, alpha=0.5)(x), [x]


def _feature_alpha_dropout(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [[[1.0, 2.0], [3.0, 4.0]]], True)
    return _f(lib).feature_alpha_dropout(x, 0.5, training=True), [x]


def _flex_attention(lib: Any) -> tuple[Any, list]:
    if lib is torch:
        from torch.nn.attention.flex_attention import flex_attention
    else:
        from chainrule.nn.attention.flex_attention import flex_attention
    q = bf(lib, [[[[1.0, 0.5], [0.25, -1.0]]]])  # torch: no backward on the CPU
    v = bf(lib, [[[[2.0, 3.0], [-1.0, 0.5]]]])
    return flex_attention(q, q, v), []


def _multihead_attention_float_mask(lib: Any) -> tuple[Any, list]:
    rng = np.random.default_rng(0)
    m = lib.nn.MultiheadAttention(4, 2)
    state = {k: rng.standard_normal(tuple(v.shape)) * 0.5 for k, v in m.state_dict().items()}
    m.load_state_dict({k: lib.tensor(v.tolist()) for k, v in state.items()})
    m = m.to(lib.bfloat16)
    x = bf(lib, rng.standard_normal((3, 1, 4)).round(2).tolist(), True)
    mask = bf(lib, [[0.0, -1.0, 0.0], [0.0, 0.0, -INF], [0.5, 0.0, 0.0]])
    return m(x, x, x, attn_mask=mask, need_weights=False)[0], [x]


def _hann_window(lib: Any) -> tuple[Any, list]:
    return lib.hann_window(6, dtype=lib.bfloat16), []


def _fftfreq(lib: Any) -> tuple[Any, list]:
    return lib.fft.fftfreq(5, dtype=lib.bfloat16), []


def _norm_dtype(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [3.0, 4.0, 1.5], True)
    return lib.norm(x, p=1, dtype=lib.float32), [x]


def _nansum(lib: Any) -> tuple[Any, list]:
    x = bf(lib, [1.0, NAN, 3.0], True)
    return lib.nansum(x), [x]


def _isposinf(lib: Any) -> tuple[Any, list]:
    return lib.isposinf(bf(lib, [1.0, INF, -INF, NAN])), []


def _isneginf(lib: Any) -> tuple[Any, list]:
    return lib.isneginf(bf(lib, [1.0, INF, -INF, NAN])), []


def _swa_update(lib: Any, ema: bool) -> tuple[Any, list]:
    swa = lib.optim.swa_utils
    m = lib.nn.Linear(2, 2).to(lib.bfloat16)
    fn = swa.get_ema_multi_avg_fn(0.9) if ema else swa.get_swa_multi_avg_fn()
    averaged = swa.AveragedModel(m, multi_avg_fn=fn)
    for w in ([[1.0, 2.0], [3.0, 4.0]], [[5.0, 2.0], [7.0, 1.0]]):
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w))
        averaged.update_parameters(m)
    return averaged.module.weight.detach(), []


def _fused_adam(lib: Any) -> tuple[Any, list]:
    p = lib.nn.Parameter(bf(lib, [1.0, -2.0]))
    opt = lib.optim.Adam([p], lr=0.1, fused=True)
    p.grad = bf(lib, [1.0, 0.5])
    opt.step()
    return p.detach(), []


def _random_fill(method: str) -> Callable:
    def build(lib: Any) -> tuple[Any, list]:
        return getattr(lib.zeros(64, dtype=lib.bfloat16), method)(), []

    return build


def _poisson(lib: Any) -> tuple[Any, list]:
    return lib.poisson(bf(lib, [1.0, 2.0, 30.0])), []


def _multinomial(lib: Any) -> tuple[Any, list]:
    return lib.multinomial(bf(lib, [0.2, 0.8, 0.0]), 2), []


ROWS = [
    Row("nansum", _nansum, exact=True),
    Row("cov_bfloat16_aweights", _cov_bf16_weights),
    Row("cov_float32_aweights", _cov_float32_weights),
    Row("corrcoef", _corrcoef),
    Row("scatter_reduce_amin", _scatter_reduce("amin", False), exact=True),
    Row("scatter_reduce_amax", _scatter_reduce("amax", True), exact=True),
    Row("scatter_reduce_sum", _scatter_reduce("sum", False), exact=True),
    Row("scatter_reduce_mean", _scatter_reduce("mean", True)),
    Row("fmax", _fmax, exact=True),
    Row("fmin", _fmin, exact=True),
    Row("isposinf", _isposinf, exact=True),
    Row("isneginf", _isneginf, exact=True),
    Row("nan_to_num", _nan_to_num, exact=True),
    Row("sort_descending_nan", _sort_nan, exact=True),
    Row("topk_nan", _topk_nan, exact=True),
    Row("logcumsumexp", _logcumsumexp),
    Row("setitem_value_requires_grad", _setitem, exact=True),
    Row("segment_reduce", _segment_reduce, exact=True),
    Row("addcdiv", _addcdiv, exact=True),
    Row("addcmul", _addcmul, exact=True),
    Row("norm_dtype_float32", _norm_dtype, exact=True),
    Row("max_pool1d_nan", _max_pool1d_nan, exact=True),
    Row("max_pool2d_nan_padded", _max_pool2d_nan_padded, exact=True),
    Row("max_pool3d", _max_pool3d, exact=True),
    Row("max_unpool2d", _max_unpool2d, exact=True),
    Row("max_unpool3d", _max_unpool3d, exact=True),
    Row("adaptive_max_pool1d", _adaptive_max_pool1d, exact=True),
    Row("adaptive_max_pool3d", _adaptive_max_pool3d, exact=True),
    Row("fractional_max_pool2d", _fractional_max_pool2d, exact=True),
    Row("embedding_bag", _embedding_bag, exact=True),
    # its backward differs from torch's legacy formula in float32 too: forward only here
    Row("cross_map_lrn2d", _cross_map_lrn2d, grads=False),
    Row("flex_attention", _flex_attention),
    Row("multihead_attention_float_mask", _multihead_attention_float_mask),
    Row("hann_window", _hann_window),
    Row("fftfreq", _fftfreq, exact=True),
    Row("swa_multi_avg", lambda lib: _swa_update(lib, ema=False), exact=True),
    Row("ema_multi_avg", lambda lib: _swa_update(lib, ema=True), exact=True),
    Row("adam_fused", _fused_adam),
    Row("feature_alpha_dropout", _feature_alpha_dropout, random=True),
    Row("poisson", _poisson, random=True),
    Row("multinomial", _multinomial, random=True),
    Row("exponential_", _random_fill("exponential_"), random=True),
    Row("cauchy_", _random_fill("cauchy_"), random=True),
    Row("log_normal_", _random_fill("log_normal_"), random=True),
]


def _run(row: Row, lib: Any) -> tuple[Any, list]:
    lib.manual_seed(0)
    if lib is torch:  # torch's own warnings (flex_attention's eager mode) are not tested here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return row.build(lib)
    return row.build(lib)


def _grads(out: Any, inputs: list) -> list:
    if not inputs or not out.requires_grad:
        return [None] * len(inputs)
    weights = (
        (torch if isinstance(out, torch.Tensor) else cr)
        .linspace(0.5, 1.5, out.numel())
        .reshape(tuple(out.shape))
    )
    clean = out.float().nan_to_num(0.0, 0.0, 0.0)  # a finite seed for inf/NaN outputs
    (clean * weights).sum().backward()
    return [None if x.grad is None else x.grad.float().numpy() for x in inputs]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bfloat16_is_floating(row: Row) -> None:
    got, got_inputs = _run(row, cr)
    want, want_inputs = _run(row, torch)
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.requires_grad == want.requires_grad
    assert (got.grad_fn is None) == (want.grad_fn is None)
    g = np.asarray(got.detach().float().numpy(), np.float64)
    w = np.asarray(want.detach().float().numpy(), np.float64)
    if row.random:
        assert np.isfinite(g).all()
        return
    if row.exact:
        np.testing.assert_array_equal(g, w)
    else:
        np.testing.assert_allclose(g, w, rtol=1.6e-2, atol=1e-2, equal_nan=True)
    if not row.grads:
        return
    for a, b in zip(_grads(got, got_inputs), _grads(want, want_inputs), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1.6e-2, atol=1e-2, equal_nan=True)


def test_is_signed() -> None:
    assert cr.zeros(1, dtype=cr.bfloat16).is_signed() is True
    assert torch.zeros(1, dtype=torch.bfloat16).is_signed() is True


@pytest.mark.parametrize(
    "values",
    # the first two were printed in fixed point; the last two were right already
    [[1.0e-5, 2.25, 1.0e6], [1.0e9, 1.0], [1.5, 2.25, 100.0], [0.5, NAN, -INF]],
)
def test_repr(values: list) -> None:
    """PyTorch prints bfloat16 with its float rules (scientific for a wide range)."""
    assert repr(bf(cr, values)) == repr(bf(torch, values))
