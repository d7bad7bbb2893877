"""``torch.nn.modules.channelshuffle`` path: re-exports chainrule's ChannelShuffle."""

from __future__ import annotations

from ..layers import ChannelShuffle

__all__ = ["ChannelShuffle"]
