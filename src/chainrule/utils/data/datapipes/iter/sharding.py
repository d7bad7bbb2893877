"""``sharding_filter`` (``ShardingFilter``): keep every n-th item, so that n copies of a
pipe (DataLoader workers, distributed ranks) see disjoint shares that together make the
whole stream."""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any

from ..datapipe import IterDataPipe
from ..decorators import functional_datapipe

__all__ = ["SHARDING_PRIORITIES", "ShardingFilterIterDataPipe"]


class SHARDING_PRIORITIES(IntEnum):  # noqa: N801 - PyTorch's name
    """Sharding groups: one filter can be sharded by several groups (e.g. ranks x workers)."""

    DEFAULT = 1
    DISTRIBUTED = 2
    MULTIPROCESSING = 3


@functional_datapipe("sharding_filter")
class ShardingFilterIterDataPipe(IterDataPipe):
    """``dp.sharding_filter(sharding_group_filter=None)``: after
    ``apply_sharding(n, i)``, the items whose position modulo ``n`` is ``i`` (unsharded:
    every item). Sharding by several groups composes them (``DISTRIBUTED`` rank outer,
    ``MULTIPROCESSING`` worker inner); ``sharding_group_filter`` limits the filter to one group."""

    def __init__(self, source_datapipe: IterDataPipe, sharding_group_filter: Any = None) -> None:
        self.source_datapipe = source_datapipe
        self.sharding_group_filter = sharding_group_filter
        self.groups: dict[Any, tuple[int, int]] = {}
        self.num_of_instances = 1
        self.instance_id = 0

    def is_shardable(self) -> bool:
        """A sharding filter always accepts sharding."""
        return True

    def apply_sharding(
        self,
        num_of_instances: int,
        instance_id: int,
        sharding_group: SHARDING_PRIORITIES = SHARDING_PRIORITIES.DEFAULT,
    ) -> None:
        """Keep share ``instance_id`` of ``num_of_instances``.

        Raises:
            ValueError: when ``instance_id >= num_of_instances``.
            RuntimeError: when DEFAULT is mixed with another group.
        """
        if instance_id >= num_of_instances:
            raise ValueError(
                f"instance_id({instance_id}) should be smaller than "
                f"num_of_instances({num_of_instances})"
            )
        if sharding_group == SHARDING_PRIORITIES.DEFAULT:
            if self.groups and SHARDING_PRIORITIES.DEFAULT not in self.groups:
                raise RuntimeError("ShardingFilter cannot mix DEFAULT and non DEFAULT groups")
        elif SHARDING_PRIORITIES.DEFAULT in self.groups:
            raise RuntimeError("ShardingFilter cannot mix DEFAULT and non DEFAULT groups")
        self.groups[sharding_group] = (num_of_instances, instance_id)
        self._update_num_of_instances()

    def _update_num_of_instances(self) -> None:
        groups = sorted(self.groups.items(), key=lambda kv: kv[0])
        if self.sharding_group_filter is not None:
            groups = [(g, v) for g, v in groups if g == self.sharding_group_filter]
        self.num_of_instances, self.instance_id = 1, 0
        for _, (n, i) in groups:  # the lowest priority value varies slowest
            self.instance_id = self.instance_id * n + i
            self.num_of_instances *= n

    def __iter__(self) -> Iterator[Any]:
        for position, item in enumerate(self.source_datapipe):
            if position % self.num_of_instances == self.instance_id:
                yield item

    def __len__(self) -> int:
        n = len(self.source_datapipe)
        extra = 1 if self.instance_id < n % self.num_of_instances else 0
        return n // self.num_of_instances + extra
