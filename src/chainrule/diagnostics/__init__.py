"""Seeing inside training (``cr.diagnostics``).

* :func:`record` - per-layer activation / gradient statistics via module hooks, with
  histogram figures and update-to-weight ratios.
* :func:`check_health` - one forward/backward pass turned into plain-language findings
  (vanishing/exploding gradients, saturation, dead ReLUs, initial loss, init advice).
* :func:`init_study` - the lectures' initialization experiment across depth.
* :func:`overfit_small_batch`, :func:`gradient_check` - sanity checks before tuning.

NaN/Inf tracing lives in :func:`chainrule.autograd.detect_anomaly`.
"""

from __future__ import annotations

from . import sanity
from .health import Finding, HealthReport, check_health
from .init_study import InitStudy, init_study
from .sanity import GradCheckReport, OverfitReport, gradient_check, overfit_small_batch
from .stats import LayerStats, Recorder, activation_stats, record

__all__ = [
    "Finding",
    "GradCheckReport",
    "HealthReport",
    "InitStudy",
    "LayerStats",
    "OverfitReport",
    "Recorder",
    "activation_stats",
    "check_health",
    "gradient_check",
    "init_study",
    "overfit_small_batch",
    "record",
    "sanity",
]
