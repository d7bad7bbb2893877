"""Session 31: grayscale ``add_image`` written as RGB, ``clone``/``*_like`` keeping the strides
of size-1 dims (and of empty tensors), and ``masked_scatter``'s deprecated uint8 mask, each
compared with PyTorch."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


# -- 1. add_image: a 1-channel image is written as RGB ------------------------------------


def _images(d: Path) -> dict:
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event

    out = {}
    for f in sorted(d.glob("events*")):
        for record in RawEventFileLoader(str(f)).Load():
            ev = Event.FromString(record)
            for v in ev.summary.value if ev.HasField("summary") else ():
                out[v.tag] = v.image
    return out


_RNG = np.random.default_rng(31)
_IMAGES = {
    "chw1": (_RNG.random((1, 3, 4)), "CHW"),
    "hwc1": (_RNG.random((3, 4, 1)), "HWC"),
    "hw": (_RNG.random((3, 4)), "HW"),
    "hw_f32": (_RNG.random((5, 2)).astype(np.float32), "HW"),
    "hw_u8": (_RNG.integers(0, 256, (3, 4)).astype(np.uint8), "HW"),
    "chw1_u8": (_RNG.integers(0, 256, (1, 2, 3)).astype(np.uint8), "CHW"),
    "hw_out_of_range": (np.linspace(-1.0, 3.0, 12).reshape(3, 4), "HW"),
    "hw_ramp": ((np.arange(256).reshape(16, 16) + 0.5) / 255.0, "HW"),  # truncation
    "rgb": (_RNG.random((3, 3, 4)), "CHW"),
    "rgba": (_RNG.random((4, 3, 4)), "CHW"),
}


def test_add_image_grayscale_as_rgb_matches_torch(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    Image = pytest.importorskip("PIL.Image")  # noqa: N806
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    from chainrule.utils.tensorboard import SummaryWriter

    decoded = {}
    for name, cls, lib in (("torch", TorchWriter, torch), ("cr", SummaryWriter, cr)):
        d = tmp_path / name
        w = cls(str(d))
        for tag, (img, fmt) in _IMAGES.items():
            w.add_image(tag, img, 1, dataformats=fmt)
            w.add_image(tag + "_t", lib.tensor(img), 1, dataformats=fmt)
        w.close()
        decoded[name] = _images(d)
    assert sorted(decoded["torch"]) == sorted(decoded["cr"])
    for tag, t in decoded["torch"].items():
        c = decoded["cr"][tag]
        assert (c.height, c.width, c.colorspace) == (t.height, t.width, t.colorspace), tag
        ti = Image.open(io.BytesIO(t.encoded_image_string))
        ci = Image.open(io.BytesIO(c.encoded_image_string))
        assert ci.mode == ti.mode, tag
        np.testing.assert_array_equal(np.asarray(ci), np.asarray(ti), err_msg=tag)
    assert decoded["cr"]["hw"].colorspace == 3  # grayscale written as RGB


# -- 2. clone / empty_like / zeros_like layouts ---------------------------------------------

_LAYOUTS = [
    ((1, 4, 4), (32, 4, 1)),  # the reported case: a size-1 dim's stride kept
    ((1, 4, 4), (16, 4, 1)),
    ((1, 4, 4), (1, 4, 1)),
    ((1, 4, 4), (5, 4, 1)),
    ((4, 1, 4), (4, 100, 1)),
    ((4, 4, 1), (4, 1, 1)),
    ((4, 4, 1), (4, 1, 7)),
    ((4, 4, 1), (1, 4, 16)),
    ((1, 4, 4), (1, 1, 4)),
    ((1, 4, 4), (32, 1, 4)),
    ((2, 3), (1, 2)),
    ((2, 3), (3, 1)),
    ((2, 3), (6, 2)),  # a step slice: dense in its stride order
    ((2, 3), (0, 1)),  # broadcast
    ((2, 1, 3), (3, 7, 1)),
    ((2, 1, 3), (6, 7, 2)),
    ((2, 1, 3), (6, 0, 2)),
    ((1, 2, 3), (100, 6, 2)),
    ((1, 2, 3), (1, 6, 2)),
    ((2, 3, 1), (6, 2, 100)),
    ((1, 4, 1), (3, 2, 5)),
    ((2, 3, 1), (0, 1, 5)),
    ((1, 1), (5, 7)),
    ((1, 1), (0, 0)),
    ((1,), (5,)),
    ((1,), (0,)),
    ((3,), (2,)),
    ((1, 3), (9, 3)),
    ((3, 1), (1, 1)),
    ((3, 1), (1, 3)),
    ((3, 1), (0, 5)),
    ((2, 1, 3), (1, 0, 2)),
    ((1, 2, 3), (0, 3, 1)),
    ((1, 2, 3), (0, 1, 2)),
    ((2, 2, 1, 3), (6, 3, 9, 1)),
    ((2, 3, 4), (24, 8, 2)),
    ((2, 3, 4), (2, 16, 48)),
    ((2, 1, 4), (1, 99, 4)),
    ((1, 1, 4), (4, 4, 1)),
    ((1, 1, 4), (1, 1, 1)),
    ((2, 1, 1, 3), (3, 1, 100, 1)),
    ((3, 3), (0, 0)),
    ((0,), (5,)),
    ((0, 3), (3, 1)),
    ((0, 3), (1, 5)),
    ((0, 3), (7, 5)),
    ((2, 0), (100, 100)),
    ((2, 0, 3), (0, 3, 1)),
    ((1, 0), (5, 7)),
]

_LIKE_OPS = {
    "clone": lambda lib, x: x.clone(),
    "clone_preserve": lambda lib, x: x.clone(memory_format=lib.preserve_format),
    "empty_like": lambda lib, x: lib.empty_like(x),
    "zeros_like": lambda lib, x: lib.zeros_like(x),
    "zeros_like_f64": lambda lib, x: lib.zeros_like(x, dtype=lib.float64),
}


def _strided(lib, size: tuple, stride: tuple):
    n = 1 + sum((s - 1) * st for s, st in zip(size, stride) if s > 0)
    return lib.as_strided(lib.arange(float(n), dtype=lib.float32), size, stride)


@pytest.mark.parametrize(("size", "stride"), _LAYOUTS, ids=str)
def test_clone_and_like_strides_match_torch(size: tuple, stride: tuple) -> None:
    t, c = _strided(torch, size, stride), _strided(cr, size, stride)
    assert c.stride() == t.stride()
    for name, op in _LIKE_OPS.items():
        assert op(cr, c).stride() == op(torch, t).stride(), name
    out = c.clone()
    np.testing.assert_array_equal(out.numpy(), t.clone().numpy())
    assert out.untyped_storage().data_ptr() != c.untyped_storage().data_ptr() or c.numel() == 0


@pytest.mark.parametrize(("size", "stride"), _LAYOUTS[:12], ids=str)
def test_recorded_clone_keeps_strides(size: tuple, stride: tuple) -> None:
    """The recorded clone (``Clone`` node) lays out as the untracked one."""
    t = _strided(torch, size, stride).detach().requires_grad_()
    c = _strided(cr, size, stride).detach().requires_grad_()
    out = c.clone()
    assert out.stride() == t.clone().stride()
    out.sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), np.ones(size, np.float32))


def test_clone_random_layouts_match_torch() -> None:
    """Random permutes of sliced tensors with size-1 dims, cloned and ``*_like``-d."""
    rng = np.random.default_rng(0)
    for _ in range(150):
        ndim = int(rng.integers(1, 5))
        shape = [int(rng.choice([1, 1, 2, 3])) for _ in range(ndim)]
        steps = [int(rng.choice([1, 1, 2])) for _ in range(ndim)]
        full = [n * s for n, s in zip(shape, steps)]
        perm = [int(p) for p in rng.permutation(ndim)]
        index = tuple(slice(None, None, s) for s in steps)
        t = torch.arange(float(np.prod(full))).reshape(full)[index].permute(perm)
        c = cr.arange(float(np.prod(full))).reshape(full)[index].permute(perm)
        assert c.stride() == t.stride()
        for name, op in _LIKE_OPS.items():
            assert op(cr, c).stride() == op(torch, t).stride(), (name, full, steps, perm)


def test_row_major_clone_stays_row_major() -> None:
    x = cr.arange(12.0).reshape(3, 4)
    y = x.clone()
    assert y.stride() == (4, 1) and y.is_contiguous()
    y[0, 0] = 100.0
    assert x[0, 0].item() == 0.0


# -- 3. masked_scatter with a uint8 mask -----------------------------------------------------


def _outcome(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            fn()
            err = None
        except Exception as e:  # noqa: BLE001 - compared with PyTorch's
            err = e
    return [str(x.message) for x in w if issubclass(x.category, UserWarning)], err


@pytest.mark.parametrize("how", ["method", "method_", "function"])
@pytest.mark.parametrize("mask_dtype", ["uint8", "int64", "int8"])
def test_masked_scatter_non_bool_mask_matches_torch(how: str, mask_dtype: str) -> None:
    results = []
    for lib in (torch, cr):
        x = lib.zeros(2, 3)
        m = lib.tensor([[1, 0, 1], [0, 1, 0]], dtype=getattr(lib, mask_dtype))
        s = lib.arange(6.0)
        fn = {
            "method": lambda lib, x, m, s: x.masked_scatter(m, s),
            "method_": lambda lib, x, m, s: x.masked_scatter_(m, s),
            "function": lambda lib, x, m, s: lib.masked_scatter(x, m, s),
        }[how]
        results.append(_outcome(lambda f=fn, a=(lib, x, m, s): f(*a)))
    (tw, te), (cw, ce) = results
    assert type(ce) is type(te) is RuntimeError
    assert "only supports boolean masks" in str(te) and "only supports boolean masks" in str(ce)
    assert len(cw) == len(tw) == (1 if mask_dtype == "uint8" else 0)
    for msg in tw + cw:
        assert "received a mask with dtype torch.uint8" in msg and "deprecated" in msg


def test_masked_scatter_uint8_warning_points_at_caller() -> None:
    x, m = cr.zeros(2), cr.tensor([1, 0], dtype=cr.uint8)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError):
            x.masked_scatter_(m, cr.ones(2))
    assert len(w) == 1 and w[0].filename == __file__


def test_masked_scatter_bool_mask_unchanged() -> None:
    x = cr.zeros(2, 3)
    m = cr.tensor([[True, False, True], [False, True, False]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.masked_scatter(m, cr.arange(6.0))
    np.testing.assert_array_equal(y.numpy(), [[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]])


@pytest.mark.parametrize(
    ("shape", "strides"),
    [((1,), (0,)), ((0,), (5,)), ((0, 3), (7, 5)), ((2, 1, 3), (6, 7, 2)), ((1, 4, 4), (32, 4, 1))],
)
def test_flip_result_strides_as_torch(shape, strides):
    got = []
    for lib in (torch, cr):
        x = lib.as_strided(lib.arange(200.0), shape, strides)
        got.append(tuple(x.flip(0).stride()))
    assert got[1] == got[0]
