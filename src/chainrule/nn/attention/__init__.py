"""``cr.nn.attention``: PyTorch's switches for ``scaled_dot_product_attention`` backends.

PyTorch runs ``F.scaled_dot_product_attention`` on one of several kernels (``MATH``, the
composition any input can take; ``FLASH_ATTENTION``, ``EFFICIENT_ATTENTION``,
``CUDNN_ATTENTION``, fused kernels with conditions), and ``sdpa_kernel`` restricts which it
may use. chainrule has one fused kernel, whose results equal the math composition's; it
plays the two roles PyTorch's CPU build has, ``MATH`` and ``FLASH_ATTENTION``, under
PyTorch's CPU conditions for the latter. So a block that allows only backends PyTorch could
not use on the CPU for the given inputs raises what PyTorch raises there, and one that
allows ``MATH`` always runs: code written against ``sdpa_kernel`` behaves as on PyTorch's
CPU. The flags are process-wide, as PyTorch's (``torch.backends.cuda.enable_*_sdp``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from ...backends.sdp import ENABLED, SDPBackend
from . import bias, flex_attention  # noqa: F401 - torch.nn.attention.bias, .flex_attention

__all__ = [
    "SDPBackend",
    "WARN_FOR_UNFUSED_KERNELS",
    "sdpa_kernel",
]

# PyTorch's module flag: warn when a fused kernel is skipped (its own check warns anyway)
WARN_FOR_UNFUSED_KERNELS = False


@contextlib.contextmanager
def sdpa_kernel(
    backends: SDPBackend | Iterable[SDPBackend], set_priority: bool = False
) -> Iterator[None]:
    """Allow only ``backends`` for ``scaled_dot_product_attention`` inside the block
    (PyTorch's ``torch.nn.attention.sdpa_kernel``); the previous flags come back on exit.

    ``set_priority`` orders PyTorch's choice among several usable kernels; chainrule has one
    kernel for every allowed backend, so the order changes nothing it computes.

    Raises:
        AssertionError: an entry that is not an :class:`SDPBackend` (as PyTorch).
    """
    if isinstance(backends, SDPBackend):
        backends = [backends]
    elif isinstance(backends, Iterable) and not isinstance(backends, str):
        backends = list(backends)
    if not isinstance(backends, list) or not all(isinstance(b, SDPBackend) for b in backends):
        raise AssertionError(
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
            f"got {type(backends).__name__}"
        )
    previous = dict(ENABLED)
    for b in ENABLED:
        ENABLED[b] = b in backends
    try:
        yield
    finally:
        ENABLED.update(previous)
