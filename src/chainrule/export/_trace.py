"""The tracer behind ``cr.export.export``: ``cr.fx``'s :class:`~chainrule.fx.Tracer` run with
real values beside the proxies, as torch's non-strict export runs with fake tensors.

Every recorded node gets ``meta["val"]``, its value on the example inputs (and, when some
dimensions are dynamic, ``meta["val2"]``, its value on inputs resized to each symbol's
``alt``). That is what lets a traced program ask questions about shapes:

- ``x.shape``, ``x.size()``, ``x.dim()``, ``len(x)``, ``x.dtype``... answer with plain
  numbers for static sizes (the code specializes on them, as torch's) and with proxies of
  ``x.size(d)`` for dynamic ones, so ``x.view(x.size(0), -1)`` stays dynamic;
- ``bool()`` of a size computed from dynamic sizes is answered when both traces agree, and
  is a :class:`~chainrule.export._errors.UserError` (the code specializes a dynamic size)
  when they do not;
- ``bool()``/``int()`` of a value computed from tensor data raises
  :class:`~chainrule.export._errors.GuardOnDataDependentSymNode`, as torch's.

Every module is traced through (export's graph holds functions, not ``call_module`` nodes);
tensors that are not parameters, buffers or module attributes become ``lifted_tensor_<n>``
constants, kept by the tracer instead of being set on the module.

The answers to questions on proxies (shapes, sizes, ``bool``/``int`` of sizes) are the
mixin :class:`~chainrule.export._trace_questions.ShapeQuestions`; this file records.
"""

from __future__ import annotations

import inspect
from typing import Any

from .. import nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..fx.graph import Graph
from ..fx.node import Node, map_arg
from ..fx.proxy import Proxy
from ..fx.tracer import Tracer, _has_proxy
from ..nn.parameter import Parameter
from ..utils._pytree import tree_flatten
from ._errors import user_frame
from ._module_stack import ModuleStack, keep_signature
from ._patches import ORIGINAL_COND, CondGuard, FactoryCalls, StateAssignments
from ._recurrent import record_recurrent
from ._trace_questions import META_METHODS, ShapeQuestions
from .dynamic_shapes import Symbol

__all__ = ["OPAQUE_LAYERS", "ExportTracer", "lookup"]

# tensor attributes answered from the example value (the methods: META_METHODS)
_META_ATTRS = frozenset(
    {"dtype", "device", "layout", "is_cuda", "is_sparse", "is_quantized", "is_meta", "is_nested"}
)


OPAQUE_LAYERS = (
    nn.RNNBase,
    nn.RNNCellBase,
    nn.MultiheadAttention,
    nn.Transformer,
    nn.TransformerEncoder,
    nn.TransformerDecoder,
    nn.TransformerEncoderLayer,
    nn.TransformerDecoderLayer,
)
_MODULE_GETATTR = nn.Module.__getattr__  # the unpatched lookup of parameters and buffers


def lookup(root: Any, target: str) -> Any:
    """``root.<target>`` without going through the trace's patched ``Module.__getattr__``."""
    value = root
    for atom in target.split("."):
        try:
            value = object.__getattribute__(value, atom)
        except AttributeError:
            value = _MODULE_GETATTR(value, atom)
    return value


def _size_derived(node: Node) -> bool:
    """Whether ``node`` is a number computed from dynamic sizes only (``x.size(0)``,
    ``x.size(0) * 2 > 4``), not from tensor data (``x.sum().item()``)."""
    if node.op == "call_method" and node.target in ("size", "numel", "nelement"):
        return True
    if isinstance(node.meta["val"], Tensor):
        return False
    inputs = node.all_input_nodes
    return bool(inputs) and all(n.meta.get("sym") for n in inputs)


class _ExportProxy(Proxy):
    """A proxy whose shape, dtype and device are known (see the module docstring)."""

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """``Tensor`` for a tensor value, so that ``isinstance(x, Tensor)`` holds in the
        traced code as for torch's fake tensors (``type(x)`` stays the proxy's class)."""
        node = vars(self).get("node")
        return (
            Tensor if node is not None and isinstance(node.meta.get("val"), Tensor) else type(self)
        )

    def __getattr__(self, k: str) -> Any:
        if k in ("shape", "ndim") or k in _META_ATTRS:
            return self.tracer.meta_attr(self, k)
        return super().__getattr__(k)

    def __len__(self) -> int:
        size = self.tracer.meta_attr(self, "shape")
        if not size:
            raise TypeError("len() of a 0-d tensor")
        return self.tracer.concrete_int(size[0]) if isinstance(size[0], Proxy) else size[0]

    def __int__(self) -> int:
        return self.tracer.concrete_int(self)

    __index__ = __int__

    def __float__(self) -> float:
        return self.tracer.concrete(self, float)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"export: converting the traced value {self.node.name} to a NumPy array is not "
            f"supported (the code needs its data, which export does not have):\n{user_frame()}"
        )


