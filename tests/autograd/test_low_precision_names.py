"""bfloat16 (and float16) reductions and losses recorded as PyTorch records them: one node
under PyTorch's name (``VarBackward0``, ``MseLossBackward0``, ...) reading the leaves
directly, with no ``ToCopyBackward0`` casts around it; the node computes in float32 and
rounds once, so values and gradients agree with PyTorch's within the dtype's rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .test_graph_names_torch import describe

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 6)) * 3
B = RNG.standard_normal((4, 6)) * 3
G = RNG.standard_normal((4, 6))

EXPRS = {
    "var": lambda lib, a, b: a.var(),
    "var_dim_keepdim": lambda lib, a, b: a.var(1, keepdim=True),
    "var_correction0": lambda lib, a, b: lib.var(a, 0, correction=0),
    "std": lambda lib, a, b: a.std(),
    "std_dim": lambda lib, a, b: lib.std(a, (0,), keepdim=False),
    "var_mean_var": lambda lib, a, b: lib.var_mean(a)[0],
    "var_mean_mean": lambda lib, a, b: lib.var_mean(a, 1)[1],
    "std_mean_std": lambda lib, a, b: lib.std_mean(a, 1)[0],
    "std_mean_mean": lambda lib, a, b: lib.std_mean(a, unbiased=False)[1],
    "mse_loss": lambda lib, a, b: lib.nn.functional.mse_loss(a, b),
    "mse_loss_sum": lambda lib, a, b: lib.nn.functional.mse_loss(a, b, reduction="sum"),
    "mse_loss_none": lambda lib, a, b: lib.nn.functional.mse_loss(a, b, reduction="none"),
    "mse_loss_broadcast": lambda lib, a, b: lib.nn.functional.mse_loss(a, b[:1].expand(4, 6)),
    "smooth_l1_loss": lambda lib, a, b: lib.nn.functional.smooth_l1_loss(a, b),
    "smooth_l1_loss_beta": lambda lib, a, b: lib.nn.functional.smooth_l1_loss(
        a, b, reduction="sum", beta=2.5
    ),
    "smooth_l1_loss_none": lambda lib, a, b: lib.nn.functional.smooth_l1_loss(
        a, b, reduction="none"
    ),
    "huber_loss": lambda lib, a, b: lib.nn.functional.huber_loss(a, b, delta=2.0),
    "huber_loss_sum": lambda lib, a, b: lib.nn.functional.huber_loss(a, b, reduction="sum"),
    "huber_loss_none": lambda lib, a, b: lib.nn.functional.huber_loss(a, b, reduction="none"),
    "mse_loss_module": lambda lib, a, b: lib.nn.MSELoss()(a, b),
    "huber_loss_module": lambda lib, a, b: lib.nn.HuberLoss(reduction="none")(a, b),
}
DTYPES = ["bfloat16", "float16"]


def _leaves(lib, dtype):
    dt = getattr(lib, dtype)
    a = lib.tensor(A, dtype=dt, requires_grad=True)
    b = lib.tensor(B, dtype=dt, requires_grad=True)
    return a, b


def _run(lib, name, dtype):
    a, b = _leaves(lib, dtype)
    y = EXPRS[name](lib, a, b)
    return a, b, y


def _f32(t):
    return t.detach().float().numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(EXPRS))
def test_graph_names_match_torch(name, dtype):
    *_, t = _run(torch, name, dtype)
    *_, c = _run(cr, name, dtype)
    assert describe(c.grad_fn, 3) == describe(t.grad_fn, 3)
    assert "ToCopyBackward0" not in str(describe(c.grad_fn, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(EXPRS))
def test_values_and_gradients_match_torch(name, dtype):
    """Rounded once from float32: within a few of the dtype's ulps of PyTorch's."""
    ta, tb, t = _run(torch, name, dtype)
    ca, cb, c = _run(cr, name, dtype)
    assert c.dtype == getattr(cr, dtype) and t.dtype == getattr(torch, dtype)
    tol = 2e-2 if dtype == "bfloat16" else 3e-3
    np.testing.assert_allclose(_f32(c), _f32(t), rtol=tol, atol=tol)
    w = G[: t.shape[0], : t.shape[1]] if t.ndim == 2 else G.ravel()[: t.numel()].reshape(t.shape)
    (t * torch.tensor(w, dtype=t.dtype)).sum().backward()
    (c * cr.tensor(w, dtype=c.dtype)).sum().backward()
    for cl, tl in ((ca, ta), (cb, tb)):
        if tl.grad is None:
            assert cl.grad is None
            continue
        assert cl.grad.dtype == cl.dtype
        np.testing.assert_allclose(_f32(cl.grad), _f32(tl.grad), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_bfloat16_two_output_gradients_match_torch(name):
    """Both outputs of var_mean / std_mean reach one node's backward (gv and gm together)."""
    grads = []
    for lib in (cr, torch):
        a = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        v, m = getattr(lib, name)(a, 0, keepdim=True)
        assert (
            v.grad_fn is m.grad_fn
            and v.grad_fn.name() == f"{name.title().replace('_', '')}Backward0"
        )
        lib.autograd.backward((v, m), (lib.ones_like(v) * 3, lib.ones_like(m) * -2))
        grads.append(_f32(a.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-2, atol=2e-2)


def test_bfloat16_loss_with_float32_target_still_promotes():
    """Mixing dtypes keeps PyTorch's promotion (float32 result), unchanged by the one-node
    path, which serves all-bfloat16 arguments only."""
    for lib in (cr, torch):
        a = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        y = lib.nn.functional.mse_loss(a, lib.tensor(B, dtype=lib.float32))
        assert y.dtype == lib.float32


def test_bfloat16_double_backward_runs():
    """create_graph through the bfloat16 nodes: second derivatives as PyTorch's (within
    bfloat16 rounding)."""
    res = []
    for lib in (cr, torch):
        a = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        (g,) = lib.autograd.grad(a.var() + a.std(1).sum(), a, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), a)
        res.append(_f32(h))
    np.testing.assert_allclose(res[0], res[1], rtol=5e-2, atol=5e-2)
