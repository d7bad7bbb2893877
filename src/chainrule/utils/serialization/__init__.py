"""``cr.utils.serialization``: ``torch.utils.serialization``, whose one member is
``config``, the switches of ``cr.save`` and ``cr.load`` (see
:mod:`chainrule.serialization.config`)."""

from __future__ import annotations

from ...serialization.config import config

__all__ = ["config"]
