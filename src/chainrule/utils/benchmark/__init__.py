"""Benchmarking, mirroring ``torch.utils.benchmark``: :class:`Timer` measures a Python
statement, :class:`Measurement` holds its times and statistics, :class:`Compare` prints
measurements as tables, :class:`Fuzzer` draws benchmark inputs (``fuzzer.py``; sparse COO
inputs with :class:`FuzzedSparseTensor`, ``sparse_fuzzer.py``).

Not provided: C++ statements (``language=Language.CPP``) and Valgrind instruction counts
(``Timer.collect_callgrind``, ``CallgrindStats``, ``FunctionCounts``), which need PyTorch's
compiled back end (they raise ``NotImplementedError``).
"""

from __future__ import annotations

from .common import (
    Measurement,
    TaskSpec,
    ordered_unique,
    select_unit,
    set_torch_threads,
    trim_sigfig,
    unit_to_english,
)
from .compare import Colorize, Compare
from .fuzzer import FuzzedParameter, FuzzedTensor, Fuzzer, ParameterAlias
from .sparse_fuzzer import FuzzedSparseTensor
from .timer import Language, Timer, timer

__all__ = [
    "Colorize",
    "Compare",
    "FuzzedParameter",
    "FuzzedSparseTensor",
    "FuzzedTensor",
    "Fuzzer",
    "Language",
    "Measurement",
    "ParameterAlias",
    "TaskSpec",
    "Timer",
    "ordered_unique",
    "select_unit",
    "set_torch_threads",
    "timer",
    "trim_sigfig",
    "unit_to_english",
]
