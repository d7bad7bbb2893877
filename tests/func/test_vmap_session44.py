"""Session 44: plain ``cr.func.vmap`` of the ops it refused where ``torch.func.vmap`` runs.

``x.max()``/``x.min()`` without a dim (the rule unpacked three arguments of four),
``fill_``/``zero_`` (on a view too; a batched 0-d value), ``select_scatter``/``slice_scatter``/
``scatter_reduce``/``bucketize``/``masked_scatter`` with a batched mask (computed on raw arrays:
now once per sample, ``func/_per_sample.py``), ``as_strided_`` (PyTorch's fallback restrides
each sample's slice: the batched tensor is unchanged), ``cr.clone(x)`` as a function,
``index_fill``/``masked_fill`` with a batched 0-d value, and ``vmap(grad)`` of
``embedding``/``embedding_bag`` with ``sparse=True`` (PyTorch refuses). Each against
``torch.func.vmap`` with in_dims 0/1/None mixes and out_dims, and ``vmap(grad)`` and
``vmap(jvp)`` where torch runs them (else both refuse, with the same error type).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# torch's vmap warns where it has no batching rule (its per-sample fallback)
# (and searchsorted's once-per-program note on a non-contiguous input: a sample's slice)
pytestmark = [
    pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning"),
    pytest.mark.filterwarnings("ignore:torch.searchsorted... input value tensor:UserWarning"),
]

RNG = np.random.default_rng(44)
B, SX, SY = 3, (4, 5), (5,)


def _inplace_base(m, x, y):
    return x * 1 + 0 * y[0]  # batched when either input is


def _zero_view(m, x, y):
    z = _inplace_base(m, x, y)
    z[:2].zero_()
    return z


def _fill_view(m, x, y):
    z = _inplace_base(m, x, y)
    z[1:, 2:].fill_(2.5)
    return z


def _fill_value(m, x, y):
    z = _inplace_base(m, x, y)
    z[1:].fill_(y[0])
    return z


def _zero_fn(m, x, y):
    z = _inplace_base(m, x, y)
    m.zero_(z[:, 1])
    return z


def _as_strided_(m, x, y):
    z = _inplace_base(m, x, y)
    r = z.as_strided_((2, 2), (1, 2))
    return r * 1


def _inplace(name, *args):
    def f(m, x, y):
        z = _inplace_base(m, x, y)
        getattr(z, name)(*(a(m, x, y) if callable(a) else a for a in args))
        return z

    return f


def _bidx(v, n):
    return (v.abs() * 10).long() % n  # per-sample positions in [0, n)


def _setitem_batched(m, x, y):
    z = _inplace_base(m, x, y)
    z[_bidx(y[:3], 4)] = 0.5
    return z


def _idx(m):
    return m.tensor([[0, 4], [1, 1], [3, 0], [2, 2]])


CASES = {
    "max_all": lambda m, x, y: x.max() + y.min(),
    "max_all_product": lambda m, x, y: (x * y).max(),
    "amax_all": lambda m, x, y: m.amax(x * y),
    "zero_view": _zero_view,
    "zero_function": _zero_fn,
    "fill_view": _fill_view,
    "fill_batched_value": _fill_value,
    "select_scatter": lambda m, x, y: m.select_scatter(x, y * 3, 0, 1),
    "select_scatter_dim1": lambda m, x, y: m.select_scatter(x, x[:, 0] + y[:4], 1, -1),
    "slice_scatter": lambda m, x, y: m.slice_scatter(x, x[1:3] * y, 0, 1, 3),
    "slice_scatter_step": lambda m, x, y: m.slice_scatter(x, x[:, ::2] * 2 + y[0], 1, 0, 5, 2),
    # (src shaped as the index: torch has no gradient for a larger src)
    "scatter_reduce_sum": lambda m, x, y: x.scatter_reduce(1, _idx(m), (x * y)[:, :2], "sum"),
    "scatter_reduce_amax": lambda m, x, y: x.scatter_reduce(
        1, _idx(m), (x * y)[:, 1:3], "amax", include_self=False
    ),
    "scatter_reduce_mean": lambda m, x, y: (x + y).scatter_reduce(
        0, _idx(m).T % 4, x[:2, :4], "mean"
    ),
    "scatter_reduce_bad_index": lambda m, x, y: x.scatter_reduce(0, _idx(m), x * y, "sum"),
    "scatter_reduce_prod": lambda m, x, y: m.scatter_reduce(x, 1, _idx(m), (x + y)[:, 3:], "prod"),
    "scatter_reduce_larger_src": lambda m, x, y: x.scatter_reduce(1, _idx(m), x * y, "sum"),
    "scatter_reduce_": _inplace("scatter_reduce_", 1, _idx, lambda m, x, y: (x * y)[:, :2], "sum"),
    "as_strided_": _as_strided_,
    "masked_scatter_batched_mask": lambda m, x, y: x.masked_scatter(y > 0, x * 10),
    "masked_scatter_both": lambda m, x, y: x.masked_scatter(x > 0, (x * y) * 10),
    "masked_scatter_": _inplace("masked_scatter_", lambda m, x, y: y < 0, lambda m, x, y: x * 3),
    "bucketize": lambda m, x, y: m.bucketize(x + y, m.tensor([-1.0, 0.0, 1.0], dtype=m.float64)),
    "bucketize_right": lambda m, x, y: m.bucketize(x, m.tensor([-0.5, 0.5]).double(), right=True),
    "bucketize_batched_boundaries": lambda m, x, y: m.bucketize(x, y.sort().values),
    "searchsorted_batched": lambda m, x, y: m.searchsorted(y.sort().values, x[0]),
    "clone_function": lambda m, x, y: m.clone(x) + y,
    "clone_function_format": lambda m, x, y: m.clone(x * y, memory_format=m.contiguous_format),
    "index_fill_batched_value": lambda m, x, y: x.index_fill(1, m.tensor([0, 2]), y[0]),
    "index_fill_": _inplace(
        "index_fill_", 0, lambda m, x, y: m.tensor([1, 3]), lambda m, x, y: y[2]
    ),
    "masked_fill_batched_value": lambda m, x, y: x.masked_fill(x > 0, y[1]),
    "masked_fill_": _inplace("masked_fill_", lambda m, x, y: x < 0, lambda m, x, y: y[3]),
    # found by the survey (tests/func/test_vmap_session44_survey.py): per-sample indices
    "getitem_batched_index": lambda m, x, y: x[_bidx(y, 4)],
    "getitem_two_batched_indices": lambda m, x, y: x[_bidx(y, 4), _bidx(y * 0.7, 5)],
    "index_add_batched_index": lambda m, x, y: x.index_add(0, _bidx(y[:3], 4), x[:3] * 2),
    "index_put_batched_index": lambda m, x, y: x.index_put(
        (_bidx(y[:3], 4),), x[:3] * 2 + y, accumulate=True
    ),
    "setitem_batched_index": _setitem_batched,
    "index_fill_batched_index": lambda m, x, y: x.index_fill(1, _bidx(y[:2], 5), -1.0),
    "argmax_all": lambda m, x, y: (x * y).argmax(),
    "count_nonzero": lambda m, x, y: m.count_nonzero((x * y > 0).long(), 1),
    "histc": lambda m, x, y: m.histc(x * y, 5, -1.0, 1.0),
}

DIMS = [(0, 0), (1, None), (None, 0), (-1, 0), (0, None)]


def _inputs(m, dims):
    out = []
    for shape, d, seed in ((SX, dims[0], 0), (SY, dims[1], 1)):
        full = np.random.default_rng(seed).standard_normal(shape if d is None else (B, *shape))
        if d is not None:
            full = np.moveaxis(full, 0, d)
        out.append(m.tensor(full))
    return out


def _run(m, fn):
    try:
        return fn(m)
    except Exception as e:  # noqa: BLE001 - compared against the other library
        return e


# torch.func.vmap's own bugs (checked below to still differ from torch's per-sample loop):
# there chainrule is compared with that loop instead
TORCH_BUGS = {
    # unbatched self, batched 0-d value: every sample filled with the last sample's value
    ("index_fill_batched_value", "plain", (None, 0)),
    # prod's backward reads values (a data-dependent branch): torch's vmap(grad) refuses
    ("scatter_reduce_prod", "grad", None),
}


def _sample(t, d, b):
    return t if d is None else t.select(d, b)


def _loop(f, dims, out_dim=0):
    """torch's per-sample loop: the reference where torch.func.vmap has a bug."""
    ins = _inputs(torch, dims)
    outs = [f(*(_sample(t, d, b) for t, d in zip(ins, dims))) for b in range(B)]
    if isinstance(outs[0], tuple):
        return tuple(torch.stack([o[i] for o in outs], out_dim) for i in range(len(outs[0])))
    return torch.stack(outs, out_dim)


