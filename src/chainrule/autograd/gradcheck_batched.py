"""gradcheck's checks beyond the full Jacobian, and the real coordinates they share.

A complex element is two real coordinates (Re, Im): :func:`real_coords` reads an array so,
:func:`coord_units` gives the directions (1, i) that perturb or select them (see
:mod:`.gradcheck`). ``fast_mode``: uᵀ J v for random unit u and v instead of whole Jacobians.

``check_undefined_grad``: zero output gradients give zero input gradients.
``check_grad_dtypes``: each gradient has its input's dtype and shape.

``check_batched_grad`` (PyTorch's ``_test_batched_grad``): for each output, the
vector-Jacobian products of two random cotangents computed one by one must equal
``vmap(vjp)`` over the two stacked. ``check_batched_forward_grad``: the same for the
Jacobian-vector products of each input under ``vmap(jvp)``. Neither compares with finite
differences (gradcheck does that); they check that the backward and forward rules behave
under :func:`chainrule.func.vmap`, which ``jacrev``/``jacfwd``-style batched code relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import grad_mode
from .tensor import Tensor
from .transforms import jvp

__all__ = [
    "batched_forward_grad_failure",
    "batched_grad_failure",
    "coord_units",
    "draw_normal",
    "fast_mode_failure",
    "grad_dtypes_failure",
    "n_coords",
    "output_tuple",
    "real_coords",
    "undefined_grad_failure",
]


def _stack(shards: Sequence[Tensor]) -> np.ndarray:
    return np.stack([np.asarray(s.detach()._data) for s in shards])


def output_tuple(fn: Callable, inputs: Sequence) -> tuple:
    """``fn(*inputs)`` as a tuple of outputs."""
    out = fn(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def coord_units(a: Any) -> tuple:
    """The directions of one element's real coordinates: 1 (real), or 1 and i (complex)."""
    return (1.0, 1j) if a.dtype.kind == "c" else (1.0,)


def real_coords(a: Any, complex_: bool | None = None) -> np.ndarray:
    """An array's real coordinates as a new float64 vector: a complex element gives its
    (Re, Im) pair; ``complex_=True`` reads a real array as complex (zero imaginary parts)."""
    if complex_ if complex_ is not None else a.dtype.kind == "c":
        return np.array(a, np.complex128).reshape(-1).view(np.float64)
    return np.array(a, np.float64).reshape(-1)


def n_coords(t: Tensor) -> int:
    """How many real coordinates ``t`` has (two per complex element)."""
    return t.numel() * len(coord_units(t))


