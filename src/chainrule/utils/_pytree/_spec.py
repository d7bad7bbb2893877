"""The pytree registry and :class:`TreeSpec`: which types are containers, how each splits
into children and a context, and the structure object built from them."""

from __future__ import annotations

import dataclasses
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "LeafSpec",
    "NodeDef",
    "SUPPORTED_NODES",
    "TreeSpec",
    "is_namedtuple",
    "is_namedtuple_class",
    "is_namedtuple_instance",
    "register_pytree_node",
]

_DICT_TYPES = (dict, OrderedDict, defaultdict)


@dataclasses.dataclass(frozen=True)
class NodeDef:
    """How one container type splits into children and a context, and is rebuilt."""

    type: Any
    flatten_fn: Callable[[Any], tuple[list, Any]]
    unflatten_fn: Callable[[Iterable, Any], Any]
    serialized_type_name: str | None = None
    to_dumpable_context: Callable[[Any], Any] | None = None
    from_dumpable_context: Callable[[Any], Any] | None = None
    flatten_with_keys_fn: Callable[[Any], Any] | None = None


SUPPORTED_NODES: dict[Any, NodeDef] = {}
_BY_SERIALIZED_NAME: dict[str, NodeDef] = {}


def register_pytree_node(
    cls: type,
    flatten_fn: Callable[[Any], tuple[list, Any]],
    unflatten_fn: Callable[[Iterable, Any], Any],
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: Callable[[Any], Any] | None = None,
    from_dumpable_context: Callable[[Any], Any] | None = None,
    flatten_with_keys_fn: Callable[[Any], Any] | None = None,
) -> None:
    """Make ``cls`` a container: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``.

    ``serialized_type_name`` names the type in :func:`treespec_dumps`; a context that is not
    JSON goes through ``to_dumpable_context``/``from_dumpable_context``.
    ``flatten_with_keys_fn`` is stored for PyTorch compatibility (chainrule has no key-path
    functions that would call it).

    Raises:
        ValueError: ``cls`` is already registered, or only one of the two context
            converters is given.
    """
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(
            f"Both to_dumpable_context and from_dumpable_context for {cls} must "
            "be None or registered."
        )
    node = NodeDef(
        cls,
        flatten_fn,
        unflatten_fn,
        serialized_type_name,
        to_dumpable_context,
        from_dumpable_context,
        flatten_with_keys_fn,
    )
    SUPPORTED_NODES[cls] = node
    if serialized_type_name is not None:
        _BY_SERIALIZED_NAME[serialized_type_name] = node


def is_namedtuple_class(cls: Any) -> bool:
    """Whether ``cls`` is a namedtuple class (a tuple subclass with string ``_fields``)."""
    fields = getattr(cls, "_fields", None)
    return (
        isinstance(cls, type)
        and issubclass(cls, tuple)
        and isinstance(fields, tuple)
        and all(isinstance(f, str) for f in fields)
    )


def is_namedtuple_instance(obj: Any) -> bool:
    """Whether ``obj`` is an instance of a namedtuple class."""
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj: Any) -> bool:
    """Whether ``obj`` is a namedtuple class or an instance of one."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def _node_of(tree: Any) -> Any:
    """The registry key of ``tree``'s container type, or None for a leaf."""
    cls = type(tree)
    if cls in SUPPORTED_NODES:
        return cls
    if is_namedtuple_class(cls):
        return namedtuple
    return None


class TreeSpec:
    """The structure of a pytree: a node type, its context and one spec per child.

    A leaf is ``TreeSpec(None, None, [])`` (see :class:`LeafSpec`) and prints as ``*``.
    """

    def __init__(self, type: Any, context: Any, children_specs: list[TreeSpec]) -> None:  # noqa: A002
        self.type = type
        self.context = context
        self._children = list(children_specs)
        self.num_children = len(self._children)
        self.num_nodes = 1 + sum(c.num_nodes for c in self._children)
        leaf = type is None
        self.num_leaves = 1 if leaf else sum(c.num_leaves for c in self._children)

    def is_leaf(self) -> bool:
        """Whether this spec stands for a single leaf."""
        return self.type is None

    def children(self) -> list[TreeSpec]:
        """The children's specs (a new list)."""
        return list(self._children)

    def child(self, index: int) -> TreeSpec:
        """The spec of child ``index``."""
        return self._children[index]

    @property
    def children_specs(self) -> list[TreeSpec]:
        """Deprecated (as in PyTorch): use :meth:`children` or :meth:`child`."""
        warnings.warn(
            "`treespec.children_specs` is deprecated. Use `treespec.child(index)` to access a "
            "single child, or `treespec.children()` to get all children.",
            FutureWarning,
            stacklevel=2,
        )
        return self._children

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """The pytree of this structure holding ``leaves`` in order.

        Raises:
            ValueError: the number of leaves is not :attr:`num_leaves`.
        """
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self})."
            )
        return self._build(iter(leaves))

    def _build(self, leaves: Iterator[Any]) -> Any:
        if self.type is None:
            return next(leaves)
        values = [c._build(leaves) for c in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(values, self.context)

    def flatten_up_to(self, tree: Any) -> list[Any]:
        """The subtrees of ``tree`` sitting where this spec has leaves.

        Raises:
            ValueError: ``tree``'s containers differ from this spec's (type, arity, keys or
                context).
        """
        out: list[Any] = []
        self._up_to(tree, out)
        return out

    def _up_to(self, tree: Any, out: list[Any]) -> None:
        if self.type is None:
            out.append(tree)
            return
        node = _node_of(tree)
        if node is not self.type:
            want = self.type if self.type is not namedtuple else self.context
            raise ValueError(f"Node type mismatch; expected {want!r}, but got {type(tree)!r}.")
        children, context = SUPPORTED_NODES[node].flatten_fn(tree)
        if len(children) != self.num_children:
            raise ValueError(
                f"Node arity mismatch; expected {self.num_children}, but got {len(children)}."
            )
        if node in _DICT_TYPES:
            want_keys, keys = _dict_keys(node, self.context), _dict_keys(node, context)
            if set(want_keys) != set(keys):
                raise ValueError(
                    f"Node keys mismatch; missing key(s): {set(want_keys) - set(keys)}; "
                    f"extra key(s): {set(keys) - set(want_keys)}."
                )
            children = [tree[k] for k in want_keys]
        elif node is not deque and context != self.context:
            raise ValueError(
                f"Node context mismatch for node type {self.type!r}; expected "
                f"{self.context!r}, but got {context!r}."
            )
        for spec, child in zip(self._children, children):
            spec._up_to(child, out)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (
            self.type == other.type
            and self.context == other.context
            and self._children == other._children
        )

    def __hash__(self) -> int:
        return hash((self.type, _hashable(self.context), tuple(self._children)))

    def __repr__(self) -> str:
        return self._repr(0)

    def _repr(self, indent: int) -> str:
        if self.type is None:
            return "*"
        name = "namedtuple" if self.type is namedtuple else self.type.__name__
        sep = ",\n" + " " * (indent + 2)
        children = sep.join(c._repr(indent + 2) for c in self._children)
        return f"TreeSpec({name}, {self.context!r}, [{children}])"


class LeafSpec(TreeSpec):
    """The spec of a single leaf."""

    def __init__(self) -> None:
        super().__init__(None, None, [])


def _hashable(context: Any) -> Any:
    if isinstance(context, list):
        return tuple(_hashable(c) for c in context)
    try:
        hash(context)
    except TypeError:
        return repr(context)
    return context


def _dict_keys(node: Any, context: Any) -> list:
    return context[1] if node is defaultdict else context
