"""What one benchmark measured: :class:`TaskSpec` (what ran) and :class:`Measurement` (how
long), with the unit and rounding helpers their printed forms use (PyTorch's
``torch.utils.benchmark.utils.common``)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import statistics
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ...threads import get_num_threads, set_num_threads

__all__ = [
    "Measurement",
    "TaskSpec",
    "ordered_unique",
    "select_unit",
    "set_torch_threads",
    "trim_sigfig",
    "unit_to_english",
]

_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9  # 25 ns: below this, a timer cannot resolve differences
_IQR_WARN_THRESHOLD = 0.1  # IQR / median above this: the measurement gets a warning
_IQR_GROSS_WARN_THRESHOLD = 0.5
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_ENGLISH = {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}


@dataclasses.dataclass(init=True, repr=False, eq=True, frozen=True)
class TaskSpec:
    """What a :class:`~chainrule.utils.benchmark.Timer` measures: the statement, its setup,
    and the labels that place it in a :class:`~chainrule.utils.benchmark.Compare` table."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """``label: sub_label`` when labelled, else the statement (indented when it spans
        several lines) with the sub-label."""
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        if "\n" in self.stmt:
            return "stmt:\n" + textwrap.indent(self.stmt, "  ")
        return self.stmt + (f": {self.sub_label}" if self.sub_label else "")

    def setup_str(self) -> str:
        """``setup: ...`` (empty for the default ``pass``)."""
        if not self.setup or self.setup == "pass":
            return ""
        if "\n" in self.setup:
            return "setup:\n" + textwrap.indent(self.setup, "  ")
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """The heading of a measurement's printed form: title, description, setup (a part
        of several lines followed by a blank line)."""
        parts = [self.title, self.description or "", self.setup_str()]
        return "\n".join(p + ("\n" if "\n" in p else "") for p in parts if p)


class Measurement:
    """The times of one statement: ``raw_times`` holds one total per block of
    ``number_per_run`` runs; :attr:`times` are per run, and the statistics (median, IQR,
    significant figures) are over those."""

    metadata: dict[Any, Any] | None = None  # a field with a default, as in PyTorch's dataclass

    def __init__(
        self,
        number_per_run: int,
        raw_times: list[float],
        task_spec: TaskSpec,
        metadata: dict[Any, Any] | None = None,
    ) -> None:
        self.number_per_run = number_per_run
        self.raw_times = raw_times
        self.task_spec = task_spec
        self.metadata = metadata
        self._stats: tuple | None = None

    def __getattr__(self, name: str) -> Any:
        # the TaskSpec's fields read as the measurement's own (m.label, m.stmt, ...)
        if name in TaskSpec.__dataclass_fields__:
            return getattr(self.task_spec, name)
        raise AttributeError(f"'Measurement' object has no attribute {name!r}")

    # ------------------------------------------------------------------ statistics
    def _lazy(self) -> tuple:
        """(sorted times, median, mean, 25th and 75th percentiles, warnings)."""
        if self._stats is None:
            times = sorted(self.times)
            arr = np.asarray(times, dtype=np.float64)
            med, p25, p75 = (float(v) for v in np.percentile(arr, [50, 25, 75]))
            warns = []
            if med > 0 and (p75 - p25) / med > _IQR_WARN_THRESHOLD:
                rel = (p75 - p25) / med
                why = (
                    "This suggests significant environmental influence."
                    if rel > _IQR_GROSS_WARN_THRESHOLD
                    else "This could indicate system fluctuation."
                )
                warns.append(
                    f"Interquartile range is {rel * 100:.1f}% of the median measurement.\n"
                    f"           {why}"
                )
            self._stats = (times, med, float(arr.mean()), p25, p75, warns)
        return self._stats

    @property
    def times(self) -> list[float]:
        """Seconds per run, one per block."""
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self) -> float:
        return self._lazy()[1]

    @property
    def mean(self) -> float:
        return self._lazy()[2]

    @property
    def iqr(self) -> float:
        """The interquartile range (75th minus 25th percentile, linear interpolation)."""
        stats = self._lazy()
        return stats[4] - stats[3]

    @property
    def significant_figures(self) -> int:
        """How many digits of the median are trustworthy (1 to 4): a 90% confidence interval
        (z = 1.645) from the spread (population standard deviation) of the middle half of
        the times, at least 25 ns wide, compared with the median. Meant for
        :meth:`Compare.trim_significant_figures`."""
        times, med = self._lazy()[:2]
        n = len(times)
        middle = times[n // 4 : math.ceil(3 * n / 4)]
        spread = statistics.pstdev(middle)
        ci = max(1.645 * spread / math.sqrt(len(middle)), _MIN_CONFIDENCE_INTERVAL)
        figures = math.floor(math.log10(med / ci)) if med > 0 else 1
        return min(max(figures, 1), _MAX_SIGNIFICANT_FIGURES)

    @property
    def has_warnings(self) -> bool:
        return bool(self._lazy()[5])

    def meets_confidence(self, threshold: float = 0.1) -> bool:
        """Whether IQR / median is below ``threshold``."""
        return self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self) -> str | None:
        return self.task_spec.env

    @property
    def as_row_name(self) -> str:
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self) -> str:
        times, med, _, p25, p75, warns = self._lazy()
        unit, scale = select_unit(med)
        n = len(times)
        lines = [object.__repr__(self), self.task_spec.summarize()]
        threads = f"{self.num_threads} thread{'s' if self.num_threads > 1 else ''}"
        if n == 1:
            lines.append(f"  {med / scale:.2f} {unit}")
            lines.append(f"  1 measurement, {self.number_per_run} runs , {threads}")
        else:
            lines.append(f"  Median: {med / scale:.2f} {unit}")
            if n >= 4:
                lines.append(
                    f"  IQR:    {(p75 - p25) / scale:.2f} {unit} "
                    f"({p25 / scale:.2f} to {p75 / scale:.2f})"
                )
            lines.append(
                f"  {n} measurements, {self.number_per_run} runs per measurement, {threads}"
            )
        lines.extend(f"  WARNING: {w}" for w in warns)
        return "\n".join(lines)

    @staticmethod
    def merge(measurements: Iterable[Measurement]) -> list[Measurement]:
        """One measurement per distinct :class:`TaskSpec`, holding all their per-run times
        (``number_per_run`` 1, no metadata)."""
        grouped: dict[TaskSpec, list[float]] = {}
        for m in measurements:
            grouped.setdefault(m.task_spec, []).extend(m.times)
        return [Measurement(1, times, spec) for spec, times in grouped.items()]


def select_unit(t: float) -> tuple[str, float]:
    """The unit to print ``t`` seconds in and its size: ns, us, ms or s (``"s"`` also for
    times under a nanosecond, as PyTorch)."""
    power = int(math.log10(t) // 3) if t > 0 else 0
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(power, "s")
    return unit, _UNITS[unit]


def unit_to_english(u: str) -> str:
    """``"us"`` -> ``"microsecond"``."""
    return _ENGLISH[u]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures (half to even), in float32 as PyTorch
    rounds it, so that both print the same digits (they may differ on a value within a
    float32 rounding step of a tie)."""
    if x == 0:
        return 0.0
    magnitude = int(math.ceil(math.log10(abs(x))))
    scale = 10.0 ** (magnitude - n)
    steps = np.round(np.float32(float(np.float32(x)) / scale))
    return float(steps * np.float32(scale))


def ordered_unique(elements: Iterable[Any]) -> list[Any]:
    """The distinct elements in first-seen order."""
    return list(dict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads (``cr.set_num_threads``), then restore."""
    before = get_num_threads()
    try:
        set_num_threads(n)
        yield
    finally:
        set_num_threads(before)
