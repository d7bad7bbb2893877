"""``cr.fx.Tracer`` and ``cr.fx.symbolic_trace`` (``torch.fx``'s): run a module's
``forward`` (or a function) on :class:`~chainrule.fx.Proxy` inputs and record what it does.

While a trace runs, three things are switched, and restored afterwards:

- ``nn.Module.__call__`` goes to :meth:`Tracer.call_module`: a leaf module (chainrule's
  built-in layers, as torch's ``torch.nn`` ones; not ``Sequential``) is recorded as one
  ``call_module`` node, any other module's ``forward`` is traced through.
- ``nn.Module.__getattr__`` turns a parameter read (``self.weight``) into a ``get_attr``
  node; buffers and other tensors used with a proxy become ``get_attr`` nodes when they
  meet one (tensors that are not attributes of the module are stored as
  ``_tensor_constant<n>``).
- a ``TorchFunctionMode`` sees every public chainrule function (``cr.relu``, ``cr.cat``,
  ``F.linear``, ...): a call with a proxy among its arguments is recorded as
  ``call_function``; others run.

Functions registered with :func:`wrap` are recorded as calls instead of traced through.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import operator
import types
from collections.abc import Callable
from typing import Any

from .. import _assert, nn
from ..autograd.tensor import Tensor
from ..nn.parameter import Parameter
from ..overrides import TorchFunctionMode
from ._call_site import as_torch_records, records_method
from ._functional_records import functional_records
from .graph import Graph
from .graph_module import GraphModule
from .node import map_aggregate
from .proxy import Proxy, TracerBase, refuse_sliced_by_proxy

__all__ = ["Tracer", "symbolic_trace", "wrap"]

# (globals dict, name) of the functions wrap() registered
_WRAPPED: list[tuple[dict[str, Any], str]] = []


def wrap(fn_or_name: str | Callable) -> str | Callable:
    """``torch.fx.wrap``: called at the top level of a module, makes the tracer record
    calls of that module's global function (by name, or the function itself) as
    ``call_function`` nodes instead of tracing into it (for code a trace cannot follow:
    ``len``, data-dependent Python). Returns its argument, so it works as a decorator."""
    if callable(fn_or_name):
        name = getattr(fn_or_name, "__name__", None)
        if name is None or name == "<lambda>":
            raise NotImplementedError(
                f"wrap: a callable needs a name to be wrapped; got {fn_or_name!r}"
            )
    elif isinstance(fn_or_name, str):
        name = fn_or_name
    else:
        raise TypeError(
            f"wrap: expected a function or the name of a global function, got "
            f"{type(fn_or_name).__name__}"
        )
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    if caller is None or caller.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _WRAPPED.append((caller.f_globals, name))
    return fn_or_name


def _assert_is_none(value: Any, msg: str) -> None:
    """The check a trace inserts for a ``concrete_args`` value of None."""
    if value is not None:
        raise AssertionError(msg)


def _has_proxy(args: Any) -> bool:
    found = []
    map_aggregate(args, lambda a: found.append(a) if isinstance(a, Proxy) else None)
    return bool(found)


class _RecordingMode(TorchFunctionMode):
    """Records chainrule function calls that receive a proxy."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __torch_function__(
        self, func: Callable, types: Any, args: tuple = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if not _has_proxy((args, kwargs)):
            return func(*args, **kwargs)
        if self.tracer.slices_need_index:
            refuse_sliced_by_proxy(func, args, kwargs)
        method = records_method(func)  # Tensor.split(x, 2), buf.add(x); cr.split(x, 2) not
        name = getattr(func, "__name__", "")
        args, kwargs = as_torch_records(name, method, args, kwargs)
        if not method:  # F.softmax(x, -1): softmax(x, dim = -1, _stacklevel = 3, ...)
            args, kwargs = functional_records(func, args, kwargs)
        if method:
            return self.tracer.create_proxy("call_method", name, args, kwargs)
        return self.tracer.create_proxy("call_function", func, args, kwargs)


