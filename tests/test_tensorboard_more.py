"""SummaryWriter's media, PR-curve, mesh, layout, tensor and embedding records, written by
chainrule and by PyTorch with the same data and read back with TensorBoard's reader."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("tensorboard", reason="optional extra chainrule[tensorboard]")
torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.util import tensor_util  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

from chainrule.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path: Path) -> EventAccumulator:
    acc = EventAccumulator(str(path), size_guidance={"tensors": 0, "images": 0})
    acc.Reload()
    return acc


def _both(tmp_path: Path, calls: Callable[[Any, Any], None]) -> tuple[Path, Path]:
    """Run ``calls(writer, lib)`` with PyTorch's writer (lib=torch) and chainrule's."""
    dirs = []
    for name, cls, lib in (("torch", TorchWriter, torch), ("cr", SummaryWriter, cr)):
        d = tmp_path / name
        w = cls(str(d))
        calls(w, lib)
        w.close()
        dirs.append(d)
    return dirs[0], dirs[1]


def _png(b: bytes) -> tuple[str, np.ndarray]:
    im = Image.open(io.BytesIO(b))
    return im.mode, np.asarray(im)


def _events(d: Path) -> list:
    """The summary events of ``d``'s event files as written (no TensorBoard migration)."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event

    events = []
    for f in sorted(d.glob("events*")):
        for record in RawEventFileLoader(str(f)).Load():
            ev = Event.FromString(record)
            if ev.HasField("summary"):
                events.append(ev)
    return events


def _same_records(t_dir: Path, c_dir: Path) -> dict:
    """Same tags (as TensorBoard's reader sees them), steps, kinds, metadata and payloads
    (PNG images compared decoded, pixel by pixel); returns ``{tag: (torch's, ours)}``."""
    ta, ca = _read(t_dir), _read(c_dir)
    for kind in ("images", "audio", "tensors", "scalars"):
        assert sorted(ta.Tags()[kind]) == sorted(ca.Tags()[kind]), kind
    te, ce = _events(t_dir), _events(c_dir)
    assert len(te) == len(ce)
    out = {}
    for a, b in zip(te, ce):
        assert a.step == b.step
        assert [v.tag for v in a.summary.value] == [v.tag for v in b.summary.value]
        for va, vb in zip(a.summary.value, b.summary.value):
            assert va.WhichOneof("value") == vb.WhichOneof("value")
            assert va.metadata == vb.metadata
            if va.HasField("image"):
                ia, ib = va.image, vb.image
                assert (ia.height, ia.width, ia.colorspace) == (ib.height, ib.width, ib.colorspace)
                (ma, xa), (mb, xb) = _png(ia.encoded_image_string), _png(ib.encoded_image_string)
                assert ma == mb
                np.testing.assert_array_equal(xa, xb)
            elif va.HasField("tensor") and va.tensor.dtype in (1, 2):  # float, double
                pa, pb = va.tensor, vb.tensor
                assert pa.dtype == pb.dtype and pa.tensor_shape == pb.tensor_shape
                np.testing.assert_allclose(
                    tensor_util.make_ndarray(pa), tensor_util.make_ndarray(pb), rtol=1e-6
                )
            else:
                assert va == vb
            out[va.tag] = (va, vb)
    return out


# ---------------------------------------------------------------------------- images
@pytest.mark.parametrize(
    "shape, fmt",
    [
        ((2, 3, 4, 5), "NCHW"),
        ((9, 3, 2, 3), "NCHW"),
        ((2, 1, 2, 3), "NCHW"),
        ((2, 4, 5, 3), "NHWC"),
        ((3, 4), "HW"),
        ((3, 4, 5), "CHW"),
        ((4, 5, 3), "HWC"),
        ((2, 3, 5, 4), "NCWH"),
    ],
)
def test_add_images_matches_torch(tmp_path: Path, shape: tuple, fmt: str) -> None:
    data = np.random.default_rng(0).uniform(-0.2, 1.2, shape).astype(np.float32)
    u8 = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)

    def calls(w: Any, lib: Any) -> None:
        w.add_images("f", lib.tensor(data), 3, dataformats=fmt)
        w.add_images("u", lib.tensor(u8), 4, dataformats=fmt)

    _same_records(*_both(tmp_path, calls))


def test_add_images_bad_channels_and_formats(tmp_path: Path) -> None:
    for cls in (TorchWriter, SummaryWriter):
        w = cls(str(tmp_path / cls.__module__))
        with pytest.raises(AssertionError, match="3 channels"):
            w.add_images("c4", np.random.rand(2, 4, 2, 3))
        with pytest.raises(ValueError):
            w.add_images("nhw", np.random.rand(2, 2, 3), dataformats="NHW")
        w.close()


