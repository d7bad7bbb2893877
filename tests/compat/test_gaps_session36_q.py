"""Gaps found by the session-36 (batch q) drop-in programs (``torch_export_tutorial``,
``mario_ddqn``, ``cs285_policy_gradient``, ``cmu11785_frame_mlp``, ``tensorboard_tutorial``,
``ray_tune_trials``, ``kuangliu_cifar``), each checked against PyTorch:

- ``print(ep.module())`` named the guard submodule ``_GuardsFn()``; PyTorch's is ``GuardsFn()``.
- ``DataLoader(pin_memory=True)`` did not warn; PyTorch warns "'pin_memory' argument is set as
  true but no accelerator is found, ..." on every new iterator (not when persistent workers
  are reused), which the CMU 11-785 notebook's loaders show.
- ``SummaryWriter.add_embedding`` wrote no event file; PyTorch reaches the log dir through its
  file writer, which opens one (a new one after ``close()``, as the TensorBoard tutorial's
  ``writer.close()`` between calls shows).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")
pytest.importorskip("torch.utils.tensorboard")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _export_module_repr(m: Any) -> str:
    class MyModule(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = m.nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            return self.lin(x).relu()

    ep = m.export.export(MyModule(), (m.randn(3, 4),))
    return repr(ep.module()).split("\n\n\n")[0]


def test_exported_module_prints_guards_fn_as_torch() -> None:
    want = _export_module_repr(torch)
    got = _export_module_repr(chainrule)
    assert got == want
    assert "(_guards_fn): GuardsFn()" in got


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_exported_module_guard_errors(m: Any) -> None:
    class Net(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = m.nn.Linear(4, 2)

        def forward(self, x: Any, y: Any) -> Any:
            return self.lin(x + y)

    x = m.randn(6, 4)
    ep = m.export.export(Net(), (x, x))
    with pytest.raises(AssertionError, match=r"Guard failed: x.size\(\)\[0\] == 6"):
        ep.module()(m.randn(3, 4), m.randn(3, 4))
    b = m.export.Dim("b", min=2, max=8)
    ep2 = m.export.export(Net(), (x, x), dynamic_shapes={"x": {0: b}, "y": {0: b}})
    assert ep2.module()(m.randn(8, 4), m.randn(8, 4)).shape == (8, 2)
    with pytest.raises(AssertionError, match=r"Guard failed: x.size\(\)\[0\] <= 8"):
        ep2.module()(m.randn(9, 4), m.randn(9, 4))
    with pytest.raises(AssertionError, match=r"Guard failed: y.size\(\)\[0\] == x.size\(\)\[0\]"):
        ep2.module()(m.randn(3, 4), m.randn(4, 4))


def _pin_memory_warnings(m: Any, **kwargs: Any) -> int:
    loader = m.utils.data.DataLoader(list(range(4)), batch_size=2, pin_memory=True, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            for _batch in loader:
                pass
        iter(loader)
    return sum("'pin_memory' argument is set as true" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"num_workers": 1}, {"num_workers": 1, "persistent_workers": True}],
    ids=["single", "workers", "persistent"],
)
def test_dataloader_pin_memory_warns_per_new_iterator(kwargs: dict) -> None:
    want = _pin_memory_warnings(torch, **kwargs)
    assert _pin_memory_warnings(chainrule, **kwargs) == want
    assert want == (1 if kwargs.get("persistent_workers") else 3)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_dataloader_pin_memory_warning_text(m: Any) -> None:
    loader = m.utils.data.DataLoader([1, 2], batch_size=1, pin_memory=True)
    with pytest.warns(UserWarning, match="but no accelerator is found, then device pinned"):
        iter(loader)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iter(m.utils.data.DataLoader([1, 2], batch_size=1))  # pin_memory=False: silent


def _event_files(m: Any, root: Path) -> list[int]:
    SummaryWriter = __import__(f"{m.__name__}.utils.tensorboard", fromlist=["x"]).SummaryWriter
    log_dir = root / m.__name__
    counts = []

    def count() -> int:
        return sum(f.startswith("events.out.tfevents") for f in os.listdir(log_dir))

    writer = SummaryWriter(str(log_dir))
    counts.append(count())
    writer.add_scalar("a", 1.0, 0)
    writer.close()
    counts.append(count())
    writer.add_embedding(m.randn(3, 2), metadata=["x", "y", "z"])  # reopens: a new file
    counts.append(count())
    writer.add_embedding(m.randn(3, 2), global_step=1)  # the same (open) file
    counts.append(count())
    writer.close()
    writer.add_embedding(m.randn(3, 2), tag="other")
    writer.close()
    counts.append(count())
    return counts


def test_add_embedding_opens_an_event_file_as_torch(tmp_path: Path) -> None:
    want = _event_files(torch, tmp_path)
    assert _event_files(chainrule, tmp_path) == want
    assert want == [1, 1, 2, 2, 3]
