"""Gaps found by the session-32 (batch d) drop-in programs (``cs336_transformer_lm``,
``deformable_detr_msda``, ``siglip_sigmoid_loss``, ``mamba2_ssd_minimal``,
``trpo_conjugate_gradient``), each checked against PyTorch.

Deformable DETR iterates a ``long`` tensor of level shapes (``for H_, W_ in spatial_shapes``),
so its sizes are 0-d integer tensors, which PyTorch reads as ints (``__index__``):

- ``torch.linspace(0.5, H_ - 0.5, H_)`` (``get_reference_points``) raised: ``steps`` had to be
  a Python int. ``linspace`` and ``logspace`` now take a 0-d integer tensor; a float, a bool or
  a floating / multi-element tensor is PyTorch's TypeError (``linspace`` gave RuntimeError for
  them), a negative count its RuntimeError.
- ``value.split([H_ * W_ for H_, W_ in value_spatial_shapes], dim=1)``
  (``ms_deform_attn_core_pytorch``) raised: the sizes list had to hold ints. ``Tensor.split``,
  ``torch.split``, ``split_with_sizes`` and ``tensor_split``'s index list now read
  one-element integer tensors (0-d or not, as PyTorch) as ints; an element of another type (a
  float tensor, a float, a longer tensor) is PyTorch's TypeError (``split`` gave a shape
  error).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_linspace_steps_from_a_long_tensor_row(m: Any) -> None:
    shapes = m.as_tensor([(3, 4), (2, 2)], dtype=m.long)
    got = [
        m.linspace(0.5, H_ - 0.5, H_, dtype=m.float32).tolist()
        + m.linspace(0.5, W_ - 0.5, W_, dtype=m.float32).tolist()
        for H_, W_ in shapes
    ]
    assert got == [[0.5, 1.5, 2.5, 0.5, 1.5, 2.5, 3.5], [0.5, 1.5, 0.5, 1.5]]
    assert m.linspace(0, 1, m.tensor(3, dtype=m.int32)).tolist() == [0.0, 0.5, 1.0]
    assert m.linspace(0, 1, np.int64(2)).tolist() == [0.0, 1.0]
    np.testing.assert_allclose(m.logspace(0, 2, m.tensor(3)).tolist(), [1.0, 10.0, 100.0])


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize("fn", ["linspace", "logspace"])
def test_linspace_steps_of_the_wrong_type_or_sign(m: Any, fn: str) -> None:
    f = getattr(m, fn)
    for bad in (3.0, True, m.tensor(3.0), m.tensor([3]), m.tensor(True)):
        with pytest.raises(TypeError):
            f(0, 1, bad)
    for negative in (-1, m.tensor(-2)):
        with pytest.raises(RuntimeError, match="non-negative"):
            f(0, 1, negative)
    assert f(0, 1, m.tensor(0)).shape == (0,)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_split_sizes_from_a_long_tensor(m: Any) -> None:
    shapes = m.as_tensor([(3, 4), (2, 2)], dtype=m.long)
    value = m.arange(2 * 16 * 3.0).reshape(2, 16, 3)
    sizes = [H_ * W_ for H_, W_ in shapes]
    for pieces in (
        value.split(sizes, dim=1),
        m.split(value, sizes, dim=1),
        value.split_with_sizes(sizes, 1),
        m.split(value, (sizes[0], 4), 1),
    ):
        assert [tuple(p.shape) for p in pieces] == [(2, 12, 3), (2, 4, 3)]
        assert m.equal(pieces[1], value[:, 12:])
    # and back into a level's map: reshape with the same 0-d tensors
    H_, W_ = shapes[0]
    level = pieces[0].flatten(2).transpose(1, 2).reshape(2 * 1, 3, H_, W_)
    assert tuple(level.shape) == (2, 3, 3, 4)
    # tensor_split's index list reads them too
    parts = value.tensor_split([m.tensor(1), m.tensor(12)], dim=1)
    assert [p.shape[1] for p in parts] == [1, 11, 4]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_split_sizes_gradient_flows_through_tensor_sizes(m: Any) -> None:
    x = m.arange(6.0, requires_grad=True)
    a, b = x.split([m.tensor(2), m.tensor(4)])
    (a.sum() * 2 + b.sum() * 3).backward()
    assert x.grad.tolist() == [2.0, 2.0, 3.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_split_sizes_of_the_wrong_type(m: Any) -> None:
    x = m.zeros(2, 6)
    # a one-element integer tensor of any shape is an int there, as in PyTorch
    assert [p.shape[1] for p in x.split([m.tensor([2]), m.tensor([[4]], dtype=m.int32)], 1)] == [
        2,
        4,
    ]
    for bad in ([2, m.tensor(4.0)], [2.0, 4], [m.tensor([2, 4])]):
        with pytest.raises(TypeError):
            x.split(bad, 1)
        with pytest.raises(TypeError):
            x.split_with_sizes(bad, 1)
    with pytest.raises(RuntimeError):
        x.split([m.tensor(2), m.tensor(3)], 1)  # sums to 5, not 6
    with pytest.raises(RuntimeError):
        x.split([m.tensor(-1), 7], 1)
