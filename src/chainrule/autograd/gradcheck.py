"""Numerical gradient checks in float64 and complex128: gradcheck, gradgradcheck, and the
vjp/jvp identity.

``gradcheck`` compares the full Jacobian from backward (one vjp per output coordinate) and,
with ``check_forward_ad``, from forward mode (one jvp per input coordinate) with central finite
differences (f(x + eps) - f(x - eps)) / 2eps, and on failure reports the worst element:
which input, which output, where, and both values.

Complex tensors are checked in real coordinates, as PyTorch does: an element z = x + iy of
a complex input is two coordinates, perturbed one at a time (z ± eps and z ± i·eps), and an
element of a complex output is two real functions, Re and Im. The backward row of the
coordinate Re(out[r]) (or Im(out[r])) is the vjp with the output gradient 1 (or i) at r: in
the engine's convention the gradient of the real loss L = Re(conj(v)·out) with respect to
z = x + iy is dL/dx + i·dL/dy, whose two parts are that row's entries for x and y. A forward
column is the jvp with the tangent 1 (or i) at one input element, read as (Re, Im) pairs.

It takes PyTorch's arguments (``nondet_tol``, ``check_undefined_grad``, ``check_grad_dtypes``,
``fast_mode``, the checks of :mod:`.gradcheck_batched`, ...); ``masked`` (sparse semantics)
raises NotImplementedError when asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backend
from . import grad_mode
from .gradcheck_batched import (
    batched_forward_grad_failure,
    batched_grad_failure,
    coord_units,
    draw_normal,
    fast_mode_failure,
    grad_dtypes_failure,
    n_coords,
    output_tuple,
    real_coords,
    undefined_grad_failure,
)
from .tensor import Tensor

__all__ = [
    "GradcheckError",
    "analytical_jacobian",
    "check_vjp_jvp",
    "gradcheck",
    "gradgradcheck",
    "numerical_jacobian",
]


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical gradients disagree."""


def _check_inputs(inputs: Sequence, where: str) -> list:
    idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not idx:
        raise ValueError(f"{where}: at least one input must be a tensor with requires_grad=True")
    for i in idx:
        if inputs[i].dtype not in (np.float64, np.complex128):  # PyTorch warns and runs
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point "
                "or complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                UserWarning,
                stacklevel=3,
            )
    return idx


def numerical_jacobian(fn: Callable, inputs: Sequence, i: int, eps: float) -> list:
    """d(outputs)/d(inputs[i]) by central differences: a list of (out coords, in coords)
    arrays (a complex element is two coordinates, Re and Im: see the module docstring)."""
    x = inputs[i]
    flat = x._data.reshape(-1)
    units = coord_units(flat)
    with grad_mode.no_grad():
        outs = output_tuple(fn, inputs)
        jac = [np.zeros((n_coords(o), flat.size * len(units))) for o in outs]
        for j in range(flat.size):
            orig = flat[j].item()
            for p, unit in enumerate(units):
                flat[j] = orig + eps * unit
                plus = [real_coords(o._data) for o in output_tuple(fn, inputs)]
                flat[j] = orig - eps * unit
                minus = [real_coords(o._data) for o in output_tuple(fn, inputs)]
                flat[j] = orig
                for k in range(len(outs)):
                    jac[k][:, j * len(units) + p] = (plus[k] - minus[k]) / (2 * eps)
    return jac


