"""Tensor op families of the bad-input table: reductions, shape ops, indexing.

Each family crosses its ops with a grid of inputs (2-d, 3-d, 0-d, empty, integer) and of
arguments (valid, negative, out of range, repeated, wrong type); see :mod:`.cases`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cases import Case, T, arr

__all__ = ["alias_cases", "binary_cases", "indexing_cases", "reduction_cases", "shape_cases"]

_NONE = "none"
_INPUTS = ("2x3", "3x1x2", "0d", "2x0", "empty", "int")
_DIMS: tuple[Any, ...] = (_NONE, 0, 1, -1, 2, -3, (0, 0), (0, 1), 1.0)
_KEEP_DIMS = (0, -1, (0, 1))


def _input(lib: Any, key: str) -> Any:
    if key == "int":
        return lib.arange(6).reshape(2, 3)
    return T(lib, arr(key))


def _call(method: str, x: Any, lib: Any, dim: Any, keep: bool | None) -> Any:
    kw = {} if keep is None else {"keepdim": keep}
    if method in ("softmax", "log_softmax"):
        return getattr(lib, method)(x) if dim is _NONE else getattr(lib, method)(x, dim=dim)
    if dim is _NONE:
        return getattr(x, method)(**kw)
    return getattr(x, method)(dim=dim, **kw)


# op -> (accepts a tuple of dims, accepts keepdim, dim may be omitted)
_REDUCTIONS = {
    "sum": (True, True, True),
    "mean": (True, True, True),
    "amax": (True, True, True),
    "amin": (True, True, True),
    "std": (True, True, True),
    "var": (True, True, True),
    "logsumexp": (True, True, False),
    "norm": (True, True, True),
    "prod": (False, True, True),
    "max": (False, True, True),
    "min": (False, True, True),
    "argmax": (False, True, True),
    "argmin": (False, True, True),
    "cumsum": (False, False, False),
    "softmax": (False, False, True),
    "log_softmax": (False, False, True),
    "all": (True, True, True),
    "any": (True, True, True),
}


def _reduction_case(op: str, key: str, dim: Any, keep: bool | None) -> Case:
    def fn(lib: Any, op: str = op, key: str = key, dim: Any = dim, keep: Any = keep) -> Any:
        return _call(op, _input(lib, key), lib, dim, keep)

    return Case(f"reduce-{op}-{key}-dim{dim}-keep{keep}", op, fn)


def reduction_cases() -> list[Case]:
    """Every reduction x every input x every dim (and keepdim for a few dims)."""
    out = []
    for op, (_tuples, has_keep, optional_dim) in _REDUCTIONS.items():
        for key in _INPUTS:
            for dim in _DIMS:
                if dim is _NONE and not optional_dim:
                    continue
                if op in ("softmax", "log_softmax") and dim is _NONE:
                    continue  # PyTorch's implicit dim choice is deprecated (warns)
                out.append(_reduction_case(op, key, dim, None))
                if has_keep and dim in _KEEP_DIMS:
                    out.append(_reduction_case(op, key, dim, True))
    return out


def _nc(lib: Any) -> Any:
    """A non-contiguous (transposed) 3x2 tensor."""
    return T(lib, arr("2x3")).t()


_SHAPE_OPS: dict[str, tuple[str, list]] = {
    # name -> (op named in errors, [(label, fn(lib)), ...])
    "view": (
        "view",
        [
            (str(s), lambda lib, s=s: T(lib, arr("2x3")).view(*s))
            for s in [(6,), (3, 2), (-1,), (-1, -1), (4,), (2, -1), (7, -1), (0,), (3, -1, 2)]
        ]
        + [
            ("nc" + str(s), lambda lib, s=s: _nc(lib).view(*s))
            for s in [(6,), (3, 2), (1, 3, 2), (2, 3)]
        ],
    ),
    "reshape": (
        "reshape",
        [
            (str(s), lambda lib, s=s: _nc(lib).reshape(*s))
            for s in [(6,), (2, 3), (-1, -1), (5,), (2, -1, 4)]
        ],
    ),
    "permute": (
        "permute",
        [
            (str(d), lambda lib, d=d: T(lib, arr("2x3")).permute(*d))
            for d in [(0, 1), (1, 0), (0, 0), (0,), (0, 1, 2), (0, 2), (-1, 0)]
        ],
    ),
    "transpose": (
        "transpose",
        [
            (str(d), lambda lib, d=d: T(lib, arr("2x3")).transpose(*d))
            for d in [(0, 1), (0, 2), (-3, 0), (1, 1), (-1, -2)]
        ],
    ),
    "squeeze": (
        "squeeze",
        [
            (str(d), lambda lib, d=d: T(lib, arr("3x1x2")).squeeze(d))
            for d in [0, 1, 2, 3, -4, (0, 1), (1, 1)]
        ],
    ),
    "unsqueeze": (
        "unsqueeze",
        [(str(d), lambda lib, d=d: T(lib, arr("2x3")).unsqueeze(d)) for d in [0, 2, 3, -3, -4]],
    ),
    "flatten": (
        "flatten",
        [
            (str(d), lambda lib, d=d: T(lib, arr("3x1x2")).flatten(*d))
            for d in [(0, -1), (1, 0), (0, 5), (-4, 0), (1, 2)]
        ],
    ),
    "movedim": (
        "movedim",
        [
            (str(d), lambda lib, d=d: lib.movedim(T(lib, arr("2x3")), *d))
            for d in [
                (0, 1),
                (0, 5),
                (5, 0),
                ((0, 1), (1, 0)),
                ((0, 1), (0,)),
                ((0, 0), (0, 1)),
                (-2, -1),
            ]
        ],
    ),
    "expand": (
        "expand",
        [
            (str(s), lambda lib, s=s: T(lib, arr("1x3")).expand(*s))
            for s in [(2, 3), (4, 2, 3), (3, 3), (-1, 3), (2, -1), (-1, -1, 3), (3,), (2, 3, 1)]
        ],
    ),
    "repeat": (
        "repeat",
        [
            (str(s), lambda lib, s=s: T(lib, arr("2x3")).repeat(*s))
            for s in [(1, 1), (2,), (2, 1, 1), (-1, 1), (0, 1)]
        ],
    ),
    "chunk": (
        "chunk",
        [
            (f"{c}-{d}", lambda lib, c=c, d=d: T(lib, arr("2x3")).chunk(c, d))
            for c in (0, 1, 2, 4, -1)
            for d in (0, 1, 2)
        ],
    ),
    "split": (
        "split",
        [
            (f"{s}-{d}", lambda lib, s=s, d=d: T(lib, arr("2x3")).split(s, d))
            for s in (1, 0, -1, [1, 2], [2, 2], [3, 0])
            for d in (1, 2)
        ],
    ),
    "flip": (
        "flip",
        [
            (str(d), lambda lib, d=d: T(lib, arr("2x3")).flip(d))
            for d in [(0,), (0, 0), (2,), (-1,), (0, 1), (-3,)]
        ],
    ),
    "roll": (
        "roll",
        [
            (str(a), lambda lib, a=a: T(lib, arr("2x3")).roll(*a))
            for a in [(1, 0), (1, 2), ((1, 1), (0, 1)), (4, 1), ((1,), (0, 1))]
        ],
    ),
    "tril": (
        "tril",
        [
            (f"{k}-{d}", lambda lib, k=k, d=d: lib.tril(T(lib, arr(k)), d))
            for k in ("2x3", "3", "0d", "3x1x2")
            for d in (0, 5, -5)
        ],
    ),
    "triu": (
        "triu",
        [
            (f"{k}-{d}", lambda lib, k=k, d=d: lib.triu(T(lib, arr(k)), d))
            for k in ("2x3", "3", "0d")
            for d in (0, -1)
        ],
    ),
    "t": ("t", [(k, lambda lib, k=k: T(lib, arr(k)).t()) for k in ("2x3", "3", "0d", "3x1x2")]),
    "size": (
        "size",
        [(str(d), lambda lib, d=d: T(lib, arr("2x3")).size(d)) for d in (0, -1, 2, -3, 5)],
    ),
}


def _cat_inputs(lib: Any, shapes: list) -> list:
    return [T(lib, np.ones(s) * i) for i, s in enumerate(shapes)]


_CAT_SHAPES = {
    "same": [(2, 3), (2, 3)],
    "rows": [(2, 3), (1, 3)],
    "cols": [(2, 3), (2, 1)],
    "0d": [(), ()],
    "rank": [(2, 3), (3,)],
    "one": [(2, 3)],
}


def _pad_fn(mode: str, pad: tuple) -> Any:
    def fn(lib: Any) -> Any:
        return lib.nn.functional.pad(T(lib, arr("2x3"))[None], pad, mode=mode)

    return fn


def shape_cases() -> list[Case]:
    """Views, joins, splits, flips, triangles and padding with valid and invalid arguments."""
    out = []
    for name, (op, items) in _SHAPE_OPS.items():
        out.extend(Case(f"shape-{name}-{label}", op, fn) for label, fn in items)
    for label, shapes in _CAT_SHAPES.items():
        for d in (0, 1, 2, -3):
            for op in ("cat", "stack"):
                out.append(
                    Case(
                        f"shape-{op}-{label}-{d}",
                        op,
                        lambda lib, s=shapes, d=d, op=op: getattr(lib, op)(_cat_inputs(lib, s), d),
                    )
                )
    out.append(Case("shape-cat-empty-list", "cat", lambda lib: lib.cat([], 0)))
    for mode in ("constant", "reflect", "replicate", "circular"):
        for pad in [(1, 1), (2, 2), (3, 3), (1,), (0, 0, 1, 1), (-1, 1)]:
            out.append(Case(f"shape-pad-{mode}-{pad}", "pad", _pad_fn(mode, pad)))
    for meth, args in [("add_", (1.0,)), ("mul_", (2.0,)), ("copy_", None), ("index_put_", None)]:

        def fn(lib: Any, meth: str = meth, args: Any = args) -> Any:
            x = T(lib, arr("1x3")).expand(2, 3)
            if meth == "copy_":
                return x.copy_(T(lib, np.zeros((2, 3))))
            if meth == "index_put_":
                return x.index_put_((T(lib, [0]),), T(lib, 1.0))
            return getattr(x, meth)(*args)

        out.append(Case(f"inplace-expanded-{meth}", meth.rstrip("_"), fn))
    for meth in ("fill_", "zero_", "setitem", "uniform_", "normal_"):
        # fill_/zero_ and x[0] = v (a row overlapping nothing) write as PyTorch does; the
        # random fills raise in both
        def write(lib: Any, meth: str = meth) -> Any:
            x = T(lib, arr("1x3")).expand(2, 3)
            if meth == "setitem":
                x[0] = 5.0
            else:
                getattr(x, meth)(*((5.0,) if meth == "fill_" else ()))
            return x

        out.append(Case(f"inplace-expanded-{meth}", meth.rstrip("_"), write))
    return out


_VIEWS = {
    "view": lambda x: x.view(6),
    "view_as": lambda x: x.view_as(x.reshape(3, 2)),
    "reshape": lambda x: x.reshape(3, 2),
    "t": lambda x: x.t(),
    "T": lambda x: x.T,
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.flatten().unflatten(0, (3, 2)),
    "movedim": lambda x: x.movedim(0, 1),
    "row": lambda x: x[0],
    "col": lambda x: x[:, 1],
    "slice": lambda x: x[:, ::2],
    "ellipsis": lambda x: x[..., 1:],
    "none": lambda x: x[None],
    "split": lambda x: x.split(1, 0)[1],
    "chunk": lambda x: x.chunk(3, 1)[2],
    "unbind": lambda x: x.unbind(1)[0],
    "t-reshape": lambda x: x.t().reshape(6),
    "contiguous-t": lambda x: x.t().contiguous(),
    "flip": lambda x: x.flip(0),
    "detach": lambda x: x.detach(),
    "clone": lambda x: x.clone(),
    "to-same": lambda x: x.to(x.dtype),
    "contiguous": lambda x: x.contiguous(),
    "index-list": lambda x: x[[0, 1]],
    "roll": lambda x: x.roll(1, 0),
    "repeat": lambda x: x.repeat(1, 1),
    "masked_select": lambda x: x.masked_select(x > 0),
    "gather": lambda x: x.gather(1, x.argmax(1, keepdim=True)),
    "type_as": lambda x: x.type_as(x),
    "cat1": "cat",
    "stack1": "stack",  # lib.<name>([x])
}


def _write_through(label: str, make: Any, how: str) -> Case:
    """Write into the result of a view op; the base must change exactly as PyTorch's."""

    def fn(lib: Any) -> Any:
        base = T(lib, arr("2x3"))
        v = getattr(lib, make)([base]) if isinstance(make, str) else make(base)
        if how == "mul_":
            v.mul_(2.0)
        elif how == "fill_":
            v.fill_(7.0)
        else:
            v[0] = 5.0
        return [base, v]

    return Case(f"alias-{label}-{how}", label, fn)


