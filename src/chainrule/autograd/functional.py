"""``torch.autograd.functional``: derivatives of a function at given inputs, as tensors.

``vjp``/``jvp`` return ``(outputs, product)``, ``jacobian``/``hessian`` the full matrices
(nested tuples when inputs or outputs are tuples; entry ``[i][j]`` has shape
``outputs[i].shape + inputs[j].shape``), ``vhp``/``hvp`` ``(output, product)`` for a scalar
function. ``inputs`` is a Tensor or a tuple of Tensors and every result mirrors that form.

Each call differentiates through stand-ins for the inputs: detached leaves, or (with
``create_graph=True`` and an input that requires grad) a differentiable alias, so that the
results stay connected to the caller's tensors. ``strict=True`` raises where an output is
independent of an input; otherwise such derivatives are zeros. ``jvp`` and ``hvp`` use the
double-backward identity: for a dummy cotangent ``u``, ``uᵀJ`` is linear in ``u`` and its
gradient with respect to ``u`` along ``v`` is ``J v``.

``vectorize=True`` gives the same values as ``vectorize=False``: chainrule has no batched
backward, so both loop over one-hot vectors (one backward pass per output element in
reverse mode, one forward-mode ``jvp`` per input element in forward mode).
``strategy="forward-mode"`` uses chainrule's forward mode (:mod:`.transforms`), which, as
in PyTorch, requires ``vectorize=True`` and allows neither ``strict`` nor ``create_graph``.

The functorch-style transforms (``hessian(f)`` returning a function) are ``cr.func``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend import get_array_module
from .functional_common import (
    HESSIAN_STRICT,
    INDEPENDENT,
    OUT,
    as_tuple,
    check_graph,
    check_v,
    filled,
    finish,
    grad_of,
    input_v,
    prepare,
    require_grad,
    scalar_output,
    zeros_for,
)
from .grad_mode import enable_grad
from .tensor import Tensor
from .transforms import _leaf
from .transforms import jvp as _forward_jvp

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(*inputs), vᵀJ)``: the vector-Jacobian product, one entry per input.

    ``v`` pairs with the outputs; it may be omitted only when ``func`` returns a single
    one-element Tensor.
    """
    with enable_grad():
        in_tuple, inputs = as_tuple(inputs, "inputs", "vjp")
        ins = prepare(inputs, create_graph)
        out_tuple, outs = as_tuple(func(*ins), OUT, "vjp")
        require_grad(outs, strict)
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the user-provided function returns a "
                    "single Tensor with a single element."
                )
            vs = (filled(outs[0], 1.0),)
        else:
            vs = check_v(as_tuple(v, "v", "vjp")[1], outs, out_tuple, create_graph)
        grads = zeros_for(grad_of(outs, ins, vs, create_graph), ins, strict, INDEPENDENT)
        check_graph(grads, strict, create_graph)
    outs, grads = finish(outs, create_graph), finish(grads, create_graph)
    return (outs if out_tuple else outs[0]), (grads if in_tuple else grads[0])


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(*inputs), J v)``: the Jacobian-vector product, one entry per output.

    ``v`` pairs with the inputs; it may be omitted only for a single one-element input.
    Computed by double backward: the gradient of ``uᵀJ`` with respect to ``u`` along ``v``.
    """
    with enable_grad():
        in_tuple, inputs = as_tuple(inputs, "inputs", "jvp")
        ins = prepare(inputs, create_graph)
        vs = input_v(v, ins, in_tuple, "jvp", create_graph)
        out_tuple, outs = as_tuple(func(*ins), OUT, "jvp")
        require_grad(outs, strict)
        live = [i for i, o in enumerate(outs) if o.requires_grad]
        us = tuple(filled(outs[i], 0.0, True) for i in live)
        g_in = zeros_for(grad_of(outs, ins, us, True), ins, strict, INDEPENDENT)
        by_output = dict(zip(live, grad_of(g_in, us, vs, create_graph) if live else ()))
        res = tuple(by_output[i] if i in by_output else filled(o, 0.0) for i, o in enumerate(outs))
        res = zeros_for(
            res,
            outs,
            strict,
            "The gradient with respect to the input is independent of entry {} in the "
            "grad_outputs when using the double backward trick to compute forward mode "
            "gradients. This is not allowed in strict mode.",
        )
        check_graph(res, strict, create_graph)
    outs, res = finish(outs, create_graph), finish(res, create_graph)
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


def _nested(rows: tuple, out_tuple: bool, in_tuple: bool, forward: bool) -> Any:
    """Jacobian entries ``rows[i][j]`` (output i, input j) in the form of outputs/inputs.

    As in PyTorch, forward mode with a tuple of inputs gives lists instead of tuples."""
    seq = list if forward and in_tuple else tuple
    if out_tuple:
        return seq(seq(r) if in_tuple else r[0] for r in rows)
    return seq(rows[0]) if in_tuple else rows[0][0]


def _jacobian_reverse(func: Callable, inputs: tuple, create_graph: bool, strict: bool) -> tuple:
    """``(out_tuple, rows)``: one backward pass per output element, one-hot cotangents."""
    from ..ops.shape import stack  # in here: the ops are built on autograd (an import cycle)

    ins = prepare(inputs, create_graph)
    out_tuple, outs = as_tuple(func(*ins), OUT, "jacobian")
    require_grad(outs, strict)
    rows = []
    for i, out in enumerate(outs):
        xp = get_array_module(out._data)
        per_input: list[list] = [[] for _ in ins]
        for j in range(out.numel() if out.requires_grad else 0):
            e = xp.zeros(out.numel(), out.dtype)
            e[j] = 1
            onehot = Tensor._make(e.reshape(out.shape), False, None, 0)
            grads = grad_of((out,), ins, (onehot,), create_graph)
            message = f"Output {i} of the user-provided function is independent of input {{}}. "
            grads = zeros_for(grads, ins, strict, message + "This is not allowed in strict mode.")
            check_graph(grads, strict, create_graph)
            for k, g in enumerate(grads):
                per_input[k].append(g)
        row = []
        for x, gs in zip(ins, per_input):
            shape = tuple(out.shape) + tuple(x.shape)
            row.append(stack(gs).reshape(shape) if gs else filled(x, 0.0).new_zeros(shape))
        rows.append(finish(tuple(row), create_graph))
    return out_tuple, tuple(rows)


def _jacobian_forward(func: Callable, inputs: tuple) -> tuple:
    """``(out_tuple, rows)``: one forward-mode jvp per input element, one-hot tangents."""
    from ..ops.shape import stack  # in here: the ops are built on autograd (an import cycle)

    primals = tuple(t.detach() for t in inputs)
    box: list = []

    def checked(*args: Any) -> Any:
        out = func(*args)
        box[:] = [as_tuple(out, OUT, "jacobian")[0]]
        return out

    cols: list[list[list]] = [[] for _ in primals]  # [input][element] -> tangents per output
    outs: tuple = ()
    for k, x in enumerate(primals):
        xp = get_array_module(x._data)
        for j in range(x.numel()):
            e = xp.zeros(x.numel(), x.dtype)
            e[j] = 1
            tangents = tuple(
                Tensor._make(e.reshape(x.shape), False, None, 0) if m == k else filled(p, 0.0)
                for m, p in enumerate(primals)
            )
            out, tout = _forward_jvp(checked, primals, tangents)
            outs, touts = (out, tout) if box[0] else ((out,), (tout,))
            cols[k].append(touts)
    if not box:
        outs = as_tuple(checked(*primals), OUT, "jacobian")[1]
    rows = []
    for i, o in enumerate(outs):
        row = []
        for x, col in zip(primals, cols):
            shape = tuple(o.shape) + tuple(x.shape)
            if col:
                row.append(stack([c[i] for c in col], -1).reshape(shape))
            else:
                row.append(o.detach().new_zeros(shape))
        rows.append(tuple(row))
    return box[0], tuple(rows)


def _jacobian_rows(
    func: Callable,
    inputs: tuple,
    create_graph: bool,
    strict: bool,
    vectorize: bool,
    strategy: str,
) -> tuple:
    """Argument checks shared with ``hessian``, then ``(out_tuple, rows)``."""
    if strategy == "forward-mode":
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                "only implemented for `vectorize=True`."
            )
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.'
            )
        if strict:
            raise RuntimeError(
                'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"`'
                " are not supported together (yet). Please either set `strict=False` or "
                '`strategy="reverse-mode"`.'
            )
        with enable_grad():  # hessian's inner gradient records a graph under forward mode
            return _jacobian_forward(func, inputs)
    if strict and vectorize:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`."
        )
    with enable_grad():
        return _jacobian_reverse(func, inputs, create_graph, strict)


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``: entry ``[i][j]`` is d outputs[i] / d inputs[j],
    of shape ``outputs[i].shape + inputs[j].shape`` (a plain Tensor for one input and one
    output). ``strategy="forward-mode"`` needs ``vectorize=True``, as in PyTorch."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".'
        )
    in_tuple, inputs = as_tuple(inputs, "inputs", "jacobian")
    out_tuple, rows = _jacobian_rows(func, inputs, create_graph, strict, vectorize, strategy)
    return _nested(rows, out_tuple, in_tuple, strategy == "forward-mode")


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of the scalar ``func`` at ``inputs``: the Jacobian of its gradient, entry
    ``[i][j]`` of shape ``inputs[i].shape + inputs[j].shape`` (a Tensor for one input).
    ``outer_jacobian_strategy="forward-mode"`` is forward-over-reverse (``vectorize=True``)."""
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    in_tuple, inputs = as_tuple(inputs, "inputs", "hessian")

    def gradient(*args: Tensor) -> tuple:
        # Under forward mode the arguments are tangent-carrying duals: differentiable stand-ins
        # keep the tangents, so the backward pass below carries them (forward-over-reverse).
        args = tuple(a if a.requires_grad else _leaf(a) for a in args)
        out = scalar_output(func(*args), "hessian", strict)
        grads = grad_of((out,), args, (filled(out, 1.0),), True)
        for i, g in enumerate(grads):
            if strict and (g is None or not g.requires_grad):
                raise RuntimeError(HESSIAN_STRICT.format(i))
        return zeros_for(grads, args, False, "")

    _, rows = _jacobian_rows(
        gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy
    )
    return _nested(rows, in_tuple, in_tuple, outer_jacobian_strategy == "forward-mode")


