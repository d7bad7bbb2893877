"""``torch.cond`` and ``torch.while_loop``: PyTorch's structured control flow, run eagerly.

PyTorch keeps these higher-order ops whole through ``torch.compile`` and ``torch.export``;
called outside a compiled region, ``cond`` with a tensor predicate traces both branches
(Dynamo, fake tensors), checks them and runs the one the predicate picks, and ``while_loop``
does the same for its condition and body. chainrule runs the Python functions directly and
makes the checks PyTorch makes on what they take and give:

* ``cond`` with a Python ``bool``/``int``/``float`` predicate just calls the chosen branch
  (as PyTorch does). With a tensor predicate (one element) it runs *both* branches, the
  chosen one first and then the other with the random-number state put back afterwards (so
  a dropout inside a branch draws what PyTorch's single run draws), checks that they return
  the same pytree structure of tensors (same dim and dtype) or ints, that neither mutates
  nor returns (a view of) an operand, and gives the result the ``CondAutogradOpBackward``
  node PyTorch gives it. Its backward sends the gradient through the chosen branch and
  zeros through the other, so every tensor either branch read (operands, captured
  parameters) gets a gradient, zeros where the chosen branch did not use it: an optimizer
  with momentum or weight decay then steps those parameters as it does in PyTorch (a
  ``None`` gradient would skip them).
* ``while_loop`` runs ``body_fn`` while ``cond_fn`` returns a true bool or 0-dim bool
  tensor, checking that the body gives back the carried inputs' structure, dtypes and shapes
  and that it neither mutates nor returns (a view of) a carried input; a loop that runs no
  step returns copies of the tensors it was given, as PyTorch does.

A branch, condition or body that writes in place into a tensor it captures rather than takes
(a module's buffer or parameter -- a BatchNorm's running stats in training --, a tensor in
its closure or in a global it names, or in a list/dict/partial/bound method reachable from
those) is refused as PyTorch's tracer refuses it; chainrule finds these tensors by walking
the function's closure, the globals its code names (and the functions among them, three
levels deep) and ``self`` of a bound method, and compares their versions after each call. The
write has then happened (PyTorch refuses before running anything); what is not reachable
that way (an attribute of an object that is neither a Module nor a container) goes
unchecked. A ``while_loop`` output's gradient is the unrolled loop's (PyTorch 2.13's
differs from it for a body that adds a captured tensor to a matmul of the carry, and for a
loop that runs no step).

Errors are PyTorch's: ``RuntimeError`` for a bad predicate, branch or operands, and
``torch._dynamo.exc.UncapturedHigherOrderOpError`` (a ``RuntimeError``) for what the
tracer refuses.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from ._dynamo.exc import UncapturedHigherOrderOpError
from .autograd.function import Function
from .autograd.tensor import Tensor
from .dtypes import bool_
from .nn.module import Module
from .random_snapshot import restore, snapshot
from .utils._pytree import tree_flatten, tree_unflatten

__all__ = ["UncapturedHigherOrderOpError", "cond", "while_loop"]

_TRACE_FAILED = (
    "This higher order operator doesn't work unless it is captured completely with "
    "torch.compile. Got graph break/error:\n\n"
)


def _refuse(op: str, explanation: str, summary: str = "") -> UncapturedHigherOrderOpError:
    return UncapturedHigherOrderOpError(
        f"{_TRACE_FAILED}{summary or explanation}\n  Higher Order Operator: {op}\n"
        f"  Explanation: {explanation}"
    )


def _storage_key(t: Tensor) -> Any:
    """What two tensors share when one is a view of the other (the array they end at)."""
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # a tensor without storage (sparse, ...)
        return id(t)


def _versions(leaves: list) -> list:
    return [t._vc[0] for t in leaves]


_CAPTURE_DEPTH = 3  # how many levels of named global functions are followed
_CONTAINER_MAX = 256  # longer lists/dicts are not searched for tensors


def _captured_tensors(*fns: Callable) -> list:
    """The tensors ``fns`` can reach without taking them as arguments: closure cells,
    default arguments, globals their code names, functions among those (``_CAPTURE_DEPTH``
    levels), ``self`` of bound methods, partials' arguments, Modules' parameters and buffers,
    and small lists, tuples and dicts of these."""
    found: dict[int, Tensor] = {}
    seen: set[int] = set()

    def code_names(code: types.CodeType) -> set:
        names = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= code_names(const)
        return names

    def visit(obj: Any, depth: int) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, Tensor):
            found.setdefault(id(obj), obj)
        elif isinstance(obj, Module):
            for t in (*obj.parameters(), *obj.buffers()):
                found.setdefault(id(t), t)
        elif isinstance(obj, (list, tuple, set, frozenset)) and len(obj) <= _CONTAINER_MAX:
            for v in obj:
                visit(v, depth)
        elif isinstance(obj, dict) and len(obj) <= _CONTAINER_MAX:
            for v in obj.values():
                visit(v, depth)
        elif isinstance(obj, functools.partial):
            visit(obj.func, depth)
            visit(obj.args, depth)
            visit(obj.keywords, depth)
        elif isinstance(obj, types.MethodType):
            visit(obj.__self__, depth)
            visit(obj.__func__, depth)
        elif isinstance(obj, types.FunctionType) and depth <= _CAPTURE_DEPTH:
            visit(obj.__defaults__ or (), depth)
            visit(obj.__kwdefaults__ or {}, depth)
            for cell in obj.__closure__ or ():
                try:
                    visit(cell.cell_contents, depth + 1)
                except ValueError:  # an empty cell (a name assigned later)
                    pass
            glob = obj.__globals__
            for name in code_names(obj.__code__):
                if name in glob:
                    visit(glob[name], depth + 1)

    for fn in fns:
        visit(fn, 0)
    return list(found.values())


def _check_no_mutation(op: str, leaves: list, before: list) -> None:
    if _versions(leaves) != before:
        raise _refuse(
            op,
            "Higher order ops do not support input mutation.",
            "Encountered input mutation during higher order op tracing",
        )


def _check_no_aliasing(op: str, outs: list, ins: list) -> None:
    keys = {_storage_key(t) for t in ins}
    for o in outs:
        if isinstance(o, Tensor) and (any(o is t for t in ins) or _storage_key(o) in keys):
            raise _refuse(op, "Higher order ops do not support aliasing.")


def _is_int(v: Any) -> bool:
    return isinstance(v, int)  # bool included, as PyTorch's "ints/bools"


def _check_outputs(op: str, leaves: list) -> None:
    for v in leaves:
        if not isinstance(v, Tensor) and not _is_int(v):
            raise _refuse(
                op,
                "HigherOrderOperator body's output must consist of tensors or ints/bools only "
                f"but got {type(v)}."
                if v is not None
                else "Constants returned from branches must be ints.",
            )


class _PassThrough(Function):
    """A higher-order op's node: its first ``n`` inputs (the outputs of the branch or loop
    that ran) pass through; the gradient goes back to them, and zeros go to the rest (what the
    op also read: the other branch's outputs, the operands), so everything the op read gets a
    gradient, zeros where the run did not use it, as in PyTorch."""

    @staticmethod
    def forward(ctx: Any, n: int, *tensors: Tensor) -> Any:
        ctx.rest = [(t.shape, t.dtype, t.device) for t in tensors[n:]]
        outs = tuple(t.detach().clone() for t in tensors[:n])
        return outs[0] if n == 1 else outs

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        from .creation import zeros

        rest = [zeros(shape, dtype=dtype, device=device) for shape, dtype, device in ctx.rest]
        return (None, *grads, *rest)


class CondAutogradOp(_PassThrough):
    """The node of a tensor-predicate ``cond``'s output (``CondAutogradOpBackward``)."""

    node_name = "CondAutogradOpBackward"


class WhileLoopAutogradOp(_PassThrough):
    """The node of a ``while_loop``'s outputs (``WhileLoopAutogradOpBackward``)."""

    node_name = "WhileLoopAutogradOpBackward"


def _link(fn: type, leaves: list, rest: list) -> list:
    """``leaves`` with their tensors that can carry a gradient passed through ``fn``'s node
    (with ``rest`` as its other inputs), when the graph is recorded; else ``leaves``."""
    from .autograd.grad_mode import is_grad_enabled

    picked = [
        i
        for i, t in enumerate(leaves)
        if isinstance(t, Tensor) and (t.is_floating_point() or t.is_complex())
    ]
    rest = [t for t in rest if isinstance(t, Tensor) and t.requires_grad]
    if not picked or not is_grad_enabled():
        return leaves
    if not any(leaves[i].requires_grad for i in picked) and not rest:
        return leaves
    linked = fn.apply(len(picked), *(leaves[i] for i in picked), *rest)
    linked = list(linked) if isinstance(linked, tuple) else [linked]
    out = list(leaves)
    for i, t in zip(picked, linked, strict=True):
        out[i] = t
    return out


def cond(
    pred: Any,
    true_fn: Callable,
    false_fn: Callable,
    operands: tuple | list = (),
) -> Any:
    """``torch.cond``: ``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``.

    ``pred`` is a Python bool (the branch is simply called) or a one-element tensor;
    ``operands`` a tuple or list of (nested dicts, lists, tuples of) tensors. See the module
    docstring for the checks and the gradient."""
    if isinstance(pred, (bool, int, float)) and not isinstance(pred, Tensor):
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, Tensor):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not (callable(true_fn) and callable(false_fn)):
        raise RuntimeError("Expect both branches to be callable.")
    leaves, _ = tree_flatten(operands)
    if not isinstance(operands, (tuple, list)) or not all(isinstance(t, Tensor) for t in leaves):
        raise RuntimeError(
            "Expect operands to be a tuple of possibly nested dict/list/tuple that only "
            f"consists of tensor leaves, but got {operands}."
        )
    op = "torch.cond"
    chosen, other = (true_fn, false_fn) if bool(pred) else (false_fn, true_fn)
    watched = [*leaves, *_captured_tensors(true_fn, false_fn)]
    before = _versions(watched)
    taken = chosen(*operands)
    _check_no_mutation(op, watched, before)
    state = snapshot()
    try:
        untaken = other(*operands)
    finally:
        restore(state)
    _check_no_mutation(op, watched, before)
    taken_leaves, spec = tree_flatten(taken)
    untaken_leaves, other_spec = tree_flatten(untaken)
    for outs in (taken_leaves, untaken_leaves):
        _check_outputs(op, outs)
        _check_no_aliasing(op, outs, leaves)
    if spec != other_spec:
        raise _refuse(op, "Expected branches to return the same pytree structure.")
    for a, b in zip(taken_leaves, untaken_leaves, strict=True):
        if isinstance(a, Tensor) != isinstance(b, Tensor):
            raise RuntimeError(
                "When merging two branches' output in torch.cond, expected both to be tensors "
                f"or both ints, got {type(a).__name__} and {type(b).__name__}."
            )
        if not isinstance(a, Tensor):
            continue
        if a.dim() != b.dim():
            raise RuntimeError(
                "When merging two branches' output in torch.cond,  expected same dim but got "
                f"{a.dim()} and {b.dim()}."
            )
        if a.dtype != b.dtype:
            raise RuntimeError(
                "When merging two branches' output in torch.cond,  expected same dtype but got "
                f"{a.dtype} and {b.dtype}."
            )
    return tree_unflatten(_link(CondAutogradOp, taken_leaves, [*untaken_leaves, *leaves]), spec)


