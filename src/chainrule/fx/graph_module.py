"""``cr.fx.GraphModule`` (``torch.fx.GraphModule``): an ``nn.Module`` whose ``forward`` is
the Python code generated from a :class:`~chainrule.fx.Graph`.

Building one copies from the root module exactly what the graph reads (the submodules of
``call_module`` nodes and the parameters, buffers and constants of ``get_attr`` nodes, at
the same paths, with empty ``Module``s standing for the containers on the way), so its
``state_dict`` has the root's entries for those. Each instance gets a class of its own
(named after the traced module, as torch's) so that :meth:`GraphModule.recompile` can
install a new ``forward`` after the graph is edited.
"""

from __future__ import annotations

import copy
import itertools
import linecache
from typing import Any

from .. import nn
from ..autograd.tensor import Tensor
from ..nn.parameter import Parameter
from ._codegen import PythonCode
from .graph import Graph

__all__ = ["GraphModule"]

_KEYS = itertools.count()


def _copy_attr(from_module: Any, to_module: Any, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:  # the whole container was copied already
            return
        if t is None:
            t = nn.Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    orig = getattr(from_module, field)
    if isinstance(orig, Tensor) and not isinstance(orig, Parameter):
        to_module.register_buffer(field, orig)  # persistent, as torch's (even if it was not)
    else:
        setattr(to_module, field, orig)


def _assign_attr(value: Any, to_module: Any, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = nn.Module()
            setattr(to_module, item, t)
        to_module = t
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        to_module.register_buffer(field, value)
    else:
        setattr(to_module, field, value)


class GraphModule(nn.Module):
    """A module running ``graph`` (see the module docstring).

    Args:
        root: the module to copy the graph's submodules and attributes from, or a dict
            of target path -> value.
        graph: the program.
        class_name: the name of the new module's class (``type(gm).__name__``).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> GraphModule:
        """An instance of a fresh subclass, so that ``recompile`` can set ``forward`` on
        this module's class alone."""
        impl = "GraphModule.__new__.<locals>.GraphModuleImpl"
        base = next(k for k in cls.__mro__ if k.__qualname__ != impl)

        class GraphModuleImpl(base):  # type: ignore[misc, valid-type]
            pass

        return super().__new__(GraphModuleImpl)

    def __init__(self, root: Any, graph: Graph, class_name: str = "GraphModule") -> None:
        super().__init__()
        type(self).__name__ = class_name
        if isinstance(root, nn.Module):
            self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(
                            f"Node {node.name} referenced target {node.target} but that target "
                            "was not provided in ``root``!"
                        )
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")
        self.meta: dict[str, Any] = {}
        self.graph = graph

    # ------------------------------------------------------------ graph and code
    @property
    def graph(self) -> Graph:
        """The program; assigning a graph recompiles ``forward``."""
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        if not isinstance(g, Graph):
            raise TypeError(f"GraphModule.graph: expected a Graph, got {type(g).__name__}")
        object.__setattr__(self, "_graph", g)
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The Python source of ``forward``."""
        return self._code

    def recompile(self) -> PythonCode:
        """Generate ``forward`` from the graph again (after editing it) and install it."""
        python_code = self._graph.python_code(root_module="self")
        src = python_code.src
        object.__setattr__(self, "_code", src)
        filename = f"<eval_with_key>.{next(_KEYS)}"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        globs = dict(python_code.globals)
        exec(compile(src, filename, "exec"), globs)  # noqa: S102 - the generated forward
        type(self).forward = globs["forward"]
        return python_code

    def print_readable(self, print_output: bool = True, **kwargs: Any) -> str:
        """The module as torch prints it: a class definition with the generated
        ``forward``, its values annotated with dtype and shape (``"f32[2, 3]"``) where a
        shape propagation (``cr.fx.passes.shape_prop.ShapeProp``) recorded them. torch's
        printing options (``include_stride``, ``colored``, ...) are not supported."""
        given = sorted(k for k, v in kwargs.items() if v)
        if given:
            raise NotImplementedError(f"print_readable: options {given} are not supported")
        code = self._graph.python_code(root_module="self", annotate=True).src
        lines = code.strip("\n ").splitlines()
        if len(lines) > 1:
            lines.insert(1, "    # No stacktrace found for following nodes")
        body = "\n".join(f"    {line}" if line else "" for line in lines)
        text = f"class {type(self).__name__}(chainrule.nn.Module):\n{body}\n"
        if print_output:
            print(text)
        return text

    def __str__(self) -> str:
        return "\n".join([super().__repr__(), self._code])

    # ------------------------------------------------------------ submodules
    def add_submodule(self, target: str, m: nn.Module) -> bool:
        """Install ``m`` at path ``target``, creating empty modules on the way; False when
        a non-module attribute is in the way."""
        *prefix, field = target.split(".")
        mod: Any = self
        for item in prefix:
            sub = getattr(mod, item, None)
            if sub is None:
                sub = nn.Module()
                setattr(mod, item, sub)
            if not isinstance(sub, nn.Module):
                return False
            mod = sub
        mod.add_module(field, m)
        return True

    def delete_submodule(self, target: str) -> bool:
        """Remove the submodule at ``target``; False when there is none."""
        *prefix, field = target.split(".")
        mod: Any = self
        for item in prefix:
            mod = getattr(mod, item, None)
            if not isinstance(mod, nn.Module):
                return False
        if not isinstance(getattr(mod, field, None), nn.Module):
            return False
        delattr(mod, field)
        return True

    def delete_all_unused_submodules(self) -> None:
        """Remove the submodules no ``call_module``/``get_attr`` node reaches."""
        used: set[str] = set()
        for node in self._graph.nodes:
            if node.op in ("call_module", "get_attr"):
                parts = node.target.split(".")
                used.update(".".join(parts[: i + 1]) for i in range(len(parts)))
                if node.op == "call_module":
                    sub = self.get_submodule(node.target)
                    used.update(f"{node.target}.{name}" for name, _ in sub.named_modules() if name)
        for name, _ in list(self.named_modules()):
            if name and name not in used:
                self.delete_submodule(name)

    # ------------------------------------------------------------ copying
    def __deepcopy__(self, memo: dict) -> GraphModule:
        root = nn.Module()
        for store in ("_modules", "_parameters", "_buffers"):
            for name, value in getattr(self, store).items():
                copied = copy.deepcopy(value, memo)
                if store == "_buffers":
                    root.register_buffer(name, copied)
                else:
                    setattr(root, name, copied)
        root.training = self.training
        new = GraphModule(root, copy.deepcopy(self._graph, memo))  # torch names it GraphModule
        new.meta = copy.deepcopy(self.meta, memo)
        return new

    def __reduce__(self) -> tuple:
        """``pickle``: the submodules, parameters, buffers and the graph's nodes, rebuilt
        as a ``GraphModule`` (see :mod:`chainrule.fx._pickle`)."""
        from ._pickle import reduce_graph_module  # noqa: PLC0415 - _pickle imports this module

        return reduce_graph_module(self)

    def __copy__(self) -> GraphModule:
        new = GraphModule(self, self._graph, type(self).__name__)
        new.meta = dict(self.meta)
        return new
