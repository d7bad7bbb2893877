"""Elementwise results' strides, size-1 dims' included, against PyTorch 2.13 on random
permute / step-slice / ``None`` / narrow / expand layouts (``ops/_result_layout.py``)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _build(L: Any, recipe: tuple) -> Any:
    shape, perm, nones, slices, expand, narrow = recipe
    t = L.arange(float(np.prod(shape))).reshape(*shape).permute(*perm)
    for pos in nones:
        t = t[(slice(None),) * min(pos, t.ndim) + (None,)]
    t = t[tuple(slice(start, None, step) for start, step in slices[: t.ndim])]
    for d in narrow:
        if d < t.ndim and t.shape[d] > 0:
            t = t.narrow(d, 0, 1)
    if expand is not None:
        d, n = expand
        if d < t.ndim and t.shape[d] == 1:
            t = t.expand(*[n if i == d else s for i, s in enumerate(t.shape)])
    return t


def _recipe(rnd: random.Random) -> tuple:
    nd = rnd.randint(1, 3)
    shape = [rnd.randint(1, 4) for _ in range(nd)]
    perm = list(range(nd))
    rnd.shuffle(perm)
    nones = [rnd.randint(0, nd + 1) for _ in range(rnd.choice((0, 1, 1, 2)))]
    slices = [(rnd.choice((0, 0, 1)), rnd.choice((1, 1, 2))) for _ in range(nd + 3)]
    narrow = [rnd.randint(0, nd + 2) for _ in range(rnd.choice((0, 0, 1)))]
    expand = (rnd.randint(0, nd + 2), rnd.randint(2, 3)) if rnd.random() < 0.3 else None
    return shape, perm, nones, slices, expand, narrow


def _check(expected: Any, got: Any, info: Any) -> None:
    assert tuple(got.shape) == tuple(expected.shape), info
    if expected.numel():  # an empty result's strides are not matched (NumPy's stay)
        assert tuple(got.stride()) == tuple(expected.stride()), info
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_permuted_unsqueezed_step_slice_times_two() -> None:
    for L in (torch, cr):
        y = L.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)[..., None][:, ::2]
        assert tuple((y * 2).stride()) == (1, 12, 4, 1)
        assert tuple((y + y).stride()) == (1, 24, 4, 1)  # dense, same strides: kept


def test_contiguous_operands_with_odd_size_one_strides() -> None:
    cases = []
    for L in (torch, cr):
        x = L.arange(6.0).reshape(2, 3, 1).transpose(1, 2)  # (3, 1, 1)
        n = L.arange(6.0).reshape(2, 3).t().narrow(0, 0, 1)  # (1, 3) strides (1, 3)
        cases.append([x * 2, x + x, x * L.ones(2, 1, 3), x * L.ones(3), n * 2, n + n])
    for i, (e, g) in enumerate(zip(*cases)):
        _check(e, g, i)


@pytest.mark.parametrize("seed", range(4))
def test_random_layouts_follow_torch(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(300):
        ra, rb = _recipe(rnd), _recipe(rnd)
        at, ac = _build(torch, ra), _build(cr, ra)
        bt, bc = _build(torch, rb), _build(cr, rb)
        _check(at * 2, ac * 2, ("mul", ra))
        _check(at - 1.5, ac - 1.5, ("sub", ra))
        _check(torch.where(at > 3, at, 0.0), cr.where(ac > 3, ac, 0.0), ("where", ra))
        try:
            torch.broadcast_shapes(at.shape, bt.shape)
        except RuntimeError:
            continue
        _check(at + bt, ac + bc, ("add", ra, rb))
        _check(bt * at, bc * ac, ("mul", rb, ra))
        _check(at > bt, ac > bc, ("gt", ra, rb))
