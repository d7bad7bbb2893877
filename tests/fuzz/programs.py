"""Random small tensor programs, run the same way on torch and on chainrule.

A *program* is a list of steps over a growing list of *slots* (tensors). It starts with a
few leaves of small random shapes; each step reads slots by index (taken modulo the number
of slots, so every program is valid whatever the shapes) and appends its result or modifies
a slot in place. :func:`run` interprets a program with one library module (``torch`` or
``chainrule``: chainrule mirrors torch's API, so one interpreter serves both) and returns a
:class:`Trace` of everything observable: every step's value or error, the final values,
``requires_grad``/``is_leaf`` of every slot, the gradients of a weighted sum of the slots
and, on request, a double backward. Two traces are compared by :func:`assert_same`
(:mod:`tests.fuzz.traces`); forward mode is :mod:`tests.fuzz.forward`'s. The core steps
(elementwise, reductions, views, basic in-place ops) are in :mod:`tests.fuzz.core_steps`,
the later families in ``*_steps.py``; this file holds the program types and the interpreter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr

from .core_steps import (
    BINARY,
    OTHER,
    REDUCE,
    UNARY,
    VIEWS,
    _binary,
    _inplace,
    _other,
    _pick,
    _reduce,
    _unaliased,
    _unary,
    _view,
)
from .extra_steps import (
    EXTRA,
    EXTRA_INPLACE,
    EXTRA_VIEWS,
    extra_inplace,
    extra_step,
    extra_view,
)
from .linalg_steps import LINALG, linalg_step
from .math_steps import MATH, math_step
from .more_steps import MORE, MORE_INPLACE, more_step
from .nn_steps import NN, NN_INPLACE, nn_inplace, nn_step
from .r9_steps import R9, R9_INPLACE, R9_VIEWS, r9_inplace, r9_step, r9_view
from .r10_steps import R10, r10_step
from .r11_steps import R11, r11_step
from .s37_steps import S37, s37_step
from .s38_steps import S38, s38_step
from .s39_steps import S39, s39_step
from .s40_steps import S40, s40_step
from .s41_steps import S41, s41_step
from .s42_steps import S42, s42_step
from .s43_steps import S43, s43_step
from .s44_steps import S44, s44_step
from .s45_steps import S45, s45_step
from .s46_steps import S46, s46_step
from .s47_steps import S47, s47_step
from .traces import Trace, _Err, assert_same

__all__ = ["Step", "Program", "Trace", "run", "assert_same", "KINDS"]

INPLACE = (
    "add_", "mul_", "clamp_", "setitem", "copy_", "view_mul_", *MORE_INPLACE, *EXTRA_INPLACE,
    *NN_INPLACE, *R9_INPLACE,
)  # fmt: skip
_STEPS = {MORE: more_step, EXTRA: extra_step, NN: nn_step, LINALG: linalg_step, MATH: math_step}
_STEPS.update({R9: r9_step, R10: r10_step, R11: r11_step, S37: s37_step, S38: s38_step})
_STEPS.update({S39: s39_step, S40: s40_step, S41: s41_step, S42: s42_step, S43: s43_step})
_STEPS[S44] = s44_step
_STEPS[S45] = s45_step
_STEPS[S46] = s46_step
_STEPS[S47] = s47_step
KINDS = UNARY + BINARY + REDUCE + VIEWS + INPLACE + OTHER + MORE + EXTRA + EXTRA_VIEWS + NN
KINDS += LINALG + MATH + R9 + R9_VIEWS + R10 + R11 + S37 + S38 + S39 + S40 + S41 + S42 + S43 + S44
KINDS += S45 + S46 + S47


@dataclass(frozen=True)
class Step:
    """One step: its kind, slot choices / parameters as small integers, and a float."""

    kind: str
    ints: tuple[int, ...]
    val: float = 0.5

    def __repr__(self) -> str:
        return f"Step({self.kind!r}, {self.ints!r}, {self.val!r})"


@dataclass(frozen=True)
class Program:
    """Leaves (shape, requires_grad, non_contiguous[, dtype]) with a data seed, steps, and
    whether the gradient is taken by ``backward()`` or by ``autograd.grad(create_graph=True)``
    followed by a second backward. A leaf's dtype is "float64" (the default), "float32",
    "int64" or "bool"; integer and bool leaves never require grad."""

    leaves: tuple[tuple, ...]
    steps: tuple[Step, ...]
    seed: int = 0
    double: bool = False


def _np(t: Any) -> np.ndarray:
    if isinstance(t, cr.Tensor):
        # not .numpy(): it marks the memory as shared with the user, which stops chainrule's
        # view() from laying an op result out contiguously later (a known difference,
        # test_found_cases.py), so observing would change what the program does
        return np.array(t._data, copy=True)
    try:
        # resolved: the imag of torch's lazily conjugated tensor has its negative bit set,
        # which numpy() refuses (RuntimeError, mistaken for a ZeroTensor below)
        return np.array(t.detach().resolve_conj().resolve_neg().numpy(), copy=True)
    except RuntimeError:  # torch's ZeroTensor (a gradient known to be zero) has no array
        return np.zeros(tuple(t.shape), str(t.dtype).split(".")[-1])


def _leaf(lib: Any, spec: tuple, rng: np.random.Generator) -> Any:
    shape, rg, noncontig = spec[:3]
    dtype = spec[3] if len(spec) > 3 else "float64"
    data = rng.standard_normal(shape)
    if dtype == "int64":
        data, rg = np.round(data * 2).astype(np.int64), False
    elif dtype == "bool":
        data, rg = data > 0, False
    elif dtype == "float32":
        data = data.astype(np.float32)
    if noncontig and len(shape) >= 2:
        # a transposed (non-contiguous) leaf: made from the transposed data, then .mT, then
        # detached so that the leaf is no view (torch replays a view of a view-leaf from the
        # root, which does not require grad: a torch quirk not worth mirroring)
        base = lib.tensor(np.ascontiguousarray(np.swapaxes(data, -1, -2)))
        return base.mT.detach().requires_grad_(rg)
    return lib.tensor(data, requires_grad=rg)


def _weights(lib: Any, t: Any, i: int) -> Any:
    n = math.prod(tuple(t.shape))
    w = np.cos(np.arange(n) * 0.7 + i).reshape(tuple(t.shape))
    return lib.tensor(w, dtype=t.dtype)


def run(lib: Any, prog: Program, skip: set | None = None) -> Trace:
    """Interpret ``prog`` with ``lib`` (torch or chainrule) and record what it shows.
    ``skip``: the steps to leave out, as the torch run decided (``Trace.skipped``); None
    decides here."""
    tr = Trace(double=prog.double, half=any(st.kind == "half" for st in prog.steps))
    rng = np.random.default_rng(prog.seed)
    slots = [_leaf(lib, spec, rng) for spec in prog.leaves]
    leaves = list(slots)
    retained = _execute(lib, prog, slots, tr, skip, _np)
    tr.final = [_np(s) for s in slots]
    try:
        # The loss: a weighted sum of every floating slot. Using a view in an op first
        # brings its history up to date after an in-place change of its base (chainrule
        # replays it then; torch already when grad_fn is read), so the flags are read after.
        terms = [
            (s * _weights(lib, s, i)).sum() for i, s in enumerate(slots) if s.is_floating_point()
        ]
        tr.flags = [
            (bool(s.requires_grad), s.grad_fn is None, str(s.dtype).split(".")[-1]) for s in slots
        ]
        _gradients(lib, prog, [t for t in terms if t.requires_grad], leaves, retained, tr)
    except Exception as exc:  # noqa: BLE001
        tr.backward_error = _Err(exc)
    return tr


def _execute(lib: Any, prog: Program, slots: list, tr: Trace, skip: set | None, observe) -> list:
    """Run the steps of ``prog`` over ``slots`` (appending to it), recording each step's
    ``observe(result)`` or error in ``tr``; return the tensors retain_grad() was called on."""
    retained: list = []
    views: dict = {}  # id(view) -> (its base, whether the base required grad then, step)
    written: dict = {}  # id(tensor) -> the last step that wrote into it in place
    for k, st in enumerate(prog.steps):
        x = _pick(slots, st.ints[0])
        if (
            k in skip
            if skip is not None
            else (
                st.kind in INPLACE
                and (_stale_view_of_a_no_grad_base(x, views, written) or _overlaps_itself(x, st))
            )
        ):
            # A view taken while its base required no grad, whose base has since been
            # given a gradient history by an in-place write: torch still sees the view as a
            # leaf and refuses an in-place op on it ("a leaf Variable that requires grad"),
            # chainrule replays the view and records it. A known difference, not fuzzed.
            tr.skipped.add(k)
            tr.events.append((k, st.kind, None))
            continue
        try:
            if st.kind in UNARY:
                out = _unary(lib, st.kind, x)
            elif st.kind in BINARY:
                out = _binary(lib, st.kind, x, _pick(slots, st.ints[1]), st.val)
            elif st.kind in REDUCE:
                out = _reduce(lib, st.kind, x, st.ints)
            elif st.kind in VIEWS:
                out = _view(st.kind, x, st.ints)
            elif st.kind in EXTRA_VIEWS + R9_VIEWS:
                out = (extra_view if st.kind in EXTRA_VIEWS else r9_view)(lib, st.kind, x, st.ints)
            elif any(st.kind in table for table in _STEPS):
                step = _STEPS[next(k for k in _STEPS if st.kind in k)]
                third = _pick(slots, st.ints[2])
                out = step(lib, st.kind, x, _pick(slots, st.ints[1]), third, st.ints, st.val)
            elif st.kind in INPLACE:
                if st.kind in NN_INPLACE + R9_INPLACE:
                    other = _unaliased(x, _pick(slots, st.ints[1]))
                    f = r9_inplace if st.kind in R9_INPLACE else nn_inplace
                    f(lib, st.kind, x, other, st.ints, st.val)
                elif st.kind in EXTRA_INPLACE:
                    other = _unaliased(x, _pick(slots, st.ints[1]))
                    third = _unaliased(x, _pick(slots, st.ints[2]))
                    extra_inplace(lib, st.kind, x, other, third, st.ints, st.val)
                else:
                    _inplace(lib, st.kind, x, _pick(slots, st.ints[1]), st.ints, st.val)
                written[id(x)] = k
                if id(x) in views:
                    written[id(views[id(x)][0])] = k
                tr.events.append((k, st.kind, observe(x)))
                continue
            elif st.kind == "retain_grad":
                x.retain_grad()
                retained.append(x)
                tr.events.append((k, st.kind, None))
                continue
            else:
                out = _other(lib, st.kind, slots, st.ints)
        except Exception as exc:  # noqa: BLE001 - errors are part of what is compared
            tr.events.append((k, st.kind, _Err(exc)))
            continue
        if st.kind in VIEWS or st.kind in ("unfold", "view_of_view") or st.kind in R9_VIEWS:
            views[id(out)] = (x, bool(x.requires_grad), k)
        slots.append(out)
        tr.events.append((k, st.kind, observe(out)))
    return retained


def _overlaps_itself(x: Any, st: Step) -> bool:
    """Whether ``x`` has elements sharing one memory location through strides that are not
    0 (overlapping ``unfold`` windows): an in-place op on it is undefined in torch (it
    neither refuses nor writes each location once: ``x.unfold(0, 2, 1).mul_(0.5)`` halves
    the shared element twice, ``neg_`` flips it back), chainrule writes each location once.
    Not fuzzed. Stride-0 (expanded) dims are left to the steps: there both refuse."""
    if st.kind == "transpose_" or x.numel() < 2:
        return False
    dims = [(n, s) for n, s in zip(tuple(x.shape), x.stride()) if n > 1 and s != 0]
    offsets = np.zeros(1, dtype=np.int64)
    for n, s in dims:
        offsets = (offsets[:, None] + np.arange(n) * s).reshape(-1)
    return len(np.unique(offsets)) < len(offsets)


def _stale_view_of_a_no_grad_base(x: Any, views: dict, written: dict) -> bool:
    """Whether ``x`` is a view taken from a base that required no grad then and that was
    written into in place after the view was taken."""
    if id(x) not in views:
        return False
    base, base_required_grad, step = views[id(x)]
    return not base_required_grad and written.get(id(base), -1) > step


def _gradients(lib: Any, prog: Program, terms: list, leaves: list, retained: list, tr: Trace):
    if not terms:
        return
    loss = terms[0]
    for t in terms[1:]:
        loss = loss + t
    wanted = [x for x in leaves if x.requires_grad and x.is_leaf]
    if not prog.double:
        loss.backward()
        # a leaf that an in-place op turned into a non-leaf (copy_ from a tensor that
        # requires grad) has no .grad to read (torch warns)
        tr.grads = [None if not x.is_leaf or x.grad is None else _np(x.grad) for x in leaves]
        tr.grads += [None if x.grad is None else _np(x.grad) for x in retained]
        return
    gs = lib.autograd.grad(loss, wanted, create_graph=True, allow_unused=True)
    tr.grads = [None if g is None else _np(g) for g in gs]
    second = [(g * g).sum() for g in gs if g is not None and g.requires_grad]
    if second:
        total = second[0]
        for s in second[1:]:
            total = total + s
        total.backward()
    # A gradient whose own derivative is zero may or may not be recorded (torch records
    # abs's ``grad * sgn(x)``, and its second derivative is a ZeroTensor): compare the
    # second-order gradients as values, with None meaning zeros.
    tr.grads += [
        np.zeros(tuple(x.shape), _np(x).dtype) if x.grad is None else _np(x.grad) for x in wanted
    ]
