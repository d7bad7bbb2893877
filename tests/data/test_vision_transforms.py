"""Resize, CenterCrop, RandomResizedCrop, RandomRotation, ColorJitter and ImageFolder."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.data import transforms as T
from chainrule.data.datasets import ImageFolder

Image = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("size", [(8, 11), (30, 40), (17, 10), (5, 23)])
def test_resize_tensor_matches_torch_antialiased_bilinear(size):
    x = RNG.random((3, 17, 23))
    ref = torch.nn.functional.interpolate(
        torch.tensor(x)[None], size=size, mode="bilinear", antialias=True, align_corners=False
    )[0].numpy()
    out = T.Resize(size)(cr.tensor(x))
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)


def test_resize_int_size_keeps_aspect_and_max_size():
    x = cr.tensor(RNG.random((3, 20, 40)).astype(np.float32))
    assert T.Resize(10)(x).shape == (3, 10, 20)
    assert T.Resize(10, max_size=15)(x).shape == (3, 7, 15)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize(10, max_size=8)(x)
    with pytest.raises(NotImplementedError, match="antialias"):
        T.Resize(10, antialias=False)


def test_resize_pil_uses_pillow_bilinear():
    img = Image.fromarray((RNG.random((20, 30, 3)) * 255).astype(np.uint8))
    out = T.Resize((10, 12))(img)
    assert out.size == (12, 10)
    np.testing.assert_array_equal(
        np.asarray(out), np.asarray(img.resize((12, 10), Image.Resampling.BILINEAR))
    )


def test_center_crop():
    x = np.arange(2 * 7 * 9).reshape(2, 7, 9)
    out = T.CenterCrop((3, 4))(x)
    top, left = int(round((7 - 3) / 2.0)), int(round((9 - 4) / 2.0))
    np.testing.assert_array_equal(out, x[:, top : top + 3, left : left + 4])
    padded = T.CenterCrop(11)(cr.tensor(x))
    assert padded.shape == (2, 11, 11) and padded.numpy()[:, 2:9, 1:10].tolist() == x.tolist()
    img = Image.fromarray(np.zeros((7, 9), np.uint8))
    assert T.CenterCrop(5)(img).size == (5, 5)


def test_random_resized_crop_size_and_reproducibility():
    x = cr.tensor(RNG.random((3, 32, 48)))
    a = T.RandomResizedCrop(16, generator=cr.Generator().manual_seed(3))(x)
    b = T.RandomResizedCrop(16, generator=cr.Generator().manual_seed(3))(x)
    assert a.shape == (3, 16, 16)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    t = T.RandomResizedCrop(
        (8, 4), scale=(0.5, 0.5), ratio=(1.0, 1.0), generator=cr.Generator().manual_seed(0)
    )
    top, left, h, w = t.get_params(x)
    assert h == w == int(round((0.5 * 32 * 48) ** 0.5))
    fallback = T.RandomResizedCrop(8, scale=(5.0, 5.0), ratio=(1.0, 1.0))  # never fits
    assert fallback.get_params(x) == (0, 8, 32, 32)  # the central square
    with pytest.raises(ValueError, match="min, max"):
        T.RandomResizedCrop(8, scale=(1.0, 0.5))


def test_random_rotation():
    x = RNG.random((3, 9, 9))
    np.testing.assert_array_equal(T.RandomRotation((90, 90))(x), np.rot90(x, 1, axes=(1, 2)))
    np.testing.assert_allclose(T.RandomRotation(0)(cr.tensor(x)).numpy(), x)
    out = T.RandomRotation((45, 45), expand=True)(np.ones((1, 10, 10)))
    assert out.shape[-1] == out.shape[-2] == 15
    bil = T.RandomRotation((30, 30), interpolation="bilinear", fill=0.0)(np.ones((1, 21, 21)))
    assert bil[0, 10, 10] == pytest.approx(1.0) and bil[0, 0, 0] == 0.0
    img = Image.fromarray((x[0] * 255).astype(np.uint8))
    assert isinstance(T.RandomRotation(10)(img), Image.Image)
    with pytest.raises(ValueError, match="positive"):
        T.RandomRotation(-5)


def test_color_jitter_factors_follow_torchvision_formulas():
    x = RNG.random((3, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(T.ColorJitter(brightness=(0.5, 0.5))(x), x * 0.5, rtol=1e-6)
    grey = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    out = T.ColorJitter(contrast=(0.0, 0.0))(x)
    np.testing.assert_allclose(out, np.full_like(x, grey.mean()), rtol=1e-5)
    out = T.ColorJitter(saturation=(0.0, 0.0))(cr.tensor(x))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(grey, x.shape), rtol=1e-5)
    out = T.ColorJitter(saturation=(2.0, 2.0))(x)
    np.testing.assert_allclose(out, np.clip(2 * x - grey, 0, 1), rtol=1e-5, atol=1e-6)


def test_color_jitter_hue_matches_colorsys():
    x = RNG.random((3, 4, 4))
    out = T.ColorJitter(hue=(0.2, 0.2))(x)
    for i in range(4):
        for j in range(4):
            h, s, v = colorsys.rgb_to_hsv(*x[:, i, j])
            np.testing.assert_allclose(
                out[:, i, j], colorsys.hsv_to_rgb((h + 0.2) % 1, s, v), atol=1e-12
            )


def test_color_jitter_validation_and_pil():
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    img = Image.fromarray((RNG.random((6, 6, 3)) * 255).astype(np.uint8))
    out = T.ColorJitter(0.3, 0.3, 0.3, 0.1)(img)
    assert isinstance(out, Image.Image) and out.size == img.size
    with pytest.raises(TypeError, match="ToTensor"):
        T.ColorJitter(0.3)(np.zeros((3, 2, 2), np.uint8))


def _write_images(root):
    colors = {"cat": [(255, 0, 0), (200, 10, 10)], "dog": [(0, 0, 255)], "emu": [(0, 255, 0)]}
    for cls, cols in colors.items():
        (root / cls).mkdir(parents=True)
        for k, c in enumerate(cols):
            arr = np.zeros((12, 16, 3), np.uint8) + np.array(c, np.uint8)
            ext = "png" if k % 2 == 0 else "jpg"
            Image.fromarray(arr).save(root / cls / f"img{k}.{ext}")
    (root / "dog" / "notes.txt").write_text("not an image")
    return colors


def test_image_folder_reads_pngs_and_jpegs(tmp_path):
    _write_images(tmp_path)
    ds = ImageFolder(str(tmp_path))
    assert ds.classes == ["cat", "dog", "emu"]
    assert ds.class_to_idx == {"cat": 0, "dog": 1, "emu": 2}
    assert [(p.rsplit("/", 2)[-2:], t) for p, t in ds.samples] == [
        (["cat", "img0.png"], 0),
        (["cat", "img1.jpg"], 0),
        (["dog", "img0.png"], 1),
        (["emu", "img0.png"], 2),
    ]
    assert ds.targets == [0, 0, 1, 2] and ds.imgs == ds.samples and len(ds) == 4
    img, target = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and target == 1
    assert np.asarray(img)[0, 0].tolist() == [0, 0, 255]


def test_image_folder_with_transforms_and_workers(tmp_path):
    _write_images(tmp_path)
    pipeline = T.Compose(
        [
            T.RandomResizedCrop(8),
            T.RandomHorizontalFlip(),
            T.ColorJitter(0.2, 0.2, 0.2, 0.05),
            T.RandomRotation(5),
            T.ToTensor(),
            T.Normalize([0.5] * 3, [0.25] * 3),
        ]
    )
    ds = ImageFolder(tmp_path, transform=pipeline, target_transform=lambda t: t * 10)
    batches = list(cr.utils.data.DataLoader(ds, batch_size=2, num_workers=2))
    assert [tuple(x.shape) for x, _ in batches] == [(2, 3, 8, 8), (2, 3, 8, 8)]
    assert [y.tolist() for _, y in batches] == [[0, 0], [10, 20]]


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="class folder"):
        ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="no valid file"):
        ImageFolder(tmp_path)
    assert len(ImageFolder(tmp_path, allow_empty=True)) == 0
