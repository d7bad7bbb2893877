"""Argument checks and building blocks shared by :mod:`chainrule.autograd.functional`.

Inputs, outputs and ``v`` must be a Tensor or a tuple of Tensors (TypeError otherwise, worded
as PyTorch's); the strict-mode messages are PyTorch's, so code that matches on them ports.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from ..dtypes import is_floating
from .tensor import Tensor

__all__ = [
    "CREATE_GRAPH_STRICT",
    "HESSIAN_STRICT",
    "INDEPENDENT",
    "OUT",
    "as_tuple",
    "check_graph",
    "check_v",
    "filled",
    "finish",
    "grad_of",
    "input_v",
    "prepare",
    "require_grad",
    "scalar_output",
    "zeros_for",
]


OUT = "outputs of the user-provided function"
HESSIAN_STRICT = (
    "While computing the hessian, found that the jacobian of the user-provided function with "
    "respect to input {} is independent of the input. This is not allowed in strict mode. You "
    "should ensure that your function is twice differentiable and that the jacobian depends on "
    "the inputs (this would be violated by a linear function for example)."
)
INDEPENDENT = (
    "The output of the user-provided function is independent of input {}. This is not allowed "
    "in strict mode."
)
CREATE_GRAPH_STRICT = (
    "The jacobian of the user-provided function is independent of input {}. This is not "
    "allowed in strict mode when create_graph=True."
)


def as_tuple(x: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    """``(was_tuple, entries)``; a TypeError unless ``x`` is a Tensor or a tuple of them."""
    if isinstance(x, Tensor):
        return False, (x,)
    if not isinstance(x, tuple):
        raise TypeError(
            f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
            f"but the given {arg_name} has type {type(x)}."
        )
    for i, el in enumerate(x):
        if not isinstance(el, Tensor):
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but the value at index {i} has type {type(el)}."
            )
    return True, x


def filled(like: Tensor, value: float, requires_grad: bool = False) -> Tensor:
    xp = get_array_module(like._data)
    return Tensor._make(xp.full(like.shape, value, like.dtype), requires_grad, None, 0)


def prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Stand-ins to differentiate with respect to: an alias of an input that requires grad
    when the results must stay differentiable, a fresh leaf otherwise."""
    res = []
    for t in inputs:
        if not (is_floating(t.dtype) or t.dtype.kind == "c"):  # bfloat16 is floating
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        res.append(
            t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_()
        )
    return tuple(res)


def finish(values: tuple, create_graph: bool) -> tuple:
    return values if create_graph else tuple(v.detach() for v in values)


def check_v(v: tuple, other: tuple, other_is_tuple: bool, create_graph: bool) -> tuple:
    """``v`` checked against the tensors it pairs with, cast to their dtypes, and prepared as
    PyTorch's ``_grad_preprocess`` does: an alias of an entry that requires grad when the
    results must stay differentiable, else detached (which drops a forward-mode tangent)."""
    if len(v) != len(other):
        if other_is_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(other, v)):
        if a.shape != b.shape:
            where = f"Entry {i} in v" if other_is_tuple else "v"
            raise RuntimeError(f"{where} has invalid size: should be {a.shape} but got {b.shape}.")
    cast = (b if b.dtype == a.dtype else b.to(a.dtype) for a, b in zip(other, v))
    return tuple(b.view_as(b) if create_graph and b.requires_grad else b.detach() for b in cast)


def input_v(v: Any, ins: tuple, is_tuple: bool, fn_name: str, create_graph: bool) -> tuple:
    """The ``v`` of jvp/vhp/hvp (one entry per input): ones for a one-element input."""
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element."
            )
        return (filled(ins[0], 1.0),)
    return check_v(as_tuple(v, "v", fn_name)[1], ins, is_tuple, create_graph)


def require_grad(outs: tuple, strict: bool) -> None:
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise RuntimeError(
                    f"Output {i} of the user-provided function does not require gradients. The "
                    "outputs must be computed in a differentiable manner from the input when "
                    "running in strict mode."
                )


def grad_of(outs: tuple, ins: tuple, cots: tuple, create_graph: bool) -> tuple:
    """Σ cotᵀ ∂out/∂in per input (None where unused); outputs without a graph add nothing."""
    from . import grad as autograd_grad  # in here: the autograd package imports this module

    pairs = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
    if not pairs:
        return (None,) * len(ins)
    return autograd_grad(
        [o for o, _ in pairs],
        list(ins),
        [c for _, c in pairs],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )


def zeros_for(grads: tuple, like: tuple, strict: bool, message: str) -> tuple:
    """Unused entries (None) become zeros, or raise ``message`` in strict mode."""
    res = []
    for i, (g, ref) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(message.format(i))
            g = filled(ref, 0.0)
        res.append(g)
    return tuple(res)


def check_graph(grads: tuple, strict: bool, create_graph: bool) -> None:
    if strict and create_graph:
        for i, g in enumerate(grads):
            if not g.requires_grad:
                raise RuntimeError(CREATE_GRAPH_STRICT.format(i))


def scalar_output(out: Any, fn_name: str, strict: bool) -> Tensor:
    """The single one-element Tensor ``func`` must return for hessian/vhp/hvp."""
    out_tuple, outs = as_tuple(out, OUT, fn_name)
    require_grad(outs, strict)
    if out_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )
    return outs[0]
