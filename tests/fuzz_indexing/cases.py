"""Random indexing cases, run the same way on torch and on chainrule and compared.

A :class:`Case` is plain data (so that a failure prints as a case to paste into
``test_found_cases.py``): a leaf's shape, dtype and layout, a *mode* (what is done with the
index), the index as a tuple of item specs, and for writes the value written. :func:`draw`
makes one from a seeded generator; :func:`observe` runs it with one library module
(``torch`` or ``chainrule``: one interpreter serves both) and returns everything observable:
values, shapes, dtypes, whether the result is a view sharing the leaf's memory and its
strides, the gradients of a weighted sum, the forward-mode tangents, or the error raised.
:func:`compare` lists the differences between two observations.

Index item specs (materialized by :func:`index_item`):

``("i", k)`` int; ``("s", start, stop, step)`` slice; ``("n",)`` None; ``("e",)`` Ellipsis;
``("b", flag)`` Python bool; ``("B0", flag)`` 0-d bool tensor; ``("I0", k)`` 0-d int64
tensor; ``("t", shape, flat, dtype)`` int64/int32 index tensor; ``("m", shape, flat)`` bool
mask tensor; ``("l", nested)`` a Python list (of ints, or of bools).

Modes: ``get`` (``x[idx]``), ``set`` (``y = x.clone(); y[idx] = v``; op ``leaf`` writes into
the leaf itself), ``put`` (``index_put_``/``index_put``, op ``acc``/``noacc`` with a trailing
``_`` for the in-place form), ``chain`` (``y = x.clone(); a = y[idx]; a[idx2]`` then op
``mul_``/``add_``/``zero_``/``set``), ``dim`` (the dim-wise ops named by ``op``: take, gather,
index_select, take_along_dim, masked_select, put_, put_acc_, masked_fill_).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

__all__ = ["Case", "draw", "observe", "compare", "check"]

DTYPES = ("float64", "float64", "float32", "int64", "bool")
MODES = ("get", "get", "get", "set", "set", "put", "chain", "dim")
DIM_OPS = (
    "take", "gather", "index_select", "take_along_dim", "masked_select", "put_", "put_acc_",
    "masked_fill_",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    shape: tuple
    dtype: str = "float64"
    layout: int = 0  # 0 contiguous, 1 permuted (a transposed base), 2 every other row of a base
    mode: str = "get"
    index: tuple = ()
    bare: bool = False  # x[item] rather than x[(item,)] (one item only)
    value: tuple | None = None  # ("scalar", number) | ("tensor", shape, dtype, const)
    index2: tuple = ()
    bare2: bool = False
    op: str = ""
    seed: int = 0

    def __repr__(self) -> str:
        fields = [f"{self.shape!r}", f"{self.dtype!r}"]
        for name, default in (
            ("layout", 0), ("mode", "get"), ("index", ()), ("bare", False), ("value", None),
            ("index2", ()), ("bare2", False), ("op", ""), ("seed", 0),
        ):  # fmt: skip
            v = getattr(self, name)
            if v != default:
                fields.append(f"{name}={v!r}")
        return f"Case({', '.join(fields)})"


# ---------------------------------------------------------------------------------------
# materializing a case with one library


def _dtype(lib: Any, name: str) -> Any:
    return getattr(lib, name)


def index_item(lib: Any, spec: tuple) -> Any:
    kind = spec[0]
    if kind == "i":
        return spec[1]
    if kind == "s":
        return slice(*spec[1:])
    if kind == "n":
        return None
    if kind == "e":
        return Ellipsis
    if kind == "b":
        return spec[1]
    if kind == "B0":
        return lib.tensor(spec[1])
    if kind == "I0":
        return lib.tensor(spec[1], dtype=lib.int64)
    if kind == "t":  # ("t", shape, flat, dtype[, "T": laid out transposed])
        arr = np.array(spec[2], dtype=np.int64).reshape(spec[1])
        if len(spec) > 4 and arr.ndim > 1:
            perm = tuple(reversed(range(arr.ndim)))
            t = lib.tensor(np.ascontiguousarray(arr.transpose(perm)), dtype=_dtype(lib, spec[3]))
            return t.permute(*perm)
        return lib.tensor(arr, dtype=_dtype(lib, spec[3]))
    if kind == "m":  # ("m", shape, flat[, "uint8": the deprecated byte mask])
        arr = np.array(spec[2], dtype=bool).reshape(spec[1])
        return lib.tensor(arr.astype(np.uint8) if len(spec) > 3 else arr)
    if kind == "np":  # a NumPy integer array
        return np.array(spec[2], dtype=np.int64).reshape(spec[1])
    if kind == "npi":  # a NumPy integer scalar
        return np.int64(spec[1])
    if kind == "l":
        return _as_list(spec[1])
    raise ValueError(spec)


def _as_list(nested: Any) -> Any:
    return [_as_list(i) for i in nested] if isinstance(nested, tuple) else nested


def make_index(lib: Any, items: tuple, bare: bool) -> Any:
    parts = tuple(index_item(lib, s) for s in items)
    return parts[0] if bare and len(parts) == 1 else parts


def _data(shape: tuple, dtype: str, rng: np.random.Generator) -> np.ndarray:
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype == "int64":
        return rng.integers(-5, 6, shape).astype(np.int64)
    return np.round(rng.standard_normal(shape), 3).astype(dtype)


def make_leaf(lib: Any, case: Case) -> Any:
    """The leaf: contiguous, a permutation of a contiguous base, or every other row of one;
    requiring grad where it is floating."""
    data = _data(case.shape, case.dtype, np.random.default_rng(case.seed))
    nd = len(case.shape)
    if case.layout == 1 and nd >= 2:
        perm = tuple(reversed(range(nd)))
        x = lib.tensor(np.ascontiguousarray(data.transpose(perm))).permute(*perm)
    elif case.layout == 2 and nd >= 1:
        big = np.zeros((2 * case.shape[0],) + case.shape[1:], dtype=data.dtype)
        big[::2] = data
        x = lib.tensor(big)[::2]
    else:
        x = lib.tensor(data)
    if case.dtype.startswith("float"):
        x.requires_grad_()
    return x


def _rand(lib: Any, shape: tuple, dtype: Any, seed: int, const: bool = False) -> Any:
    rng = np.random.default_rng(seed)
    arr = np.round(rng.standard_normal(shape), 3)
    if const:
        arr = np.full(shape, arr.flat[0] if arr.size else 0.5)
    return lib.tensor(arr, dtype=dtype)


def make_value(lib: Any, case: Case, grad: bool = True) -> Any:
    spec = case.value
    if spec is None or spec[0] == "scalar":
        return 1.5 if spec is None else spec[1]
    _, shape, dtype, const = spec
    data = _data(shape, dtype, np.random.default_rng(case.seed + 7))
    if const and data.size:
        data = np.full(shape, data.flat[0])
    v = lib.tensor(data)
    if grad and dtype.startswith("float"):
        v.requires_grad_()
    return v


# ---------------------------------------------------------------------------------------
# observing


class Err:
    """An exception raised while running (compared by type)."""

    def __init__(self, exc: BaseException):
        self.type = type(exc).__name__
        # chainrule's errors may subclass two builtins (IndexError and RuntimeError) so
        # that code written for either catches them: torch's type must be one of them
        self.types = {c.__name__ for c in type(exc).__mro__}
        self.msg = " ".join(str(exc).split())[:160]

    def __repr__(self) -> str:
        return f"<{self.type}: {self.msg}>"


def arr(t: Any) -> Any:
    if t is None:
        return None
    if isinstance(t, cr.Tensor):
        # not .numpy(): it marks the memory as shared with the user (tests/fuzz/programs.py)
        return np.array(t._data, copy=True)
    try:
        return np.array(t.detach().numpy(), copy=True)
    except RuntimeError:  # torch's ZeroTensor (a tangent known to be zero) has no array
        return np.zeros(tuple(t.shape), str(t.dtype).split(".")[-1])


def _dname(t: Any) -> str:
    return str(t.dtype).split(".")[-1]


def _base_kind(out: Any, x: Any) -> str:
    base = out._base
    if base is None:
        return "none"
    if base is x:
        return "x"
    if x._base is not None and base is x._base:
        return "x.base"
    return "other"


def _shares(a: Any, b: Any) -> bool:
    if a.numel() == 0 or b.numel() == 0:
        return False  # an empty tensor's storage pointer means nothing
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _meta(out: Any, x: Any) -> tuple:
    view = out._is_view()
    return (tuple(out.shape), _dname(out), view, _base_kind(out, x), _shares(out, x))


def _layout(t: Any, size1: bool = True) -> tuple:
    """Strides and storage offset. The stride of a dim of size 1 counts too: it never
    picks an element, but a later view (``.view()``, ``.transpose().contiguous()``, ...)
    reads it; torch's choice for it depends on the order it applied the index items
    (``x[None, 2]`` gives the new dim ``x.stride(0) * x.size(0)``). ``size1=False`` leaves
    it out (a result of ``clone()``, whose strides for size-1 dims are not this suite's)."""
    if t.numel() <= 1:
        return ()
    return (
        tuple(s if size1 or n != 1 else None for s, n in zip(t.stride(), t.shape)),
        t.storage_offset(),
    )


def _wsum(lib: Any, outs: list, seed: int) -> Any:
    total = None
    for k, o in enumerate(outs):
        # an integer result may require grad in torch: ``y[()] = v`` with an int64 ``y`` and
        # a 0-d float ``v`` that requires grad fills through fill_, which marks ``y`` (with
        # a FillBackward3 node) although integers carry no gradient; chainrule leaves it
        # without one. Steered around: only floating results are differentiated and their
        # requires_grad compared
        if o is None or not o.requires_grad or not o.is_floating_point():
            continue
        term = (o * _rand(lib, tuple(o.shape), o.dtype, seed + 100 + k)).sum()
        total = term if total is None else total + term
    return total


def _grads(lib: Any, obs: dict, outs: list, leaves: dict, seed: int) -> None:
    loss = _wsum(lib, outs, seed)
    if loss is None:
        return
    try:
        loss.backward()
    except Exception as exc:  # noqa: BLE001
        obs["backward"] = Err(exc)
        return
    for name, leaf in leaves.items():
        if leaf is not None and getattr(leaf, "requires_grad", False):
            obs["grad " + name] = arr(leaf.grad)


def _run_forward(lib: Any, case: Case, body: Any) -> Any:
    """``body(x, v)`` with ``x`` (and a tensor value) made dual with seeded tangents; the
    tangents of what it returns."""
    fwad = lib.autograd.forward_ad
    x = make_leaf(lib, case).detach()
    v = make_value(lib, case, grad=False)
    with fwad.dual_level():
        if x.is_floating_point():
            x = fwad.make_dual(x, _rand(lib, tuple(x.shape), x.dtype, case.seed + 1))
        if isinstance(v, lib.Tensor) and v.is_floating_point() and x.is_floating_point():
            const = bool(case.value[3])
            v = fwad.make_dual(v, _rand(lib, tuple(v.shape), v.dtype, case.seed + 2, const))
        outs = body(x, v)
        return [arr(fwad.unpack_dual(o).tangent) for o in outs]


def observe(lib: Any, case: Case, forward: bool = True) -> dict:
    """Everything observable about ``case`` run with ``lib``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _observe(lib, case, forward)


def _observe(lib: Any, case: Case, forward: bool) -> dict:
    obs: dict = {}
    x = make_leaf(lib, case)
    idx = make_index(lib, case.index, case.bare)
    floating = x.is_floating_point()
    mode = case.mode

    if mode == "get":

        def body(x: Any, v: Any) -> list:
            return [x[idx]]

        try:
            out = x[idx]
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["out"] = arr(out)
        obs["meta"] = _meta(out, x)
        obs["layout"] = _layout(out)  # a copy's too: torch lays some out like x
        _grads(lib, obs, [out], {"x": x}, case.seed)

    elif mode in ("set", "put"):
        # (index_put_ of an integer or bool tensor through one bool mask with a one-element
        # value is torch's masked_fill_, with its quirk: see the dim mode's masked_fill_)
        v = make_value(lib, case, grad=floating or mode == "set" or not case.op.endswith("_"))

        def body(x: Any, v: Any) -> list:
            y = x.clone()
            if mode == "set" and case.op == "iadd":
                y[idx] += v  # a read, an in-place add on the copy or view, a write back
                return [y]
            if mode == "set":
                y[idx] = v
                return [y]
            indices = idx if isinstance(idx, tuple) else (idx,)
            acc = case.op.startswith("acc")
            if case.op.endswith("_"):
                return [y.index_put_(indices, v, accumulate=acc)]
            return [lib.index_put(x, indices, v, accumulate=acc)]

        try:
            if case.op == "leaf":  # into the leaf itself: refused while grad is on
                y = x
                y[idx] = v
            elif case.op == "nograd":  # a parameter's initialization
                y = x
                with lib.no_grad():
                    y[idx] = v
                obs["leaf flags"] = (y.is_leaf, y.requires_grad, y.grad_fn is None)
            else:
                (y,) = body(x, v)
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["y"] = arr(y)
        rg = y.requires_grad and y.is_floating_point()  # see _wsum
        obs["y meta"] = (tuple(y.shape), _dname(y), rg, _layout(y, case.op in ("leaf", "nograd")))
        _grads(lib, obs, [y], {"x": x, "v": v}, case.seed)

    elif mode == "chain":
        v = make_value(lib, case)
        idx2 = make_index(lib, case.index2, case.bare2)

        def body(x: Any, v: Any) -> list:
            y = x.clone()
            a = y[idx]
            if case.op == "set":
                a[idx2] = v
            elif case.op == "mul_":
                a[idx2].mul_(2)
            elif case.op == "add_":
                a[idx2].add_(v)
            else:
                a[idx2].zero_()
            return [y, a]

        try:
            y, a = body(x, v)
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["y"], obs["a"] = arr(y), arr(a)
        obs["a meta"] = (_meta(a, y), a.requires_grad and floating, y.requires_grad and floating)
        _grads(lib, obs, [y, a], {"x": x, "v": v}, case.seed)

    else:  # dim

        def body(x: Any, v: Any) -> list:
            return [_dim_op(lib, case, x, idx, v)]

        # torch's masked_fill_ of an integer or bool tensor with a value that requires grad
        # marks the integer result as requiring grad; chainrule refuses, with the error that
        # torch gives for such a result elsewhere ("Autograd not support dtype"). Steered
        # around: the value requires grad only where the tensor filled is floating
        v = make_value(lib, case, grad=floating or case.op != "masked_fill_")
        try:
            (out,) = body(x, v)
        except Exception as exc:  # noqa: BLE001
            obs["forward"] = Err(exc)
            return obs
        obs["out"] = arr(out)
        obs["meta"] = (tuple(out.shape), _dname(out), out.requires_grad and floating)
        _grads(lib, obs, [out], {"x": x}, case.seed)
        forward = forward and case.op != "masked_select"

    if forward and floating:
        try:
            for k, t in enumerate(_run_forward(lib, case, body)):
                obs[f"tangent {k}"] = t
        except Exception as exc:  # noqa: BLE001
            obs["forward-mode"] = Err(exc)
    if floating and case.seed % 3 == 0:
        _double(lib, obs, case, body)
    return obs


def _double(lib: Any, obs: dict, case: Case, body: Any) -> None:
    """Second derivatives: the gradient of ``sum(w * out * out)`` taken with
    ``create_graph``, then the backward of a weighted sum of it."""
    x = make_leaf(lib, case)
    v = make_value(lib, case)
    leaves = [t for t in (x, v) if isinstance(t, lib.Tensor) and t.requires_grad]
    try:
        outs = [o for o in body(x, v) if o.requires_grad and o.is_floating_point()]
        if not outs:
            return
        loss = sum(
            (o * o * _rand(lib, tuple(o.shape), o.dtype, case.seed + 200 + k)).sum()
            for k, o in enumerate(outs)
        )
        grads = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        second = [
            (g * _rand(lib, tuple(g.shape), g.dtype, case.seed + 300 + k)).sum()
            for k, g in enumerate(grads)
            if g is not None and g.requires_grad
        ]
        for k, g in enumerate(grads):
            obs[f"first {k}"] = arr(g)
        if second:
            sum(second).backward()
    except Exception as exc:  # noqa: BLE001
        obs["double"] = Err(exc)
        return
    for k, leaf in enumerate(leaves):
        obs[f"second {k}"] = arr(leaf.grad)


def _dim_op(lib: Any, case: Case, x: Any, idx: Any, v: Any) -> Any:
    t = idx[0] if isinstance(idx, tuple) else idx
    op, d = case.op, case.index2[0][1] if case.index2 else 0
    if op == "take":
        return lib.take(x, t)
    if op == "gather":
        return lib.gather(x, d, t)
    if op == "index_select":
        return lib.index_select(x, d, t)
    if op == "take_along_dim":
        return lib.take_along_dim(x, t, dim=d)
    if op == "masked_select":
        return lib.masked_select(x, t)
    if op == "masked_fill_":
        return x.clone().masked_fill_(t, v)
    return x.clone().put_(t, v, accumulate=op == "put_acc_")


# ---------------------------------------------------------------------------------------
# comparing


def _tol(a: np.ndarray, loose: bool) -> float:
    return 1e-5 if loose or a.dtype == np.float32 else 1e-10


_TORCH_BACKWARD_BUGS = (
    # index_put_ of one bool mask with a one-element value of more dims than the indexed
    # result (a masked_fill_, which takes any such value): IndexPutBackward0 returns the
    # value's gradient in the indexed result's shape, and the engine refuses it
    "returned an invalid gradient",
)


def compare(ref: dict, got: dict, loose: bool = False) -> list[str]:
    """The differences of chainrule's observation ``got`` from torch's ``ref``; ``loose``:
    float32 was involved, so float64 results are compared at float32's tolerance too."""
    diffs = []
    for key, related in (("backward", ("grad ",)), ("double", ("first ", "second "))):
        err = ref.get(key)
        if isinstance(err, Err) and any(m in err.msg for m in _TORCH_BACKWARD_BUGS):
            ref = {k: v for k, v in ref.items() if k != key}
            # (chainrule raising the same error is no difference either)
            mine = got.get(key)
            same = isinstance(mine, Err) and any(m in mine.msg for m in _TORCH_BACKWARD_BUGS)
            got = {k: v for k, v in got.items() if not k.startswith(related)
                   and not (same and k == key)}  # fmt: skip
    for key in ref.keys() | got.keys():
        a, b = ref.get(key, "<absent>"), got.get(key, "<absent>")
        if isinstance(a, Err) or isinstance(b, Err):
            if not (isinstance(a, Err) and isinstance(b, Err)):
                diffs.append(f"{key}: torch {a!r} vs chainrule {_short(b)}")
            elif a.type not in b.types:
                diffs.append(f"{key}: error type torch {a!r} vs chainrule {b!r}")
            continue
        if isinstance(a, str) or isinstance(b, str):
            diffs.append(f"{key}: torch {_short(a)} vs chainrule {_short(b)}")
            continue
        if key.startswith("second ") and (a is None or b is None):
            # a gradient that is zero whatever x is: torch's first-order gradient may not
            # require grad there (the backward of a full overwrite is a plain zeros), which
            # leaves the second-order one None; chainrule's zeros are recorded
            a, b = (np.zeros_like(b) if a is None else a), (np.zeros_like(a) if b is None else b)
        if a is None or b is None:
            if a is not b:
                diffs.append(f"{key}: torch {_short(a)} vs chainrule {_short(b)}")
            continue
        if not isinstance(a, np.ndarray):
            if a != b:
                diffs.append(f"{key}: torch {a!r} vs chainrule {b!r}")
            continue
        if a.shape != b.shape or a.dtype != b.dtype:
            diffs.append(f"{key}: torch {a.shape} {a.dtype} vs chainrule {b.shape} {b.dtype}")
        elif a.dtype.kind not in "fc":
            if not np.array_equal(a, b):
                diffs.append(f"{key}: values differ torch {a.tolist()} vs chainrule {b.tolist()}")
        elif not np.allclose(b, a, rtol=_tol(a, loose), atol=_tol(a, loose), equal_nan=True):
            diffs.append(f"{key}: values differ (max {np.nanmax(np.abs(a - b)):.3g})")
    return sorted(diffs)


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    return repr(v)[:120]


def check(case: Case, forward: bool = True) -> list[str]:
    """The differences between torch and chainrule on ``case`` (empty if they agree)."""
    try:
        ref = observe(torch, case, forward)
    except Exception as exc:  # noqa: BLE001 - the harness on torch
        return [f"HARNESS torch {Err(exc)!r}"]
    try:
        got = observe(cr, case, forward)
    except Exception as exc:  # noqa: BLE001 - the harness on chainrule
        return [f"HARNESS chainrule {Err(exc)!r}"]
    err = got.get("forward")
    if isinstance(err, Err) and "IndexError" in err.types and _empty_region(case):
        if not isinstance(ref.get("forward"), Err) or ref["forward"].type != "IndexError":
            return []  # torch's quirk (see _empty_region): it fails later or not at all
    loose = case.dtype == "float32" or (case.value is not None and "float32" in case.value)
    return compare(ref, got, loose)


def _empty_region(case: Case) -> bool:
    """Whether the index of ``case`` selects no element. torch checks an index tensor's
    positions while it copies, so an out-of-range position in an index whose result is
    empty (``x[0:0, [7]]`` on 4 columns) passes unnoticed; chainrule checks them all
    first and raises IndexError. Steered around: the error is the more useful answer."""
    if case.mode != "dim" and 0 in case.shape:
        return True  # (x empty: so is any region, whatever positions the index names)
    shapes = [_target_shape(case.shape, case.index, case.bare)]
    if case.mode == "chain" and shapes[0] is not None:
        shapes.append(_target_shape(shapes[0], case.index2, case.bare2))
    if case.mode == "dim":
        return case.op not in ("masked_select", "masked_fill_") and any(
            0 in item[1] for item in case.index
        )
    return any(s is not None and 0 in s for s in shapes)


# ---------------------------------------------------------------------------------------
# drawing


def _pick(rng: np.random.Generator, options: tuple, weights: tuple) -> Any:
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def _int_in(rng: np.random.Generator, size: int, oob: float) -> int:
    if size == 0 or rng.random() < oob:
        return int(rng.choice([size, -size - 1, size + 3]))
    return int(rng.integers(-size, size))


def _slice(rng: np.random.Generator, size: int) -> tuple:
    def bound() -> Any:
        return _pick(
            rng, (None, int(rng.integers(-size - 2, size + 3)), 100, -100), (3, 5, 0.5, 0.5)
        )

    step = _pick(rng, (None, 1, 2, 3, 7, -1, 0), (5, 2, 3, 1, 0.5, 0.3, 0.2))
    return ("s", bound(), bound(), step)


def _bshape(rng: np.random.Generator) -> tuple:
    return tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(0, 3))))


