"""Ranks of process groups and splitting the world into subgroups (``new_subgroups``, ...).

A group's rank ``i`` is global rank ``group.ranks[i]``: members are numbered in increasing
global-rank order, as ``new_group`` does. ``new_subgroups`` and ``new_subgroups_by_enumeration``
make all their subgroups with one ``MPI_Comm_split`` of the world (every process calls it, as
PyTorch requires), so creating many subgroups costs one collective.
"""

from __future__ import annotations

import datetime
import numbers
import operator
from typing import Any

from .group import (
    ProcessGroup,
    _check_arguments,
    _mpi,
    _State,
    _timeout_seconds,
    _world,
    group_of,
)

__all__ = [
    "get_global_rank",
    "get_group_rank",
    "get_process_group_ranks",
    "new_subgroups",
    "new_subgroups_by_enumeration",
]


def _registered(group: Any) -> ProcessGroup:
    if not isinstance(group, ProcessGroup) or (
        group is not _State.world and group not in _State.groups
    ):
        raise ValueError(
            f"Group {group} is not registered, please create group with "
            "torch.distributed.new_group API (here cr.distributed.new_group)"
        )
    return group


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group``'s rank ``group_rank`` (the identity on the world group).

    Raises:
        ValueError: ``group`` is not a live group (``None`` included, once initialised), or
            ``group_rank`` is not one of its ranks.
    """
    if group is None and _State.world is None:
        return group_rank  # PyTorch: before init the world "group" is None and this is identity
    g = _registered(group)
    if g is _State.world:
        return group_rank
    if not isinstance(group_rank, numbers.Integral) or not 0 <= group_rank < g.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {g}")
    return g.ranks[int(group_rank)]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """The rank within ``group`` of global rank ``global_rank`` (identity on the world group).

    Raises:
        ValueError: ``group`` is not a live group (``None`` included, once initialised), or
            ``global_rank`` is not one of its members.
    """
    if group is None and _State.world is None:
        return global_rank  # as get_global_rank
    g = _registered(group)
    if g is _State.world:
        return global_rank
    if global_rank not in g.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {g}")
    return g.ranks.index(global_rank)


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The global ranks of ``group``'s members (default: the world), in group-rank order."""
    return list(group_of(group).ranks)


def _split(
    partition: list[list[int]], timeout: Any, backend: Any, pg_options: Any, group_desc: Any
) -> tuple[ProcessGroup | None, list[ProcessGroup]]:
    """One ``Comm_split`` of the world into the given disjoint rank lists."""
    world = _world()
    _check_arguments(backend, None, None, None)
    if pg_options is not None:
        raise NotImplementedError("new_subgroups: pg_options is not supported by the MPI backend")
    timeout_s = world.timeout_s if timeout is None else _timeout_seconds(timeout)
    MPI = _mpi()
    me = world.rank()
    color = next((i for i, ranks in enumerate(partition) if me in ranks), None)
    comm = world.comm.Split(MPI.UNDEFINED if color is None else color, key=me)
    _State.pg_count += len(partition)  # one group per rank list, on every rank (PyTorch)
    if color is None:
        return None, []
    group = ProcessGroup(comm, timeout_s, sorted(partition[color]))
    group.group_desc = group_desc
    group.backend_spec = backend
    _State.groups.append(group)
    return group, [group]


def new_subgroups(
    group_size: int | None = None,
    group: ProcessGroup | None = None,
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    group_desc: str | None = None,
) -> tuple[ProcessGroup, list[ProcessGroup]]:
    """Split ``group`` (default: the world) into consecutive subgroups of ``group_size`` ranks.

    Every process of the world must call it. Returns ``(cur_subgroup, subgroups)``: the
    subgroup this process belongs to, and the subgroups to destroy when done. PyTorch's list
    also holds placeholders for the subgroups this process is not in; chainrule's holds only
    this process's own, so ``for g in subgroups: destroy_process_group(g)`` works the same.

    Raises:
        ValueError: ``group_size`` is missing (PyTorch's default is the number of CUDA
            devices, which chainrule's MPI backend does not use), not positive, larger than the
            group, or does not divide its size.
    """
    if group_size is None:
        raise ValueError(
            "Default group size only takes effect when CUDA is available. If your subgroup "
            "uses a backend that does not depend on CUDA (chainrule's MPI backend), please "
            "pass in 'group_size' correctly."
        )
    group_size = operator.index(group_size)  # TypeError for 2.0, as PyTorch
    parent = group_of(group)
    size = parent.size()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    if group_size > size:
        raise ValueError(
            f"The arg 'group_size' ({group_size}) must not exceed the world size ({size})"
        )
    if size % group_size:
        raise ValueError(
            f"The world size ({size}) must be divisible by 'group_size' ({group_size})"
        )
    ranks = parent.ranks
    partition = [ranks[i : i + group_size] for i in range(0, size, group_size)]
    return _split(partition, timeout, backend, pg_options, group_desc)


def new_subgroups_by_enumeration(
    ranks_per_subgroup_list: list[list[int]],
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    group_desc: str | None = None,
) -> tuple[ProcessGroup | None, list[ProcessGroup]]:
    """Subgroups of the given disjoint lists of global ranks; ranks in no list get ``None``.

    Every process of the world must call it. Returns ``(cur_subgroup, subgroups)`` as
    :func:`new_subgroups`.

    Raises:
        ValueError: the list is empty, a subgroup is empty, a rank is out of range or appears
            in two subgroups.
    """
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    size = _world().size()
    seen: dict[int, list[int]] = {}
    partition = []
    for ranks in ranks_per_subgroup_list:
        ranks = [int(r) for r in ranks]
        if not ranks:
            raise ValueError(
                f"new_subgroups_by_enumeration: subgroup {len(partition)} of "
                f"{ranks_per_subgroup_list} has no ranks"
            )
        for r in ranks:
            if not 0 <= r < size:
                raise ValueError(
                    f"Rank {r} is out of range. Valid ranks are 0 to {size - 1} (world_size={size})"
                )
            if r in seen:
                raise ValueError(f"Rank {r} has appeared in both subgroup {seen[r]} and {ranks}")
            seen[r] = ranks
        partition.append(ranks)
    return _split(partition, timeout, backend, pg_options, group_desc)
