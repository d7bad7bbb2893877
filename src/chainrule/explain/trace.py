"""Walk a backward pass step by step and record what the chain rule does at every node.

:func:`backward` visits the graph in exactly the engine's order (Kahn's algorithm with the
same dependency counts and the same ready-stack, see ``autograd/engine.py``) and records,
for every op node:

* its inputs' values (where the graph still holds them),
* the **upstream** gradient U = dL/d(output), already summed over all consumers,
* the **local** gradient L = d(output)/d(input): for elementwise ops it is the node's own
  backward rule applied to a ones upstream (the diagonal of the Jacobian); for other ops
  (matmul, sum, reshape ...) the Jacobian is never formed, and the step is described as
  the vector-Jacobian product U·J,
* the **downstream** gradient U x L sent to each input, and where gradients from several
  paths are summed.

It does not modify ``.grad`` or free the graph, so a normal ``backward()`` can follow.
"""
from __future__ import annotations

from typing import Any

from .report import Explanation, InputStep, Step

# Ops whose Jacobian is diagonal (output element i depends only on input element i), so
# calling the backward rule with a ones upstream yields the local derivative itself.
ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Neg", "Exp", "Log", "Log1p",
    "Expm1", "Sqrt", "Sin", "Cos", "Tan", "Tanh", "Sigmoid", "Relu", "Abs", "Erf",
    "Softplus", "Clamp", "Where", "Cast", "Rsqrt", "Reciprocal", "Square", "LeakyRelu", "Gelu",
    "Elu", "Silu",
}

SYMBOLS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**"}


