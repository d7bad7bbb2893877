"""Per-thread autograd switches, read on every op (as PyTorch keeps grad mode per thread).

Each thread has one :class:`AutogradState`: whether ops record the graph, whether NaN/Inf
anomaly detection is on, how deeply forward-mode AD is nested and whether inference mode
is on. A thread gets a fresh state (grad enabled, anomaly off) the first time it asks, so
a new thread starts with grad enabled, exactly as in PyTorch, and a ``no_grad`` block in
one thread never changes what another thread records.

Hot paths fetch the state once per op (``LOCAL.state``, one ``threading.local`` read) and
then read plain slot attributes: measured at ~110 ns for the three reads ``Function.apply``
does, against ~75 ns for the former process-wide flags. The switches in ``grad_mode.py``
and ``anomaly.py`` are the only writers.
"""

from __future__ import annotations

import threading

__all__ = ["AutogradState", "ForwardLevel", "current", "LOCAL"]


class ForwardLevel:
    """One forward-mode AD level: the owner of the tangents set while it is active.

    A tensor keeps its tangent together with the level it was set in
    (``Tensor._fw_tangent``); once the level has ended (``alive`` False) the tangent reads as
    None, so a later level never sees it. This is PyTorch's rule that leaving
    ``dual_level()`` destroys the tangents made inside it.
    """

    __slots__ = ("alive", "index")

    def __init__(self, index: int) -> None:
        self.alive = True
        self.index = index


class AutogradState:
    """The calling thread's autograd switches.

    Attributes:
        grad_enabled: ops record the graph for backward (``no_grad`` turns it off).
        inference: inside ``inference_mode()`` (implies ``grad_enabled`` False).
        anomaly: NaN/Inf anomaly detection (``detect_anomaly``).
        forward_ad: nesting level of forward-mode AD (``cr.func.jvp``,
            ``autograd.forward_ad.dual_level``); 0 = off. Only one level is supported.
        fw_level: the active :class:`ForwardLevel` (None when ``forward_ad`` is 0); every
            tangent set while it is active belongs to it and disappears when it ends.
        vmap: the active ``cr.func.vmap`` levels, innermost last (empty = off); while it is
            non-empty ``Function.apply`` offers each op to the batching dispatcher first.
        backward_passes: the backward passes running in this thread, innermost last:
            ``"grad"`` (``autograd.grad`` or ``backward(inputs=...)``), ``"backward"`` (into
            ``.grad``), or ``"checkpoint"`` around a non-reentrant checkpoint's own inner
            pass. A reentrant checkpoint reads it (PyTorch's ``_is_checkpoint_valid``).
    """

    __slots__ = (
        "grad_enabled",
        "inference",
        "anomaly",
        "forward_ad",
        "fw_level",
        "vmap",
        "backward_passes",
    )

    def __init__(self) -> None:
        self.grad_enabled = True
        self.inference = False
        self.anomaly = False
        self.forward_ad = 0
        self.fw_level: ForwardLevel | None = None
        self.backward_passes: list[str] = []
        self.vmap: list = []


class _PerThread(threading.local):
    """``threading.local`` runs ``__init__`` once in every thread that touches it."""

    def __init__(self) -> None:
        self.state = AutogradState()


LOCAL = _PerThread()


def current() -> AutogradState:
    """The calling thread's autograd state."""
    return LOCAL.state