def test_add_figure_matches_torch(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def fig(k: int) -> Any:
        f = plt.figure(figsize=(2, 1), dpi=40)
        plt.plot([0, 1], [0, k])
        return f

    def calls(w: Any, lib: Any) -> None:
        w.add_figure("one", fig(1), 1)
        figs = [fig(k) for k in range(3)]
        w.add_figure("many", figs, 2, close=False)
        assert all(plt.fignum_exists(f.number) for f in figs)
        plt.close("all")

    _same_records(*_both(tmp_path, calls))
    assert plt.get_fignums() == []
    f = fig(0)
    with SummaryWriter(str(tmp_path / "closed")) as w:
        w.add_figure("x", f)
    assert not plt.fignum_exists(f.number)


# ---------------------------------------------------------------------------- audio/video
def test_add_audio_matches_torch(tmp_path: Path, capsys: Any) -> None:
    snd = np.sin(np.arange(200) / 5.0).astype(np.float32)
    loud = np.array([[0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -3.0]], np.float32)

    def calls(w: Any, lib: Any) -> None:
        w.add_audio("a", lib.tensor(snd), 3, sample_rate=8000)
        w.add_audio("loud", lib.tensor(loud), 4)

    _same_records(*_both(tmp_path, calls))
    out = capsys.readouterr().out
    assert out.count("warning: audio amplitude out of range, auto clipped.") == 2
    for cls in (TorchWriter, SummaryWriter):
        with pytest.raises(AssertionError, match="1 dimensional"):
            cls(str(tmp_path / "bad")).add_audio("x", np.zeros((2, 5)))


def test_add_video_without_moviepy_matches_torch(tmp_path: Path, capsys: Any) -> None:
    try:
        import moviepy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("moviepy is installed")
    vid = np.random.default_rng(0).random((3, 2, 3, 4, 4)).astype(np.float32)
    t, c = _both(tmp_path, lambda w, lib: w.add_video("v", lib.tensor(vid), 5, fps=3))
    assert capsys.readouterr().out.count("add_video needs package moviepy") == 2
    (te,), (ce,) = _events(t), _events(c)
    assert te.step == ce.step == 5
    assert te.summary == ce.summary


# ---------------------------------------------------------------------------- pr curves
def test_add_pr_curve_matches_torch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    preds = rng.random(500).astype(np.float32)
    preds[:20] = np.arange(20) / 19  # exact thresholds
    weights = rng.random(500).astype(np.float32)
    rows = [rng.random(5).astype(np.float32) for _ in range(6)]

    def calls(w: Any, lib: Any) -> None:
        w.add_pr_curve("pr", lib.tensor(labels), lib.tensor(preds), 1)
        w.add_pr_curve("pr5", lib.tensor(labels), lib.tensor(preds), 2, num_thresholds=5)
        w.add_pr_curve("prw", labels, preds, 3, num_thresholds=20, weights=weights)
        w.add_pr_curve("pr200", labels, preds, 4, num_thresholds=200)
        w.add_pr_curve_raw("raw", *rows, global_step=5, num_thresholds=5)

    got = _same_records(*_both(tmp_path, calls))
    assert got["pr200"][1].tensor.tensor_shape.dim[1].size == 127


# ---------------------------------------------------------------------------- mesh, layout
def test_add_mesh_matches_torch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    verts = rng.random((1, 4, 3)).astype(np.float32)
    colors = rng.integers(0, 255, (1, 4, 3))
    faces = np.array([[[0, 1, 2], [1, 2, 3]]])
    config = {"camera": {"fov": 75, "cls": "PerspectiveCamera"}, "a": 1}

    def calls(w: Any, lib: Any) -> None:
        w.add_mesh("m", lib.tensor(verts), lib.tensor(colors), lib.tensor(faces), config, 4)
        w.add_mesh("points", lib.tensor(verts))
        w.add_mesh("faces", lib.tensor(verts), faces=lib.tensor(faces), global_step=2)

    got = _same_records(*_both(tmp_path, calls))
    assert set(got) == {
        "m_VERTEX",
        "m_FACE",
        "m_COLOR",
        "points_VERTEX",
        "faces_VERTEX",
        "faces_FACE",
    }


def test_custom_scalars_match_torch(tmp_path: Path) -> None:
    layout = {
        "Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
        "USA": {
            "dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]],
            "nasdaq": ["Multiline", ["nasdaq/aaa"]],
        },
    }

    def calls(w: Any, lib: Any) -> None:
        w.add_custom_scalars(layout)
        w.add_custom_scalars_multilinechart(["a", "b"], category="c", title="t")
        w.add_custom_scalars_marginchart(["a", "b", "c"])

    t, c = _both(tmp_path, calls)
    te, ce = _events(t), _events(c)
    assert len(te) == len(ce) == 3
    for a, b in zip(te, ce):
        assert a.summary == b.summary and a.step == b.step
    for cls in (TorchWriter, SummaryWriter):
        w = cls(str(tmp_path / "bad"))
        with pytest.raises(AssertionError, match="Expected 3 tags, got 2"):
            w.add_custom_scalars_marginchart(["a", "b"])
        with pytest.raises(AssertionError, match="len"):
            w.add_custom_scalars({"c": {"t": ["Margin", ["a"]]}})


# ---------------------------------------------------------------------------- tensors
@pytest.mark.parametrize(
    "dtype",
    ["float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool"],
)
def test_add_tensor_matches_torch(tmp_path: Path, dtype: str) -> None:
    data = (np.arange(6).reshape(2, 3) * 0.7 - 1).astype(dtype)

    def calls(w: Any, lib: Any) -> None:
        w.add_tensor("t", lib.tensor(data), 1)
        w.add_tensor("scalar", lib.tensor(data.ravel()[1]), 2)

    t, c = _both(tmp_path, calls)
    te, ce = _events(t), _events(c)
    for a, b in zip(te, ce):
        assert a.summary == b.summary and a.step == b.step


def test_add_onnx_graph_needs_onnx(tmp_path: Path) -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("onnx is installed")
    with pytest.raises(ModuleNotFoundError):
        TorchWriter(str(tmp_path / "t")).add_onnx_graph("model.onnx")
    with pytest.raises(ModuleNotFoundError, match="pip install onnx"):
        SummaryWriter(str(tmp_path / "c")).add_onnx_graph("model.onnx")


# ---------------------------------------------------------------------------- embeddings
def _files(d: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(d)): p.read_bytes()
        for p in sorted(d.rglob("*"))
        if p.is_file() and not p.name.startswith("events")
    }


