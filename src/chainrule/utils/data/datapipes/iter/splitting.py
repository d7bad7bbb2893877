"""Pipes that split one pipe into several children: ``fork`` (``Forker``: every child sees
every item) and ``demux`` (``Demultiplexer``: a classifier sends each item to one child).

The children share one iteration of the source. Each child has a queue of the items
pulled for it while another child was reading; ``buffer_size`` bounds those queues
(``BufferError`` beyond it, ``-1``: unbounded). A child that starts a second iteration
starts a new one for all: the other children's running iterators are invalidated and raise
``RuntimeError`` on their next ``next``, as in PyTorch.
"""

from __future__ import annotations

import copy as _copy
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from .._functions import check_callable, warn_unpicklable
from ..datapipe import IterDataPipe
from ..decorators import functional_datapipe

__all__ = ["DemultiplexerIterDataPipe", "ForkerIterDataPipe"]

_COPIES = {None: None, "shallow": _copy.copy, "deep": _copy.deepcopy}


class _Splitter:
    """The state the children of one fork/demux share (see the module docstring)."""

    def __init__(
        self,
        datapipe: IterDataPipe,
        num_instances: int,
        buffer_size: int,
        route: Callable[[Any], list[int]],
        name: str,
    ) -> None:
        self.datapipe = datapipe
        self.num_instances = num_instances
        self.buffer_size = buffer_size
        self.route = route
        self.name = name
        self._restart()

    def _restart(self) -> None:
        self.epoch = getattr(self, "epoch", 0) + 1
        self.source: Iterator[Any] | None = None
        self.queues: list[deque] = [deque() for _ in range(self.num_instances)]
        self.started: set[int] = set()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()  # a running iterator does not pickle: start afresh
        state.update(source=None, queues=[deque() for _ in self.queues], started=set())
        return state

    def begin(self, child: int) -> int:
        """Child ``child`` starts iterating; returns the epoch it belongs to."""
        if child in self.started:
            self._restart()
        self.started.add(child)
        return self.epoch

    def _check_buffer(self) -> None:
        if self.buffer_size < 0:
            return
        held = self._held()
        if held > self.buffer_size:
            raise BufferError(
                f"{self.name} buffer overflow, buffer size {self.buffer_size} is insufficient."
            )

    def _held(self) -> int:
        if self.name == "ForkerIterDataPipe":
            return max(len(q) for q in self.queues)
        return sum(len(q) for q in self.queues)

    def next_for(self, child: int, epoch: int) -> Any:
        """The next item of child ``child``; raises StopIteration at the end."""
        if epoch != self.epoch:
            raise RuntimeError(
                "This iterator has been invalidated, because a new iterator has been created "
                f"from one of the ChildDataPipes of {self.name}."
            )
        queue = self.queues[child]
        if queue:
            return queue.popleft()
        if self.source is None:
            self.source = iter(self.datapipe)
        while True:
            item = next(self.source)
            targets = self.route(item)
            for t in targets:
                if t != child:
                    self.queues[t].append(item)
            self._check_buffer()
            if child in targets:
                return item


class _ChildDataPipe(IterDataPipe):
    """One output of a fork or demux."""

    def __init__(self, splitter: _Splitter, instance_id: int, copy_fn: Any, sized: bool):
        self.main_datapipe = splitter
        self.instance_id = instance_id
        self._copy_fn = copy_fn
        self._sized = sized

    def __iter__(self) -> Iterator[Any]:
        splitter = self.main_datapipe
        epoch = splitter.begin(self.instance_id)
        while True:
            try:
                item = splitter.next_for(self.instance_id, epoch)
            except StopIteration:
                return
            yield item if self._copy_fn is None else self._copy_fn(item)

    def __len__(self) -> int:
        if not self._sized:
            raise TypeError(f"{type(self).__name__} of a demux has no valid length")
        return len(self.main_datapipe.datapipe)


def _check_instances(num_instances: int) -> None:
    if num_instances < 1:
        raise ValueError(f"Expected `num_instances` larger than 0, but {num_instances} is found")


@functional_datapipe("fork")
class ForkerIterDataPipe(IterDataPipe):
    """``dp.fork(num_instances, buffer_size=1000, copy=None)``: ``num_instances`` pipes that
    each yield every item of ``dp`` (``dp`` itself for one instance). ``copy``
    (``"shallow"``/``"deep"``) gives each child its own copy of every item.

    Raises:
        ValueError: for ``num_instances < 1`` or an unknown ``copy``.
    """

    def __new__(  # type: ignore[misc]
        cls,
        datapipe: IterDataPipe,
        num_instances: int,
        buffer_size: int = 1000,
        copy: str | None = None,
    ) -> Any:
        _check_instances(num_instances)
        if num_instances == 1:
            return datapipe
        if copy not in _COPIES:
            raise ValueError(
                f"Unknown copy method `{copy}` requested, choose one of None, `shallow` or `deep`."
            )
        route = _Broadcast(num_instances)
        splitter = _Splitter(datapipe, num_instances, buffer_size, route, "ForkerIterDataPipe")
        return [_ChildDataPipe(splitter, i, _COPIES[copy], True) for i in route.every]


class _Broadcast:
    """Routes every item to every child (a class, so that it pickles)."""

    def __init__(self, n: int) -> None:
        self.every = list(range(n))

    def __call__(self, item: Any) -> list[int]:
        return self.every


class _Classify:
    """Routes an item to the child its classifier names (a class, so that it pickles)."""

    def __init__(self, classifier_fn: Callable[[Any], int | None], n: int, drop_none: bool):
        self.classifier_fn = classifier_fn
        self.n = n
        self.drop_none = drop_none

    def __call__(self, item: Any) -> list[int]:
        i = self.classifier_fn(item)
        if i is None and self.drop_none:
            return []
        if i is None or not 0 <= i < self.n:
            raise ValueError(
                f"Output of the classification fn should be between 0 and {self.n - 1}. "
                f"{i} is returned."
            )
        return [i]


@functional_datapipe("demux")
class DemultiplexerIterDataPipe(IterDataPipe):
    """``dp.demux(num_instances, classifier_fn, drop_none=False, buffer_size=1000)``: a
    list of ``num_instances`` pipes; item ``x`` goes to child ``classifier_fn(x)`` (None:
    dropped when ``drop_none``, an error otherwise). The children have no length.

    Raises:
        ValueError: for ``num_instances < 1`` or (while iterating) a class out of range.
        TypeError: when ``classifier_fn`` is not callable.
    """

    def __new__(  # type: ignore[misc]
        cls,
        datapipe: IterDataPipe,
        num_instances: int,
        classifier_fn: Callable[[Any], int | None],
        drop_none: bool = False,
        buffer_size: int = 1000,
    ) -> Any:
        _check_instances(num_instances)
        check_callable(classifier_fn)
        warn_unpicklable(classifier_fn)
        route = _Classify(classifier_fn, num_instances, drop_none)
        splitter = _Splitter(
            datapipe, num_instances, buffer_size, route, "DemultiplexerIterDataPipe"
        )
        return [_ChildDataPipe(splitter, i, None, False) for i in range(num_instances)]
