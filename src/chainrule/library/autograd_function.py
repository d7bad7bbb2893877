"""The autograd ``Function`` behind a custom operator.

A call of a custom operator on inputs that require grad goes through a ``Function``
subclass made for that operator (named as PyTorch names it,
``GeneratedBackwardFor_<ns>_<name>_default``, so ``grad_fn`` reads
``GeneratedBackwardFor_<ns>_<name>_defaultBackward``). Its ``forward`` runs the kernel with
grad off and then the user's ``setup_context(ctx, inputs, output)``; its ``backward`` calls
the user's ``backward(ctx, *grads)``. Being an ordinary Function, it gets everything
built-in ops get: ``ctx.save_for_backward`` with version checks, ``saved_tensors_hooks``,
``needs_input_grad``, and double backward when the user's backward is written with
differentiable tensor ops. Without a registered formula the backward raises, as PyTorch's.

Tensors inside a ``Tensor[]`` argument are passed to ``Function.apply`` one by one (so each
is a graph input) and regrouped for the kernel and the user's rules.
"""

from __future__ import annotations

import threading
from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .binding import tensors_of
from .schema import FunctionSchema

__all__ = ["make_autograd_function", "flatten_inputs", "apply_autograd"]

_PENDING = threading.local()  # the call's argument layout, handed from apply to forward


def flatten_inputs(values: list) -> tuple[list, list]:
    """The call's values with each ``Tensor[]`` list spread out, and the layout to regroup
    them: per argument, None (one value) or the list's length."""
    flat, layout = [], []
    for v in values:
        if isinstance(v, (list, tuple)) and any(isinstance(t, Tensor) for t in v):
            flat.extend(v)
            layout.append(len(v))
        else:
            flat.append(v)
            layout.append(None)
    return flat, layout


def _regroup(flat: tuple, layout: list) -> list:
    out, i = [], 0
    for n in layout:
        if n is None:
            out.append(flat[i])
            i += 1
        else:
            out.append(list(flat[i : i + n]))
            i += n
    return out


def make_autograd_function(entry: Any) -> type:
    """The Function subclass for the operator ``entry`` (an ``OpEntry``, see operator.py)."""
    cls_name = f"GeneratedBackwardFor_{entry.ns}_{entry.name}_default"
    node_name = f"{cls_name}Backward"

    def forward(ctx: Any, *flat: Any) -> Any:
        layout, call = _PENDING.layout, _PENDING.call
        grad_wanted = any(ctx.needs_input_grad)
        values = _regroup(flat, layout)
        outs = call(values)  # the kernel's checked returns, one per schema return
        args = entry.schema.arguments
        # as PyTorch shows it: one flag per positional argument (a list: any of its tensors)
        ctx.needs_input_grad = tuple(
            any(t.requires_grad for t in tensors_of(v)) and grad_wanted
            for v, a in zip(values, args)
            if not a.kwarg_only
        )
        if entry.setup_context_fn is not None:
            output = outs[0] if len(outs) == 1 else tuple(outs)
            if any(a.kwarg_only for a in args):  # PyTorch passes those apart, by keyword
                pos = tuple(v for v, a in zip(values, args) if not a.kwarg_only)
                kw = {a.name: v for v, a in zip(values, args) if a.kwarg_only}
                entry.setup_context_fn(ctx=ctx, inputs=pos, keyword_only_inputs=kw, output=output)
            else:
                entry.setup_context_fn(ctx, tuple(values), output)
        ctx._cr_layout = layout  # metadata for backward: how to regroup its gradients
        ctx._cr_list_lengths = {
            i: len(v) for i, v in enumerate(outs) if isinstance(v, (list, tuple))
        }
        leaves = [t for v in outs for t in _leaves(v)]
        _PENDING.outs = outs
        return leaves[0] if len(leaves) == 1 and isinstance(outs[0], Tensor) else tuple(leaves)

    def backward(ctx: Any, *grads: Any) -> Any:
        if entry.backward_fn is None:
            raise RuntimeError(
                f"Trying to backward through {entry.ns}.{entry.name}.default but no autograd "
                "formula was registered. Please use register_autograd to add one."
            )
        grouped, i = [], 0
        for ret in entry.schema.returns:
            if ret.base != "Tensor":
                grouped.append(None)
            elif ret.is_list:
                n = ctx._cr_list_lengths[len(grouped)]
                grouped.append(list(grads[i : i + n]))
                i += n
            else:
                grouped.append(grads[i])
                i += 1
        result = entry.backward_fn(ctx, *grouped)
        return _flatten_grads(result, ctx._cr_layout, entry.schema, node_name)

    return type(
        cls_name,
        (Function,),
        {
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "node_name": node_name,
            # a user's rule: complex gradients in PyTorch's convention, repr as a user node
            "__module__": getattr(entry.func, "__module__", None) or "__main__",
        },
    )


def _leaves(value: Any) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def _flatten_grads(result: Any, layout: list, schema: FunctionSchema, node_name: str) -> tuple:
    grads = result if isinstance(result, tuple) else (result,)
    n_pos = sum(not a.kwarg_only for a in schema.arguments)
    if len(grads) == n_pos:  # one per positional input; keyword-only inputs get none
        grads = grads + (None,) * (len(layout) - n_pos)
    elif len(grads) != len(layout):
        raise RuntimeError(
            f"function {node_name} returned an incorrect number of gradients (expected "
            f"{n_pos}, got {len(grads)})"
        )
    flat: list = []
    for i, (g, n, arg) in enumerate(zip(grads, layout, schema.arguments)):
        if n is not None:
            gs = [None] * n if g is None else list(g)
            if len(gs) != n:
                raise RuntimeError(
                    f"function {node_name} returned {len(gs)} gradients for the list argument "
                    f"'{arg.name}' of {n} tensors"
                )
            flat.extend(gs)
        else:
            if g is not None and arg.base != "Tensor":
                raise RuntimeError(
                    f"function {node_name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
            flat.append(g)
    return tuple(flat)


def apply_autograd(entry: Any, values: list, call: Any) -> tuple:
    """Run ``call(values)`` (the kernel, checked) inside the operator's Function, so that the
    outputs are recorded; returns one value per schema return, tensors as graph outputs."""
    flat, layout = flatten_inputs(values)
    _PENDING.layout, _PENDING.call = layout, call
    results = entry.autograd_function.apply(*flat)
    outs = _PENDING.outs
    _PENDING.outs = _PENDING.call = None
    it = iter(_as_tuple(results))
    regrouped = []
    for v in outs:
        if isinstance(v, Tensor):
            regrouped.append(next(it))
        elif isinstance(v, (list, tuple)):
            regrouped.append([next(it) for _ in v])
        else:
            regrouped.append(v)
    return tuple(regrouped)


def _as_tuple(results: Any) -> tuple:
    return results if isinstance(results, tuple) else (results,)