def _first_gradient(func: Callable, ins: tuple, fn_name: str, strict: bool) -> tuple:
    """``(output, ∇func)`` with the gradient recorded for the second differentiation."""
    out = scalar_output(func(*ins), fn_name, strict)
    grads = zeros_for(grad_of((out,), ins, (filled(out, 1.0),), True), ins, strict, INDEPENDENT)
    return out, grads


def vhp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(*inputs), vᵀH)`` for a scalar ``func``: the vector-Hessian product."""
    with enable_grad():
        in_tuple, inputs = as_tuple(inputs, "inputs", "vhp")
        ins = prepare(inputs, create_graph)
        vs = input_v(v, ins, in_tuple, "vhp", create_graph)
        out, jac = _first_gradient(func, ins, "vhp", strict)
        res = zeros_for(grad_of(jac, ins, vs, create_graph), ins, strict, HESSIAN_STRICT)
    (out,), res = finish((out,), create_graph), finish(res, create_graph)
    return out, (res if in_tuple else res[0])


def hvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(*inputs), H v)`` for a scalar ``func``: the Hessian-vector product, by double
    backward (equal to ``vhp`` where the Hessian is symmetric)."""
    with enable_grad():
        in_tuple, inputs = as_tuple(inputs, "inputs", "hvp")
        ins = prepare(inputs, create_graph)
        vs = input_v(v, ins, in_tuple, "hvp", create_graph)
        out, jac = _first_gradient(func, ins, "hvp", strict)
        us = tuple(filled(x, 0.0, True) for x in ins)
        back = zeros_for(grad_of(jac, ins, us, True), ins, strict, HESSIAN_STRICT)
        res = grad_of(back, us, vs, create_graph)
        res = zeros_for(res, ins, False, "")
    (out,), res = finish((out,), create_graph), finish(res, create_graph)
    return out, (res if in_tuple else res[0])
