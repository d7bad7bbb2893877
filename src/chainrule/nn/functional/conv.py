"""Functional convolutions (``F.conv1d``, ``F.conv2d``, ``F.conv_transpose1d/2d``).

The ops live in :mod:`chainrule.ops.conv`; this file only re-exports them for ``F``.
"""

from __future__ import annotations

from ...ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