def draw_normal(rng: np.random.Generator, shape: tuple, complex_: bool) -> np.ndarray:
    """Standard normal draws, complex (independent Re and Im) for a complex tensor."""
    if complex_:  # an array even for shape () (0-d arithmetic gives a NumPy scalar)
        return np.asarray(rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    return rng.standard_normal(shape)


def fast_mode_failure(
    fn: Callable, inputs: Sequence, idx: Sequence[int], eps, atol, rtol, forward: bool, seed: int
) -> str | None:
    """PyTorch's ``fast_mode``: instead of whole Jacobians, compare uᵀ J v for random unit u
    (over the outputs) and v (over each input): numerically by one central difference along
    v, analytically by one vjp (or, for forward mode, one jvp)."""
    from . import grad as autograd_grad  # in here: the package imports gradcheck (a cycle)

    rng = np.random.default_rng(seed)
    outs = output_tuple(fn, inputs)
    us = [draw_normal(rng, o.shape, o.is_complex()) for o in outs]
    us = [u / max(np.linalg.norm(u), 1e-300) for u in us]
    for i in idx:
        x = inputs[i]
        v = draw_normal(rng, x.shape, x.is_complex())
        v /= max(np.linalg.norm(v), 1e-300)
        flat = x._data
        orig = flat.copy()
        with grad_mode.no_grad():
            flat[...] = orig + eps * v
            plus = [real_coords(o._data) for o in output_tuple(fn, inputs)]
            flat[...] = orig - eps * v
            minus = [real_coords(o._data) for o in output_tuple(fn, inputs)]
            flat[...] = orig
        num = sum(float((p - m) / (2 * eps) @ real_coords(u)) for p, m, u in zip(plus, minus, us))
        if forward:

            def f_of_xi(xi: Tensor, i: int = i) -> tuple:
                return output_tuple(fn, inputs[:i] + (xi,) + inputs[i + 1 :])

            _, touts = jvp(f_of_xi, (x.detach(),), (Tensor._make(v, False, None, 0),))
            ana = sum(
                float(real_coords(t._data, o.is_complex()) @ real_coords(u))
                for t, o, u in zip(touts, outs, us)
            )
        else:
            live = [(o, u) for o, u in zip(output_tuple(fn, inputs), us) if o.requires_grad]
            ana = 0.0
            if live:
                (g,) = autograd_grad(
                    [o for o, _ in live],
                    [x],
                    [Tensor._make(u.astype(o.dtype), False, None, 0) for o, u in live],
                    allow_unused=True,
                )
                if g is not None:
                    ana = float(real_coords(g._data, x.is_complex()) @ real_coords(v))
        if not abs(ana - num) <= atol + rtol * abs(num):
            kind = "forward mode" if forward else "backward"
            return (
                f"gradcheck (fast mode, {kind}) failed for input {i}: uᵀJv analytical "
                f"{ana:.10g}, numerical {num:.10g} (atol={atol}, rtol={rtol})"
            )
    return None


def _draw_as(rng: np.random.Generator, t: Tensor) -> np.ndarray:
    return draw_normal(rng, t.shape, t.is_complex()).astype(t.dtype)


def _mismatch(kind: str, res: Any, exp: np.ndarray, where: str) -> str | None:
    got = np.asarray(res.detach()._data)
    if got.shape == exp.shape and np.allclose(got, exp, rtol=1e-5, atol=1e-8, equal_nan=True):
        return None
    return (
        f"gradcheck: {kind} failed for {where}: vmap over the derivative gave\n{got}\n"
        f"but the derivatives computed one by one are\n{exp}\n(If vmap is not meant to "
        f"support this function, pass {kind}=False.)"
    )


def _unbatchable(kind: str, where: str, err: Exception) -> str:
    return (
        f"gradcheck: {kind} failed for {where}: while computing batched gradients under "
        f"cr.func.vmap, got {type(err).__name__}: {err}\n(Some derivative rules compute on raw "
        f"arrays that vmap cannot batch; if this function is not meant to support vmap, pass "
        f"{kind}=False.)"
    )


def undefined_grad_failure(fn: Callable, inputs: Sequence, idx: Sequence[int]) -> str | None:
    """Zero output gradients (PyTorch's "undefined" ones, which it treats as zeros) must give
    zero (or no) input gradients."""
    from . import grad as autograd_grad  # in here: the package imports gradcheck (a cycle)

    outs = [o for o in output_tuple(fn, inputs) if o.requires_grad]
    if not outs:
        return None
    zeros = [Tensor._make(np.zeros(o.shape, o.dtype), False, None, 0) for o in outs]
    gs = autograd_grad(outs, [inputs[i] for i in idx], zeros, allow_unused=True)
    for i, g in zip(idx, gs):
        if g is not None and np.asarray(g._data).any():
            return f"gradcheck: zero output gradients gave a nonzero gradient for input {i}"
    return None


def grad_dtypes_failure(fn: Callable, inputs: Sequence, idx: Sequence[int]) -> str | None:
    """Each input's gradient has that input's dtype and shape."""
    from . import grad as autograd_grad  # in here: the package imports gradcheck (a cycle)

    outs = [o for o in output_tuple(fn, inputs) if o.requires_grad]
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


def batched_grad_failure(fn: Callable, inputs: tuple, idx: list, seed: int = 0) -> str | None:
    """``check_batched_grad``: a message if vmap over the vjp differs from two vjps, else
    None. As in ``torch.func``, the vjp is taken inside the vmapped function
    (``vmap(lambda v: vjp(f, *x)[1](v))``), the composition chainrule's vmap lifts."""
    from ..func import vjp as func_vjp  # in here: cr.func is built on autograd (a cycle)
    from ..func import vmap

    rng = np.random.default_rng(seed)
    plain = tuple(x.detach() if isinstance(x, Tensor) else x for x in inputs)
    res = fn(*inputs)
    outs = res if isinstance(res, (tuple, list)) else (res,)
    for k, out in enumerate(outs):
        if not out.requires_grad:
            continue

        def vjp(v: Tensor, k: int = k) -> tuple:
            def of_inputs(*xs: Tensor) -> Tensor:
                args = list(plain)
                for i, x in zip(idx, xs):
                    args[i] = x
                r = fn(*args)
                return r[k] if isinstance(r, (tuple, list)) else r

            _, vjp_fn = func_vjp(of_inputs, *(plain[i] for i in idx))
            return tuple(vjp_fn(v))

        cots = [
            Tensor._new(draw_normal(rng, out.shape, out.is_complex()).astype(out.dtype))
            for _ in range(2)
        ]
        expected = [_stack(shards) for shards in zip(*(vjp(v) for v in cots))]
        try:
            result = vmap(vjp)(Tensor._new(np.stack([c._data for c in cots])))
        except (RuntimeError, TypeError, ValueError) as err:
            return _unbatchable("check_batched_grad", f"output {k}", err)
        for j, (got, exp) in enumerate(zip(result, expected)):
            if msg := _mismatch("check_batched_grad", got, exp, f"output {k}, input {idx[j]}"):
                return msg
    return None


def batched_forward_grad_failure(
    fn: Callable, inputs: tuple, idx: list, seed: int = 0
) -> str | None:
    """``check_batched_forward_grad``: a message if vmap(jvp) differs from two jvps."""
    from ..func import jvp as func_jvp  # in here: cr.func is built on autograd (a cycle)
    from ..func import vmap

    rng = np.random.default_rng(seed)
    plain = tuple(x.detach() if isinstance(x, Tensor) else x for x in inputs)
    for i in idx:

        def jvp(t: Tensor, i: int = i) -> tuple:
            def of_input(x: Tensor) -> Any:
                args = list(plain)
                args[i] = x
                return fn(*args)

            _, tangents = func_jvp(of_input, (plain[i],), (t,))
            return tangents if isinstance(tangents, tuple) else (tangents,)

        shape, dtype = plain[i].shape, plain[i].dtype
        tans = [
            Tensor._new(draw_normal(rng, shape, np.dtype(dtype).kind == "c").astype(dtype))
            for _ in range(2)
        ]
        expected = [_stack(shards) for shards in zip(*(jvp(t) for t in tans))]
        try:
            result = vmap(jvp)(Tensor._new(np.stack([t._data for t in tans])))
        except (RuntimeError, TypeError, ValueError) as err:
            return _unbatchable("check_batched_forward_grad", f"input {i}", err)
        for k, (res, exp) in enumerate(zip(result, expected)):
            where = f"input {i}, output {k}"
            if msg := _mismatch("check_batched_forward_grad", res, exp, where):
                return msg
    return None
