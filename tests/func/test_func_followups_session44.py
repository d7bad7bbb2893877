"""Session 44 follow-ups of plain ``cr.func`` against ``torch.func`` (torch 2.13).

* ``linalg.lstsq`` under ``vmap`` (once per sample, as PyTorch's fallback): values of every
  field and driver, in_dims mixes, ``vmap(grad)`` and ``vmap(jvp)``.
* ``func.grad`` / ``grad_and_value`` of a non-scalar output: PyTorch's RuntimeError and
  words, a shape-(1,) output refused too; a complex output's refusal.
* ``cdist`` forward mode: PyTorch 2.13 has no forward rule for ``_cdist_forward`` nor
  ``_euclidean_dist`` (jvp, jacfwd, hessian and ``forward_ad.dual_level`` all refuse): the
  same NotImplementedError and text, naming the kernel PyTorch dispatches to.
* ``scatter_reduce`` with a ``src`` larger than ``index``: PyTorch's refusals of the
  backward (per reduction and per input needing a gradient) and of the amax/amin tangent.
* ``scatter_reduce(reduce='prod')``'s tangent: PyTorch 2.13's is all zeros (even where the
  output is ``self`` untouched), which contradicts its own backward (``jacrev``): a bug.
  chainrule keeps the true derivative; PyTorch's behaviour is pinned below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")

RNG = np.random.default_rng(4402)
A = RNG.standard_normal((3, 5, 2))
B = RNG.standard_normal((3, 5, 2))
BV = RNG.standard_normal((3, 5))


def _both(fn: Callable[[Any], Any]) -> tuple[Any, Any]:
    """``fn(torch)`` and ``fn(cr)``: a result, or the exception raised."""
    out = []
    for m in (torch, cr):
        try:
            out.append(fn(m))
        except Exception as e:  # noqa: BLE001 - compared below
            out.append(e)
    return out[0], out[1]


def _np(x: Any) -> Any:
    if isinstance(x, (tuple, list)):
        return [_np(t) for t in x]
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _same(want: Any, got: Any, tol: float = 1e-10) -> None:
    if isinstance(want, Exception):
        assert type(got) is type(want), (want, got)
        assert str(got) == str(want)
        return
    assert not isinstance(got, Exception), got
    w, g = _np(want), _np(got)
    if isinstance(w, list):
        assert len(w) == len(g)
        for a, b in zip(w, g):
            _same_array(a, b, tol)
    else:
        _same_array(w, g, tol)


def _same_array(w: Any, g: Any, tol: float) -> None:
    assert w.shape == g.shape, (w.shape, g.shape)
    assert w.dtype == g.dtype, (w.dtype, g.dtype)
    np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


# ----------------------------------------------------------------- linalg.lstsq under vmap


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("in_dims", [(0, 0), (0, None), (None, 0), (1, 2)])
def test_vmap_lstsq_every_field(driver: str | None, in_dims: tuple) -> None:
    def run(m: Any) -> Any:
        a, b = m.tensor(A), m.tensor(B)
        if in_dims == (1, 2):
            a, b = a.movedim(0, 1), b.movedim(0, 2)
        elif in_dims[0] is None:
            a = a[0]
        elif in_dims[1] is None:
            b = b[0]
        return tuple(m.func.vmap(lambda x, y: m.linalg.lstsq(x, y, driver=driver), in_dims)(a, b))

    _same(*_both(run))


@pytest.mark.parametrize("in_dims", [(0, 0), (None, 0), (0, None)])
def test_vmap_lstsq_vector_rhs(in_dims: tuple) -> None:
    # PyTorch's batching rule pads a batched other to input's rank: a per-sample vector
    # right-hand side is then a (1, m) matrix, refused; an unbatched vector runs
    def run(m: Any) -> Any:
        a = m.tensor(A) if in_dims[0] == 0 else m.tensor(A[0])
        b = m.tensor(BV) if in_dims[1] == 0 else m.tensor(BV[0])
        r = m.func.vmap(m.linalg.lstsq, in_dims)(a, b)
        assert type(r).__name__ == "linalg_lstsq"
        return (r.solution, r.rank)

    _same(*_both(run))


@pytest.mark.parametrize("shape", [(3, 5), (3, 4), (1, 5), (4,)])
def test_lstsq_vector_case_and_size_text(shape: tuple) -> None:
    # PyTorch's vector case: a 1-d other, or exactly input's shape without its last dim
    b = RNG.standard_normal(shape)

    def run(m: Any) -> Any:
        a = m.tensor(A) if len(shape) == 2 else m.tensor(A[0])
        return m.linalg.lstsq(a, m.tensor(b)).solution

    _same(*_both(run))


def test_vmap_grad_lstsq() -> None:
    def run(m: Any) -> Any:
        f = m.func.grad(lambda a, b: m.linalg.lstsq(a, b).solution.pow(2).sum(), argnums=(0, 1))
        return m.func.vmap(f)(m.tensor(A), m.tensor(B))

    _same(*_both(run), tol=1e-9)


def test_vmap_jvp_lstsq() -> None:
    def run(m: Any) -> Any:
        def f(a: Any, b: Any) -> Any:
            return m.func.jvp(lambda x, y: m.linalg.lstsq(x, y).solution, (a, b), (b[:, :2], b))

        return m.func.vmap(f)(m.tensor(A), m.tensor(B))

    _same(*_both(run), tol=1e-9)


@pytest.mark.parametrize("shape", [(5, 1), (5, 4)])
def test_lstsq_matrix_other_one_dim_short_refused(shape: tuple) -> None:
    # rows match as a matrix, but PyTorch then reads other as a batch of vectors and fails
    # to broadcast (its words name its internal tensors; chainrule's differ): both refuse
    b = RNG.standard_normal(shape)
    want, got = _both(lambda m: m.linalg.lstsq(m.tensor(A), m.tensor(b)))
    assert type(want) is RuntimeError and type(got) is RuntimeError, (want, got)


# ------------------------------------------------------ func.grad of a non-scalar output

X = RNG.standard_normal(3)


@pytest.mark.parametrize(
    "name",
    ["vector", "shape_1", "shape_1_1", "empty", "int", "tuple", "complex", "aux_vector"],
)
@pytest.mark.parametrize("transform", ["grad", "grad_and_value"])
def test_grad_output_refusals(name: str, transform: str) -> None:
    fns = {
        "vector": (lambda m, x: x * 2, False),
        "shape_1": (lambda m, x: x.sum().reshape(1), False),
        "shape_1_1": (lambda m, x: x.sum().reshape(1, 1), False),
        "empty": (lambda m, x: x[:0], False),
        "int": (lambda m, x: 3, False),
        "tuple": (lambda m, x: (x.sum(), x.sum()), False),
        "complex": (lambda m, x: (x * 1j).sum(), False),
        "aux_vector": (lambda m, x: (x * 2, x.sum()), True),
    }
    fn, aux = fns[name]

    def run(m: Any) -> Any:
        return getattr(m.func, transform)(lambda x: fn(m, x), has_aux=aux)(m.tensor(X))

    want, got = _both(run)
    assert isinstance(want, RuntimeError)
    _same(want, got)


@pytest.mark.parametrize("name", ["vector", "shape_1"])
def test_grad_output_refusals_under_vmap(name: str) -> None:
    fns = {"vector": lambda x: x * 2, "shape_1": lambda x: x.sum().reshape(1)}

    def run(m: Any) -> Any:
        return m.func.vmap(m.func.grad(fns[name]))(m.tensor(A[:, :, 0]))

    want, got = _both(run)
    assert isinstance(want, RuntimeError)
    _same(want, got)


def test_grad_scalar_output_still_runs() -> None:
    _same(*_both(lambda m: m.func.grad(lambda x: (x * x).sum())(m.tensor(X))))


# ------------------------------------------------------------------- cdist forward mode

XC = RNG.standard_normal((3, 4))
YC = RNG.standard_normal((5, 4))
X30 = RNG.standard_normal((30, 4))


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, float("inf")])
@pytest.mark.parametrize(
    "mode",
    [
        "use_mm_for_euclid_dist_if_necessary",
        "use_mm_for_euclid_dist",
        "donot_use_mm_for_euclid_dist",
    ],
)
@pytest.mark.parametrize("rows", [3, 30])
def test_cdist_jvp_refused(p: float, mode: str, rows: int) -> None:
    x = XC if rows == 3 else X30

    def run(m: Any) -> Any:
        a, b = m.tensor(x), m.tensor(YC)
        f = lambda u, v: m.cdist(u, v, p=p, compute_mode=mode)  # noqa: E731
        return m.func.jvp(f, (a, b), (a, b))[1]

    want, got = _both(run)
    assert isinstance(want, NotImplementedError)
    _same(want, got)


@pytest.mark.parametrize("which", ["x1", "x2"])
def test_cdist_dual_level_refused(which: str) -> None:
    def run(m: Any) -> Any:
        fw = m.autograd.forward_ad
        with fw.dual_level():
            a, b = m.tensor(XC), m.tensor(YC)
            if which == "x1":
                a = fw.make_dual(a, m.ones_like(a))
            else:
                b = fw.make_dual(b, m.ones_like(b))
            return fw.unpack_dual(m.cdist(a, b)).tangent

    want, got = _both(run)
    assert isinstance(want, NotImplementedError)
    _same(want, got)


@pytest.mark.parametrize("transform", ["jacfwd", "hessian"])
def test_cdist_jacfwd_hessian_refused(transform: str) -> None:
    def run(m: Any) -> Any:
        y = m.tensor(YC)
        return getattr(m.func, transform)(lambda a: m.cdist(a, y, p=3.0).sum())(m.tensor(XC))

    want, got = _both(run)
    assert isinstance(want, NotImplementedError)
    _same(want, got)


def test_cdist_empty_input_names_cdist_forward() -> None:
    def run(m: Any) -> Any:
        a = m.tensor(X30)
        return m.func.jvp(lambda u: m.cdist(u, m.tensor(YC[:0])), (a,), (a,))[1]

    want, got = _both(run)
    assert "_cdist_forward" in str(want)
    _same(want, got)


def test_cdist_values_and_gradients_unchanged() -> None:
    def run(m: Any) -> Any:
        a, b = m.tensor(XC, requires_grad=True), m.tensor(YC, requires_grad=True)
        d = m.cdist(a, b, p=1.5)
        return (d, *m.autograd.grad(d.sum(), (a, b)))

    _same(*_both(run), tol=1e-9)


def test_cdist_tangent_free_input_in_jvp_runs() -> None:
    def run(m: Any) -> Any:
        a = m.tensor(XC)
        return m.func.jvp(lambda u: m.cdist(m.tensor(XC), m.tensor(YC)).sum() + u.sum(), (a,), (a,))

    _same(*_both(run))


# ------------------------------------------------- scatter_reduce with a larger src

IDX = [0, 1, 0, 2]


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("needs", ["both", "self", "src"])
def test_scatter_reduce_backward_larger_src(reduce: str, needs: str) -> None:
    def run(m: Any) -> Any:
        x = m.arange(1.0, 6.0, dtype=m.float64).requires_grad_(needs != "src")
        s = (m.arange(1.0, 7.0, dtype=m.float64) * 1.5).requires_grad_(needs != "self")
        out = x.scatter_reduce(0, m.tensor(IDX), s, reduce)
        return m.autograd.grad(out.sum(), [t for t in (x, s) if t.requires_grad])

    _same(*_both(run))


@pytest.mark.parametrize("reduce", ["sum", "prod", "amax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_reduce_backward_larger_src_2d(reduce: str, dim: int) -> None:
    def run(m: Any) -> Any:
        x = m.ones(3, 3, dtype=m.float64, requires_grad=True)
        s = m.ones(3, 4, dtype=m.float64, requires_grad=True)
        out = x.scatter_reduce(dim, m.tensor([[0, 1], [1, 0]]), s, reduce)
        return m.autograd.grad(out.sum(), (x, s))

    want, got = _both(run)
    assert isinstance(want, RuntimeError)
    _same(want, got)


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("tangents", ["both", "self"])
def test_scatter_reduce_jvp_larger_src(reduce: str, tangents: str) -> None:
    def run(m: Any) -> Any:
        x, s = m.arange(1.0, 6.0, dtype=m.float64), m.arange(1.0, 7.0, dtype=m.float64) * 1.5
        if tangents == "both":
            f = lambda u, v: u.scatter_reduce(0, m.tensor(IDX), v, reduce)  # noqa: E731
            return m.func.jvp(f, (x, s), (m.ones_like(x), m.ones_like(s)))[1]
        f = lambda u: u.scatter_reduce(0, m.tensor(IDX), s, reduce)  # noqa: E731
        return m.func.jvp(f, (x,), (m.ones_like(x),))[1]

    _same(*_both(run))


def test_scatter_reduce_same_size_backward_unchanged() -> None:
    def run(m: Any) -> Any:
        x = m.arange(1.0, 6.0, dtype=m.float64).requires_grad_()
        s = (m.arange(1.0, 5.0, dtype=m.float64) * 1.5).requires_grad_()
        out = x.scatter_reduce(0, m.tensor(IDX), s, "prod")
        return m.autograd.grad(out.sum(), (x, s))

    _same(*_both(run))


# --------------------------------------------- scatter_reduce 'prod' tangent (torch bug)


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_tangent_is_the_derivative(include_self: bool) -> None:
    x, s = np.arange(1.0, 6.0), np.array([2.0, 3.0, 4.0, 5.0])
    tx, ts = np.arange(1.0, 6.0), np.arange(1.0, 5.0) * 10

    def f(m: Any) -> Callable:
        idx = m.tensor(IDX)
        return lambda u, v: u.scatter_reduce(0, idx, v, "prod", include_self=include_self)

    def jvp(m: Any) -> Any:
        t = (m.tensor(tx), m.tensor(ts))
        return m.func.jvp(f(m), (m.tensor(x), m.tensor(s)), t)[1].numpy()

    def jac_times_tangent(m: Any) -> Any:  # reverse mode: J @ t, the documented derivative
        jx, js = m.func.jacrev(f(m), argnums=(0, 1))(m.tensor(x), m.tensor(s))
        return (jx @ m.tensor(tx) + js @ m.tensor(ts)).numpy()

    true = jac_times_tangent(torch)
    # PyTorch 2.13's forward rule for 'prod' returns zeros everywhere, even at positions
    # 3 and 4 that no index writes (the output there is self, whose tangent is 4 and 5):
    # a bug, contradicted by its own backward. Pinned so that a fix in PyTorch is noticed.
    np.testing.assert_array_equal(jvp(torch), np.zeros(5))
    assert true[3] == 4.0 and true[4] == 5.0
    # chainrule's tangent is the derivative, equal to PyTorch's reverse-mode J @ t
    np.testing.assert_allclose(jvp(cr), true, rtol=1e-12)
    np.testing.assert_allclose(jac_times_tangent(cr), true, rtol=1e-12)
