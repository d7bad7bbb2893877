"""Checks and small helpers shared by the random factories (``creation_random.py``):
``cr.func.vmap``'s batched draws, PyTorch's refusals of ``out=`` with inputs that require grad
and of factory options with a tensor ``mean``/``std``, and the meta device's draws (a shape and
dtype, nothing drawn). Kept apart so that ``creation_random.py`` holds the factories only."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd import grad_mode
from .autograd.tensor import Tensor
from .backend import Device
from .dtype_objects import dtype as _DtypeObject
from .meta import meta_empty

__all__: list[str] = []


def _vmap_batched(fn: Any, args: tuple, kwargs: dict) -> Tensor | None:
    """Under ``cr.func.vmap``, a batched argument: the op by its randomness mode, else None."""
    if not any(type(a) is not Tensor and isinstance(a, Tensor) for a in args):
        return None  # no batched (Tensor subclass) argument: the plain path
    from .func._random import batched_call  # noqa: PLC0415 - func imports this module

    return batched_call(fn, args, kwargs)


def _refuse_tensor_factory_options(mean: Any, std: Any, dtype: Any, device: Any, rg: bool) -> None:
    """PyTorch's ``normal`` overloads with a tensor ``mean`` or ``std`` take only
    ``generator`` and ``out``: ``dtype``, ``device`` or ``requires_grad`` with one is its
    TypeError of an invalid combination of arguments (the draws take the tensor's dtype)."""
    if not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
        return
    names = {Tensor: "Tensor", _DtypeObject: "torch.dtype", Device: "torch.device"}
    name = lambda v: next((n for k, n in names.items() if isinstance(v, k)), type(v).__name__)  # noqa: E731
    given = [
        f"{k}={name(v)}"
        for k, v in (("dtype", dtype), ("device", device), ("requires_grad", rg or None))
        if v is not None
    ]
    if given:
        raise TypeError(
            f"normal() received an invalid combination of arguments - got "
            f"({', '.join([name(mean), name(std), *given])}), but expected one of: (Tensor "
            "mean, Tensor std, *, torch.Generator generator = None, Tensor out = None), (Tensor "
            "mean, float std = 1, *, ...), (float mean, Tensor std, *, ...), (float mean, float "
            "std, tuple of ints size, *, ..., torch.dtype dtype = None, torch.device device = "
            "None, bool requires_grad = False); a tensor mean or std takes no dtype, device or "
            "requires_grad (use .to() on the result)"
        )


def _tracked_inputs(*inputs: Any) -> bool:
    """Whether grad mode is on and a tensor among ``inputs`` requires grad."""
    return grad_mode.is_grad_enabled() and any(
        isinstance(v, Tensor) and v.requires_grad for v in inputs
    )


def _refuse_out_grad(op: str, *inputs: Any) -> None:
    """PyTorch's error for ``out=`` with an input that requires grad (while grad mode is on)."""
    if _tracked_inputs(*inputs):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )


def _bf16_array(v: Any) -> bool:
    return _dt.is_bfloat16(getattr(v, "dtype", np.dtype(np.float64)))


def _meta_draws(dtype: Any, shape: tuple) -> Any:
    """The raw array of ``rand``/``randn`` on the meta device: a shape and dtype only."""
    return meta_empty(shape, _dt.as_dtype(dtype if dtype is not None else _dt.get_default_dtype()))