def _fits(rng: np.random.Generator, b: tuple) -> tuple:
    """A shape that broadcasts to ``b``: leading dims dropped, some set to 1."""
    s = list(b[int(rng.integers(0, len(b) + 1)) if rng.random() < 0.3 else 0 :])
    return tuple(1 if rng.random() < 0.2 else n for n in s)


def _int_array(rng: np.random.Generator, shape: tuple, size: int, oob: float) -> list:
    vals = [_int_in(rng, size, 0.0) if size else 0 for _ in range(math.prod(shape))]
    if vals and (size == 0 or rng.random() < oob):
        vals[int(rng.integers(0, len(vals)))] = _int_in(rng, size, 1.0)
    return vals


def _nest(flat: list, shape: tuple) -> Any:
    if not shape:
        return flat[0]
    n = math.prod(shape[1:])
    return tuple(_nest(flat[k * n : (k + 1) * n], shape[1:]) for k in range(shape[0]))


def _mask(rng: np.random.Generator, shape: tuple, nnz: int | None) -> list:
    n = math.prod(shape)
    if nnz is None:
        return [bool(b) for b in rng.integers(0, 2, n)]
    flat = [False] * n
    for k in rng.permutation(n)[: min(nnz, n)]:
        flat[int(k)] = True
    return flat