def alias_cases() -> list[Case]:
    """Views share memory with their base (writes reach it); copies do not."""
    out = [
        _write_through(label, make, how)
        for label, make in _VIEWS.items()
        for how in ("mul_", "fill_", "setitem")
    ]
    out.append(Case("alias-where-one-arg", "where", lambda lib: lib.where(T(lib, arr("2x3")) > 0)))
    out.append(
        Case("alias-flip-dims-kw", "flip", lambda lib: lib.flip(T(lib, arr("2x3")), dims=(0, 1)))
    )
    return out


_IDX = {
    "ok": [[0], [1]],
    "neg": [[-1], [0]],
    "big": [[3], [0]],
    "neg4": [[-4], [0]],
    "rows3": [[0], [0], [0]],
    "float": [[0.0], [1.0]],
    "1d": [0, 1],
    "empty": [[], []],
}


def _index(lib: Any, key: str) -> Any:
    data = _IDX[key]
    if key == "float":
        return T(lib, data)
    if key == "empty":
        return lib.zeros(2, 0, dtype=lib.int64)
    return T(lib, data, dtype=lib.int64)


def _gather_like(op: str, key: str, dim: int) -> Any:
    def fn(lib: Any) -> Any:
        x, idx = T(lib, arr("2x3")), _index(lib, key)
        if op == "gather":
            return lib.gather(x, dim, idx)
        if op == "scatter":
            return lib.scatter(x, dim, idx, T(lib, np.ones((3, 3))))
        if op == "scatter_add":
            return lib.scatter_add(x, dim, idx, T(lib, np.ones((3, 3))))
        return lib.take_along_dim(x, idx, dim)

    return fn


