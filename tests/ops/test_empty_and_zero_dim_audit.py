"""Empty tensors (a dimension of size 0) and 0-d tensors across the op surface, against PyTorch.

Each case runs the same function on chainrule and on torch with the same inputs and compares
the results (shape, dtype, values, NaN included), the error type where torch raises, and,
for float inputs, the gradients of a weighted sum of the float outputs: an empty result must
still give each input a gradient of its own shape (zeros), never ``None`` or a crash.

The first table holds the cases an audit found broken (fixed with this file); the second a
sample of the cases that already agreed, so that they stay that way.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_RNG = np.random.default_rng(0)


def _a(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _flat(o)]
    return [out]


def _run(lib, fn, arrays, grad):
    """``fn(lib, *tensors)``: (outputs, input gradients or None) or ("raised", exception),
    and whether it warned (a UserWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _run_quietly(lib, fn, arrays, grad)
    return result, any(issubclass(w.category, UserWarning) for w in caught)


def _run_quietly(lib, fn, arrays, grad):
    ts = [lib.tensor(np.array(a)) for a in arrays]
    if grad:
        ts = [t.requires_grad_(True) if t.dtype.is_floating_point else t for t in ts]
    try:
        outs = _flat(fn(lib, *ts))
    except Exception as err:  # noqa: BLE001 - the error is what is compared
        return "raised", err
    tensor_type = torch.Tensor if lib is torch else cr.Tensor
    diff = [o for o in outs if isinstance(o, tensor_type) and o.requires_grad]
    if not grad or not diff:
        return outs, None
    total = None
    for k, o in enumerate(diff):
        w = np.random.default_rng(k).standard_normal(tuple(o.shape))
        term = (o * lib.tensor(w).to(o.dtype)).sum()
        total = term if total is None else total + term
    total.backward()
    return outs, [t.grad for t in ts if t.requires_grad]


def _numpy(t) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def check(fn, *arrays, grad: bool = True, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """chainrule's ``fn`` agrees with torch's: outputs, errors and gradients."""
    (t_outs, t_grads), t_warned = _run(torch, fn, arrays, grad)
    (c_outs, c_grads), c_warned = _run(cr, fn, arrays, grad)
    assert c_warned == t_warned, f"torch warned: {t_warned}, chainrule warned: {c_warned}"
    if t_outs == "raised":
        assert c_outs == "raised", f"torch raised {t_grads!r}; chainrule returned {c_outs}"
        assert isinstance(c_grads, type(t_grads)), (t_grads, c_grads)
        return
    assert c_outs != "raised", f"chainrule raised {c_grads!r}; torch did not"
    assert len(c_outs) == len(t_outs)
    for c, t in zip(c_outs, t_outs):
        if not isinstance(t, torch.Tensor):
            assert not isinstance(c, cr.Tensor)
            assert c == t or (c != c and t != t), (c, t)
            continue
        assert tuple(c.shape) == tuple(t.shape), (tuple(c.shape), tuple(t.shape))
        assert str(c.dtype) == str(t.dtype), (c.dtype, t.dtype)
        np.testing.assert_allclose(_numpy(c), _numpy(t), rtol=rtol, atol=atol, equal_nan=True)
    if t_grads is None and c_grads is not None:  # torch left an empty result out of the graph
        t_grads = [None] * len(c_grads)
    assert (c_grads is None) == (t_grads is None), (c_grads, t_grads)
    for c, t, a in zip(c_grads or (), t_grads or (), arrays):
        if c is None:  # an input the result does not depend on
            assert t is None, "chainrule's gradient is None, torch's is not"
            continue
        assert tuple(c.shape) == a.shape, (tuple(c.shape), a.shape)
        # where torch's gradient is None (an empty result it did not differentiate), zeros
        want = np.zeros(a.shape, np.float32) if t is None else _numpy(t)
        np.testing.assert_allclose(_numpy(c), want, rtol=rtol, atol=atol, equal_nan=True)


def _load_torch_weights(mod, tmod):
    mod.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    return mod


def _module(name: str, *args, train: bool = True, **kwargs):
    """``fn(lib, x)`` calling nn.<name>(*args) with torch's initial weights in both."""

    def fn(lib, *xs):
        torch.manual_seed(0)
        tmod = getattr(torch.nn, name)(*args, **kwargs)
        mod = (
            tmod
            if lib is torch
            else _load_torch_weights(getattr(cr.nn, name)(*args, **kwargs), tmod)
        )
        mod.train(train)
        return mod(*xs)

    return fn


def _mha(lib, q, k):
    return _module("MultiheadAttention", 4, 2, batch_first=True)(lib, q, k, k)


def _sdpa(lib, q, k):
    return lib.nn.functional.scaled_dot_product_attention(q, k, k)


def _inf_norm(ord_):
    return lambda lib, x: lib.linalg.matrix_norm(x, ord_)


# --------------------------------------------------------------- cases the audit fixed

FIXED = {
    # split/chunk: split size 0 splits a size-0 dim; a 0-d tensor is refused (RuntimeError)
    "split0_empty_dim": (lambda L, x: x.split(0), _a(0)),
    "split0_empty_dim_2d": (lambda L, x: x.split(0, 1), _a(2, 0)),
    "split0_nonempty_raises": (lambda L, x: x.split(0), _a(3)),
    "split_0d_raises": (lambda L, x: x.split(1), _a()),
    "split_sizes_0d_raises": (lambda L, x: x.split([1]), _a()),
    "chunk_0d_raises": (lambda L, x: x.chunk(1), _a()),
    # unfold of a 0-d tensor: one window, shape (size,)
    "unfold_0d": (lambda L, x: x.unfold(0, 1, 1), _a()),
    "unfold_0d_size0": (lambda L, x: x.unfold(0, 0, 2), _a()),
    # aminmax over an empty dim: IndexError as PyTorch's
    "aminmax_empty_dim": (lambda L, x: L.aminmax(x, dim=0), _a(0, 3)),
    "aminmax_empty_all": (lambda L, x: L.aminmax(x), _a(0, 3)),
    # inner with an empty last dim
    "inner_empty": (lambda L, x, y: L.inner(x, y), _a(0), _a(0)),
    "inner_empty_rows": (lambda L, x, y: L.inner(x, y), _a(2, 0), _a(3, 0)),
    # induced matrix norms: the max over no columns/rows is 0 (the min still raises)
    "matrix_norm_1_3x0": (_inf_norm(1), _a(3, 0)),
    "matrix_norm_1_0x0": (_inf_norm(1), _a(0, 0)),
    "matrix_norm_inf_0x3": (_inf_norm(math.inf), _a(0, 3)),
    "matrix_norm_inf_batch": (_inf_norm(math.inf), _a(2, 0, 4)),
    "matrix_norm_-1_3x0_raises": (_inf_norm(-1), _a(3, 0)),
    "matrix_norm_-1_0x3": (_inf_norm(-1), _a(0, 3)),
    "matrix_norm_1_keepdim": (lambda L, x: L.linalg.matrix_norm(x, 1, keepdim=True), _a(2, 3, 0)),
    # cholesky_ex of 0x0 matrices
    "cholesky_ex_0x0": (lambda L, x: L.linalg.cholesky_ex(x), _a(0, 0)),
    "cholesky_ex_batch_0x0": (lambda L, x: L.linalg.cholesky_ex(x), _a(2, 0, 0)),
    # recurrent layers with a batch of 0 (a sequence of 0 steps is a RuntimeError)
    "lstm_batch0": (_module("LSTM", 3, 4), _a(5, 0, 3)),
    "lstm_batch0_batch_first": (_module("LSTM", 3, 4, batch_first=True), _a(0, 5, 3)),
    "lstm_batch0_2layer_bidir": (
        _module("LSTM", 3, 4, num_layers=2, bidirectional=True),
        _a(5, 0, 3),
    ),
    "gru_batch0": (_module("GRU", 3, 4), _a(5, 0, 3)),
    "gru_batch0_2layer_bidir": (
        _module("GRU", 3, 4, num_layers=2, bidirectional=True),
        _a(5, 0, 3),
    ),
    "lstm_seq0_raises": (_module("LSTM", 3, 4), _a(0, 2, 3)),
    "gru_seq0_raises": (_module("GRU", 3, 4), _a(0, 2, 3)),
    "rnn_seq0_raises": (_module("RNN", 3, 4), _a(0, 2, 3)),
    # attention with a batch of 0, no queries or no keys (softmax over no keys: zeros)
    "mha_batch0": (_mha, _a(0, 3, 4), _a(0, 3, 4)),
    "mha_seq0": (_mha, _a(2, 0, 4), _a(2, 0, 4)),
    "mha_no_keys": (_mha, _a(2, 3, 4), _a(2, 0, 4)),
    "sdpa_seq0": (_sdpa, _a(1, 2, 0, 4), _a(1, 2, 0, 4)),
    "sdpa_no_keys": (_sdpa, _a(1, 2, 3, 4), _a(1, 2, 0, 4)),
    "transformer_layer_batch0": (
        _module("TransformerEncoderLayer", 4, 2, 8, 0.0, train=False),
        _a(3, 0, 4),
    ),
    "transformer_layer_batch0_first": (
        _module("TransformerEncoderLayer", 4, 2, 8, 0.0, batch_first=True, train=False),
        _a(0, 3, 4),
    ),
    # cross_entropy with probability targets and no elements: 'mean' is 0 / 0 = NaN
    "cross_entropy_probs_mean_b0": (
        lambda L, x, t: L.nn.functional.cross_entropy(x, t.softmax(1)),
        _a(0, 4),
        _a(0, 4),
    ),
    "cross_entropy_probs_mean_c0": (
        lambda L, x, t: L.nn.functional.cross_entropy(x, t.softmax(1)),
        _a(3, 0),
        _a(3, 0),
    ),
    "cross_entropy_probs_mean_spatial0": (
        lambda L, x, t: L.nn.functional.cross_entropy(x, t.softmax(1)),
        _a(2, 4, 0),
        _a(2, 4, 0),
    ),
    # median of no elements: NaN in the graph (backward runs)
    "median_empty": (lambda L, x: x.median(), _a(0, 3)),
    "nanmedian_empty": (lambda L, x: x.nanmedian(), _a(0)),
    "median_empty_int64": (lambda L, x: x.long().median(), _a(0)),
    "median_empty_int32": (lambda L, x: x.int().median(), _a(0)),
    "median_empty_int16": (lambda L, x: x.short().nanmedian(), _a(0)),
    "median_empty_bool": (lambda L, x: x.bool().median(), _a(0)),
    # results that PyTorch keeps in the graph with a zero gradient
    "matrix_power_0": (lambda L, x: L.linalg.matrix_power(x, 0), _a(3, 3)),
    "matrix_power_0_empty": (lambda L, x: L.linalg.matrix_power(x, 0), _a(2, 0, 0)),
    "householder_product_no_tau": (
        lambda L, x, t: L.linalg.householder_product(x, t),
        _a(3, 2),
        _a(0),
    ),
    # searchsorted with an empty batch or empty rows
    "searchsorted_rows0": (lambda L, s, v: L.searchsorted(s, v), _a(0, 4), _a(0, 4)),
    "searchsorted_cols0": (lambda L, s, v: L.searchsorted(s, v), _a(2, 0), _a(2, 0)),
    "searchsorted_values0": (
        lambda L, s, v: L.searchsorted(s.sort().values, v),
        _a(2, 3),
        _a(2, 0),
    ),
    # unique along a dim while another dim is 0: refused, as unique_consecutive
    "unique_dim_other_zero_raises": (lambda L, x: L.unique(x.detach(), dim=0), _a(3, 0)),
    "unique_dim_selected_zero": (lambda L, x: L.unique(x.detach(), dim=1), _a(2, 0, 3)),
    # instance_norm: no spatial elements gives an empty result; one raises (ValueError)
    "instance_norm_spatial0": (lambda L, x: L.nn.functional.instance_norm(x), _a(2, 4, 0)),
    "instance_norm_spatial0_2d": (lambda L, x: L.nn.functional.instance_norm(x), _a(2, 4, 0, 3)),
    "instance_norm_batch0_spatial1_raises": (
        lambda L, x: L.nn.functional.instance_norm(x),
        _a(0, 4, 1),
    ),
    "instance_norm_batch0": (lambda L, x: L.nn.functional.instance_norm(x), _a(0, 4, 3)),
    # embedding vectors of size 0
    "embedding_dim0": (lambda L, w: L.nn.functional.embedding(L.tensor([1, 2]), w), _a(4, 0)),
    # linear with no input features, or none out, on batched input
    "linear_3d_in0": (
        lambda L, x, w, b: L.nn.functional.linear(x, w, b),
        _a(2, 3, 0),
        _a(4, 0),
        _a(4),
    ),
    "linear_4d_in0": (lambda L, x, w: L.nn.functional.linear(x, w), _a(2, 1, 3, 0), _a(4, 0)),
    "linear_3d_out0": (
        lambda L, x, w, b: L.nn.functional.linear(x, w, b),
        _a(2, 3, 5),
        _a(0, 5),
        _a(0),
    ),
    # diag_embed of a 0-d tensor: IndexError as PyTorch's
    "diag_embed_0d_raises": (lambda L, x: L.diag_embed(x), _a()),
}


@pytest.mark.parametrize("case", sorted(FIXED))
def test_fixed_case_matches_torch(case):
    fn, *arrays = FIXED[case]
    check(fn, *arrays)


def test_split_zero_on_nonempty_dim_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="split"):
        cr.zeros(3).split(0)
    with pytest.raises(RuntimeError, match="split expects at least a 1-dimensional"):
        cr.tensor(1.0).split(1)


def test_aminmax_empty_dim_error_is_also_a_runtime_error():
    with pytest.raises(RuntimeError, match="aminmax"):
        cr.zeros(0, 3).aminmax(dim=0)


def test_rnn_empty_sequence_error_is_also_a_value_error():
    with pytest.raises(ValueError, match="sequence length"):  # the type it used to raise
        cr.nn.GRU(3, 4)(cr.zeros(0, 2, 3))


def test_vector_norm_ord0_backward_runs():
    # PyTorch keeps the count in the graph (LinalgVectorNormBackward0), whose backward gives
    # the input no gradient: x.grad stays None, in both
    for shape in ((3, 4), (0, 3), ()):
        grads = []
        for lib in (torch, cr):
            x = lib.tensor(_a(*shape), requires_grad=True)
            y = lib.linalg.vector_norm(x, 0)
            assert y.requires_grad and y.grad_fn.name() == "LinalgVectorNormBackward0"
            y.backward()
            grads.append((y.detach().numpy(), x.grad))
        np.testing.assert_array_equal(grads[0][0], grads[1][0])
        assert grads[0][1] is None and grads[1][1] is None


def test_vector_norm_ord0_counts_nan_and_inf():
    x = cr.tensor([math.nan, 0.0, math.inf, -2.0], requires_grad=True)
    assert cr.linalg.vector_norm(x, 0).item() == 3.0


_TO_ZERO_GRADIENT = {
    "empty_slice": lambda x: x[1:1].sum(),
    "no_true_mask": lambda x: x[x > 100].sum(),
    "empty_index_select": lambda x: x.index_select(1, cr.zeros(0, dtype=cr.long)).sum(),
    "mean_of_empty": lambda x: x[:0].mean(),
    "matmul_inner0": lambda x: (x[:, :0] @ x[:0, :]).sum(),
    "cross_entropy_b0": lambda x: cr.nn.functional.cross_entropy(x[:0], cr.zeros(0).long()),
    "nll_loss_b0_sum": lambda x: cr.nn.functional.nll_loss(
        x[:0], cr.zeros(0).long(), reduction="sum"
    ),
    "mse_loss_b0": lambda x: cr.nn.functional.mse_loss(x[:0], x[1:1]),
    "median_of_empty": lambda x: x[:0].median(),
    "matrix_power_0": lambda x: cr.linalg.matrix_power(x[:, :3], 0).sum(),
}


@pytest.mark.parametrize("case", sorted(_TO_ZERO_GRADIENT))
def test_backward_through_an_empty_or_constant_result_gives_zeros(case):
    x = cr.tensor(_a(3, 4), requires_grad=True)
    _TO_ZERO_GRADIENT[case](x).backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4), np.float32))