_KINDS = ("i", "s", "n", "e", "b", "B0", "I0", "t", "m", "l")


def draw_index(rng: np.random.Generator, shape: tuple, kinds: tuple = _KINDS) -> tuple:
    """Random index items for a tensor of ``shape`` (occasionally a wrong one: too many
    items, an out-of-range position, a mask of the wrong shape)."""
    nd = len(shape)
    oob = 0.04
    weights = {"i": 4, "s": 4, "n": 1.5, "e": 1, "b": 0.4, "B0": 0.4, "I0": 0.7, "t": 4,
               "m": 1.5, "l": 2}  # fmt: skip
    n_items = int(rng.integers(1, nd + 3))
    picked: list = []
    used = 0
    for _ in range(n_items):
        # a second ... is rare: torch reads it as standing for no dim (NumPy refuses it)
        options = [k for k in kinds if not (k == "e" and "e" in picked and rng.random() < 0.9)]
        if used >= nd and rng.random() > 0.05:  # no dims left: items that consume none
            options = [k for k in options if k in ("n", "e", "b", "B0")] or ["n"]
        k = _pick(rng, tuple(options), tuple(weights[o] for o in options))
        picked.append(k)
        used += k in ("i", "s", "I0", "t", "l", "m")
    # masks take 1 or 2 dims; the rest take one (no dims for None, ..., bools)
    takes = [
        (2 if (k == "m" and rng.random() < 0.35) else 1) if k in ("i", "s", "I0", "t", "l", "m")
        else 0
        for k in picked
    ]  # fmt: skip
    if "e" in picked:
        e = picked.index("e")
        before = sum(takes[:e])
        after = sum(takes[e + 1 :])
        starts = []
        pos = 0
        for j, t in enumerate(takes):
            if j == e:  # the first ...: later ones stand for no dim
                pos = max(nd - after, before)
            starts.append(pos)
            pos += t
    else:
        starts = list(np.cumsum([0] + takes[:-1]))
    # advanced indices share one broadcast shape (a mask stands for its nonzero count)
    n_adv = sum(k in ("t", "l", "m") for k in picked)
    b = _bshape(rng)
    nnz = None
    if "m" in picked and n_adv > 1:
        nnz = int(rng.integers(0, 4))
        b = (nnz,) if rng.random() < 0.8 else (1,)
    items = []
    for k, start, take in zip(picked, starts, takes):
        dims = tuple(shape[start : start + take])
        size = dims[0] if dims else 1
        if len(dims) < take:  # past the last dim: an index that must fail
            dims = dims + (2,) * (take - len(dims))
            size = 2
        if k == "i":
            items.append(("i", _int_in(rng, size, oob)))
        elif k == "s":
            items.append(_slice(rng, size))
        elif k in ("n", "e"):
            items.append((k,))
        elif k == "b":
            items.append(("b", bool(rng.random() < 0.7)))
        elif k == "B0":
            items.append(("B0", bool(rng.random() < 0.7)))
        elif k == "I0":
            items.append(("I0", _int_in(rng, size, oob)))
        elif k == "t":
            s = _fits(rng, b) if n_adv > 1 else _bshape(rng)
            dtype = str(_pick(rng, ("int64", "int32", "float32"), (85, 14, 1)))
            items.append(("t", s, tuple(_int_array(rng, s, size, oob)), dtype))
        elif k == "m":
            mshape = dims
            if rng.random() < 0.03:
                mshape = dims[:-1] + (dims[-1] + 1,)
            items.append(("m", mshape, tuple(_mask(rng, mshape, nnz))))
        else:  # a list: of ints (maybe nested), or a list of bools as long as the dim
            if rng.random() < 0.15:
                items.append(("l", tuple(bool(i) for i in rng.integers(0, 2, size))))
            else:
                s = (_fits(rng, b) if n_adv > 1 else _bshape(rng)) or (1,)
                if len(s) > 1 and rng.random() < 0.5:
                    s = s[-1:]
                items.append(("l", _nest(_int_array(rng, s, size, oob), s)))
    return tuple(_variant(rng, it) for it in items)


