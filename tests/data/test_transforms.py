"""Image transforms: conversions, normalisation, seeded augmentation, torchvision parity."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import transforms as T


def _img_hwc(h=6, w=5, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_to_tensor_layouts():
    hwc = _img_hwc()
    out = T.ToTensor()(hwc)
    assert isinstance(out, cr.Tensor) and out.shape == (3, 6, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), hwc.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert out.numpy().min() >= 0 and out.numpy().max() <= 1
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    np.testing.assert_array_equal(T.ToTensor()(chw).numpy(), out.numpy())
    hw = hwc[..., 0]
    assert T.ToTensor()(hw).shape == (1, 6, 5)
    f = np.random.rand(4, 4).astype(np.float64)
    np.testing.assert_allclose(T.ToTensor()(f).numpy()[0], f, rtol=1e-6)  # floats not scaled
    with pytest.raises(ValueError, match="shape"):
        T.ToTensor()(np.zeros((2, 2, 2, 2), np.uint8))


def test_to_tensor_hand_checked_values():
    hwc = np.array([[[0, 255, 51]]], dtype=np.uint8)  # one pixel, three channels
    np.testing.assert_allclose(T.ToTensor()(hwc).numpy().ravel(), [0.0, 1.0, 0.2], rtol=1e-6)


def test_normalize_against_formula_and_compose():
    x = T.ToTensor()(_img_hwc())
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    out = T.Normalize(mean, std)(x)
    ref = (x.numpy() - np.array(mean).reshape(3, 1, 1)) / np.array(std).reshape(3, 1, 1)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)
    comp = T.Compose([T.ToTensor(), T.Normalize(mean, std)])
    np.testing.assert_allclose(comp(_img_hwc()).numpy(), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="zero"):
        T.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match="channels"):
        T.Normalize((0.1, 0.2), (1, 1))(x)


def test_random_crop_padding_and_reproducibility():
    x = T.ToTensor()(_img_hwc(8, 8))
    crop = T.RandomCrop(8, padding=2)
    cr.manual_seed(0)
    outs = [crop(x).numpy() for _ in range(20)]
    cr.manual_seed(0)
    outs2 = [crop(x).numpy() for _ in range(20)]
    for a, b in zip(outs, outs2):
        np.testing.assert_array_equal(a, b)
        assert a.shape == (3, 8, 8)
    padded = np.pad(x.numpy(), ((0, 0), (2, 2), (2, 2)))
    windows = {
        (i, j)
        for o in outs
        for i in range(5)
        for j in range(5)
        if np.array_equal(padded[:, i : i + 8, j : j + 8], o)
    }
    assert len(windows) > 3  # different offsets, each a genuine window of the padded image
    c = T.RandomCrop((3, 4))(x)
    assert c.shape == (3, 3, 4)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(10)(x)
    assert T.RandomCrop(10, pad_if_needed=True)(x).shape == (3, 10, 10)


def test_random_crop_generator_argument():
    x = T.ToTensor()(_img_hwc(8, 8))
    a = T.RandomCrop(5, generator=cr.Generator().manual_seed(4))(x).numpy()
    b = T.RandomCrop(5, generator=cr.Generator().manual_seed(4))(x).numpy()
    np.testing.assert_array_equal(a, b)


def test_random_horizontal_flip():
    x = T.ToTensor()(_img_hwc())
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x).numpy(), x.numpy()[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x).numpy(), x.numpy())
    cr.manual_seed(1)
    flips = [not np.array_equal(T.RandomHorizontalFlip()(x).numpy(), x.numpy()) for _ in range(200)]
    assert 60 < sum(flips) < 140
    with pytest.raises(ValueError):
        T.RandomHorizontalFlip(p=2)


def test_random_erasing():
    x = cr.ones(3, 16, 16)
    er = T.RandomErasing(p=1.0, value=0, generator=cr.Generator().manual_seed(0))
    out = er(x).numpy()
    erased = out == 0
    assert erased.any() and not erased.all()
    assert np.all(x.numpy() == 1)  # not in place by default
    # the erased region is one rectangle, the same in every channel
    rows, cols = np.where(erased[0])
    h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert erased[0].sum() == h * w and (erased == erased[0]).all()
    frac = h * w / 256
    assert 0.02 * 0.5 <= frac <= 0.33 * 1.5
    assert np.array_equal(T.RandomErasing(p=0.0)(x).numpy(), x.numpy())
    out = T.RandomErasing(p=1.0, value=(1, 2, 3), generator=cr.Generator().manual_seed(0))(
        cr.zeros(3, 16, 16)
    ).numpy()
    assert set(np.unique(out[1])) <= {0.0, 2.0} and (out[1] == 2).any()
    rnd = T.RandomErasing(p=1.0, value="random", generator=cr.Generator().manual_seed(0))(x)
    assert (rnd.numpy() != 1).any()
    with pytest.raises(ValueError, match="random"):
        T.RandomErasing(value="noise")


def test_transforms_keep_numpy_in_numpy_out():
    arr = np.random.rand(3, 8, 8).astype(np.float32)
    assert isinstance(T.RandomHorizontalFlip(1.0)(arr), np.ndarray)
    assert isinstance(T.RandomCrop(4)(arr), np.ndarray)
    assert isinstance(T.Normalize(0.5, 0.5)(arr), np.ndarray)
