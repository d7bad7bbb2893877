"""``cr.backends.cuda``: PyTorch's CUDA backend switches, kept for compatibility.

The ``scaled_dot_product_attention`` backend flags (``enable_math_sdp``, ``flash_sdp_enabled``,
...) are real: they decide, as in PyTorch, which inputs the attention accepts
(:mod:`chainrule.nn.attention`).

``matmul.allow_tf32`` and the reduced-precision-reduction flags can be set and read back
as in PyTorch, but have **no effect**: chainrule's matmuls (NumPy's BLAS on the CPU,
cuBLAS through CuPy on a GPU) run in the dtype of their inputs. As in PyTorch,
``matmul.allow_tf32`` is another view of :func:`~chainrule.get_float32_matmul_precision`:
True means a precision other than ``'highest'``, and setting it sets ``'high'`` or
``'highest'``.
"""

from __future__ import annotations

from .. import backend, settings
from .sdp import (
    cudnn_sdp_enabled,
    enable_cudnn_sdp,
    enable_flash_sdp,
    enable_math_sdp,
    enable_mem_efficient_sdp,
    flash_sdp_enabled,
    math_sdp_enabled,
    mem_efficient_sdp_enabled,
    sdp_kernel,
)

__all__ = [
    "cudnn_sdp_enabled",
    "enable_cudnn_sdp",
    "enable_flash_sdp",
    "enable_math_sdp",
    "enable_mem_efficient_sdp",
    "flash_sdp_enabled",
    "is_built",
    "is_flash_attention_available",
    "math_sdp_enabled",
    "matmul",
    "mem_efficient_sdp_enabled",
    "sdp_kernel",
]


class _MatmulFlags:
    """``cr.backends.cuda.matmul``: settable flags with PyTorch's defaults (no effect)."""

    def __init__(self) -> None:
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        """Whether float32 matmuls may use TF32: the matmul precision is not 'highest'."""
        return settings.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        settings.set_float32_matmul_precision("high" if value else "highest")

    def __repr__(self) -> str:
        return (
            f"matmul(allow_tf32={self.allow_tf32}, allow_fp16_reduced_precision_reduction="
            f"{self.allow_fp16_reduced_precision_reduction})"
        )


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether chainrule can use CUDA at all: True when CuPy is installed."""
    return backend._cupy is not None


def is_flash_attention_available() -> bool:
    """Whether a CUDA FlashAttention kernel was built in: never (chainrule's GPU path is
    CuPy, without one)."""
    return False