def test_add_embedding_matches_torch(tmp_path: Path, capsys: Any) -> None:
    rng = np.random.default_rng(0)
    mat = (np.arange(12, dtype=np.float32).reshape(4, 3) / 7).astype(np.float32)
    imgs = rng.random((4, 3, 2, 3)).astype(np.float32)

    def calls(w: Any, lib: Any) -> None:
        w.add_embedding(lib.tensor(mat), ["a", "b", "c", "d"], lib.tensor(imgs), 3, "emb")
        w.add_embedding(
            lib.tensor(mat),
            metadata=[["a", 1], ["b", 2], ["c", 3], ["d", 4]],
            metadata_header=["name", "n"],
            global_step=5,
        )
        w.add_embedding(lib.tensor(mat))
        w.add_embedding(mat.astype(np.float64) / 3, tag="x/y %", metadata=[1, 2, 3, 4])
        w.add_embedding(lib.tensor(np.array([[1, 2]])), tag="int")
        w.add_embedding(
            lib.tensor(rng.random((10, 2))),
            tag="s10",
            label_img=lib.tensor(rng.random((10, 1, 2, 3)).astype(np.float32)),
        )
        w.add_embedding(lib.tensor(mat), tag="emb", global_step=3)  # the dir exists: a warning

    t, c = _both(tmp_path, calls)
    tf, cf = _files(t), _files(c)
    assert sorted(tf) == sorted(cf)
    for name in tf:
        if "s10" in name:  # s10's data is random per writer
            continue
        if name.endswith(".png"):
            assert _png(tf[name])[0] == _png(cf[name])[0]
            np.testing.assert_array_equal(_png(tf[name])[1], _png(cf[name])[1])
        else:
            assert tf[name] == cf[name], name
    assert capsys.readouterr().out.count("Embedding dir exists") == 2
    for cls in (TorchWriter, SummaryWriter):
        w = cls(str(tmp_path / "bad"))
        with pytest.raises(AssertionError, match="#labels"):
            w.add_embedding(np.zeros((2, 2)), metadata=["a"], tag="l")
        with pytest.raises(AssertionError, match="#images"):
            w.add_embedding(np.zeros((2, 2)), label_img=np.zeros((3, 3, 2, 2)), tag="i")
        with pytest.raises(AssertionError, match="2D"):
            w.add_embedding(np.zeros((2, 2, 2)), tag="m")
