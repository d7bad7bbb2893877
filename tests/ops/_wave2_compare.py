"""Comparison helpers shared by the wave 2 pointwise tests (``test_wave2_pointwise_a.py``,
``test_wave2_pointwise_b.py``): one input as a chainrule and a torch tensor, and a result
compared with torch's in shape, dtype and values."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import chainrule as cr

__all__ = ["pair", "same"]


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach().numpy())


def same(c: Any, t: Any, rtol: float = 1e-12, atol: float = 1e-14) -> None:
    """chainrule result ``c`` equals torch result ``t``: shape, dtype, values (NaN == NaN)."""
    cn, tn = _np(c), _np(t)
    assert cn.shape == tn.shape
    assert cn.dtype == tn.dtype, (cn.dtype, tn.dtype)
    if cn.dtype.kind in "iub":
        np.testing.assert_array_equal(cn, tn)
    else:
        np.testing.assert_allclose(cn, tn, rtol=rtol, atol=atol, equal_nan=True)


def pair(a: Any, **kw: Any) -> tuple[cr.Tensor, torch.Tensor]:
    """The array ``a`` as a chainrule tensor and a torch tensor (same keywords)."""
    return cr.tensor(np.asarray(a), **kw), torch.tensor(np.asarray(a), **kw)
