"""Session 41 of the ``torch.func`` fuzzer (seeds 3629-; the body steps of
:mod:`.bodies_s41` are new): one program per new step under ``vjp`` of ``jvp`` of ``vmap``
(float64 and float32, steered as :func:`.bodies.steer` steers drawn bodies), and under
``hessian`` and two nested ``vmap`` layers, on a square running value (the square-only
steps); ``linalg.solve`` under grad of jacfwd, where torch 2.13 is wrong and chainrule gives
the formula's value; ``take_along_dim`` under vmap, a gap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .bodies import steer
from .bodies_s41 import S41_STEPS
from .programs import Program, check, observe

__all__: list[str] = []

_LAYERS = (("vjp", False), ("jvp", False), ("vmap", (None, 0), 0, None, "error", 2))


@pytest.mark.parametrize("name", S41_STEPS)
@pytest.mark.parametrize("a", [0, 1, 2, 3])
def test_s41_step_under_vjp_jvp_vmap(name, a):
    body = steer((("sin", 0), (name, a)), _LAYERS)
    for dtype in ("float64", "float32"):
        prog = Program(
            s=(2, 2), body=body, layers=_LAYERS, dtype=dtype, out="tensor", aux=False, seed=5 + a
        )
        assert check(prog) == []


@pytest.mark.parametrize("name", S41_STEPS)
def test_s41_step_under_hessian_and_nested_vmap(name):
    hess = Program(
        s=(2, 2), body=(("tanh", 0), (name, 1)), layers=(("hessian", 0),), dtype="float64",
        out="tensor", aux=False, seed=2,
    )  # fmt: skip
    assert check(hess) == []
    nested = (("vmap", (None, 0), 0, None, "error", 2), ("vmap", (-1, None), 0, None, "error", 1))
    prog = Program(
        s=(2, 2), body=((name, 3),), layers=nested, dtype="float64", out="tensor", aux=False,
        seed=0,
    )  # fmt: skip
    assert check(prog) == []


@pytest.mark.parametrize("left", [True, False])
def test_grad_of_jacfwd_of_solve_is_the_formulas(left):
    # found (seed 3629 smoke): torch 2.13's grad(jacfwd(solve)) is not its own
    # grad(jacrev(solve)) nor grad(jacfwd) of inv(A) @ x; chainrule's agrees with those
    # (steered around: bodies.steer swaps solve_sq for its formula under such layers)
    x = np.array([[0.3, -0.2], [0.5, 0.1]])

    def second(lib, inner, use_inv):
        def f(h):
            a = lib.eye(2, dtype=h.dtype) * 3.0 + lib.tanh(h) * 0.25
            if use_inv:
                return lib.linalg.inv(a) @ h if left else h @ lib.linalg.inv(a)
            return lib.linalg.solve(a, h, left=left)

        fn = lib.func.grad(lambda h: inner(f)(h).sum())
        return np.array(fn(lib.tensor(x)).tolist())

    want = second(torch, torch.func.jacrev, False)
    np.testing.assert_allclose(second(torch, torch.func.jacfwd, True), want, rtol=1e-10)
    np.testing.assert_allclose(second(cr, cr.func.jacfwd, False), want, rtol=1e-10)
    np.testing.assert_allclose(second(cr, cr.func.jacrev, False), want, rtol=1e-10)
    torch_fwd = second(torch, torch.func.jacfwd, False)
    assert np.abs(torch_fwd - want).max() > 1e-3  # torch's own is off (steered around)


def test_solve_steered_under_a_forward_layer_inside_a_derivative():
    body = steer((("solve_sq", 1),), (("grad", 0, False), ("jacfwd", 0, False)))
    assert body == (("solve_sq_c", 1),)
    prog = Program(
        s=(2, 2), body=body, layers=(("grad", 0, False), ("jacfwd", 0, False)),
        dtype="float64", out="tensor", aux=False, seed=0,
    )  # fmt: skip
    assert check(prog) == []
    plain = Program(
        s=(2, 2), body=(("solve_sq", 1),), layers=(("grad", 0, False), ("jacfwd", 0, False)),
        dtype="float64", out="tensor", aux=False, seed=0,
    )  # fmt: skip
    np.testing.assert_allclose(observe(plain, cr)[1][0], observe(prog, cr)[1][0], rtol=1e-10)


def test_take_along_dim_under_vmap():
    def f(h):
        return cr.take_along_dim(h, cr.argsort(h, dim=-1), dim=-1)

    out = cr.vmap(f)(cr.tensor([[2.0, 1.0], [0.0, 3.0]]))
    assert out.tolist() == [[1.0, 2.0], [0.0, 3.0]]


@pytest.mark.parametrize("a", [0, 1])
def test_polar_steered_at_order_four_is_its_formula(a):
    # torch 2.13's vjp of hessian of grad through polar fails inside torch ("modified by an
    # inplace operation ... output 0 of MaskedFill"); steered to the formula, which agrees
    layers = (("vjp", False), ("hessian", 0), ("gv", 0, False))
    body = steer((("polar_im", a),), layers)
    assert body == (("polar_im_c", a),)
    prog = Program(s=(2,), body=body, layers=layers, dtype="float64", out="tensor", aux=False,
                   seed=0)  # fmt: skip
    assert check(prog) == []
    plain = Program(s=(2,), body=(("polar_im", a),), layers=(("hessian", 0),),
                    dtype="float64", out="tensor", aux=False, seed=0)  # fmt: skip
    formula = Program(s=(2,), body=(("polar_im_c", a),), layers=(("hessian", 0),),
                      dtype="float64", out="tensor", aux=False, seed=0)  # fmt: skip
    assert check(plain) == []
    np.testing.assert_allclose(observe(plain, cr)[1][0], observe(formula, cr)[1][0], rtol=1e-10)
