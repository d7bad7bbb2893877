"""Session 43 of the ``torch.func`` fuzzer (seeds 3636-; the body steps of
:mod:`.bodies_s43` are new): one program per new step under ``vjp`` of ``jvp`` of ``vmap``
(float64 and float32, steered as :func:`.bodies.steer` steers drawn bodies), under
``hessian`` and under two nested ``vmap`` layers; then the differences found."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .bodies import steer
from .bodies_s43 import S43_STEPS
from .programs import Program, check, observe

__all__: list[str] = []

_LAYERS = (("vjp", False), ("jvp", False), ("vmap", (None, 0), 0, None, "error", 2))


@pytest.mark.parametrize("name", S43_STEPS)
@pytest.mark.parametrize("a", [0, 1, 2, 3])
def test_s43_step_under_vjp_jvp_vmap(name, a):
    body = steer((("sin", 0), (name, a)), _LAYERS)
    for dtype in ("float64", "float32"):
        prog = Program(
            s=(2, 3), body=body, layers=_LAYERS, dtype=dtype, out="tensor", aux=False, seed=5 + a
        )
        assert check(prog) == []


@pytest.mark.parametrize("name", S43_STEPS)
def test_s43_step_under_hessian_and_nested_vmap(name):
    hess = Program(
        s=(2, 3), body=(("tanh", 0), (name, 1)), layers=(("hessian", 0),), dtype="float64",
        out="tensor", aux=False, seed=2,
    )  # fmt: skip
    assert check(hess) == []
    nested = (("vmap", (None, 0), 0, None, "error", 2), ("vmap", (-1, None), 0, None, "error", 1))
    prog = Program(
        s=(2, 3), body=((name, 3),), layers=nested, dtype="float64", out="tensor", aux=False,
        seed=0,
    )  # fmt: skip
    assert check(prog) == []


def _rounded_ops(lib):
    return {
        "fmod": lib.fmod,
        "remainder": lib.remainder,
        "floor_divide": lib.floor_divide,
        "trunc": lambda a, b: lib.div(a, b, rounding_mode="trunc"),
    }


@pytest.mark.parametrize("op", ["fmod", "remainder", "floor_divide", "trunc"])
def test_rounded_division_under_vmap(op):
    # found by fmod_y (seed check of the new step): fmod/remainder/floor_divide of a batched
    # tensor that needs no gradient converted vmap's per-sample array to a NumPy array
    # (chainrule raised RuntimeError, torch maps them); -0 results and integers included
    seen = []
    for lib in (torch, cr):
        f = _rounded_ops(lib)[op]
        x = lib.tensor([[-2.0, 2.0, -3.0], [4.0, -1.5, 0.0]], dtype=lib.float64)
        y = lib.tensor([1.0, -1.0, 1.5], dtype=lib.float64)
        xi, yi = lib.tensor([[-7, 7, 5], [3, -2, 0]]), lib.tensor([2, -3, 4])
        outs = [
            lib.func.vmap(f, (0, None))(x, y),
            lib.func.vmap(f, (0, None))(xi, yi),
            lib.func.vmap(f, (None, 0))(y, x + 5),
            lib.func.vmap(lambda a, f=f: f(a, 2.5))(x),
        ]
        seen.append([(o.tolist(), str(o.dtype)) for o in outs])
        with pytest.raises(RuntimeError):  # integer division by zero, in every sample's op
            lib.func.vmap(f, (0, None))(xi, yi * 0)
    assert seen[1] == seen[0]


@pytest.mark.parametrize("op", ["fmod", "remainder"])
def test_rounded_remainder_tangent_of_a_batched_dividend(op):
    # the same step under jvp: a batched dividend's tangent lives on its physical tensor, so
    # the op took the no-gradient path and the tangent came out 0 (torch: 1)
    seen = []
    for lib in (torch, cr):
        f = _rounded_ops(lib)[op]
        x = lib.tensor([[0.5, -1.2, 2.0], [1.0, 3.0, -0.3]], dtype=lib.float64)
        y = lib.tensor([0.7, -0.4, 1.5], dtype=lib.float64)

        def g(u, f=f, y=y):
            return f(u, y.abs() + 0.75)

        def tangent(a, g=g, lib=lib):
            return lib.func.jvp(g, (a,), (lib.ones_like(a) * 2,))[1]

        outs = [
            lib.func.vmap(tangent)(x),
            lib.func.jvp(lib.func.vmap(g), (x,), (lib.ones_like(x),))[1],
            lib.func.vjp(lib.func.vmap(g), x)[1](lib.ones_like(x) * 3)[0],
            lib.func.vmap(lib.func.grad(lambda a, f=f, y=y: f(y + 2, a).sum()))(x + 1),
        ]
        seen.append([o.tolist() for o in outs])
    assert seen[1] == seen[0]


@pytest.mark.parametrize("a", [0, 1, 2, 3])
def test_normalize_under_a_third_order_composition(a):
    # found (seed 3636): F.normalize under vjp of jvp of grad raises inside torch 2.13 (an
    # in-place RuntimeError, "output 0 of MaskedFill", as vector_norm's); steered to its
    # formula there, which torch runs; chainrule runs normalize itself and gives the
    # formula's values
    layers = (("vjp", False), ("jvp", False), ("grad", 0, True))
    prog = Program(s=(2,), body=(("normalize", a),), layers=layers, aux=True, seed=a)
    steered = Program(s=(2,), body=steer(prog.body, layers), layers=layers, aux=True, seed=a)
    assert steered.body == (("normalize_c", a),)
    assert check(steered) == []
    direct, formula = observe(prog, cr), observe(steered, torch)
    assert not isinstance(direct, Exception)
    for got, want in zip(direct[1], formula[1]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", ["fmod", "gt", "floor_divide"])
def test_detach_of_a_raw_per_sample_result_under_vmap(op):
    # found (seed 3638: fmod_y then take_sorted): a result computed on vmap's per-sample
    # array outside Function.apply (fmod without a gradient, a comparison) could not be
    # detached (detach takes array.view(), which the per-sample array refused)
    seen = []
    for lib in (torch, cr):
        f = {
            "fmod": lambda a, lib=lib: lib.fmod(a, 0.7),
            "gt": lambda a: (a > 0).double(),
            "floor_divide": lambda a, lib=lib: lib.floor_divide(a, 0.7),
        }[op]
        x = lib.tensor([[0.5, -1.2, 2.0], [1.0, 3.0, -0.3]], dtype=lib.float64)

        def take_sorted(t, lib=lib):
            return lib.gather(t, 0, lib.argsort(t.detach(), dim=0, stable=True)) * 1.5

        outs = [
            lib.func.vmap(lambda a, f=f: f(a).detach() * 2)(x),
            lib.func.vmap(lambda a, f=f, g=take_sorted: g(f(a)))(x),
            lib.func.vmap(lambda a, f=f: (f(a) > 0.25).detach())(x),
        ]
        seen.append([o.tolist() for o in outs])
    assert seen[1] == seen[0]


@pytest.mark.parametrize("a", [0, 1])
def test_copysign_under_vjp_of_hessian_is_steered(a):
    # found (seed 3638): copysign under vjp of hessian raises inside torch 2.13 (the
    # in-place RuntimeError "output 0 of MaskedFill"); steered to |h| * (+-1), which it is
    layers = (("vjp", False), ("hessian", -1))
    body = steer((("copysign_y", a),), layers)
    assert body == (("copysign_y_c", a),)
    assert check(Program(s=(1,), body=body, layers=layers, seed=a)) == []
    direct = observe(Program(s=(1,), body=(("copysign_y", a),), layers=layers, seed=a), cr)
    formula = observe(Program(s=(1,), body=body, layers=layers, seed=a), torch)
    for got, want in zip(direct[1], formula[1]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
