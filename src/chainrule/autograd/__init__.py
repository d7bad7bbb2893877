"""Reverse- and forward-mode automatic differentiation (``cr.autograd``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import engine, functional, graph, view_replay
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .function import Function, Node, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, check_vjp_jvp, gradcheck, gradgradcheck
from .tensor import Tensor, _root_grad
from .variable import Variable

__all__ = [
    "Variable",
    "Function",
    "Node",
    "once_differentiable",
    "grad",
    "backward",
    "gradcheck",
    "gradgradcheck",
    "check_vjp_jvp",
    "GradcheckError",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "is_inference_mode_enabled",
    "functional",
    "graph",
]


def _seq(x: Any) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Tensor) else list(x)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Args:
        outputs: tensor(s) to differentiate.
        inputs: tensor(s) to differentiate with respect to (must require grad).
        grad_outputs: upstream gradient per output (None allowed for single-element outputs).
        retain_graph: keep the graph for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass, for higher-order derivatives.
        allow_unused: return None for inputs the outputs do not depend on (else raise).
    """
    outs = _seq(outputs)
    ins = _seq(inputs)
    gos = _seq(grad_outputs) if grad_outputs is not None else [None] * len(outs)
    if len(gos) != len(outs):
        raise ValueError(f"autograd.grad: got {len(outs)} outputs but {len(gos)} grad_outputs")
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(
                f"autograd.grad: output {i} does not require grad and has no "
                "grad_fn; did the inputs have requires_grad=True?"
            )
    roots = [_root_grad(o, g, "autograd.grad") for o, g in zip(outs, gos)]
    if retain_graph is None:
        retain_graph = create_graph
    res = engine.run_backward(outs, roots, retain_graph, create_graph, ins, allow_unused)
    return tuple(res)


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate gradients of several outputs at once (``torch.autograd.backward``)."""
    outs = _seq(tensors)
    gos = _seq(grad_tensors) if grad_tensors is not None else [None] * len(outs)
    roots = [_root_grad(o, g, "autograd.backward") for o, g in zip(outs, gos)]
    engine.run_backward(
        outs, roots, create_graph if retain_graph is None else retain_graph, create_graph
    )
