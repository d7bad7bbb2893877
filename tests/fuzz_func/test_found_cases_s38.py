"""Session 38 of the ``torch.func`` fuzzer (seeds 3613-3615; the body steps of
:mod:`.bodies_s38` are new): no bug found; the one disagreement (seed 3614: float64 rounding
of third-order values near 1e6, 3e-10 relative, after ``pnorm_bcast`` scaled by the norm of
an unbounded operand) was steered around in the step, and that program is pinned here with
one program per new step under ``vjp`` of ``jvp`` of ``vmap``."""

from __future__ import annotations

import pytest

from .bodies_s38 import S38_STEPS
from .programs import Program, check

_LAYERS = (("vjp", False), ("jvp", False), ("vmap", (None, 0), 0, None, "error", 2))


def test_seed_3614_pnorm_bcast_after_xlogy_and_where():
    body = (("xlogy_y", 3), ("where", 0), ("pnorm_bcast", 0), ("stack", 0))
    prog = Program(
        s=(3, 2), body=body, layers=_LAYERS, dtype="float64", out="tensor", aux=False,
        seed=39095,
    )  # fmt: skip
    assert check(prog) == []


@pytest.mark.parametrize("name", S38_STEPS)
@pytest.mark.parametrize("a", [0, 1])
def test_s38_step_under_vjp_jvp_vmap(name, a):
    body = (("sin", 0), (name, a))
    for dtype in ("float64", "float32"):
        prog = Program(
            s=(3, 2), body=body, layers=_LAYERS, dtype=dtype, out="tensor", aux=False, seed=5 + a
        )
        assert check(prog) == []
