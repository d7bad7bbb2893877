"""Gaps found by the session-31 (batch a) drop-in programs (``build_nanogpt_gpt2``,
``makemore_activations_batchnorm``, ``uva_activations_and_optimizers``, ``mit_dbvae_debiasing``,
``ztm_pytorch_course``, ``nyu_dl_canziani_notebooks``), each checked against PyTorch:

- ``SummaryWriter.add_graph`` was missing (Zero to Mastery 07 logs every experiment's model
  with it); it now writes a graph of the model's module calls (PyTorch's shows the traced ATen
  operations in the same scopes) with the ``input/<arg>`` / ``output/output.N`` IO nodes,
  ``_output_shapes`` and the ``step1`` run metadata, and restores the model's training mode.
- ``SummaryWriter.add_scalars`` and ``add_hparams`` after ``close()`` did not reopen the
  writer's own event file (PyTorch's do, so the notebook's ``close()`` inside the epoch loop
  leaves one more file per epoch); ``add_scalars`` now stamps every tag with one wall time.
- ``torch.histogram`` accepted what PyTorch rejects: bins edges of another dtype than the
  input, 2-d or empty edges, a float bin count, ``range=`` with edges (TypeError); and raised
  NumPy's ValueError where PyTorch raises RuntimeError (a count <= 0, a reversed, wrong-length
  or non-finite range, NaN data); float16 input is not implemented in PyTorch either.
- ``nn.GELU(approximate='foo')`` raised ValueError at construction; PyTorch builds the module
  and raises RuntimeError when it is called.
"""

from __future__ import annotations

import collections
import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _writer(m: Any, log_dir: Path) -> Any:
    return importlib.import_module(f"{m.__name__}.utils.tensorboard").SummaryWriter(log_dir)


def _layout(d: Path) -> dict[str, int]:
    counts: collections.Counter = collections.Counter()
    for root, _, files in os.walk(d):
        counts[os.path.relpath(root, d)] += len(files)
    return dict(counts)


def _accumulator(d: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(d))
    acc.Reload()
    return acc


# ----------------------------------------------------------------------- SummaryWriter
@pytest.mark.parametrize(
    "calls",
    [
        lambda w: (
            w.add_scalars("L", {"a": 1.0, "b": 2.0}, 0),
            w.close(),
            w.add_scalars("L", {"a": 3.0}, 1),
        ),
        lambda w: (w.close(), w.add_hparams({"lr": 0.1}, {"hparam/acc": 0.5}, run_name="r1")),
        lambda w: (w.add_scalar("s", 1.0, 0), w.close(), w.add_scalar("s", 2.0, 1)),
    ],
    ids=["add_scalars", "add_hparams", "add_scalar"],
)
def test_summary_writer_reopens_its_event_file_after_close(calls: Any, tmp_path: Path) -> None:
    layouts = []
    for m in BOTH:
        d = tmp_path / m.__name__
        w = _writer(m, d)
        calls(w)
        w.close()
        layouts.append(_layout(d))
    assert layouts[1] == layouts[0]
    assert layouts[0]["."] == 2  # one event file before close, one after


def test_summary_writer_add_scalars_one_wall_time(tmp_path: Path) -> None:
    w = _writer(chainrule, tmp_path)
    w.add_scalars("Loss", {"train": 1.0, "test": 2.0, "val": 3.0}, global_step=4)
    w.close()
    times = {
        _accumulator(tmp_path / f"Loss_{t}").Scalars("Loss")[0].wall_time
        for t in ("train", "test", "val")
    }
    assert len(times) == 1


def _tiny_vgg(m: Any) -> Any:
    nn = m.nn

    class TinyVGG(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block_1 = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * 2 * 2, 3))

        def forward(self, x: Any) -> Any:
            return self.classifier(self.block_1(x))

    return TinyVGG()


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_add_graph_writes_a_graph_and_run_metadata(m: Any, tmp_path: Path) -> None:
    model = _tiny_vgg(m)
    model.train()
    w = _writer(m, tmp_path)
    w.add_graph(model=model, input_to_model=m.randn(5, 1, 4, 4))
    w.close()
    assert model.training  # traced in eval mode, then restored
    acc = _accumulator(tmp_path)
    assert acc.Tags()["graph"] and acc.Tags()["run_metadata"] == ["step1"]
    graph = acc.Graph()
    assert graph.versions.producer == 22
    io = {n.name: n for n in graph.node if n.op == "IO Node"}
    assert set(io) == {"input/x", "output/output.1"}

    def shape(n: Any) -> list[list[int]]:
        return [[d.size for d in s.dim] for s in n.attr["_output_shapes"].list.shape]

    assert shape(io["input/x"]) == [[5, 1, 4, 4]] and shape(io["output/output.1"]) == [[5, 3]]
    (fed_by,) = io["output/output.1"].input
    assert fed_by.startswith("TinyVGG/Sequential[classifier]/Linear[1]/")
    by_name = {n.name: n for n in graph.node}
    assert shape(by_name[fed_by]) == [[5, 3]]
    scopes = {n.name.rsplit("/", 1)[0] for n in graph.node if n.op != "IO Node"}
    assert "TinyVGG/Sequential[block_1]/Conv2d[0]" in scopes
    assert "TinyVGG/Sequential[block_1]/MaxPool2d[2]" in scopes


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_add_graph_with_tuple_input(m: Any, tmp_path: Path) -> None:
    nn = m.nn

    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(2, 3)
            self.b = nn.Linear(4, 3)

        def forward(self, left: Any, right: Any) -> Any:
            return self.a(left) + self.b(right)

    w = _writer(m, tmp_path)
    w.add_graph(Two(), (m.ones(1, 2), m.ones(1, 4)))
    w.close()
    names = {n.name for n in _accumulator(tmp_path).Graph().node if n.op == "IO Node"}
    assert names == {"input/left", "input/right", "output/output.1"}


