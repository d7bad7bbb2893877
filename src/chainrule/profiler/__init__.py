"""``cr.profiler``: PyTorch's ``torch.profiler`` for chainrule.

Records every op call (``chainrule::<op>`` events), every backward rule the engine runs
(``autograd::engine::evaluate_function: MulBackward0``) and ``record_function`` ranges, and
shows them as PyTorch's table, Chrome trace and TensorBoard files. The result classes
(``EventList``, ``FunctionEvent``, ``FunctionEventAvg``) are in ``cr.autograd.profiler``, as
in PyTorch. Costs nothing while no profiler runs: the recording wrappers are swapped in
only while one does (see :mod:`chainrule.profiler.hooks` and ``docs/profiler.md``).
"""

from __future__ import annotations

from .profiler import profile
from .record import record_function
from .scheduling import ProfilerAction, ProfilerActivity, schedule, supported_activities
from .trace_export import tensorboard_trace_handler

__all__ = [
    "profile",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
    "ProfilerAction",
    "ProfilerActivity",
    "record_function",
    "is_fbcode",
    "kineto_available",
]


def is_fbcode() -> bool:
    """Whether this is Meta's internal PyTorch build: no."""
    return False


def kineto_available() -> bool:
    """Whether PyTorch's Kineto tracing library is built in: never (this profiler records
    chainrule's ops in Python)."""
    return False
