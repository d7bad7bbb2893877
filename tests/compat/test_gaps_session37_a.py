"""Gaps found by the session-37 drop-in programs (helper a: vision, video, audio, generative).

Each test pins one fix: against the installed PyTorch where PyTorch shows the behaviour, and
the DataLoader-worker test keeps what the ``manual_seed`` fix must not lose.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.onnx as onnx_module  # the import statement a port of torch code keeps

torch = pytest.importorskip("torch")


def test_onnx_is_in_onnx_export_outside_an_export() -> None:
    """mmcv's ``CornerPool.forward`` asks ``torch.onnx.is_in_onnx_export()`` on every call;
    outside ``torch.onnx.export`` PyTorch answers False, and chainrule (which has no exporter)
    always does."""
    assert cr.onnx.is_in_onnx_export() is torch.onnx.is_in_onnx_export() is False
    assert inspect.signature(cr.onnx.is_in_onnx_export).parameters.keys() == (
        inspect.signature(torch.onnx.is_in_onnx_export).parameters.keys()
    )


def test_onnx_is_a_lazy_submodule() -> None:
    """``import chainrule.onnx`` and the attribute ``chainrule.onnx`` name the same module."""
    assert cr.onnx is onnx_module
    assert onnx_module.__all__ == ["is_in_onnx_export"]


def test_manual_seed_leaves_numpys_global_generator_alone() -> None:
    """``torch.manual_seed`` seeds torch's generator only. AugMix/CutMix-style scripts draw
    their mixing weights from ``np.random`` and may (re)seed torch in between: under chainrule
    the NumPy stream must continue exactly as under torch."""
    draws = {}
    for lib in (torch, cr):
        np.random.seed(1)
        first = np.random.rand(2)
        lib.manual_seed(0)
        draws[lib.__name__] = (first, np.random.rand(3), lib.rand(2).numpy())
    t, c = draws["torch"], draws["chainrule"]
    np.testing.assert_array_equal(c[0], t[0])
    np.testing.assert_array_equal(c[1], t[1])  # the NumPy stream went on, unseeded
    np.testing.assert_array_equal(c[2], t[2])  # and the torch stream is torch's
    np.random.seed(1)
    np.random.rand(2)
    np.testing.assert_array_equal(np.random.rand(3), t[1])


def test_dataloader_workers_still_seed_numpy_per_worker() -> None:
    """PyTorch's DataLoader workers seed NumPy (``_worker_loop``); chainrule's do it in
    ``seed_worker`` now that ``manual_seed`` no longer does: two workers draw different NumPy
    numbers and a rerun with the same generator draws the same ones."""
    rows = [
        list(
            cr.utils.data.DataLoader(
                _NumpyDraws(),
                batch_size=None,
                num_workers=2,
                generator=cr.Generator().manual_seed(11),
            )
        )  # fmt: skip
        for _ in range(2)
    ]
    assert rows[0] == rows[1]
    assert rows[0][0] != rows[0][1]  # worker 0's first draw differs from worker 1's


class _NumpyDraws(cr.utils.data.Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> float:
        return float(np.random.rand())


def test_onnx_exporter_entry_points_name_themselves() -> None:
    """``cr.onnx.export`` raises NotImplementedError naming it; unknown names AttributeError."""
    with pytest.raises(NotImplementedError, match="chainrule.onnx.export"):
        cr.onnx.export  # noqa: B018 - the attribute access is the call under test
    with pytest.raises(AttributeError):
        cr.onnx.no_such_function  # noqa: B018