class ExportTracer(ShapeQuestions, Tracer):
    """Records a module for ``export`` (see the module docstring).

    Args:
        symbols: the dynamic sizes of the inputs; their ``alt`` sizes drive the second trace.
    """

    slices_need_index = False  # torch's export slices by SymInts (they have __index__)

    def __init__(self, symbols: list[Symbol], preserved: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.symbols = symbols
        self.preserved = frozenset(preserved)
        # call name (``sub``, ``sub@1``) -> the flat inputs, their spec, the flat outputs
        # and theirs, of each call of a module named in preserve_module_call_signature
        self.signatures: dict[str, tuple[list[Any], Any, list[Any], Any]] = {}
        self.two = any(s.alt is not None for s in symbols)
        self.constants: dict[str, Tensor] = {}
        self._attr_cache: dict[tuple[str, str], Any] = {}
        self._computing = False
        self.module_stack = ModuleStack()

    # ------------------------------------------------------------ what is recorded
    def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
        """Export records the functions modules call; only chainrule's recurrent,
        attention and transformer layers (whose code works on real tensors) are one
        ``call_module`` node."""
        return isinstance(m, OPAQUE_LAYERS)

    def call_module(self, m: Any, forward: Any, args: tuple, kwargs: dict) -> Any:
        """As :meth:`Tracer.call_module`; a call on real values (computing a node's value,
        or code that never sees the inputs) just runs."""
        if self._computing or not _has_proxy((args, kwargs)):
            return forward(*args, **kwargs)
        path = self.path_of_module(m)
        n = self.module_stack.calls(path)
        with self.module_stack.entered(path, m):
            out = self._call_module(m, forward, args, kwargs)
        if path in self.preserved:
            keep_signature(self.signatures, path, n, (args, kwargs), out)
        return out

    def _call_module(self, m: Any, forward: Any, args: tuple, kwargs: dict) -> Any:
        if isinstance(m, nn.RNNBase):
            out = record_recurrent(self, m, args, kwargs)
            if out is not None:
                return out
            if m is self.root:  # the layer exported by itself: no module to hold the call
                raise NotImplementedError(
                    f"export: a bare {type(m).__name__} is exported for batched (3-D) input "
                    "only; for unbatched or packed input, export a module that holds it"
                )
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        """As :meth:`Tracer.getattr` (buffers become ``get_attr`` proxies too), except
        while a node's value is computed."""
        if self._computing:
            return attr_val
        if isinstance(attr_val, Tensor) and not isinstance(attr_val, Parameter):
            for name, b in self.root.named_buffers():  # buffers too, so updates are recorded
                if attr_val is b:
                    if name not in parameter_proxy_cache:
                        parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {})
                    return parameter_proxy_cache[name]
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def proxy(self, node: Node) -> Proxy:
        """An :class:`_ExportProxy` for ``node``."""
        return _ExportProxy(node, self)

    def create_arg(self, a: Any) -> Any:
        """Tensors as ``get_attr`` nodes: parameters and buffers by name, module tensor
        attributes by path, any other tensor as a ``lifted_tensor_<n>`` constant."""
        if isinstance(a, Tensor) and not isinstance(a, Proxy):
            for name, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", name, (), {})
            for name, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", name, (), {})
            path = self.tensor_attrs.get(id(a))
            if path is None:
                path = f"lifted_tensor_{len(self.constants)}"
                self.tensor_attrs[id(a)] = path
                self.constants[path] = a
            return self.create_node("get_attr", path, (), {})
        return super().create_arg(a)

    def create_proxy(
        self,
        kind: str,
        target: Any,
        args: tuple,
        kwargs: dict,
        name: str | None = None,
        type_expr: Any = None,
        proxy_factory_fn: Any = None,
    ) -> Any:
        """As :meth:`Tracer.create_proxy`; size queries (``x.size()``, ``x.numel()``,
        ``x.dim()``) on static sizes answer with numbers instead of recording. A call
        writing into a traced ``out=`` tensor makes that tensor's later uses read the
        call's result (torch's export records the ``.out`` op and uses its result)."""
        target = getattr(target, "_factory_original", target)  # (read while FactoryCalls runs)
        if kind == "call_method" and args and isinstance(args[0], Proxy):
            if target in ("size", "numel", "nelement") or target in META_METHODS:
                return self._size_query(target, args, kwargs)
        if kind == "call_function" and target is ORIGINAL_COND:
            raise NotImplementedError(
                "export: chainrule.cond (torch.cond) on traced values is not supported; "
                "compute both branches and select with chainrule.where"
            )
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        out = proxy.node.kwargs.get("out") if isinstance(proxy, Proxy) else None
        if kind == "call_function" and isinstance(out, Node):
            for held in tree_flatten((args, kwargs))[0]:
                if isinstance(held, Proxy) and held.node is out:
                    held.node = proxy.node
        return proxy

    def create_node(
        self,
        kind: str,
        target: Any,
        args: tuple,
        kwargs: dict,
        name: str | None = None,
        type_expr: Any = None,
    ) -> Node:
        """Record the node, then compute its value(s) on the example inputs."""
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        if kind not in ("placeholder", "output"):
            node.meta["nn_module_stack"] = self.module_stack.snapshot()
            node.meta["val"] = self._run(node, "val")
            node.meta["sym"] = _size_derived(node)
            if self.two:
                try:
                    node.meta["val2"] = self._run(node, "val2")
                except Exception as e:  # noqa: BLE001 - any failure means a baked-in size
                    raise self._specialized(node, e) from e
        return node

    # ------------------------------------------------------------ values
    def _attr_value(self, target: str, which: str) -> Any:
        key = (target, which)
        if key not in self._attr_cache:
            if target in self.constants:
                value = self.constants[target]
            else:
                value = lookup(self.root, target)
            if isinstance(value, Tensor):
                value = value.detach().clone()  # in-place updates (running stats) hit copies
            self._attr_cache[key] = value
        return self._attr_cache[key]

    def _run(self, node: Node, which: str) -> Any:
        if node.op == "get_attr":
            return self._attr_value(node.target, which)
        args = map_arg(node.args, lambda n: n.meta[which])
        kwargs = map_arg(node.kwargs, lambda n: n.meta[which])
        if node.op == "call_module":
            self._computing = True
            try:
                with no_grad():
                    return lookup(self.root, node.target)(*args, **kwargs)
            finally:
                self._computing = False
        with no_grad():
            if node.op == "call_function":
                return node.target(*args, **kwargs)
            if node.op == "call_method":
                return getattr(args[0], node.target)(*args[1:], **kwargs)
        raise NotImplementedError(f"export: cannot run a {node.op} node ({node.target})")

    # ------------------------------------------------------------ tracing
    def trace_export(
        self, root: nn.Module, names: list[str], values: list[Any], call: Any, alts: list[Any]
    ) -> tuple[Graph, Any]:
        """Trace ``call(root, inputs)`` with one placeholder per input (``names``,
        example ``values`` and their resized copies ``alts``); returns the graph (a flat
        output tuple) and the output's tree spec."""
        self.root = root
        self.graph = Graph(tracer_cls=type(self))
        self.submodule_paths = {}
        for name, m in root.named_modules():
            self.submodule_paths.setdefault(id(m), name)
        self.tensor_attrs = {}
        for mod_name, m in root.named_modules():
            for attr, value in vars(m).items():
                if isinstance(value, Tensor) and not isinstance(value, Parameter):
                    self.tensor_attrs.setdefault(
                        id(value), f"{mod_name}.{attr}" if mod_name else attr
                    )
        inputs = []
        for name, value, alt in zip(names, values, alts, strict=True):
            node = self.graph.create_node("placeholder", name, (), {}, name)
            node.meta["val"], node.meta["val2"] = value, alt
            inputs.append(_ExportProxy(node, self) if isinstance(value, Tensor) else value)
        self._fn_globals = getattr(inspect.unwrap(type(root).forward), "__globals__", None)
        with self._patched(), CondGuard(), StateAssignments(self), FactoryCalls(self):
            result = call(root, inputs)
        leaves, spec = tree_flatten(result)
        self.create_node("output", "output", (tuple(self.create_arg(x) for x in leaves),), {})
        return self.graph, spec
