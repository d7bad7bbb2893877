"""``cr.fx.Proxy`` (``torch.fx.Proxy``): the stand-in value a trace passes through the
program. Every operation on a proxy records a node instead of computing: operators record
``call_function`` of the :mod:`operator` function (``x + y`` -> ``operator.add``), method
calls record ``call_method`` (``x.view(-1)``), attribute reads record
``call_function(getattr)`` (``x.shape``), and chainrule functions called with a proxy
(``cr.relu(x)``, ``F.linear(x, w)``) are seen by the tracer's function mode.

What a proxy cannot do is produce a concrete value: ``if x.sum() > 0`` and ``for a in x``
raise :class:`TraceError`, as torch's, since the branch taken would depend on data.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import operator
from collections.abc import Iterator
from typing import Any

from .. import overrides
from ..autograd import torch_function as _tf
from ..ops import subscript_read as _subscript_read
from ._call_site import as_torch_records, records_method
from ._functional_records import functional_records
from .node import Node, map_aggregate

__all__ = [
    "Attribute",
    "GraphAppendingTracer",
    "Proxy",
    "TraceError",
    "TracerBase",
    "refuse_sliced_by_proxy",
]

_PLAIN = (bool, int, float, complex, str, bytes, type(None), type(Ellipsis), range)


class TraceError(ValueError):
    """``torch.fx.proxy.TraceError``: the traced program needs a concrete value
    (data-dependent control flow, iterating a proxy)."""


class TracerBase:
    """What every tracer does: turn arguments into graph arguments (``create_arg``),
    record nodes (``create_node``/``create_proxy``) and refuse what needs data
    (``to_bool``, ``iter``). :class:`~chainrule.fx.Tracer` adds module tracing."""

    graph: Any
    record_stack_traces = False
    # a real tensor sliced by a traced bound is refused, as torch.fx (torch's export, whose
    # sizes are SymInts with __index__, records it: cr.export's tracer sets this False)
    slices_need_index = True

    def create_node(
        self,
        kind: str,
        target: Any,
        args: tuple,
        kwargs: dict,
        name: str | None = None,
        type_expr: Any = None,
    ) -> Node:
        """Insert a node into ``self.graph``."""
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> Proxy:
        """The proxy standing for ``node``'s value."""
        return Proxy(node, self)

    def create_proxy(
        self,
        kind: str,
        target: Any,
        args: tuple,
        kwargs: dict,
        name: str | None = None,
        type_expr: Any = None,
        proxy_factory_fn: Any = None,
    ) -> Proxy:
        """Record ``kind(target, args, kwargs)`` (arguments through ``create_arg``) and
        return its proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a: Any) -> Any:
        """``a`` as a graph argument: proxies become their nodes, containers are walked,
        plain Python values are kept. Other types raise NotImplementedError."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, Node):
            return a
        if isinstance(a, tuple):
            items = [self.create_arg(e) for e in a]
            return type(a)(*items) if hasattr(a, "_fields") else tuple(items)
        if isinstance(a, list):
            return [self.create_arg(e) for e in a]
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                key = self.create_arg(k)
                if isinstance(key, Node):
                    raise RuntimeError(
                        "Keys for dictionaries used as an argument cannot contain a Node. "
                        f"Got key: {k}"
                    )
                out[key] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, _PLAIN) or type(a).__module__.startswith("chainrule"):
            return a  # dtypes, devices, layouts, memory formats, Size
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        """``bool(proxy)`` (an ``if`` on traced data): raises :class:`TraceError`."""
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj: Proxy) -> Iterator[Any]:
        """``iter(proxy)``: unpacking to a fixed number of names (``b, t = x.shape``,
        ``q, k, v = x.split(...)``) records that many ``getitem`` nodes, as torch's; a loop
        over traced data raises :class:`TraceError`."""
        frame = inspect.currentframe()
        for _ in range(2):  # this method, Proxy.__iter__, then the user's frame
            frame = frame.f_back if frame is not None else None
        if frame is not None:
            code, lasti = frame.f_code, frame.f_lasti
            ins = next((i for i in dis.get_instructions(code) if i.offset == lasti), None)
            if ins is not None and ins.opname == "UNPACK_SEQUENCE":
                return (obj[i] for i in range(ins.argval))
        raise TraceError(
            "Proxy object cannot be iterated. This can be attempted when the Proxy is used in a "
            "loop or as a *args or **kwargs function argument. See the torch.fx docs on "
            "pytorch.org for a more detailed explanation of what types of control flow can be "
            "traced, and check out the Proxy docstring for help troubleshooting Proxy iteration "
            "errors"
        )

    def keys(self, obj: Proxy) -> Any:
        """``proxy.keys()`` (for ``**proxy``): recorded as a method call."""
        return Attribute(obj, "keys")()


