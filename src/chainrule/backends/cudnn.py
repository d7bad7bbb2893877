"""``cr.backends.cudnn``: PyTorch's cuDNN switches, kept for compatibility.

chainrule never calls cuDNN (convolutions are im2col + one BLAS matmul on NumPy or CuPy),
so :func:`is_available` is False and the flags below, set and read back exactly like
PyTorch's, have **no effect**. chainrule's convolutions are deterministic whatever
``deterministic`` and ``benchmark`` say.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "allow_tf32",
    "benchmark",
    "deterministic",
    "enabled",
    "flags",
    "is_available",
    "version",
]

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


@contextmanager
def flags(
    enabled: bool = False,
    benchmark: bool = False,
    benchmark_limit: int = 10,
    deterministic: bool = False,
    allow_tf32: bool = True,
    fp32_precision: str = "none",
    depthwise_kernel: str = "auto",
) -> Iterator[None]:
    """Set the switches above for the ``with`` block and restore them after it, even when it
    raises (PyTorch's ``torch.backends.cudnn.flags``; CTC and RNN code wraps its losses in
    ``flags(enabled=False)``). Note PyTorch's defaults: a bare ``flags()`` turns cuDNN *off*.
    Like the switches, it has no effect on chainrule's computations; ``benchmark_limit``,
    ``fp32_precision`` and ``depthwise_kernel`` are accepted and, having no switch here,
    ignored."""
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    module = globals()
    saved = {name: module[name] for name in names}
    module.update(
        enabled=enabled, benchmark=benchmark, deterministic=deterministic, allow_tf32=allow_tf32
    )
    try:
        yield
    finally:
        module.update(saved)
