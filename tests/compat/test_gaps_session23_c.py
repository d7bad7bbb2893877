"""Gaps found by the session-23 (batch c) drop-in programs (``spiking_surrogate``,
``growing_nca``, ``dgcnn_edgeconv``, ``gru4rec_bpr``, ``tft_grn_vsn``) and by probing the APIs
next to their idioms, each checked against PyTorch.

- An empty Python list or empty float NumPy array as an index (``hidden[:, mask, :] = 0``
  where ``mask = []`` or ``np.array([])`` because no session ended this step, GRU4Rec's
  session-parallel loop) raised IndexError: NumPy gives ``[]`` the dtype float64, and float
  arrays are not indices. PyTorch reads an empty sequence as an empty long index, so the
  read selects nothing and the write is a no-op.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]


@pytest.mark.parametrize(
    "index",
    [[], np.array([]), [[]], np.zeros((0, 2))],
    ids=["list", "float-array", "nested-list", "float-array-2d"],
)
def test_empty_sequence_index_reads_nothing_and_writes_nothing(index: Any) -> None:
    got, want = [], []
    for m, out in ((chainrule, got), (torch, want)):
        base = m.tensor(np.arange(12.0).reshape(2, 3, 2), requires_grad=True)
        h = base * 1
        picked = h[:, index]
        h[:, index, :] = 0
        (h * 2).sum().backward()
        out += [tuple(picked.shape), picked.dtype == m.float32, h.tolist()]
        out += [base.grad.tolist(), h.grad_fn.name()]
    assert got == want


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_empty_list_index_of_a_vector_keeps_its_dtype(m: Any) -> None:
    x = m.arange(4)
    assert x[[]].tolist() == [] and x[[]].dtype == m.int64
    assert tuple(m.ones(3, 2)[[]].shape) == (0, 2)


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_reset_finished_sessions_with_a_maybe_empty_mask(m: Any) -> None:
    """GRU4Rec's ``reset_hidden`` without the ``len(mask)`` guard, on a GRU output."""
    m.manual_seed(0)
    gru = m.nn.GRU(2, 3)
    hidden = m.zeros(1, 4, 3)
    totals = []
    for mask in ([], np.array([1, 3]), np.array([])):
        hidden[:, mask, :] = 0
        _, hidden = gru(m.ones(1, 4, 2), hidden.detach())
        totals.append(float((hidden[0, 1] == hidden[0, 0]).all()))
    # after the reset of lanes 1 and 3 those lanes start over from zero like lane 0 did once
    assert totals == [1.0, 0.0, 0.0]


def test_empty_index_errors_stay_for_float_tensors() -> None:
    """A float *tensor* is still refused as an index, empty or not, as in PyTorch."""
    for m in FRAMEWORKS:
        with pytest.raises(IndexError):
            m.ones(3)[m.tensor([])]
