"""The main-process side of ``DataLoader(num_workers > 0)``.

Batches are assigned to workers round-robin, ``prefetch_factor`` per worker kept in
flight, and handed out in the sampler's order whatever order they arrive in (so the result
is the same as with ``num_workers=0``). Workers are daemons, every exit path (end of epoch,
exception, garbage collection, interpreter exit) shuts them down through one finaliser,
and a worker that dies is reported instead of waited for.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import pickle
import queue
import weakref
from typing import Any

from .worker import POLL_INTERVAL, ExceptionWrapper, IterableStop, ResumeIteration, worker_loop

__all__ = ["MultiProcessingIterator"]

_JOIN_TIMEOUT = 5.0


def _shutdown(
    workers: list, index_queues: list, result_queue: Any, done_event: Any, owner: int
) -> None:
    """Stop every worker: ask politely, wait a little, then terminate (idempotent). Only in
    the process that started them: a forked child (another loader's worker) that collects
    its copy of the iterator leaves them alone (it could not join them, and setting the
    shared done event would stop them under their owner)."""
    if os.getpid() != owner:
        return
    done_event.set()
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    for w in workers:
        w.join(timeout=_JOIN_TIMEOUT)
        if w.is_alive():
            w.terminate()
            w.join(timeout=_JOIN_TIMEOUT)
    for q in (*index_queues, result_queue):
        q.cancel_join_thread()
        q.close()


class MultiProcessingIterator:
    """Iterates a DataLoader with worker processes (see the module docstring)."""

    def __init__(self, loader: Any, base_seed: int) -> None:
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = mp.get_context()
        elif isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        self._loader = loader
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues, self._workers = [], []
        spec = loader._fetch_spec()
        for wid in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            w = ctx.Process(
                target=worker_loop,
                daemon=True,
                args=(
                    spec,
                    index_queue,
                    self._result_queue,
                    self._done_event,
                    wid,
                    self._num_workers,
                    base_seed,
                    loader.worker_init_fn,
                    os.getpid(),
                ),
            )
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        self._finalizer = weakref.finalize(
            self,
            _shutdown,
            self._workers,
            self._index_queues,
            self._result_queue,
            self._done_event,
            os.getpid(),
        )
        self._reset(first=True)

    # ----------------------------------------------------------------- epochs
    def _reset(self, first: bool = False) -> None:
        self._sampler_iter = self._loader._index_iter()
        self._send_idx = self._rcvd_idx = 0
        self._task_info: dict[int, tuple] = {}
        self._active = [True] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        if not first:  # persistent workers: drain the last epoch, restart iterable streams
            for q in self._index_queues:
                q.put(ResumeIteration())
            acks = 0
            while acks < self._num_workers:
                tag, _ = self._get()
                acks += isinstance(tag, ResumeIteration)
        for _ in range(self._prefetch):
            self._put_index()

    def reset(self) -> "MultiProcessingIterator":
        """Start the next epoch on the same (persistent) workers."""
        self._reset()
        return self

    def _put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = next(self._cycle)
            if self._active[wid]:
                break
        else:
            return
        self._index_queues[wid].put((self._send_idx, index))
        self._task_info[self._send_idx] = (wid,)
        self._send_idx += 1

    # ----------------------------------------------------------------- results
    def _get(self) -> tuple:
        if self._timeout > 0:
            try:
                return self._result_queue.get(timeout=self._timeout)
            except queue.Empty:
                self.shutdown()
                raise RuntimeError(
                    f"DataLoader timed out after {self._timeout} seconds "
                    "waiting for a batch from its workers"
                ) from None
        while True:
            try:
                return self._result_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                dead = [w for w in self._workers if not w.is_alive()]
                if dead:
                    info = ", ".join(f"pid {w.pid}, exit code {w.exitcode}" for w in dead)
                    self.shutdown()
                    raise RuntimeError(
                        f"DataLoader worker ({info}) exited unexpectedly; a "
                        "worker killed by a signal (e.g. out of memory) ends "
                        "this way"
                    ) from None

    def __iter__(self) -> "MultiProcessingIterator":
        return self

    def __next__(self) -> Any:
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]  # its worker ran out of data
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self.shutdown()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process(info[1])
            task_id, payload = self._get()
            if isinstance(task_id, ResumeIteration):
                continue
            data = pickle.loads(payload)
            if isinstance(data, IterableStop):
                self._active[data.worker_id] = False
                self._put_index()
                continue
            if task_id != self._rcvd_idx:
                self._task_info[task_id] += (data,)
                continue
            del self._task_info[task_id]
            self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data: Any) -> Any:
        self._put_index()
        if isinstance(data, ExceptionWrapper):
            self.shutdown()
            data.reraise()
        return data

    def shutdown(self) -> None:
        """Stop the workers now (also runs on garbage collection and at exit)."""
        self._finalizer()
