"""Shared helpers for the ``cr.func.vmap`` tests: run one function body under chainrule and
under PyTorch, vmapped the same way, and compare in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import _dispatch

torch = pytest.importorskip("torch")


def to_lib(lib: Any, x: Any) -> Any:
    """NumPy arrays (nested in tuples/lists/dicts) as tensors of ``lib``."""
    if isinstance(x, np.ndarray):
        return lib.tensor(x)
    if isinstance(x, dict):
        return {k: to_lib(lib, v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(to_lib(lib, v) for v in x)
    return x


def to_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, cr.Tensor):
        return x.detach().numpy()
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(v) for v in x)
    return x


def assert_tree_close(got: Any, want: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want)
        for k in want:
            assert_tree_close(got[k], want[k], rtol, atol)
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_tree_close(g, w, rtol, atol)
    else:
        assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def compare(
    body: Callable[[Any], Callable],
    args: tuple,
    in_dims: Any = 0,
    out_dims: Any = 0,
    batched_only: bool = True,
    **vmap_kwargs: Any,
) -> Any:
    """``vmap(body(lib), in_dims, out_dims)(*args)`` for lib = chainrule and torch, compared.

    With ``batched_only`` the chainrule run must not fall back to a per-sample loop.
    """
    before = _dispatch.STATS["fallback"]
    got = cr.func.vmap(body(cr), in_dims, out_dims, **vmap_kwargs)(*to_lib(cr, args))
    if batched_only:
        assert _dispatch.STATS["fallback"] == before, (
            f"{_dispatch.STATS['last']} fell back to a per-sample loop"
        )
    want = torch.func.vmap(body(torch), in_dims, out_dims, **vmap_kwargs)(*to_lib(torch, args))
    assert_tree_close(to_numpy(got), to_numpy(want))
    return got


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)
