"""``split_group``: cut a process group into disjoint subgroups with one collective.

Unlike ``new_group`` (global ranks, every process of the world calls it), ``split_group``
takes the ranks *within the parent group* and is called by the parent's members only: a
tensor-parallel group split further into pipeline stages, say. PyTorch offers it on NCCL
(it raises on Gloo, whose communicators cannot split); chainrule's groups are communicators
that split on either backend (``Comm_split``), so it works on Gloo and MPI alike.
"""

from __future__ import annotations

import datetime
import numbers
from typing import Any

from .backend_config import BackendConfig
from .group import ProcessGroup, _mpi, _State, _timeout_seconds, group_of

__all__ = ["split_group"]


def _check_splits(split_ranks: Any, size: int) -> list[list[int]]:
    """The splits as lists of ints: non-empty, in ``[0, size)``, pairwise disjoint."""
    seen: dict[int, int] = {}
    splits = []
    for i, split in enumerate(split_ranks):
        if not isinstance(split, (list, tuple)):
            raise TypeError(
                "split_group: split_ranks must be a list of lists of ranks, e.g. [[0, 1], "
                f"[2, 3]]; entry {i} is {split!r}"
            )
        if not split:
            raise ValueError(f"split_group: split {i} of split_ranks={split_ranks} is empty")
        for rank in split:
            if not isinstance(rank, numbers.Integral) or not 0 <= rank < size:
                raise ValueError(
                    f"split_group: rank {rank!r} in split {i} is not a rank of the parent group "
                    f"(ranks 0 to {size - 1}; split_ranks holds group ranks, not global ranks)"
                )
            if int(rank) in seen:
                raise ValueError(
                    f"split_group: rank {rank} appears in split {seen[int(rank)]} and split {i}; "
                    "the splits must not overlap"
                )
            seen[int(rank)] = i
        splits.append(sorted(int(r) for r in split))
    return splits


def _check_backend(backend: Any, parent_spec: Any) -> None:
    """``backend`` may only keep the parent's own device:backend pairs."""
    wanted = BackendConfig(backend).get_device_backend_map()
    have = BackendConfig(parent_spec).get_device_backend_map()
    for device, name in wanted.items():
        if have.get(device) != name:
            raise ValueError(
                f"split_group: backend {backend!r} asks for {device}:{name}, but the parent "
                f"group's backends are {BackendConfig(parent_spec)}; a split keeps a subset of "
                "the parent's"
            )


def split_group(
    parent_pg: ProcessGroup | None = None,
    split_ranks: list | None = None,
    timeout: datetime.timedelta | None = None,
    pg_options: Any = None,
    group_desc: str | None = None,
    backend: str | None = None,
) -> ProcessGroup | None:
    """Split ``parent_pg`` (default: the world) into the groups ``split_ranks`` lists.

    ``split_ranks`` is a list of disjoint lists of *group ranks of the parent* (``[[0, 1],
    [2, 3]]``); a rank in no list gets ``None``. Every member of the parent must call it with
    the same ``split_ranks``. The new group numbers its members in increasing rank order.

    Args:
        timeout: the new group's timeout (default: the parent's).
        group_desc: a description kept on the group (``group.group_desc``).
        backend: None (the parent's backends) or a subset of the parent's ``device:backend``
            pairs, e.g. ``"cpu:gloo"``.

    Raises:
        ValueError: ``split_ranks`` is None or empty, a split is empty, a rank is not in the
            parent or is in two splits, ``backend`` is not part of the parent's.
        TypeError: an entry of ``split_ranks`` is not a list, ``timeout`` not a timedelta.
        NotImplementedError: ``pg_options`` (PyTorch's per-backend C++ options).
    """
    if not split_ranks:
        raise ValueError("split_ranks cannot be None or empty")
    parent = group_of(parent_pg)
    if parent is not _State.world and parent not in _State.groups:
        raise ValueError(f"split_group: parent_pg {parent} was destroyed or is not a live group")
    splits = _check_splits(split_ranks, parent.size())
    parent_spec = parent.backend_spec if parent.backend_spec is not None else _State.backend_spec
    if backend is not None:
        _check_backend(backend, parent_spec)
    if pg_options is not None:
        raise NotImplementedError(
            "split_group: pg_options (PyTorch's per-backend C++ options) is not supported"
        )
    timeout_s = parent.timeout_s if timeout is None else _timeout_seconds(timeout)
    MPI = _mpi()
    me = parent.rank()
    color = next((i for i, split in enumerate(splits) if me in split), None)
    comm = parent.comm.Split(MPI.UNDEFINED if color is None else color, key=me)
    _State.pg_count += 1
    if color is None:
        return None
    group = ProcessGroup(comm, timeout_s, [parent.ranks[r] for r in splits[color]])
    group.group_desc = group_desc
    group.backend_spec = parent_spec if backend is None else backend
    _State.groups.append(group)
    return group
