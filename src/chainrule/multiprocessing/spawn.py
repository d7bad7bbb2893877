"""``spawn`` / ``start_processes``: run ``fn(i, *args)`` in ``nprocs`` processes and report
the first failure as PyTorch does.

Each child runs :func:`_wrap`, which writes the traceback of an exception to a per-process
error file and exits with code 1. ``ProcessContext.join`` waits on the children's sentinels;
when one fails it terminates the others and raises ``ProcessRaisedException`` (an exception,
with the child's traceback text) or ``ProcessExitedException`` (a non-zero exit code or a
signal, with ``exit_code`` and ``signal_name``).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import traceback
import warnings
import weakref
from collections.abc import Callable
from typing import Any

__all__ = [
    "ProcessContext",
    "ProcessException",
    "ProcessExitedException",
    "ProcessRaisedException",
    "spawn",
    "start_processes",
]


class ProcessException(Exception):
    """A child of ``spawn``/``start_processes`` failed (the base of the two below)."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A child raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A child exited with a non-zero code or was killed by a signal."""

    def __init__(
        self,
        msg: str,
        error_index: int,
        error_pid: int,
        exit_code: int,
        signal_name: str | None = None,
    ):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self) -> tuple:
        return type(self), (
            self.msg,
            self.error_index,
            self.error_pid,
            self.exit_code,
            self.signal_name,
        )


def _wrap(fn: Callable[..., Any], i: int, args: tuple, error_file: str) -> None:
    """The child's entry point: ``fn(i, *args)``, a failure written to ``error_file``."""
    try:
        fn(i, *args)
    except KeyboardInterrupt:  # the parent interrupted the whole group: no report
        pass
    except Exception:
        with open(error_file, "w", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes started by ``start_processes(..., join=False)``.

    Attributes:
        processes: the ``multiprocessing.Process`` objects, by index.
        error_files: the file each child writes its traceback to.
        sentinels: the sentinels of the children not yet joined, mapped to their index.
    """

    def __init__(self, processes: list, error_files: list[str]):
        self.processes = processes
        self.error_files = error_files
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}
        # The error files go when the context does, joined or not.
        self._cleanup = weakref.finalize(self, _remove_files, list(error_files))

    def pids(self) -> list[int]:
        """The children's process ids, by index."""
        return [int(p.pid) for p in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (forever when None) for a child to finish.

        Returns:
            True once every child has exited successfully, False while some still run.

        Raises:
            ProcessRaisedException: a child raised (the others are terminated first).
            ProcessExitedException: a child exited with a non-zero code or a signal.
        """
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            proc = self.processes[index]
            proc.join()
            if proc.exitcode != 0:
                failed = index
                break
        if failed is None:
            if not self.sentinels:
                self._remove_error_files()
            return not self.sentinels
        self._stop_others(grace_period)
        raise self._failure(failed)

    def _stop_others(self, grace_period: float | None) -> None:
        """Terminate the children still running: after ``grace_period`` seconds when given
        (then kill those that ignored SIGTERM after as long again), else at once."""
        alive = [p for p in self.processes if p.is_alive()]
        if grace_period is not None:
            multiprocessing.connection.wait([p.sentinel for p in alive], timeout=grace_period)
        for p in alive:
            if p.is_alive():
                p.terminate()
        for p in alive:
            p.join(grace_period)
            if p.is_alive():
                p.kill()
                p.join()
        self.sentinels.clear()

    def _failure(self, index: int) -> ProcessException:
        proc = self.processes[index]
        path = self.error_files[index]
        text = ""
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
        self._remove_error_files()
        pid = int(proc.pid)
        if text:
            msg = f"\n\n-- Process {index} terminated with the following error:\n{text}"
            return ProcessRaisedException(msg, index, pid)
        code = proc.exitcode
        if code < 0:
            name = signal.Signals(-code).name
            msg = f"process {index} terminated with signal {name}"
            return ProcessExitedException(msg, index, pid, code, name)
        msg = f"process {index} terminated with exit code {code}"
        return ProcessExitedException(msg, index, pid, code)

    def _remove_error_files(self) -> None:
        self._cleanup()


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def start_processes(
    fn: Callable[..., Any],
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Start ``nprocs`` processes running ``fn(i, *args)`` (``i`` the process index) with
    the given start method ("spawn", "fork" or "forkserver").

    Returns:
        None after joining all of them when ``join`` is True, else their
        :class:`ProcessContext`.
    """
    ctx = multiprocessing.get_context(start_method)
    error_files: list[str] = []
    processes = []
    for i in range(nprocs):
        fd, path = tempfile.mkstemp(prefix="chainrule-spawn-", suffix=".err")
        os.close(fd)
        error_files.append(path)
        proc = ctx.Process(target=_wrap, args=(fn, i, args, path), daemon=daemon)
        proc.start()
        processes.append(proc)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(
    fn: Callable[..., Any],
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """:func:`start_processes` with the "spawn" start method; another method works but
    warns (FutureWarning), as in PyTorch, which points to ``start_processes`` for it."""
    if start_method != "spawn":
        warnings.warn(
            f"This method only supports start_method=spawn (got: {start_method}).\n"
            "To use a different start_method use:\n\t\t "
            "chainrule.multiprocessing.start_processes(...)",
            FutureWarning,
            stacklevel=2,
        )
    return start_processes(fn, args, nprocs, join, daemon, start_method)
