"""What an export trace answers when the traced code asks about a proxy: its shape, sizes
and dtype (``x.shape``, ``x.size(d)``, ``x.dim()``), and ``bool``/``int``/``float``/``iter``
of a number computed from sizes.

A mixin of :class:`~chainrule.export._trace.ExportTracer`, kept apart from the recording
(``_trace.py``) because it is its own concern: static sizes answer with plain numbers,
dynamic ones with proxies of ``x.size(d)``; a question on dynamic sizes is answered when
both traces (the example inputs and their resized copies) agree over the symbol's whole
range, else it is torch's :class:`~chainrule.export._errors.UserError` with its suggested
``Dim`` range; a question on tensor data is
:class:`~chainrule.export._errors.GuardOnDataDependentSymNode`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ..autograd.tensor import Tensor
from ..fx.node import Node, _qualified_name, map_arg
from ..fx.proxy import Proxy, TraceError
from ._errors import GuardOnDataDependentSymNode, UserError, user_frame, with_suffix
from .dynamic_shapes import Symbol

__all__ = ["META_METHODS", "ShapeQuestions"]

# tensor methods answered from the example value (the recorder calls them too)
META_METHODS = frozenset(
    {"dim", "ndimension", "is_floating_point", "is_complex", "element_size", "get_device"}
)
_FAR = 2**40  # the size an unbounded dynamic range is tried at


def _target(node: Node) -> str:
    """How errors name what a node calls (``operator.add``, ``view``)."""
    return node.target if isinstance(node.target, str) else _qualified_name(node.target)


class ShapeQuestions:
    """Answers to questions on proxies, for ``ExportTracer`` (a mixin before ``Tracer``: its
    ``super().create_proxy`` is ``Tracer``'s). Reads the tracer's ``symbols`` and ``two``."""

    symbols: list[Symbol]
    two: bool

    def _dynamic_dims(self, proxy: Proxy) -> list[bool]:
        val, val2 = proxy.node.meta["val"], proxy.node.meta.get("val2")
        if val2 is None:
            return [False] * val.dim()
        return [int(a) != int(b) for a, b in zip(val.shape, val2.shape, strict=True)]

    def _tensor_val(self, proxy: Proxy, what: str) -> Tensor:
        val = proxy.node.meta.get("val")
        if not isinstance(val, Tensor):
            raise TraceError(
                f"export: {what} of {proxy.node.name}, which is a {type(val).__name__}, "
                "not a tensor"
            )
        return val

    def meta_attr(self, proxy: Proxy, attr: str) -> Any:
        """``x.shape`` / ``x.ndim`` / ``x.dtype``...: from the example value; dynamic sizes
        of ``x.shape`` are proxies of ``x.size(d)``."""
        val = self._tensor_val(proxy, attr)
        if attr != "shape":
            return getattr(val, attr)
        dyn = self._dynamic_dims(proxy)
        if not any(dyn):
            return val.shape
        return tuple(
            self._record_size(proxy, d) if dyn[d] else int(s) for d, s in enumerate(val.shape)
        )

    def _record_size(self, proxy: Proxy, d: int) -> Proxy:
        return super().create_proxy("call_method", "size", (proxy, d), {})

    def _size_query(self, target: str, args: tuple, kwargs: dict) -> Any:
        proxy, rest = args[0], args[1:]
        val = self._tensor_val(proxy, f"{target}()")
        if target in META_METHODS:
            return getattr(val, target)(*rest, **kwargs)
        dyn = self._dynamic_dims(proxy)
        if target == "size":
            dim = rest[0] if rest else kwargs.get("dim")
            if dim is None:
                return self.meta_attr(proxy, "shape")
            d = dim + val.dim() if isinstance(dim, int) and dim < 0 else dim
            return self._record_size(proxy, d) if dyn[d] else int(val.shape[d])
        if any(dyn):
            return super().create_proxy("call_method", target, args, kwargs)
        return val.numel()

    # ------------------------------------------------------------ questions on proxies
    def _specialized(self, node: Node, err: Exception, fix: str | None = None) -> UserError:
        labels = ", ".join(s.label for s in self.symbols if s.alt is not None)
        fixes = f"\nSuggested fixes:\n  {fix}" if fix else ""
        return UserError(
            with_suffix(
                f'Constraints violated ({labels})! For more information, run with TORCH_LOGS="'
                f'+dynamic".\n  - Not all values of {labels} in the specified range are '
                f"supported: {node.op} {_target(node)} (node {node.name}) specializes them "
                f"({type(err).__name__}: {err}){fixes}\nThe following call raised this error:\n"
                f"{user_frame()}"
            )
        )

    def _suggested_range(self, node: Node, sym: Symbol, conv: Any, end: int) -> str | None:
        """torch's suggested fix (``t = Dim('t', max=12)``): the last size from the example
        towards ``end`` with the example's answer (found by bisection)."""
        if sym.dim_name is None:
            return None
        want = conv(self._at(node, sym, sym.hint, {}))
        good, bad = sym.hint, end
        while abs(bad - good) > 1:
            mid = (good + bad) // 2
            if conv(self._at(node, sym, mid, {})) == want:
                good = mid
            else:
                bad = mid
        lo = good if end < sym.hint else sym.lo
        hi = good if end > sym.hint else sym.hi
        parts = [repr(sym.dim_name)]
        if lo != 0:
            parts.append(f"min={lo}")
        if hi != math.inf:
            parts.append(f"max={hi}")
        return f"{sym.dim_name} = Dim({', '.join(parts)})"

    def _data_dependent(self, proxy: Proxy) -> GuardOnDataDependentSymNode:
        return GuardOnDataDependentSymNode(
            with_suffix(
                f"Could not guard on data-dependent expression {proxy.node.name} (a value "
                "computed from tensor data). Python control flow on tensor values cannot "
                "be exported: use chainrule.where to select between computed values.\n"
                f"The following call raised this error:\n{user_frame()}"
            )
        )

    def _agreed(self, proxy: Proxy, conv: Any) -> Any:
        val, val2 = proxy.node.meta.get("val"), proxy.node.meta.get("val2", None)
        if not proxy.node.meta.get("sym") or not self.two:
            raise self._data_dependent(proxy)  # computed from data, not from sizes
        a, b = conv(val), conv(val2)
        if a != b:
            raise self._specialized(
                proxy.node, ValueError(f"{a!r} for one size, {b!r} for another")
            )
        moving = [s for s in self.symbols if s.alt is not None]
        if len(moving) == 1:  # the answer must hold over the whole range, as torch checks
            sym = moving[0]
            # an unbounded named range is tried far out (torch's range analysis refuses
            # `if t > 12` for t in [2, oo]); Dim.AUTO sizes are not (the trace retries them
            # as static)
            far = _FAR if sym.strict else math.inf
            for end in (max(sym.lo, 2), far if sym.hi == math.inf else sym.hi):
                if end != math.inf and conv(self._at(proxy.node, sym, int(end), {})) != a:
                    raise self._specialized(
                        proxy.node,
                        ValueError(
                            f"the condition is {a!r} for {sym.label} = {sym.hint} but not for "
                            f"{sym.label} = {int(end)}; narrow the range of {sym.label}"
                        ),
                        self._suggested_range(proxy.node, sym, conv, int(end)),
                    )
        return a

    def _at(self, node: Node, sym: Symbol, value: int, memo: dict[Node, Any]) -> Any:
        """What size-derived ``node`` evaluates to when ``sym`` is ``value`` (sizes follow
        the symbol linearly, as the two traces show)."""
        if node not in memo:
            if node.op == "call_method" and node.target in ("size", "numel", "nelement"):
                a, b = int(node.meta["val"]), int(node.meta["val2"])
                memo[node] = a + (b - a) * (value - sym.hint) // (sym.alt - sym.hint)
            else:
                args = map_arg(node.args, lambda n: self._at(n, sym, value, memo))
                kwargs = map_arg(node.kwargs, lambda n: self._at(n, sym, value, memo))
                if node.op == "call_method":
                    memo[node] = getattr(args[0], node.target)(*args[1:], **kwargs)
                else:
                    memo[node] = node.target(*args, **kwargs)
        return memo[node]

    def to_bool(self, obj: Proxy) -> bool:
        """``bool(proxy)``: see the module docstring."""
        return self._agreed(obj, bool)

    def concrete_int(self, obj: Proxy) -> int:
        """``int(proxy)`` / ``operator.index``: as :meth:`to_bool`."""
        return self._agreed(obj, int)

    def concrete(self, obj: Proxy, conv: Any) -> Any:
        """``conv(proxy)`` (``float``): as :meth:`to_bool`."""
        return self._agreed(obj, conv)

    def iter(self, obj: Proxy) -> Iterator[Any]:
        """Iterating a tensor with a static first size, or a tuple result, unrolls into
        ``getitem`` nodes."""
        val = obj.node.meta.get("val")
        if isinstance(val, Tensor):
            if val.dim() == 0:
                raise TypeError("iteration over a 0-d tensor")
            n = int(self.meta_attr(obj, "shape")[0]) if not self._dynamic_dims(obj)[0] else None
            if n is None:
                raise self._specialized(obj.node, ValueError("iterating over a dynamic size"))
            return (obj[i] for i in range(n))
        if isinstance(val, (tuple, list)):
            return (obj[i] for i in range(len(val)))
        raise self._data_dependent(obj)
