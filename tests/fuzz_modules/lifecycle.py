"""The module life-cycle check of the nn-module fuzzer (session 37): a drawn construction
(:class:`~.case.Case` with ``life=True``) taken through what a training script does with a
module besides one forward -- switching between train and eval mode (every submodule's
``training`` flag, the outputs in each mode: BatchNorm's running statistics updated by the
train-mode call and used by the eval-mode one), a ``state_dict`` round trip into a second
module built with other initial values (``load_state_dict``'s missing and unexpected keys,
strict and not, and the outputs after loading), and hooks (a forward pre-hook that changes
the input, a forward hook that changes the output, a full backward hook that sees the
gradients of the outputs; then removed).

As :func:`~.case.observe`: torch's state after construction is copied into chainrule's
module first, so the two start from the same values; errors are compared by stage and type.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .case import (
    Case,
    _arr,
    _cmp,
    _err,
    _flat,
    _make_input,
    _random_output,
    _uninitialized,
    _value,
)

__all__ = ["check_lifecycle", "observe_lifecycle"]


def _build(lib: Any, case: Case, seed: int) -> Any:
    lib.manual_seed(seed)
    args = tuple(_value(lib, v) for v in case.args)
    kwargs = {k: _value(lib, v) for k, v in case.kwargs}
    return getattr(lib.nn, case.name)(*args, **kwargs)


def _inputs(lib: Any, case: Case) -> list:
    rng = np.random.default_rng(case.seed)
    return [_make_input(lib, s, rng) for s in case.inputs]


def _tensors(out: Any) -> list:
    return [o for o in _flat(out) if hasattr(o, "shape")]


def _forward(lib: Any, case: Case, m: Any, stage: str, random: bool) -> tuple:
    """``m``'s outputs on the case's inputs: the trace entry (shapes, and values unless
    ``random``) and the output tensors (None on error)."""
    try:
        outs = _tensors(m(*_inputs(lib, case)))
    except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
        return _err(stage, exc), None
    shapes = [(tuple(o.shape), str(o.dtype).rsplit(".", 1)[-1]) for o in outs]
    return (stage, shapes, None if random else [_arr(o) for o in outs]), outs


def _modes(m: Any) -> tuple:
    return ("modes", [(n, bool(s.training)) for n, s in m.named_modules()])


def _copy_state(lib: Any, m: Any, values: dict) -> None:
    with lib.no_grad():
        for n, t in list(m.named_parameters()) + list(m.named_buffers()):
            if n in values and tuple(values[n].shape) == tuple(t.shape):
                t.copy_(lib.tensor(values[n]).to(t.dtype))


def _state(m: Any) -> dict:
    return {
        k: np.array(v.tolist())
        for k, v in m.state_dict().items()
        if v is not None and not _uninitialized(v)
    }


def _hooks(lib: Any, case: Case, m: Any, trace: list) -> None:
    """A pre-hook doubling the floating inputs, a forward hook tripling the tensor output,
    a full backward hook recording the output gradients' shapes; then all removed."""
    seen: list = []

    def pre(mod: Any, args: tuple) -> tuple:
        return tuple(a * 2 if hasattr(a, "is_floating_point") and a.is_floating_point() else a
                     for a in args)  # fmt: skip

    def post(mod: Any, args: tuple, out: Any) -> Any:
        return out * 3 if hasattr(out, "shape") and out.is_floating_point() else out

    def back(mod: Any, grad_in: tuple, grad_out: tuple) -> None:
        seen.append([None if g is None else tuple(g.shape) for g in grad_out])

    handles = [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        handles.append(m.register_full_backward_hook(back))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("register", exc))
        return
    entry, outs = _forward(lib, case, m, "hooked", False)
    trace.append(entry)
    if outs:
        grads = [o for o in outs if o.requires_grad and o.dtype == lib.float64]
        if grads:
            try:
                sum((o * 0.5).sum() for o in grads).backward()
            except Exception as exc:  # noqa: BLE001
                trace.append(_err("hooked backward", exc))
        trace.append(("backward hook", seen))
    for h in handles:
        h.remove()
    trace.append(_forward(lib, case, m, "unhooked", False)[0])


