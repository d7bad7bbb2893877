"""``ops/misc_more.py`` and ``dtype_rules.py`` against PyTorch: ``Size``, ``dtype``, the
type-promotion queries (exhaustively over chainrule's dtypes), the functions without a
gradient (histograms, binomial, range, frombuffer, ...), the in-place forms, the strided
views' memory sharing and the Tensor-only methods. Op-level value/gradient/gradcheck/jvp
checks of the differentiable ops run from tests/ops/op_specs_misc_more.py."""

from __future__ import annotations

import itertools
import pickle
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
CDTYPES = [*DTYPES, "complex64", "complex128"]


def _cr(name):
    return np.dtype(name if name != "bool" else "bool")


def _th(name):
    return getattr(torch, name)


def _same_dtype(c, t):
    if t == torch.complex32:  # NumPy has no complex32: chainrule's documented complex64
        assert c == np.complex64, c
        return
    assert str(c) == str(t), (c, t)


# ------------------------------------------------------------------------------ Size, dtype


def test_size_mirrors_torch_size():
    s, t = cr.Size([2, 3]), torch.Size([2, 3])
    assert repr(s) == repr(t) and str(s) == str(t)
    assert s.numel() == t.numel() == 6 and cr.Size().numel() == 1
    assert s == (2, 3) and hash(s) == hash((2, 3))
    for got in (s[0:1], s + (4,), (4,) + s, s * 2):
        assert isinstance(got, cr.Size)
    assert s[1] == 3 and type(s[1]) is int
    assert cr.Size([cr.tensor(3), True, np.int64(2)]) == (3, 1, 2)
    assert pickle.loads(pickle.dumps(s)) == s and isinstance(pickle.loads(pickle.dumps(s)), cr.Size)
    for bad in ([2.0], ["a"]):
        with pytest.raises(TypeError) as ce:
            cr.Size(bad)
        with pytest.raises(TypeError) as te:
            torch.Size(bad)
        assert str(ce.value) == str(te.value)


def test_dtype_isinstance():
    for d in (cr.float32, cr.int64, cr.bool, cr.float16, cr.uint8):
        assert isinstance(d, cr.dtype)
    assert not isinstance("float32", cr.dtype) and not isinstance(np.float32, cr.dtype)
    assert issubclass(type(cr.float32), cr.dtype)
    with pytest.raises(TypeError, match="cannot create"):
        cr.dtype()


# ------------------------------------------------------------------------- promotion rules


def test_promote_types_and_can_cast_exhaustive():
    for a, b in itertools.product(CDTYPES, CDTYPES):
        _same_dtype(cr.promote_types(_cr(a), _cr(b)), torch.promote_types(_th(a), _th(b)))
        assert cr.can_cast(_cr(a), _cr(b)) == torch.can_cast(_th(a), _th(b)), (a, b)
    with pytest.raises(TypeError, match="type2"):
        cr.promote_types(cr.float32, 3)
    with pytest.raises(TypeError, match="from_"):
        cr.can_cast("float32", cr.int8)


def _operands(name):
    """A tensor with dims, a 0-d tensor of dtype ``name`` in both libraries."""
    a = np.ones(2, _cr(name))
    return [
        (cr.tensor(a), torch.tensor(a)),
        (cr.tensor(a[0]), torch.tensor(a[0])),
    ]


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_result_type_exhaustive(default):
    cr_default, th_default = cr.get_default_dtype(), torch.get_default_dtype()
    cr.set_default_dtype(_cr(default))
    torch.set_default_dtype(_th(default))
    try:
        ops = [p for name in DTYPES for p in _operands(name)]
        ops += [(v, v) for v in (True, 3, 2.5, 1j)]
        for (c1, t1), (c2, t2) in itertools.product(ops, ops):
            if not any(isinstance(t, torch.Tensor) for t in (t1, t2)):
                continue
            _same_dtype(cr.result_type(c1, c2), torch.result_type(t1, t2))
        _same_dtype(cr.result_type(2, 3.0), torch.result_type(2, 3.0))
        _same_dtype(cr.result_type(2, 3), torch.result_type(2, 3))
    finally:
        cr.set_default_dtype(cr_default)
        torch.set_default_dtype(th_default)
    with pytest.raises(TypeError, match="result_type"):
        cr.result_type(cr.tensor([1]), "a")