def _variant(rng: np.random.Generator, item: tuple) -> tuple:
    """Rarer spellings of an item: a NumPy scalar for an int, a NumPy array for a list of
    ints, an index tensor laid out transposed, a uint8 mask."""
    r = rng.random()
    if item[0] == "i" and r < 0.1:
        return ("npi", item[1])
    if item[0] == "l" and r < 0.1 and not any(isinstance(v, bool) for v in _flat(item[1])):
        arr = np.array(item[1], dtype=np.int64)
        return ("np", arr.shape, tuple(arr.reshape(-1).tolist()))
    if item[0] == "t" and len(item[1]) > 1 and r < 0.3:
        # (dims of size 1 too: torch.tensor keeps NumPy's stride for one, which NumPy may
        # set to the item size, as cr.tensor does; the stride of a size-1 dim of an index
        # tensor orders the result's dims in torch)
        return item + ("T",)
    if item[0] == "m" and r < 0.04:
        return item + ("uint8",)
    return item


def _flat(nested: Any) -> list:
    if isinstance(nested, tuple):
        return [v for n in nested for v in _flat(n)]
    return [nested]


def _target_shape(shape: tuple, items: tuple, bare: bool) -> tuple | None:
    """The shape of ``x[idx]`` (torch's), or None where it raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(torch.zeros(shape)[make_index(torch, items, bare)].shape)
    except Exception:  # noqa: BLE001
        return None


def _writes_twice(shape: tuple, items: tuple, bare: bool) -> bool:
    """Whether ``x[idx] = v`` writes some element more than once (an advanced index with
    repeated positions)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = math.prod(shape)
            pos = torch.arange(n).reshape(shape)[make_index(torch, items, bare)].flatten()
    except Exception:  # noqa: BLE001
        return False
    return len(set(pos.tolist())) < pos.numel()


