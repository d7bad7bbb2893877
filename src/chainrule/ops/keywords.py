"""PyTorch's keyword conveniences on the functional ops: NumPy-style ``axis=``/``keepdims=``
aliases and ``out=``.

PyTorch accepts ``torch.sum(x, axis=1, keepdims=True)`` (NumPy's names) and ``out=`` on most
functions. ``accepts_torch_keywords(fn)`` wraps an op so that those keywords work; calls
without keyword arguments go straight through (one ``if`` on the hot path). Which ops: those
marked ``@tensor_method(keywords=True)`` or ``@numpy_keywords`` in their own file
(``ops/binding.py``); ``ops/__init__.py`` wraps them once, for ``chainrule.<name>`` and the
method alike, and the package's internal calls use the unwrapped function.

``out=`` writes the result into the given tensor, as PyTorch does: cast to ``out``'s dtype
when the cast is safe within a kind, resized (with PyTorch's warning) when its shape differs,
and refused when autograd would need to record the op ("functions with out=... arguments
don't support automatic differentiation").
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..dtype_rules import can_cast

__all__ = ["accepts_torch_keywords", "write_out"]


_SAME_DTYPE_OUT = frozenset({"quantile", "nanquantile"})
"""Ops whose ``out=`` must have the result's dtype exactly (PyTorch checks it, no cast)."""


def write_out(op: str, result: Any, out: Any) -> Any:
    """Copy ``result`` (a Tensor or a tuple of them) into ``out`` and return ``out``."""
    if isinstance(result, tuple):  # e.g. max(dim) -> (values, indices)
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}(): out= must be a tuple of {len(result)} tensors")
        written = [write_out(op, r, o) for r, o in zip(result, out)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    if grad_mode.is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    arr = result._data
    if op in _SAME_DTYPE_OUT and arr.dtype != out._data.dtype:
        raise RuntimeError("quantile() out tensor must be same dtype as the input tensor")
    if not can_cast(arr.dtype, out._data.dtype):  # torch's rule (int64 into uint8 is fine)
        raise RuntimeError(
            f"{op}(): result type {arr.dtype} can't be cast to the desired "
            f"output type {out._data.dtype}"
        )
    if arr.shape != out._data.shape:
        if out._data.size:
            warnings.warn(
                f"{op}(): an output with one or more elements was resized since it "
                f"had shape {list(out._data.shape)}, which does not match the required "
                f"output shape {list(arr.shape)}.",
                UserWarning,
                stacklevel=3,
            )
        out._data = np.empty(arr.shape, dtype=out._data.dtype)
    np.copyto(out._data, arr, casting="unsafe")
    out._vc[0] += 1
    return out


def accepts_torch_keywords(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` accepting ``axis=`` (for ``dim``), ``keepdims=`` (for ``keepdim``) and ``out=``."""
    op = name or fn.__name__

    @functools.wraps(fn)
    def op_with_keywords(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            return fn(*args)
        if "axis" in kwargs:
            if "dim" in kwargs:
                raise TypeError(f"{op}(): got both 'dim' and its alias 'axis'")
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            if "keepdim" in kwargs:
                raise TypeError(f"{op}(): got both 'keepdim' and its alias 'keepdims'")
            kwargs["keepdim"] = kwargs.pop("keepdims")
        out = kwargs.pop("out", None)
        result = fn(*args, **kwargs)
        return result if out is None else write_out(op, result, out)

    return op_with_keywords
