"""``cr.backends.mkldnn``: PyTorch's oneDNN (MKL-DNN) switches, kept for compatibility.

chainrule's CPU kernels are NumPy, its BLAS and its own compiled loops; it never calls
oneDNN, so :func:`is_available` is False and the flags below, set and read back like
PyTorch's, have **no effect** on what chainrule computes (as PyTorch's flags have none on a
build without oneDNN).
"""

from __future__ import annotations

__all__ = ["allow_tf32", "deterministic", "enabled", "is_available"]

enabled: bool = True  # PyTorch's default; no effect in chainrule
deterministic: bool = False  # no effect: chainrule's CPU kernels are deterministic already
allow_tf32: bool | None = None  # PyTorch's CPU default; no effect


def is_available() -> bool:
    """False: chainrule does not use oneDNN."""
    return False
