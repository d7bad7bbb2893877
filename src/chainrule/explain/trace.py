"""Walk a backward pass step by step and record what the chain rule does at every node.

:func:`backward` visits the graph in exactly the engine's order (it walks it with the same
public :func:`chainrule.autograd.graph.topological_order` the engine uses) and records,
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

import re
from typing import Any

import numpy as np

from ..autograd.engine import sum_to_shape
from ..autograd.grad_mode import no_grad
from ..autograd.graph import SavedInput, SavedOutput, input_edges, topological_order
from ..autograd.tensor import Tensor
from ..autograd.tensor_backward import _root_grad
from ..backend import get_array_module
from .report import Explanation, InputStep, Step

# Ops whose Jacobian is diagonal (output element i depends only on input element i), so
# calling the backward rule with a ones upstream yields the local derivative itself.
ELEMENTWISE = {
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Maximum",
    "Minimum",
    "Neg",
    "Exp",
    "Log",
    "Log1p",
    "Expm1",
    "Sqrt",
    "Sin",
    "Cos",
    "Tan",
    "Tanh",
    "Sigmoid",
    "Relu",
    "Abs",
    "Erf",
    "Softplus",
    "Clamp",
    "Where",
    "ToCopy",
    "Rsqrt",
    "Reciprocal",
    "Square",
    "LeakyRelu",
    "Gelu",
    "Elu",
    "Silu",
}

_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")

SYMBOLS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**"}


def backward(
    output: Any,
    names: dict | None = None,
    gradient: Any = None,
    formulas: dict | None = None,
    output_name: str = "f",
) -> Explanation:
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
    if not isinstance(output, Tensor) or not output.requires_grad or output.grad_fn is None:
        raise RuntimeError(
            "explain.backward: the output must be the result of ops on tensors "
            "with requires_grad=True (it has no grad_fn)"
        )
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
            values[(t.grad_fn, t._output_nr)] = t._data
    key_out = (output.grad_fn, output._output_nr)
    inter_name.setdefault(key_out, output_name)
    values[key_out] = output._data

    # 1. the engine's order (forward order is its reverse)
    order = topological_order([output.grad_fn])
    for node in order:
        if node.is_freed:
            raise RuntimeError(
                f"explain.backward: {node.name()} was already freed by an earlier "
                "backward(); explain before calling backward() or pass "
                "retain_graph=True to it"
            )
        _harvest_values(node, values)
    forward_idx = {node: len(order) - i for i, node in enumerate(order)}
    for node in order:
        for nr in range(node.num_outputs):
            if (node, nr) not in inter_name:
                inter_name[(node, nr)] = f"{_op(node).lower()}{forward_idx[node]}"

    leaf_counter = [0]

    def name_leaf(t) -> str:
        n = leaf_name.get(id(t))
        if n is None:
            n = leaf_name[id(t)] = f"input{leaf_counter[0]}"
            leaf_counter[0] += 1
        return n

    # pre-name leaves in forward order so that input0 is the first one used
    for node in reversed(order):
        for e in input_edges(node):
            if e.leaf is not None:
                name_leaf(e.leaf)

    # 2. the walk, mirroring run_backward: buffers summed over paths before a node runs
    buffers: dict = {output.grad_fn: {output._output_nr: [root_grad._data]}}
    leaf_parts: dict[int, list] = {}
    leaf_tensors: dict[int, Any] = {}
    steps: list[Step] = []
    with no_grad():
        for node in order:
            parts = buffers.pop(node, None)
            if parts is None:
                continue
            n_out = node.num_outputs
            gouts = []
            paths = []
            for nr in range(n_out):
                got = parts.get(nr)
                if got is None:
                    shape, dtype = node.output_meta(nr)
                    gouts.append(Tensor._make(np.zeros(shape, dtype), False, None, 0))
                    paths.append(0)
                else:
                    total = got[0]
                    for g in got[1:]:
                        total = total + g
                    gouts.append(Tensor._make(total, False, None, 0))
                    paths.append(len(got))
            n_in = len(node.next_edges)
            res = _as_tuple(node._forward_cls.backward(node, *gouts), n_in)
            op = _op(node)
            elementwise = op in ELEMENTWISE and n_out == 1
            local = None
            if elementwise:
                ones = Tensor._make(_ones_like(gouts[0]._data), False, None, 0)
                local = _as_tuple(node._forward_cls.backward(node, ones), n_in)
            out_label = inter_name[(node, 0)]
            edges = input_edges(node)
            in_labels = ["const"] * n_in
            for e in edges:
                in_labels[e.index] = (
                    name_leaf(e.leaf) if e.leaf is not None else inter_name[(e.node, e.output_nr)]
                )
            inputs = []
            for e in edges:
                g = res[e.index]
                if g is None:
                    continue
                garr = g._data if isinstance(g, Tensor) else g
                summed = garr.shape != e.shape
                if summed:
                    garr = sum_to_shape(
                        Tensor._make(garr, False, None, 0), e.shape, False, node, e.index
                    )._data
                if e.leaf is None:
                    value = values.get((e.node, e.output_nr))
                    buffers.setdefault(e.node, {}).setdefault(e.output_nr, []).append(garr)
                else:
                    value = e.leaf._data
                    leaf_parts.setdefault(id(e.leaf), []).append(garr)
                    leaf_tensors[id(e.leaf)] = e.leaf
                loc = None
                if local is not None and local[e.index] is not None:
                    loc = local[e.index]
                    loc = loc._data if isinstance(loc, Tensor) else loc
                inputs.append(
                    InputStep(
                        name=in_labels[e.index],
                        value=value,
                        local=loc,
                        downstream=garr,
                        broadcast_summed=summed,
                        is_leaf=e.leaf is not None,
                    )
                )
            formula = formulas.get(out_label) or _formula(node, op, in_labels)
            steps.append(
                Step(
                    index=len(steps) + 1,
                    name=out_label,
                    op=op,
                    node=node.name(),
                    formula=formula,
                    value=values.get((node, 0)),
                    upstream=gouts[0]._data,
                    upstream_paths=paths[0],
                    elementwise=elementwise,
                    inputs=inputs,
                )
            )
    gradients = {}
    paths = {}
    for lid, gs in leaf_parts.items():
        total = gs[0]
        for g in gs[1:]:
            total = total + g
        n = name_leaf(leaf_tensors[lid])
        gradients[n] = total
        paths[n] = len(gs)
    return Explanation(
        output_name=inter_name[key_out],
        output_value=output._data,
        steps=steps,
        gradients=gradients,
        paths=paths,
    )


def _harvest_values(node, values: dict) -> None:
    """Collect values of intermediate results that some node saved for its backward."""
    for e in node.saved_values:
        if isinstance(e, SavedInput):
            t = e.tensor
            if t.grad_fn is not None:
                values.setdefault((t.grad_fn, t._output_nr), t._data)
        elif isinstance(e, SavedOutput):
            values.setdefault((node, e.index), e.array)


def _op(node) -> str:
    """The op's label: its node's PyTorch name without ``Backward`` and the overload number
    (``AddBackward0`` -> ``Add``; a user Function ``SquareBackward`` -> ``Square``)."""
    return _BACKWARD_SUFFIX.sub("", node.name())


def _formula(node, op: str, labels: list[str]) -> str:
    if op in SYMBOLS and len(labels) == 2:
        return f"{labels[0]} {SYMBOLS[op]} {labels[1]}"
    if op == "Neg":
        return f"-{labels[0]}"
    return f"{op.lower()}({', '.join(labels)})"


def _ones_like(arr):
    return get_array_module(arr).ones_like(arr)


def _as_tuple(res, n: int) -> tuple:
    if not isinstance(res, tuple):
        res = (res,)
    return tuple(res[:n]) + (None,) * max(0, n - len(res))
