"""The functional and hook check of the nn-module fuzzer (session 41), run on the cases
drawn with ``utils=True`` after :mod:`.utils_s40`'s: what a script does with a module
object through ``torch.func`` and the less common hooks -- ``func.functional_call`` with
halved parameters (a dict, and a (parameters, buffers) pair; ``strict=True`` with a key
missing), ``func.stack_module_state`` of two copies and ``vmap`` of ``functional_call``
over them (the model-ensembling idiom), the state_dict hooks
(``register_state_dict_pre_hook``/``post_hook`` and the ``load_state_dict`` pre- and
post-hooks: which ran, with which prefix and keys; ``state_dict(prefix=)``), forward hooks
with ``with_kwargs=True``, ``prepend=True`` and ``always_call=True`` (their order), a
``register_full_backward_pre_hook`` that doubles the output gradient (the parameters'
gradients), and the old ``nn.utils.weight_norm`` / ``remove_weight_norm`` pair.

As :mod:`.utils_s38`: torch's state after construction is copied into chainrule's module
first; float64, eval mode; errors are compared by stage and type.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import torch

import chainrule as cr

from .case import Case, _arr, _err
from .lifecycle import _build, _copy_state, _forward, _inputs, _tensors
from .utils_s38 import _backward, _compare, _state_values

__all__ = ["check_utils_s41", "observe_utils_s41"]


def _outs(out: Any) -> list:
    return [_arr(o) for o in _tensors(out)]


def _functional(lib: Any, case: Case, m: Any, trace: list) -> None:
    """``functional_call`` with the parameters halved (the module's own unchanged), then
    with a (parameters, buffers) pair, then strict with the first parameter missing."""
    fc = lib.func.functional_call
    params = {k: v.detach() * 0.5 for k, v in m.named_parameters()}
    buffers = {k: v for k, v in m.named_buffers()}
    try:
        trace.append(("fcall", _outs(fc(m, params, tuple(_inputs(lib, case))))))
        trace.append(("fcall pair", _outs(fc(m, (params, buffers), tuple(_inputs(lib, case))))))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("fcall", exc))
        return
    trace.append(_forward(lib, case, m, "after fcall", False)[0])
    if params:
        part = dict(list(params.items())[1:])
        try:
            fc(m, part, tuple(_inputs(lib, case)), strict=True)
            trace.append(("fcall strict", "ran"))
        except Exception as exc:  # noqa: BLE001
            trace.append(("fcall strict", type(exc).__name__))


# torch has no batching rule for these (its vmap fails: "Batching rule not implemented for
# aten::rnn_tanh.input", aten::lstm_cell, ...; AdaptiveLogSoftmaxWithLoss's index_copy_ "is
# not possible"), where chainrule's vmap runs them: not compared
_NO_ENSEMBLE = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
                "AdaptiveLogSoftmaxWithLoss")  # fmt: skip
# chainrule's Tensor.view of a batched tensor fails under vmap (its layout probe reads the
# raw array; reported, test_found_cases_s41.py, xfail): instance norm views its input
_VIEW_UNDER_VMAP = ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d",
                    "LazyInstanceNorm2d", "LazyInstanceNorm3d")  # fmt: skip


def _ensemble(lib: Any, case: Case, m: Any, trace: list) -> None:
    """Two copies (the second's parameters scaled by 0.75) stacked by ``stack_module_state``
    and run by ``vmap`` over ``functional_call`` (the inputs shared)."""
    if not list(m.parameters()) or case.name in _NO_ENSEMBLE + _VIEW_UNDER_VMAP:
        return
    kw = dict(case.kwargs)
    if kw.get("max_norm") is not None or (case.name == "EmbeddingBag" and kw.get("mode") == "max"):
        # (not an embedding with max_norm: its in-place renormalisation of a weight
        # batched by vmap, nor EmbeddingBag's max, whose argmax plan indexes the weight's
        # raw array: known gaps of chainrule, test_found_cases_s41.py, xfail)
        return
    m2 = copy.deepcopy(m)
    with lib.no_grad():
        for p in m2.parameters():
            p.mul_(0.75)
    try:
        params, buffers = lib.func.stack_module_state([m, m2])
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("stack", exc))
        return
    trace.append(("stacked", sorted((k, tuple(v.shape)) for k, v in params.items())))
    base = copy.deepcopy(m)
    inputs = tuple(_inputs(lib, case))

    def run(p: dict, b: dict) -> Any:
        out = lib.func.functional_call(base, (p, b), inputs)
        return tuple(_tensors(out))

    try:
        outs = lib.vmap(run, in_dims=(0, 0))(params, buffers)
        trace.append(("ensemble", [_arr(o) for o in outs]))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("ensemble", exc))


def _state_hooks(lib: Any, case: Case, m: Any, trace: list) -> None:
    """The state_dict and load_state_dict hooks: their calls (prefix, sorted keys)."""
    calls: list = []

    def pre(mod: Any, prefix: str, keep_vars: bool) -> None:
        calls.append(("pre", prefix, keep_vars))

    def post(mod: Any, sd: Any, prefix: str, meta: Any) -> None:
        calls.append(("post", prefix, sorted(sd)))

    def load_pre(mod: Any, sd: Any, prefix: str, meta: Any, strict: bool, *rest: Any) -> None:
        calls.append(("load pre", prefix, sorted(sd), strict))

    def load_post(mod: Any, keys: Any) -> None:
        calls.append(("load post", sorted(keys.missing_keys), sorted(keys.unexpected_keys)))

    try:
        handles = [
            m.register_state_dict_pre_hook(pre),
            m.register_state_dict_post_hook(post),
            m.register_load_state_dict_pre_hook(load_pre),
            m.register_load_state_dict_post_hook(load_post),
        ]
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("state hooks", exc))
        return
    sd = m.state_dict(prefix="top.")
    trace.append(("prefixed", sorted(sd)))
    plain = {k[len("top.") :]: v for k, v in sd.items()}
    plain.pop(next(iter(plain), None), None)  # one key missing: seen by the post-hook
    try:
        res = m.load_state_dict(plain, strict=False)
        trace.append(("loaded", sorted(res.missing_keys), sorted(res.unexpected_keys)))
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("hooked load", exc))
    for h in handles:
        h.remove()
    m.state_dict()
    trace.append(("state hook calls", calls))


def _forward_hooks(lib: Any, case: Case, m: Any, trace: list) -> None:
    """Forward hooks with ``with_kwargs``, ``prepend`` and ``always_call`` (the order they
    ran in) and a full backward pre-hook doubling the output gradients."""
    order: list = []

    def pre_kw(mod: Any, args: tuple, kwargs: dict) -> tuple:
        order.append(("pre_kw", sorted(kwargs)))
        return tuple(a * 1.5 if _floating(a) else a for a in args), kwargs

    def first(mod: Any, args: tuple, out: Any) -> None:
        order.append("first")

    def second(mod: Any, args: tuple, out: Any) -> Any:
        order.append("prepended")
        return out * 2 if _floating(out) else out

    def always(mod: Any, args: tuple, kwargs: dict, out: Any) -> None:
        order.append(("always", sorted(kwargs)))

    def back_pre(mod: Any, grad_out: tuple) -> tuple:
        order.append(("back pre", [None if g is None else tuple(g.shape) for g in grad_out]))
        return tuple(None if g is None else g * 2 for g in grad_out)

    if dict(case.kwargs).get("inplace"):
        # torch refuses an in-place module under a full backward hook ("Output 0 of
        # BackwardHookFunction is a view and is being modified inplace"); chainrule's hook
        # nodes are no views and it runs (reported): not compared
        return
    try:
        handles = [
            m.register_forward_pre_hook(pre_kw, with_kwargs=True),
            m.register_forward_hook(first),
            m.register_forward_hook(second, prepend=True),
            m.register_forward_hook(always, with_kwargs=True, always_call=True),
            m.register_full_backward_pre_hook(back_pre),
        ]
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("forward hooks", exc))
        return
    entry = _forward(lib, case, m, "hooked", False)[0]
    trace.append(entry)
    if _grads_compared(case, entry):
        trace.append(_backward(lib, case, m, "hooked backward"))
    for h in handles:
        h.remove()
    trace.append(("hook order", order))


def _grads_compared(case: Case, entry: tuple) -> bool:
    """Whether the parameters' gradients are compared after the forward ``entry``: not
    for an empty output (torch's pooling backward refuses one, chainrule's gives zeros:
    programs._known_difference) nor for EmbeddingBag's scale_grad_by_freq (torch's CPU
    kernel divides by the wrong index's count: case._torch_grad_undefined)."""
    if entry[0] == "error" or any(0 in shape for shape, _ in entry[1]):
        return False
    kw = dict(case.kwargs)
    return not (case.name == "EmbeddingBag" and kw.get("scale_grad_by_freq"))


def _floating(t: Any) -> bool:
    return hasattr(t, "is_floating_point") and t.is_floating_point()


def _old_weight_norm(lib: Any, case: Case, m: Any, trace: list) -> None:
    """The deprecated ``nn.utils.weight_norm`` (``weight_g``/``weight_v``) and its removal."""
    w = getattr(m, "weight", None)
    if not isinstance(w, lib.nn.Parameter) or w.dim() == 0 or w.numel() == 0:
        # (not an empty weight: torch's norm_except_dim views it as (0, -1) and fails,
        # "cannot reshape tensor of 0 elements", chainrule's takes the norm of nothing)
        return
    U = lib.nn.utils
    try:
        U.weight_norm(m, name="weight", dim=(0, None, -1)[case.seed % 3])
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("weight_norm", exc))
        return
    trace.append(("old wn params", sorted(n for n, _ in m.named_parameters())))
    entry = _forward(lib, case, m, "old weight normed", False)[0]
    trace.append(entry)
    if _grads_compared(case, entry):
        trace.append(_backward(lib, case, m, "old wn backward"))
    try:
        U.remove_weight_norm(m, name="weight")
        trace.append(("removed", sorted(n for n, _ in m.named_parameters())))
        trace.append(_forward(lib, case, m, "wn removed", False)[0])
    except Exception as exc:  # noqa: BLE001
        trace.append(_err("remove_weight_norm", exc))


def observe_utils_s41(lib: Any, case: Case, values: dict | None = None) -> list:
    """Run ``case``'s functional and hook check with ``lib``: its trace (``values``: torch's
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
            entry = _forward(lib, case, m, "materialise", False)[0]
            trace.append(entry)
            if entry[0] == "error":
                return trace
        _functional(lib, case, m, trace)
        _ensemble(lib, case, m, trace)
        _state_hooks(lib, case, m, trace)
        _forward_hooks(lib, case, m, trace)
        _old_weight_norm(lib, case, m, trace)
    return trace


def check_utils_s41(case: Case) -> list[str]:
    """[] if torch and chainrule agree on ``case``'s functional and hook check, else the
    differences."""
    ref = observe_utils_s41(torch, case)
    got = observe_utils_s41(cr, case, _state_values(case))
    return _compare(ref, got)
