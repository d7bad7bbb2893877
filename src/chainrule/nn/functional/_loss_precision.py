"""How the losses compute on bfloat16 (and, under CPU autocast, float16) tensors, as
PyTorch's CPU kernels do: in float32, the result rounded once (or kept float32 inside
autocast, whose float32 list holds the losses); :func:`same_dtype_as_input` is the check
some losses give it to refuse mixed dtypes with PyTorch's error.

A decorator shared by every loss family (``loss.py``, ``classification_loss.py``,
``binary_classification_loss.py``), kept apart from their argument checks
(``_loss_args.py``) because it is about dtypes and autocast, not arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ...autograd.lower_precision import AUTOCAST, autocast_float32, computing_in_float32
from ...autograd.tensor import Tensor
from ...dtypes import float16, float32, is_bfloat16, is_floating
from ._loss_args import _scalar_name

__all__ = ["bfloat16_in_float32", "same_dtype_as_input"]


def same_dtype_as_input(*names: str, index_target: bool = False) -> Callable[[dict], None]:
    """A check for :func:`bfloat16_in_float32`: the tensors ``names`` must have ``input``'s
    dtype (PyTorch's kernels raise RuntimeError otherwise); with ``index_target``, only
    when ``target`` holds class indices (probabilities promote instead)."""

    def check(named: dict) -> None:
        x = named["input"]
        if index_target and is_floating(named["target"].dtype):
            return
        for k in names:
            if k in named and named[k].dtype != x.dtype:
                raise RuntimeError(  # PyTorch's words; chainrule's reason after them
                    f"expected scalar type {_scalar_name(x.dtype)} but found "
                    f"{_scalar_name(named[k].dtype)} ({k} must have the same dtype as input)"
                )

    return check


def bfloat16_in_float32(
    fn: Callable[..., Tensor] | None = None,
    *,
    check: Callable[[dict], None] | None = None,
    input_dtype: bool = False,
    native: Callable[[dict], bool] | None = None,
    mixed_as_is: bool = False,
) -> Any:
    """A loss on bfloat16 tensors as PyTorch's CPU computes it: in float32, the result
    rounded once to bfloat16. Inside CPU autocast, where the losses are on the float32 list,
    bfloat16 arguments are cast up and the float32 result is returned. The casts are
    recorded, so gradients reach the bfloat16 tensors.

    Outside autocast, mixing bfloat16 with float32 follows PyTorch: ``check`` (given the
    tensor arguments by name) may refuse a mix; the result is ``input``'s dtype if
    ``input_dtype``, else bfloat16 only when every floating argument is bfloat16 (a float32
    one promotes it to float32).

    ``native`` (given the bound arguments, defaults included) says when the loss is one node
    that computes bfloat16 in float32 itself (``native_bfloat16``): with every floating
    tensor bfloat16 it is called as it is: the graph holds PyTorch's one node, no casts.

    ``mixed_as_is``: floats of several dtypes outside autocast call the loss as is (each op
    in its promoted dtype, as PyTorch's composition: a bfloat16 target's ``exp`` in bfloat16).
    """
    if fn is None:
        kw = {"check": check, "input_dtype": input_dtype, "native": native}
        return functools.partial(bfloat16_in_float32, mixed_as_is=mixed_as_is, **kw)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Tensor:
        values = (*args, *kwargs.values())
        if not any(isinstance(a, Tensor) and is_bfloat16(a.dtype) for a in values) and not (
            AUTOCAST[0] and any(isinstance(a, Tensor) and a.dtype == float16 for a in values)
        ):  # (float16 only matters inside autocast, which computes the losses in float32)
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        named = {k: v for k, v in bound.arguments.items() if isinstance(v, Tensor)}
        ups = dict(zip(named, autocast_float32(*named.values())))
        autocast = any(ups[k] is not v for k, v in named.items())
        if not autocast:
            if check is not None:
                check(named)
            if mixed_as_is and len({v.dtype for v in named.values() if is_floating(v.dtype)}) > 1:
                return fn(*args, **kwargs)
            if native is not None and all(
                is_bfloat16(v.dtype) for v in named.values() if is_floating(v.dtype)
            ):
                full = signature.bind(*args, **kwargs)
                full.apply_defaults()
                if native(full.arguments):
                    return fn(*args, **kwargs)  # one node, float32 inside (PyTorch's)
            ups = {k: v.to(float32) if is_bfloat16(v.dtype) else v for k, v in named.items()}
        bound.arguments.update(ups)
        with computing_in_float32():
            out = fn(*bound.args, **bound.kwargs)
        if autocast:
            return out  # float32, as PyTorch's autocast float32 list
        floats = [v for v in named.values() if is_floating(v.dtype)]
        first = floats[0]  # the input (a loss refuses a non-floating input)
        keep = (
            is_bfloat16(first.dtype) if input_dtype else all(is_bfloat16(v.dtype) for v in floats)
        )
        return out.to(first.dtype) if keep else out  # else promoted to float32, as PyTorch

    return wrapper