def analytical_jacobian(fn: Callable, inputs: Sequence, idx: Sequence[int]) -> dict:
    """{(output k, input i): (out coords, in coords) Jacobian} from one vjp per output
    coordinate (the output gradient 1, or i for the imaginary part of a complex output)."""
    from . import grad as autograd_grad

    outs = output_tuple(fn, inputs)
    result = {}
    for k, o in enumerate(outs):
        for i in idx:
            result[(k, i)] = np.zeros((n_coords(o), n_coords(inputs[i])))
        if not o.requires_grad:
            continue
        units = coord_units(o)
        for r in range(o.numel()):
            for p, unit in enumerate(units):
                e = np.zeros(o.numel(), dtype=o.dtype)
                e[r] = unit
                gs = autograd_grad(
                    [o],
                    [inputs[i] for i in idx],
                    [Tensor._make(e.reshape(o.shape), False, None, 0)],
                    retain_graph=True,
                    allow_unused=True,
                )
                for i, g in zip(idx, gs):
                    if g is not None:
                        row = real_coords(g._data, inputs[i].is_complex())
                        result[(k, i)][r * len(units) + p] = row
    return result


def _forward_jacobian(fn: Callable, inputs: Sequence, i: int) -> list:
    """d(outputs)/d(inputs[i]) by forward mode: one jvp per input coordinate (a one-hot
    tangent, 1 or i), as (out coords, in coords) arrays."""
    from .transforms import jvp

    x = inputs[i]

    def f_of_xi(xi: Tensor) -> tuple:
        return output_tuple(fn, inputs[:i] + (xi,) + inputs[i + 1 :])

    primal = x.detach()
    outs = output_tuple(fn, inputs)
    cols = []
    for j in range(x.numel()):
        for unit in coord_units(x):
            e = np.zeros(x.numel(), x.dtype)
            e[j] = unit
            tangent = Tensor._make(e.reshape(x.shape), False, None, 0)
            with grad_mode.no_grad():  # values only (no differentiable tangents, see jvp)
                _, touts = jvp(f_of_xi, (primal,), (tangent,))
            cols.append([real_coords(t._data, o.is_complex()) for t, o in zip(touts, outs)])
    n_out = len(outs)
    return [
        np.stack([c[k] for c in cols], axis=1) if cols else np.zeros((0, 0)) for k in range(n_out)
    ]


def _compare(
    kind: str, ana: np.ndarray, num: np.ndarray, k: int, i: int, fn, inputs, atol, rtol
) -> str | None:
    """None when |ana - num| <= atol + rtol |num| everywhere, else the failure message."""
    err = np.abs(ana - num) - (atol + rtol * np.abs(num))
    if not (err > 0).any() and np.isfinite(ana).all():
        return None
    pos = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, np.inf)), err.shape)
    out, x = output_tuple(fn, inputs)[k], inputs[i]
    return (
        f"gradcheck failed ({kind}) for output {k}, input {i}: worst element "
        f"d out{_where(out, pos[0])} / d in{_where(x, pos[1])}: {kind} {ana[pos]:.8g}, "
        f"numerical {num[pos]:.8g} (atol={atol}, rtol={rtol}).\n"
        f"{kind} jacobian:\n{ana}\nnumerical jacobian:\n{num}"
    )


