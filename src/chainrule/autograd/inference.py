"""Inference tensors: what ``inference_mode()`` makes, and the rules PyTorch gives them.

A tensor created while the calling thread is inside ``inference_mode()`` (by a factory such
as ``cr.ones``, by ``cr.tensor``, as an op's result, as a view of another inference tensor)
``is_inference()``. Outside the mode such a tensor may be read by any op (the results are
normal tensors), but it may not be modified in place, require grad, or be saved for backward
by a recorded op; ``clone()`` it outside the mode to get a normal tensor.

The mark is the type of the tensor's version counter (``Tensor._vc``, see
:class:`~.state.InferenceMark`), so ordinary tensors carry nothing extra. Marking costs nothing
while no thread is in inference mode: entering the mode swaps ``Tensor._make`` and
``Tensor._init_leaf`` (the two places every tensor is born) for variants that mark tensors
born in an inference-mode thread, and the last thread to leave swaps the plain ones back, so
the per-op path outside the mode runs exactly the code it ran before inference tensors existed.
The checks sit where the code already branches: in-place writes meet the counter's own
``__setitem__`` (only an inference counter has one), and a recorded op that saves values for
backward checks them only once an inference tensor has ever been made
(``Tensor._inference_seen``).
"""

from __future__ import annotations

import threading
from typing import Any

from .saved import SavedInput
from .state import LOCAL, InferenceMark, InferenceVersionCounter
from .tensor import Tensor

__all__ = ["is_inference", "track_inference_mode", "check_saved_values"]

_plain_make = Tensor._make  # bound to Tensor: the fast constructor of op results
_plain_make_descriptor = Tensor.__dict__["_make"]
_plain_init_leaf = Tensor._init_leaf

_lock = threading.Lock()
_threads_inside = 0  # threads whose state has ``inference`` on


def _make_marking(cls: type, data: Any, requires_grad: bool, grad_fn: Any, output_nr: int) -> Any:
    """``Tensor._make`` while some thread is in inference mode: marks what this thread makes
    inside the mode (another thread outside it gets plain tensors)."""
    t = _plain_make(data, requires_grad, grad_fn, output_nr)
    if LOCAL.state.inference:
        t._vc = InferenceVersionCounter((0,))
    return t


def _init_leaf_marking(self: Tensor, arr: Any, requires_grad: bool) -> None:
    """``Tensor._init_leaf`` (``cr.tensor``, ``Tensor(...)``, ``nn.Parameter``) while some
    thread is in inference mode."""
    _plain_init_leaf(self, arr, requires_grad)
    if LOCAL.state.inference:
        self._vc = InferenceVersionCounter((0,))


def track_inference_mode(entering: bool) -> None:
    """Count a thread entering (``entering``) or leaving inference mode; swap the marking
    constructors in for the first thread in and the plain ones back after the last out.

    Called by the mode switches in ``grad_mode.py`` on every change of ``state.inference``."""
    global _threads_inside
    with _lock:
        _threads_inside += 1 if entering else -1
        if entering and _threads_inside == 1:
            Tensor._inference_seen = True
            Tensor._make = classmethod(_make_marking)
            Tensor._init_leaf = _init_leaf_marking
        elif not entering and _threads_inside == 0:
            Tensor._make = _plain_make_descriptor
            Tensor._init_leaf = _plain_init_leaf


def is_inference(input: Tensor) -> bool:  # noqa: A002 - PyTorch's argument name
    """``torch.is_inference``: whether ``input`` is an inference tensor (made inside
    ``inference_mode()``, or a view or ``detach()`` of one)."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"is_inference(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return isinstance(input._vc, InferenceMark)


def check_saved_values(op: str, values: tuple) -> None:
    """Refuse an inference tensor among the values a recorded op saved for backward (PyTorch
    raises at the op, not at backward): its values could change under the graph unseen.

    Runs for every recorded op that saves values once some thread has entered inference mode,
    so it reads one counter per value and looks further only at a counter that is not a list.
    """
    for e in values:
        if type(e) is SavedInput:
            vc = e[0]._vc
        elif e is None:
            continue
        else:
            vc = e[-2]  # SavedOutput / SavedConstant: the version counter guarding it, or None
        if type(vc) is not list and vc is not None:
            _refuse_saved(op, vc)


def _refuse_saved(op: str, vc: Any) -> None:
    if isinstance(vc, InferenceMark) and not LOCAL.state.inference:
        raise RuntimeError(
            f"{op}: an inference tensor (created inside cr.inference_mode()) cannot be "
            "saved for backward by an op that autograd records; make a clone() of it "
            "outside inference_mode to use it with autograd, or create it under "
            "cr.no_grad() instead of cr.inference_mode()"
        )