# ----------------------------------------------------------------------- simple root functions


def test_detach_fill_resolve_and_queries():
    x = cr.tensor(A, requires_grad=True)
    d = cr.detach(x)
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.detach().numpy())
    i = cr.fill(cr.tensor([1, 2]), 2.7)
    assert i.dtype == cr.int64 and i.tolist() == torch.fill(torch.tensor([1, 2]), 2.7).tolist()
    assert cr.resolve_conj(x) is x and cr.resolve_neg(x) is x
    assert x.is_conj() is False and cr.is_neg(x) is False and x.is_pinned() is False
    assert cr.init_num_threads() is None and torch.init_num_threads() is None


def test_range_deprecated_inclusive():
    for args, kw in (((0, 3), {}), ((1, 2, 0.5), {}), ((0, 4), {"dtype": cr.int64})):
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            c = cr.range(*args, **kw)
        kt = {"dtype": torch.int64} if kw else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = torch.range(*args, **kt)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
        _same_dtype(c.dtype, t.dtype)


def test_deterministic_debug_mode_roundtrip():
    before = (cr.are_deterministic_algorithms_enabled(),)
    try:
        for mode, want in (("warn", 1), ("error", 2), (0, 0), (1, 1), ("default", 0)):
            cr.set_deterministic_debug_mode(mode)
            assert cr.get_deterministic_debug_mode() == want
        assert cr.are_deterministic_algorithms_enabled() is False
        with pytest.raises(RuntimeError, match="debug_mode"):
            cr.set_deterministic_debug_mode("loud")
        with pytest.raises(RuntimeError, match="debug_mode"):
            cr.set_deterministic_debug_mode(3)
    finally:
        cr.use_deterministic_algorithms(before[0])


def test_nonzero_static_matches_torch():
    for size, fill in ((5, -1), (2, 7), (0, -1)):
        c = cr.nonzero_static(cr.tensor(A > 0), size=size, fill_value=fill)
        t = torch.nonzero_static(torch.tensor(A > 0), size=size, fill_value=fill)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert cr.tensor(A).nonzero_static(size=3).dtype == cr.int64


