"""Collectives on picklable Python objects (``broadcast_object_list``, ``all_gather_object``).

As in PyTorch these pickle the objects, so use them only between your own processes, for small
metadata (a run directory, a metric); tensors go through the array collectives.
"""

from __future__ import annotations

from typing import Any

from .group import ProcessGroup, group_of

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object"]


def broadcast_object_list(
    object_list: list,
    src: int | None = None,
    group: ProcessGroup | None = None,
    device: Any = None,
    group_src: int | None = None,
) -> None:
    """Replace every rank's ``object_list`` items, in place, with rank ``src``'s."""
    g = group_of(group)
    root = int(group_src if group_src is not None else (src or 0))
    if not isinstance(object_list, list):
        raise TypeError(
            f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}"
        )
    received = g.comm.bcast(object_list if g.rank() == root else None, root=root)
    if len(received) != len(object_list):
        raise ValueError(
            f"broadcast_object_list: rank {root} sent {len(received)} objects but "
            f"this rank's list has {len(object_list)} slots"
        )
    object_list[:] = received


def all_gather_object(object_list: list, obj: Any, group: ProcessGroup | None = None) -> None:
    """Fill ``object_list`` (length world_size) with every rank's ``obj``."""
    g = group_of(group)
    if not isinstance(object_list, list) or len(object_list) != g.size():
        raise ValueError(
            f"all_gather_object: object_list must be a list of world_size={tuple(g.size())} slots"
        )
    object_list[:] = g.comm.allgather(obj)


def gather_object(
    obj: Any,
    object_gather_list: list | None = None,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    group_dst: int | None = None,
) -> None:
    """Every rank's ``obj`` into ``object_gather_list`` on rank ``dst``."""
    g = group_of(group)
    root = int(group_dst if group_dst is not None else (dst or 0))
    gathered = g.comm.gather(obj, root=root)
    if g.rank() == root:
        if not isinstance(object_gather_list, list) or len(object_gather_list) != g.size():
            raise ValueError(
                f"gather_object: object_gather_list must be a list of world_size="
                f"{tuple(g.size())} slots on the destination rank"
            )
        object_gather_list[:] = gathered
