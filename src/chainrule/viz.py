"""Draw the computation graph behind a tensor (``cr.viz.draw_graph``).

Leaves (named parameters, inputs) are ellipses, op nodes are boxes labelled with the op
and its output shape, and edges point in the direction data flows (input -> op -> output),
the way the lectures draw a graph. The result is a :class:`graphviz.Digraph`: ``.source``
is the DOT text, ``.render(path, format="svg")`` writes a file (needs the ``dot`` program),
and Jupyter shows it inline.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from .autograd.graph import SavedConstant, SavedInput, SavedOutput, input_edges, walk
from .autograd.saved import SavedPacked
from .autograd.tensor import Tensor
from .explain.report import fmt


def _graphviz():
    try:
        import graphviz  # an optional dependency (the viz extra): imported when drawing
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "cr.viz.draw_graph needs the 'graphviz' Python package: pip install chainrule[viz]"
        ) from None
    return graphviz


_GRAPH_CLASS: list = []


def _graph_class():
    """A ``graphviz.Digraph`` whose ``render`` explains how to get ``dot`` if it is missing."""
    if not _GRAPH_CLASS:
        gv = _graphviz()

        class Graph(gv.Digraph):
            def render(self, *args: Any, **kwargs: Any):
                check_dot()
                return super().render(*args, **kwargs)

        _GRAPH_CLASS.append(Graph)
    return _GRAPH_CLASS[0]


def check_dot() -> None:
    """Raise a clear error if Graphviz's ``dot`` program (needed to render) is missing."""
    if shutil.which("dot") is None:
        raise RuntimeError(
            "rendering a graph needs Graphviz's 'dot' program, which was not "
            "found on PATH; install it (apt-get install graphviz, brew install "
            "graphviz, or conda install graphviz) or use .source for DOT text"
        )


def _summary(arr: Any) -> str:
    return fmt(arr)


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")" if len(shape) != 1 else f"({shape[0]},)"


def draw_graph(
    output: Any,
    params: dict | None = None,
    show_shapes: bool = True,
    show_saved: bool = False,
    show_grads: bool = False,
    inputs: dict | None = None,
    rankdir: str = "LR",
    title: str | None = None,
):
    """The computation graph that produced ``output``, as a Graphviz digraph.

    Args:
        output: a tensor (or a list of tensors) with a ``grad_fn``.
        params: ``{name: tensor}`` naming leaves, e.g. ``dict(model.named_parameters())``.
        show_shapes: label op nodes and leaves with tensor shapes.
        show_saved: list the shapes of the values each op saved for its backward.
        show_grads: after ``backward()``, show each leaf's ``.grad`` (a number, or a summary).
        inputs: more ``{name: tensor}`` for non-parameter leaves (drawn in another colour).
        rankdir: Graphviz layout direction (``"LR"`` left to right, ``"TB"`` top to bottom).
        title: an optional graph label.

    Returns:
        A ``graphviz.Digraph``; ``.source`` gives the DOT text.

    Raises:
        ImportError: without the ``graphviz`` package (``pip install chainrule[viz]``).
        ValueError: if ``output`` is not part of a graph.
    """
    outs = list(output) if isinstance(output, (list, tuple)) else [output]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"draw_graph: expected Tensor outputs, got {type(o).__name__}")
    names: dict[int, str] = {}
    kinds: dict[int, str] = {}
    for src, kind in ((params, "param"), (inputs, "input")):
        for n, t in (src or {}).items():
            names[id(t)] = n
            kinds[id(t)] = kind
    dot = _graph_class()(
        "graph",
        graph_attr={"rankdir": rankdir, "fontsize": "11"},
        node_attr={"fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    if title:
        dot.attr(label=title, labelloc="t")

    node_ids: dict = {}
    seen_leaf: dict[int, str] = {}
    counter = [0]

    def new_id(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def leaf(t) -> str:
        lid = seen_leaf.get(id(t))
        if lid is not None:
            return lid
        lid = seen_leaf[id(t)] = new_id("leaf")
        name = names.get(id(t))
        kind = kinds.get(id(t), "input")
        label = name if name is not None else "input"
        if show_shapes and t.ndim:
            label += f"\n{_shape(tuple(t.shape))}"
        if t.numel() == 1 and name is not None and not show_grads:
            label += f"\n= {_summary(t._data)}"
        if show_grads and t.grad is not None:
            label += f"\ngrad {_summary(t.grad._data)}"
        color = "#cfe8cf" if kind == "param" else "#d6e4f5"
        dot.node(lid, label, shape="ellipse", style="filled", fillcolor=color)
        return lid

    # The op nodes (in the engine's order) and the shape of each op output.
    out_shape: dict = {}
    for o in outs:
        if o.grad_fn is not None:
            out_shape[(o.grad_fn, o._output_nr)] = tuple(o.shape)
    order = list(walk(outs))
    for node in order:
        for e in input_edges(node):
            if e.node is not None:
                out_shape.setdefault((e.node, e.output_nr), tuple(e.shape))
    if not order and not any(o.grad_fn is None and o.requires_grad for o in outs):
        raise ValueError(
            "draw_graph: the output has no grad_fn; build it from tensors with "
            "requires_grad=True (outside no_grad())"
        )
    for node in order:
        nid = node_ids[node] = new_id("op")
        name = node.name()
        label = name.removesuffix("Backward")
        if show_shapes:
            shapes = [out_shape.get((node, nr)) for nr in range(node.num_outputs)]
            shown = [_shape(s) for s in shapes if s]
            if shown:
                label += "\n" + " ".join(shown)
        if show_saved:
            saved = _saved_shapes(node)
            if saved:
                label += "\nsaved: " + ", ".join(saved)
        dot.node(nid, label, shape="box", style="rounded,filled", fillcolor="#f5f0d6")
    for node in order:
        for e in input_edges(node):
            if e.node is not None:
                dot.edge(node_ids[e.node], node_ids[node])
            else:
                dot.edge(leaf(e.leaf), node_ids[node])
    for i, o in enumerate(outs):
        oid = new_id("out")
        label = "output" if len(outs) == 1 else f"output {i}"
        if show_shapes and o.ndim:
            label += f"\n{_shape(tuple(o.shape))}"
        if o.numel() == 1:
            label += f"\n= {_summary(o._data)}"
        dot.node(oid, label, shape="doubleoctagon", style="filled", fillcolor="#f5d6d6")
        if o.grad_fn is not None:
            dot.edge(node_ids[o.grad_fn], oid)
        else:
            dot.edge(leaf(o), oid)
    return dot


def _saved_shapes(node) -> list[str]:
    """The shapes of the arrays a node saved for its backward (none once freed)."""
    out = []
    for e in node.saved_values:
        if isinstance(e, SavedInput):
            v = e.tensor._data
        elif isinstance(e, SavedOutput):
            v = e.array
        elif isinstance(e, SavedConstant):
            v = e.value
        elif isinstance(e, SavedPacked):  # inside saved_tensors_hooks: the saved shape
            out.append(_shape(tuple(e.shape)))
            continue
        else:
            continue
        if hasattr(v, "shape"):
            out.append(_shape(tuple(v.shape)))
    return out


def render(graph, path: str, format: str = "svg") -> str:
    """Write ``graph`` to ``path`` (extension added from ``format`` if missing).

    Raises:
        RuntimeError: if Graphviz's ``dot`` program is not installed.
    """
    check_dot()
    base, ext = os.path.splitext(path)
    if ext.lstrip(".").lower() == format.lower():
        path = base
    return graph.render(path, format=format, cleanup=True)
