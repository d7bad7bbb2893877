"""Pickling a :class:`~chainrule.fx.GraphModule` (``pickle.dumps(gm)``, ``torch.save`` of a
traced model), as torch's: the module's submodules, parameters and buffers, and its graph as
a list of node records (op, name, target, arguments with nodes named), rebuilt into a new
``GraphModule`` (named ``GraphModule``, as a deep copy is) on load.

A ``call_function`` target is stored by the name the generated code uses for it
(``chainrule.relu``, ``operator.add``) when importing that name gives the same function
back, else as itself (pickled by reference, as any function).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from .. import nn
from .graph import Graph
from .node import Node, _qualified_name, map_arg

__all__ = ["reduce_graph_module", "rebuild_graph_module"]


class NodeRef(NamedTuple):
    """A node in a pickled graph record: the node's name."""

    name: str


class TargetRef(NamedTuple):
    """A ``call_function`` target pickled by its qualified name."""

    qualified_name: str


def _resolve(qualified: str) -> Any:
    """The object at ``module.attr.attr`` (the longest importable module prefix)."""
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"GraphModule unpickling: cannot import {qualified!r}")


def _target_record(node: Node) -> Any:
    if node.op != "call_function":
        return node.target
    name = _qualified_name(node.target)
    try:
        if _resolve(name) is node.target:
            return TargetRef(name)
    except (ImportError, AttributeError):
        pass
    return node.target


def graph_records(graph: Graph) -> list[tuple]:
    """The graph as (op, name, target, args, kwargs) records, nodes as :class:`NodeRef`."""
    out = []
    for node in graph.nodes:
        args = map_arg(node.args, lambda n: NodeRef(n.name))
        kwargs = map_arg(node.kwargs, lambda n: NodeRef(n.name))
        out.append((node.op, node.name, _target_record(node), args, kwargs))
    return out


def graph_from_records(records: list[tuple]) -> Graph:
    """The :class:`Graph` that :func:`graph_records` describes."""
    graph = Graph()
    by_name: dict[str, Node] = {}

    def node_of(a: Any) -> Any:
        if isinstance(a, NodeRef):
            return by_name[a.name]
        if isinstance(a, (tuple, list)) and not hasattr(a, "_fields"):
            return type(a)(node_of(x) for x in a)
        if isinstance(a, dict):
            return {k: node_of(v) for k, v in a.items()}
        return a

    for op, name, target, args, kwargs in records:
        if isinstance(target, TargetRef):
            target = _resolve(target.qualified_name)
        node = graph.create_node(op, target, node_of(args), node_of(kwargs), name)
        by_name[name] = node
    return graph


def reduce_graph_module(gm: Any) -> tuple:
    """``GraphModule.__reduce__``: a plain module holding the submodules, parameters and
    buffers, the graph's records and ``meta``."""
    root = nn.Module()
    for name, value in gm._modules.items():
        setattr(root, name, value)
    for name, value in gm._parameters.items():
        setattr(root, name, value)
    for name, value in gm._buffers.items():
        root.register_buffer(name, value)
    root.training = gm.training
    return (rebuild_graph_module, (root, graph_records(gm.graph), dict(gm.meta)))


def rebuild_graph_module(root: Any, records: list[tuple], meta: dict) -> Any:
    """The GraphModule :func:`reduce_graph_module` describes."""
    from .graph_module import GraphModule  # noqa: PLC0415 - graph_module imports this module

    gm = GraphModule(root, graph_from_records(records))
    gm.meta = meta
    return gm
