"""``Module.register_full_backward_hook``'s (and ``..._pre_hook``'s) machinery: identity nodes
wrapped around a module's inputs and outputs, whose backward rules see ``grad_output`` (where the
pre-hooks may replace it) and ``grad_input`` and call the hooks registered for every module
(``register_module_full_backward_*``) and then the module's own (PyTorch's ``BackwardHook``)."""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._forward_hooks import _global_backward_hooks, _global_backward_pre_hooks

__all__: list[str] = []

_OUTPUTS_ONLY = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
    "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details."
)


class _BackwardHookInput(Function):
    """Identity on a module's inputs; its backward sees grad_input and calls the hooks."""

    raw = True

    @staticmethod
    def forward(ctx, *xs, module, state):
        ctx.module, ctx.state = module, state
        return tuple(xs) if len(xs) > 1 else xs[0]

    @staticmethod
    def backward(ctx, *grads):
        grads = tuple(grads)
        for hook in _backward_hooks(ctx.module):
            res = hook(ctx.module, grads, ctx.state["grad_output"])
            if res is not None:
                grads = tuple(res)
        return grads


class _BackwardHookOutput(Function):
    """Identity on a module's outputs; its backward records grad_output."""

    raw = True

    @staticmethod
    def forward(ctx, *ys, module, state, inputs_require_grad):
        ctx.module, ctx.state, ctx.inputs_rg = module, state, inputs_require_grad
        return tuple(ys) if len(ys) > 1 else ys[0]

    @staticmethod
    def backward(ctx, *grads):
        grads = tuple(grads)
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
        ctx.state["grad_output"] = grads
        hooks = _backward_hooks(ctx.module)
        if not ctx.inputs_rg and hooks:  # no input needs a gradient: call the hooks now
            # PyTorch warns; chainrule's own hooks that read only grad_output opt out
            if not all(getattr(h, "_quiet_on_outputs", False) for h in hooks):
                warnings.warn(_OUTPUTS_ONLY, UserWarning, stacklevel=2)
            for hook in hooks:
                hook(ctx.module, (None,), grads)
        return grads


def _backward_hooks(module: Any) -> list:
    """The full backward hooks for ``module``: the global ones first, then its own."""
    return [*_global_backward_hooks.values(), *module._backward_hooks.values()]


def _wrap_inputs(module: Any, args: tuple, state: dict) -> tuple:
    idx = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    state["inputs_rg"] = bool(idx)
    if not idx:
        return args
    wrapped = _BackwardHookInput.apply(*[args[i] for i in idx], module=module, state=state)
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    args = list(args)
    for i, w in zip(idx, wrapped):
        args[i] = w
    return tuple(args)


def _wrap_outputs(module: Any, out: Any, state: dict) -> Any:
    outs = out if isinstance(out, tuple) else (out,)
    if not any(isinstance(o, Tensor) and o.requires_grad for o in outs):
        return out
    wrapped = _BackwardHookOutput.apply(
        *outs, module=module, state=state, inputs_require_grad=state["inputs_rg"]
    )
    return wrapped
