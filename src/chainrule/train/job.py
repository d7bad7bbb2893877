"""Old import path of the ``chainrule train`` / ``chainrule evaluate`` classifier jobs.

The jobs are command-line code and live in :mod:`chainrule.commands._classifier`; the data
loader they use is the library function :func:`chainrule.data.datasets.load_data`. This module
only re-exports the names it used to define, for code that imports them from here.
"""

from __future__ import annotations

from ..commands._classifier import (
    DATASETS,
    OPTIMIZERS,
    TrainConfig,
    TrainingDivergedError,
    build_model,
    evaluate_run,
    run_training,
)
from ..data.datasets.arrays import load_data

__all__ = [
    "DATASETS",
    "OPTIMIZERS",
    "TrainConfig",
    "TrainingDivergedError",
    "build_model",
    "evaluate_run",
    "load_data",
    "run_training",
]
