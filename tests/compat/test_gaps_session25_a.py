"""Gaps found by the session-25 (batch a) drop-in programs (``repvgg_reparam``,
``yolov5_c3_sppf``, ``centernet_heatmap``, ``segformer_mit``, ``cbam_sknet``), each checked
against PyTorch.

- ``F.adaptive_max_pool2d(..., return_indices=True)`` (and ``nn.AdaptiveMaxPool2d(...,
  return_indices=True)``) raised NotImplementedError when the output size does not divide the
  input size (a 7x9 map pooled to 3x4, as attention ports' max branches and unpooling decoders
  meet on odd feature maps). PyTorch returns each bin's first maximum and its index into the
  H*W plane, and sends the gradient to that element only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _pool(fw: Any, data: np.ndarray, size: Any, module: bool) -> tuple[Any, Any, Any]:
    x = fw.tensor(data, requires_grad=True)
    if module:
        out, idx = fw.nn.AdaptiveMaxPool2d(size, return_indices=True)(x)
    else:
        out, idx = fw.nn.functional.adaptive_max_pool2d(x, size, return_indices=True)
    weights = fw.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape) + 1.0)
    (out * weights).sum().backward()
    return out, idx, x.grad


@pytest.mark.parametrize("module", [False, True])
@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 3, 7, 9), (3, 4)), ((3, 5, 5), 3), ((1, 2, 6, 5), (4, None)), ((2, 2, 5, 8), (5, 3))],
)
def test_adaptive_max_pool2d_indices_non_divisible(shape: tuple, size: Any, module: bool) -> None:
    data = np.random.default_rng(0).standard_normal(shape)
    want = _pool(torch, data, size, module)
    got = _pool(chainrule, data, size, module)
    assert got[1].dtype == chainrule.int64
    for g, w in zip(got, want, strict=True):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_array_equal(g.detach().numpy(), w.detach().numpy())


def test_adaptive_max_pool2d_indices_ties_and_nan() -> None:
    """Ties pick the first maximum in scan order, a NaN wins its bin (the last NaN, as
    PyTorch's CPU kernel), in overlapping bins too."""
    data = np.zeros((1, 2, 5, 5))
    data[0, 0, 1, 1] = data[0, 0, 1, 3] = 2.0
    data[0, 1, 2, 2] = data[0, 1, 0, 4] = np.nan
    results = []
    for fw in (torch, chainrule):
        x = fw.tensor(data)
        out, idx = fw.nn.functional.adaptive_max_pool2d(x, (3, 2), return_indices=True)
        results.append((out.numpy(), idx.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
