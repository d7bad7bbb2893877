"""Session 47: ``cr.func.vmap`` over linear-algebra functions that read raw arrays (run once
per sample, ``linalg/_vmap_per_sample.py``; PyTorch has batching rules for them), the mask of
``native_dropout`` under ``randomness='same'``/``'different'``, and two places where
chainrule keeps the correct Jacobian where torch 2.13's ``jacfwd`` does not (compared with
torch's own ``jacrev`` or loop instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*triangular_solve is deprecated:UserWarning"),
]

_R = np.random.default_rng(4702)
A = _R.standard_normal((3, 4, 4))
BV = _R.standard_normal((3, 4, 2))
IMG = _R.standard_normal((3, 2, 3, 4))


def _flat(r: Any) -> list:
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _flat(x)]
    return [r]


def _close(want: Any, got: Any, rtol: float = 1e-7) -> None:
    wl, gl = _flat(want), _flat(got)
    assert len(wl) == len(gl)
    for w, g in zip(wl, gl):
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=1e-9)


def _spd(m: Any, a: Any) -> Any:
    return a @ a.mT + 4 * m.eye(4, dtype=a.dtype)


def _tri(m: Any, a: Any) -> Any:
    return a.triu() + 4 * m.eye(4, dtype=a.dtype)


_LINALG = {
    "cholesky_ex": lambda m, a, b: m.linalg.cholesky_ex(_spd(m, a)),
    "cholesky_ex_fails": lambda m, a, b: m.linalg.cholesky_ex(a),
    "solve_triangular": lambda m, a, b: m.linalg.solve_triangular(_tri(m, a), b, upper=True),
    "lu_factor": lambda m, a, b: m.linalg.lu_factor(a),
    "lu_factor_ex": lambda m, a, b: m.linalg.lu_factor_ex(a),
    "lu": lambda m, a, b: m.linalg.lu(a),
    "lu_solve": lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b),
    "lu_solve_adjoint": lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, adjoint=True),
    "lu_unpack": lambda m, a, b: m.lu_unpack(*m.linalg.lu_factor(a)),
    "eigvals": lambda m, a, b: m.linalg.eigvals(a + a.mT),
    "eig_values": lambda m, a, b: m.linalg.eig(a + a.mT)[0],
    "ldl_factor": lambda m, a, b: m.linalg.ldl_factor(a + a.mT),
    "ldl_solve": lambda m, a, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(a + a.mT), b),
    "matrix_rank": lambda m, a, b: m.linalg.matrix_rank(a),
    "matrix_rank_atol": lambda m, a, b: m.linalg.matrix_rank(a, atol=0.5),
    "tensorsolve": lambda m, a, b: m.linalg.tensorsolve(a, b[:, 0]),
    "cholesky_inverse": lambda m, a, b: m.cholesky_inverse(m.linalg.cholesky(_spd(m, a))),
    "cholesky_solve": lambda m, a, b: m.cholesky_solve(b, m.linalg.cholesky(_spd(m, a))),
    "triangular_solve": lambda m, a, b: m.triangular_solve(b, _tri(m, a)),
    "grad_lu_solve": lambda m, a, b: m.func.grad(
        lambda x: m.linalg.lu_solve(*m.linalg.lu_factor(x), b).sum()
    )(a),
    "grad_solve_triangular": lambda m, a, b: m.func.grad(
        lambda x: m.linalg.solve_triangular(_tri(m, x), b, upper=True).sum()
    )(a),
    "grad_cholesky_solve": lambda m, a, b: m.func.grad(
        lambda x: m.cholesky_solve(b, m.linalg.cholesky(_spd(m, x))).sum()
    )(a),
}


@pytest.mark.parametrize("name", sorted(_LINALG))
def test_linalg_under_vmap(name: str) -> None:
    def run(m: Any) -> Any:
        return m.func.vmap(lambda a, b: _LINALG[name](m, a, b))(m.tensor(A), m.tensor(BV))

    _close(run(torch), run(cr))


def test_linalg_nested_vmap_and_unbatched_factor() -> None:
    def nested(m: Any) -> Any:
        f = m.func.vmap(m.func.vmap(lambda a: m.linalg.lu_factor(a)))
        return f(m.tensor(A[None].repeat(2, 0)))

    def rhs_only(m: Any) -> Any:  # the factor unbatched, the right-hand side batched
        lu, piv = m.linalg.lu_factor(m.tensor(A[0]))
        return m.func.vmap(lambda b: m.linalg.lu_solve(lu, piv, b))(m.tensor(BV))

    for case in (nested, rhs_only):
        _close(case(torch), case(cr))


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("mode", ["same", "different"])
def test_native_dropout_mask_under_vmap(mode: str, batched: bool) -> None:
    """PyTorch's 'same' batch rule returns the mask in the input's dtype, 'different' a bool
    one; the draws are PyTorch's for one seed."""

    def run(m: Any) -> Any:
        m.manual_seed(4702)
        x0 = m.tensor(IMG[0])

        def f(a: Any) -> Any:
            return m.native_dropout(a if batched else x0 + 0 * a.sum(), 0.4, True)

        return m.func.vmap(f, randomness=mode)(m.tensor(IMG))

    want, got = run(torch), run(cr)
    _close(want, got)
    assert bool((got[1][0] == got[1][1]).all()) is (mode == "same")


def test_jacfwd_negative_argnums_is_the_jacobian() -> None:
    """torch 2.13's ``jacfwd(f, argnums=-1)`` returns zeros (its jacrev and ``argnums=1``
    agree on the Jacobian); chainrule's jacfwd gives the Jacobian, as torch's jacrev."""
    x, w = _R.standard_normal((3, 4)), _R.standard_normal((4, 4))

    def f(m: Any) -> Any:
        return lambda a, b: (a @ b).sin()

    want = torch.func.jacrev(f(torch), argnums=-1)(torch.tensor(x), torch.tensor(w))
    got = cr.func.jacfwd(f(cr), argnums=-1)(cr.tensor(x), cr.tensor(w))
    _close(want, got, rtol=1e-10)
    both = cr.func.jacfwd(f(cr), argnums=(-1, 0))(cr.tensor(x), cr.tensor(w))
    _close(want, both[0], rtol=1e-10)


def test_vmap_jacfwd_det_matches_the_loop() -> None:
    """torch 2.13's ``vmap(jacfwd(linalg.det))`` differs from its own per-sample loop (its
    det forward-mode batch rule); chainrule's equals that loop."""
    want = torch.stack([torch.func.jacfwd(torch.linalg.det)(torch.tensor(a)) for a in A])
    got = cr.func.vmap(cr.func.jacfwd(cr.linalg.det))(cr.tensor(A))
    _close(want, got, rtol=1e-9)