def test_embedding_dim0_sparse_gradient():
    w = cr.zeros(4, 0, requires_grad=True)
    cr.nn.functional.embedding(cr.tensor([1, 2]), w, sparse=True).sum().backward()
    assert w.grad.is_sparse and tuple(w.grad.shape) == (4, 0)
    assert w.grad._values().shape == (2, 0)


# ------------------------------------------------------- cases that already agreed

_REDUCTIONS = {
    "sum": lambda L, x, d, k: x.sum() if d is None else x.sum(d, keepdim=k),
    "mean": lambda L, x, d, k: x.mean() if d is None else x.mean(d, keepdim=k),
    "prod": lambda L, x, d, k: x.prod() if d is None else x.prod(d, keepdim=k),
    "amax": lambda L, x, d, k: x.amax() if d is None else x.amax(d, keepdim=k),
    "max": lambda L, x, d, k: x.max() if d is None else x.max(d, keepdim=k),
    "argmin": lambda L, x, d, k: x.argmin() if d is None else x.argmin(d, keepdim=k),
    "var": lambda L, x, d, k: x.var() if d is None else x.var(d, keepdim=k),
    "std_c0": lambda L, x, d, k: x.std(correction=0) if d is None else x.std(d, correction=0),
    "norm": lambda L, x, d, k: x.norm() if d is None else x.norm(dim=d, keepdim=k),
    "vector_norm_inf": lambda L, x, d, k: L.linalg.vector_norm(x, math.inf, d, k),
    "logsumexp": lambda L, x, d, k: L.logsumexp(x, () if d is None else d, keepdim=k),
    "all": lambda L, x, d, k: x.all() if d is None else x.all(d, keepdim=k),
    "count_nonzero": lambda L, x, d, k: L.count_nonzero(x, d),
    "median": lambda L, x, d, k: x.median() if d is None else x.median(d, keepdim=k),
    "mode": lambda L, x, d, k: x.mode() if d is None else x.mode(d, keepdim=k),
    "kthvalue": lambda L, x, d, k: x.kthvalue(1) if d is None else x.kthvalue(1, d, keepdim=k),
    "quantile": lambda L, x, d, k: L.quantile(x, 0.3) if d is None else L.quantile(x, 0.3, d, k),
    "cumsum": lambda L, x, d, k: x.cumsum(0 if d is None else d),
    "cummax": lambda L, x, d, k: x.cummax(0 if d is None else d),
    "cumprod": lambda L, x, d, k: x.cumprod(0 if d is None else d),
    "softmax": lambda L, x, d, k: x.softmax(0 if d is None else d),
    "log_softmax": lambda L, x, d, k: x.log_softmax(-1 if d is None else d),
    "sort": lambda L, x, d, k: x.sort(-1 if d is None else d),
    "topk0": lambda L, x, d, k: x.topk(0, -1 if d is None else d),
    "unique": lambda L, x, d, k: L.unique(x.detach(), return_inverse=True, return_counts=True),
}
_REDUCTION_CASES = [
    pytest.param(name, shape, dim, keep, id=f"{name}-{shape}-dim={dim}-keepdim={keep}")
    for name in sorted(_REDUCTIONS)
    for shape, dims in (((0,), (None, 0)), ((2, 0, 4), (None, 1, -1)), ((), (None, 0, -1)))
    for dim in dims
    for keep in ((False,) if dim is None else (False, True))
]


