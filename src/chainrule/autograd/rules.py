"""Running one node's backward rule: what the engine calls for each node.

:func:`call_rule` gives a rule the gradients of its node's outputs and returns one gradient
per input. Around the plain call it handles three cases: a holomorphic op that met complex
values (its real-style rule is conjugated into PyTorch's convention), a rule that is only
once differentiable under ``create_graph=True`` (its results are tied to an error node), and
anomaly mode (incoming and outgoing gradients checked for NaN/Inf).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import get_array_module
from ..dtypes import is_floating
from .anomaly import user_frame
from .function import Function, Node
from .state import current
from .tensor import Tensor
from .zero_link import tie_to_saved

__all__ = ["call_rule"]


def call_rule(
    node: Node,
    grads: list,
    create_graph: bool,
    anomaly: bool = False,
    differentiable: bool | None = None,
) -> tuple:
    """Run ``node``'s backward rule on its output gradients; one result per input
    (``anomaly``: check the gradients for NaN/Inf). ``ctx.create_graph`` tells the rule to
    compute with recorded, differentiable ops: under ``create_graph=True`` and also under
    forward mode (``differentiable``: forward-over-reverse needs the tangents of the rule).

    A holomorphic op that met complex tensors has a rule written as for real numbers
    (``g * f'(z)``); ``conj(rule(conj(g)))`` turns it into PyTorch's conjugate convention
    (``g * conj(f'(z))``: the gradient of a real loss with respect to ``z = x + iy`` is
    ``dL/dx + i dL/dy``)."""
    node._create_graph = create_graph if differentiable is None else differentiable
    cls = node._forward_cls
    if node._complex and cls.complex_grad == "holomorphic":
        grads = [None if g is None else _conj(g) for g in grads]
        res = _run_rule(node, grads, create_graph, anomaly)
        return tuple(None if r is None else _conj(r) for r in res)
    if create_graph or anomaly:
        return _run_rule(node, grads, create_graph, anomaly)
    res = cls.backward(node, *grads)  # the common case, without a second call
    if type(res) is not tuple or len(res) != len(node.next_edges):
        res = _as_grad_tuple(res, len(node.next_edges), node)
    if cls._user:
        _check_user_grads(node, res)
    return res


def _check_user_grads(node: Node, res: tuple) -> None:
    """A user Function's backward gives None for every argument of forward that was not a
    Tensor (PyTorch's RuntimeError; a number's "gradient" would otherwise be dropped)."""
    for i in node._non_tensor_args:
        if i < len(res) and res[i] is not None:
            raise RuntimeError(
                f"function {node.name()} returned a gradient different than None at position "
                f"{i + 1}, but the corresponding forward input was not a Variable"
            )


def _run_rule(node: Node, grads: list, create_graph: bool, anomaly: bool) -> tuple:
    n_in = len(node.next_edges)
    if create_graph and not node._forward_cls.differentiable_backward:
        return _call_once_differentiable(node, grads)
    if anomaly:
        return _call_with_anomaly_checks(node, grads)
    res = node._forward_cls.backward(node, *grads)
    if type(res) is not tuple or len(res) != n_in:
        res = _as_grad_tuple(res, n_in, node)
    if node._forward_cls._user:
        _check_user_grads(node, res)
    elif create_graph and node._forward_cls.tie_saved:
        res = tie_to_saved(node, res)  # PyTorch's formula stays tied to what it read
    return res


def _conj(g: Any) -> Any:
    """The complex conjugate of a gradient (recorded under ``create_graph``); real and
    non-Tensor values pass through."""
    if isinstance(g, Tensor):
        return g.conj() if g._data.dtype.kind == "c" else g
    if hasattr(g, "dtype") and g.dtype.kind == "c":
        return g.conj()
    return g


class _DoubleBackwardError(Function):
    """Stand-in node for the outputs of a backward rule that cannot be differentiated."""

    raw = True

    @staticmethod
    def forward(ctx: Node, g: Any, *upstream: Any, name: str, user: bool = False) -> Any:
        ctx.op_name, ctx.user = name, user
        return g

    @staticmethod
    def backward(ctx: Node, grad: Any) -> Any:
        if ctx.user:  # PyTorch's words for a user's @once_differentiable backward
            raise RuntimeError(
                "trying to differentiate twice a function that was marked with "
                f"@once_differentiable ({ctx.op_name})"
            )
        raise RuntimeError(
            f"{ctx.op_name}: double backward (create_graph=True through this op's backward) "
            "is not supported; its backward is only differentiable once"
        )


def _call_once_differentiable(node: Node, grads: list) -> tuple:
    """Run a once-differentiable rule unrecorded; tie its results to an error node, so that
    differentiating them again raises instead of silently giving zero."""
    state = current()
    state.grad_enabled = False
    try:
        res = _as_grad_tuple(node._forward_cls.backward(node, *grads), len(node.next_edges), node)
    finally:
        state.grad_enabled = True
    ups = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
    user = bool(node._forward_cls._user)
    if user and not ups:
        # PyTorch's @once_differentiable ties its results to the error node only when an
        # incoming gradient requires grad; otherwise they are plain tensors (no grad_fn)
        return tuple(None if g is None else _to_tensor(g) for g in res)
    if not user:
        # A built-in rule's gradients depend on the op's saved inputs too: connect them,
        # so differentiating again reaches the error node instead of a silent 0.
        ups += [t for t in node.saved_tensors if isinstance(t, Tensor) and t.requires_grad]
    return tuple(
        None
        if g is None
        else _DoubleBackwardError.apply(_to_tensor(g), *ups, name=node.name(), user=user)
        for g in res
    )


def _call_with_anomaly_checks(node: Node, grads: list) -> tuple:
    """Check the incoming and outgoing gradients for NaN/Inf. Ops run inside the rule are
    checked as the rule's result (named after the node), not one by one as forward ops."""
    _check_finite(node, grads)
    state = current()
    state.anomaly = False
    try:
        res = node._forward_cls.backward(node, *grads)
    finally:
        state.anomaly = True
    res = _as_grad_tuple(res, len(node.next_edges), node)
    _check_finite(node, [_to_tensor(g) for g in res[: len(node.next_edges)]])
    return res


def _check_finite(node: Node, grads: Sequence) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        d = g._data
        if is_floating(d.dtype) and not get_array_module(d).isfinite(d).all():  # bf16 too
            where = user_frame(node._trace) if node._trace else "<unknown>"
            raise RuntimeError(
                f"anomaly detected: {node.name()} returned NaN or Inf in its gradient for input "
                f"{i} (shape {tuple(d.shape)}). The forward op was called at {where}"
            )


def _as_grad_tuple(res: Any, n: int, node: Node) -> tuple:
    if not isinstance(res, tuple):
        res = (res,)
    # Extra trailing Nones are allowed (as in PyTorch); an extra gradient is a bug.
    if len(res) < n or any(g is not None for g in res[n:]):
        raise RuntimeError(
            f"{node.name()}: backward returned an incorrect number of gradients (expected "
            f"{n}, one per positional input of forward, got {len(res)})"
        )
    return res


def _to_tensor(g: Any) -> Any:
    if g is None or isinstance(g, Tensor):
        return g
    return Tensor._make(g, False, None, 0)
