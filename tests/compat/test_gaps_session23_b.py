"""Gaps found by the session-23 (batch b) drop-in programs (``deeplabv3_aspp``,
``se_resnext_block``, ``cpc_infonce``, ``dreamer_rssm``, ``reformer_lsh_attention``) and by
probing the calls next to their idioms, each checked against PyTorch.

- ``x[idx] = v`` recorded every write as ``IndexPutBackward0``. PyTorch records a write through
  a basic index (an int, slice, None, ``...``, a 0-d integer or bool index; CPC's
  ``encode_samples[i - 1] = z[:, t + i, :]`` into ``torch.empty``) as
  ``torch::autograd::CopySlices``, whose ``next_functions`` list the base and the value
  (``(None, 0)`` where one has no gradient, a scalar value included) and, when the value is
  broadcast to the region, an ``ExpandBackward0`` in front of it. Only index tensors, lists
  and masks give ``IndexPutBackward0`` (which lists both inputs too).
- ``select_scatter`` / ``slice_scatter`` / ``diagonal_scatter`` / ``masked_scatter`` were all
  ``IndexPutBackward0``; PyTorch names them ``SelectScatterBackward0``,
  ``SliceScatterBackward0``, ``DiagonalScatterBackward0``, ``MaskedScatterBackward0``.
"""

from __future__ import annotations

from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _graph(t: Any) -> tuple:
    """A result's node name and its next_functions as names."""
    edges = [(f.name() if f is not None else None, i) for f, i in t.grad_fn.next_functions]
    return t.grad_fn.name(), edges


def _index(lib: Any, kind: str) -> Any:
    return {
        "int": 0,
        "slice": slice(0, 1),
        "int_slice": (0, slice(None)),
        "none": None,
        "true": True,
        "0d_long": lib.tensor(0),
        "0d_long_slice": (lib.tensor(1), slice(None)),
        "0d_bool": lib.tensor(True),
        "long_tensor": lib.tensor([0]),
        "mask": lib.tensor([True, False]),
        "list": [0],
        "long_slice": (lib.tensor([0]), slice(None)),
    }[kind]


KINDS = [
    "int",
    "slice",
    "int_slice",
    "none",
    "true",
    "0d_long",
    "0d_long_slice",
    "0d_bool",
    "long_tensor",
    "mask",
    "list",
    "long_slice",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("base_grad", [True, False])
def test_setitem_tensor_value_node_matches_torch(kind: str, base_grad: bool) -> None:
    got = []
    for lib in LIBS:
        w = lib.ones(3, requires_grad=True)
        e = lib.zeros(2, 3) * (lib.ones(1, requires_grad=True) if base_grad else 1)
        e[_index(lib, kind)] = w * 2
        got.append(_graph(e))
    assert got[1] == got[0]


@pytest.mark.parametrize("kind", KINDS)
def test_setitem_scalar_value_node_matches_torch(kind: str) -> None:
    got = []
    for lib in LIBS:
        e = lib.zeros(2, 3) * lib.ones(3, requires_grad=True)
        e[_index(lib, kind)] = 5.0
        got.append(_graph(e))
    assert got[1] == got[0]


def test_setitem_into_empty_rows_keeps_gradients() -> None:
    """CPC's targets written row by row into ``torch.empty(...).float()``: the node, the
    gradients and the values are torch's."""
    got = []
    for lib in LIBS:
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        e = lib.empty((2, 3)).float()
        e[0] = w * 2
        e[1] = w**2
        (e * lib.tensor([[1.0], [3.0]])).sum().backward()
        got.append((_graph(e), e.dtype == lib.float32, e.tolist(), w.grad.tolist()))
    assert got[1] == got[0]


@pytest.mark.parametrize("op", ["select", "slice", "diagonal", "masked"])
def test_scatter_ops_node_names_match_torch(op: str) -> None:
    got = []
    for lib in LIBS:
        x = lib.zeros(2, 3, requires_grad=True) * 1
        if op == "select":
            r = lib.select_scatter(x, lib.ones(3, requires_grad=True), 0, 0)
        elif op == "slice":
            r = lib.slice_scatter(x, lib.ones(1, 3, requires_grad=True), 0, 0, 1)
        elif op == "diagonal":
            r = lib.diagonal_scatter(x, lib.ones(2, requires_grad=True))
        else:
            r = x.masked_scatter(lib.tensor([[True, False, True]] * 2), lib.ones(4))
        r.sum().backward()
        got.append((_graph(r)[0], _graph(r)[1][0], r.tolist()))
    assert got[1] == got[0]


def test_index_put_with_a_0d_index_stays_index_put() -> None:
    """``torch.index_put`` with a 0-d long index is still ``IndexPutBackward0`` (not the
    ``CopySlices`` of ``x[0-d index] = v``), listing a base without gradient as None."""
    got = []
    for lib in LIBS:
        w = lib.ones(3, requires_grad=True)
        r = lib.index_put(lib.zeros(2, 3), (lib.tensor(0),), w)
        got.append(_graph(r))
    assert (
        got[1]
        == got[0]
        == ("IndexPutBackward0", [(None, 0), ("torch::autograd::AccumulateGrad", 0)])
    )


def test_broadcast_setitem_gradient_unchanged() -> None:
    """The value expanded to its region (``ExpandBackward0``) still sums its gradient back."""
    got = []
    for lib in LIBS:
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        e = lib.zeros(4, 3) * 1
        e[1:3] = w * 2
        (e * lib.arange(12.0).view(4, 3)).sum().backward()
        got.append((_graph(e), w.grad.tolist()))
    assert got[1] == got[0]