def test_histogram_matches_torch():
    x = RNG.standard_normal(50).astype(np.float32)
    w = RNG.uniform(0, 1, 50).astype(np.float32)
    for bins, kw in (
        (5, {}),
        (4, {"range": (-1.0, 1.0)}),
        (np.array([-2.0, 0.0, 0.5, 3.0], np.float32), {}),
        (6, {"weight": w, "density": True}),
    ):
        ckw = {k: cr.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        cb = cr.tensor(bins) if isinstance(bins, np.ndarray) else bins
        tb = torch.tensor(bins) if isinstance(bins, np.ndarray) else bins
        c, t = cr.histogram(cr.tensor(x), cb, **ckw), torch.histogram(torch.tensor(x), tb, **tkw)
        np.testing.assert_allclose(c.hist.numpy(), t.hist.numpy(), rtol=1e-6)
        np.testing.assert_allclose(c.bin_edges.numpy(), t.bin_edges.numpy(), rtol=1e-6)
        assert c.hist.dtype == cr.float32
    with pytest.raises(NotImplementedError, match="histogram"):
        cr.histogram(cr.tensor([1, 2]), 2)


def test_histogramdd_matches_torch():
    pts = RNG.standard_normal((40, 2))
    for kw in ({"bins": [3, 4]}, {"bins": 2, "range": [-1.0, 1.0, -2.0, 2.0], "density": True}):
        c = cr.histogramdd(cr.tensor(pts), **kw)
        t = torch.histogramdd(torch.tensor(pts), **kw)
        np.testing.assert_allclose(c.hist.numpy(), t.hist.numpy())
        assert len(c.bin_edges) == len(t.bin_edges) == 2
        for ce, te in zip(c.bin_edges, t.bin_edges):
            np.testing.assert_allclose(ce.numpy(), te.numpy())


def test_binomial_statistics_and_errors():
    n = cr.full((20000,), 10.0)
    p = cr.full((20000,), 0.3)
    draws = cr.binomial(n, p, generator=cr.Generator().manual_seed(1)).numpy()
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= set(range(11))
    assert abs(draws.mean() - 3.0) < 0.05 and abs(draws.var() - 2.1) < 0.1
    again = cr.binomial(n, p, generator=cr.Generator().manual_seed(1)).numpy()
    np.testing.assert_array_equal(draws, again)
    with pytest.raises(ValueError, match="floating"):
        cr.binomial(cr.tensor([5]), cr.tensor([0.5]))
    with pytest.raises(RuntimeError, match="dtype"):
        cr.binomial(cr.tensor([5.0]), cr.tensor([0.5], dtype=cr.float64))
    with pytest.raises(RuntimeError, match="prob"):
        cr.binomial(cr.tensor([5.0]), cr.tensor([1.5]))


def test_frombuffer_shares_memory_and_checks():
    buf = bytearray(np.arange(6, dtype=np.float32).tobytes())
    c = cr.frombuffer(buf, dtype=cr.float32, count=3, offset=4)
    t = torch.frombuffer(bytearray(buf), dtype=torch.float32, count=3, offset=4)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    c[0] = 9.0
    assert np.frombuffer(buf, np.float32)[1] == 9.0
    with pytest.warns(UserWarning, match="not writable"):
        cr.frombuffer(bytes(8), dtype=cr.int32)
    for kw in ({"count": 10}, {"offset": 100}):
        with pytest.raises(ValueError):
            cr.frombuffer(buf, dtype=cr.float32, **kw)
        with pytest.raises(ValueError):
            torch.frombuffer(bytearray(buf), dtype=torch.float32, **kw)


def test_empty_permuted_and_new_empty_strided_strides():
    c = cr.empty_permuted((2, 3, 4), (0, 2, 1))
    t = torch.empty_permuted((2, 3, 4), (0, 2, 1))
    assert c.shape == tuple(t.shape) and c.stride() == t.stride()
    with pytest.raises(RuntimeError):
        cr.empty_permuted((2, 3), (0, 0))
    x = cr.tensor(A)
    s = x.new_empty_strided((2, 3), (1, 2))
    assert s.shape == (2, 3) and s.stride() == (1, 2) and s.dtype == x.dtype


def test_to_dlpack_round_trip_shares_memory():
    x = cr.tensor(A)
    t = torch.utils.dlpack.from_dlpack(cr.to_dlpack(x))
    np.testing.assert_array_equal(t.numpy(), A)
    t[0, 0] = 42.0
    assert x.numpy()[0, 0] == 42.0


# --------------------------------------------------------------------------- in-place forms


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "index_reduce() is in beta"
        return fn()


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_inplace_and_integer(reduce, include_self):
    idx, src = np.array([0, 2, 0, 1]), RNG.standard_normal((4, 4))
    for dtype in (np.float64, np.int64):
        base, s = (A * 3).astype(dtype), (src * 3).astype(dtype)
        c = cr.tensor(base).index_reduce_(
            0, cr.tensor(idx), cr.tensor(s), reduce, include_self=include_self
        )
        t = _quiet(
            lambda b=base, s=s: torch.tensor(b).index_reduce_(
                0, torch.tensor(idx), torch.tensor(s), reduce, include_self=include_self
            )
        )
        np.testing.assert_allclose(c.numpy(), t.numpy())
    # along dim 1 with a recorded in-place write on a non-leaf
    x = cr.tensor(A, requires_grad=True)
    tx = torch.tensor(A, requires_grad=True)
    y = (x * 1).index_reduce_(1, cr.tensor([3, 0]), cr.ones(3, 2, dtype=cr.float64) * 2, reduce)
    ty = _quiet(
        lambda: (tx * 1).index_reduce_(
            1, torch.tensor([3, 0]), torch.ones(3, 2, dtype=torch.float64) * 2, reduce
        )
    )
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_put_inplace_and_igamma_inplace():
    for acc in (False, True):
        src = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
        c = cr.tensor(A).put_(cr.tensor([1, -1, 1]), src, acc)
        idx = torch.tensor([1, -1, 1])
        t = torch.tensor(A).put_(idx, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), acc)
        if acc:
            np.testing.assert_allclose(c.numpy(), t.numpy())
        else:  # which repeat wins is unspecified: compare the unrepeated positions
            np.testing.assert_allclose(c.numpy()[:, 2:], t.numpy()[:, 2:])
    a, x = np.abs(A) + 0.5, np.abs(A.T.reshape(3, 4)) + 0.1
    c = cr.tensor(a).igamma_(cr.tensor(x))
    np.testing.assert_allclose(c.numpy(), torch.tensor(a).igamma_(torch.tensor(x)).numpy())
    c = cr.tensor(a).igammac_(cr.tensor(x))
    np.testing.assert_allclose(c.numpy(), torch.tensor(a).igammac_(torch.tensor(x)).numpy())