def backward(output: Any, names: dict | None = None, gradient: Any = None,
             formulas: dict | None = None, output_name: str = "f") -> Explanation:
    """Explain the backward pass of ``output`` node by node.

    Args:
        output: the tensor to differentiate (usually a scalar loss).
        names: optional ``{name: tensor}`` for leaves (inputs, parameters) and intermediate
            results; named intermediates also supply values the graph did not save.
            ``dict(model.named_parameters())`` works. Unnamed op results are labelled by
            their op and step number, unnamed leaves ``input0, input1, ...``.
        gradient: the upstream gradient of ``output`` (ones for a scalar when omitted).
        formulas: optional ``{name: "x1 + x2"}`` describing each named intermediate.
        output_name: the label of the output (the lectures call it ``f``).

    Returns:
        An :class:`Explanation` (``str(e)`` is a text table; ``.to_markdown()``,
        ``.to_dict()``, ``.to_json()``, ``.gradients`` give the other forms).

    Raises:
        RuntimeError: if ``output`` does not require grad or the graph was already freed.
    """
    from .. import no_grad
    from ..autograd.engine import count_dependencies
    from ..autograd.tensor import Tensor, _root_grad
    from ..ops.shape import sum_to

    if not isinstance(output, Tensor) or not output.requires_grad or output.grad_fn is None:
        raise RuntimeError("explain.backward: the output must be the result of ops on tensors "
                           "with requires_grad=True (it has no grad_fn)")
    names = dict(names or {})
    formulas = dict(formulas or {})
    root_grad = _root_grad(output, gradient, "explain.backward()")

    # names of tensors: leaves by identity, intermediates by (node, output_nr)
    leaf_name: dict[int, str] = {}
    inter_name: dict = {}
    values: dict = {}  # (node, nr) -> array
    for n, t in names.items():
        if not isinstance(t, Tensor):
            continue
        if t.grad_fn is None:
            leaf_name[id(t)] = n
        else:
            inter_name[(t.grad_fn, t._output_nr)] = n
            values[(t.grad_fn, t._output_nr)] = t.data
    key_out = (output.grad_fn, output._output_nr)
    inter_name.setdefault(key_out, output_name)
    values[key_out] = output.data

    # 1. discovery and dependency counts: exactly the engine's
    deps = count_dependencies([output.grad_fn])
    for node in deps:
        if node._freed:
            raise RuntimeError(f"explain.backward: {node.name()} was already freed by an earlier "
                               "backward(); explain before calling backward() or pass "
                               "retain_graph=True to it")
        _harvest_values(node, values)

    # forward order = reverse of the engine's processing order; compute that order first
    order = _engine_order(deps)
    step_of = {node: i for i, node in enumerate(order)}
    n_unnamed = 0
    forward_idx = {node: len(order) - i for i, node in enumerate(order)}
    for node in order:
        nr_list = range(len(node._out_meta)) if node._out_meta is not None else (0,)
        for nr in nr_list:
            if (node, nr) not in inter_name:
                inter_name[(node, nr)] = f"{_op(node).lower()}{forward_idx[node]}"
                n_unnamed += 1

    leaf_counter = [0]

    def name_leaf(t) -> str:
        n = leaf_name.get(id(t))
        if n is None:
            n = leaf_name[id(t)] = f"input{leaf_counter[0]}"
            leaf_counter[0] += 1
        return n

    # pre-name leaves in forward order so that input0 is the first one used
    for node in reversed(order):
        for e in node.next_edges:
            if e is not None and type(e) is not tuple:
                name_leaf(e)

    # 2. the walk, mirroring run_backward: buffers summed over paths before a node runs
    buffers: dict = {output.grad_fn: {output._output_nr: [root_grad.data]}}
    leaf_parts: dict[int, list] = {}
    leaf_tensors: dict[int, Any] = {}
    steps: list[Step] = []
    with no_grad():
        for node in order:
            parts = buffers.pop(node, None)
            if parts is None:
                continue
            n_out = len(node._out_meta) if node._out_meta is not None else 1
            gouts = []
            paths = []
            for nr in range(n_out):
                got = parts.get(nr)
                if got is None:
                    shape, dtype = node._out_meta[nr]
                    import numpy as np
                    gouts.append(Tensor._make(np.zeros(shape, dtype), False, None, 0))
                    paths.append(0)
                else:
                    total = got[0]
                    for g in got[1:]:
                        total = total + g
                    gouts.append(Tensor._make(total, False, None, 0))
                    paths.append(len(got))
            res = _as_tuple(node.fn.backward(node, *gouts), len(node.next_edges))
            op = _op(node)
            elementwise = op in ELEMENTWISE and n_out == 1
            local = None
            if elementwise:
                ones = Tensor._make(_ones_like(gouts[0].data), False, None, 0)
                local = _as_tuple(node.fn.backward(node, ones), len(node.next_edges))
            out_label = inter_name[(node, 0)]
            in_labels = []
            for edge in node.next_edges:
                if edge is None:
                    in_labels.append("const")
                elif type(edge) is tuple:
                    in_labels.append(inter_name[edge])
                else:
                    in_labels.append(name_leaf(edge))
            inputs = []
            for i, (edge, g, meta) in enumerate(zip(node.next_edges, res, node.input_meta)):
                if edge is None or g is None:
                    continue
                garr = g.data if isinstance(g, Tensor) else g
                shape, dtype = meta
                summed = garr.shape != shape
                if summed:
                    garr = sum_to(Tensor._make(garr, False, None, 0), shape).data
                if type(edge) is tuple:
                    value = values.get(edge)
                    buffers.setdefault(edge[0], {}).setdefault(edge[1], []).append(garr)
                else:
                    value = edge.data
                    leaf_parts.setdefault(id(edge), []).append(garr)
                    leaf_tensors[id(edge)] = edge
                loc = None
                if local is not None and local[i] is not None:
                    loc = local[i].data if isinstance(local[i], Tensor) else local[i]
                inputs.append(InputStep(
                    name=in_labels[i], value=value, local=loc, downstream=garr,
                    broadcast_summed=summed, is_leaf=type(edge) is not tuple))
            formula = formulas.get(out_label) or _formula(node, op, in_labels)
            steps.append(Step(
                index=len(steps) + 1, name=out_label, op=op, node=node.name(), formula=formula,
                value=values.get((node, 0)), upstream=gouts[0].data, upstream_paths=paths[0],
                elementwise=elementwise, inputs=inputs))
    gradients = {}
    paths = {}
    for lid, gs in leaf_parts.items():
        total = gs[0]
        for g in gs[1:]:
            total = total + g
        n = name_leaf(leaf_tensors[lid])
        gradients[n] = total
        paths[n] = len(gs)
    del step_of
    return Explanation(output_name=inter_name[key_out], output_value=output.data, steps=steps,
                       gradients=gradients, paths=paths)


def _engine_order(deps: dict) -> list:
    """The order in which ``engine.run_backward`` runs the nodes (same ready stack)."""
    deps = dict(deps)
    ready = [n for n in deps if deps[n] == 0]
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


def _harvest_values(node, values: dict) -> None:
    """Collect values of intermediate results that some node saved for its backward."""
    entries = node._saved_entries
    if not entries:
        return
    for e in entries:
        if e is None:
            continue
        if e[0] == "t":
            t = e[1]
            if t.grad_fn is not None:
                values.setdefault((t.grad_fn, t._output_nr), t.data)
        elif e[0] == "o":
            values.setdefault((node, e[1]), e[2])


def _op(node) -> str:
    name = node.name()
    return name.removesuffix("Backward")


def _formula(node, op: str, labels: list[str]) -> str:
    if op in SYMBOLS and len(labels) == 2:
        return f"{labels[0]} {SYMBOLS[op]} {labels[1]}"
    if op == "Neg":
        return f"-{labels[0]}"
    return f"{op.lower()}({', '.join(labels)})"


def _ones_like(arr):
    from ..backend import get_array_module

    return get_array_module(arr).ones_like(arr)


def _as_tuple(res, n: int) -> tuple:
    if not isinstance(res, tuple):
        res = (res,)
    return tuple(res[:n]) + (None,) * max(0, n - len(res))
