"""Session 44 (b): vmap follow-ups found by the fuzzer, each against ``torch.func``.

``rot90`` of batched samples raises the errors of PyTorch's batching rule (an IndexError
for a dim the sample lacks, its physical words after that); a draw under ``jacfwd``'s
``randomness="error"`` is refused as PyTorch refuses it even where the function fails
later (fuzzer seed 3641: chainrule's per-column retry ran on to an ``out_dims`` error);
``out_dims`` out of range is PyTorch's IndexError, its words; ``linalg.lstsq``'s argument
checks in PyTorch's order and words, and an ``other`` of one dim fewer that is not
``input``'s shape less its last dim read as matrices (as PyTorch); two nested vmap levels
of the ops that run once per sample (``index_add`` with a per-sample index,
``scatter_reduce``, ``histc``, ``lstsq``) with in_dims 0/1/-1/None at each level, and
``vmap(vmap(grad))`` of the differentiable ones.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")]


def _run(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - compared with the other library's
        return e


def _same_error(want, got):
    assert isinstance(want, Exception) and isinstance(got, Exception), (want, got)
    assert isinstance(got, type(want)), (want, got)
    assert str(got) == str(want)


def _same(want, got, rtol=1e-9):
    if isinstance(want, Exception):
        _same_error(want, got)
        return
    if isinstance(got, Exception):
        raise got
    wl = tuple(want) if isinstance(want, (tuple, list)) else (want,)
    gl = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    assert len(wl) == len(gl)
    for w, g in zip(wl, gl):
        assert type(g) is cr.Tensor and isinstance(g._data, np.ndarray)
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=1e-11)


# --- rot90 under vmap -------------------------------------------------------------------

# (not dims=(): torch 2.13's batching rule reads it as one dim, or rotates 2-d samples,
# where the op refuses an empty dims; chainrule refuses it as the op does)
_ROT_DIMS = [(0, 1), (1, 0), (0, 0), (0, -1), (-1, 0), (0, 2), (5, 0), (-3, 0), (0, 1, 2), (0,)]


@pytest.mark.parametrize("k", [0, 1, 2, -1])
@pytest.mark.parametrize("dims", _ROT_DIMS, ids=str)
@pytest.mark.parametrize("shape", [(), (2,), (2, 3), (2, 3, 4)], ids=str)
def test_rot90_under_vmap_matches_torch(shape, dims, k):
    x = np.random.default_rng(0).standard_normal((3, *shape))

    def run(m):
        return _run(lambda: m.func.vmap(lambda h: m.rot90(h, k, dims))(m.tensor(x)))

    _same(run(torch), run(cr))


@pytest.mark.parametrize("in_dims", [0, 1, -1])
def test_rot90_under_nested_vmap_matches_torch(in_dims):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))

    def run(m, dims):
        f = m.func.vmap(m.func.vmap(lambda h: m.rot90(h, 1, dims)), in_dims=in_dims)
        return _run(lambda: f(m.tensor(x)))

    for dims in ((0, 1), (1, 0), (0, 2), (1, 1)):
        _same(run(torch, dims), run(cr, dims))


def test_the_fuzzer_case_rot90_of_1d_samples():
    h = np.arange(6.0).reshape(3, 2)
    want = _run(lambda: torch.func.vmap(lambda v: torch.rot90(v, 2, (0, 1)))(torch.tensor(h)))
    got = _run(lambda: cr.func.vmap(lambda v: cr.rot90(v, 2, (0, 1)))(cr.tensor(h)))
    assert type(want) is IndexError
    _same_error(want, got)


# --- a draw under jacfwd's randomness="error"; out_dims out of range -----------------------


def test_fuzzer_seed_3641_draw_under_jacfwd_then_a_bad_out_dim():
    """jacfwd(vmap(f, randomness="same", out_dims=1)) where ``f`` draws and then returns a
    0-d tensor (out_dims 1 is out of range for it): PyTorch raises at the draw (jacfwd's
    own vmap is in randomness="error" mode), before the output is looked at."""
    x = np.random.default_rng(2).standard_normal((2, 1))

    def run(m):
        def body(h):
            h = h + 0.25 * m.rand_like(h)
            return h, (h * h).sum()

        g = m.func.jacfwd(m.func.vmap(body, randomness="same", out_dims=1))
        m.manual_seed(0)
        return _run(lambda: g(m.tensor(x)))

    want, got = run(torch), run(cr)
    assert type(want) is RuntimeError and "randomness error mode" in str(want)
    _same_error(want, got)


@pytest.mark.parametrize("where", ["before_item", "before_shape_error"])
def test_draw_then_an_error_under_jacfwd_is_the_draw_error(where):
    x = np.random.default_rng(3).standard_normal(3)

    def run(m):
        def f(h):
            h = h + m.rand_like(h)
            if where == "before_item":
                return h * h.sum().item()
            return h + m.ones(4, dtype=h.dtype)

        m.manual_seed(0)
        state = m.get_rng_state()
        out = _run(lambda: m.func.jacfwd(f)(m.tensor(x)))
        after = m.rand(1)
        m.set_rng_state(state)
        return out, after, m.rand(1)

    (want, w_after, w_fresh), (got, g_after, g_fresh) = run(torch), run(cr)
    _same_error(want, got)
    # the generator is where it was before the call, in both
    assert float(w_after) == float(w_fresh) and float(g_after) == float(g_fresh)


@pytest.mark.parametrize(
    ("fn", "out_dims"),
    [
        (lambda h: h, 2),
        (lambda h: h, -3),
        (lambda h: h.sum(), 1),
        (lambda h: h.sum(), -2),
        (lambda h: h[None], 5),
        (lambda h: (h, h.sum()), (0, 1)),
    ],
)
def test_out_dims_out_of_range_as_torch(fn, out_dims):
    x = np.zeros((2, 3))
    want = _run(lambda: torch.func.vmap(fn, out_dims=out_dims)(torch.tensor(x)))
    got = _run(lambda: cr.func.vmap(fn, out_dims=out_dims)(cr.tensor(x)))
    assert type(want) is IndexError
    _same_error(want, got)


# --- linalg.lstsq: argument checks, an other of one dim fewer ------------------------------

_LSTSQ_SHAPES = [
    ((3, 3), (2,)),
    ((3,), (3,)),
    ((), ()),
    ((3,), (2, 3)),
    ((2, 3, 3), (3,)),
    ((3, 3), (2, 3, 3)),
    ((2, 3, 3), (4, 3, 2, 2)),
    ((2, 3, 3), (4, 3, 2)),
    ((2, 3, 3), (3, 3, 1)),
    ((0, 3, 3), (2, 3, 2)),
    ((2, 1, 3, 3), (3, 4, 3, 2)),
    ((3, 3), (4, 3)),
    ((2, 3, 3), (5, 3)),
    ((3, 2, 3, 3), (2, 3, 1)),
    ((3, 2, 3, 3), (1, 3, 1)),
    ((3, 2, 3, 3), (3, 2, 5)),
    ((2, 3, 3, 3), (2, 3, 4)),
    ((2, 3, 3, 3), (5, 3, 4)),
    ((2, 1, 3, 3), (4, 3, 2)),
    # valid: other of one dim fewer read as matrices, or as vectors (input's shape less one)
    # (PyTorch first broadcasts input's batch with other's shape less its last dim)
    ((2, 3, 3, 3), (1, 3, 3)),
    ((2, 4, 4, 3), (1, 4, 2)),
    ((4, 4, 4, 3), (4, 4, 2)),
    ((2, 3, 4, 3), (1, 4, 2)),
    ((2, 3, 4, 3), (2, 3, 4)),
    ((4, 3), (4,)),
    ((2, 4, 3), (2, 4, 2)),
]


@pytest.mark.parametrize("driver", [None, "gelsd", "gels"])
@pytest.mark.parametrize(("sa", "sb"), _LSTSQ_SHAPES, ids=str)
def test_lstsq_checks_and_shapes_match_torch(sa, sb, driver):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)

    def run(m):
        return _run(lambda: tuple(m.linalg.lstsq(m.tensor(a), m.tensor(b), driver=driver)))

    _same(run(torch), run(cr))


@pytest.mark.parametrize(("sa", "sb"), [((2, 4, 4, 3), (1, 4, 2)), ((4, 4, 4, 3), (4, 4, 2))])
def test_lstsq_other_of_one_dim_fewer_gradient_matches_torch(sa, sb):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)

    def run(m):
        ta, tb = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
        x = m.linalg.lstsq(ta, tb).solution
        (x * m.linspace(0.5, 1.5, x.numel(), dtype=x.dtype).reshape(x.shape)).sum().backward()
        return x, ta.grad, tb.grad

    _same(run(torch), run(cr))


@pytest.mark.parametrize(
    ("da", "db"), [("float64", "float32"), ("float32", "complex64"), ("complex128", "float64")]
)
def test_lstsq_dtype_mismatch_words(da, db):
    def run(m):
        a, b = m.ones(3, 3, dtype=getattr(m, da)), m.ones(3, 2, dtype=getattr(m, db))
        return _run(lambda: m.linalg.lstsq(a, b))

    _same(run(torch), run(cr))


# PyTorch's batching rule: batched arguments padded to the larger logical rank, unbatched
# ones expanded, then the op on the physical tensors (its checks name physical dims)
_LSTSQ_VMAP = [
    ((2, 3, 3), (4, 3, 2), (0, 0)),
    ((2, 3, 3), (4, 3, 2), (0, None)),
    ((2, 3, 3), (4, 3, 2), (None, 0)),
    ((3,), (3,), (0, 0)),
    ((3, 3), (), (0, 0)),
    ((3, 3), (2, 3, 3), (0, 0)),
    ((3, 3), (3, 4, 5), (0, None)),
    ((3, 3), (2,), (0, 0)),
    ((2, 3, 3, 3), (1, 3, 4), (0, 0)),
    ((2, 3, 3, 3), (1, 3, 4), (None, 0)),
    ((3, 2, 3, 3), (2, 3, 1), (0, 0)),
    ((4, 3), (4,), (0, None)),
    ((4, 3), (4,), (None, 0)),
    ((4, 3), (4, 2), (1, -1)),
    ((2, 4, 3), (4, 2), (0, 0)),
    ((4, 3), (2, 4, 2), (-1, 1)),
]


@pytest.mark.parametrize("driver", [None, "gelsd", "gels", "gelss"])
@pytest.mark.parametrize(("sa", "sb", "in_dims"), _LSTSQ_VMAP, ids=str)
def test_lstsq_under_vmap_matches_torch(sa, sb, in_dims, driver):
    rng = np.random.default_rng(6)
    arrs = []
    for shape, d in zip((sa, sb), in_dims):
        arr = rng.standard_normal(shape if d is None else (2, *shape))
        arrs.append(arr if d is None else np.moveaxis(arr, 0, d))

    def run(m):
        f = m.func.vmap(lambda a, b: tuple(m.linalg.lstsq(a, b, driver=driver)), in_dims=in_dims)
        return _run(lambda: f(*(m.tensor(a) for a in arrs)))

    _same(run(torch), run(cr))


# --- two nested vmap levels of the ops run once per sample -------------------------------


def _bidx(v, n):
    return (v.abs() * 10).long() % n  # per-sample positions in [0, n)


def _index_add_(m, x, y):
    z = x * 1 + 0 * y[0]
    z.index_add_(1, _bidx(y[:2], 5), x[:, 1:3] * y[0])
    return z


NESTED = {
    "index_add": lambda m, x, y: x.index_add(0, _bidx(y[:3], 4), x[:3] * 2),
    "index_add_dim1_alpha": lambda m, x, y: m.index_add(
        x, 1, _bidx(y[:2], 5), x[:, 2:4] * y[1], alpha=0.5
    ),
    "index_add_unbatched_self": lambda m, x, y: m.zeros(4, 5, dtype=m.float64).index_add(
        0, _bidx(y[:3], 4), x[:3] + y
    ),
    "index_add_": _index_add_,
    "scatter_reduce_sum": lambda m, x, y: x.scatter_reduce(
        1, m.tensor([[0, 4], [1, 1], [3, 0], [2, 2]]), (x * y)[:, :2], "sum"
    ),
    "scatter_reduce_amax_batched_index": lambda m, x, y: (x + y).scatter_reduce(
        1, _bidx(x[:, :2] + y[:2], 5), (x * y)[:, 1:3], "amax", include_self=False
    ),
    "scatter_reduce_mean": lambda m, x, y: x.scatter_reduce(
        0, _bidx(y.expand(2, 5), 4), x[1:3] * y, "mean"
    ),
    "scatter_reduce_prod_unbatched_self": lambda m, x, y: m.ones(
        4, 5, dtype=m.float64
    ).scatter_reduce(1, _bidx(x[:, :3] * y[0], 5), x[:, :3] + y[0], "prod"),
    "histc": lambda m, x, y: m.histc(x * y, 5, -1.0, 1.0),
    "histc_own_range": lambda m, x, y: m.histc(x + y, 4),
    "lstsq": lambda m, x, y: tuple(m.linalg.lstsq(x[:, :3], x[:, 3:] + y[:2])),
    # (a per-sample vector right-hand side: PyTorch's batching rule refuses it, its words)
    "lstsq_gelsd_vector": lambda m, x, y: tuple(
        m.linalg.lstsq(x[:, 1:4], x[:, 0] * y[0], driver="gelsd")
    ),
    "lstsq_gelsd_unbatched_vector": lambda m, x, y: tuple(
        m.linalg.lstsq(x[:, 1:4] * y[0], m.linspace(0.0, 1.0, 4, dtype=m.float64), driver="gelsd")
    ),
    "lstsq_gelss_solution": lambda m, x, y: (
        m.linalg.lstsq(x[:3, :3] + y[:3], x[:3, 3:], driver="gelss").solution
    ),
}

_SIZES = (2, 3)  # outer, inner batch sizes
_DIM_CHOICES = [(0, 0), (1, 0), (-1, 0), (None, 0), (0, None)]
NESTED_DIMS = [(o, i) for o, i in itertools.product(_DIM_CHOICES, repeat=2)]


def _nested_inputs(m, outer, inner, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for shape, o, i in zip(((4, 5), (5,)), outer, inner):
        arr = rng.standard_normal(shape)
        if i is not None:
            arr = np.moveaxis(rng.standard_normal((_SIZES[1], *shape)), 0, i)
        if o is not None:
            arr = np.moveaxis(rng.standard_normal((_SIZES[0], *arr.shape)), 0, o)
        out.append(m.tensor(arr))
    return out


def _inner_fn(m, f):
    return lambda x, y: f(m, x, y)


@pytest.mark.parametrize(("outer", "inner"), NESTED_DIMS, ids=str)
@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_vmap_of_per_sample_ops_matches_torch(name, outer, inner):
    f = NESTED[name]

    def run(m):
        g = m.func.vmap(m.func.vmap(_inner_fn(m, f), in_dims=inner), in_dims=outer)
        return _run(lambda: g(*_nested_inputs(m, outer, inner)))

    _same(run(torch), run(cr))


def _differentiable(name):
    # (prod's backward reads the values: torch's vmap(grad) refuses it, a data-dependent
    # branch; test_vmap_session44.py compares it with torch's per-sample loop)
    return not name.startswith("histc") and "amax" not in name and "prod" not in name


@pytest.mark.parametrize("name", [n for n in sorted(NESTED) if _differentiable(n)])
def test_nested_vmap_of_grad_of_per_sample_ops_matches_torch(name):
    f = NESTED[name]

    def loss(m):
        def one(x, y):
            out = f(m, x, y)
            out = out[0] if isinstance(out, tuple) else out
            w = m.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
            return (out * w).sum()

        return one

    def run(m):
        g = m.func.vmap(m.func.vmap(m.func.grad(loss(m), argnums=(0, 1))), in_dims=(1, 0))
        return _run(lambda: g(*_nested_inputs(m, (1, 0), (0, 0), seed=1)))

    _same(run(torch), run(cr))
