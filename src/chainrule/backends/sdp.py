"""The process-wide switches of ``scaled_dot_product_attention``'s backends: PyTorch's
``SDPBackend`` values and ``torch.backends.cuda``'s ``enable_*_sdp`` / ``*_sdp_enabled``
flags, which ``cr.nn.attention.sdpa_kernel`` sets for a block and ``F.scaled_dot_product_
attention`` reads (see :mod:`chainrule.nn.attention` for what they mean here)."""

from __future__ import annotations

import enum
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "ENABLED",
    "SDPBackend",
    "check_backends",
    "cudnn_sdp_enabled",
    "enable_cudnn_sdp",
    "enable_flash_sdp",
    "enable_math_sdp",
    "enable_mem_efficient_sdp",
    "flash_sdp_enabled",
    "math_sdp_enabled",
    "mem_efficient_sdp_enabled",
    "sdp_kernel",
]


class SDPBackend(enum.IntEnum):
    """The kernels of ``scaled_dot_product_attention`` (PyTorch's values)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


# enabled flag per backend (PyTorch's defaults: all on)
ENABLED = {b: True for b in SDPBackend if b is not SDPBackend.ERROR}


def _flag(backend: SDPBackend, name: str):
    def enabled() -> bool:
        return ENABLED[backend]

    def enable(enabled: bool) -> None:
        ENABLED[backend] = bool(enabled)

    enabled.__name__, enable.__name__ = f"{name}_sdp_enabled", f"enable_{name}_sdp"
    enabled.__doc__ = f"Whether scaled_dot_product_attention may use the {backend.name} backend."
    enable.__doc__ = f"Allow or forbid the {backend.name} backend of scaled_dot_product_attention."
    return enabled, enable


math_sdp_enabled, enable_math_sdp = _flag(SDPBackend.MATH, "math")
flash_sdp_enabled, enable_flash_sdp = _flag(SDPBackend.FLASH_ATTENTION, "flash")
mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _flag(
    SDPBackend.EFFICIENT_ATTENTION, "mem_efficient"
)
cudnn_sdp_enabled, enable_cudnn_sdp = _flag(SDPBackend.CUDNN_ATTENTION, "cudnn")


@contextmanager
def sdp_kernel(
    enable_flash: bool = True,
    enable_math: bool = True,
    enable_mem_efficient: bool = True,
    enable_cudnn: bool = True,
) -> Iterator[None]:
    """Deprecated (PyTorch's ``torch.backends.cuda.sdp_kernel``): set the four flags for the
    block; use ``cr.nn.attention.sdpa_kernel`` instead."""
    warnings.warn(
        "`cr.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager "
        "will be removed. Please see `cr.nn.attention.sdpa_kernel()` for the new context "
        "manager, with updated signature.",
        FutureWarning,
        stacklevel=3,
    )
    wanted = {
        SDPBackend.FLASH_ATTENTION: enable_flash,
        SDPBackend.MATH: enable_math,
        SDPBackend.EFFICIENT_ATTENTION: enable_mem_efficient,
        SDPBackend.CUDNN_ATTENTION: enable_cudnn,
    }
    previous = dict(ENABLED)
    for b, on in wanted.items():
        ENABLED[b] = bool(on)
    try:
        yield
    finally:
        ENABLED.update(previous)


def check_backends(query: Any, key: Any, value: Any, attn_mask: Any, dropout_p: float) -> None:
    """Raise as PyTorch's CPU dispatch does when the enabled backends cannot run these
    inputs: ``MATH`` runs anything, ``FLASH_ATTENTION`` needs 4-d floating query, key and
    value with one last dim, no dropout and a mask that does not require grad; the others
    do not exist on the CPU. Called only when ``MATH`` is disabled."""
    if not ENABLED[SDPBackend.FLASH_ATTENTION]:
        raise RuntimeError(
            "No viable backend for scaled_dot_product_attention was found. This is likely due "
            "to turning off both the math kernel and the fused kernels."
        )
    reason = _flash_unusable(query, key, value, attn_mask, dropout_p)
    if reason is not None:
        warnings.warn("Flash attention kernel not used because:", UserWarning, stacklevel=3)
        if reason:
            warnings.warn(reason, UserWarning, stacklevel=3)
        raise RuntimeError("No available kernel.  Aborting execution.")


def _flash_unusable(query: Any, key: Any, value: Any, attn_mask: Any, dropout_p: float):
    """Why PyTorch's CPU flash kernel would not take these inputs (None: it would; "": it
    would not, without a message of its own, as for a mask that requires grad)."""
    dims = (query.ndim, key.ndim, value.ndim)
    if dims != (4, 4, 4):
        return (
            "All fused kernels requires query, key and value to be 4 dimensional, but got "
            f"Query dim: {dims[0]}, Key dim: {dims[1]}, Value dim: {dims[2]} instead."
        )
    if not all(t.is_floating_point() for t in (query, key, value)):
        return (
            "Expected query, key and value to all be of dtype: {Float, Double, BFloat16, "
            f"Half}}. Got Query dtype: {query.dtype}, Key dtype: {key.dtype}, and Value "
            f"dtype: {value.dtype} instead."
        )
    if dropout_p > 0:
        return "Both fused kernels do not support non-zero dropout."
    e = (query.shape[-1], key.shape[-1], value.shape[-1])
    if len(set(e)) != 1:
        return (
            "Flash attention requires q,k,v to have the same last dimension. Got "
            f"Query.size(-1): {e[0]}, Key.size(-1): {e[1]}, Value.size(-1): {e[2]} instead."
        )
    if attn_mask is not None and getattr(attn_mask, "requires_grad", False):
        return ""
    return None
