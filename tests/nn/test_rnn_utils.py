"""nn.utils.rnn: padding and packing against torch.nn.utils.rnn, values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn.utils import rnn as R
from tests.nn._helpers import close

T = torch.nn.utils.rnn


def _seqs(lengths, feat=(2,), seed=0):
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal((n,) + feat) for n in lengths]
    return (
        [cr.tensor(a, requires_grad=True) for a in arrs],
        [torch.tensor(a, requires_grad=True) for a in arrs],
    )


def _weights(shape, seed=1):
    w = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(w), torch.tensor(w)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    c, t = _seqs([3, 5, 1], feat=(2, 2))
    out = R.pad_sequence(c, batch_first=batch_first, padding_value=-1.5, padding_side=side)
    t_out = T.pad_sequence(t, batch_first=batch_first, padding_value=-1.5, padding_side=side)
    close(out, t_out)
    w_c, w_t = _weights(out.shape)
    (out * w_c).sum().backward()
    (t_out * w_t).sum().backward()
    for a, b in zip(c, t):
        close(a.grad, b.grad)


def test_pad_sequence_errors():
    c, _ = _seqs([2, 3])
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right"):
        R.pad_sequence(c, padding_side="middle")
    with pytest.raises(ValueError, match="sizes must match"):
        R.pad_sequence([cr.zeros(2, 3), cr.zeros(2, 4)])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 4, 2, 1]), (False, [2, 4, 1, 3])])
def test_pack_padded_and_back(batch_first, enforce_sorted, lengths):
    arr = np.random.default_rng(0).standard_normal((4, 4, 3))  # (T, B, F) or (B, T, F)
    x_c, x_t = cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
    p = R.pack_padded_sequence(x_c, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    tp = T.pack_padded_sequence(
        x_t, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted
    )
    close(p.data, tp.data)
    np.testing.assert_array_equal(p.batch_sizes.data, tp.batch_sizes.numpy())
    assert p.batch_sizes.dtype == cr.int64
    for a, b in ((p.sorted_indices, tp.sorted_indices), (p.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.data, b.numpy())
    pad, lens = R.pad_packed_sequence(p, batch_first=batch_first, padding_value=7.0, total_length=6)
    t_pad, t_lens = T.pad_packed_sequence(
        tp, batch_first=batch_first, padding_value=7.0, total_length=6
    )
    close(pad, t_pad)
    np.testing.assert_array_equal(lens.data, t_lens.numpy())
    w_c, w_t = _weights(pad.shape)
    (pad * w_c).sum().backward()
    (t_pad * w_t).sum().backward()
    close(x_c.grad, x_t.grad)


def test_pack_sequence_and_unpack():
    c, t = _seqs([2, 5, 3])
    p = R.pack_sequence(c, enforce_sorted=False)
    tp = T.pack_sequence(t, enforce_sorted=False)
    close(p.data, tp.data)
    back = R.unpack_sequence(p)
    for a, b in zip(back, c):
        close(a, b.data)
    pad = R.pad_sequence(c, batch_first=True)
    for a, b in zip(R.unpad_sequence(pad, cr.tensor([2, 5, 3]), batch_first=True), c):
        close(a, b.data)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        R.pack_sequence(c)


def test_packed_sequence_api():
    c, _ = _seqs([3, 2])
    p = R.pack_sequence(c)
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert sorted_indices is None and unsorted_indices is None
    assert p.to(cr.float32).data.dtype == cr.float32
    assert p.float().data.dtype == cr.float32 and p.double().data.dtype == cr.float64
    assert not p.is_cuda
    q = R.PackedSequence(data, batch_sizes, cr.tensor([1, 0]))
    np.testing.assert_array_equal(q.unsorted_indices.data, [1, 0])
    with pytest.raises(ValueError, match="batch_sizes is required"):
        R.PackedSequence(data)


def test_pack_errors():
    x = cr.zeros(3, 2, 1)
    with pytest.raises(RuntimeError, match="greater than 0"):
        R.pack_padded_sequence(x, [2, 0])
    with pytest.raises(ValueError, match="got 3 lengths for a batch of 2"):
        R.pack_padded_sequence(x, [2, 1, 1])
    with pytest.raises(RuntimeError, match="exceeds the 3 time steps"):
        R.pack_padded_sequence(x, [4, 1])
    p = R.pack_padded_sequence(x, [3, 1])
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        R.pad_packed_sequence(p, total_length=2)
