"""``dist.group.WORLD`` and ``dist.GroupMember``: PyTorch's names for the default group.

Scripts pass ``group=dist.group.WORLD`` to collectives and test ``group ==
dist.GroupMember.NON_GROUP_MEMBER``. As in PyTorch, ``WORLD`` is read when it is used: the
default process group after ``init_process_group``, None before it and after
``destroy_process_group``.
"""

from __future__ import annotations

from .group import ProcessGroup, _State
from .membership import NON_GROUP_MEMBER

__all__ = ["GroupMember", "group"]


class _WorldMeta(type):
    """Gives the classes below a class-level ``WORLD`` that follows the default group."""

    @property
    def WORLD(cls) -> ProcessGroup | None:  # noqa: N802 - PyTorch's name
        return _State.world


class group(metaclass=_WorldMeta):  # noqa: N801 - PyTorch's name (torch.distributed.group)
    """``group.WORLD``: the default process group (None before ``init_process_group``)."""


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` (the default group) and ``NON_GROUP_MEMBER`` (PyTorch's marker
    for "this process is not in that group")."""

    NON_GROUP_MEMBER = NON_GROUP_MEMBER
