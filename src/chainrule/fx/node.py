"""``cr.fx.Node`` (``torch.fx.Node``): one operation of a :class:`~chainrule.fx.Graph`.

A node is ``op`` (``placeholder``, ``get_attr``, ``call_function``, ``call_method``,
``call_module`` or ``output``), a ``target`` (the callable, method name or attribute path)
and the ``args``/``kwargs`` it is called with, in which other nodes stand for the values they
compute. Each node knows its ``users`` (the nodes that read it), kept up to date as arguments
change, which is what graph rewriting (``replace_all_uses_with``, dead-code elimination)
relies on. Nodes form a doubly linked list in the graph's order.
"""

from __future__ import annotations

import builtins
import operator
import sys
from collections.abc import Callable
from typing import Any

from .._c_nn import C_NAMES as _C_NAMES
from .._c_nn import __all__ as _C_NN
from ..functional import _PRINTED_HERE

__all__ = ["Argument", "Node", "Target", "has_side_effect", "map_aggregate", "map_arg"]

Argument = Any
Target = Any

_OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output", "root")


def map_aggregate(a: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to every leaf of ``a`` (tuples, named tuples, lists, dicts and slices
    are walked), keeping the containers' types: how nodes are swapped for values."""
    if isinstance(a, tuple):
        items = [map_aggregate(e, fn) for e in a]
        return type(a)(*items) if hasattr(a, "_fields") else tuple(items)
    if isinstance(a, list):
        return [map_aggregate(e, fn) for e in a]
    if isinstance(a, dict):
        return {k: map_aggregate(v, fn) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(
            map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn)
        )
    return fn(a)


def map_arg(a: Any, fn: Callable[[Node], Any]) -> Any:
    """Apply ``fn`` to every :class:`Node` inside ``a`` (other leaves are kept), as
    ``torch.fx.map_arg``: how an interpreter replaces nodes by their values."""
    if not callable(fn):
        raise TypeError(f"map_arg: fn must be a callable, got {type(fn).__name__}")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _nodes_in(a: Any) -> list[Node]:
    found: dict[Node, None] = {}
    map_arg(a, lambda n: found.setdefault(n))
    return list(found)


class Node:
    """One operation in a :class:`~chainrule.fx.Graph` (see the module docstring).

    Attributes: ``graph``, ``name`` (unique in the graph; the variable of the generated
    code), ``op``, ``target``, ``users`` (dict of the nodes reading this one), ``meta``
    (free-form, e.g. shapes from a propagation pass), ``type`` (an annotation or None).
    """

    def __init__(
        self,
        graph: Any,
        name: str,
        op: str,
        target: Target,
        args: tuple,
        kwargs: dict,
        return_type: Any = None,
    ) -> None:
        if op not in _OPS:
            raise ValueError(f"Node: op must be one of {list(_OPS)}, got {op!r}")
        if op == "call_function" and not callable(target):
            raise ValueError(
                f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                f"{type(target).__name__} but a Callable is expected"
            )
        if op in ("placeholder", "call_method", "call_module", "get_attr", "output"):
            if not isinstance(target, str):
                raise ValueError(
                    f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                    f"{type(target).__name__} but a str is expected"
                )
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes: dict[Node, None] = {}
        self.users: dict[Node, None] = {}
        self.type = return_type
        self._prev: Node = self
        self._next: Node = self
        self._erased = False
        self.meta: dict[str, Any] = {}
        self._args: tuple = ()
        self._kwargs: dict = {}
        self._update_args_kwargs(args, kwargs)

    # ------------------------------------------------------------ linked list
    @property
    def next(self) -> Node:
        """The node after this one in the graph (the graph's root sentinel at the end)."""
        return self._next

    @property
    def prev(self) -> Node:
        """The node before this one in the graph."""
        return self._prev

    def prepend(self, x: Node) -> None:
        """Move ``x`` to just before this node."""
        if self.graph is not x.graph:
            raise ValueError("Node.prepend: the node is in another graph")
        if self is x:
            raise ValueError("Node.prepend: cannot prepend a node to itself")
        x._remove_from_list()
        p = self._prev
        p._next, x._prev, x._next, self._prev = x, p, self, x

    def append(self, x: Node) -> None:
        """Move ``x`` to just after this node."""
        self._next.prepend(x)

    def _remove_from_list(self) -> None:
        p, n = self._prev, self._next
        p._next, n._prev = n, p
        self._prev = self._next = self

    # ------------------------------------------------------------ arguments
    @property
    def args(self) -> tuple:
        """The positional arguments; assigning them updates the users of the nodes read."""
        return self._args

    @args.setter
    def args(self, a: tuple) -> None:
        self._update_args_kwargs(a, self._kwargs)

    @property
    def kwargs(self) -> dict:
        """The keyword arguments; assigning them updates the users of the nodes read."""
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k: dict) -> None:
        self._update_args_kwargs(self._args, k)

    @property
    def all_input_nodes(self) -> list[Node]:
        """The nodes this one reads, in the order of its arguments, each once."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, args: Any, kwargs: Any) -> None:
        self._args = tuple(map_aggregate(tuple(args), lambda x: x))
        self._kwargs = dict(map_aggregate(dict(kwargs), lambda x: x))
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = dict.fromkeys(_nodes_in((self._args, self._kwargs)))
        for new in self._input_nodes:
            new.users.setdefault(self)

    def update_arg(self, idx: int, arg: Argument) -> None:
        """Set positional argument ``idx`` to ``arg``."""
        args = list(self._args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg: Argument) -> None:
        """Set keyword argument ``key`` to ``arg``."""
        self.kwargs = {**self._kwargs, key: arg}

    def insert_arg(self, idx: int, arg: Argument) -> None:
        """Insert ``arg`` as positional argument ``idx``."""
        args = list(self._args)
        args.insert(idx, arg)
        self.args = tuple(args)

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Read ``new_input`` wherever this node read ``old_input``."""

        def swap(n: Node) -> Node:
            return new_input if n is old_input else n

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(
        self,
        replace_with: Node,
        delete_user_cb: Callable[[Node], bool] = lambda user: True,
        *,
        propagate_meta: bool = False,
    ) -> list[Node]:
        """Make every user of this node read ``replace_with`` instead (those for which
        ``delete_user_cb(user)`` is true); returns the users changed. ``propagate_meta``
        copies this node's ``meta`` onto ``replace_with`` (whose own must be empty)."""
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError(
                    "Called node.replace_all_uses_with(replace_with, propagate_meta=True), "
                    "but replace_with already has .meta keys"
                )
            replace_with.meta.update(self.meta)
        changed = [u for u in list(self.users) if delete_user_cb(u)]
        for user in changed:
            user.replace_input_with(self, replace_with)
        return changed

    # ------------------------------------------------------------ printing
    def _pretty_target(self) -> str:
        if self.op in ("call_function",):
            return _qualified_name(self.target)
        return str(self.target)

    def format_node(self) -> str:
        """The node as a line of ``print(graph)``: ``%name : [num_users=N] = op[target=T](...)``."""
        head = f"%{self.name} : [num_users={len(self.users)}] = "
        if self.op == "placeholder":
            default = f"(default={self.args[0]!r})" if self.args else ""
            return f"{head}placeholder[target={self.target}]{default}"
        if self.op == "get_attr":
            return f"{head}get_attr[target={self.target}]"
        if self.op == "output":
            return f"return {self.args[0]!r}"
        return (
            f"{head}{self.op}[target={self._pretty_target()}]"
            f"(args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})"
        )

    def __repr__(self) -> str:
        return self.name

    def is_impure(self) -> bool:
        """Whether removing this node could change what the program does: placeholders,
        outputs, in-place methods (names ending in ``_``), ``_assert`` checks and functions
        marked with :func:`has_side_effect` are kept by dead-code elimination."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_function":
            return self.target in _SIDE_EFFECTFUL or getattr(self.target, "__name__", "") in (
                "_assert",
                "_assert_is_none",
            )
        if self.op == "call_method":
            return str(self.target).endswith("_") and not str(self.target).endswith("__")
        return False


_SIDE_EFFECTFUL: set[Any] = set()


def _format_arg(arg: Any) -> str:
    if isinstance(arg, Node):
        return f"%{arg.name}"
    if isinstance(arg, tuple) and not hasattr(arg, "_fields"):
        inner = ", ".join(_format_arg(a) for a in arg)
        return f"({inner},)" if len(arg) == 1 else f"({inner})"
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    return str(arg)


_NAMESPACES = ("chainrule", "chainrule.nn.functional", "chainrule.linalg", "chainrule.special")
# functionals chainrule also binds at its root where torch has no root function of the name
# (no ``torch.pad``): a call of one is ``F.<name>``'s, printed and recorded as such
FUNCTIONAL_ONLY = frozenset({"pad"})


def _qualified_name(fn: Any) -> str:
    """``operator.add``, ``builtins.getattr``, ``chainrule.relu``,
    ``chainrule.nn.functional.relu``: where the callable can be reached from, for printing.
    As torch.fx, which prints a function's defining module: the functions of
    ``torch/functional.py`` as ``chainrule.functional.einsum`` and the functionals torch binds
    from C as ``chainrule._C._nn.gelu``."""
    name = getattr(fn, "__name__", None)
    if name is None:
        return repr(fn)
    if getattr(operator, name, None) is fn:
        return f"operator.{name}"
    if getattr(builtins, name, None) is fn:
        return f"builtins.{name}"
    root = sys.modules.get("chainrule")
    if name in _PRINTED_HERE and getattr(root, name, None) is fn:
        return f"chainrule.functional.{name}"  # torch.fx: torch.functional.einsum
    functional = sys.modules.get("chainrule.nn.functional")
    c_name = _C_NAMES.get(name, name)  # F.logsigmoid is torch._C._nn.log_sigmoid
    if c_name in _C_NN and getattr(functional, name, None) is fn:
        return f"chainrule._C._nn.{c_name}"  # torch.fx: torch._C._nn.gelu
    if name in FUNCTIONAL_ONLY and getattr(functional, name, None) is fn:
        return f"chainrule.nn.functional.{name}"
    for space in _NAMESPACES:
        module = sys.modules.get(space)
        if module is not None and getattr(module, name, None) is fn:
            return f"{space}.{name}"
    module_name = getattr(fn, "__module__", None) or "builtins"
    return f"{module_name}.{getattr(fn, '__qualname__', name)}"


def has_side_effect(fn: Callable) -> Callable:
    """``torch.fx.has_side_effect``: mark ``fn`` so that dead-code elimination keeps its
    calls even when their results are unused. Returns ``fn`` (usable as a decorator)."""
    _SIDE_EFFECTFUL.add(fn)
    return fn
