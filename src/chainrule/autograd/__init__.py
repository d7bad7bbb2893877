"""Reverse- and forward-mode automatic differentiation (``cr.autograd``)."""

from __future__ import annotations

import operator
import warnings
from collections.abc import Sequence
from typing import Any

from .._package_dir import package_dir as _package_dir
from ..backend import get_array_module
from . import engine, forward_ad, functional, graph, profiler, view_replay
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
from .gradient_edge import GradientEdge, resolve_edges
from .misc import (
    _force_original_view_tracking,
    is_multithreading_enabled,
    is_tensor_like,
    is_view_replay_enabled,
    set_multithreading_enabled,
)
from .profiler import kineto_available
from .tensor import Tensor
from .tensor_backward import _root_grad, callers_owned
from .variable import Variable
from .view_base import outside_graph

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
    "kineto_available",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "is_inference_mode_enabled",
    "forward_ad",
    "functional",
    "graph",
    "is_tensor_like",
    "set_multithreading_enabled",
    "is_multithreading_enabled",
    "is_view_replay_enabled",
    "_force_original_view_tracking",
]


def _seq(x: Any) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Tensor) or type(x) is GradientEdge else list(x)


def _grads_for(outs: list, grads: Any) -> list:
    """One upstream gradient per output, as PyTorch pairs them: a missing one raises, extra
    ones past the last output are not used (PyTorch zips the two sequences)."""
    if grads is None:
        return [None] * len(outs)
    gos = _seq(grads)
    if len(gos) < len(outs):
        raise RuntimeError(f"got {len(outs)} tensors and {len(gos)} gradients")
    return gos[: len(outs)]


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Args:
        outputs: tensor(s) to differentiate; a :class:`~.graph.GradientEdge` starts the
            backward at that node output (its ``grad_outputs`` entry is the gradient there).
        inputs: tensor(s) to differentiate with respect to (must require grad); a
            :class:`~.graph.GradientEdge` gives the gradient arriving at that node output,
            even after the tensor itself is gone.
        grad_outputs: upstream gradient per output (None allowed for single-element outputs).
        retain_graph: keep the graph for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass, for higher-order derivatives.
        only_inputs: deprecated in PyTorch and ignored (a FutureWarning when False).
        allow_unused: return None for inputs the outputs do not depend on (else raise);
            defaults to ``materialize_grads``.
        is_grads_batched: the first dimension of every ``grad_outputs`` entry is a batch of
            cotangents; each result gets that batch dimension in front (one vector-Jacobian
            product per row: PyTorch computes them with vmap, chainrule with one backward
            pass per row, so the results are the same).
        materialize_grads: return zeros instead of None for unused inputs.
    """
    if not only_inputs:
        warnings.warn(
            "only_inputs argument is deprecated and is ignored now (defaults to True). To "
            "accumulate gradient for other parts of the graph, please use "
            "torch.autograd.backward.",
            FutureWarning,
            stacklevel=2,
        )
    if outputs is None or inputs is None:  # PyTorch iterates over them: Python's words
        raise TypeError(
            "'NoneType' object is not iterable\nautograd.grad: outputs and inputs must be "
            "tensors or sequences of tensors"
        )
    for flag in (retain_graph, create_graph, allow_unused, materialize_grads):
        if type(flag) is not bool and flag is not None:
            operator.index(flag)  # PyTorch's C++ bools read through __index__: its TypeError
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, but "
            "got: allow_unused=False."
        )
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    outs = _seq(outputs)
    ins = _seq(inputs)
    if not ins:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    gos = _grads_for(outs, grad_outputs)
    outs = resolve_edges(outs, "outputs", gos)[0]
    inputs_in = ins
    ins, edges = resolve_edges(ins, "inputs")
    for i, o in enumerate(outs):
        if not o.requires_grad or (o._view is not None and outside_graph(o)):
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
                f"\nautograd.grad: output {i} does not require grad and has no grad_fn; did "
                "the inputs have requires_grad=True?"
            )
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        res = _batched_grad(outs, ins, gos, retain_graph, create_graph, allow_unused)
    else:
        roots = [_root_grad(o, g, "autograd.grad", i) for i, (o, g) in enumerate(zip(outs, gos))]
        res = engine.run_backward(outs, roots, retain_graph, create_graph, ins, allow_unused)
    if materialize_grads:
        if edges and any(type(t) is GradientEdge and g is None for g, t in zip(res, inputs_in)):
            raise RuntimeError(
                "materialize_grads cannot be used when the given input is a GradientEdge"
            )
        res = [g if g is not None else _zeros_for(t, create_graph) for g, t in zip(res, ins)]
    return tuple(res)


def _zeros_for(t: Tensor, create_graph: bool) -> Tensor:
    """``materialize_grads``' zero gradient for an unused input (requiring grad when the
    backward pass is recorded, as PyTorch's)."""
    z = Tensor._new(get_array_module(t._data).zeros_like(t._data))
    return z.requires_grad_() if create_graph else z


