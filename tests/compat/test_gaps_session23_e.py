"""Gaps found by the session-23 (batch e) drop-in programs (``mpnn_qm9_set2set``,
``vision_mamba_patch_merge``, ``world_model_vqvae_ema``, ``nf_glow_actnorm_invconv``) and by
probing the APIs next to their idioms, each checked against PyTorch.

- ``torch.segment_reduce`` was missing: graph code pools a batch of concatenated node lists
  per graph (``lengths`` = nodes per graph, or CSR-style ``offsets``) with it. It now reduces
  with ``sum``/``mean``/``max``/``min``/``prod``, ``initial``, multi-dim ``lengths`` along a
  later ``axis``, and PyTorch's gradients (ties of max/min share evenly; ``initial`` is
  never a tie) and errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

FRAMEWORKS = [chainrule, torch]
DATA = [2.0, 2.0, 1.0, 3.0, -1.0, 3.0, 0.0, 4.0]
LENGTHS = [3, 0, 3, 2]


def _both(fn: Any) -> list[Any]:
    return [fn(m) for m in FRAMEWORKS]


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 1.5])
def test_segment_reduce_values_and_grads_match_torch(reduce: str, initial: Any) -> None:
    def run(m: Any) -> tuple[list, list]:
        x = m.tensor(DATA, dtype=m.float64, requires_grad=True)
        out = m.segment_reduce(x, reduce, lengths=m.tensor(LENGTHS), initial=initial)
        weights = m.tensor([1.0, 2.0, 3.0, 4.0], dtype=m.float64)
        finite = m.where(m.isfinite(out), out, m.zeros_like(out))
        (finite * weights).sum().backward()
        return out.tolist(), x.grad.tolist()

    (got, got_grad), (want, want_grad) = _both(run)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12)


def test_segment_reduce_offsets_and_axis_match_torch() -> None:
    def run(m: Any) -> list:
        data = m.arange(24.0).view(2, 4, 3)
        return [
            m.segment_reduce(data.view(8, 3), "sum", offsets=m.tensor([1, 1, 5])).tolist(),
            m.segment_reduce(data, "max", lengths=m.tensor([[1, 3], [2, 2]]), axis=1).tolist(),
            m.segment_reduce(data, "mean", lengths=m.tensor([[1, 3], [4, 0]]), axis=-2).tolist(),
            m.segment_reduce(data, "min", lengths=m.tensor([1, 1]), unsafe=True).tolist(),
        ]

    got, want = _both(run)
    np.testing.assert_allclose(np.array(got[0]), np.array(want[0]))
    np.testing.assert_allclose(np.array(got[1]), np.array(want[1]))
    np.testing.assert_allclose(np.array(got[2]), np.array(want[2]))
    np.testing.assert_allclose(np.array(got[3]), np.array(want[3]))


@pytest.mark.parametrize("m", FRAMEWORKS, ids=["chainrule", "torch"])
def test_segment_reduce_errors_match_torch(m: Any) -> None:
    data = m.arange(6.0).view(3, 2)
    with pytest.raises(RuntimeError, match="Either lengths or offsets"):
        m.segment_reduce(data, "sum")
    with pytest.raises(RuntimeError, match="sum to data.size"):
        m.segment_reduce(data, "sum", lengths=m.tensor([1, 1]))
    with pytest.raises(RuntimeError, match="negative"):
        m.segment_reduce(data, "sum", lengths=m.tensor([-1, 4]))
    with pytest.raises(RuntimeError, match="last dimension of lengths"):
        m.segment_reduce(data, "sum", lengths=m.tensor([1, 1]), axis=1)
    with pytest.raises(RuntimeError, match="indices based reduction"):
        m.segment_reduce(data, "sum", indices=m.tensor([0, 0, 1]))
    with pytest.raises(RuntimeError, match="reduce argument must be either"):
        m.segment_reduce(data, "median", lengths=m.tensor([3]))
    with pytest.raises(NotImplementedError):
        m.segment_reduce(data.long(), "sum", lengths=m.tensor([3]))
    with pytest.raises(TypeError, match="must be Tensor"):
        m.segment_reduce(data, "sum", lengths=[3])


def test_segment_reduce_pools_graphs_like_index_add() -> None:
    """The per-graph sum pooling of a batch of node features equals the index_add form."""
    x = chainrule.tensor(np.random.default_rng(0).standard_normal((9, 4)))
    counts = chainrule.tensor([2, 4, 3])
    batch = chainrule.repeat_interleave(chainrule.arange(3), counts)
    pooled = chainrule.segment_reduce(x, "sum", lengths=counts)
    want = chainrule.zeros(3, 4, dtype=x.dtype).index_add_(0, batch, x)
    np.testing.assert_allclose(pooled.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduce,initial", [("max", -1.0), ("min", 5.0), ("max", None)])
def test_segment_reduce_nan_wins_over_initial(reduce, initial) -> None:
    """A NaN in a segment is its max and min, whatever ``initial`` is (it was dropped for
    the initial value, a silently wrong answer). Gradients at the NaN differ (torch sends
    the segment's gradient to the NaN element; chainrule's scatter_reduce to none), so only
    the other segment's gradient is compared."""
    data = np.array([np.nan, 1.0, 2.0, 3.0, 4.0])
    outs = []
    for m in (torch, chainrule):
        x = m.tensor(data, requires_grad=True)
        y = m.segment_reduce(x, reduce, lengths=m.tensor([3, 2]), initial=initial)
        y.sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy()[3:]))
    np.testing.assert_array_equal(outs[1][0], outs[0][0])
    np.testing.assert_array_equal(outs[1][1], outs[0][1])
