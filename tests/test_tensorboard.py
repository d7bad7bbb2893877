"""SummaryWriter's event files, read back with TensorBoard's own event reader."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("tensorboard", reason="optional extra chainrule[tensorboard]")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from chainrule.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path):
    acc = EventAccumulator(
        str(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}
    )
    acc.Reload()
    return acc


def test_scalars_with_steps_and_tensor_values(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss/train", cr.tensor(1.0 / (step + 1)), step)
        w.add_scalar("lr", 0.5, 3, new_style=True)
    acc = _read(tmp_path)
    events = acc.Scalars("loss/train")
    assert [e.step for e in events] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([e.value for e in events], [1, 0.5, 1 / 3, 0.25, 0.2], rtol=1e-6)
    assert "lr" in acc.Tags()["tensors"]
    with pytest.raises(ValueError, match="scalar"):
        SummaryWriter(tmp_path / "x").add_scalar("bad", cr.ones(3))


def test_add_scalars_writes_one_run_per_curve(tmp_path):
    w = SummaryWriter(tmp_path)
    w.add_scalars("loss", {"train": 1.0, "val": 2.0}, 7)
    w.close()
    for tag, val in (("train", 1.0), ("val", 2.0)):
        run = tmp_path / f"loss_{tag}"
        assert run.is_dir()
        (event,) = _read(run).Scalars("loss")
        assert event.step == 7 and event.value == val


def test_histogram_statistics(tmp_path):
    values = np.random.default_rng(0).standard_normal(1000)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights", cr.tensor(values), 1)
        w.add_histogram("weights_auto", values, 1, bins="auto")
        with pytest.raises(ValueError, match="NaN"):
            w.add_histogram("bad", np.array([np.nan]))
    acc = _read(tmp_path)
    for tag in ("weights", "weights_auto"):
        h = acc.Histograms(tag)[0].histogram_value
        assert h.num == 1000 and sum(h.bucket) == 1000
        assert h.min == pytest.approx(values.min()) and h.max == pytest.approx(values.max())
        assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx(
            (values**2).sum()
        )


def test_image_round_trips_through_png(tmp_path):
    from PIL import Image

    img = np.zeros((3, 4, 5))
    img[0, :, :2] = 1.0  # red left part
    with SummaryWriter(tmp_path) as w:
        w.add_image("sample", cr.tensor(img), 2)
        w.add_image("gray", np.arange(12, dtype=np.uint8).reshape(3, 4), 2, dataformats="HW")
        with pytest.raises(ValueError, match="channels"):
            w.add_image("bad", img, dataformats="HWC")  # 5 channels
        with pytest.raises(ValueError, match="dataformats"):
            w.add_image("bad", img, dataformats="NCHW")
    acc = _read(tmp_path)
    ev = acc.Images("sample")[0]
    assert (ev.height, ev.width, ev.step) == (4, 5, 2)
    decoded = np.asarray(Image.open(io.BytesIO(ev.encoded_image_string)))
    assert decoded.shape == (4, 5, 3)
    assert (decoded[:, :2, 0] == 255).all() and (decoded[:, 2:] == 0).all()
    gray = np.asarray(Image.open(io.BytesIO(acc.Images("gray")[0].encoded_image_string)))
    # a grayscale image is written as RGB, as PyTorch writes it
    np.testing.assert_array_equal(gray, np.repeat(np.arange(12).reshape(3, 4, 1), 3, axis=2))


def test_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "hello **world**", 0)
    acc = _read(tmp_path)
    (ev,) = acc.Tensors("notes/text_summary")
    assert ev.tensor_proto.string_val[0].decode() == "hello **world**"


def test_hparams(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams(
            {"lr": 0.1, "opt": "adam", "bn": True}, {"hparam/acc": 0.9}, run_name="trial1"
        )
        with pytest.raises(TypeError, match="must be bool"):
            w.add_hparams({"x": [1]}, {})
    run = tmp_path / "trial1"
    acc = _read(run)
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["lr"].number_value == 0.1
    assert start.hparams["opt"].string_value == "adam"
    assert start.hparams["bn"].bool_value is True
    exp = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/acc"]
    assert acc.Scalars("hparam/acc")[0].value == pytest.approx(0.9)


def test_default_log_dir_and_purge_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp1")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp1")
    w.close()
    assert os.listdir(w.get_logdir())


def test_trainer_callback_logs_epoch_metrics(tmp_path):
    from chainrule.train import Trainer
    from chainrule.train.tensorboard import TensorBoardLogger
    from chainrule.utils.data import DataLoader, TensorDataset

    cr.manual_seed(0)
    x, y = cr.randn(32, 3), cr.randint(0, 2, (32,))
    model = cr.nn.Linear(3, 2)
    trainer = Trainer(
        model,
        cr.nn.functional.cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[TensorBoardLogger(str(tmp_path), histograms=True)],
        verbose=False,
    )
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    trainer.fit(loader, loader, epochs=3)
    acc = _read(tmp_path)
    assert {"loss/train", "loss/val", "accuracy/train", "accuracy/val", "lr"} <= set(
        acc.Tags()["scalars"]
    )
    losses = [e.value for e in acc.Scalars("loss/train")]
    hist = trainer.history.history["loss"]
    np.testing.assert_allclose(losses, hist, rtol=1e-6)
    assert set(acc.Tags()["histograms"]) == {"weight", "bias"}
