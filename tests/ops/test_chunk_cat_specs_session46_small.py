"""``torch._chunk_cat``'s rank rules and its refusal of backward, against torch (session 46).

The op's values and bad inputs run in the central table (tests/ops/op_specs_chunk_cat.py);
here: how ``dim`` is read when the tensors' ranks differ (PyTorch wraps a negative ``dim``
only when every tensor has the same rank, and checks ``num_chunks`` first), and that the
result of inputs requiring grad is in the graph with a backward that raises, as PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

# (shapes, dim, num_chunks): calls PyTorch refuses or accepts by the ranks' rule
_RANK_CASES = {
    "first_smaller_dim1": (((5,), (3, 4)), 1, 2),
    "first_smaller_dim0": (((5,), (3, 4)), 0, 2),
    "second_smaller_dim1": (((3, 4), (5,)), 1, 2),
    "ranks_differ_neg": (((3, 4), (5,)), -1, 2),
    "ranks_differ_neg_ok_else": (((3, 4), (3, 4, 2)), -1, 2),
    "ranks_differ_dim2": (((3, 4), (3, 4, 5)), 2, 2),
    "ranks_differ_neg3": (((3, 4, 5), (3, 4)), -3, 2),
    "same_rank_neg": (((3, 4), (3, 4)), -1, 2),
    "same_rank_out_of_range": (((3, 4), (3, 4)), 2, 2),
    "same_rank_neg_out_of_range": (((3, 4), (2, 5)), -3, 2),
    "chunks_before_dim": (((3, 4), (5,)), -1, 0),
    "chunks_before_range": (((3, 4), (3, 4)), 5, 0),
    "leading_differ_ranks": (((3, 4), (2, 5, 1)), 1, 2),
}


def _outcome(lib, shapes, dim, num_chunks):
    rng = np.random.default_rng(0)
    tensors = [lib.tensor(rng.standard_normal(s)) for s in shapes]
    try:
        return "ok", lib._chunk_cat(tensors, dim, num_chunks).numpy()
    except (RuntimeError, IndexError) as exc:
        return type(exc).__name__, str(exc).split("\n")[0]


@pytest.mark.parametrize("case", list(_RANK_CASES))
def test_dim_rules_for_ranks_match_torch(case: str) -> None:
    want = _outcome(torch, *_RANK_CASES[case])
    got = _outcome(cr, *_RANK_CASES[case])
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        np.testing.assert_array_equal(got[1], want[1])
    else:
        assert got[1] == want[1]


def test_backward_through_chunk_cat_raises_as_torch() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 5)), rng.standard_normal((2, 3))
    texts = []
    for lib in (torch, cr):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b)
        out = lib._chunk_cat([x, y], 1, 2)
        assert out.requires_grad and out.grad_fn is not None
        with pytest.raises(RuntimeError) as err:
            out.sum().backward()
        texts.append(str(err.value).split("\n")[0])
    assert texts[1] == texts[0]
