"""The module-handling check of the nn-module fuzzer (session 40), run on the cases drawn
with ``utils=True`` after :mod:`.utils_s38`'s: what a script does with a module object
besides training it -- ``copy.deepcopy`` (the copy's outputs, and the original unchanged
after the copy's parameters are written), ``requires_grad_(False)`` (the output no longer
requires grad; a parameter's grad stays None), ``apply`` (the visited modules' class names,
in order, and halving every floating parameter), ``named_modules``/``named_parameters``/
``named_buffers`` with a ``prefix``, ``get_submodule``/``get_parameter``/``get_buffer``,
``state_dict(keep_vars=True)`` (Parameters kept), a non-persistent buffer (not in the
state_dict), ``load_state_dict(assign=True)`` (the loaded tensors are the module's), a
``float()`` / ``double()`` round trip, ``nn.utils.get_total_norm`` and
``clip_grads_with_norm_``, and, for a Linear or Conv, ``fuse_linear_bn_eval`` /
``fuse_conv_bn_eval`` with a BatchNorm of matching features (the fused module's output
against the two in sequence).

As :mod:`.utils_s38`: torch's state after construction is copied into chainrule's module
first; float64, eval mode; errors are compared by stage and type.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import torch

import chainrule as cr

from .case import Case, _arr, _err, _uninitialized
from .lifecycle import _build, _copy_state, _forward, _inputs, _tensors
from .utils_s38 import _backward, _compare, _state_values

__all__ = ["check_utils_s40", "observe_utils_s40"]


def _deepcopy(lib: Any, case: Case, m: Any, trace: list) -> None:
    try:
        m2 = copy.deepcopy(m)
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("deepcopy", exc))
        return
    trace.append(_forward(lib, case, m2, "copy", False)[0])
    with lib.no_grad():
        for p in m2.parameters():
            p.mul_(0.5)
    trace.append(_forward(lib, case, m, "original", False)[0])
    same = [a is b for a, b in zip(m.parameters(), m2.parameters())]
    trace.append(("copy shares", same))


def _names(lib: Any, m: Any, trace: list) -> None:
    trace.append(("modules", [(n, type(s).__name__) for n, s in m.named_modules(prefix="top")]))
    trace.append(("params", [n for n, _ in m.named_parameters(prefix="p")]))
    trace.append(("buffers", [n for n, _ in m.named_buffers(prefix="b", recurse=True)]))
    for n, _ in list(m.named_parameters())[:2]:
        try:
            p = m.get_parameter(n)
            # (a lazy module's parameter before its first call: torch refuses to read it)
            trace.append(("get_parameter", n, None if _uninitialized(p) else _arr(p)))
        except Exception as exc:  # noqa: BLE001
            trace.append(_err("get_parameter", exc))
    for n, _ in list(m.named_buffers())[:1]:
        trace.append(("get_buffer", n, _arr(m.get_buffer(n))))
    for n, _ in list(m.named_modules())[1:3]:
        trace.append(("get_submodule", n, type(m.get_submodule(n)).__name__))
    try:
        m.get_submodule("no_such_module")
        trace.append(("missing submodule", "found"))
    except Exception as exc:  # noqa: BLE001
        trace.append(("missing submodule", type(exc).__name__))


def _no_grad_params(lib: Any, case: Case, m: Any, trace: list) -> None:
    m.requires_grad_(False)
    try:
        outs = _tensors(m(*[x.detach() if hasattr(x, "detach") else x for x in _inputs(lib, case)]))
        trace.append(("frozen", [bool(o.requires_grad) for o in outs]))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("frozen", exc))
    trace.append(("frozen params", [bool(p.requires_grad) for p in m.parameters()]))
    m.requires_grad_(True)


def _apply(lib: Any, case: Case, m: Any, trace: list) -> None:
    seen: list = []

    def fn(mod: Any) -> None:
        seen.append(type(mod).__name__)
        with lib.no_grad():
            for p in mod.parameters(recurse=False):
                if p.is_floating_point():
                    p.mul_(0.5)

    out = m.apply(fn)
    trace.append(("apply", seen, out is m))
    trace.append(_forward(lib, case, m, "applied", False)[0])


def _state_dicts(lib: Any, case: Case, m: Any, trace: list) -> None:
    sd = m.state_dict(keep_vars=True)
    trace.append(
        ("keep_vars", [(k, type(v).__name__, bool(v.requires_grad)) for k, v in sd.items()])
    )
    m.register_buffer("extra_s40", lib.ones(2, dtype=lib.float64), persistent=False)
    trace.append(
        ("non-persistent", "extra_s40" in m.state_dict(), "extra_s40" in dict(m.named_buffers()))
    )
    plain = {k: v.detach().clone() * 1.0 if v.is_floating_point() else v.clone()
             for k, v in m.state_dict().items()}  # fmt: skip
    try:
        res = m.load_state_dict(plain, assign=True)
        trace.append(("assign", sorted(res.missing_keys), sorted(res.unexpected_keys)))
        mine = dict(m.named_parameters())
        mine.update(dict(m.named_buffers()))
        kept = [k for k, v in plain.items() if k in mine and mine[k].data_ptr() == v.data_ptr()]
        trace.append(("assigned", kept))
        trace.append(("assigned types", [type(p).__name__ for p in m.parameters()]))
        trace.append(_forward(lib, case, m, "assigned forward", False)[0])
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("assign", exc))


def _round_trip(lib: Any, case: Case, m: Any, trace: list) -> None:
    m.float()
    trace.append(("float", [str(p.dtype).rsplit(".", 1)[-1] for p in m.parameters()]))
    m.double()
    trace.append(_forward(lib, case, m, "round trip", False)[0])


def _norms(lib: Any, case: Case, m: Any, trace: list) -> None:
    U = lib.nn.utils
    if not hasattr(U, "get_total_norm"):
        return
    entry = _backward(lib, case, m, "backward")
    trace.append(entry)
    grads = [p.grad for p in m.parameters() if p.grad is not None]
    if not grads:
        return
    try:
        total = U.get_total_norm(grads, norm_type=(2.0, 1.0, 3.0)[case.seed % 3])
        trace.append(("total norm", _arr(total)))
        U.clip_grads_with_norm_(list(m.parameters()), 0.25, total)
        trace.append(("clipped", [_arr(p.grad) for p in m.parameters() if p.grad is not None]))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("norms", exc))


def _fuse(lib: Any, case: Case, m: Any, trace: list) -> None:
    U = lib.nn.utils
    if type(m).__name__ == "Linear":
        bn = lib.nn.BatchNorm1d(m.out_features).double().eval()
        fuse = U.fuse_linear_bn_eval
    elif type(m).__name__ in ("Conv1d", "Conv2d", "Conv3d") and isinstance(m.padding, tuple):
        d = int(type(m).__name__[4])
        bn = getattr(lib.nn, f"BatchNorm{d}d")(m.out_channels).double().eval()
        fuse = U.fuse_conv_bn_eval
    else:
        return
    with lib.no_grad():
        n = bn.num_features
        bn.running_mean.copy_(lib.arange(n, dtype=lib.float64) * 0.1)
        bn.running_var.copy_(lib.arange(n, dtype=lib.float64) * 0.2 + 0.5)
        bn.weight.copy_(lib.arange(n, dtype=lib.float64) * -0.3 + 1.0)
        bn.bias.copy_(lib.arange(n, dtype=lib.float64) * 0.25)
    try:
        fused = fuse(m, bn)
        trace.append(("fused", type(fused).__name__, fused is m))
        trace.append(_forward(lib, case, fused, "fused forward", False)[0])
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("fuse", exc))


def observe_utils_s40(lib: Any, case: Case, values: dict | None = None) -> list:
    """Run ``case``'s module-handling check with ``lib``: its trace (``values``: torch's
    state after construction, copied into the module first)."""
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
            # materialised by a first call (an uninitialized parameter or buffer cannot be
            # read, cloned or loaded: torch raises where the check reads it)
            entry = _forward(lib, case, m, "materialise", False)[0]
            trace.append(entry)
            if entry[0] == "error":
                return trace
        _names(lib, m, trace)
        _deepcopy(lib, case, m, trace)
        _no_grad_params(lib, case, m, trace)
        _fuse(lib, case, m, trace)
        _apply(lib, case, m, trace)
        _round_trip(lib, case, m, trace)
        _norms(lib, case, m, trace)
        _state_dicts(lib, case, m, trace)
    return trace


def check_utils_s40(case: Case) -> list[str]:
    """[] if torch and chainrule agree on ``case``'s module-handling check, else the
    differences."""
    ref = observe_utils_s40(torch, case)
    got = observe_utils_s40(cr, case, _state_values(case))
    return _compare(ref, got)