_SELECT = {"ok": [0, 2], "neg": [-1], "big": [3], "2d": [[0]], "empty": [], "float": [0.5], "0d": 1}


def _select_fn(key: str, dim: int) -> Any:
    def fn(lib: Any) -> Any:
        data = _SELECT[key]
        idx = T(lib, data) if key == "float" else T(lib, data, dtype=lib.int64)
        return lib.index_select(T(lib, arr("2x3")), dim, idx)

    return fn


def _setitem(idx: Any, value: Any) -> Any:
    def fn(lib: Any) -> Any:
        x = T(lib, arr("2x3"))
        v = T(lib, np.ones(value)) if isinstance(value, tuple) else value
        x[idx] = v
        return x

    return fn


def _index_put(idx: list, value: Any, accumulate: bool = False) -> Any:
    def fn(lib: Any) -> Any:
        x = T(lib, arr("2x3"))
        v = T(lib, np.ones(value)) if isinstance(value, tuple) else T(lib, value)
        return x.index_put_(
            tuple(T(lib, i, dtype=lib.int64) for i in idx), v, accumulate=accumulate
        )

    return fn


def indexing_cases() -> list[Case]:
    """gather/scatter/index_select/take_along_dim, ``x[i]``, ``x[i] = v`` and index_put_."""
    out = []
    for op in ("gather", "scatter", "scatter_add", "take_along_dim"):
        for key in _IDX:
            for dim in (0, 1, -1, 2):
                if op == "take_along_dim" and key in ("big", "neg4"):
                    continue  # PyTorch reads out of bounds here (undefined behaviour)
                out.append(Case(f"index-{op}-{key}-{dim}", op, _gather_like(op, key, dim)))
    for op in ("scatter", "scatter_add"):
        for src in ((1, 1), (2,), (2, 1), ()):
            out.append(
                Case(
                    f"index-{op}-src{src}",
                    op,
                    lambda lib, op=op, src=src: getattr(lib, op)(
                        T(lib, arr("2x3")), 1, _index(lib, "ok"), T(lib, np.ones(src))
                    ),
                )
            )
    for idx in ([-1], [6], [5], [-7]):
        out.append(
            Case(
                f"index-take_along_dim-flat-{idx}",
                "take_along_dim",
                lambda lib, i=idx: lib.take_along_dim(
                    T(lib, arr("2x3")), T(lib, i, dtype=lib.int64)
                ),
            )
        )
    for key in _SELECT:
        for dim in (0, 1, -1, 2):
            out.append(
                Case(f"index-index_select-{key}-{dim}", "index_select", _select_fn(key, dim))
            )
    gets = {
        "5": 5,
        "-3": -3,
        "1": 1,
        "col3": (slice(None), 3),
        "3ints": (0, 0, 0),
        "neg-1": -1,
        "list": [0, -2],
        "list-bad": [0, 2],
    }
    for label, idx in gets.items():
        out.append(
            Case(f"index-getitem-{label}", "index", lambda lib, i=idx: T(lib, arr("2x3"))[i])
        )
    out.append(
        Case(
            "index-getitem-tensor5",
            "index",
            lambda lib: T(lib, arr("2x3"))[T(lib, [5], dtype=lib.int64)],
        )
    )
    out.append(
        Case(
            "index-getitem-mask-shape",
            "index",
            lambda lib: T(lib, arr("2x3"))[T(lib, [True, False, True])],
        )
    )
    sets = {
        "5": (5, 1.0),
        "row-4": (0, (4,)),
        "all-3x3": (slice(None), (3, 3)),
        "row-3": (0, (3,)),
        "row-1x3": (0, (1, 3)),
        "row-2x3": (0, (2, 3)),
        "neg-3": (-3, 0.0),
        "col": ((slice(None), 1), (2,)),
    }
    for label, (idx, value) in sets.items():
        out.append(Case(f"index-setitem-{label}", "setitem", _setitem(idx, value)))
    puts = {
        "oob": ([[3]], 5.0),
        "neg": ([[-1]], 5.0),
        "neg-oob": ([[-3]], 5.0),
        "shape": ([[0]], (4,)),
        "ok": ([[0], [1]], 5.0),
        "two": ([[0, 1], [2, 2]], 1.0),
        "col-oob": ([[0], [3]], 1.0),
    }
    for label, (idx, value) in puts.items():
        for acc in (False, True):
            out.append(
                Case(
                    f"index-index_put_-{label}-acc{acc}", "index_put_", _index_put(idx, value, acc)
                )
            )
    return out


