"""``Timer``: runs a Python statement many times and returns a :class:`Measurement`
(PyTorch's ``torch.utils.benchmark.Timer``, a thin layer over :class:`timeit.Timer`).

The statement runs with ``num_threads`` intra-op threads (``cr.set_num_threads``), the
previous count restored afterwards, so that a measurement does not depend on the machine's
default. C++ statements and Valgrind instruction counts are PyTorch's compiled back end;
chainrule has none and raises :class:`NotImplementedError` for them.
"""

from __future__ import annotations

import enum
import textwrap
import time
import timeit
from collections.abc import Callable
from typing import Any, NoReturn

from .common import Measurement, TaskSpec, set_torch_threads

__all__ = ["Language", "Timer", "timer"]

timer = time.perf_counter  # the default clock


class Language(enum.Enum):
    """The language of a statement: only Python runs in chainrule."""

    PYTHON = 0
    CPP = 1


def _language(language: Language | str) -> Language:
    if language in (Language.PYTHON, "py", "python"):
        return Language.PYTHON
    if language in (Language.CPP, "cpp", "c++"):
        return Language.CPP
    raise ValueError(f"Timer: invalid language `{language}`; valid: Language.PYTHON, 'py'")


def _clean(code: str) -> str:
    return textwrap.dedent(code).strip()


class Timer:
    """Times ``stmt`` after running ``setup`` once, in a namespace made from ``globals``.

    Args:
        stmt: the statement to time.
        setup: run once before timing.
        global_setup: C++ only in PyTorch; a non-empty value raises ``ValueError``.
        timer: the clock (seconds as a float); pass a deterministic one to test.
        globals: the names ``stmt`` and ``setup`` see (copied).
        label, sub_label, description, env: where the result goes in a ``Compare`` table.
        num_threads: intra-op threads while the statement runs.
        language: ``Language.PYTHON`` (or ``"py"``); ``Language.CPP`` raises
            ``NotImplementedError`` (chainrule has no C++ back end).
    """

    def __init__(
        self,
        stmt: str = "pass",
        setup: str = "pass",
        global_setup: str = "",
        timer: Callable[[], float] = timer,
        globals: dict[str, Any] | None = None,  # noqa: A002 - PyTorch's name
        label: str | None = None,
        sub_label: str | None = None,
        description: str | None = None,
        env: str | None = None,
        num_threads: int = 1,
        language: Language | str = Language.PYTHON,
    ) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Timer: `stmt` must be a string (a statement to run).")
        lang = _language(language)
        if lang is Language.CPP:
            raise NotImplementedError(
                "Timer: language=Language.CPP (C++ statements) is not supported: chainrule "
                "has no C++ back end; time a Python statement."
            )
        if global_setup:
            raise ValueError(
                f"global_setup is C++ only, got `{global_setup}`. Most likely this code can "
                "simply be moved to `setup`."
            )
        self._language = lang
        self._globals = dict(globals or {})
        stmt, setup = _clean(stmt), _clean(setup)
        self._timer = timeit.Timer(
            stmt=stmt, setup=setup or "pass", timer=timer, globals=self._globals
        )
        self._task_spec = TaskSpec(
            stmt=stmt,
            setup=setup,
            global_setup=global_setup,
            label=label,
            sub_label=sub_label,
            description=description,
            env=env,
            num_threads=num_threads,
        )

    def _timeit(self, number: int) -> float:
        return max(self._timer.timeit(number), 1e-9)  # a zero time breaks the statistics

    def timeit(self, number: int = 1000000) -> Measurement:
        """Run the statement ``number`` times (after a short warm-up) as one block."""
        with set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))  # warm-up
            return Measurement(
                number_per_run=number,
                raw_times=[self._timeit(number=number)],
                task_spec=self._task_spec,
            )

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        """Not offered, as in PyTorch: use :meth:`blocked_autorange`."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable[[int, float], NoReturn] | None = None) -> None:
        """Not offered, as in PyTorch: use :meth:`blocked_autorange`."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        """Runs per block: powers of ten until a block takes a thousandth of the budget, so
        that the clock's resolution is negligible."""
        number = 1
        while True:
            if self._timeit(number) >= min_run_time / 1000 or number >= 10**9:
                return number
            number *= 10

    def _run_blocks(
        self,
        number: int,
        stop: Callable[[list[float]], bool],
        callback: Callable[[int, float], Any] | None,
    ) -> list[float]:
        times: list[float] = []
        while True:
            t = self._timeit(number)
            times.append(t)
            if callback is not None:
                callback(number, t)
            if stop(times):
                return times

    def blocked_autorange(
        self,
        callback: Callable[[int, float], NoReturn] | None = None,
        min_run_time: float = 0.2,
    ) -> Measurement:
        """Blocks of runs until ``min_run_time`` seconds were spent timing; each block's
        size is chosen once so that its time is well above the clock's resolution.
        ``callback(number, time)`` is called after every block."""
        with set_torch_threads(self._task_spec.num_threads):
            number = self._block_size(min_run_time)
            times = self._run_blocks(number, lambda ts: sum(ts) >= min_run_time, callback)
        return Measurement(number, times, self._task_spec)

    def adaptive_autorange(
        self,
        threshold: float = 0.1,
        *,
        min_run_time: float = 0.01,
        max_run_time: float = 10.0,
        callback: Callable[[int, float], NoReturn] | None = None,
    ) -> Measurement:
        """Blocks of runs until at least ``min_run_time`` was spent and IQR / median is below
        ``threshold``, or ``max_run_time`` was reached."""
        spec = self._task_spec

        def stop(ts: list[float]) -> bool:
            total = sum(ts)
            if total >= max_run_time:
                return True
            return total >= min_run_time and Measurement(number, ts, spec).meets_confidence(
                threshold
            )

        with set_torch_threads(spec.num_threads):
            number = self._block_size(min_run_time)
            times = self._run_blocks(number, stop, callback)
        return Measurement(number, times, spec)

    def collect_callgrind(
        self,
        number: int = 100,
        *,
        repeats: int | None = None,
        collect_baseline: bool = True,
        retain_out_file: bool = False,
    ) -> Any:
        """Not supported: Valgrind instruction counts (``collect_callgrind``) need PyTorch's
        compiled bindings."""
        raise NotImplementedError(
            "Timer.collect_callgrind: Valgrind/Callgrind instruction counts are not supported "
            "in chainrule; use blocked_autorange or adaptive_autorange."
        )