def _draw_value(
    rng: np.random.Generator, dtype: str, target: tuple | None, twice: bool, tensor_only: bool
) -> tuple:
    """A value for ``x[idx] = v``. Where the index writes an element twice, the value is
    constant: torch does not promise which of the writes wins (index_put_ without
    accumulate), so only a value that is the same at every write has one answer; its
    forward-mode tangent is constant too."""
    if not tensor_only and (target is None or rng.random() < 0.3):
        if dtype == "bool":
            return ("scalar", bool(rng.random() < 0.5))
        if dtype == "int64" or rng.random() < 0.2:
            return ("scalar", int(rng.integers(-3, 4)))
        return ("scalar", float(rng.choice([1.5, -0.25, 2.0])))
    target = target if target is not None else (2,)
    vshape = _fits(rng, target)
    if rng.random() < 0.1:
        vshape = (1,) + vshape
    if rng.random() < 0.04 and target:
        vshape = tuple(n + 1 for n in target)  # not broadcastable: both must raise
    vdtype = dtype
    if rng.random() < 0.08:
        vdtype = str(rng.choice(["float64", "float32", "int64"]))
    return ("tensor", vshape, vdtype, twice or rng.random() < 0.1)


def draw(rng: np.random.Generator, modes: tuple = MODES) -> Case:
    mode = str(rng.choice(modes))
    nd = int(rng.integers(0, 5)) if rng.random() < 0.9 else int(rng.integers(0, 2))
    shape = tuple(int(s) for s in rng.integers(1, 5, nd))
    if nd and rng.random() < 0.05:
        shape = shape[:-1] + (0,)
    dtype = str(rng.choice(DTYPES))
    layout = int(rng.choice([0, 0, 1, 2]))
    seed = int(rng.integers(0, 2**16))
    bare = bool(rng.random() < 0.3)
    if mode == "dim":
        return _draw_dim(rng, shape, dtype, layout, seed)
    if mode == "put":
        kinds: tuple = ("t", "m")
        # (no uint8 mask: torch's index_put_ of one with a one-element value raises, from
        # masked_fill_; chainrule writes it as the deprecated mask it is, with a warning,
        # which tests/ops/test_index_put.py pins)
        index = tuple(it[:3] if it[0] == "m" else it for it in draw_index(rng, shape, kinds))
        if not index or rng.random() < 0.2:
            index = index[:1]
        op = str(rng.choice(["acc_", "noacc_", "acc", "noacc"]))
        target = _target_shape(shape, index, False)
        twice = not op.startswith("acc") and _writes_twice(shape, index, False)
        value = _draw_value(rng, dtype, target, twice, tensor_only=True)
        return Case(shape, dtype, layout, mode, index, False, value, op=op, seed=seed)
    index = draw_index(rng, shape)
    bare = bare and len(index) == 1
    if mode == "get":
        return Case(shape, dtype, layout, mode, index, bare, seed=seed)
    if mode == "set":
        target = _target_shape(shape, index, bare)
        twice = _writes_twice(shape, index, bare)
        value = _draw_value(rng, dtype, target, twice, tensor_only=False)
        op = str(_pick(rng, ("", "leaf", "nograd", "iadd"), (10, 0.5, 0.7, 1.5)))
        if op == "iadd" and dtype == "bool":
            op = ""
        return Case(shape, dtype, layout, mode, index, bare, value, op=op, seed=seed)
    # chain: a basic first index (a view) most of the time
    if rng.random() < 0.75:
        index = draw_index(rng, shape, ("i", "s", "n", "e"))
        bare = bare and len(index) == 1
    mid = _target_shape(shape, index, bare)
    index2 = draw_index(rng, mid if mid is not None else shape)
    bare2 = bool(rng.random() < 0.3) and len(index2) == 1
    op = str(rng.choice(["set", "set", "mul_", "add_", "zero_"]))
    if dtype == "bool" and op in ("mul_", "add_"):
        op = "set"
    value = None
    if op in ("set", "add_") and mid is not None:
        target = _target_shape(mid, index2, bare2)
        twice = op == "set" and _writes_twice(mid, index2, bare2)
        value = _draw_value(rng, dtype, target, twice, tensor_only=op == "add_")
        if op == "add_" and value[0] == "tensor" and value[2] != dtype:
            value = ("tensor", value[1], dtype, value[3])
    elif op in ("set", "add_"):
        op = "mul_" if dtype != "bool" else "zero_"
    return Case(shape, dtype, layout, mode, index, bare, value, index2, bare2, op, seed)


