"""Forward mode through the fused loss and normalisation ops: <J v, u> == <v, Jᵀ u>, and the
tangent equals torch.func.jvp."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5))
T = np.array([0, 3, 1, 3])
W = RNG.uniform(0.5, 2.0, 5)


def _jvp_vs_torch(cr_fn, torch_fn, *arrays):
    tangents = [RNG.standard_normal(a.shape) for a in arrays]
    _, tout = cr.func.jvp(
        cr_fn, tuple(cr.tensor(a) for a in arrays), tuple(cr.tensor(t) for t in tangents)
    )
    _, ttout = torch.func.jvp(
        torch_fn, tuple(torch.tensor(a) for a in arrays), tuple(torch.tensor(t) for t in tangents)
    )
    np.testing.assert_allclose(tout.numpy(), ttout.numpy(), rtol=1e-9, atol=1e-12)
    assert cr.autograd.check_vjp_jvp(cr_fn, tuple(cr.tensor(a, requires_grad=True) for a in arrays))


@pytest.mark.parametrize(
    "kw", [{}, {"weight": W}, {"label_smoothing": 0.1}, {"ignore_index": 3, "weight": W}]
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_jvp(kw, reduction):
    ckw = {k: (cr.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    tkw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    _jvp_vs_torch(
        lambda x: F.cross_entropy(x, cr.tensor(T), reduction=reduction, **ckw),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(T), reduction=reduction, **tkw),
        X,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_jvp(reduction):
    _jvp_vs_torch(
        lambda x: F.nll_loss(x, cr.tensor(T), reduction=reduction),
        lambda x: torch.nn.functional.nll_loss(x, torch.tensor(T), reduction=reduction),
        X,
    )


def test_bce_jvp_in_input_and_target():
    p = RNG.uniform(0.1, 0.9, (3, 4))
    y = RNG.uniform(0.0, 1.0, (3, 4))
    _jvp_vs_torch(
        lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"),
        lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction="sum"),
        p,
        y,
    )


def test_normalisation_jvp():
    x = RNG.standard_normal((3, 4, 5))
    _jvp_vs_torch(
        lambda a: F.layer_norm(a, (4, 5)), lambda a: torch.nn.functional.layer_norm(a, (4, 5)), x
    )
    _jvp_vs_torch(
        lambda a: F.group_norm(a.reshape(3, 4, 5, 1), 2),
        lambda a: torch.nn.functional.group_norm(a.reshape(3, 4, 5, 1), 2),
        x,
    )


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_batch_norm_training_jvp_in_input_weight_bias(affine):
    x = RNG.standard_normal((4, 3, 2, 2))
    arrays = [x]
    if affine in ("both", "weight"):
        arrays.append(RNG.uniform(0.5, 1.5, 3))
    if affine in ("both", "bias"):
        arrays.append(RNG.standard_normal(3))

    def split(args):
        w = args[1] if affine in ("both", "weight") else None
        b = args[-1] if affine in ("both", "bias") else None
        return args[0], w, b

    def cr_fn(*args):
        a, w, b = split(args)
        return F.batch_norm(a, None, None, w, b, training=True)

    def torch_fn(*args):
        a, w, b = split(args)
        return torch.nn.functional.batch_norm(a, None, None, w, b, training=True)

    _jvp_vs_torch(cr_fn, torch_fn, *arrays)
