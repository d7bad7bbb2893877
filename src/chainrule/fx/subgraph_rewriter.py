"""``cr.fx.subgraph_rewriter`` (``torch.fx.subgraph_rewriter``): find every occurrence of a
pattern in a GraphModule's graph and replace it with another computation.

``replace_pattern(gm, pattern, replacement)`` traces ``pattern`` and ``replacement`` (two
functions or modules with the same inputs), finds the places where the pattern's nodes
occur in ``gm.graph`` with the same ops, targets and constant arguments (a pattern input
matches any value: a node or a constant), and splices a copy of the replacement in at each,
so that graph rewrites (fusing ops, swapping an implementation) take a few lines. Matches
are found on the original graph, first to last; one that shares an op node with an earlier
match is skipped, and so is one whose inner nodes are read outside it (replacing it would
drop values still in use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .. import nn
from .graph import Graph
from .graph_module import GraphModule
from .node import Node, map_arg
from .tracer import symbolic_trace

__all__ = [
    "InternalMatch",
    "Match",
    "ReplacedPatterns",
    "replace_pattern",
    "replace_pattern_with_filters",
]


class Match(NamedTuple):
    """One replaced occurrence: ``anchor`` (the pattern node the search started from, the
    one the pattern returns) and ``nodes_map`` (each pattern node -> what it matched in the
    graph: a node, or a constant for a pattern input)."""

    anchor: Node
    nodes_map: dict[Node, Any]


class InternalMatch(NamedTuple):
    """What a ``match_filters`` function sees of one match (torch's ``InternalMatch``):
    ``anchors`` (the pattern's returned node), ``nodes_map`` (pattern node -> graph value),
    ``placeholder_nodes`` (the graph values bound to the pattern's inputs, in order) and
    ``returning_nodes`` (the graph nodes the pattern's result matched)."""

    anchors: list[Node]
    nodes_map: dict[Node, Any]
    placeholder_nodes: list[Any]
    returning_nodes: list[Node]


class ReplacedPatterns(NamedTuple):
    """One replaced occurrence (``replace_pattern_with_filters``' result): ``anchor``,
    ``nodes_map`` and ``replacements`` (the nodes inserted in its place)."""

    anchor: Node
    nodes_map: dict[Node, Any]
    replacements: list[Node]


def _graph_of(fn: Callable | nn.Module | GraphModule) -> GraphModule:
    return fn if isinstance(fn, GraphModule) else symbolic_trace(fn)


_LOOSE = [False]  # ignore_literals of the running search: any literal matches any literal


def _match_arg(pa: Any, ga: Any, nodes_map: dict[Node, Any], taken: set[Node]) -> bool:
    if isinstance(pa, Node):
        return _match_node(pa, ga, nodes_map, taken)
    if _LOOSE[0] and not isinstance(ga, (Node, tuple, list, dict)):
        return not isinstance(pa, (tuple, list, dict))
    if isinstance(pa, (tuple, list)):
        return (
            type(pa) is type(ga)
            and len(pa) == len(ga)
            and all(_match_arg(a, b, nodes_map, taken) for a, b in zip(pa, ga))
        )
    if isinstance(pa, dict):
        return (
            isinstance(ga, dict)
            and pa.keys() == ga.keys()
            and all(_match_arg(pa[k], ga[k], nodes_map, taken) for k in pa)
        )
    return type(pa) is type(ga) and pa == ga


def _match_node(pn: Node, gn: Any, nodes_map: dict[Node, Any], taken: set[Node]) -> bool:
    """Whether pattern node ``pn`` matches ``gn`` given the matches so far (filled in
    ``nodes_map`` on success; the caller discards the dict on failure)."""
    if pn in nodes_map:
        return nodes_map[pn] is gn
    if pn.op == "placeholder":
        nodes_map[pn] = gn
        return True
    if not isinstance(gn, Node) or gn in taken or pn.op != gn.op or pn.target != gn.target:
        return False
    if any(v is gn for p, v in nodes_map.items() if p.op != "placeholder"):
        return False
    if len(pn.args) != len(gn.args) or pn.kwargs.keys() != gn.kwargs.keys():
        return False
    nodes_map[pn] = gn
    return all(_match_arg(a, b, nodes_map, taken) for a, b in zip(pn.args, gn.args)) and all(
        _match_arg(pn.kwargs[k], gn.kwargs[k], nodes_map, taken) for k in pn.kwargs
    )


def _anchor(pattern: Graph) -> Node:
    out = pattern.output_node()
    result = out.args[0]
    if not isinstance(result, Node) or result.op == "placeholder":
        raise NotImplementedError(
            "replace_pattern: the pattern must return one value computed from its inputs "
            f"(got {result!r}); patterns returning several values are not supported"
        )
    return result


def _find(graph: Graph, pattern: Graph) -> list[Match]:
    """The non-overlapping, self-contained matches of ``pattern`` in ``graph``, in order."""
    anchor = _anchor(pattern)
    taken: set[Node] = set()
    found = []
    for gn in graph.nodes:
        nodes_map: dict[Node, Any] = {}
        if not _match_node(anchor, gn, nodes_map, taken):
            continue
        inner = {nodes_map[p] for p in nodes_map if p.op != "placeholder"}
        escapes = any(user not in inner for g in inner if g is not gn for user in g.users)
        if escapes:
            continue
        taken |= inner
        found.append(Match(anchor, nodes_map))
    return found


def _copy_attrs(gm: GraphModule, source: Any, graph: Graph) -> None:
    """Give ``gm`` the submodules and attributes the replacement's nodes read."""
    for node in graph.nodes:
        if node.op in ("call_module", "get_attr") and not _has_path(gm, node.target):
            value = source.get_submodule(node.target) if node.op == "call_module" else None
            if value is None:
                *path, name = node.target.split(".")
                owner = source.get_submodule(".".join(path)) if path else source
                value = getattr(owner, name)
            if isinstance(value, nn.Module):
                gm.add_submodule(node.target, value)
            else:
                *path, name = node.target.split(".")
                setattr(gm.get_submodule(".".join(path)) if path else gm, name, value)


def _has_path(root: Any, target: str) -> bool:
    for part in target.split("."):
        if not hasattr(root, part):
            return False
        root = getattr(root, part)
    return True


def replace_pattern(
    gm: GraphModule, pattern: Callable | GraphModule, replacement: Callable | GraphModule
) -> list[Match]:
    """``torch.fx.subgraph_rewriter.replace_pattern``: replace each match of ``pattern`` in
    ``gm.graph`` by ``replacement`` (both traced when not GraphModules; the replacement's
    inputs are bound to the pattern's, by position), then recompile ``gm``. Returns the
    matches replaced (see the module docstring for which ones count).

    Raises:
        NotImplementedError: a pattern returning several values (or an input unchanged).
        ValueError: ``pattern`` and ``replacement`` take different numbers of inputs.
    """
    done = _replace(gm, pattern, replacement, None, False, None, "")
    return [Match(r.anchor, r.nodes_map) for r in done]


def replace_pattern_with_filters(
    gm: GraphModule,
    pattern: Callable | GraphModule,
    replacement: Callable | GraphModule | None = None,
    match_filters: list[Callable[[InternalMatch, Graph, Graph], bool]] | None = None,
    ignore_literals: bool = False,
    replacement_callback: Callable[[InternalMatch, Graph, Graph], Graph] | None = None,
    node_name_match: str = "",
) -> list[ReplacedPatterns]:
    """``torch.fx.subgraph_rewriter.replace_pattern_with_filters``: :func:`replace_pattern`
    keeping only the matches every ``match_filters`` function accepts (called with the
    match, ``gm.graph`` and the pattern's graph); ``ignore_literals`` lets any constant
    match any constant; ``replacement_callback(match, graph, pattern_graph)`` gives each
    match's replacement graph (instead of ``replacement``).

    Raises:
        ValueError: neither ``replacement`` nor ``replacement_callback`` is given.
        NotImplementedError: ``node_name_match`` (its matching rule is not provided).
    """
    if node_name_match:
        raise NotImplementedError(
            f"replace_pattern_with_filters: node_name_match={node_name_match!r} is not "
            "supported (pass match_filters to select matches by node name)"
        )
    if replacement is None and replacement_callback is None:
        raise ValueError(
            "replace_pattern_with_filters: give a replacement or a replacement_callback"
        )
    return _replace(
        gm,
        pattern,
        replacement,
        match_filters,
        ignore_literals,
        replacement_callback,
        node_name_match,
    )


def _replace(
    gm: GraphModule,
    pattern: Any,
    replacement: Any,
    match_filters: Any,
    ignore_literals: bool,
    replacement_callback: Any,
    node_name_match: str,
) -> list[ReplacedPatterns]:
    """The rewrite both public functions run."""
    if not isinstance(gm, GraphModule):
        raise TypeError(f"replace_pattern: expected a GraphModule, got {type(gm).__name__}")
    pattern_gm = _graph_of(pattern)
    p_inputs = [n for n in pattern_gm.graph.nodes if n.op == "placeholder"]
    graph = gm.graph
    _LOOSE[0] = bool(ignore_literals)
    try:
        matches = _find(graph, pattern_gm.graph)
    finally:
        _LOOSE[0] = False

    def internal(m: Match) -> InternalMatch:
        return InternalMatch(
            [m.anchor], m.nodes_map, [m.nodes_map[p] for p in p_inputs], [m.nodes_map[m.anchor]]
        )

    for keep in match_filters or ():
        matches = [m for m in matches if keep(internal(m), graph, pattern_gm.graph)]
    replaced: dict[Node, Any] = {}
    out: list[ReplacedPatterns] = []

    def current(v: Any) -> Any:
        while isinstance(v, Node) and v in replaced:
            v = replaced[v]
        return v

    for match in matches:
        if replacement_callback is not None:
            r_graph = replacement_callback(internal(match), graph, pattern_gm.graph)
            replacement_gm = GraphModule(nn.Module(), r_graph)
        else:
            replacement_gm = _graph_of(replacement)
        r_inputs = [n for n in replacement_gm.graph.nodes if n.op == "placeholder"]
        if len(p_inputs) != len(r_inputs):
            raise ValueError(
                f"replace_pattern: the pattern takes {len(p_inputs)} inputs and the "
                f"replacement {len(r_inputs)}; they must take the same inputs"
            )
        _copy_attrs(gm, replacement_gm, replacement_gm.graph)
        old = match.nodes_map[match.anchor]
        for p in p_inputs:  # an input an earlier replacement produced: its new node
            match.nodes_map[p] = current(match.nodes_map[p])
        val_map = {r: match.nodes_map[p] for p, r in zip(p_inputs, r_inputs)}
        order = {n: i for i, n in enumerate(graph.nodes)}
        first_user = min(old.users, key=order.__getitem__)
        before = set(graph.nodes)
        with graph.inserting_before(first_user):
            new = graph.graph_copy(replacement_gm.graph, val_map)
        new = map_arg(new, current)
        if not isinstance(new, Node):
            raise NotImplementedError(
                "replace_pattern: the replacement must return one value computed in it"
            )
        old.replace_all_uses_with(new)
        replaced[old] = new
        inner = [match.nodes_map[p] for p in match.nodes_map if p.op != "placeholder"]
        for node in sorted(inner, key=order.__getitem__, reverse=True):
            if not node.users:
                graph.erase_node(node)
        added = [n for n in graph.nodes if n not in before]
        out.append(ReplacedPatterns(match.anchor, match.nodes_map, added))
    gm.recompile()
    return out
