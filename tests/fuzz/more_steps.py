"""More step kinds for the random programs of :mod:`tests.fuzz.programs`: indexing,
masking, scans, softmax, tensor-bound clamps, element rearrangements and reductions with
ties or zeros, the ops users most often combine with autograd.

Every kind is valid for every shape: dimensions and indices are taken modulo the sizes,
and an operand that does not broadcast is replaced by its sum (a 0-d tensor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MORE", "MORE_INPLACE", "more_step", "more_inplace", "near_zero"]

MORE = (
    "where_b", "index_select", "gather", "masked_fill", "cumsum", "cumprod", "softmax",
    "log_softmax", "clamp_t", "flip", "roll", "repeat", "expand_as", "prod", "max_dim",
    "sort", "logsumexp", "norm",
)  # fmt: skip
MORE_INPLACE = ("masked_fill_", "index_add_", "scatter_", "index_fill_", "clamp_t_")


def _dim(x: Any, i: int) -> int:
    return i % max(x.dim(), 1)


def _fit(y: Any, shape: tuple) -> Any:
    """``y`` where it broadcasts to ``shape`` (without growing it), else its sum."""
    try:
        ok = np.broadcast_shapes(tuple(y.shape), shape) == shape
    except ValueError:
        ok = False
    return y if ok else y.sum()


def near_zero(x: Any) -> Any:
    """Where ``x`` is 0, or so close to it that it may be a rounding residue of 0 in one
    library and an exact 0 in the other (a float32 p log p - p log_softmax: 6e-8 vs 0): the
    mask of the steps that steer around zeros, taken the same way in both."""
    return x.abs() < 1e-4 if x.is_floating_point() else x == 0


def _joint(y: Any, shape: tuple) -> Any:
    """``y`` where it broadcasts against ``shape`` (the result may grow), else its sum."""
    try:
        np.broadcast_shapes(tuple(y.shape), shape)
    except ValueError:
        return y.sum()
    return y


def _index(lib: Any, size: int, ints: tuple, n: int) -> Any:
    """``n`` indices below ``size`` (repeats included), as an int64 tensor."""
    idx = [(ints[2] + j * ints[3]) % max(size, 1) for j in range(n)]
    return lib.tensor(np.array(idx, dtype=np.int64))


def more_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    shape = tuple(x.shape)
    n = x.dim()
    d = _dim(x, ints[1])
    size = shape[d] if n else 1
    if kind == "where_b":  # a condition of another (broadcast) shape
        cond = _joint(other, shape) > 0
        alt = val if ints[4] % 2 else _joint(third, np.broadcast_shapes(shape, cond.shape))
        return lib.where(cond, x, alt)
    if kind == "index_select":
        return x.index_select(d, _index(lib, size, ints, 1 if n == 0 else 1 + ints[4] % 3))
    if kind == "gather":
        ishape = shape[:d] + (1 + ints[4] % 3,) + shape[d + 1 :] if n else ()
        idx = np.random.default_rng(ints[2]).integers(0, size, ishape)
        return x.gather(d, lib.tensor(idx.astype(np.int64)))
    if kind == "masked_fill":
        value = other.sum() if ints[4] % 2 else val
        return x.masked_fill(_fit(third, shape) > 0, value)
    if kind in ("cumsum", "cumprod", "softmax", "log_softmax", "logsumexp"):
        if kind in ("softmax", "log_softmax") and x.numel() == 0 and not x.is_floating_point():
            # torch returns an empty integer tensor (no kernel runs), chainrule refuses the
            # dtype whatever the size: not mirrored
            x = x.float()
        return getattr(x, kind)(d)
    if kind == "clamp_t":
        lo = _joint(other, shape)
        if ints[4] % 3 == 0:
            return x.clamp(min=lo)
        if ints[4] % 3 == 1:
            return x.clamp(max=lo)
        return lib.clamp(x, lo, lo + abs(val))
    if kind == "flip":
        dims = [i for i in range(n) if (ints[2] >> i) & 1] or [d]
        return x.flip(dims)
    if kind == "roll":
        if ints[4] % 2:
            return x.roll(ints[2] - 5)
        return x.roll((ints[2] - 5, ints[3]), (d, _dim(x, ints[2]))) if n else x.roll(1, 0)
    if kind == "repeat":
        reps = [1 + (ints[2] >> i) % 2 for i in range(n + ints[3] % 2)]
        return x.repeat(*reps) if reps else x.repeat(())
    if kind == "expand_as":
        try:
            grows = np.broadcast_shapes(shape, tuple(other.shape)) == tuple(other.shape)
        except ValueError:
            grows = False
        return x.expand_as(other) if grows else x.expand_as(x)
    if kind == "prod":
        return x.prod(d, keepdim=bool(ints[4] % 2)) if ints[3] % 3 else x.prod()
    if kind == "max_dim":
        return getattr(x, "max" if ints[4] % 2 else "min")(d, keepdim=bool(ints[3] % 2))[0]
    if kind == "sort":
        return x.sort(d, descending=bool(ints[4] % 2))[0]
    if kind == "norm":
        # zeros too: the second derivative of a norm at 0 is torch's NaN in chainrule since
        # session 45 (Norm2 / EuclideanNorm follow norm_backward, test_found_cases_s45.py)
        return x.norm() if ints[4] % 2 else x.norm(dim=d)
    raise AssertionError(kind)


def more_inplace(lib: Any, kind: str, x: Any, other: Any, ints: tuple, val: float) -> None:
    """One in-place step of kind ``kind`` on ``x`` (``other``: another slot)."""
    shape = tuple(x.shape)
    n = x.dim()
    d = _dim(x, ints[1])
    size = shape[d] if n else 1
    if kind != "clamp_t_" and any(st == 0 and k > 1 for st, k in zip(x.stride(), shape)):
        # into an expanded tensor: torch writes (deprecated, with a warning), chainrule
        # refuses (a known difference, test_found_cases.py, xfail), so not fuzzed
        x.add_(val)
        return
    if kind == "masked_fill_":
        value = other.sum() if ints[4] % 2 else val
        if not x.is_floating_point() and ints[4] % 2:
            value = value.detach()  # as index_fill_ below: a torch bug not mirrored
        x.masked_fill_(_fit(other, shape) < 0, value)
    elif kind == "index_add_":
        if x.numel() == 0:
            # torch's backward of index_add_ into an empty tensor raises ("index_select():
            # self indexing axis dim should be positive"): a torch bug, not mirrored
            x.add_(val)
            return
        idx = _index(lib, size, ints, 1 if n == 0 else 1 + ints[4] % 3)
        sshape = shape[:d] + (len(idx),) + shape[d + 1 :] if n else ()
        src = other.sum() * lib.ones(sshape, dtype=other.dtype) if n else other.sum()
        x.index_add_(d, idx, src.to(x.dtype), alpha=val)
    elif kind == "scatter_":
        ishape = shape[:d] + (1,) + shape[d + 1 :] if n else ()
        idx = np.random.default_rng(ints[2]).integers(0, size, ishape)
        x.scatter_(d, lib.tensor(idx.astype(np.int64)), val)
    elif kind == "index_fill_":
        idx = _index(lib, size, ints, 1 if n == 0 else 1 + ints[4] % 2)
        value = other.sum() if ints[4] % 3 == 0 else val
        if not x.is_floating_point() and ints[4] % 3 == 0:
            # torch marks an integer or bool x as requiring grad after index_fill_ with a
            # value that requires grad (a torch bug: such tensors cannot require grad)
            value = value.detach()
        x.index_fill_(d, idx, value)
    elif kind == "clamp_t_":
        lo = _fit(other, shape)
        x.clamp_(min=lo, max=lo + abs(val)) if ints[4] % 2 else x.clamp_(max=lo)
    else:
        raise AssertionError(kind)
