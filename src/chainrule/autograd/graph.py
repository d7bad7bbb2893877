"""The public way to look at a recorded graph: the order backward runs it in, and each node's
input edges and saved values.

The engine (``engine.run_backward``), the backward explainer (``cr.explain``) and the graph
drawer (``cr.viz``) all walk the graph with :func:`topological_order`, so what they show is
exactly what the engine does. A node is a :class:`~chainrule.autograd.function.Node`; its
public view is ``name()``, ``fn``, :func:`input_edges`, ``num_outputs``, ``output_meta(nr)``,
``saved_values`` (:class:`SavedInput` / :class:`SavedOutput` / :class:`SavedConstant`) and
``is_freed``.

Example:
    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> [node.name() for node in cr.autograd.graph.walk(y)]
    ['SumBackward0', 'MulBackward0']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from .function import Node, SavedConstant, SavedInput, SavedOutput
from .tensor import Tensor

__all__ = [
    "Edge",
    "input_edges",
    "count_dependencies",
    "topological_order",
    "walk",
    "Node",
    "SavedInput",
    "SavedOutput",
    "SavedConstant",
]


class Edge(NamedTuple):
    """One input of a node that receives a gradient.

    Attributes:
        index: the input's position among the op's positional arguments.
        node: the op node that produced the input, or None when the input is a leaf.
        output_nr: which output of ``node`` the input is (0 for a leaf).
        leaf: the leaf Tensor itself when ``node`` is None, else None.
        shape: the input's shape (gradients are summed back to it).
        dtype: the input's dtype.
    """

    index: int
    node: Node | None
    output_nr: int
    leaf: Tensor | None
    shape: tuple
    dtype: Any


def input_edges(node: Node) -> tuple[Edge, ...]:
    """The inputs of ``node`` that receive a gradient, in argument order."""
    out = []
    for i, (e, meta) in enumerate(zip(node.next_edges, node.input_meta)):
        if e is None:
            continue
        if type(e) is tuple:
            out.append(Edge(i, e[0], e[1], None, meta[0], meta[1]))
        else:
            out.append(Edge(i, None, 0, e, meta[0], meta[1]))
    return tuple(out)


def count_dependencies(roots: Iterable[Node | None]) -> dict[Node, int]:
    """Discover the graph reachable from ``roots`` (iteratively: a chain of 100 000 ops is
    fine) and count, for every node, how many of its consumers will send it a gradient."""
    deps: dict = {}
    stack = []
    for node in roots:
        if node is not None and node not in deps:
            deps[node] = 0
            stack.append(node)
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if type(e) is tuple:
                nxt = e[0]
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
    return deps


def topological_order(roots: Iterable[Node | None]) -> list[Node]:
    """The nodes reachable from ``roots`` in the order the engine runs their backward rules.

    Kahn's algorithm: a node comes after every consumer of its outputs, so by the time it
    runs, the gradients arriving over all paths have been summed. Ties are broken by a
    last-in-first-out stack (depth first), which keeps few gradients alive at once.
    """
    deps = count_dependencies(roots)
    ready = [n for n, d in deps.items() if d == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for e in node.next_edges:
            if type(e) is tuple:
                nxt = e[0]
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
    return order


def walk(outputs: Tensor | Iterable[Tensor]) -> Iterator[Node]:
    """Yield the op nodes behind ``outputs`` (a tensor or several) in the engine's order,
    from the outputs back to the leaves. Leaves are reached through :func:`input_edges`."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    yield from topological_order([o.grad_fn for o in outs])