def _batched_grad(
    outs: list, ins: list, gos: list, retain_graph: bool, create_graph: bool, allow_unused: bool
) -> list:
    """``is_grads_batched``: one backward pass per row of the cotangents, results stacked."""
    sizes = set()
    for o, g in zip(outs, gos):
        if not isinstance(g, Tensor) or g.ndim != o.ndim + 1 or tuple(g.shape[1:]) != o.shape:
            got = "None" if g is None else tuple(getattr(g, "shape", ()))
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each "
                "grad_output as the batch dimension. The sizes of the remaining dimensions are "
                f"expected to match the shape of corresponding output, but a mismatch was "
                f"detected: grad_output of shape {got} for an output of shape {tuple(o.shape)}."
            )
        sizes.add(g.shape[0])
    if len(sizes) != 1 or 0 in sizes:
        raise RuntimeError(
            f"autograd.grad(is_grads_batched=True): every grad_output needs the same non-empty "
            f"batch dimension, got sizes {sorted(sizes)}"
        )
    (n,) = sizes
    from ..ops import stack  # in here: the ops are built on autograd (an import cycle)

    rows = []
    for b in range(n):
        roots = [_root_grad(o, g[b], "autograd.grad", i) for i, (o, g) in enumerate(zip(outs, gos))]
        keep = retain_graph or b < n - 1
        rows.append(engine.run_backward(outs, roots, keep, create_graph, ins, allow_unused))
    return [None if col[0] is None else stack(list(col)) for col in zip(*rows)]


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """Accumulate gradients of several outputs at once (``torch.autograd.backward``).

    ``inputs`` restricts accumulation to those tensors' ``.grad``; ``grad_variables`` is
    PyTorch's deprecated name of ``grad_tensors``. ``tensors`` and ``inputs`` may hold
    :class:`~.graph.GradientEdge` entries, as in :func:`grad` (an edge of a non-leaf among
    ``inputs`` has no ``.grad`` to fill: as in PyTorch, nothing is written for it).
    """
    if grad_variables is not None:
        if grad_tensors is not None:
            raise RuntimeError(
                "You cannot specify both grad_variables and grad_tensors; grad_variables is "
                "deprecated, use grad_tensors"
            )
        warnings.warn(
            "'grad_variables' is deprecated. Use 'grad_tensors' instead.",
            FutureWarning,
            stacklevel=2,
        )
        grad_tensors = grad_variables
    outs = _seq(tensors)
    gos = _grads_for(outs, grad_tensors)
    outs = resolve_edges(outs, "outputs", gos)[0]
    roots = [_root_grad(o, g, "autograd.backward", i) for i, (o, g) in enumerate(zip(outs, gos))]
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        engine.run_backward(outs, roots, retain, create_graph)
        return
    targets = resolve_edges(_seq(inputs), "inputs")[0]
    if not targets:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    grads = engine.run_backward(outs, roots, retain, create_graph, targets, allow_unused=True)
    owned = engine.OwnedArrays()  # one for the inputs: what their .grad took
    owned.roots = roots
    for t, g in zip(targets, grads):
        if g is not None:  # the caller's own gradient is copied, as PyTorch (version 1)
            engine.accumulate_grad(t, g, create_graph, callers_owned(g, roots, owned))


# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(
    globals(), ("function", "grad_mode", "profiler", "variable"), public_only=True
)