@pytest.mark.parametrize(("name", "shape", "dim", "keep"), _REDUCTION_CASES)
def test_reduction_on_empty_and_0d_matches_torch(name, shape, dim, keep):
    fn = _REDUCTIONS[name]
    check(lambda L, x: fn(L, x, dim, keep), _a(*shape))


_EMPTY_INDEX = np.zeros(0, np.int64)
AGREED = {
    "cat_with_empty_1d": (lambda L, a, b: L.cat([a, b]), _a(0), _a(2, 3)),
    "cat_empty_rows": (lambda L, a, b: L.cat([a, b]), _a(0, 3), _a(2, 3)),
    "stack_empties": (lambda L, a: L.stack([a, a], 1), _a(3, 0)),
    "reshape_-1": (lambda L, a: a.reshape(2, 0, -1), _a(0, 3)),
    "reshape_ambiguous_raises": (lambda L, a: a.reshape(-1, 0), _a(0, 3)),
    "expand_to_0": (lambda L, a: a.expand(0, 3), _a(1, 3)),
    "repeat_0": (lambda L, a: a.repeat(0, 2), _a(2, 3)),
    "tensor_split_empty_pieces": (lambda L, a: L.tensor_split(a, [0, 0, 4], 1), _a(3, 4)),
    "chunk_empty_dim": (lambda L, a: a.chunk(3), _a(0, 2)),
    "narrow_0": (lambda L, a: a.narrow(0, 1, 0), _a(3, 4)),
    "flip_roll_empty": (lambda L, a: a.flip(0).roll(1, 1), _a(0, 3)),
    "bool_index_none": (lambda L, a: a[a > 100], _a(3, 4)),
    "empty_long_index": (lambda L, a, i: a[i.long()], _a(3, 4), _EMPTY_INDEX),
    "empty_slice": (lambda L, a: a[1:1], _a(3, 4)),
    "gather_empty_index": (lambda L, a, i: a.gather(1, i.reshape(3, 0)), _a(3, 4), _EMPTY_INDEX),
    "index_add_empty": (
        lambda L, a, i, s: a.index_add(0, i, s.reshape(0, 4)),
        _a(3, 4),
        _EMPTY_INDEX,
        _a(0),
    ),
    "scatter_add_empty": (
        lambda L, a, i, s: a.scatter_add(0, i.reshape(0, 4), s.reshape(0, 4)),
        _a(3, 4),
        _EMPTY_INDEX,
        _a(0),
    ),
    "index_select_empty": (lambda L, a, i: a.index_select(1, i), _a(3, 4), _EMPTY_INDEX),
    "masked_fill_empty": (lambda L, a: a.masked_fill(a > 0, 1.0), _a(0, 3)),
    "where_empty": (lambda L, a: L.where(a > 0, a, 0.0), _a(2, 0)),
    "take_empty": (lambda L, a, i: L.take(a, i), _a(3, 4), _EMPTY_INDEX),
    "nonzero_empty": (lambda L, a: L.nonzero(a), _a(0, 3)),
    "setitem_empty_index": (
        lambda L, a, i: (lambda c: (c.__setitem__(i, 5.0), c)[1])(a * 1),
        _a(3),
        _EMPTY_INDEX,
    ),
    "matmul_inner0": (lambda L, a, b: a @ b, _a(2, 0), _a(0, 4)),
    "matmul_outer0": (lambda L, a, b: a @ b, _a(0, 3), _a(3, 4)),
    "bmm_inner0": (lambda L, a, b: L.bmm(a, b), _a(2, 3, 0), _a(2, 0, 4)),
    "einsum_inner0": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), _a(2, 0), _a(0, 3)),
    "dot_empty": (lambda L, a: L.dot(a, a), _a(0)),
    "linear_batch0": (
        lambda L, x, w, b: L.nn.functional.linear(x, w, b),
        _a(0, 3),
        _a(4, 3),
        _a(4),
    ),
    "conv2d_batch0": (
        lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1),
        _a(0, 2, 5, 5),
        _a(3, 2, 3, 3),
        _a(3),
    ),
    "conv1d_batch0": (lambda L, x, w: L.nn.functional.conv1d(x, w), _a(0, 2, 5), _a(3, 2, 2)),
    "max_pool2d_batch0": (lambda L, x: L.nn.functional.max_pool2d(x, 2), _a(0, 2, 4, 4)),
    "layer_norm_batch0": (
        lambda L, x, w, b: L.nn.functional.layer_norm(x, (3,), w, b),
        _a(0, 3),
        _a(3),
        _a(3),
    ),
    "batch_norm_eval_batch0": (
        lambda L, x, w, b: L.nn.functional.batch_norm(x, L.zeros(3), L.ones(3), w, b),
        _a(0, 3),
        _a(3),
        _a(3),
    ),
    "batch_norm_train_batch0": (
        lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
        _a(0, 3, 2, 2),
        _a(3),
        _a(3),
    ),
    "batch_norm_train_batch1_raises": (
        lambda L, x: L.nn.functional.batch_norm(x, None, None, training=True),
        _a(1, 3),
    ),
    "embedding_empty_index": (
        lambda L, w, i: L.nn.functional.embedding(i.reshape(2, 0), w),
        _a(5, 3),
        _EMPTY_INDEX,
    ),
    "lstm_cell_batch0": (_module("LSTMCell", 3, 4), _a(0, 3)),
    "rnn_batch0": (_module("RNN", 3, 4), _a(5, 0, 3)),
    "det_0x0": (lambda L, x: L.linalg.det(x), _a(0, 0)),
    "inv_0x0": (lambda L, x: L.linalg.inv(x), _a(2, 0, 0)),
    "solve_0x0": (lambda L, x: L.linalg.solve(x, x), _a(0, 0)),
    "cholesky_0x0": (lambda L, x: L.linalg.cholesky(x), _a(0, 0)),
    "qr_0x3": (lambda L, x: L.linalg.qr(x), _a(0, 3)),
    "svdvals_3x0": (lambda L, x: L.linalg.svdvals(x), _a(3, 0)),
    "eigh_0x0": (lambda L, x: L.linalg.eigvalsh(x), _a(0, 0)),
    "slogdet_batch0": (lambda L, x: L.linalg.slogdet(x), _a(0, 3, 3)),
    "zeros_0": (lambda L: L.zeros(0, 3),),
    "arange_empty": (lambda L: L.arange(5, 5),),
    "linspace_0": (lambda L: L.linspace(0, 1, 0),),
    "eye_0": (lambda L: L.eye(0, 3),),
    "full_0d": (lambda L: L.full((), 3),),
    "tril_indices_0": (lambda L: L.tril_indices(0, 0),),
    "0d_index_none": (lambda L, s: s[None, None], _a()),
    "0d_index_raises": (lambda L, s: s[0], _a()),
    "0d_sum_dim1_raises": (lambda L, s: s.sum(1), _a()),
    "0d_gather": (lambda L, s: s.gather(0, L.tensor(0)), _a()),
    "0d_softmax": (lambda L, s: s.softmax(0), _a()),
    "0d_topk2_raises": (lambda L, s: s.topk(2), _a()),
    "0d_mse": (lambda L, s: L.nn.functional.mse_loss(s, L.tensor(1.0)), _a()),
}