def _reference(name, kind, dims, run_vmap, one, out_dim=0):
    want = _run(torch, run_vmap)
    if (name, kind, dims if kind == "plain" else None) in TORCH_BUGS:
        loop = _loop(one, dims, out_dim)
        if not isinstance(want, Exception):  # still torch's bug: its vmap differs
            assert not np.allclose(want.detach().numpy(), loop.detach().numpy())
        return loop
    return want


def _check(want, got):
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"torch raised {want!r}, chainrule returned {got!r}"
        assert isinstance(got, type(want)), (want, got)
        return
    if isinstance(got, Exception):
        raise got
    wl = want if isinstance(want, (tuple, list)) else (want,)
    gl = got if isinstance(got, (tuple, list)) else (got,)
    assert len(wl) == len(gl)
    for w, g in zip(wl, gl):
        assert type(g) is cr.Tensor and isinstance(g._data, np.ndarray)
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dims", DIMS, ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_vmap_matches_torch(name, dims):
    f = CASES[name]

    def run(m):
        return m.func.vmap(lambda x, y: f(m, x, y), in_dims=dims)(*_inputs(m, dims))

    want = _reference(name, "plain", dims, run, lambda x, y: f(torch, x, y))
    _check(want, _run(cr, run))


@pytest.mark.parametrize("out_dims", [1, -1])
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_dims_match_torch(name, out_dims):
    f = CASES[name]

    def run(m):
        vm = m.func.vmap(lambda x, y: f(m, x, y), in_dims=(0, None), out_dims=out_dims)
        return vm(*_inputs(m, (0, None)))

    _check(_run(torch, run), _run(cr, run))


