"""gradcheck's batched checks: vmap over the derivative rules agrees with a loop over them.

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

from .tensor import Tensor

__all__ = ["batched_grad_failure", "batched_forward_grad_failure"]


def _stack(shards: Sequence[Tensor]) -> np.ndarray:
    return np.stack([np.asarray(s.detach()._data) for s in shards])


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

        cots = [Tensor._new(rng.standard_normal(out.shape).astype(out.dtype)) for _ in range(2)]
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
        tans = [Tensor._new(rng.standard_normal(shape).astype(dtype)) for _ in range(2)]
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
