"""``cr.fx.Graph`` (``torch.fx.Graph``): the list of :class:`~chainrule.fx.Node` a trace
records, with the editing operations passes use (create, insert before/after, erase,
dead-code elimination, ``lint``) and its Python source (``python_code``).

Node names are made unique as torch's: a name already taken, or one that would shadow a
Python builtin or keyword (``sum``, ``abs``, ``getattr``), gets the next ``_<n>`` suffix
of its base (``add``, ``add_1``, ``add_2``; ``sum_1``).
"""

from __future__ import annotations

import builtins
import copy
import inspect
import keyword
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .._c_nn import C_NAMES
from ._codegen import PythonCode, python_code
from .node import Node, map_arg

__all__ = ["Graph", "PythonCode"]

_ILLEGAL_CHARS = re.compile(r"[^0-9a-zA-Z_]+")
_SUFFIX = re.compile(r"(.*)_(\d+)$")
_RESERVED = {"chainrule", "operator", "builtins", "math", "inf", "nan", "NoneType", "self"}


def _snake_case(name: str) -> str:
    """``CamelFunc`` -> ``camel_func`` (torch's node names of camel-case callables)."""
    out = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return out.lower()


class _Namespace:
    """The names taken in one graph, and the next free suffix of each base name."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._base_count: dict[str, int] = defaultdict(int)

    def create_name(self, candidate: str) -> str:
        candidate = _ILLEGAL_CHARS.sub("_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = f"_{candidate}"
        match = _SUFFIX.match(candidate)
        base, num = (candidate, None) if match is None else (match[1], int(match[2]))
        if not num:
            num = self._base_count[base]
        while candidate in self._used or _illegal(candidate):
            num += 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        self._base_count[base] = num
        return candidate

    def release(self, name: str) -> None:
        self._used.discard(name)


def _illegal(name: str) -> bool:
    return keyword.iskeyword(name) or hasattr(builtins, name) or name in _RESERVED


class _NodeList:
    """``graph.nodes``: the nodes in order; iterating survives erasing the current node."""

    def __init__(self, graph: Graph, direction: str = "_next") -> None:
        self._graph = graph
        self._direction = direction

    def __len__(self) -> int:
        return self._graph._len

    def __iter__(self) -> Iterator[Node]:
        root, step = self._graph._root, self._direction
        cur = getattr(root, step)
        while cur is not root:
            nxt = getattr(cur, step)
            if not cur._erased:
                yield cur
            cur = nxt

    def __reversed__(self) -> Iterator[Node]:
        return iter(_NodeList(self._graph, "_prev" if self._direction == "_next" else "_next"))

    def __repr__(self) -> str:
        return repr(list(self))


class Graph:
    """A traced program as a list of nodes (see the module docstring).

    ``owning_module`` is the :class:`~chainrule.fx.GraphModule` the graph belongs to, which
    ``lint`` uses to check that ``get_attr``/``call_module`` targets exist.
    """

    def __init__(
        self,
        owning_module: Any = None,
        tracer_cls: type | None = None,
        tracer_extras: dict | None = None,
    ) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._len = 0
        self._namespace = _Namespace()
        self._insert: Callable[[Node], None] = self._root.prepend
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras

    # ------------------------------------------------------------ access
    @property
    def nodes(self) -> _NodeList:
        """The nodes in program order (``reversed(graph.nodes)`` walks back)."""
        return _NodeList(self)

    @property
    def owning_module(self) -> Any:
        """The GraphModule this graph belongs to (None when free-standing)."""
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod: Any) -> None:
        self._owning_module = mod

    def output_node(self) -> Node:
        """The ``output`` node (the last node of a complete graph)."""
        node = self._root._prev
        if node.op != "output":
            raise RuntimeError("Graph.output_node: the graph has no output node")
        return node

    def find_nodes(self, *, op: str, target: Any = None, sort: bool = True) -> list[Node]:
        """The nodes with ``op`` (and ``target`` when given), in program order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # ------------------------------------------------------------ creation
    def _target_to_str(self, target: Any) -> str:
        if callable(target) and not isinstance(target, str):
            name = getattr(target, "__name__", type(target).__name__)
            if name in C_NAMES:  # F.logsigmoid: torch's node is named for _C._nn.log_sigmoid
                functional = sys.modules.get("chainrule.nn.functional")
                if getattr(functional, name, None) is target:
                    name = C_NAMES[name]
            return _snake_case(name)
        return str(target)

    def create_node(
        self,
        op: str,
        target: Any,
        args: tuple | None = None,
        kwargs: dict | None = None,
        name: str | None = None,
        type_expr: Any = None,
    ) -> Node:
        """Create a node and insert it at the current insert point (the end of the graph,
        or where ``inserting_before``/``inserting_after`` put it)."""
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple):
            raise TypeError(f"Graph.create_node: args must be a tuple, got {type(args).__name__}")
        if not isinstance(kwargs, dict):
            raise TypeError(
                f"Graph.create_node: kwargs must be a dict, got {type(kwargs).__name__}"
            )
        candidate = name if name is not None else self._target_to_str(target)
        name = self._namespace.create_name(candidate)
        node = Node(self, name, op, target, args, kwargs, type_expr)
        self._insert(node)
        self._len += 1
        return node

    def placeholder(
        self, name: str, type_expr: Any = None, default_value: Any = inspect.Signature.empty
    ) -> Node:
        """An input of the program (``name`` as ``*args``/``**kwargs`` for variadics);
        ``default_value`` (when not ``inspect.Signature.empty``) becomes its default."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, {}, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr: Any = None) -> Node:
        """Read ``self.<qualified_name>`` (a parameter, buffer or constant of the module)."""
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(
        self,
        module_name: str,
        args: tuple | None = None,
        kwargs: dict | None = None,
        type_expr: Any = None,
    ) -> Node:
        """Call the submodule at path ``module_name`` (looked up in the owning module, when
        there is one: AttributeError for a missing one, as torch's ``get_submodule``)."""
        if self._owning_module is not None:
            self._owning_module.get_submodule(module_name)
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(
        self,
        method_name: str,
        args: tuple | None = None,
        kwargs: dict | None = None,
        type_expr: Any = None,
    ) -> Node:
        """Call method ``method_name`` of ``args[0]`` with the rest of the arguments."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(
        self,
        the_function: Callable,
        args: tuple | None = None,
        kwargs: dict | None = None,
        type_expr: Any = None,
        name: str | None = None,
    ) -> Node:
        """Call the free function ``the_function`` (``operator.add``, ``cr.relu``, ...);
        ``name`` asks for a node name (made unique)."""
        return self.create_node("call_function", the_function, args, kwargs, name, type_expr)

    def output(self, result: Any, type_expr: Any = None) -> Node:
        """The program's return value (nodes inside containers allowed)."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node: Node, arg_transform: Callable[[Node], Any] = lambda x: x) -> Node:
        """Copy ``node`` (of any graph) into this one, its node arguments mapped through
        ``arg_transform`` (usually a dict of old node -> new node)."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        new = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        new.meta = copy.copy(node.meta)
        return new

    def graph_copy(
        self, g: Graph, val_map: dict[Node, Node], return_output_node: bool = False
    ) -> Any:
        """Copy every node of ``g`` except its output into this graph, filling ``val_map``
        (old node -> new); returns the copied output value."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                out = map_arg(node.args[0], lambda n: val_map[n])
                return (out, node) if return_output_node else out
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo: dict) -> Graph:
        new = Graph(tracer_cls=self._tracer_cls)
        val_map: dict[Node, Node] = {}
        out = new.graph_copy(self, val_map)
        if out is not None or any(n.op == "output" for n in self.nodes):
            new.output(out)
        return new

    # ------------------------------------------------------------ insert points
    @contextmanager
    def inserting_before(self, n: Node | None = None) -> Iterator[None]:
        """Within the block, new nodes go just before ``n`` (None: the start of the graph)."""
        saved = self._insert
        self._insert = (n if n is not None else self._root._next).prepend
        try:
            yield
        finally:
            self._insert = saved

    @contextmanager
    def inserting_after(self, n: Node | None = None) -> Iterator[None]:
        """Within the block, each new node goes just after ``n`` (None: the end of the
        graph); several nodes created in one block come in reverse order, as torch's."""
        saved = self._insert
        self._insert = n.append if n is not None else self._root._prev.append
        try:
            yield
        finally:
            self._insert = saved

    # ------------------------------------------------------------ editing
    def erase_node(self, to_erase: Node) -> None:
        """Remove a node that no other node reads."""
        if len(to_erase.users) > 0:
            raise RuntimeError(
                f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} "
                f"users in the graph: {to_erase.users}!"
            )
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        self._namespace.release(to_erase.name)
        to_erase._update_args_kwargs((), {})

    def eliminate_dead_code(self, is_impure_node: Callable[[Node], bool] | None = None) -> bool:
        """Erase the nodes whose values nothing uses (walking back, so chains go too),
        keeping impure ones (inputs, outputs, in-place methods, ``_assert``); returns
        whether anything was removed."""
        self.lint()  # the walk back assumes topological order, as torch's
        impure = is_impure_node or (lambda n: n.is_impure())
        changed = False
        for node in reversed(self.nodes):
            if not impure(node) and len(node.users) == 0:
                self.erase_node(node)
                changed = True
        return changed

    def lint(self) -> None:
        """Check the graph is well formed: each node's inputs come before it and belong to
        this graph, names are unique, and ``get_attr``/``call_module`` targets exist in the
        owning module. Raises RuntimeError naming the first problem."""
        seen: set[Node] = set()
        names: set[str] = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node {node} does not belong to this Graph!")
            for arg in node.all_input_nodes:
                if arg.graph is not self:
                    raise RuntimeError(f"Arg {arg} of Node {node} does not belong to this Graph")
                if arg not in seen:
                    raise RuntimeError(
                        f"Argument '{arg}' of Node '{node}' was used before it has been defined! "
                        f"Please check that Nodes in the graph are topologically ordered\n{self}"
                    )
            if node.name in names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen.add(node)
            names.add(node.name)
            mod = self._owning_module
            if mod is not None and node.op in ("get_attr", "call_module"):
                target = mod
                for i, atom in enumerate(node.target.split(".")):
                    if not hasattr(target, atom):
                        seen_qualname = ".".join(node.target.split(".")[:i])
                        raise RuntimeError(
                            f"Node {node} target {node.target} references nonexistent attribute "
                            f"{atom} of {seen_qualname}"
                        )
                    target = getattr(target, atom)

    # ------------------------------------------------------------ source and printing
    def python_code(
        self, root_module: str = "self", *, annotate: bool = False, **kwargs: Any
    ) -> PythonCode:
        """The Python source of the graph as ``forward`` and the globals it needs;
        ``annotate`` writes recorded shapes as annotations (``print_readable``). torch's
        printing options (``verbose``, ``include_stride``, ...) are not supported."""
        given = sorted(k for k, v in kwargs.items() if v)
        if given:
            raise NotImplementedError(f"Graph.python_code: options {given} are not supported")
        return python_code(self, root_module, annotate)

    def print_tabular(self) -> None:
        """Print the nodes as a table (opcode, name, target, args, kwargs); needs the
        ``tabulate`` package, as torch's."""
        try:
            from tabulate import tabulate
        except ImportError:
            print(
                "`print_tabular` relies on the library `tabulate`, which could not be found "
                "on this machine. Run `pip install tabulate` to install the library."
            )
            raise
        rows = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        print(tabulate(rows, headers=["opcode", "name", "target", "args", "kwargs"]))

    def __str__(self) -> str:
        lines = ["graph():"] + [f"    {n.format_node()}" for n in self.nodes]
        return "\n".join(lines)

    __repr__ = object.__repr__