def _check_cond_value(op: str, value: Any) -> bool:
    if isinstance(value, Tensor):
        if value.dim() != 0 or value.dtype != bool_:
            raise _refuse(
                op,
                f"Expected cond_fn to return a scalar tensor or a bool but got {value.shape}.",
            )
        return bool(value)
    if isinstance(value, bool):
        return value
    raise _refuse(op, f"Expected cond_fn to return a scalar tensor or a bool but got {value}.")


def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: tuple | list) -> Any:
    """``torch.while_loop``: ``val = carried_inputs; while cond_fn(*val): val = body_fn(*val);
    return val``, with PyTorch's checks (see the module docstring)."""
    op = "torch.while_loop"
    if not (callable(cond_fn) and callable(body_fn)):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)):
        raise _refuse(op, f"Argument mismatch when attempting to trace function {cond_fn}.")
    flat, spec = tree_flatten(carried_inputs)
    if not all(isinstance(v, (Tensor, int)) for v in flat):
        raise AssertionError(
            f"{flat} can only be of {(Tensor, int)} but got {tuple(type(v) for v in flat)}"
        )
    carried = tuple(carried_inputs)
    val_flat = flat
    steps = 0
    captured = _captured_tensors(cond_fn, body_fn)
    while True:
        ins = [*(t for t in val_flat if isinstance(t, Tensor)), *captured]
        before = _versions(ins)
        go = _check_cond_value(op, cond_fn(*carried))
        _check_no_mutation(op, ins, before)
        if not go:
            break
        out = body_fn(*carried)
        _check_no_mutation(op, ins, before)
        out_flat, out_spec = tree_flatten(out)
        if len(out_flat) != len(flat):
            raise UncapturedHigherOrderOpError(
                "Expected body_fn_output and carried_inputs to have same number of outputs but "
                f"got lhs:{out_flat} and rhs:{flat}\n  Higher Order Operator: {op}"
            )
        for i, (o, c) in enumerate(zip(out_flat, flat, strict=True)):
            if isinstance(c, Tensor) and (
                not isinstance(o, Tensor) or o.shape != c.shape or o.dtype != c.dtype
            ):
                raise UncapturedHigherOrderOpError(
                    "Expected body_fn_output and carried_inputs to have same metadata but "
                    f"found:\npair[{i}] differ\n  Higher Order Operator: {op}"
                )
        _check_no_aliasing(op, out_flat, ins)
        steps += 1
        val_flat = out_flat
        spec_now = out_spec
        carried = out if isinstance(out, (tuple, list)) else (out,)
    if steps == 0:  # PyTorch's result never aliases an input: copies, on the graph
        val_flat = [v.clone() if isinstance(v, Tensor) else v for v in flat]
        spec_now = spec
    result = tree_unflatten(_link(WhileLoopAutogradOp, val_flat, flat), spec_now)
    return tuple(result) if isinstance(result, list) else result
