"""The switches ``cr.export``'s tracer adds to ``cr.fx``'s while a trace runs (undone on
exit): ``chainrule.cond`` on traced values refuses clearly, assigning a traced value to a
buffer records a ``copy_`` into it (torch's buffer mutation), and a factory call
(``chainrule.ones(3, 4)``) is recorded even with no traced argument, as torch's export
records ``aten.ones.default`` rather than a constant."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import chainrule

from .. import _higher_order_ops, nn
from ..fx.proxy import Proxy
from ..utils._pytree import tree_flatten

__all__ = ["FACTORIES", "ORIGINAL_COND", "CondGuard", "FactoryCalls", "StateAssignments"]

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


#: the factory functions recorded as calls (torch's export records their aten ops); random
#: draws are left out: their values would differ between the tracer's example runs
FACTORIES = ("ones", "zeros", "full", "empty", "arange", "eye", "linspace", "logspace")


class FactoryCalls:
    """While tracing, ``chainrule.ones(3, 4)`` and the other :data:`FACTORIES`, called
    from the traced code (through the ``chainrule`` module or a name the forward's module
    imported), record a ``call_function`` node whatever their arguments; while a node's
    value is computed, and when chainrule's own code calls them (a layer's internals,
    which record their own nodes), they just run."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer
        self.undo: list[tuple[dict[str, Any], str, Any]] = []

    def __enter__(self) -> None:
        spaces = [vars(chainrule)]
        if self.tracer._fn_globals is not None:
            spaces.append(self.tracer._fn_globals)
        originals = {id(vars(chainrule)[n]): vars(chainrule)[n] for n in FACTORIES}
        for space in spaces:
            for name, value in list(space.items()):
                if id(value) in originals and not name.startswith("__"):
                    self.undo.append((space, name, value))
                    space[name] = self._recorded(value)

    def _recorded(self, original: Callable[..., Any]) -> Callable[..., Any]:
        tracer = self.tracer

        @functools.wraps(original)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if tracer._computing or caller.split(".")[0] == "chainrule":
                return original(*args, **kwargs)  # chainrule's own code: a value, as before
            return tracer.create_proxy("call_function", original, args, kwargs)

        recorded._factory_original = original  # type: ignore[attr-defined] - what nodes call
        return recorded

    def __exit__(self, *exc: Any) -> None:
        for space, name, value in reversed(self.undo):
            space[name] = value
        self.undo.clear()
