"""The switches ``cr.export``'s tracer adds to ``cr.fx``'s while a trace runs (undone on
exit): ``chainrule.cond`` on traced values refuses clearly, and assigning a traced value
to a buffer records a ``copy_`` into it (torch's buffer mutation)."""

from __future__ import annotations

from typing import Any

from .. import _higher_order_ops, nn
from ..fx.proxy import Proxy
from ..utils._pytree import tree_flatten

__all__ = ["ORIGINAL_COND", "CondGuard", "StateAssignments"]

ORIGINAL_COND = _higher_order_ops.cond


class CondGuard:
    """While tracing, ``chainrule.cond`` with a traced predicate or operand refuses
    clearly (torch exports it as a ``cond`` higher-order op with subgraphs)."""

    def __enter__(self) -> None:
        def cond(pred: Any, true_fn: Any, false_fn: Any, operands: Any = ()) -> Any:
            if any(isinstance(x, Proxy) for x in tree_flatten((pred, operands))[0]):
                raise NotImplementedError(
                    "export: chainrule.cond (torch.cond) on traced values is not supported "
                    "(torch records it as a higher-order op with subgraphs); compute both "
                    "branches and select with chainrule.where"
                )
            return ORIGINAL_COND(pred, true_fn, false_fn, operands)

        _higher_order_ops.cond = cond

    def __exit__(self, *exc: Any) -> None:
        _higher_order_ops.cond = ORIGINAL_COND


_MODULE_SETATTR = nn.Module.__setattr__


class StateAssignments:
    """While tracing, assigning a traced value to a buffer (``self.steps = self.steps + 1``,
    ``self.steps += 1``) records ``buffer.copy_(value)``, as torch's ``copy_`` of the
    buffer; assigning one to a parameter raises NotImplementedError."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def __enter__(self) -> None:
        tracer = self.tracer
        cache: dict[str, Any] = {}

        def setattr_(mod: Any, name: str, value: Any) -> None:
            if isinstance(value, Proxy) and not tracer._computing:
                buffers = mod.__dict__.get("_buffers", {})
                if name in buffers and buffers[name] is not None:
                    target = tracer.getattr(name, buffers[name], cache)
                    tracer.create_proxy("call_method", "copy_", (target, value), {})
                    return
                raise NotImplementedError(
                    f"export: assigning a traced value to {type(mod).__name__}.{name} (not a "
                    "buffer) is not supported"
                )
            _MODULE_SETATTR(mod, name, value)

        nn.Module.__setattr__ = setattr_  # type: ignore[method-assign]

    def __exit__(self, *exc: Any) -> None:
        nn.Module.__setattr__ = _MODULE_SETATTR  # type: ignore[method-assign]
