"""``cr.backends.cudnn``: PyTorch's cuDNN switches, kept for compatibility.

chainrule never calls cuDNN (convolutions are im2col + one BLAS matmul on NumPy or CuPy),
so :func:`is_available` is False and the flags below, set and read back exactly like
PyTorch's, have **no effect**. chainrule's convolutions are deterministic whatever
``deterministic`` and ``benchmark`` say.
"""

from __future__ import annotations

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available", "version"]

enabled: bool = True  # PyTorch's default; no effect in chainrule
benchmark: bool = False  # no effect: there is no algorithm search to enable
deterministic: bool = False  # no effect: chainrule's convolutions are always deterministic
allow_tf32: bool = True  # no effect: chainrule computes in the tensors' own dtype


def is_available() -> bool:
    """False: chainrule does not use cuDNN on any device."""
    return False


def version() -> int | None:
    """None: no cuDNN library is used (PyTorch returns None too when it has none)."""
    return None