class GraphAppendingTracer(TracerBase):
    """The tracer of a proxy made directly on a graph node (``Proxy(node)``): records
    into that graph."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph


def refuse_sliced_by_proxy(func: Any, args: tuple, kwargs: dict) -> None:
    """torch's TypeError for a real tensor indexed by a slice with a traced bound
    (``self.mask[:n]``, ``n = x.size(-1)``): torch's ``Tensor.__getitem__`` looks for
    ``__torch_function__`` in the index's tensors, not inside its slices, so Python's slice
    conversion meets the proxy first. A traced index tensor (``buf[idx]``) is recorded."""
    # (the function reaches here wrapped: ``Tensor.__getitem__``'s dispatch wrapper)
    target = _subscript_read.getitem
    if func is not target and getattr(func, "__wrapped__", None) is not target:
        return
    if not args or isinstance(args[0], Proxy):
        return
    index = args[1] if len(args) > 1 else kwargs.get("idx")
    for part in index if isinstance(index, tuple) else (index,):
        if isinstance(part, slice) and any(
            isinstance(b, Proxy) for b in (part.start, part.stop, part.step)
        ):
            raise TypeError("slice indices must be integers or None or have an __index__ method")


class Proxy:
    """A traced value: wraps the :class:`Node` that produces it and the tracer that
    records operations on it (see the module docstring)."""

    def __init__(self, node: Node, tracer: Any = None) -> None:
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node
        _ensure_dispatch(type(self))

    @classmethod
    def __torch_function__(
        cls, orig_method: Any, types: Any, args: tuple = (), kwargs: Any = None
    ) -> Proxy:
        """A chainrule function or Tensor method called with proxies outside a trace (a
        ``Transformer`` override returning ``torch.neg(*args)``, a decomposition run on
        ``Proxy(node)`` values) records a node on the proxies' tracer, as torch's
        ``Proxy.__torch_function__``: ``call_method`` for a Tensor method, else
        ``call_function``."""
        kwargs = kwargs or {}
        tracers: dict[Any, None] = {}

        def find_tracer(a: Any) -> None:
            if isinstance(a, Proxy):
                tracers[a.tracer] = None

        map_aggregate(args, find_tracer)
        map_aggregate(kwargs, find_tracer)
        if len(tracers) > 1:
            raise RuntimeError(
                f"Found multiple different tracers {list(tracers.keys())} while trying to "
                f"trace operations {orig_method}"
            )
        tracer = next(iter(tracers))
        if tracer.slices_need_index:
            refuse_sliced_by_proxy(orig_method, args, kwargs)
        # a Tensor method (torch.Tensor.new_ones(proxy, 2)); chainrule's functions and
        # methods may be one object (cr.split is Tensor.split): the call site tells
        method = records_method(orig_method)
        name = getattr(orig_method, "__name__", "")
        args, kwargs = as_torch_records(name, method, args, kwargs)
        if not method:  # F.softmax(x, -1): softmax(x, dim = -1, _stacklevel = 3, ...)
            args, kwargs = functional_records(orig_method, args, kwargs)
        if method:
            return tracer.create_proxy("call_method", name, args, kwargs)
        return tracer.create_proxy("call_function", orig_method, args, kwargs)

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    def __getattr__(self, k: str) -> Attribute:
        if k.startswith("__") and k.endswith("__"):  # copy/pickle probes: not traced
            raise AttributeError(k)
        return Attribute(self, k)

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        """Calling a traced value records ``call_method('__call__')``."""
        return self.tracer.create_proxy("call_method", "__call__", (self, *args), kwargs)

    def __iter__(self) -> Iterator[Any]:
        return self.tracer.iter(self)

    def __bool__(self) -> bool:
        return self.tracer.to_bool(self)

    def __len__(self) -> int:
        raise RuntimeError(
            "'len' is not supported in symbolic tracing by default. If you want this call to "
            "be recorded, please call chainrule.fx.wrap('len') at module scope"
        )

    def keys(self) -> Any:
        """``**proxy`` in a call: the tracer decides (raises by default)."""
        return self.tracer.keys(self)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.tracer.create_proxy("call_function", operator.setitem, (self, key, value), {})

    def __deepcopy__(self, memo: dict) -> Proxy:
        return self

    # Python's in-place operators on a proxy record the out-of-place function (as torch's
    # tracer: ``x += 1`` is ``add = x + 1``), since the recorded value is a new node.


def _binary(fn: Any) -> Any:
    def method(self: Proxy, other: Any) -> Proxy:
        return self.tracer.create_proxy("call_function", fn, (self, other), {})

    method.__name__ = f"__{fn.__name__.strip('_')}__"
    return method


def _reflected(fn: Any) -> Any:
    def method(self: Proxy, other: Any) -> Proxy:
        return self.tracer.create_proxy("call_function", fn, (other, self), {})

    method.__name__ = f"__r{fn.__name__.strip('_')}__"
    return method


def _unary(fn: Any) -> Any:
    def method(self: Proxy) -> Proxy:
        return self.tracer.create_proxy("call_function", fn, (self,), {})

    method.__name__ = f"__{fn.__name__.strip('_')}__"
    return method


_BINARY_OPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "matmul": operator.matmul,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
}
_COMPARISONS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
for _name, _fn in _BINARY_OPS.items():
    setattr(Proxy, f"__{_name}__", _binary(_fn))
    setattr(Proxy, f"__r{_name}__", _reflected(_fn))
for _name, _fn in _COMPARISONS.items():
    setattr(Proxy, f"__{_name}__", _binary(_fn))
Proxy.__getitem__ = _binary(operator.getitem)  # type: ignore[method-assign]
Proxy.__neg__ = _unary(operator.neg)  # type: ignore[method-assign]
Proxy.__pos__ = _unary(operator.pos)  # type: ignore[method-assign]
Proxy.__invert__ = _unary(operator.invert)  # type: ignore[method-assign]
Proxy.__abs__ = _unary(operator.abs)  # type: ignore[method-assign]
Proxy.__hash__ = object.__hash__  # type: ignore[method-assign]  (__eq__ records, hash by id)


def _ensure_dispatch(cls: type) -> None:
    """Route ``cls`` (Proxy or a subclass) to its ``__torch_function__`` (again after the
    test suite's per-test reset of the protocol), as NestedTensor's first instance does."""
    if cls not in _tf._DISPATCHING or not overrides._installed[0]:
        _tf.register_dispatching_type(cls)
        overrides.install()


class Attribute(Proxy):
    """``proxy.attr``: a call on it records ``call_method`` (``x.view(...)``); used as a
    value it records ``getattr(x, 'attr')`` (created on first use, as torch's, so a method
    lookup that is only called leaves no ``getattr`` node)."""

    def __init__(self, root: Proxy, attr: str) -> None:
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node: Node | None = None
        _ensure_dispatch(Attribute)

    @property
    def node(self) -> Node:  # type: ignore[override]
        """The ``getattr`` node, recorded on first use."""
        if self._node is None:
            self._node = self.tracer.create_proxy(
                "call_function", builtins.getattr, (self.root, self.attr), {}
            ).node
        return self._node

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        """``x.view(...)``: records ``call_method`` of the attribute on its root."""
        return self.tracer.create_proxy("call_method", self.attr, (self.root, *args), kwargs)
