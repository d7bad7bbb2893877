"""Printing a :class:`TreeSpec` and PyTorch's JSON text for it (protocol 1)."""

from __future__ import annotations

import json
from collections import namedtuple
from typing import Any

from ._spec import _BY_SERIALIZED_NAME, SUPPORTED_NODES, LeafSpec, TreeSpec

__all__ = ["treespec_dumps", "treespec_loads", "treespec_pprint"]

_PROTOCOL = 1


class _Star:
    def __repr__(self) -> str:
        return "*"


def treespec_pprint(treespec: TreeSpec) -> str:
    """The spec drawn as its container with ``*`` for each leaf: ``"{'a': [*, (*,)]}"``."""
    return repr(treespec.unflatten([_Star()] * treespec.num_leaves))


def _to_json(spec: TreeSpec) -> dict:
    if spec.type is None:
        return {"type": None, "context": None, "children_spec": []}
    node = SUPPORTED_NODES[spec.type]
    if spec.type is namedtuple:
        raise NotImplementedError(
            f"treespec_dumps: cannot serialize the namedtuple class {spec.context}: chainrule "
            "has no registry of namedtuple names"
        )
    if node.serialized_type_name is None:
        raise NotImplementedError(
            f"No registered serialization name for {spec.type} found. Please update your "
            "register_pytree_node call with a `serialized_type_name` kwarg."
        )
    if node.to_dumpable_context is not None:
        context = node.to_dumpable_context(spec.context)
    else:
        context = json.dumps(spec.context)
    return {
        "type": node.serialized_type_name,
        "context": context,
        "children_spec": [_to_json(c) for c in spec._children],
    }


def _from_json(obj: dict) -> TreeSpec:
    name = obj["type"]
    if name is None:
        return LeafSpec()
    node = _BY_SERIALIZED_NAME.get(name)
    if node is None:
        raise NotImplementedError(f"Deserializing {name} in pytree is not registered.")
    if node.from_dumpable_context is not None:
        context = node.from_dumpable_context(obj["context"])
    else:
        context = json.loads(obj["context"])
    return TreeSpec(node.type, context, [_from_json(c) for c in obj["children_spec"]])


def _check_protocol(protocol: Any) -> None:
    if protocol != _PROTOCOL:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [{_PROTOCOL}]")


def treespec_dumps(treespec: TreeSpec, protocol: int | None = None) -> str:
    """``treespec`` as PyTorch's JSON text (protocol 1; None means 1).

    Raises:
        ValueError: an unknown protocol.
        NotImplementedError: a node type without a ``serialized_type_name``, or a namedtuple.
    """
    protocol = _PROTOCOL if protocol is None else protocol
    _check_protocol(protocol)
    return json.dumps([protocol, _to_json(treespec)])


def treespec_loads(serialized: str) -> TreeSpec:
    """The :class:`TreeSpec` written by :func:`treespec_dumps` (here or by PyTorch)."""
    protocol, obj = json.loads(serialized)
    _check_protocol(protocol)
    return _from_json(obj)