def _differentiable(name):
    # (as_strided_: under vmap it leaves the tensor as it is, outside it restrides it, so no
    # per-sample reference; torch's own vmap(grad) of it fails with a shape error)
    skip = (
        "bucketize",
        "searchsorted",
        "as_strided",
        "bad_index",
        "larger",
        "arg",
        "count",
        "histc",
    )
    return not any(w in name for w in skip)


def _loss(m, f):
    def loss(x, y):
        out = f(m, x, y)
        w = m.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        return (out * w).sum()

    return loss


@pytest.mark.parametrize("name", [n for n in sorted(CASES) if _differentiable(n)])
def test_vmap_of_grad_matches_torch(name):
    f = CASES[name]

    def run(m):
        return m.func.vmap(m.func.grad(_loss(m, f), argnums=(0, 1)))(*_inputs(m, (0, 0)))

    one = torch.func.grad(_loss(torch, f), argnums=(0, 1))
    _check(_reference(name, "grad", (0, 0), run, one), _run(cr, run))


@pytest.mark.parametrize(  # (torch's tangent of scatter_reduce 'prod' is zero, vmap or not)
    "name", [n for n in sorted(CASES) if _differentiable(n) and n != "scatter_reduce_prod"]
)
def test_vmap_of_jvp_matches_torch(name):
    f = CASES[name]

    def run(m):
        x, y = _inputs(m, (0, 0))
        tx, ty = x * 0.5 - 0.25, y * -1.5

        return m.func.vmap(_jvp_one(m, f))(x, y, tx, ty)

    def one(x, y):
        return _jvp_one(torch, f)(x, y, x * 0.5 - 0.25, y * -1.5)

    _check(_reference(name, "jvp", (0, 0), run, one), _run(cr, run))


def _jvp_one(m, f):
    def one(x, y, tx, ty):
        return m.func.jvp(lambda a, b: f(m, a, b), (x, y), (tx, ty))

    return one


def test_nested_vmap_of_the_fixed_ops_matches_torch():
    x3 = RNG.standard_normal((2, 3, 4, 5))
    y3 = RNG.standard_normal((2, 3, 5))
    names = ("max_all", "fill_batched_value", "scatter_reduce_sum", "masked_scatter_both")
    for name in names + ("getitem_two_batched_indices", "setitem_batched_index", "histc"):
        f = CASES[name]

        def run(m, f=f):
            vm = m.func.vmap(m.func.vmap(lambda x, y: f(m, x, y)), in_dims=(1, 0))
            return vm(m.tensor(np.moveaxis(x3, 0, 1)), m.tensor(y3))

        _check(_run(torch, run), _run(cr, run))


@pytest.mark.parametrize("bag", [False, True])
def test_vmap_of_grad_of_sparse_embedding_refused_as_torch(bag):
    weight = RNG.standard_normal((5, 3))
    idx = np.array([[0, 1, 2], [2, 3, 4]])

    def run(m, sparse):
        F = m.nn.functional

        def loss(w, i):
            if bag:
                return F.embedding_bag(i[None], w, sparse=sparse).sum()
            return F.embedding(i, w, sparse=sparse).sum()

        return m.func.vmap(m.func.grad(loss), in_dims=(None, 0))(m.tensor(weight), m.tensor(idx))

    want, got = _run(torch, lambda m: run(m, True)), _run(cr, lambda m: run(m, True))
    assert type(want) is NotImplementedError and type(got) is NotImplementedError
    assert str(want).startswith(str(got))  # PyTorch's first sentences, word for word
    _check(_run(torch, lambda m: run(m, False)), _run(cr, lambda m: run(m, False)))
    # the forward alone (no gradient) runs in both
    fwd = [
        m.func.vmap(lambda i, m=m: m.nn.functional.embedding(i, m.tensor(weight), sparse=True))(
            m.tensor(idx)
        )
        for m in (torch, cr)
    ]
    _check(*fwd)


