"""Session 39 of the ``torch.func`` fuzzer (seeds 3618-3620; the body steps of
:mod:`.bodies_s39` are new): one program per new step under ``vjp`` of ``jvp`` of ``vmap``;
the third-order ``cabs_y`` program that caught a first-order fast path of
``ops/complex_ops.py``'s ``Imag.backward`` (written this session) bypassing a transform's
gradient tensor; torch 2.13's batching-rule bug of the pointwise losses under nested vmaps
(steered around in :mod:`.bodies_s39`, pinned ``xfail``) and the oneMKL failure on an empty
rfft under ``vmap`` of ``vjp`` (accepted by :data:`.programs.EMPTY_LIMITS`)."""

from __future__ import annotations

import warnings

import pytest
import torch

import chainrule as cr

from .bodies_s39 import S39_STEPS
from .programs import Program, check

_LAYERS = (("vjp", False), ("jvp", False), ("vmap", (None, 0), 0, None, "error", 2))


@pytest.mark.parametrize("name", S39_STEPS)
@pytest.mark.parametrize("a", [0, 1, 2])
def test_s39_step_under_vjp_jvp_vmap(name, a):
    body = (("sin", 0), (name, a))
    for dtype in ("float64", "float32"):
        prog = Program(
            s=(3, 2), body=body, layers=_LAYERS, dtype=dtype, out="tensor", aux=False, seed=5 + a
        )
        assert check(prog) == []


@pytest.mark.parametrize("name", S39_STEPS)
def test_s39_step_under_hessian_and_nested_vmap(name):
    hess = Program(
        s=(3,), body=(("tanh", 0), (name, 1)), layers=(("hessian", 0),), dtype="float64",
        out="tensor", aux=False, seed=2,
    )  # fmt: skip
    assert check(hess) == []
    nested = (("vmap", (None, 0), 0, None, "error", 2), ("vmap", (-1, None), 0, None, "error", 1))
    prog = Program(
        s=(2,), body=((name, 3),), layers=nested, dtype="float64", out="tensor", aux=False, seed=0
    )
    assert check(prog) == []


def test_seed_3620_cabs_third_order_through_imag_backward():
    prog = Program(
        s=(1,), body=(("cabs_y", 3),), layers=(("hessian", 0), ("jacrev", (1, 0), True, None)),
        dtype="float64", out="tensor", aux=True, seed=0,
    )  # fmt: skip
    assert check(prog) == []


def test_seed_3620_empty_rfft_under_vmap_of_vjp():
    prog = Program(
        s=(2, 0), body=(("rfft_rt", 2),), layers=(("vmap", 0, 1, None, "error", 2), ("vjp", True)),
        dtype="float64", out="pair", aux=True, seed=0,
    )  # fmt: skip
    assert check(prog) == []


@pytest.mark.xfail(
    strict=True,
    reason="torch 2.13's batching rule of mse_loss/smooth_l1_loss/huber_loss with "
    "reduction='none' drops a dim when input and target are batched by different nested "
    "vmaps (per-sample result () for (1,) operands); chainrule's keeps it (seed 3619; "
    "bodies_s39 gives both operands every level)",
)
def test_pointwise_loss_under_nested_vmaps_keeps_its_shape():
    shapes = []
    for L in (torch, cr):

        def inner(h, y, L=L):
            return L.nn.functional.smooth_l1_loss(h, y, reduction="none")

        x, y = L.ones(1, 1, dtype=L.float64), L.ones(2, 1, dtype=L.float64) * 0.3
        f = L.func.vmap(lambda x, y, L=L: L.func.vmap(inner, in_dims=(-1, None))(x, y), (None, 0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shapes.append(tuple(f(x, y).shape))
    assert shapes[0] == shapes[1] == (2, 1, 1)


def test_seed_3623_empty_cummax_under_jacfwd_of_jacrev():
    # torch: "Batching rule not implemented for aten::cummaxmin_backward. The fallback path
    # does not support vmap over dims of size 0"; chainrule answers (accepted: EMPTY_LIMITS)
    prog = Program(
        s=(0,), body=(("cummax_v", 3),), layers=(("jacfwd", 0, False), ("jacrev", 0, False, None)),
        dtype="float64", out="tensor", aux=False, seed=0,
    )  # fmt: skip
    assert check(prog) == []
