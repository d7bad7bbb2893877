"""Numerical gradient checks in float64: gradcheck, gradgradcheck, and the vjp/jvp identity.

``gradcheck`` compares the full Jacobian from backward (one vjp per output element) and,
with ``check_forward_ad``, from forward mode (one jvp per input element) with central finite
differences (f(x + eps) - f(x - eps)) / 2eps, and on failure reports the worst element:
which input, which output, where, and both values. It takes PyTorch's arguments
(``nondet_tol``, ``check_undefined_grad``, ``check_grad_dtypes``, ``fast_mode``, the batched
checks of :mod:`.gradcheck_batched`, ...); ``masked`` (sparse semantics) raises
NotImplementedError when asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import grad_mode
from .gradcheck_batched import batched_forward_grad_failure, batched_grad_failure
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


def _forward_jacobian(fn: Callable, inputs: Sequence, i: int) -> list:
    """d(outputs)/d(inputs[i]) by forward mode: one jvp per input element (a one-hot tangent),
    as (out.size, in.size) arrays."""
    from .functional import jvp

    x = inputs[i]

    def f_of_xi(xi: Tensor) -> tuple:
        return _outputs(fn, inputs[:i] + (xi,) + inputs[i + 1 :])

    primal = x.detach()
    cols = []
    for j in range(x.numel()):
        e = np.zeros(x.numel())
        e[j] = 1.0
        _, touts = jvp(f_of_xi, (primal,), (Tensor._make(e.reshape(x.shape), False, None, 0),))
        cols.append([np.asarray(t._data, np.float64).reshape(-1) for t in touts])
    n_out = len(_outputs(fn, inputs))
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
    out_pos = [int(p) for p in np.unravel_index(pos[0], _outputs(fn, inputs)[k].shape)]
    in_pos = [int(p) for p in np.unravel_index(pos[1], inputs[i].shape)]
    return (
        f"gradcheck failed ({kind}) for output {k}, input {i}: worst element "
        f"d out{out_pos} / d in{in_pos}: {kind} {ana[pos]:.8g}, "
        f"numerical {num[pos]:.8g} (atol={atol}, rtol={rtol}).\n"
        f"{kind} jacobian:\n{ana}\nnumerical jacobian:\n{num}"
    )


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _check_undefined_grad(fn: Callable, inputs: Sequence, idx: Sequence[int]) -> str | None:
    """Zero output gradients (PyTorch's "undefined" ones, which it treats as zeros) must give
    zero (or no) input gradients."""
    from . import grad as autograd_grad

    outs = [o for o in _outputs(fn, inputs) if o.requires_grad]
    if not outs:
        return None
    zeros = [Tensor._make(np.zeros(o.shape, o.dtype), False, None, 0) for o in outs]
    gs = autograd_grad(outs, [inputs[i] for i in idx], zeros, allow_unused=True)
    for i, g in zip(idx, gs):
        if g is not None and np.asarray(g._data).any():
            return f"gradcheck: zero output gradients gave a nonzero gradient for input {i}"
    return None


def _check_grad_dtypes(fn: Callable, inputs: Sequence, idx: Sequence[int]) -> str | None:
    """Each input's gradient has that input's dtype and shape."""
    from . import grad as autograd_grad

    outs = [o for o in _outputs(fn, inputs) if o.requires_grad]
    if not outs:
        return None
    ones = [Tensor._make(np.ones(o.shape, o.dtype), False, None, 0) for o in outs]
    gs = autograd_grad(outs, [inputs[i] for i in idx], ones, allow_unused=True)
    for i, g in zip(idx, gs):
        if g is not None and (g.dtype != inputs[i].dtype or g.shape != inputs[i].shape):
            return (
                f"gradcheck: the gradient of input {i} has dtype {g.dtype} and shape "
                f"{tuple(g.shape)}; the input has {inputs[i].dtype} and {tuple(inputs[i].shape)}"
            )
    return None


def _fast_check(
    fn: Callable, inputs: Sequence, idx: Sequence[int], eps, atol, rtol, forward: bool, seed: int
) -> str | None:
    """PyTorch's ``fast_mode``: instead of whole Jacobians, compare uᵀ J v for random unit u
    (over the outputs) and v (over each input): numerically by one central difference along
    v, analytically by one vjp (or, for forward mode, one jvp)."""
    from . import grad as autograd_grad
    from .functional import jvp

    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    us = [rng.standard_normal(o.shape) for o in outs]
    us = [u / max(np.linalg.norm(u), 1e-300) for u in us]
    for i in idx:
        x = inputs[i]
        v = rng.standard_normal(x.shape)
        v /= max(np.linalg.norm(v), 1e-300)
        flat = x._data
        orig = flat.copy()
        with grad_mode.no_grad():
            flat[...] = orig + eps * v
            plus = [np.array(o._data, np.float64) for o in _outputs(fn, inputs)]
            flat[...] = orig - eps * v
            minus = [np.array(o._data, np.float64) for o in _outputs(fn, inputs)]
            flat[...] = orig
        num = sum(float(((p - m) / (2 * eps) * u).sum()) for p, m, u in zip(plus, minus, us))
        if forward:

            def f_of_xi(xi: Tensor, i: int = i) -> tuple:
                return _outputs(fn, inputs[:i] + (xi,) + inputs[i + 1 :])

            _, touts = jvp(f_of_xi, (x.detach(),), (Tensor._make(v, False, None, 0),))
            ana = sum(float((np.asarray(t._data, np.float64) * u).sum()) for t, u in zip(touts, us))
        else:
            live = [(o, u) for o, u in zip(_outputs(fn, inputs), us) if o.requires_grad]
            ana = 0.0
            if live:
                (g,) = autograd_grad(
                    [o for o, _ in live],
                    [x],
                    [Tensor._make(u.astype(o.dtype), False, None, 0) for o, u in live],
                    allow_unused=True,
                )
                ana = 0.0 if g is None else float((np.asarray(g._data, np.float64) * v).sum())
        if not abs(ana - num) <= atol + rtol * abs(num):
            kind = "forward mode" if forward else "backward"
            return (
                f"gradcheck (fast mode, {kind}) failed for input {i}: uᵀJv analytical "
                f"{ana:.10g}, numerical {num:.10g} (atol={atol}, rtol={rtol})"
            )
    return None


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
        inputs: a tensor or a tuple of them (float64 where requires_grad=True).
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
                msg := _fast_check(fn, inputs, idx, eps, atol, rtol, forward, seed=0)
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
            (_check_undefined_grad, check_undefined_grad),
            (_check_grad_dtypes, check_grad_dtypes),
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
    the rest are passed to :func:`gradcheck`. ``seed`` draws the random output gradients.
    """
    from . import grad as autograd_grad
    from .functional import _leaf

    if check_batched_grad:
        raise NotImplementedError(
            "gradgradcheck: check_batched_grad=True is not supported: the second-order check "
            "would vmap over autograd.grad with create_graph, which cr.func.vmap does not lift "
            "(gradcheck's check_batched_grad, on first derivatives, is supported)"
        )
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _check_inputs(inputs, "gradgradcheck")
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:

        def draw(shape: tuple) -> np.ndarray:
            if not gen_non_contig_grad_outputs or not shape:
                return rng.standard_normal(shape)
            return rng.standard_normal(shape + (2,))[..., 0]  # a strided view

        grad_outputs = tuple(Tensor._make(draw(o.shape), True, None, 0) for o in outs)
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
            os = _outputs(fn, xs)
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