ERRORS = {
    "fill_unbatched_self": lambda m, x: m.zeros(4, dtype=m.float64).fill_(x[0]),
    "index_fill_unbatched_self": lambda m, x: m.zeros(4, dtype=m.float64).index_fill_(
        0, m.tensor([1]), x[0]
    ),
    "mul_unbatched_self": lambda m, x: m.zeros(4, dtype=m.float64).mul_(x),
    "copy_unbatched_self": lambda m, x: m.zeros(4, dtype=m.float64).copy_(x),
    "masked_fill_unbatched_self": lambda m, x: m.zeros(4, dtype=m.float64).masked_fill_(
        m.ones(4, dtype=m.bool), x[0]
    ),
    "item": lambda m, x: x.sum().item(),
    "float": lambda m, x: float(x[0]),
    "int": lambda m, x: int(x[0]),
    "if_on_tensor": lambda m, x: x if x[0] > 0 else -x,
    "if_on_reduction": lambda m, x: x if x.sum() > 0 else -x,
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_refusals_match_torch(name):
    f = ERRORS[name]
    xs = RNG.standard_normal((3, 4))
    want = _run(torch, lambda m: m.func.vmap(lambda x: f(m, x))(m.tensor(xs)))
    got = _run(cr, lambda m: m.func.vmap(lambda x: f(m, x))(m.tensor(xs)))
    assert isinstance(want, RuntimeError) and type(got) is RuntimeError, (want, got)
    tail = "is not possible because there exists a Tensor `other` in extra_args"
    if tail in str(want):  # the op's name in front differs (aten::masked_fill_, at level 1)
        assert tail in str(got)
    else:
        assert str(got) == str(want)


def test_argmax_keepdim_without_dim_is_the_per_sample_result():
    """``x.argmax(keepdim=True)`` (no dim) under vmap: chainrule gives each sample what the
    op gives it outside vmap, (1, 1) for a 2-d sample; torch.func.vmap drops one of those
    dims (its batching rule's quirk), with the same values."""
    xs = RNG.standard_normal((3, 4, 5))
    for op in ("argmax", "argmin"):
        got = cr.func.vmap(lambda r, op=op: getattr(r, op)(keepdim=True))(cr.tensor(xs))
        want = torch.func.vmap(lambda r, op=op: getattr(r, op)(keepdim=True))(torch.tensor(xs))
        loop = torch.stack([getattr(r, op)(keepdim=True) for r in torch.tensor(xs)])
        assert tuple(got.shape) == tuple(loop.shape) == (3, 1, 1)
        assert tuple(want.shape) == (3, 1)  # torch's quirk, still there
        np.testing.assert_array_equal(got.numpy(), loop.numpy())
        np.testing.assert_array_equal(got.numpy().reshape(3), want.numpy().reshape(3))


GRAD_ERRORS = {
    "item": lambda m, a: a.sum() * a.detach()[0].item(),
    "if_on_tensor": lambda m, a: a.sum() if a.sum() > 0 else -a.sum(),
    "float": lambda m, a: a.sum() * float(a[0]),
    "mask_product_runs": lambda m, a: a.sum() * (a.detach()[0] > 0),
}


@pytest.mark.parametrize("order", ["vmap_of_grad", "grad_of_vmap"])
@pytest.mark.parametrize("name", sorted(GRAD_ERRORS))
def test_values_asked_for_under_grad_and_vmap_match_torch(name, order):
    """Inside ``vmap(grad(f))`` PyTorch words a Python value of a per-sample tensor with its
    combined (1)/(2)/(3) message; inside ``grad(vmap(f))`` with vmap's own."""
    f = GRAD_ERRORS[name]
    xs = RNG.standard_normal((2, 3))

    def run(m):
        g = lambda a: f(m, a)  # noqa: E731
        if order == "vmap_of_grad":
            return m.func.vmap(m.func.grad(g))(m.tensor(xs))
        return m.func.grad(lambda x: m.func.vmap(g)(x).sum())(m.tensor(xs))

    want, got = _run(torch, run), _run(cr, run)
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want)
    else:
        _check(want, got)


@pytest.mark.parametrize("vmapped", [False, True])
def test_jvp_of_a_function_returning_a_number_refused_as_torch(vmapped):
    def run(m):
        def one(x):
            return m.func.jvp(lambda a: (a * 2, a.argmax().item()), (x,), (x,))

        x = m.tensor(RNG.standard_normal((2, 3)))
        return m.func.vmap(one)(x) if vmapped else one(x[0])

    want, got = _run(torch, run), _run(cr, run)
    assert type(want) is RuntimeError and type(got) is RuntimeError
    assert str(got) == str(want)
