"""Gaps found by the session-24 (batch g) drop-in programs (``wav2vec2_quantizer``,
``roi_align_grid_sample``, ``bnn_straight_through``, ``esrgan_rrdb``,
``graph_wavenet_adaptive_adj``), each checked against PyTorch.

- ``print(model)`` of a BinaryNet (``nn.Hardtanh(inplace=True)`` between the binary layers)
  differed from PyTorch's: ``Hardtanh`` and ``Threshold`` did not show ``inplace=True``, and
  ``Hardsigmoid``/``Hardswish`` showed it where PyTorch's repr never does.
"""

from __future__ import annotations

from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("Hardtanh", ()),
        ("Hardtanh", (-2.0, 3.0)),
        ("Threshold", (0.1, 20.0)),
        ("Hardsigmoid", ()),
        ("Hardswish", ()),
        ("ReLU6", ()),
        ("ReLU", ()),
    ],
)
@pytest.mark.parametrize("inplace", [False, True])
def test_activation_repr_shows_inplace_like_torch(name: str, args: tuple, inplace: bool) -> None:
    def build(lib: Any) -> str:
        return repr(getattr(lib.nn, name)(*args, inplace=inplace))

    assert build(chainrule) == build(torch)


def test_binary_net_sequential_repr_like_torch() -> None:
    def build(lib: Any) -> str:
        nn = lib.nn
        return repr(
            nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1, bias=False),
                nn.BatchNorm2d(4),
                nn.Hardtanh(inplace=True),
                nn.Hardswish(inplace=True),
            )
        )

    assert build(chainrule) == build(torch)