@pytest.mark.parametrize("case", sorted(AGREED))
def test_agreed_case_matches_torch(case):
    fn, *arrays = AGREED[case]
    check(fn, *arrays)


_LOSSES = {
    "mse": lambda L, x, t, r: L.nn.functional.mse_loss(x, t, reduction=r),
    "l1": lambda L, x, t, r: L.nn.functional.l1_loss(x, t, reduction=r),
    "smooth_l1": lambda L, x, t, r: L.nn.functional.smooth_l1_loss(x, t, reduction=r),
    "bce_logits": lambda L, x, t, r: L.nn.functional.binary_cross_entropy_with_logits(
        x, t.sigmoid(), reduction=r
    ),
    "kl_div": lambda L, x, t, r: L.nn.functional.kl_div(x, t, reduction=r),
    "cross_entropy": lambda L, x, t, r: L.nn.functional.cross_entropy(
        x, L.zeros(0, dtype=L.long), reduction=r
    ),
    "cross_entropy_smoothing": lambda L, x, t, r: L.nn.functional.cross_entropy(
        x, L.zeros(0, dtype=L.long), label_smoothing=0.1, reduction=r
    ),
    "cross_entropy_probs": lambda L, x, t, r: L.nn.functional.cross_entropy(
        x, t.softmax(1), reduction=r
    ),
    "nll_loss": lambda L, x, t, r: L.nn.functional.nll_loss(
        x, L.zeros(0, dtype=L.long), reduction=r
    ),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_loss_with_zero_samples_matches_torch(name, reduction):
    # torch: 'mean' of no samples is NaN, 'sum' is 0, 'none' is empty
    fn = _LOSSES[name]
    check(lambda L, x, t: fn(L, x, t, reduction), _a(0, 4), _a(0, 4))