def test_gradient_int_input_and_errors():
    c = cr.gradient(cr.tensor([1, 4, 9, 16]))
    t = torch.gradient(torch.tensor([1, 4, 9, 16]))
    np.testing.assert_allclose(c[0].numpy(), t[0].numpy())
    _same_dtype(c[0].dtype, t[0].dtype)
    with pytest.raises(RuntimeError, match="edge_order"):
        cr.gradient(cr.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        cr.gradient(cr.tensor([1.0, 2.0, 3.0]), edge_order=3)
    with pytest.raises(RuntimeError, match="spacing"):
        cr.gradient(cr.tensor(A), spacing=[1.0, 2.0, 3.0])
    # a coordinate tensor of the wrong length: PyTorch does not check it (it returns values
    # computed from the mismatched coordinates); chainrule refuses
    with pytest.raises(RuntimeError, match="coordinate"):
        cr.gradient(cr.tensor(A), spacing=(cr.tensor([0.0, 1.0, 2.0]),), dim=1)


# ------------------------------------------------------------------------------ strided views


def test_as_strided_shares_memory_and_reads_storage():
    base = np.arange(12.0)
    c = cr.tensor(base).reshape(3, 4).t()  # a non-contiguous view of contiguous storage
    t = torch.tensor(base).reshape(3, 4).t()
    cv, tv = c.as_strided((2, 3), (1, 4), 1), t.as_strided((2, 3), (1, 4), 1)
    np.testing.assert_array_equal(cv.numpy(), tv.numpy())
    off = cr.tensor(base)[2:]
    assert off.as_strided((2,), (1,)).tolist() == [2.0, 3.0]  # its own storage offset
    cv.numpy()[0, 0] = -1.0
    assert c.numpy()[1, 0] == -1.0  # the view writes into the input's memory
    with pytest.raises(RuntimeError, match="as_strided"):
        cr.as_strided(cr.ones(4), (5,), (1,))
    with pytest.raises(RuntimeError, match="Negative strides"):
        cr.as_strided(cr.ones(4), (2,), (-1,))
    with pytest.raises(RuntimeError, match="mismatch"):
        cr.as_strided(cr.ones(4), (2, 2), (1,))


def test_as_strided_gradient_on_a_transposed_input():
    a = RNG.standard_normal((3, 4))
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    g = RNG.standard_normal((3, 3))
    cr.as_strided(x.t(), (3, 3), (1, 2)).backward(cr.tensor(g))
    torch.as_strided(tx.t(), (3, 3), (1, 2)).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_as_strided_inplace():
    c, t = cr.arange(6.0), torch.arange(6.0)
    assert c.as_strided_((2, 2), (1, 2), 1) is c
    t.as_strided_((2, 2), (1, 2), 1)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="requires grad"):
        cr.ones(3, requires_grad=True).as_strided_((2,), (1,))


