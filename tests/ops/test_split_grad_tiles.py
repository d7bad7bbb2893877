"""The split's backward as a view when attention's backward carved dq, dk, dv from one
buffer laid out as their projection (``ops/_tiles.py``), and the concatenation otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.ops._tiles import carve_like, tiled_view

F = cr.nn.functional


def _qkv_step(lib, qkv, w):
    """GPT's attention block on a given projection, to a scalar loss."""
    B, T, C3 = qkv.shape
    C, H = C3 // 3, 4
    q, k, v = (t.reshape(B, T, H, C // H).transpose(1, 2) for t in qkv.split(C, dim=2))
    y = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    return (y.transpose(1, 2).reshape(B, T, C) * w).sum()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_qkv_gradient_through_split_matches_torch(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 16, 96)).astype(dtype)
    w = rng.standard_normal((3, 16, 32)).astype(dtype)
    x = cr.tensor(a, requires_grad=True)
    _qkv_step(cr, x, cr.tensor(w)).backward()
    xt = torch.tensor(a, requires_grad=True)
    _qkv_step(torch, xt, torch.tensor(w)).backward()
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    assert x.grad.stride() == xt.grad.stride()


def test_gradient_of_a_split_piece_kept_while_the_join_is_used():
    """retain_grad on a piece: its .grad stays its own values after backward finishes."""
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((2, 8, 48)).astype(np.float32), requires_grad=True)
    B, T, _ = x.shape
    q, k, v = (t.reshape(B, T, 4, 4).transpose(1, 2) for t in x.split(16, dim=2))
    for t in (q, k, v):
        t.retain_grad()
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    (y * y).sum().backward()
    joined = x.grad.numpy()
    for i, t in enumerate((q, k, v)):
        piece = joined[..., 16 * i : 16 * (i + 1)].reshape(B, T, 4, 4).transpose(0, 2, 1, 3)
        np.testing.assert_array_equal(t.grad.numpy(), piece)
    x.grad.add_(1.0)  # .grad is writable and aliases no piece's .grad
    assert not np.shares_memory(x.grad.numpy(), q.grad.numpy())


def test_carve_like_gives_pieces_of_one_buffer_in_the_input_layout():
    qkv = np.zeros((2, 5, 36), np.float32)
    q, k, v = (
        qkv[..., 12 * i : 12 * (i + 1)].reshape(2, 5, 3, 4).transpose(0, 2, 1, 3) for i in range(3)
    )
    dq, dk, dv = carve_like((q, k, v), np.float32)
    assert dq.strides == q.strides and dq.base is dk.base is dv.base
    for i, d in enumerate((dq, dk, dv)):
        d[...] = i
    joined = tiled_view([d.transpose(0, 2, 1, 3).reshape(2, 5, 12) for d in (dq, dk, dv)], 2)
    np.testing.assert_array_equal(
        joined, np.repeat(np.arange(3.0), 12)[None, None].repeat(5, 1).repeat(2, 0)
    )


def test_carve_like_refuses_pieces_that_do_not_tile():
    a = np.zeros((4, 6), np.float32)
    assert carve_like((a[:, :2], a[:, 3:5]), np.float32) is None  # a gap
    assert carve_like((a[:, :3], a[:, 3:]), np.float64) is None  # another dtype
    assert carve_like((np.zeros((4, 3)), np.zeros((4, 3))), np.float64) is None  # two buffers


def test_tiled_view_needs_one_owner():
    """Two separate buffers that happen to lie back to back are never joined."""
    whole = np.arange(12.0)
    a, b = whole[:6].copy(), whole[6:].copy()
    assert tiled_view([a, b], 0) is None
    base = np.arange(12.0)
    assert tiled_view([base[:6], base[6:]], 0) is not None


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    rows=st.integers(1, 3),
    dim=st.integers(0, 1),
    transposed=st.booleans(),
    gap=st.booleans(),
)
def test_tiled_view_is_the_concatenation_or_none(sizes, rows, dim, transposed, gap):
    total = sum(sizes) + (1 if gap else 0)
    shape = (rows, total) if dim == 1 else (total, rows)
    base = np.arange(float(np.prod(shape))).reshape(shape)
    if transposed:
        base = np.ascontiguousarray(base.T).T  # column-major memory, same values
    pieces, start = [], 0
    for i, s in enumerate(sizes):
        if gap and i == 1:
            start += 1
        idx = [slice(None), slice(None)]
        idx[dim] = slice(start, start + s)
        pieces.append(base[tuple(idx)])
        start += s
    joined = tiled_view(pieces, dim)
    if not gap:  # consecutive pieces of one dense block: always joined
        assert joined is not None
    if joined is not None:
        np.testing.assert_array_equal(joined, np.concatenate(pieces, axis=dim))
        assert not (gap and len(sizes) > 1)  # a gap between pieces is never joined
