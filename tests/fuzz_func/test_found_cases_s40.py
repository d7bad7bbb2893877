"""Session 40 of the ``torch.func`` fuzzer (seeds 3624-; the body steps of
:mod:`.bodies_s40` are new): one program per new step under ``vjp`` of ``jvp`` of ``vmap``
(float64 and float32, steered as :func:`.bodies.steer` steers drawn bodies), and under
``hessian`` and two nested ``vmap`` layers; glu under a reverse layer over a forward one,
where torch 2.13 has no derivative and chainrule computes glu's formula's values."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .bodies import steer
from .bodies_s40 import S40_STEPS
from .programs import Program, check, observe

__all__: list[str] = []

_LAYERS = (("vjp", False), ("jvp", False), ("vmap", (None, 0), 0, None, "error", 2))


@pytest.mark.parametrize("name", S40_STEPS)
@pytest.mark.parametrize("a", [0, 1, 2, 3])
def test_s40_step_under_vjp_jvp_vmap(name, a):
    body = steer((("sin", 0), (name, a)), _LAYERS)
    for dtype in ("float64", "float32"):
        prog = Program(
            s=(3, 2), body=body, layers=_LAYERS, dtype=dtype, out="tensor", aux=False, seed=5 + a
        )
        assert check(prog) == []


@pytest.mark.parametrize("name", S40_STEPS)
def test_s40_step_under_hessian_and_nested_vmap(name):
    hess = Program(
        s=(3,), body=(("tanh", 0), (name, 1)), layers=(("hessian", 0),), dtype="float64",
        out="tensor", aux=False, seed=2,
    )  # fmt: skip
    assert check(hess) == []
    nested = (("vmap", (None, 0), 0, None, "error", 2), ("vmap", (-1, None), 0, None, "error", 1))
    prog = Program(
        s=(2, 2), body=((name, 3),), layers=nested, dtype="float64", out="tensor", aux=False,
        seed=0,
    )  # fmt: skip
    assert check(prog) == []


@pytest.mark.parametrize("a", [0, 1])
def test_glu_under_vjp_of_jvp_is_its_formula(a):
    # torch 2.13: "derivative for aten::glu_jvp is not implemented" (steered around)
    def values(name: str) -> list:
        prog = Program(
            s=(3, 2), body=(("sin", 0), (name, a)), layers=_LAYERS, dtype="float64",
            out="tensor", aux=False, seed=5,
        )  # fmt: skip
        return observe(prog, cr)[1]

    got, want = values("glu_y"), values("glu_y_c")
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
