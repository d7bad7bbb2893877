"""Gaps found by the session-24 (batch f) drop-in programs (``revnet_reversible``,
``dann_gradient_reversal``, ``deq_implicit_hooks``, ``kfac_module_hooks``,
``integrated_gradients``), each checked against PyTorch.

- A custom ``autograd.Function`` that stored ``ctx.fn = fn`` in ``forward`` (memcnn's
  ``InvertibleCheckpointFunction``, checkpointing helpers that keep the function to re-run)
  broke its own backward: the ctx is the graph node, and the node kept its Function class in
  the attribute ``fn``, so the engine called ``backward`` on the user's function ("'function'
  object has no attribute 'backward'"). The node now keeps the class as ``_forward_cls``
  (PyTorch's name for it on a custom Function's node), and ``ctx.fn`` is the user's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]


def _recompute_function(m: Any) -> type:
    class Recompute(m.autograd.Function):
        """Runs ``fn`` without a graph, recomputes it with one in backward."""

        @staticmethod
        def forward(ctx: Any, fn: Any, x: Any) -> Any:
            ctx.fn = fn
            ctx.save_for_backward(x)
            with m.no_grad():
                return fn(x)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            with m.enable_grad():
                x = x.detach().requires_grad_()
                out = ctx.fn(x)
            (gx,) = m.autograd.grad(out, x, grad)
            return None, gx

    return Recompute


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_ctx_fn_is_the_users_attribute(m: Any) -> None:
    Recompute = _recompute_function(m)
    x = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = Recompute.apply(lambda t: t.sin() * t, x)
    y.sum().backward()
    xs = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), np.cos(xs) * xs + np.sin(xs), rtol=1e-6)
    # the node still knows its Function class, under PyTorch's name
    assert y.grad_fn._forward_cls is Recompute


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_ctx_fn_survives_create_graph_and_retain(m: Any) -> None:
    Recompute = _recompute_function(m)
    x = m.tensor([0.3, 1.2], dtype=m.float64, requires_grad=True)
    y = Recompute.apply(lambda t: t**3, x)
    (g,) = m.autograd.grad(y.sum(), x, retain_graph=True)
    (g2,) = m.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([0.3, 1.2]) ** 2, rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), g.numpy(), rtol=0)
    assert y.grad_fn.name() == "RecomputeBackward"