_BIN_SHAPES = {"2x3": (2, 3), "3": (3,), "2": (2,), "0d": (), "2x0": (2, 0), "3x1": (3, 1)}
# atan2 / remainder / fmod belong here too; they are left out until their broadcast errors
# name the op (ops/trig.py, ops/binary.py call Function.apply directly, not .call)
_BINARY_OPS = (
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    "eq",
    "lt",
    "floor_divide",
    "logical_and",
    "where",
    "atan2",
    "remainder",
    "fmod",
    "hypot",
)


def _binary_fn(op: str, a: tuple, b: tuple) -> Any:
    def fn(lib: Any) -> Any:
        x = T(lib, np.linspace(0.5, 2.0, int(np.prod(a))).reshape(a))
        y = T(lib, np.linspace(0.7, 1.5, int(np.prod(b))).reshape(b))
        if op == "where":
            return lib.where(x > 1.0, x, y)
        return getattr(lib, op)(x, y)

    return fn


def binary_cases() -> list[Case]:
    """Broadcasting binary ops over every pair of shapes (compatible, empty, mismatched)."""
    return [
        Case(f"binary-{op}-{ka}-{kb}", op, _binary_fn(op, a, b))
        for op in _BINARY_OPS
        for ka, a in _BIN_SHAPES.items()
        for kb, b in _BIN_SHAPES.items()
    ]