def test_as_strided_scatter_input_gradient():
    """PyTorch 2.13's gradient for ``input`` is wrong (see op_specs_misc_more.py): chainrule's
    is checked numerically, with an offset, and its forward against PyTorch's."""
    a, s = RNG.standard_normal((3, 4)), RNG.standard_normal((2, 2))

    def f(x, src):
        return cr.as_strided_scatter(x, src, (2, 2), (4, 2), 1)

    inputs = (cr.tensor(a, requires_grad=True), cr.tensor(s, requires_grad=True))
    assert cr.autograd.gradcheck(f, inputs)
    assert cr.autograd.gradgradcheck(f, inputs)
    t = torch.as_strided_scatter(torch.tensor(a), torch.tensor(s), (2, 2), (4, 2), 1)
    np.testing.assert_array_equal(f(*inputs).detach().numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="src"):
        f(inputs[0], cr.ones(3, dtype=cr.float64))


# --------------------------------------------------------------------------- Tensor methods


def test_cast_methods_and_new():
    x = cr.tensor([[1.5, -2.0], [3.0, 4.0]])
    for name in ("byte", "char", "short"):
        c, t = getattr(x, name)(), getattr(torch.tensor(x.numpy()), name)()
        _same_dtype(c.dtype, t.dtype)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert x.new().shape == (0,) and x.new(2, 3).shape == (2, 3)
    assert x.new(cr.Size([4])).shape == (4,) and x.new(2, 3).dtype == x.dtype
    n = x.new((2, 3))  # a tuple is data, as in PyTorch
    assert n.tolist() == [2.0, 3.0] and n.dtype == x.dtype
    assert np.shares_memory(x.new(x).numpy(), x.numpy())
    with pytest.raises(TypeError):
        x.new(cr.tensor([1]))


def test_bernoulli_method():
    p = cr.full((20000,), 0.25)
    d = p.bernoulli(generator=cr.Generator().manual_seed(0)).numpy()
    assert d.dtype == np.float32 and set(np.unique(d)) <= {0.0, 1.0}
    assert abs(d.mean() - 0.25) < 0.02
    assert abs(cr.zeros(20000).bernoulli(0.75).numpy().mean() - 0.75) < 0.02
    with pytest.raises(RuntimeError, match="p_in"):
        cr.full((2,), 1.5).bernoulli()


def test_prelu_method():
    a, w = RNG.standard_normal((2, 3, 4)), np.array([0.1, 0.2, 0.3])
    c = cr.tensor(a).prelu(cr.tensor(w))
    np.testing.assert_allclose(c.numpy(), torch.tensor(a).prelu(torch.tensor(w)).numpy())


def test_resize_grow_shrink_and_refusals():
    c, t = cr.arange(6.0), torch.arange(6.0)
    c.resize_(2, 2)
    t.resize_(2, 2)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    c.resize_((3, 3))  # grows: the first 6 values kept
    np.testing.assert_array_equal(c.numpy().reshape(-1)[:4], [0.0, 1.0, 2.0, 3.0])
    assert c.shape == (3, 3) and c.is_contiguous()
    r = cr.ones(5)
    assert cr.resize_as_(r, cr.zeros(2, 2)) is r and r.shape == (2, 2)
    assert r.resize_as_(cr.zeros(3)).shape == (3,)
    for v in (cr.ones(3, requires_grad=True), cr.ones(3, requires_grad=True) * 2):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            v.resize_(5)


def test_map_and_map2_match_torch():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    c, t = cr.tensor(a), torch.tensor(a)
    c.map_(cr.tensor(b), lambda u, v: u * 2 + v)
    t.map_(torch.tensor(b), lambda u, v: u * 2 + v)
    np.testing.assert_allclose(c.numpy(), t.numpy())
    c.map2_(cr.tensor(b), cr.tensor(a), lambda u, v, w: u - v * w)
    t.map2_(torch.tensor(b), torch.tensor(a), lambda u, v, w: u - v * w)
    np.testing.assert_allclose(c.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="requires grad"):
        cr.ones(2, requires_grad=True).map_(cr.ones(2), lambda u, v: u)


def test_as_subclass_keeps_data_and_history():
    class Mine(cr.Tensor):
        pass

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).as_subclass(Mine)
    assert type(y) is Mine and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match="subclass"):
        x.as_subclass(int)