class Tracer(TracerBase):
    """``torch.fx.Tracer``: records a module's or function's computation into a
    :class:`~chainrule.fx.Graph` (see the module docstring). Subclass it to change which
    modules are leaves (:meth:`is_leaf_module`) or how calls are recorded."""

    def __init__(
        self,
        autowrap_modules: tuple = (math,),
        autowrap_functions: tuple = (),
        param_shapes_constant: bool = False,
    ) -> None:
        """``autowrap_modules``: modules whose functions (``math.sqrt``), called on traced
        values, are recorded as ``call_function`` nodes, as torch's (default: ``math``);
        ``autowrap_functions``: more such functions (named ones: ``lambda`` refused).

        Raises:
            TypeError: an ``autowrap_modules`` entry that is not a module, or an
                ``autowrap_functions`` entry that is not callable.
            NotImplementedError: ``param_shapes_constant=True``.
        """
        if param_shapes_constant:
            raise NotImplementedError(
                "Tracer: param_shapes_constant=True is not supported (parameter shapes are "
                "recorded as getattr nodes)"
            )
        for m in autowrap_modules:
            if not isinstance(m, types.ModuleType):
                raise TypeError(
                    f"Tracer: autowrap_modules takes modules, got {type(m).__name__} ({m!r})"
                )
        for fn in autowrap_functions:
            if not callable(fn):
                raise TypeError(
                    f"Tracer: autowrap_functions takes callables, got {type(fn).__name__}"
                )
        self._autowrap_modules = tuple(autowrap_modules)
        self._autowrap_function_ids = {
            id(v)
            for m in autowrap_modules
            for name, v in vars(m).items()
            if not name.startswith("_") and (inspect.isfunction(v) or inspect.isbuiltin(v))
        } | {id(fn) for fn in autowrap_functions}
        self._fn_globals: dict[str, Any] | None = None
        self.root: Any = None
        self.graph: Graph = Graph()
        self.submodule_paths: dict[int, str] = {}
        self.tensor_attrs: dict[int, str] = {}
        self._constants = 0

    # ------------------------------------------------------------ customization points
    def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
        """Whether ``m`` is recorded as one ``call_module`` node: chainrule's own layers
        (modules defined under ``chainrule.nn``) except ``Sequential``, as torch's rule
        for ``torch.nn``."""
        module = type(m).__module__
        return module.startswith("chainrule.nn") and not isinstance(m, nn.Sequential)

    def path_of_module(self, mod: Any) -> str:
        """The qualified name of ``mod`` in the traced root (``layer1.0.conv1``)."""
        path = self.submodule_paths.get(id(mod))
        if path is None:
            raise NameError("module is not installed as a submodule")
        return path

    def call_module(self, m: Any, forward: Callable, args: tuple, kwargs: dict) -> Any:
        """A module call met while tracing: a ``call_module`` node for a leaf, else its
        ``forward`` traced through."""
        name = self.path_of_module(m)
        if not self.is_leaf_module(m, name):
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", name, args, kwargs)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        """A module attribute read while tracing: parameters of the root become
        ``get_attr`` proxies (one per parameter), other values are returned as they are."""
        if isinstance(attr_val, Parameter):
            for name, p in self.root.named_parameters():
                if attr_val is p:
                    if name not in parameter_proxy_cache:
                        parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {})
                    return parameter_proxy_cache[name]
        return attr_val

    def create_arg(self, a: Any) -> Any:
        """As :meth:`TracerBase.create_arg`, and tensors become ``get_attr`` nodes: the
        root's parameters and buffers by their names, tensor attributes of its modules by
        their paths, any other tensor stored on the root as ``_tensor_constant<n>``."""
        if isinstance(a, Tensor) and not isinstance(a, Proxy):
            for name, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", name, (), {})
            for name, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", name, (), {})
            path = self.tensor_attrs.get(id(a))
            if path is None:
                path = f"_tensor_constant{self._constants}"
                while hasattr(self.root, path):  # a fresh name (the root may be traced again)
                    self._constants += 1
                    path = f"_tensor_constant{self._constants}"
                self._constants += 1
                setattr(self.root, path, a)
                self.tensor_attrs[id(a)] = path
            return self.create_node("get_attr", path, (), {})
        return super().create_arg(a)

    # ------------------------------------------------------------ tracing
    def trace(self, root: Any, concrete_args: dict[str, Any] | None = None) -> Graph:
        """Trace ``root`` (a Module's ``forward``, or a function) into ``self.graph``;
        ``concrete_args`` fixes some arguments to values (checked by ``_assert`` nodes)."""
        if isinstance(root, nn.Module):
            self.root = root
            fn = type(root).forward
        elif callable(root):
            self.root = nn.Module()
            fn = root
        else:
            raise TypeError(
                f"symbolic_trace: expected an nn.Module or a function, got {type(root).__name__}"
            )
        self.graph = Graph(tracer_cls=type(self))
        self.submodule_paths = {}
        for name, m in self.root.named_modules():
            self.submodule_paths.setdefault(id(m), name)
        self.tensor_attrs = {}
        for mod_name, m in self.root.named_modules():
            for attr, value in vars(m).items():
                if isinstance(value, Tensor):
                    path = f"{mod_name}.{attr}" if mod_name else attr
                    self.tensor_attrs.setdefault(id(value), path)
        args = self._placeholders(fn, isinstance(root, nn.Module), concrete_args or {})
        self._fn_globals = getattr(inspect.unwrap(fn), "__globals__", None)
        with self._patched():
            result = fn(*args[0], **args[1])
        self.create_node("output", "output", (self.create_arg(result),), {})
        return self.graph

    def _placeholders(self, fn: Callable, is_method: bool, concrete: dict[str, Any]) -> tuple:
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        if is_method:
            params = params[1:]
        unknown = set(concrete) - {p.name for p in params}
        if unknown:
            raise TypeError(
                f"symbolic_trace: concrete_args names {sorted(unknown)} that are not "
                f"parameters of {getattr(fn, '__qualname__', fn)}"
            )
        pos: list[Any] = [self.root] if is_method else []
        kw: dict[str, Any] = {}
        for p in params:
            if p.name in concrete:
                value = self._concrete(p.name, concrete[p.name])
            elif p.kind is p.VAR_POSITIONAL:
                raise NotImplementedError(
                    f"symbolic_trace: *{p.name} parameters are not supported (torch traces them "
                    "as one placeholder)"
                )
            elif p.kind is p.VAR_KEYWORD:
                raise NotImplementedError(
                    f"symbolic_trace: **{p.name} parameters are not supported"
                )
            else:
                default = p.default
                value = self.create_proxy(
                    "placeholder", p.name, () if default is p.empty else (default,), {}
                )
            if p.kind is p.KEYWORD_ONLY:
                kw[p.name] = value
            else:
                pos.append(value)
        return pos, kw

    def _concrete(self, name: str, value: Any) -> Any:
        if isinstance(value, Proxy) or _has_proxy(value):
            raise NotImplementedError(f"symbolic_trace: concrete_args[{name!r}] holds a Proxy")
        self.graph._namespace.create_name(name)  # torch's name for the input is <name>_1
        ph = self.create_proxy("placeholder", f"{name}_1", (), {})
        msg = f"{name} has been specialized to have value {value} but got another value"
        if value is None:
            self.create_proxy("call_function", _assert_is_none, (ph, msg), {})
        else:
            eq = self.create_proxy("call_function", operator.eq, (ph, value), {})
            self.create_proxy("call_function", _assert, (eq, msg), {})
        return value

    def _patched(self) -> Any:
        return _Patches(self)


class _Patches:
    """The switches of the module docstring, undone on exit even when tracing fails."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.undo: list[tuple[Any, str, Any, bool]] = []

    def _set(self, target: Any, name: str, value: Any) -> None:
        had = name in (vars(target) if isinstance(target, type) else target)
        old = (vars(target) if isinstance(target, type) else target).get(name)
        self.undo.append((target, name, old, had))
        if isinstance(target, dict):
            target[name] = value
        else:
            setattr(target, name, value)

    def __enter__(self) -> _Patches:
        tracer = self.tracer
        Module = nn.Module
        orig_call, orig_getattr = Module.__call__, Module.__getattr__
        cache: dict[str, Any] = {}

        def module_call(mod: Any, *args: Any, **kwargs: Any) -> Any:
            def forward(*a: Any, **k: Any) -> Any:
                return orig_call(mod, *a, **k)

            return tracer.call_module(mod, forward, args, kwargs)

        def module_getattr(mod: Any, attr: str) -> Any:
            return tracer.getattr(attr, orig_getattr(mod, attr), cache)

        self._set(Module, "__call__", module_call)
        self._set(Module, "__getattr__", module_getattr)
        for globs, name in _WRAPPED:
            original = globs.get(name, getattr(builtins, name, None))
            if original is None:
                continue
            self._set(globs, name, _recording(tracer, original))
        self._autowrap(tracer)
        self.mode = _RecordingMode(tracer)
        self.mode.__enter__()
        return self

    def _autowrap(self, tracer: Tracer) -> None:
        """Record the autowrapped functions: the traced function's globals naming one, and
        the autowrap modules' own attributes (``math.sqrt``), as torch's."""
        ids = getattr(tracer, "_autowrap_function_ids", set())
        if not ids:
            return
        spaces = [vars(m) for m in getattr(tracer, "_autowrap_modules", ())]
        if tracer._fn_globals is not None:
            spaces.append(tracer._fn_globals)
        done: set[tuple[int, str]] = set()
        for space in spaces:
            for name, value in list(space.items()):
                if id(value) in ids and not name.startswith("__") and (id(space), name) not in done:
                    done.add((id(space), name))
                    self._set(space, name, _recording(tracer, value))

    def __exit__(self, *exc: Any) -> None:
        self.mode.__exit__(*exc)
        for target, name, old, had in reversed(self.undo):
            if isinstance(target, dict):
                if had:
                    target[name] = old
                else:
                    target.pop(name, None)
            elif had:
                setattr(target, name, old)
            else:
                delattr(target, name)


def _recording(tracer: Tracer, original: Callable) -> Callable:
    @functools.wraps(original)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        if _has_proxy((args, kwargs)):
            return tracer.create_proxy("call_function", original, args, kwargs)
        return original(*args, **kwargs)

    return recorded


def symbolic_trace(root: Any, concrete_args: dict[str, Any] | None = None) -> Any:
    """``torch.fx.symbolic_trace``: trace ``root`` (an nn.Module or a function) with a
    :class:`Tracer` and return a :class:`~chainrule.fx.GraphModule` running the recorded
    graph. ``concrete_args`` fixes arguments to values (Python control flow on them is
    then allowed). Data-dependent control flow raises :class:`~chainrule.fx.proxy.TraceError`."""
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, nn.Module) else root.__name__
    return GraphModule(tracer.root, graph, name)