def _draw_dim(rng: np.random.Generator, shape: tuple, dtype: str, layout: int, seed: int) -> Case:
    op = str(rng.choice(DIM_OPS))
    nd = len(shape)
    d = int(rng.integers(-max(nd, 1), max(nd, 1)))
    size = shape[d] if nd else 1
    numel = math.prod(shape)
    oob = 0.05
    value = None
    if op in ("take", "put_", "put_acc_"):
        s = _bshape(rng)
        flat = tuple(_int_array(rng, s, numel, oob))
        index: tuple = (("t", s, flat, "int64"),)
        if op != "take":
            twice = op == "put_" and len(set(v % max(numel, 1) for v in flat)) < len(flat)
            value = ("tensor", s, dtype, twice)
    elif op == "index_select":
        s = (int(rng.integers(0, 4)),) if rng.random() < 0.9 else ()
        # index_select refuses negative positions in torch: drawn non-negative mostly
        vals = [abs(v) if rng.random() < 0.9 else v for v in _int_array(rng, s, size, oob)]
        index = (("t", s, tuple(vals), "int64"),)
    elif op in ("gather", "take_along_dim"):
        s = tuple(int(rng.integers(1, n + 1)) if n else 0 for n in shape)
        if op == "take_along_dim" and s:
            s = tuple(1 if rng.random() < 0.3 else n for n in s)
        vals = [v % size if size and rng.random() < 0.95 else v for v in
                _int_array(rng, s, size, oob)]  # fmt: skip
        if op == "take_along_dim":
            # torch 2.13's take_along_dim wraps an out-of-range position around the dim
            # (modulo its size: 4 on 3 columns reads column 1) where gather raises;
            # chainrule raises as gather does. Steered around: positions in range
            vals = [v % size if size else v for v in vals]
        index = (("t", s, tuple(vals), "int64"),)
    else:  # masked_select, masked_fill_: a mask broadcasting to x
        s = _fits(rng, shape) if shape else ()
        index = (("m", s, tuple(_mask(rng, s, None))),)
        if op == "masked_fill_":
            value = _draw_value(rng, dtype, (), False, tensor_only=rng.random() < 0.5)
            if value[0] == "tensor":
                value = ("tensor", (), value[2], value[3])
    return Case(shape, dtype, layout, "dim", index, True, value, (("i", d),), False, op, seed)