def test_add_graph_rejects_a_non_module(tmp_path: Path) -> None:
    w = _writer(chainrule, tmp_path)
    with pytest.raises(TypeError, match="add_graph"):
        w.add_graph(lambda x: x, chainrule.ones(2))
    w.close()


# ----------------------------------------------------------------------- histogram
X = np.random.default_rng(0).standard_normal(20)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize(
    "call, error",
    [
        (
            lambda m, x: m.histogram(x.float(), bins=m.tensor([-1.0, 0.0, 2.0], dtype=m.float64)),
            RuntimeError,
        ),
        (lambda m, x: m.histogram(x, bins=m.tensor([[0.0, 1.0]], dtype=m.float64)), RuntimeError),
        (lambda m, x: m.histogram(x, bins=m.tensor([], dtype=m.float64)), RuntimeError),
        (
            lambda m, x: m.histogram(
                x, bins=m.tensor([0.0, 1.0], dtype=m.float64), range=(0.0, 5.0)
            ),
            TypeError,
        ),
        (lambda m, x: m.histogram(x, bins=2.5), TypeError),
        (lambda m, x: m.histogram(x, bins=0), RuntimeError),
        (lambda m, x: m.histogram(x, bins=-1), RuntimeError),
        (lambda m, x: m.histogram(x, bins=3, range=(1.0, -1.0)), RuntimeError),
        (lambda m, x: m.histogram(x, bins=3, range=(1.0,)), RuntimeError),
        (lambda m, x: m.histogram(x, bins=3, range=(0.0, float("inf"))), RuntimeError),
        (
            lambda m, x: m.histogram(m.tensor([1.0, float("nan")], dtype=m.float64), bins=3),
            RuntimeError,
        ),
        (lambda m, x: m.histogram(x.half(), bins=3), NotImplementedError),
    ],
    ids=[
        "edges-dtype",
        "edges-2d",
        "edges-empty",
        "range-with-edges",
        "float-count",
        "zero-count",
        "negative-count",
        "reversed-range",
        "short-range",
        "infinite-range",
        "nan-data",
        "half",
    ],  # fmt: skip
)
def test_histogram_rejects_what_pytorch_rejects(m: Any, call: Any, error: type) -> None:
    with pytest.raises(error):
        call(m, m.tensor(X, dtype=m.float64))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.histogram(x, bins=3, range=(1.0, 1.0)),
        lambda m, x: m.histogram(x, bins=m.tensor([-1.0, 0.0, 0.0, 2.0], dtype=m.float64)),
        lambda m, x: m.histogram(x[:0], bins=3),
        lambda m, x: m.histogram(x, 4, range=(-1.0, 1.0), density=True),
        lambda m, x: m.histogram(x, bins=5, weight=x.abs()),
        lambda m, x: x.histogram(m.tensor([-2.0, 0.5, 3.0], dtype=m.float64), density=True),
    ],
    ids=["degenerate-range", "repeated-edge", "empty-input", "range-density", "weights", "method"],
)
def test_histogram_values_match(call: Any) -> None:
    want = call(torch, torch.tensor(X))
    got = call(chainrule, chainrule.tensor(X))
    np.testing.assert_allclose(got.hist.numpy(), want.hist.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got.bin_edges.numpy(), want.bin_edges.numpy(), rtol=1e-12)
    assert str(got.hist.dtype) == str(want.hist.dtype)


# ----------------------------------------------------------------------- GELU
@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_gelu_unknown_approximate_raises_when_called(m: Any) -> None:
    gelu = m.nn.GELU(approximate="foo")  # constructed, as PyTorch's
    assert "approximate='foo'" in repr(gelu)
    with pytest.raises(RuntimeError, match="approximate"):
        gelu(m.ones(2))
    with pytest.raises(RuntimeError, match="approximate"):
        m.nn.functional.gelu(m.ones(2), approximate="Tanh")
    out = m.nn.GELU(approximate="tanh")(m.tensor([0.5, -1.0], dtype=m.float64))
    np.testing.assert_allclose(
        out.numpy(),
        torch.nn.functional.gelu(
            torch.tensor([0.5, -1.0], dtype=torch.float64), approximate="tanh"
        ).numpy(),
        rtol=1e-12,
    )


def test_add_graph_verbose_prints_the_nodes(tmp_path: Path, capsys: Any) -> None:
    w = _writer(chainrule, tmp_path)
    w.add_graph(_tiny_vgg(chainrule), chainrule.randn(2, 1, 4, 4), verbose=True)
    w.close()
    printed = capsys.readouterr().out
    assert "TinyVGG/Sequential[block_1]/Conv2d[0]/1 = Conv2d(input/x)" in printed
    assert "output/output.1 = IO Node(TinyVGG/Sequential[classifier]/Linear[1]/" in printed
