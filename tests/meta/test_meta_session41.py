"""The meta device, fifth pass (session 41): no full-size allocations, each against torch 2.13.

Checked here: the meta array module (``meta/xp.py``: what ``get_array_module`` answers for a
meta array, whose creation and conversion functions make meta arrays), the NumPy shape
rules added for functions that used to run on zeros (``meta/rules_more.py``), advanced
indexing on a zero-byte stand-in, the small linalg stand-ins, the backward of the order
statistics on meta (a device error before), and the strides of ``*_like`` factories,
``empty_strided``, reductions of permuted inputs and empty transposed meta tensors. The
op-spec sweep itself (no full-size allocation) is tests/meta/test_meta_session40.py.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import get_array_module
from chainrule.meta import MetaArray, meta_empty
from chainrule.meta.xp import META_NP

torch = pytest.importorskip("torch")

__all__: list = []


def _m(*shape, dtype=np.float64):
    return meta_empty(shape, dtype)


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------ the meta array module
def test_array_module_of_a_meta_array_is_the_meta_module():
    assert get_array_module(_m(2, 3)) is META_NP
    assert get_array_module(np.zeros(3), _m(2)) is META_NP
    assert get_array_module(np.zeros(3)) is np  # CPU arrays: NumPy itself


@pytest.mark.parametrize(
    "make",
    [
        lambda xp, a: xp.zeros((3, 4), np.float32),
        lambda xp, a: xp.empty(5),
        lambda xp, a: xp.ones((2, 3), dtype=bool),
        lambda xp, a: xp.full((2, 2), 7),
        lambda xp, a: xp.full((2, 2), 7.5, dtype=np.float32),
        lambda xp, a: xp.eye(3, 4, dtype=np.int64),
        lambda xp, a: xp.identity(3),
        lambda xp, a: xp.asarray(a, dtype=np.float32),
        lambda xp, a: xp.asarray(a.T, order="C"),
        lambda xp, a: xp.ascontiguousarray(a.T),
        lambda xp, a: xp.asfortranarray(a),
        lambda xp, a: xp.array(a),
        lambda xp, a: xp.copy(a.T),
        lambda xp, a: xp.asanyarray(a),
    ],
)
def test_meta_module_makes_meta_arrays_as_numpy_shapes_them(make):
    want = make(np, np.zeros((3, 5), np.float64))
    got = make(META_NP, _m(3, 5))
    assert type(got) is MetaArray and not any(got.strides)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)


def test_meta_module_conversions_keep_torch_strides():
    a = _m(3, 5)
    t = a.T
    assert META_NP.asarray(t) is t  # no copy asked: itself (cupy.asarray's rule)
    assert META_NP.ascontiguousarray(t)._st is None  # row-major
    assert META_NP.asarray(a, order="C") is a
    assert META_NP.asfortranarray(a)._st == (1, 3)
    assert META_NP.asarray([1, 2]).tolist() == [1, 2]  # host data: NumPy's own


def test_meta_module_costs_nothing_for_a_big_shape():
    big = _m(4096, 4096)
    peak = _peak(lambda: (META_NP.zeros((4096, 4096)), META_NP.ascontiguousarray(big.T)))
    assert peak < 64 * 1024, peak


# ------------------------------------------------------------------ NumPy shape rules
RULE_CALLS = {
    "sort": lambda a: np.sort(a, axis=0),
    "sort flat": lambda a: np.sort(a, axis=None),
    "argsort": lambda a: np.argsort(a, axis=1, kind="stable"),
    "partition": lambda a: np.partition(a, 1, axis=1),
    "argpartition": lambda a: np.argpartition(a, 2),
    "take": lambda a: np.take(a, np.array([[0, 1], [2, 2]]), axis=1),
    "take flat": lambda a: np.take(a, [1, 5]),
    "cumsum": lambda a: np.cumsum(a, axis=1),
    "cumsum flat int": lambda a: np.cumsum(a.astype(np.int32)),
    "cumprod dtype": lambda a: np.cumprod(a, axis=0, dtype=np.float32),
    "nancumsum": lambda a: np.nancumsum(a, 0),
    "pad": lambda a: np.pad(a, ((1, 2), (0, 3))),
    "pad int": lambda a: np.pad(a, 2, mode="edge"),
    "roll": lambda a: np.roll(a, 2, axis=1),
    "ravel": lambda a: np.ravel(a),
    "nan_to_num": lambda a: np.nan_to_num(a),
    "tile": lambda a: np.tile(a, (2, 1, 3)),
    "repeat by counts": lambda a: np.repeat(a, [1, 0, 2], axis=0),
    "clip": lambda a: np.clip(a, 0.0, 6.0),
    "tril": lambda a: np.tril(a, -1),
    "triu": lambda a: np.triu(a, 1),
}


@pytest.mark.parametrize("name", list(RULE_CALLS))
def test_numpy_rule_gives_numpys_shape_and_dtype_on_meta(name):
    fn = RULE_CALLS[name]
    want = fn(np.zeros((3, 4)))
    got = fn(_m(3, 4))
    assert type(got) is MetaArray
    assert (got.shape, got.dtype) == (want.shape, want.dtype)


def test_numpy_rules_raise_numpys_errors_on_meta():
    with pytest.raises(np.exceptions.AxisError):
        np.sort(_m(3, 4), axis=2)
    with pytest.raises(ValueError, match="negative"):
        np.pad(_m(3, 4), -1)


@pytest.mark.parametrize(
    "key",
    [
        lambda m, x: x[m.zeros(2, 3, dtype=m.long, device="meta")],
        lambda m, x: x[:, m.zeros(2, dtype=m.long, device="meta")],
        lambda m, x: x[
            m.zeros(2, dtype=m.long, device="meta"), :, m.zeros(2, dtype=m.long, device="meta")
        ],
        lambda m, x: x[[0, 1]],
        lambda m, x: x[..., [1, 2]],
        lambda m, x: x[None, [0, 1, 0]],
    ],
)
def test_meta_advanced_indexing_as_torch(key):
    def geometry(m):
        r = key(m, m.empty(4, 5, 6, device="meta"))
        return tuple(r.shape), r.stride(), r.device.type

    assert geometry(cr) == geometry(torch)


def test_meta_advanced_indexing_allocates_nothing_of_the_result():
    x = cr.empty(1024, 1024, device="meta")
    idx = cr.zeros(1024, 1024, dtype=cr.long, device="meta")
    peak = _peak(lambda: x[idx])  # a (1024, 1024, 1024) result
    assert peak < 64 * 1024, peak


def test_meta_host_index_out_of_range_keeps_numpys_index_error():
    with pytest.raises(IndexError):
        cr.empty(4, 5, device="meta")._data[np.array([7])]


# ------------------------------------------------------------------ linalg stand-ins
LINALG = {
    "inv": lambda m, a, b: m.linalg.inv(a),
    "svd": lambda m, a, b: m.linalg.svd(b),
    "svd reduced": lambda m, a, b: m.linalg.svd(b, full_matrices=False),
    "svdvals": lambda m, a, b: m.linalg.svdvals(b.mT),
    "pinv": lambda m, a, b: m.linalg.pinv(b),
    "qr": lambda m, a, b: m.linalg.qr(b.mT),
    "qr complete": lambda m, a, b: m.linalg.qr(b.mT, mode="complete"),
    "eigh": lambda m, a, b: m.linalg.eigh(a),
    "det": lambda m, a, b: m.linalg.det(a),
    "slogdet": lambda m, a, b: m.linalg.slogdet(a),
    "solve": lambda m, a, b: m.linalg.solve(a, b),
    "eigvalsh": lambda m, a, b: m.linalg.eigvalsh(a),
    "matrix_power": lambda m, a, b: m.linalg.matrix_power(a, -2),
    "cholesky": lambda m, a, b: m.linalg.cholesky(a),
}


@pytest.mark.parametrize("name", list(LINALG))
def test_meta_linalg_on_small_stand_ins_as_torch(name):
    def shapes(m):
        a = m.empty(2, 5, 5, dtype=m.float64, device="meta")
        b = m.empty(2, 5, 7, dtype=m.float64, device="meta")
        out = LINALG[name](m, a, b)
        outs = out if isinstance(out, tuple) else (out,)
        return [(tuple(o.shape), str(o.dtype), o.device.type) for o in outs]

    assert shapes(cr) == shapes(torch)


def test_meta_linalg_of_a_big_matrix_computes_nothing_of_its_size():
    a = cr.empty(2048, 2048, dtype=cr.float64, device="meta")
    peak = _peak(lambda: (cr.linalg.inv(a), cr.linalg.svd(a), cr.linalg.qr(a)))
    assert peak < 256 * 1024, peak  # a 2048 x 2048 float64 matrix is 32 MB


def test_meta_eye_as_torch_without_values():
    for args, kw in (((3, 5), {}), ((4,), {"dtype": "float64"})):
        got = cr.eye(*args, device="meta", **{k: getattr(cr, v) for k, v in kw.items()})
        want = torch.eye(*args, device="meta", **{k: getattr(torch, v) for k, v in kw.items()})
        assert (tuple(got.shape), got.stride(), str(got.dtype)) == (
            tuple(want.shape),
            want.stride(),
            str(want.dtype),
        )
        assert type(got._data) is MetaArray
    assert _peak(lambda: cr.eye(8192, device="meta")) < 64 * 1024


# ------------------------------------------------------------------ backward of order statistics
def _x(m):
    return m.empty(3, 4, device="meta", dtype=m.float64, requires_grad=True)


ORDER_STATS = {
    "max_dim": lambda m, x: x.max(1).values,
    "min_dim_keep": lambda m, x: x.min(1, keepdim=True).values,
    "median_dim": lambda m, x: x.median(1).values,
    "nanmedian_dim": lambda m, x: x.nanmedian(0).values,
    "median_all": lambda m, x: x.median(),
    "kthvalue": lambda m, x: x.kthvalue(2, 1).values,
    "mode": lambda m, x: x.mode(1).values,
    "msort": lambda m, x: m.msort(x),
    "sort": lambda m, x: x.sort(1).values,
    "topk": lambda m, x: x.topk(2, 1).values,
    "cummax": lambda m, x: x.cummax(1).values,
    "cummin": lambda m, x: x.cummin(0).values,
    "quantile": lambda m, x: m.quantile(x, 0.3, dim=1),
    "quantile_all": lambda m, x: m.quantile(x, 0.3),
    "nanquantile": lambda m, x: m.nanquantile(
        x, m.tensor([0.3, 0.5], dtype=m.float64, device="meta"), dim=0
    ),
    "gather": lambda m, x: x.gather(1, m.zeros(3, 2, dtype=m.long, device="meta")),
}


@pytest.mark.parametrize("name", list(ORDER_STATS))
def test_meta_backward_of_order_statistics_as_torch(name):
    # a device error in session 40: the backward built its index constants on the CPU
    def run(m):
        x = _x(m)
        y = ORDER_STATS[name](m, x)
        y.sum().backward()
        return tuple(y.shape), str(y.dtype), tuple(x.grad.shape), x.grad.device.type

    assert run(cr) == run(torch)


def test_meta_leaf_grad_strides_follow_the_leaf_as_torch():
    def strides(m):
        x = _x(m)
        ORDER_STATS["nanquantile"](m, x).sum().backward()
        return x.grad.stride()

    assert strides(cr) == strides(torch)


# ------------------------------------------------------------------ strides
def _geometry(t):
    return tuple(t.shape), t.stride(), t.storage_offset(), t.is_contiguous(), t.device.type


def _p(m):
    return m.empty(2, 3, 4, device="meta").permute(2, 0, 1)


STRIDES = {
    "randn_like permuted": lambda m: m.randn_like(_p(m)),
    "rand_like permuted": lambda m: m.rand_like(_p(m)),
    "randint_like permuted": lambda m: m.randint_like(_p(m), 5),
    "zeros_like permuted": lambda m: m.zeros_like(_p(m)),
    "full_like permuted": lambda m: m.full_like(_p(m), 2.0),
    "empty_like permuted": lambda m: m.empty_like(_p(m)),
    "empty_like preserve_format": lambda m: m.empty_like(_p(m), memory_format=m.preserve_format),
    "randn_like preserve_format": lambda m: m.randn_like(_p(m), memory_format=m.preserve_format),
    "empty_like contiguous_format": lambda m: m.empty_like(
        _p(m), memory_format=m.contiguous_format
    ),
    "empty_like channels_last": lambda m: m.empty_like(
        m.empty(2, 3, 4, 5, device="meta").permute(0, 2, 1, 3), memory_format=m.channels_last
    ),
    "randn_like channels_last": lambda m: m.randn_like(
        m.empty(2, 3, 4, 5, device="meta"), memory_format=m.channels_last
    ),
    "empty_like channels_last_3d": lambda m: m.empty_like(
        m.empty(2, 3, 4, 5, 6, device="meta"), memory_format=m.channels_last_3d
    ),
    "randn_like of a step slice": lambda m: m.randn_like(m.empty(4, 6, device="meta")[:, ::2]),
    "empty_like of a transposed slice": lambda m: m.empty_like(
        m.empty(4, 6, device="meta").t()[::2]
    ),
    "sum of a permuted": lambda m: _p(m).sum(1),
    "sum keepdim of a permuted": lambda m: _p(m).sum(0, keepdim=True),
    "mean of a permuted": lambda m: _p(m).mean(2),
    "amax of a permuted": lambda m: _p(m).amax(1),
    "max(dim) of a permuted": lambda m: _p(m).max(1).values,
    "argmax of a permuted": lambda m: _p(m).argmax(1),
    "prod of a permuted": lambda m: _p(m).prod(2),
    "var of a permuted": lambda m: _p(m).var(1),
    "vector_norm of a permuted": lambda m: m.linalg.vector_norm(_p(m), dim=1),
    "logsumexp of a permuted": lambda m: _p(m).logsumexp(1),
    "cumsum of a permuted": lambda m: _p(m).cumsum(1),
    "softmax of a permuted": lambda m: _p(m).softmax(1),
    "sum of a transpose": lambda m: m.empty(3, 4, device="meta").t().sum(0),
    "channels_last sum": lambda m: (
        m.empty(2, 3, 4, 5, device="meta").to(memory_format=m.channels_last).sum(1)
    ),
    "channels_last mean keepdim": lambda m: (
        m.empty(2, 3, 4, 5, device="meta")
        .to(memory_format=m.channels_last)
        .mean((2, 3), keepdim=True)
    ),
    "empty transposed": lambda m: m.empty(0, 3, device="meta").t(),
    "empty transposed clone": lambda m: m.empty(0, 3, device="meta").t().clone(),
    "empty transposed contiguous": lambda m: m.empty(0, 3, device="meta").t().contiguous(),
    "empty transposed add": lambda m: m.empty(0, 3, device="meta").t() + 1,
    "empty permuted": lambda m: m.empty(2, 0, 3, device="meta").permute(2, 0, 1),
    "empty_like of an empty permuted": lambda m: m.empty_like(
        m.empty(2, 0, 3, device="meta").permute(2, 0, 1)
    ),
    "sum of an empty permuted": lambda m: m.empty(2, 0, 3, device="meta").permute(2, 0, 1).sum(1),
    "empty_strided": lambda m: m.empty_strided((2, 3), (1, 2), device="meta"),
    "empty_strided empty": lambda m: m.empty_strided((0, 3), (1, 2), device="meta"),
    "empty_strided expanded": lambda m: m.empty_strided((2, 3), (0, 1), device="meta"),
}


@pytest.mark.parametrize("name", list(STRIDES))
def test_meta_strides_as_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _geometry(STRIDES[name](cr)) == _geometry(STRIDES[name](torch))


def test_meta_channels_last_of_the_wrong_rank_raises_as_torch():
    for m in (cr, torch):
        with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
            m.empty_like(m.empty(2, 3, 4, device="meta"), memory_format=m.channels_last)


def test_cpu_results_stay_numpy_arrays():
    x = cr.arange(12.0).reshape(3, 4)
    for r in (
        x.sort(1).values,
        x.cumsum(1),
        x.max(1).values,
        x[[0, 2]],
        cr.linalg.inv(x[:3, :3] + 10 * cr.eye(3)),
    ):
        assert type(r._data) is np.ndarray
