"""``Module.register_full_backward_hook``'s (and ``..._pre_hook``'s) machinery: identity nodes
wrapped around a module's inputs and outputs, whose backward rules see ``grad_output`` (where the
pre-hooks may replace it) and ``grad_input`` and call the hooks registered for every module
(``register_module_full_backward_*``) and then the module's own (PyTorch's ``BackwardHook``)."""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.view_base import record_view
from ..autograd.view_errors import CUSTOM_FUNCTION_VIEW
from ..backend import get_array_module
from ._forward_hooks import _global_backward_hooks, _global_backward_pre_hooks

__all__: list[str] = []

_OUTPUTS_ONLY = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
    "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details."
)


class _BackwardHookInput(Function):
    """Identity on a module's inputs that require grad; its backward sees grad_input and
    calls the hooks.

    As PyTorch's, ``grad_input`` has one entry per positional argument of the module: the
    gradient for an input that requires grad, zeros for another tensor, None for a
    non-tensor; a hook's replacement must have as many entries."""

    raw = True
    node_name = "BackwardHookFunctionBackward"  # PyTorch's (one Function for both ends)

    @staticmethod
    def forward(ctx, *xs, module, state):
        ctx.module, ctx.state = module, state
        return tuple(xs) if len(xs) > 1 else xs[0]

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        if state["grad_output"] is None:  # the outputs were not hooked (not a tuple)
            return tuple(grads)
        slots, where = state["arg_slots"], state["rg_positions"]
        full: list = [None if s is None else s() for s in slots]
        for pos, g in zip(where, grads):
            full[pos] = g
        grads_in = tuple(full)
        for hook in _backward_hooks(ctx.module):
            res = hook(ctx.module, grads_in, state["grad_output"])
            if res is None:
                continue
            if not isinstance(res, (tuple, list)) or len(res) != len(slots):
                got = len(res) if isinstance(res, (tuple, list)) else type(res).__name__
                raise RuntimeError(
                    "Backward hook returned an invalid number of grad_input, got "
                    f"{got}, but expected {len(slots)}"
                )
            grads_in = tuple(res)
        return tuple(grads_in[pos] for pos in where)


class _BackwardHookOutput(Function):
    """Identity on a module's outputs that require grad; its backward records grad_output
    (one entry per output, None for a non-tensor, a tensor without grad or an output that
    received no gradient, as PyTorch's) after the pre-hooks may have replaced it."""

    raw = True
    node_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, *ys, module, state, positions, n_outputs):
        ctx.module, ctx.state = module, state
        ctx.positions, ctx.n_outputs = positions, n_outputs
        ctx.set_materialize_grads(False)  # an unused output's grad_output is None
        return tuple(ys) if len(ys) > 1 else ys[0]

    @staticmethod
    def backward(ctx, *grads):
        full: list = [None] * ctx.n_outputs
        for pos, g in zip(ctx.positions, grads):
            full[pos] = g
        grads = tuple(full)
        own = ctx.module.__dict__.get("_backward_pre_hooks", {})
        for hook in [*_global_backward_pre_hooks.values(), *own.values()]:
            res = hook(ctx.module, grads)
            if res is None:
                continue
            if not isinstance(res, (tuple, list)) or len(res) != len(grads):
                got = len(res) if isinstance(res, (tuple, list)) else type(res).__name__
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, got "
                    f"{got}, but expected {len(grads)} (return None or a tuple)"
                )
            grads = tuple(res)
        state = ctx.state
        state["grad_output"] = grads
        hooks = _backward_hooks(ctx.module)
        if not state["inputs_rg"] and hooks:  # no input needs a gradient: call the hooks now
            # PyTorch warns; chainrule's own hooks that read only grad_output opt out
            if not all(getattr(h, "_quiet_on_outputs", False) for h in hooks):
                warnings.warn(_OUTPUTS_ONLY, UserWarning, stacklevel=2)
            for hook in hooks:
                hook(ctx.module, (None,) * len(state["arg_slots"]), grads)
        return tuple(grads[pos] for pos in ctx.positions)


def _backward_hooks(module: Any) -> list:
    """The full backward hooks for ``module``: the global ones first, then its own."""
    return [*_global_backward_hooks.values(), *module._backward_hooks.values()]


def _zeros_like_slot(t: Tensor) -> Any:
    """A maker of the zeros that stand in ``grad_input`` for a tensor input without grad
    (made only when the hooks run, so the forward keeps no copy)."""
    shape, dtype, xp = t._data.shape, t._data.dtype, get_array_module(t._data)
    return lambda: Tensor._make(xp.zeros(shape, dtype), False, None, 0)


def _as_returned_inputs(wrapped: tuple, sources: list) -> None:
    """Make the hook Function's outputs what PyTorch's are: its inputs returned as-is, so
    views of them (sharing their version counter) that may not be modified in place, nor
    used after their base was (``ReLU(inplace=True)`` in a hooked module raises PyTorch's
    "Output 0 of BackwardHookFunction is a view and is being modified inplace ...").
    Outputs that were not recorded (grad mode off) are no views, as PyTorch's, but still
    count their changes in their input's version."""
    for out, src in zip(wrapped, sources):
        if out is not src and out._data is src._data:
            out._vc = src._vc
            if out._grad_fn is not None:
                record_view(out, src, True, CUSTOM_FUNCTION_VIEW)


def _wrap_inputs(module: Any, args: tuple, state: dict) -> tuple:
    idx = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    state["inputs_rg"] = bool(idx)
    state["arg_slots"] = [
        _zeros_like_slot(a) if isinstance(a, Tensor) and not a.requires_grad else None for a in args
    ]
    state["rg_positions"] = idx
    if not idx:
        return args
    wrapped = _BackwardHookInput.apply(*[args[i] for i in idx], module=module, state=state)
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    _as_returned_inputs(wrapped, [args[i] for i in idx])
    args = list(args)
    for i, w in zip(idx, wrapped):
        args[i] = w
    return tuple(args)


def _wrap_outputs(module: Any, out: Any, state: dict) -> Any:
    if not isinstance(out, (Tensor, tuple)):  # PyTorch hooks a Tensor or a tuple only
        warnings.warn(
            "For backward hooks to be called, module output should be a Tensor or a tuple of "
            f"Tensors but received {type(out)}",
            UserWarning,
            stacklevel=3,
        )
        return out
    outs = out if isinstance(out, tuple) else (out,)
    idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not idx:
        return out
    wrapped = _BackwardHookOutput.apply(
        *[outs[i] for i in idx], module=module, state=state, positions=idx, n_outputs=len(outs)
    )
    _as_returned_inputs(
        wrapped if isinstance(wrapped, tuple) else (wrapped,), [outs[i] for i in idx]
    )
    if not isinstance(out, tuple):
        return wrapped
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    res = list(outs)
    for i, w in zip(idx, wrapped):
        res[i] = w
    return tuple(res)
