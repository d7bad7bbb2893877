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
from typing import Any

__all__ = [
    "AutogradState",
    "ForwardLevel",
    "InferenceMark",
    "InferenceVersionCounter",
    "current",
    "data_counter",
    "is_grad_enabled",
    "LOCAL",
]


class ForwardLevel:
    """One forward-mode AD level: the owner of the tangents set while it is active.

    A tensor keeps its tangent together with the level it was set in
    (``Tensor._fw_tangent``); once the level has ended (``alive`` False) the tangent reads as
    None, so a later level never sees it. This is PyTorch's rule that leaving
    ``dual_level()`` destroys the tangents made inside it.
    """

    __slots__ = ("alive", "api", "index")

    def __init__(self, index: int, api: str = "dual_level") -> None:
        self.alive = True
        self.index = index
        self.api = api  # what opened it: "jvp" (a cr.func transform) or the forward_ad API


class AutogradState:
    """The calling thread's autograd switches.

    Attributes:
        grad_enabled: ops record the graph for backward (``no_grad`` turns it off).
        inference: inside ``inference_mode()`` (implies ``grad_enabled`` False: nothing is
            recorded inside the mode, even under ``enable_grad``, as in PyTorch).
        inference_grad: what ``is_grad_enabled()`` reports inside inference mode (PyTorch lets
            ``enable_grad`` switch the reported mode there without recording anything).
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
        saved_hooks: the innermost ``saved_tensors_hooks`` pair ``(pack, unpack)`` (None:
            saved values are kept as they are).
        saved_hooks_disabled: the message of an active ``disable_saved_tensors_hooks``
            (None: hooks may be set).
    """

    __slots__ = (
        "grad_enabled",
        "inference",
        "inference_grad",
        "anomaly",
        "forward_ad",
        "fw_level",
        "vmap",
        "backward_passes",
        "saved_hooks",
        "saved_hooks_disabled",
    )

    def __init__(self) -> None:
        self.grad_enabled = True
        self.inference = False
        self.inference_grad = False
        self.anomaly = False
        self.forward_ad = 0
        self.fw_level: ForwardLevel | None = None
        self.backward_passes: list[str] = []
        self.vmap: list = []
        self.saved_hooks: tuple | None = None
        self.saved_hooks_disabled: str | None = None


class _PerThread(threading.local):
    """``threading.local`` runs ``__init__`` once in every thread that touches it."""

    def __init__(self) -> None:
        self.state = AutogradState()


LOCAL = _PerThread()


class InferenceMark(list):
    """The version counter of a tensor that ``is_inference()`` (PyTorch's inference tensors).

    The mark rides on ``Tensor._vc`` rather than on a slot of its own, so that ordinary
    tensors pay nothing for it: ``Tensor._make`` keeps writing a plain ``[0]``, views take
    their base's counter (a view of an inference tensor is one), and only the rare paths
    look at the counter's type. This class itself is the writable variant PyTorch gives
    ``detach()`` / ``.data`` of an inference tensor taken outside the mode: still an inference
    tensor (it cannot be saved for backward or require grad) but with a live version counter.
    """

    __slots__ = ()


class InferenceVersionCounter(InferenceMark):
    """The counter of a tensor created inside ``inference_mode()``: no version is tracked
    (``_version`` raises, as in PyTorch) and bumping it, which every in-place write does,
    raises outside inference mode. The write itself has happened by then, as in PyTorch,
    whose check also runs after the kernel."""

    __slots__ = ()

    def __setitem__(self, index: Any, value: Any) -> None:
        if not LOCAL.state.inference:
            raise RuntimeError(  # PyTorch's words (ops.inplace_checks' message)
                "Inplace update to inference tensor outside InferenceMode is not allowed.You "
                "can make a clone to get a normal tensor before doing inplace update.See "
                "https://github.com/pytorch/rfcs/pull/17 for more details."
            )
        list.__setitem__(self, index, value)


def data_counter(source: list, made: list) -> list:
    """The version counter of ``.data`` of a tensor whose counter is ``source`` (``made`` is the
    one ``Tensor._make`` gave it): an inference tensor's stays one, inside the mode without a
    version, outside it with a live one, as in PyTorch; a normal tensor's is normal, even
    inside the mode."""
    if not isinstance(source, InferenceMark):
        return [0]
    return made if type(made) is not list else InferenceMark((0,))


def current() -> AutogradState:
    """The calling thread's autograd state."""
    return LOCAL.state


def is_grad_enabled() -> bool:
    """Whether grad mode is on in the calling thread (ops record the graph for backward,
    except inside inference mode, which records nothing whatever this says). Here, beside
    the state, so that modules ``grad_mode`` depends on can ask too; ``cr.is_grad_enabled``
    is this function."""
    state = LOCAL.state
    return state.inference_grad if state.inference else state.grad_enabled
