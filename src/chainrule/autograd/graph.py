"""The public way to look at a recorded graph: the order backward runs it in, and each node's
input edges and saved values.

The engine (``engine.run_backward``), the backward explainer (``cr.explain``) and the graph
drawer (``cr.viz``) all walk the graph with :func:`topological_order`, so what they show is
exactly what the engine does. A node is a :class:`~chainrule.autograd.function.Node`; its
public view is ``name()``, ``fn``, :func:`input_edges`, ``num_outputs``, ``output_meta(nr)``,
``saved_values`` (:class:`SavedInput` / :class:`SavedOutput` / :class:`SavedConstant`) and
``is_freed``.

PyTorch's ``torch.autograd.graph`` names are here too: :class:`Node` (the abstract type of
every node, leaves' ``AccumulateGrad`` included), :class:`GradientEdge` and
:func:`get_gradient_edge` (``gradient_edge.py``), :func:`register_multi_grad_hook`
(``multi_grad_hook.py``), :func:`allow_mutation_on_saved_tensors` (``allow_mutation.py``),
:func:`increment_version`, and the saved-tensor hooks of ``saved_hooks.py``
(:class:`saved_tensors_hooks`, :class:`save_on_cpu`, :func:`disable_saved_tensors_hooks`).

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

from ..utils.hooks import RemovableHandle
from .allow_mutation import allow_mutation_on_saved_tensors
from .function import SavedConstant, SavedInput, SavedOutput
from .gradient_edge import GradientEdge, get_gradient_edge
from .graph_node import Node
from .multi_grad_hook import register_multi_grad_hook
from .saved_hooks import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks
from .state import InferenceVersionCounter
from .tensor import Tensor
from .variable import Variable

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
    "GradientEdge",
    "get_gradient_edge",
    "register_multi_grad_hook",
    "increment_version",
    "allow_mutation_on_saved_tensors",
    "saved_tensors_hooks",
    "save_on_cpu",
    "disable_saved_tensors_hooks",
    "RemovableHandle",
    "Variable",
    "region_activation_memory_budget",
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


def increment_version(tensor: Tensor | Iterable[Tensor]) -> None:
    """Record that ``tensor`` (or each tensor of an iterable) was modified in place behind
    autograd's back (PyTorch's ``torch.autograd.graph.increment_version``).

    Bumps the version counter (shared with the tensor's views), so a node that saved the
    tensor raises at backward instead of silently using the new values. Needed only after
    writing a tensor's memory directly (through ``.numpy()``, say): chainrule's in-place ops
    already do it. A tensor made inside ``inference_mode()`` has no version counter and is
    left alone, as in PyTorch.

    Raises:
        RuntimeError: ``tensor`` is neither a Tensor nor an iterable of Tensors (as PyTorch).
    """
    if isinstance(tensor, Tensor):
        tensors: Any = (tensor,)
    else:
        try:
            tensors = list(tensor)
        except TypeError:
            raise RuntimeError(
                f"increment_version expect a Iterable[Tensor] as input, got {type(tensor).__name__}"
            ) from None
        for t in tensors:
            if not isinstance(t, Tensor):
                raise RuntimeError(
                    "increment_version expects each element of the iterable to be a tensor, "
                    f"got {type(t).__name__}"
                )
    for t in tensors:
        vc = t._vc
        if type(vc) is not InferenceVersionCounter:  # no counter inside inference_mode
            vc[0] += 1


def region_activation_memory_budget(budget: float) -> Any:
    """PyTorch's activation-memory budget for a ``torch.compile`` region. It has no effect
    in eager mode, where PyTorch raises, and chainrule has no compiler: it raises the same."""
    raise RuntimeError(
        "torch.autograd.graph.region_activation_memory_budget can only be used inside a "
        "torch.compile region; it has no effect in eager mode."
    )
