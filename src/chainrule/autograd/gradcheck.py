"""Numerical gradient checks in float64: gradcheck, gradgradcheck, and the vjp/jvp identity.

``gradcheck`` compares the full Jacobian from backward (one vjp per output element) with
central finite differences (f(x + eps) - f(x - eps)) / 2eps, and on failure reports the
worst element: which input, which output, where, and both values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import grad_mode
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical gradients disagree."""


def _outputs(fn: Callable, inputs: Sequence) -> tuple:
    out = fn(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _check_inputs(inputs: Sequence, where: str) -> list:
    idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not idx:
        raise ValueError(f"{where}: at least one input must be a tensor with requires_grad=True")
    for i in idx:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"{where}: input {i} has dtype {inputs[i].dtype}; finite differences need "
                "float64 inputs (use .double())"
            )
    return idx


def numerical_jacobian(fn: Callable, inputs: Sequence, i: int, eps: float) -> list:
    """d(outputs)/d(inputs[i]) by central differences: a list of (out.size, in.size) arrays."""
    x = inputs[i]
    flat = x._data.reshape(-1)
    with grad_mode.no_grad():
        outs = _outputs(fn, inputs)
        jac = [np.zeros((o.numel(), x.numel())) for o in outs]
        for j in range(flat.size):
            orig = flat[j].item()
            flat[j] = orig + eps
            plus = [np.array(o._data, np.float64).reshape(-1) for o in _outputs(fn, inputs)]
            flat[j] = orig - eps
            minus = [np.array(o._data, np.float64).reshape(-1) for o in _outputs(fn, inputs)]
            flat[j] = orig
            for k in range(len(outs)):
                jac[k][:, j] = (plus[k] - minus[k]) / (2 * eps)
    return jac


def analytical_jacobian(fn: Callable, inputs: Sequence, idx: Sequence[int]) -> dict:
    """{(output k, input i): (out.size, in.size) Jacobian} from one vjp per output element."""
    from . import grad as autograd_grad

    outs = _outputs(fn, inputs)
    result = {}
    for k, o in enumerate(outs):
        for i in idx:
            result[(k, i)] = np.zeros((o.numel(), inputs[i].numel()))
        if not o.requires_grad:
            continue
        for r in range(o.numel()):
            e = np.zeros(o.numel(), dtype=o.dtype)
            e[r] = 1
            gs = autograd_grad(
                [o],
                [inputs[i] for i in idx],
                [Tensor._make(e.reshape(o.shape), False, None, 0)],
                retain_graph=True,
                allow_unused=True,
            )
            for i, g in zip(idx, gs):
                if g is not None:
                    result[(k, i)][r] = np.asarray(g._data, np.float64).reshape(-1)
    return result


def gradcheck(
    fn: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check backward against finite differences for every input that requires grad.

    Args:
        fn: a function of ``inputs`` returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of them (float64 where requires_grad=True).
        eps, atol, rtol: perturbation and tolerances (|a - n| <= atol + rtol * |n|).
        raise_exception: raise :class:`GradcheckError` on mismatch (else return False).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _check_inputs(inputs, "gradcheck")
    analytical = analytical_jacobian(fn, inputs, idx)
    for i in idx:
        numerical = numerical_jacobian(fn, inputs, i, eps)
        for k, num in enumerate(numerical):
            ana = analytical[(k, i)]
            err = np.abs(ana - num) - (atol + rtol * np.abs(num))
            if (err > 0).any() or not np.isfinite(ana).all():
                pos = np.unravel_index(
                    np.nanargmax(np.where(np.isfinite(err), err, np.inf)), err.shape
                )
                out_pos = np.unravel_index(pos[0], _outputs(fn, inputs)[k].shape)
                in_pos = np.unravel_index(pos[1], inputs[i].shape)
                msg = (
                    f"gradcheck failed for output {k}, input {i}: worst element "
                    f"d out{list(out_pos)} / d in{list(in_pos)}: analytical {ana[pos]:.8g}, "
                    f"numerical {num[pos]:.8g} (atol={atol}, rtol={rtol}).\n"
                    f"analytical jacobian:\n{ana}\nnumerical jacobian:\n{num}"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(
    fn: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of (inputs, v) -> vjp(fn)(v) with create_graph."""
    from . import grad as autograd_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _check_inputs(inputs, "gradgradcheck")
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = tuple(
            Tensor._new(rng.standard_normal(o.shape), dtype=np.float64, requires_grad=True)
            for o in outs
        )
    else:
        grad_outputs = (
            tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (grad_outputs,)
        )
    n = len(inputs)

    def first_grads(*args):
        xs, vs = args[:n], args[n:]
        with grad_mode.enable_grad():  # finite differences run under no_grad
            os = _outputs(fn, xs)
            gs = autograd_grad(
                list(os), [xs[i] for i in idx], list(vs), create_graph=True, allow_unused=True
            )
        return tuple(g if g is not None else (xs[i] * 0).sum() * 0 for g, i in zip(gs, idx))

    return gradcheck(first_grads, inputs + grad_outputs, eps, atol, rtol, raise_exception)


def check_vjp_jvp(
    fn: Callable, inputs: Sequence, seed: int = 0, rtol: float = 1e-6, atol: float = 1e-8
) -> bool:
    """The inner-product test: <J v, u> == <v, Jᵀ u> for random v (tangent) and u (cotangent).

    Forward mode (jvp) and reverse mode (vjp) must agree; returns True or raises
    :class:`GradcheckError` with both numbers.
    """
    from .functional import jvp, vjp

    rng = np.random.default_rng(seed)
    inputs = tuple(inputs)
    tangents = tuple(Tensor._new(rng.standard_normal(x.shape), dtype=x.dtype) for x in inputs)
    out, tout = jvp(fn, inputs, tangents)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    us = tuple(Tensor._new(rng.standard_normal(o.shape), dtype=o.dtype) for o in outs)
    _, vjp_fn = vjp(fn, *inputs)
    grads = vjp_fn(us if len(us) > 1 else us[0])
    lhs = sum(float((np.asarray(t._data) * np.asarray(u._data)).sum()) for t, u in zip(touts, us))
    rhs = sum(
        float((np.asarray(g._data) * np.asarray(v._data)).sum()) for g, v in zip(grads, tangents)
    )
    if not np.isclose(lhs, rhs, rtol=rtol, atol=atol):
        raise GradcheckError(f"jvp/vjp mismatch: <J v, u> = {lhs!r} but <v, J^T u> = {rhs!r}")
    return True