def observe_lifecycle(lib: Any, case: Case, values: dict | None = None) -> tuple[list, dict]:
    """Run ``case``'s life cycle with ``lib``: its trace and the state after construction
    (``values``: torch's, copied into the module first)."""
    trace: list = []
    rand = _random_output(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = _build(lib, case, case.seed)
        except Exception as exc:  # noqa: BLE001
            return [_err("ctor", exc)], {}
        state = _state(m)
        if values is not None:
            _copy_state(lib, m, values)
        m.double()
        m.train()
        trace.append(_modes(m))
        trace.append(_forward(lib, case, m, "train", rand)[0])
        trace.append(("after train", [(n, _arr(b)) for n, b in m.named_buffers()]))
        m.eval()
        trace.append(_modes(m))
        trace.append(_forward(lib, case, m, "eval", False)[0])
        sd = m.state_dict()
        # (a lazy module whose calls all failed keeps uninitialized parameters, which have
        # no values to read: seed 58, LazyLinear(1e30))
        vals = [
            "uninitialized" if type(v).__name__.startswith("Uninitialized") else _arr(v)
            for _, v in sorted(sd.items())
        ]
        trace.append(("state_dict", sorted(sd), vals))
        try:
            m2 = _build(lib, case, case.seed + 5).double()
            if case.name.startswith("Lazy"):
                # materialised by a call first: PyTorch's lazy module of no parameters (a
                # LazyInstanceNorm1d without affine) loaded from a state_dict keeps
                # num_features=0 and its forward then fails (a torch quirk)
                m2(*_inputs(lib, case))
            res = m2.load_state_dict(sd)
            trace.append(("load", sorted(res.missing_keys), sorted(res.unexpected_keys)))
            m2.eval()
            trace.append(_forward(lib, case, m2, "loaded eval", False)[0])
            part = dict(list(sd.items())[1:])
            part["bogus.weight"] = lib.zeros(1)
            res = m2.load_state_dict(part, strict=False)
            trace.append(("partial", sorted(res.missing_keys), sorted(res.unexpected_keys)))
            try:
                m2.load_state_dict(part)
                trace.append(("strict", "loaded"))
            except Exception as exc:  # noqa: BLE001
                trace.append(("strict", type(exc).__name__))
        except Exception as exc:  # noqa: BLE001
            trace.append(_err("round trip", exc))
        _hooks(lib, case, m, trace)
    return trace, state


def check_lifecycle(case: Case) -> list[str]:
    """[] if torch and chainrule agree on ``case``'s life cycle, else the differences."""
    ref, values = observe_lifecycle(torch, case)
    got, _ = observe_lifecycle(cr, case, values)
    if got[0][:2] == ("error", "ctor") and any(e[0] == "error" for e in ref):
        # chainrule checks at construction what PyTorch checks when called (a loss's
        # reduction, ...): programs._known_difference's first case
        return []
    hooked = [e for e in ref if e[0] == "hooked"]
    if hooked and hooked[0][1] and all(0 in shape for shape, _ in hooked[0][1]):
        # an empty output: PyTorch's backward of the pools fails, chainrule's gives the zero
        # gradient (programs._known_difference's second case): the backward not compared
        ref, got = ([e for e in tr if e[0] != "backward hook" and e[1:2] != ("hooked backward",)]
                    for tr in (ref, got))  # fmt: skip
    out: list[str] = []
    for a, b in zip(ref, got):
        if a[0] == "error" or b[0] == "error":
            if a[0] != b[0]:
                out.append(f"torch {a[:4]!r:.200} vs chainrule {b[:4]!r:.300}")
            elif a[1] != b[1] or a[2] not in b[4]:
                out.append(f"error: torch {a[1:4]!r} vs chainrule {b[1:4]!r}")
            if out:
                return out
            continue
        _cmp(a[1:], b[1:], a[0], out)
        if out:
            return out
    if len(ref) != len(got):
        out.append(f"trace length {len(ref)} vs {len(got)}")
    return out
