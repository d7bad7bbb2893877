"""The ``nn.utils`` check of the nn-module fuzzer (session 38): a drawn construction
(:class:`~.case.Case` with ``utils=True``) taken through what a training script does with
its parameters -- a backward, then ``clip_grad_norm_`` (``norm_type`` 2, 1 or inf, the total
norm it returns and the clipped gradients), ``clip_grad_value_``,
``parameters_to_vector`` / ``vector_to_parameters`` (the outputs after writing the halved
vector back), ``parametrizations.weight_norm`` on ``weight`` (the state_dict keys, the
outputs, the gradients of ``original0``/``original1``) and a user parametrization through
``parametrize.register_parametrization`` (then ``remove_parametrizations`` keeping the
parametrized value).

As :func:`~.lifecycle.observe_lifecycle`: torch's state after construction is copied into
chainrule's module first; the module runs in eval mode (no dropout, running statistics
used), in float64; errors are compared by stage and type.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

import chainrule as cr

from .case import Case, _arr, _cmp, _err
from .lifecycle import _build, _copy_state, _forward, _inputs, _state, _tensors

__all__ = ["check_utils", "observe_utils"]


def _backward(lib: Any, case: Case, m: Any, stage: str) -> tuple:
    """Zero the gradients, run a forward and backward of half the outputs' sum: the
    trace entry of the parameters' gradients (by name)."""
    m.zero_grad(set_to_none=True)
    try:
        outs = [o for o in _tensors(m(*_inputs(lib, case))) if o.requires_grad]
        if not outs:
            return (stage, "no grad")
        sum((o * 0.5).sum() for o in outs).backward()
    except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
        return _err(stage, exc)
    return (stage, [(n, None if p.grad is None else _arr(p.grad)) for n, p in m.named_parameters()])


def _grads(m: Any) -> list:
    return [(n, None if p.grad is None else _arr(p.grad)) for n, p in m.named_parameters()]


def _clip(lib: Any, case: Case, m: Any, trace: list) -> None:
    U = lib.nn.utils
    norm_type = (2.0, 1.0, math.inf)[case.seed % 3]
    trace.append(_backward(lib, case, m, "backward"))
    try:
        total = U.clip_grad_norm_(m.parameters(), max_norm=0.3, norm_type=norm_type)
        trace.append(("clip norm", _arr(total), _grads(m)))
        if any(p.grad is not None for p in m.parameters()):
            # torch 2.13's clip_grad_value_ over no gradient at all (no parameters, or none
            # reached by the backward) fails its own internal check ("Expected
            # !nested_tensorlist[0].empty() to be true", even with foreach=False: a torch
            # bug); chainrule does nothing, as torch's clip_grad_norm_ does. Steered around
            U.clip_grad_value_(m.parameters(), clip_value=0.01)
            trace.append(("clip value", _grads(m)))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("clip", exc))


def _vector(lib: Any, case: Case, m: Any, trace: list) -> None:
    U = lib.nn.utils
    params = list(m.parameters())
    if not params:
        return
    try:
        vec = U.parameters_to_vector(params)
        trace.append(("vector", _arr(vec)))
        with lib.no_grad():
            U.vector_to_parameters(vec * 0.5, params)
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("vector", exc))
        return
    trace.append(_forward(lib, case, m, "halved", False)[0])


def _weight_norm(lib: Any, case: Case, m: Any, trace: list) -> None:
    P = lib.nn.utils.parametrizations
    w = getattr(m, "weight", None)
    if not isinstance(w, lib.nn.Parameter) or w.dim() == 0:
        return  # weight_norm of a module without a weight raises in both: not the point
    try:
        P.weight_norm(m, name="weight", dim=0 if case.seed % 2 else None)
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("weight_norm", exc))
        return
    trace.append(("wn keys", sorted(m.state_dict())))
    trace.append(_forward(lib, case, m, "weight normed", False)[0])
    trace.append(_backward(lib, case, m, "wn backward"))


def _scale(lib: Any) -> Any:
    """A parametrization module of ``lib``: ``X * 1.5 + 0.1``."""

    class Scale(lib.nn.Module):
        def forward(self, x: Any) -> Any:
            return x * 1.5 + 0.1

    return Scale()


def _parametrize(lib: Any, case: Case, m: Any, trace: list) -> None:
    PZ = lib.nn.utils.parametrize
    names = [n for n, _ in m.named_parameters(recurse=False)]
    if not names:
        return
    name = names[case.seed % len(names)]
    try:
        PZ.register_parametrization(m, name, _scale(lib))
        trace.append(("parametrized", PZ.is_parametrized(m), PZ.is_parametrized(m, name)))
        trace.append(("pz keys", sorted(m.state_dict())))
        trace.append(_forward(lib, case, m, "parametrized", False)[0])
        with PZ.cached():
            trace.append(_forward(lib, case, m, "cached", False)[0])
        PZ.remove_parametrizations(m, name, leave_parametrized=bool(case.seed % 2))
        trace.append(("removed", PZ.is_parametrized(m), sorted(m.state_dict())))
        trace.append(_forward(lib, case, m, "unparametrized", False)[0])
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("parametrize", exc))


def observe_utils(lib: Any, case: Case, values: dict | None = None) -> list:
    """Run ``case``'s nn.utils check with ``lib``: its trace (``values``: torch's state
    after construction, copied into the module first)."""
    trace: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = _build(lib, case, case.seed)
        except Exception as exc:  # noqa: BLE001
            return [_err("ctor", exc)]
        if values is not None:
            _copy_state(lib, m, values)
        m.double().eval()
        _clip(lib, case, m, trace)
        _vector(lib, case, m, trace)
        if case.seed % 2:
            _weight_norm(lib, case, m, trace)
        else:
            _parametrize(lib, case, m, trace)
    return trace


def _state_values(case: Case) -> dict | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = _build(torch, case, case.seed)
        except Exception:  # noqa: BLE001 - the ctor error is in the trace
            return None
    return _state(m)


def check_utils(case: Case) -> list[str]:
    """[] if torch and chainrule agree on ``case``'s nn.utils check, else the differences."""
    return _compare(observe_utils(torch, case), observe_utils(cr, case, _state_values(case)))


def _compare(ref: list, got: list) -> list[str]:
    """The differences of chainrule's trace ``got`` from torch's ``ref`` (stage by stage,
    stopping at the first; errors by stage and type)."""
    if got[:1] and got[0][:2] == ("error", "ctor") and any(e[0] == "error" for e in ref):
        return []  # programs._known_difference's first case
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
        extra = (ref[len(got) :] or got[len(ref) :])[:1]
        out.append(f"trace length {len(ref)} vs {len(got)}: {extra!r:.300}")
    return out
