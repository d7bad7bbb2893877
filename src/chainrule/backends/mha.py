"""``cr.backends.mha``: PyTorch's switch for the fast path of ``nn.TransformerEncoder`` and
``nn.MultiheadAttention`` in inference.

chainrule runs no fused kernel, but it mirrors what PyTorch's encoder fast path shows: run on
nested tensors, the outputs at padded positions come back as zeros (see
``nn/layers/transformer.py``). With the fast path off (``set_fastpath_enabled(False)``, which
tests and export scripts call to get the ordinary path's numbers), PyTorch takes the ordinary
path and so does chainrule: padded positions are then computed like the others.
"""

from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]

_is_fastpath_enabled: bool = True


def get_fastpath_enabled() -> bool:
    """Whether the encoder's inference fast path may run (True by default, as PyTorch)."""
    return _is_fastpath_enabled


def set_fastpath_enabled(value: bool) -> None:
    """Set whether the fast path may run (stored as given, as PyTorch does)."""
    global _is_fastpath_enabled
    _is_fastpath_enabled = value