def _where(t: Tensor, coord: int) -> str:
    """The element of ``t`` behind a real coordinate, with ``.real``/``.imag`` if complex."""
    n = len(coord_units(t))
    pos = [int(p) for p in np.unravel_index(coord // n, t.shape)]
    return f"{pos}" if n == 1 else f"{pos}.{('real', 'imag')[coord % n]}"


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(
    fn: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    *,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check derivatives against finite differences for every input that requires grad, with
    PyTorch's ``torch.autograd.gradcheck`` arguments.

    Args:
        fn: a function of ``inputs`` returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of them (float64 or complex128 where
            requires_grad=True; a complex one is checked in its real and imaginary parts).
        eps, atol, rtol: perturbation and tolerances (|a - n| <= atol + rtol * |n|).
        raise_exception: raise :class:`GradcheckError` on mismatch (else return False).
        nondet_tol: the backward Jacobian is computed twice; the two must agree within this
            (0: exactly, as PyTorch's reentrant check).
        check_undefined_grad: zero output gradients must give zero input gradients.
        check_grad_dtypes: each gradient must have its input's dtype and shape.
        check_forward_ad: also compare the forward-mode Jacobian (one jvp per input element)
            with the finite differences.
        check_backward_ad: compare the backward Jacobian (one vjp per output element).
        fast_mode: compare uᵀ J v for random unit vectors instead of whole Jacobians.
        check_batched_grad: vmap over the backward of each output (two random cotangents)
            must equal the two vector-Jacobian products computed one by one.
        check_batched_forward_grad: the same for vmap over forward mode (needs
            ``check_forward_ad``, as in PyTorch).
        masked: sparse-masked semantics are not supported: True raises NotImplementedError.
    """
    if masked:
        raise NotImplementedError(
            "gradcheck: masked=True is not supported (chainrule has no sparse tensors); "
            "leave it False"
        )
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError(  # PyTorch's error type for this misuse
            "Setting check_batched_forward_grad=True requires check_forward_ad to be True"
        )
    if nondet_tol < 0:
        raise ValueError(f"gradcheck: nondet_tol must be >= 0, got {nondet_tol}")
    if not (check_forward_ad or check_backward_ad):
        raise ValueError(
            "gradcheck: at least one of check_forward_ad and check_backward_ad must be True"
        )
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _check_inputs(inputs, "gradcheck")
    if fast_mode:
        for forward in (False, True):
            if (check_forward_ad if forward else check_backward_ad) and (
                msg := fast_mode_failure(fn, inputs, idx, eps, atol, rtol, forward, seed=0)
            ):
                return _fail(msg, raise_exception)
    else:
        analytical = analytical_jacobian(fn, inputs, idx) if check_backward_ad else None
        if analytical is not None:
            again = analytical_jacobian(fn, inputs, idx)
            for key, a in analytical.items():
                diff = np.abs(a - again[key])
                if not (diff <= nondet_tol).all():
                    return _fail(
                        f"gradcheck: backward is not reentrant: two runs on the same inputs "
                        f"differ by up to {np.nanmax(diff):.3g} for output {key[0]}, input "
                        f"{key[1]} (nondet_tol={nondet_tol})",
                        raise_exception,
                    )
        for i in idx:
            numerical = numerical_jacobian(fn, inputs, i, eps)
            forward = _forward_jacobian(fn, inputs, i) if check_forward_ad else None
            for k, num in enumerate(numerical):
                checks = []
                if analytical is not None:
                    checks.append(("analytical", analytical[(k, i)]))
                if forward is not None:
                    checks.append(("forward mode", forward[k]))
                for kind, ana in checks:
                    if msg := _compare(kind, ana, num, k, i, fn, inputs, atol, rtol):
                        return _fail(msg, raise_exception)
    if check_backward_ad:
        for check, on in (
            (undefined_grad_failure, check_undefined_grad),
            (grad_dtypes_failure, check_grad_dtypes),
            (batched_grad_failure, check_batched_grad),
        ):
            if on and (msg := check(fn, inputs, idx)):
                return _fail(msg, raise_exception)
    if check_batched_forward_grad and (msg := batched_forward_grad_failure(fn, inputs, idx)):
        return _fail(msg, raise_exception)
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
    *,
    gen_non_contig_grad_outputs: bool = False,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check second derivatives: gradcheck of (inputs, v) -> vjp(fn)(v) with create_graph.

    PyTorch's ``torch.autograd.gradgradcheck`` arguments: ``check_rev_over_rev`` checks the
    backward of the backward, ``check_fwd_over_rev`` its forward mode;
    ``gen_non_contig_grad_outputs`` makes the random output gradients non-contiguous views;
    the rest are passed to :func:`gradcheck`. ``seed`` draws the random output gradients
    (complex ones, with random real and imaginary parts, for complex outputs).
    """
    from . import grad as autograd_grad
    from .transforms import _leaf

    if check_batched_grad:
        raise NotImplementedError(
            "gradgradcheck: check_batched_grad=True is not supported: the second-order check "
            "would vmap over autograd.grad with create_graph, which cr.func.vmap does not lift "
            "(gradcheck's check_batched_grad, on first derivatives, is supported)"
        )
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _check_inputs(inputs, "gradgradcheck")
    outs = output_tuple(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:

        def draw(shape: tuple, complex_: bool) -> np.ndarray:
            if not gen_non_contig_grad_outputs or not shape:
                return draw_normal(rng, shape, complex_)
            return draw_normal(rng, shape + (2,), complex_)[..., 0]  # a strided view

        grad_outputs = tuple(
            Tensor._make(draw(o.shape, o.is_complex()), True, None, 0) for o in outs
        )
    else:
        grad_outputs = (
            tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (grad_outputs,)
        )
    n = len(inputs)

    def first_grads(*args):
        xs, vs = list(args[:n]), args[n:]
        for i in idx:  # under check_fwd_over_rev an input is a forward-mode dual: a leaf
            xs[i] = _leaf(xs[i])  # that keeps its tangent (the input itself otherwise)
        with grad_mode.enable_grad():  # finite differences run under no_grad
            os = output_tuple(fn, xs)
            gs = autograd_grad(
                list(os), [xs[i] for i in idx], list(vs), create_graph=True, allow_unused=True
            )
        return tuple(g if g is not None else (xs[i] * 0).sum() * 0 for g, i in zip(gs, idx))

    return gradcheck(
        first_grads,
        inputs + grad_outputs,
        eps,
        atol,
        rtol,
        raise_exception,
        nondet_tol=nondet_tol,
        check_undefined_grad=check_undefined_grad,
        check_grad_dtypes=check_grad_dtypes,
        check_forward_ad=check_fwd_over_rev,
        check_backward_ad=check_rev_over_rev,
        fast_mode=fast_mode,
        masked=masked,
    )


def check_vjp_jvp(
    fn: Callable, inputs: Sequence, seed: int = 0, rtol: float = 1e-6, atol: float = 1e-8
) -> bool:
    """The inner-product test: <J v, u> == <v, Jᵀ u> for random v (tangent) and u (cotangent).

    For complex tensors the inner product is the real one, Re(sum(conj(a) b)), under which
    a vjp in PyTorch's convention is the adjoint of the jvp.

    Forward mode (jvp) and reverse mode (vjp) must agree; returns True or raises
    :class:`GradcheckError` with both numbers.
    """
    from .transforms import jvp, vjp

    rng = np.random.default_rng(seed)
    inputs = tuple(inputs)
    tangents = tuple(
        Tensor._new(
            backend.to_device(draw_normal(rng, x.shape, x.is_complex()), x.device), dtype=x.dtype
        )
        for x in inputs
    )
    out, tout = jvp(fn, inputs, tangents)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    us = tuple(
        Tensor._new(
            backend.to_device(draw_normal(rng, o.shape, o.is_complex()), o.device), dtype=o.dtype
        )
        for o in outs
    )
    _, vjp_fn = vjp(fn, *inputs)
    grads = vjp_fn(us if len(us) > 1 else us[0])
    lhs = sum(_inner(t, u) for t, u in zip(touts, us))
    rhs = sum(_inner(g, v) for g, v in zip(grads, tangents))
    if not np.isclose(lhs, rhs, rtol=rtol, atol=atol):
        raise GradcheckError(f"jvp/vjp mismatch: <J v, u> = {lhs!r} but <v, J^T u> = {rhs!r}")
    return True


def _inner(a: Tensor, b: Tensor) -> float:
    """The real inner product of two tensors (Re(sum(conj(a) b)) if either is complex)."""
    x, y = backend.host(a._data), backend.host(b._data)
    if x.dtype.kind == "c" or y.dtype.kind == "c":
        return float(np.real(np.vdot(x, y)))
    return float((x * y).sum())
