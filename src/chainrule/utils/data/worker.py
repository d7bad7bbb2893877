"""What runs inside a DataLoader worker process, and how results cross back.

Each worker gets the dataset (inherited on fork, pickled on spawn), seeds its random
streams with ``base_seed + worker_id`` (chainrule's default generator, NumPy's global one
and Python's ``random``), runs ``worker_init_fn``, then answers ``(task_id, indices)``
requests from its index queue with ``(task_id, batch)`` on the shared result queue. An
exception becomes an :class:`ExceptionWrapper` carrying its traceback text, re-raised in
the main process. A worker exits on ``None``, on the done event, or when its parent dies
(it checks once a second), so no process is left behind.

A batch's tensors travel as copies of their arrays (:class:`_BatchPickler`; ``cr.save``
still never pickles): a batch is used once, so it gets no shared-memory segment of its own
(PyTorch sends batches through shared memory). Everything else a process is given (the
dataset, under the spawn start method) goes through ``cr.multiprocessing``'s reducers, which
share tensors' memory, as PyTorch's do.
"""

from __future__ import annotations

import io
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from ... import dtypes as _dt
from ... import random as _random
from ...autograd.tensor import Tensor
from ...creation import from_numpy
from ...threads import set_num_threads

__all__ = ["ExceptionWrapper", "WorkerInfo", "get_worker_info"]

POLL_INTERVAL = 1.0  # seconds between checks that the parent is alive / workers are alive


def _index(i: Any) -> Any:
    """A sampler's index as the dataset gets it: a NumPy integer as an int (chainrule's own
    samplers may yield them where PyTorch's yield ints), anything else as given, as PyTorch
    (a float fails in the dataset's own indexing, with its words)."""
    return int(i) if isinstance(i, np.integer) else i


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker (PyTorch's fields)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current worker's :class:`WorkerInfo`, or None in the main process.

    An ``IterableDataset`` uses it to give each worker its own share of the stream
    (``info.id`` of ``info.num_workers``); ``info.dataset`` is the worker's own copy.
    """
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, with its traceback as text (tracebacks don't pickle)."""

    def __init__(self, where: str) -> None:
        exc_type, exc, _ = sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, exc.__traceback__))
        self.where = where

    def reraise(self) -> None:
        """Raise the worker's exception type in this process, with the worker's traceback."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception class whose constructor needs other arguments
            raise RuntimeError(msg) from None
        raise exc


@dataclass(frozen=True)
class IterableStop:
    """A worker's iterable dataset is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    """Sent to persistent workers at the start of a new epoch."""


@dataclass(frozen=True)
class FetchSpec:
    """How a worker turns indices into a batch (mirrors the main-process path)."""

    dataset: Any
    iterable: bool
    auto_collation: bool
    batch_size: int | None
    drop_last: bool
    collate_fn: Any
    fast: bool


def _rebuild_tensor(array: np.ndarray, requires_grad: bool) -> Tensor:
    if _dt.is_bfloat16(array.dtype):  # from_numpy refuses it (NumPy has no bfloat16)
        t = Tensor._make(array, False, None, 0)
    else:
        t = from_numpy(array)
    return t.requires_grad_(True) if requires_grad else t


def _reduce_tensor(t: Tensor) -> tuple:
    if t.requires_grad and not t.is_leaf:  # PyTorch refuses these too
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
            "autograd does not support crossing process boundaries. If you just want to "
            "transfer the data, call detach() on the tensor before serializing (a worker's "
            "batch holds a tensor with autograd history)"
        )
    # the raw array, not .numpy(): that refuses bfloat16 (ml_dtypes' arrays pickle)
    return _rebuild_tensor, (np.asarray(t.detach().cpu()), bool(t.requires_grad))


class _BatchPickler(ForkingPickler):
    """multiprocessing's pickler with tensors sent as copies of their arrays (a reducer
    override: it takes precedence over the shared-memory reducers registered for Tensor)."""

    def reducer_override(self, obj: Any) -> Any:
        return _reduce_tensor(obj) if isinstance(obj, Tensor) else NotImplemented


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _BatchPickler(buf, pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


class Fetcher:
    """Produces one batch (or sample) per request, for map-style or iterable datasets."""

    def __init__(self, spec: FetchSpec) -> None:
        self.spec = spec
        self.iterator = iter(spec.dataset) if spec.iterable else None

    def fetch(self, index: Any) -> Any:
        s = self.spec
        if s.iterable:
            return self._fetch_iterable()
        if not s.auto_collation:
            sample = s.dataset[index]
            return s.collate_fn(sample) if s.collate_fn is not None else sample
        if s.fast:
            return list(s.dataset._gather(index))
        getitems = getattr(s.dataset, "__getitems__", None)
        if callable(getitems):  # a dataset that builds its batch in one call (PyTorch's)
            return s.collate_fn(getitems([i if type(i) is int else _index(i) for i in index]))
        return s.collate_fn([s.dataset[i if type(i) is int else _index(i)] for i in index])

    def _fetch_iterable(self) -> Any:
        s = self.spec
        if not s.auto_collation:
            sample = next(self.iterator)
            return s.collate_fn(sample) if s.collate_fn is not None else sample
        batch = []
        for sample in self.iterator:
            batch.append(sample)
            if len(batch) == s.batch_size:
                break
        if not batch or (s.drop_last and len(batch) < s.batch_size):
            raise StopIteration
        return s.collate_fn(batch)


def _pickled(data: Any, where: str) -> bytes:
    """Pickle here, not in the queue's feeder thread, so a failure reaches the main process."""
    try:
        return _dumps(data)
    except Exception:
        return _dumps(ExceptionWrapper(f"{where} (sending its batch)"))


def seed_worker(seed: int) -> None:
    """Seed every random stream a worker's code may draw from."""
    random.seed(seed)
    _random.manual_seed(seed)
    np.random.seed(seed % (2**32))  # PyTorch's workers seed NumPy too (cr.manual_seed does not)


def worker_loop(
    spec: FetchSpec,
    index_queue: Any,
    result_queue: Any,
    done_event: Any,
    worker_id: int,
    num_workers: int,
    base_seed: int,
    init_fn: Any,
    parent_pid: int,
) -> None:
    """The body of a worker process (see the module docstring)."""
    global _worker_info
    seed = base_seed + worker_id
    seed_worker(seed)
    set_num_threads(1)  # the workers share the cores; intra-op threads would contend
    _worker_info = WorkerInfo(
        id=worker_id, num_workers=num_workers, seed=seed, dataset=spec.dataset
    )
    where = f"in DataLoader worker process {worker_id}"
    init_error = fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = Fetcher(spec)
    except Exception:
        init_error = ExceptionWrapper(where)
    exhausted = False
    try:
        while True:
            try:
                request = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid or done_event.is_set():
                    break
                continue
            if request is None:
                break
            if isinstance(request, ResumeIteration):
                if init_error is None:
                    fetcher, exhausted = Fetcher(spec), False
                result_queue.put((request, None))
                continue
            if done_event.is_set() or exhausted:
                continue
            task_id, index = request
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not spec.iterable:
                        data = ExceptionWrapper(where)
                    else:
                        data, exhausted = IterableStop(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where)
            result_queue.put((task_id, _pickled(data, where)))
    except KeyboardInterrupt:
        pass
    if done_event.is_set() or os.getppid() != parent_pid:
        result_queue.cancel_join_thread()
    result_queue.close()
