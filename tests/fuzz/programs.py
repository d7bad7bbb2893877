"""Random small tensor programs, run the same way on torch and on chainrule.

A *program* is a list of steps over a growing list of *slots* (tensors). It starts with a
few leaves of small random shapes; each step reads slots by index (taken modulo the number
of slots, so every program is valid whatever the shapes) and appends its result or modifies
a slot in place. :func:`run` interprets a program with one library module (``torch`` or
``chainrule``: chainrule mirrors torch's API, so one interpreter serves both) and returns a
:class:`Trace` of everything observable: every step's value or error, the final values,
``requires_grad``/``is_leaf`` of every slot, the gradients of a weighted sum of the slots
and, on request, a double backward. Two traces are compared by :func:`assert_same`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import chainrule as cr

from .extra_steps import (
    EXTRA,
    EXTRA_INPLACE,
    EXTRA_VIEWS,
    extra_inplace,
    extra_step,
    extra_view,
    no_forward_rule,
    no_nan,
)
from .more_steps import MORE, MORE_INPLACE, more_inplace, more_step
from .nn_steps import NN, NN_INPLACE, nn_inplace, nn_step

__all__ = ["Step", "Program", "Trace", "run", "run_forward", "assert_same", "KINDS"]

UNARY = ("exp", "tanh", "sigmoid", "sin", "abs", "relu", "square", "sqrt1", "log1")
BINARY = ("add", "sub", "mul", "div", "maximum", "where", "rsub_scalar", "mul_scalar")
REDUCE = ("sum", "mean", "amax")
VIEWS = (
    "transpose", "permute", "reshape", "view", "unsqueeze", "squeeze", "slice", "expand",
    "narrow", "diagonal", "t", "select",
)  # fmt: skip
INPLACE = (
    "add_", "mul_", "clamp_", "setitem", "copy_", "view_mul_", *MORE_INPLACE, *EXTRA_INPLACE,
    *NN_INPLACE,
)  # fmt: skip
OTHER = ("matmul", "cat", "stack", "detach", "clone", "retain_grad", "to32")
KINDS = UNARY + BINARY + REDUCE + VIEWS + INPLACE + OTHER + MORE + EXTRA + EXTRA_VIEWS + NN


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


@dataclass
class Trace:
    """What one run of a program showed."""

    events: list = field(default_factory=list)  # (step index, kind, value | error)
    final: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    grads: list = field(default_factory=list)
    backward_error: Any = None
    skipped: set = field(default_factory=set)  # steps left out (decided on the torch run)
    double: bool = False  # grads: the first-order ones, then the second-order ones


class _Err:
    """An exception seen while running (compared by presence; the type is reported)."""

    def __init__(self, exc: BaseException):
        self.type = type(exc).__name__
        self.msg = str(exc).splitlines()[0][:200] if str(exc) else ""

    def __repr__(self) -> str:
        return f"<{self.type}: {self.msg}>"


def _np(t: Any) -> np.ndarray:
    if isinstance(t, cr.Tensor):
        # not .numpy(): it marks the memory as shared with the user, which stops chainrule's
        # view() from laying an op result out contiguously later (a known difference,
        # test_found_cases.py), so observing would change what the program does
        return np.array(t._data, copy=True)
    try:
        return np.array(t.detach().numpy(), copy=True)
    except RuntimeError:  # torch's ZeroTensor (a gradient known to be zero) has no array
        return np.zeros(tuple(t.shape), str(t.dtype).split(".")[-1])


def _broadcastable(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


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


def _pick(slots: list, i: int) -> Any:
    return slots[i % len(slots)]


def _dim(x: Any, i: int) -> int:
    return i % max(x.dim(), 1)


def _unary(lib: Any, kind: str, x: Any) -> Any:
    if kind == "sqrt1":
        return (x.abs() + 1).sqrt()
    if kind == "log1":
        return lib.log(x.abs() + 1)
    if kind == "relu":
        return lib.relu(x)
    if kind == "square":
        return x.square()
    if kind == "sin" and x.dtype == lib.float32:
        # a float32 argument kept to [-16, 16]: the libraries may round a large value an ulp
        # apart (batch_norm's ~3e4: 0.002 apart, an accepted float32 difference), and the
        # sine turns that into an absolute difference of its own size, past the tolerance
        x = x.clamp(-16.0, 16.0)
    return getattr(x, kind)()


def _operand(x: Any, shape: tuple) -> Any:
    """``x``, or its sum (a 0-d tensor) when it does not broadcast against ``shape``."""
    return x if _broadcastable(tuple(x.shape), shape) else x.sum()


def _binary(lib: Any, kind: str, a: Any, b: Any, val: float) -> Any:
    b = _operand(b, tuple(a.shape))
    if kind == "add":
        return a + b
    if kind == "sub":
        return lib.sub(a, b)
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / (b.abs() + 1)
    if kind == "maximum":
        return lib.maximum(a, b)
    if kind == "where":
        return lib.where(a > b, a, b)
    if kind == "rsub_scalar":
        return val - a
    return a * val


def _reduce(lib: Any, kind: str, x: Any, ints: tuple) -> Any:
    if kind == "amax":
        x = no_nan(lib, x)  # a documented difference of NaN slices (extra_steps.no_nan)
    if x.dim() == 0 or ints[1] % 4 == 0:
        return getattr(x, kind)() if kind != "amax" else x.amax()
    return getattr(x, kind)(_dim(x, ints[2]), keepdim=bool(ints[3] % 2))


def _view(kind: str, x: Any, ints: tuple) -> Any:
    n = x.dim()
    shape = tuple(x.shape)
    if kind == "transpose":
        return x.transpose(_dim(x, ints[1]), _dim(x, ints[2]))
    if kind == "permute":
        perm = list(np.random.default_rng(ints[1]).permutation(n))
        return x.permute(*[int(p) for p in perm])
    if kind in ("reshape", "view"):
        numel = math.prod(shape)
        options = [(-1,), (numel, 1), (1, numel), shape[::-1], (1, *shape)]
        target = options[ints[1] % len(options)]
        if kind == "view" and not x.is_contiguous():
            # chainrule lays op results out its own way and view() re-lays them out where
            # torch raises: a deliberate difference (docs of chainrule's view), not fuzzed
            kind = "reshape"
        return getattr(x, kind)(*target)
    if kind == "unsqueeze":
        return x.unsqueeze(ints[1] % (n + 1))
    if kind == "squeeze":
        return x.squeeze(_dim(x, ints[1])) if n else x.squeeze()
    if kind == "slice":
        if n == 0:
            return x[...]
        d = _dim(x, ints[1])
        size = shape[d]
        start, step = ints[2] % max(size, 1), 1 + ints[3] % 2
        idx = (slice(None),) * d + (slice(start, None, step),)
        return x[idx]
    if kind == "select":
        if n == 0:
            return x[()]
        d = _dim(x, ints[1])
        return x.select(d, ints[2] % shape[d]) if shape[d] else x
    if kind == "expand":
        target = tuple(2 + ints[1] % 2 if s == 1 else s for s in shape)
        if ints[2] % 2:
            target = (2, *target)
        return x.expand(*target)
    if kind == "narrow":
        if n == 0:
            return x.reshape(1).narrow(0, 0, 1)
        d = _dim(x, ints[1])
        start = ints[2] % max(shape[d], 1)
        length = (ints[3] % max(shape[d] - start, 1)) + (1 if shape[d] else 0)
        return x.narrow(d, start, min(length, shape[d] - start))
    if kind == "diagonal":
        if n < 2:
            return x.unsqueeze(0).diagonal() if n == 1 else x.reshape(1, 1).diagonal()
        return x.diagonal(ints[1] % 3 - 1, _dim(x, ints[2]), (_dim(x, ints[2]) + 1) % n)
    if kind == "t":
        return x.t() if n <= 2 else x.mT
    raise AssertionError(kind)


def _inplace(lib: Any, kind: str, x: Any, other: Any, ints: tuple, val: float) -> Any:
    shape = tuple(x.shape)
    src = (
        other
        if _broadcastable(tuple(other.shape), shape)
        and np.broadcast_shapes(tuple(other.shape), shape) == shape
        else other.sum()
    )
    src = _unaliased(x, src)
    if kind in MORE_INPLACE:
        return more_inplace(lib, kind, x, _unaliased(x, other), ints, val)
    if kind == "add_":
        return x.add_(src, alpha=val) if ints[3] % 2 else x.add_(val)
    if kind == "mul_":
        return x.mul_(src) if ints[3] % 2 else x.mul_(val)
    if kind == "clamp_":
        return x.clamp_(-abs(val), abs(val))
    if kind == "copy_":
        # not x.copy_(x): torch skips that copy even into an expanded x, chainrule refuses
        # (a known difference, test_found_cases.py, xfail)
        return x.copy_(src.clone() if src is x else src)
    if kind == "view_mul_":  # an in-place op on a fresh view of x
        v = x[0] if x.dim() else x[...]
        v.mul_(src.sum() if ints[3] % 2 else val)
        return x
    # setitem: x[idx] = y, with y a scalar or a 0-d tensor from another slot. Not into an
    # expanded tensor: a known difference (test_found_cases.py, xfail), skipped here so the
    # fuzzer finds other ones.
    if any(st == 0 and n > 1 for st, n in zip(x.stride(), shape)):
        return x.add_(val)
    if x.dim() == 0:
        idx: Any = ()
    else:
        size = shape[0]
        idx = slice(ints[2] % max(size, 1), None, 1 + ints[3] % 2)
    value = other.sum() if ints[4] % 2 else val
    if ints[4] % 2 and not x.is_floating_point():
        # torch marks an integer or bool x written through a slice as requiring grad (a
        # torch bug: such tensors cannot require grad), not mirrored
        value = value.detach()
    x[idx] = value
    return x


def _unaliased(x: Any, src: Any) -> Any:
    """``src``, or a clone where it is ``x``'s own elements in a layout that differs only
    in the stride of a size-1 dim: torch then refuses an in-place op of ``x`` reading
    ``src``, chainrule computes it (a known difference, test_found_cases.py, xfail). Decided
    without looking at size-1 strides, which the two libraries lay out differently."""
    shape = tuple(x.shape)
    if tuple(src.shape) != shape and _same_storage(x, src):
        # x written from a broadcast read of its own memory: torch copies element by element
        # and reads elements it already overwrote (an order-dependent result), chainrule
        # reads all of src first (a known difference of which torch's answer is wrong)
        return src.clone()
    if (
        1 in shape
        and tuple(src.shape) == shape
        and src.data_ptr() == x.data_ptr()
        and all(a == b for n, a, b in zip(shape, x.stride(), src.stride()) if n > 1)
    ):
        return src.clone()
    return src


def _same_storage(x: Any, y: Any) -> bool:
    if isinstance(x, cr.Tensor):
        return x._vc is y._vc  # one version counter: views of one memory (detach() too)
    return x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr()


def _other(lib: Any, kind: str, slots: list, ints: tuple) -> Any:
    a = _pick(slots, ints[0])
    if kind == "matmul":
        for j in range(len(slots)):
            b = _pick(slots, ints[1] + j)
            if a.dim() >= 1 and b.dim() >= 1 and a.dtype == b.dtype:  # mixed: found case
                k = b.shape[-2] if b.dim() >= 2 else b.shape[0]
                # not 1-d/2-d @ batched: torch saves a folded copy of b there, so an
                # in-place change of b later is no error (test_found_cases.py, xfail)
                if a.shape[-1] == k and b.dim() <= 2:
                    return a @ b
        if a.dim() == 0:
            return a * a
        return a @ a.mT if a.dim() >= 2 else a @ a
    if kind in ("cat", "stack"):
        b = _pick(slots, ints[1])
        if kind == "stack" or a.dim() == 0:
            if tuple(b.shape) != tuple(a.shape):
                b = a * 2
            return lib.stack([a, b], dim=ints[2] % (a.dim() + 1))
        d = _dim(a, ints[2])
        same = b.dim() == a.dim() and all(
            b.shape[i] == a.shape[i] for i in range(a.dim()) if i != d
        )
        return lib.cat([a, b if same else a], dim=d)
    if kind == "detach":
        return a.detach()
    if kind == "clone":
        # through view_as: clone() of a stale view misses its replay (a known difference,
        # test_found_cases.py, xfail), skipped here so the fuzzer finds other ones
        return a.view_as(a).clone()
    if kind == "to32":
        return a.float()
    raise AssertionError(kind)


def _weights(lib: Any, t: Any, i: int) -> Any:
    n = math.prod(tuple(t.shape))
    w = np.cos(np.arange(n) * 0.7 + i).reshape(tuple(t.shape))
    return lib.tensor(w, dtype=t.dtype)


def run(lib: Any, prog: Program, skip: set | None = None) -> Trace:
    """Interpret ``prog`` with ``lib`` (torch or chainrule) and record what it shows.
    ``skip``: the steps to leave out, as the torch run decided (``Trace.skipped``); None
    decides here."""
    tr = Trace(double=prog.double)
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
            elif st.kind in EXTRA_VIEWS:
                out = extra_view(lib, st.kind, x, st.ints)
            elif st.kind in MORE or st.kind in EXTRA or st.kind in NN:
                step = more_step if st.kind in MORE else extra_step if st.kind in EXTRA else nn_step
                third = _pick(slots, st.ints[2])
                out = step(lib, st.kind, x, _pick(slots, st.ints[1]), third, st.ints, st.val)
            elif st.kind in INPLACE:
                if st.kind in NN_INPLACE:
                    other = _unaliased(x, _pick(slots, st.ints[1]))
                    nn_inplace(lib, st.kind, x, other, st.ints, st.val)
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
        if st.kind in VIEWS or st.kind in ("unfold", "view_of_view"):
            views[id(out)] = (x, bool(x.requires_grad), k)
        slots.append(out)
        tr.events.append((k, st.kind, observe(out)))
    return retained


def forward_checked(prog: Program) -> bool:
    """Whether ``prog`` gets a forward-mode check: no in-place steps, a differentiable leaf."""
    return not any(st.kind in INPLACE for st in prog.steps) and any(
        len(spec) < 4 or spec[3] in ("float64", "float32") for spec in prog.leaves
    )


def run_forward(lib: Any, prog: Program) -> Trace:
    """Forward-mode AD over ``prog`` (no in-place steps): every floating leaf gets a random
    tangent; with an even seed through ``autograd.forward_ad`` (every step's value and
    tangent recorded), with an odd one through ``func.jvp`` (the values and tangents of the
    floating slots at the end; the steps only by whether they raise)."""
    tr = Trace()
    rng = np.random.default_rng(prog.seed)
    leaves = [_leaf(lib, spec, rng) for spec in prog.leaves]
    trng = np.random.default_rng(prog.seed + 1)
    tangents = [
        lib.tensor(trng.standard_normal(tuple(x.shape)), dtype=x.dtype)
        if x.is_floating_point()
        else None
        for x in leaves
    ]
    skip = {
        k
        for k, st in enumerate(prog.steps)
        if st.kind == "retain_grad" or no_forward_rule(st.kind, st.ints)
    }
    if prog.seed % 2 == 0:
        fwad = lib.autograd.forward_ad

        def observe(t: Any) -> Any:
            primal, tangent = fwad.unpack_dual(t)
            return (_np(primal), None if tangent is None else _np(tangent))

        with fwad.dual_level():
            slots = [x if t is None else fwad.make_dual(x, t) for x, t in zip(leaves, tangents)]
            _execute(lib, prog, slots, tr, skip, observe)
            tr.final = [observe(s) for s in slots]
        return tr
    diff = [i for i, t in enumerate(tangents) if t is not None]

    def f(*primals: Any) -> tuple:
        slots = list(leaves)
        for i, p in zip(diff, primals):
            slots[i] = p
        _execute(lib, prog, slots, tr, skip, lambda t: None)
        return tuple(s for s in slots if s.is_floating_point())

    try:
        out, tan = lib.func.jvp(f, tuple(leaves[i] for i in diff), tuple(tangents[i] for i in diff))
        # the tangents in the primal's dtype: torch.func.jvp gives x * 2.0 of a float32 x a
        # float64 tangent (a torch bug; forward_ad gives float32)
        tr.final = [(_np(o), _np(t).astype(_np(o).dtype)) for o, t in zip(out, tan)]
    except Exception as exc:  # noqa: BLE001
        tr.backward_error = _Err(exc)
    return tr


def assert_same_forward(t: Trace, c: Trace) -> list[str]:
    """Assert that chainrule's forward-mode trace ``c`` matches torch's ``t``."""
    notes = []
    loose = any(
        isinstance(v, tuple) and v[0].dtype == np.float32
        for v in [e[2] for e in t.events] + t.final
    )
    for (k, kind, a), (_, _, b) in zip(t.events, c.events):
        if isinstance(a, _Err) and not isinstance(b, _Err):
            # torch has no forward rule for some ops; chainrule doing more is fine
            notes.append(f"forward step {k} ({kind}): torch {a!r}, chainrule runs")
            return notes
        _forward_close(a, b, f"forward step {k} ({kind})", loose)
    if t.backward_error is not None and c.backward_error is None:
        notes.append(f"forward: torch {t.backward_error!r}, chainrule runs")
        return notes
    _close(t.backward_error, c.backward_error, "jvp")
    assert len(t.final) == len(c.final), "number of slots differs"
    for i, (a, b) in enumerate(zip(t.final, c.final)):
        _forward_close(a, b, f"forward: slot {i}", loose)
    return notes


def _forward_close(a: Any, b: Any, where: str, loose: bool) -> None:
    if isinstance(a, tuple) and isinstance(b, tuple):
        _close(a[0], b[0], where + " value", 1e-4 if loose else False)
        ta = a[1]
        if ta is not None and b[1] is not None and ta.dtype != a[0].dtype == b[1].dtype:
            # torch's tangent in another dtype than its primal: x.prod(dtype=torch.float32) of
            # a float64 x has a float64 tangent (a torch bug; its other ops with dtype=, and
            # chainrule, give the primal's dtype), compared in the primal's dtype
            ta = ta.astype(a[0].dtype)
        _close(ta, b[1], where + " tangent", 1e-4 if loose else 1e-7)
        return
    _close(a, b, where)


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


def _close(a: Any, b: Any, where: str, loose: bool | float = False) -> None:
    if isinstance(a, _Err) or isinstance(b, _Err):
        assert isinstance(a, _Err) and isinstance(b, _Err), f"{where}: torch {a!r} vs cr {b!r}"
        return
    if a is None or b is None:
        assert a is None and b is None, f"{where}: torch {type(a)} vs chainrule {type(b)}"
        return
    if isinstance(a, tuple):
        _close(a[0], b[0], where, loose)
        assert a[1] == b[1], f"{where}: requires_grad torch {a[1]} vs chainrule {b[1]}"
        return
    assert a.shape == b.shape, f"{where}: shape torch {a.shape} vs chainrule {b.shape}"
    assert a.dtype == b.dtype, f"{where}: dtype torch {a.dtype} vs chainrule {b.dtype}"
    if a.dtype.kind not in "fc":  # integers and bools: exactly
        np.testing.assert_array_equal(b, a, err_msg=where)
        return
    tol = loose if isinstance(loose, float) else 1e-5 if loose or a.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol, equal_nan=True, err_msg=where)


_TORCH_BACKWARD_BUGS = (
    "modified by an inplace operation",
    # addcmul(float, int, int): the int operands' gradient formula is cast into Long
    "can't be cast to the desired output type",
    # pow(float, bool exponent): the formula computes exponent - 1 on the bool tensor
    "with a bool tensor is not supported",
)


def assert_same(t: Trace, c: Trace) -> list[str]:
    """Assert that the chainrule trace ``c`` matches the torch trace ``t``; return notes on
    errors both raised with different exception types."""
    notes = []
    loose = any(f[2] == "float32" for f in t.flags)  # float32 steps round the float64 ones
    for (k, kind, a), (_, _, b) in zip(t.events, c.events):
        _close(a, b, f"step {k} ({kind})", loose)
        if isinstance(a, _Err) and a.type != b.type:
            notes.append(f"step {k} ({kind}): torch {a!r} vs chainrule {b!r}")
    assert len(t.final) == len(c.final), "number of slots differs"
    for i, (a, b) in enumerate(zip(t.final, c.final)):
        _close(a, b, f"final value of slot {i}", loose)
    assert t.flags == c.flags, f"(requires_grad, is_leaf, dtype): torch {t.flags} vs {c.flags}"
    te, ce = t.backward_error, c.backward_error
    if te is not None and ce is None and any(m in te.msg for m in _TORCH_BACKWARD_BUGS):
        # PyTorch saved a tensor that chainrule's rule does not read (the accepted kind of
        # difference of tests/ops/known_inplace_differences.py, TORCH_RAISES), or its
        # backward formula fails on an integer or bool operand that needs no gradient
        notes.append(f"backward: torch raises {te!r}, chainrule runs")
        return notes
    if ce is not None and te is None and "not implemented in chainrule" in ce.msg:
        notes.append(f"backward: chainrule's documented limitation {ce!r}")
        return notes
    if te is not None or ce is not None:
        _close(t.backward_error, c.backward_error, "backward")
        if t.backward_error.type != c.backward_error.type:
            notes.append(f"backward: torch {t.backward_error!r} vs cr {c.backward_error!r}")
        return notes
    assert len(t.grads) == len(c.grads)
    for i, (a, b) in enumerate(zip(t.grads, c.grads)):
        # float32 gradients of gradients cancel: both libraries are off by ~1e-5 there; so
        # do float64 ones, by less: a second derivative that is exactly 0 (batch_norm's of a
        # per-channel shift of its input) comes out as rounding residues of ~1e-9 in each
        second = t.double and i >= len(t.grads) // 2
        _close(a, b, f"gradient {i}", (5e-3 if loose else 1e-8) if second else loose)
    return notes
