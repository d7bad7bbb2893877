"""``Module.register_full_backward_hook``'s machinery: identity nodes wrapped around a
module's inputs and outputs, whose backward rules see ``grad_output`` and ``grad_input`` and
call the module's hooks (PyTorch's ``BackwardHook``)."""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor

__all__: list[str] = []


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
        for hook in list(ctx.module._backward_hooks):
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
        ctx.state["grad_output"] = tuple(grads)
        if not ctx.inputs_rg:  # no input needs a gradient: call the hooks now
            for hook in list(ctx.module._backward_hooks):
                hook(ctx.module, (None,), tuple(grads))
        return grads


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
