"""The parametrization, serialization and gradient-clipping check of the nn-module fuzzer
(session 42), run on the cases drawn with ``utils=True`` after :mod:`.utils_s41`'s: the
``nn.utils.parametrizations.spectral_norm`` of a module's weight (its power iteration seeded
by ``manual_seed``: chainrule's generator mirrors torch's; the output in train mode, then in
eval mode, and the ``parametrizations.weight.original`` state), ``orthogonal`` of a matrix
weight (each ``orthogonal_map``) then ``remove_parametrizations`` keeping the parametrized
value, a ``save``/``load`` round trip of the state_dict through a buffer into a module built
with another seed (``weights_only=True``), ``to_empty`` of a copy then ``load_state_dict``,
``clip_grad_value_`` and ``clip_grad_norm_`` with an ``inf``/1/2 norm (the total and the
clipped gradients), and a global forward hook (``register_module_forward_hook``) counting
the calls of every submodule.

As :mod:`.utils_s38`: torch's state after construction is copied into chainrule's module
first; float64, eval mode unless said; errors are compared by stage and type.
"""

from __future__ import annotations

import copy
import io
import math
import warnings
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .case import Case, _arr, _err
from .lifecycle import _build, _copy_state, _forward
from .utils_s38 import _backward, _compare, _grads, _state_values

__all__ = ["check_utils_s42", "observe_utils_s42"]


def _weight(lib: Any, m: Any) -> Any:
    """The module's own ``weight`` Parameter when it is floating and not empty, else None."""
    w = getattr(m, "weight", None)
    if not isinstance(w, lib.nn.Parameter) or w.dim() == 0 or w.numel() == 0:
        return None
    return w if w.is_floating_point() else None


def _spectral(lib: Any, case: Case, m: Any, trace: list) -> None:
    """``parametrizations.spectral_norm`` of the weight: a train-mode forward (one power
    iteration per call), then eval mode (the stored vectors), the state_dict's keys."""
    if _weight(lib, m) is None:
        return
    m = copy.deepcopy(m)
    P = lib.nn.utils.parametrizations
    lib.manual_seed(case.seed)
    try:
        P.spectral_norm(m, n_power_iterations=1 + case.seed % 2, eps=1e-12)
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("spectral_norm", exc))
        return
    trace.append(("sn keys", sorted(m.state_dict())))
    m.train()
    trace.append(_forward(lib, case, m, "sn train", False)[0])
    m.eval()
    trace.append(_forward(lib, case, m, "sn eval", False)[0])
    trace.append(("sn weight", _arr(m.weight)))


def _orthogonal(lib: Any, case: Case, m: Any, trace: list) -> None:
    """``parametrizations.orthogonal`` of a matrix weight, then its removal."""
    w = _weight(lib, m)
    if w is None or w.dim() != 2:
        return
    if np.linalg.matrix_rank(_arr(w)) < min(w.shape):
        # a rank-deficient weight (RMSNorm's ones, seed 55): torch's _make_orthogonal scales
        # Q's columns by sgn(diag R), 0 there, so its "orthogonal" weight has zero columns;
        # chainrule's takes +1 there (an orthogonal matrix). A torch quirk, not mirrored
        return
    if getattr(m, "max_norm", None) == 1.0:
        # an orthogonal row's norm is 1 give or take an ulp, so whether Embedding's renorm
        # (max_norm / (norm + 1e-7)) applies is rounding (seed 55: 1e-7 relative)
        return
    m = copy.deepcopy(m)
    P, U = lib.nn.utils.parametrizations, lib.nn.utils.parametrize
    kind = ("matrix_exp", "cayley", "householder")[case.seed % 3]
    try:
        P.orthogonal(m, orthogonal_map=kind, use_trivialization=bool(case.seed // 3 % 2))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("orthogonal", exc))
        return
    q = m.weight
    trace.append(("orth", _arr(q), sorted(n for n, _ in m.named_parameters())))
    trace.append(_forward(lib, case, m, "orth forward", False)[0])
    try:
        U.remove_parametrizations(m, "weight", leave_parametrized=True)
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("remove orth", exc))
        return
    trace.append(("orth removed", _arr(m.weight), U.is_parametrized(m)))


def _save_load(lib: Any, case: Case, m: Any, trace: list) -> None:
    """The state_dict saved to a buffer and loaded (weights only) into another module."""
    buf = io.BytesIO()
    try:
        lib.save(m.state_dict(), buf)
        buf.seek(0)
        sd = lib.load(buf, weights_only=True)
        other = _build(lib, case, case.seed + 1).double().eval()
        res = other.load_state_dict(sd)
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("save/load", exc))
        return
    trace.append(("loaded keys", sorted(sd), sorted(res.missing_keys)))
    trace.append(_forward(lib, case, other, "after load", False)[0])
    try:
        empty = copy.deepcopy(m).to_empty(device="cpu")
        empty.load_state_dict(m.state_dict())
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("to_empty", exc))
        return
    trace.append(_forward(lib, case, empty, "to_empty loaded", False)[0])


def _clip(lib: Any, case: Case, m: Any, trace: list) -> None:
    """``clip_grad_value_`` then ``clip_grad_norm_`` of the parameters' gradients."""
    entry = _backward(lib, case, m, "clip backward")
    trace.append(entry)
    if entry[0] == "error" or entry[1] == "no grad":
        return
    U = lib.nn.utils
    params = [p for p in m.parameters() if p.grad is not None]
    if not params:
        # (torch 2.13's clip_grad_value_ of an empty list fails inside its foreach kernel,
        # "Expected !nested_tensorlist[0].empty()", an internal check; chainrule clips
        # nothing: not mirrored)
        return
    try:
        U.clip_grad_value_(params, 0.05 + 0.05 * (case.seed % 3))
        trace.append(("clipped value", _grads(m)))
        norm_type = (math.inf, 1.0, 2.0)[case.seed % 3]
        total = U.clip_grad_norm_(params, 0.1, norm_type=norm_type, foreach=None)
        trace.append(("clip norm", _arr(total), _grads(m)))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("clip", exc))


def _global_hook(lib: Any, case: Case, m: Any, trace: list) -> None:
    """A global forward hook: the submodules that ran, by class name, in order."""
    calls: list = []
    register = lib.nn.modules.module.register_module_forward_hook
    handle = register(lambda mod, args, out: calls.append(type(mod).__name__))
    try:
        trace.append(_forward(lib, case, m, "global hooked", False)[0])
    finally:
        handle.remove()
    trace.append(("global calls", calls))
    trace.append(_forward(lib, case, m, "global removed", False)[0])
    trace.append(("after removal", len(calls)))


def observe_utils_s42(lib: Any, case: Case, values: dict | None = None) -> list:
    """Run ``case``'s parametrization and serialization check with ``lib``: its trace
    (``values``: torch's state after construction, copied into the module first)."""
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
        if case.name.startswith("Lazy"):
            entry = _forward(lib, case, m, "materialise", False)[0]
            trace.append(entry)
            if entry[0] == "error":
                return trace
        _global_hook(lib, case, m, trace)
        _spectral(lib, case, m, trace)
        _orthogonal(lib, case, m, trace)
        _save_load(lib, case, m, trace)
        _clip(lib, case, m, trace)
    return trace


def check_utils_s42(case: Case) -> list[str]:
    """[] if torch and chainrule agree on ``case``'s parametrization and serialization
    check, else the differences."""
    ref = observe_utils_s42(torch, case)
    got = observe_utils_s42(cr, case, _state_values(case))
    return _compare(ref, got)
