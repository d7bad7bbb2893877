"""``custom_fwd`` / ``custom_bwd``: PyTorch's decorators that make a user's autograd
``Function`` behave under autocast.

``custom_fwd(device_type=..., cast_inputs=None)`` decorates ``forward``. Inside an enabled
autocast block with ``cast_inputs`` set, the floating-point tensor arguments are cast to
``cast_inputs`` and ``forward`` runs with autocast off (a Function whose forward needs full
precision); without ``cast_inputs`` it runs in the current autocast state. Outside autocast
it changes nothing. ``custom_bwd(device_type=...)`` decorates ``backward`` so that it runs in
the autocast state its ``forward`` ran in (not the state the backward was called in), as
in PyTorch: the state is remembered on ``ctx``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .. import dtypes
from ..autograd.tensor import Tensor
from .autocast_mode import autocast
from .autocast_state import get_autocast_dtype, is_autocast_enabled

__all__ = ["custom_bwd", "custom_fwd"]


def _check_device_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    return device_type


def _cast(value: Any, dtype: Any) -> Any:
    """Floating-point tensors (also inside lists, tuples and dicts) cast to ``dtype``."""
    if isinstance(value, Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def custom_fwd(
    fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None
) -> Callable:
    """Decorate a custom Function's ``forward`` for autocast (PyTorch's ``torch.amp.custom_fwd``).

    Args:
        fwd: the forward (omit it to get a decorator: ``@custom_fwd(device_type="cpu")``).
        device_type: the autocast device, ``'cpu'`` or ``'cuda'``.
        cast_inputs: a floating dtype: inside an enabled autocast block, floating tensor
            arguments are cast to it and ``forward`` runs with autocast off. None: ``forward``
            runs in the current autocast state.
    """
    device_type = _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    target = None if cast_inputs is None else dtypes.as_dtype(cast_inputs)

    @functools.wraps(fwd)
    def forward(*args: Any, **kwargs: Any) -> Any:
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        if target is None or not enabled:
            ctx._fwd_used_autocast = enabled
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False  # forward (and so backward) runs without autocast
        with autocast(device_type=device_type, enabled=False):
            return fwd(ctx, *_cast(args[1:], target), **_cast(kwargs, target))

    return forward


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorate a custom Function's ``backward`` so it runs in the autocast state its
    ``forward`` (decorated with :func:`custom_fwd`) ran in (PyTorch's
    ``torch.amp.custom_bwd``)."""
    device_type = _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(*args: Any, **kwargs: Any) -> Any:
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)

    return backward
