"""More indexing cases, for the blind spots of :mod:`.cases`: the dim-wise writes
(``index_fill_``, ``index_copy_``, ``index_add_``, ``index_reduce_``, ``scatter_``,
``scatter_add_``, ``scatter_reduce_``, ``index_put_``, ``masked_scatter_`` and their
out-of-place forms) applied to a view of a copy of the leaf (a slice, a select, a
transpose, a permute, ``flip`` (a copy: torch has no negative steps), or a chain of these),
and :mod:`.cases` cases drawn with ``...``, ``None`` and bool masks mixed, 0-d and empty
tensors. Compared as :mod:`.cases` compares: values, the base written through the view,
gradients, forward-mode tangents and errors.

Hunt: ``python -m tests.fuzz_indexing.cases_views COUNT SEED [OP ...]`` (``OP``: only cases
of these ops); CI:
``test_fuzz_views.py``.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

from . import cases as C
from .hunt import signature

VIEW_OPS = (
    "index_fill_", "index_copy_", "index_add_", "index_reduce_", "scatter_", "scatter_value_",
    "scatter_add_", "scatter_reduce_", "index_put_", "masked_scatter_", "index_fill",
    "index_copy", "index_add", "scatter", "scatter_add", "scatter_reduce", "index_reduce",
)  # fmt: skip
REDUCE = ("sum", "prod", "mean", "amax", "amin")


@dataclass(frozen=True)
class ViewCase:
    shape: tuple
    dtype: str = "float64"
    layout: int = 0
    views: tuple = ()  # ("flip", dims) | ("t",) | ("perm", p) | ("s", d, a, b, k) | ("i", d, k)
    # | ("diag", offset, d1, d2) | ("unf", d, size, step) (session 35)
    op: str = "index_fill_"
    dim: int = 0
    index: tuple = ()  # (shape, flat values)
    src: tuple | None = None  # (shape, const) of the source, or None for a scalar
    extra: tuple = ()  # ((key, value), ...): reduce=, include_self=, alpha=, accumulate=
    seed: int = 0


def _leaf(lib: Any, case: ViewCase) -> Any:
    return C.make_leaf(lib, C.Case(case.shape, case.dtype, case.layout, seed=case.seed))


def _apply_views(t: Any, views: tuple) -> Any:
    for v in views:
        if v[0] == "flip":
            t = t.flip(v[1])
        elif v[0] == "t":
            t = t.t()
        elif v[0] == "perm":
            t = t.permute(*v[1])
        elif v[0] == "s":
            idx = (slice(None),) * v[1] + (slice(v[2], v[3], v[4]),)
            t = t[idx]
        elif v[0] == "i":
            t = t.select(v[1], v[2])
        elif v[0] == "diag":
            t = t.diagonal(v[1], v[2], v[3])
        elif v[0] == "unf":
            t = t.unfold(v[1], v[2], v[3])
    return t


def _src(lib: Any, case: ViewCase, grad: bool) -> Any:
    if case.src is None:
        return {"float64": -1.25, "float32": 0.5, "int64": 3, "bool": True}[case.dtype]
    shape, const = case.src
    data = C._data(shape, case.dtype, np.random.default_rng(case.seed + 7))
    if const and data.size:
        data = np.full(shape, data.flat[0])
    s = lib.tensor(data)
    if grad and case.dtype.startswith("float"):
        s.requires_grad_()
    return s


def _index(lib: Any, case: ViewCase) -> Any:
    shape, flat = case.index
    if case.op == "masked_scatter_":
        return lib.tensor(np.array(flat, dtype=bool).reshape(shape))
    return lib.tensor(np.array(flat, dtype=np.int64).reshape(shape))


def _run_op(lib: Any, case: ViewCase, v: Any, idx: Any, src: Any) -> Any:
    kw = dict(case.extra)
    op, d = case.op, case.dim
    if op in ("index_fill_", "index_fill"):
        return getattr(v, op)(d, idx, src)
    if op in ("index_copy_", "index_copy"):
        return getattr(v, op)(d, idx, src)
    if op in ("index_add_", "index_add"):
        return getattr(v, op)(d, idx, src, **kw)
    if op in ("index_reduce_", "index_reduce"):
        return getattr(v, op)(d, idx, src, kw["reduce"], include_self=kw["include_self"])
    if op in ("scatter_", "scatter", "scatter_value_"):
        name = "scatter_" if op == "scatter_value_" else op
        return getattr(v, name)(d, idx, src, **kw)
    if op in ("scatter_add_", "scatter_add"):
        return getattr(v, op)(d, idx, src)
    if op in ("scatter_reduce_", "scatter_reduce"):
        return getattr(v, op)(d, idx, src, kw["reduce"], include_self=kw["include_self"])
    if op == "index_put_":
        return v.index_put_((idx,), src, accumulate=kw["accumulate"])
    return v.masked_scatter_(idx, src)  # masked_scatter_


def _body(lib: Any, case: ViewCase, x: Any, src: Any) -> list:
    y = x.clone()
    v = _apply_views(y, case.views)
    out = _run_op(lib, case, v, _index(lib, case), src)
    return [y, v, out]


def observe(lib: Any, case: ViewCase) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _observe(lib, case)


def _observe(lib: Any, case: ViewCase) -> dict:
    obs: dict = {}
    x = _leaf(lib, case)
    floating = x.is_floating_point()
    src = _src(lib, case, grad=True)
    try:
        outs = _body(lib, case, x, src)
    except Exception as exc:  # noqa: BLE001
        obs["forward"] = C.Err(exc)
        return obs
    for name, o in zip(("y", "view", "out"), outs):
        obs[name] = C.arr(o)
        obs[name + " meta"] = (tuple(o.shape), C._dname(o), o.requires_grad and floating)
    C._grads(lib, obs, outs, {"x": x, "src": src}, case.seed)
    # (torch's forward mode of scatter_reduce(..., "prod") gives no tangent at all, silently:
    # steered around; index_reduce has no forward mode in torch)
    prod = dict(case.extra).get("reduce") == "prod"
    if (
        floating
        and not case.op.startswith("index_reduce")
        and not (prod and case.op.startswith("scatter_reduce"))
    ):
        fwad = lib.autograd.forward_ad
        try:
            xd = _leaf(lib, case).detach()
            s = _src(lib, case, grad=False)
            with fwad.dual_level():
                xd = fwad.make_dual(xd, C._rand(lib, tuple(xd.shape), xd.dtype, case.seed + 1))
                if isinstance(s, lib.Tensor):
                    const = bool(case.src[1])
                    t = C._rand(lib, tuple(s.shape), s.dtype, case.seed + 2, const)
                    s = fwad.make_dual(s, t)
                for k, o in enumerate(_body(lib, case, xd, s)):
                    obs[f"tangent {k}"] = C.arr(fwad.unpack_dual(o).tangent)
        except Exception as exc:  # noqa: BLE001
            obs["forward-mode"] = C.Err(exc)
    return obs


def check(case: ViewCase) -> list[str]:
    try:
        ref = observe(torch, case)
    except Exception as exc:  # noqa: BLE001 - the harness on torch
        return [f"HARNESS torch {C.Err(exc)!r}"]
    try:
        got = observe(cr, case)
    except Exception as exc:  # noqa: BLE001 - the harness on chainrule
        return [f"HARNESS chainrule {C.Err(exc)!r}"]
    err = ref.get("backward")
    if isinstance(err, C.Err) and "derivative for aten::scatter_ is not" in err.msg:
        # scatter_(..., reduce=) has no derivative in torch (nor forward mode); chainrule
        # differentiates it: steered around, the values compared
        ref = {k: v for k, v in ref.items() if not k.startswith(("backward", "forward-"))}
        got = {k: v for k, v in got.items()
               if not k.startswith(("grad ", "tangent ", "backward", "forward-"))}  # fmt: skip
    bad = got.get("forward")
    if (
        isinstance(bad, C.Err)
        and "IndexError" in bad.types
        and not isinstance(ref.get("forward"), C.Err)
        and 0 in getattr(ref.get("view"), "shape", ())
    ):
        return []  # an empty view: torch checks no positions (see case_compare._empty_region)
    return C.compare(ref, got, case.dtype == "float32")


# ---------------------------------------------------------------------------------------
# drawing


def _draw_views(rng: np.random.Generator, shape: tuple) -> tuple:
    views = []
    cur = list(shape)
    for _ in range(int(rng.integers(0, 3))):
        nd = len(cur)
        k = str(rng.choice(["flip", "t", "perm", "s", "i", "diag", "unf"]))
        if nd == 0:
            break
        if k == "diag" and nd >= 2:
            d1, d2 = (int(d) for d in rng.choice(nd, 2, False))
            off = int(rng.integers(-1, 2))
            n = min(cur[d1] + min(off, 0), cur[d2] - max(off, 0))
            views.append(("diag", off, d1, d2))
            cur = [c for j, c in enumerate(cur) if j not in (d1, d2)] + [max(n, 0)]
            continue
        if k == "unf":
            d = int(rng.integers(0, nd))
            if cur[d] == 0:
                continue
            # windows that do not overlap (step >= size): a write through overlapping ones
            # lands in torch in its kernel's order (undefined; values and gradients differ
            # between torch's ops, seed 1701's index_copy_/index_add_ cases), steered around
            size = int(rng.integers(1, cur[d] + 1))
            step = size + int(rng.integers(0, 2))
            views.append(("unf", d, size, step))
            cur[d] = (cur[d] - size) // step + 1
            cur.append(size)
            continue
        if k == "flip":
            dims = tuple(int(d) for d in rng.choice(nd, int(rng.integers(1, nd + 1)), False))
            views.append(("flip", dims))
        elif k == "t" and nd <= 2:
            views.append(("t",))
            cur = cur[::-1]
        elif k == "perm" or k == "t":
            p = tuple(int(d) for d in rng.permutation(nd))
            views.append(("perm", p))
            cur = [cur[d] for d in p]
        elif k == "s":
            d = int(rng.integers(0, nd))
            a = int(rng.integers(0, cur[d] + 1))
            step = int(rng.choice([1, 1, 2, 3]))
            b = int(rng.integers(a, cur[d] + 1))
            views.append(("s", d, a, b, step))
            cur[d] = len(range(a, b, step))
        elif nd > 1 and cur[0] > 0:
            d = int(rng.integers(0, nd))
            if cur[d] == 0:
                continue
            views.append(("i", d, int(rng.integers(-cur[d], cur[d]))))
            cur.pop(d)
    return tuple(views), tuple(cur)


def _unique(rng: np.random.Generator, n: int, size: int) -> list:
    n = min(n, size)
    return [int(v) for v in rng.permutation(size)[:n]]


def draw_view_case(rng: np.random.Generator) -> ViewCase:
    nd = int(rng.integers(0, 4))
    shape = tuple(int(s) for s in rng.integers(1, 5, nd))
    if nd and rng.random() < 0.05:
        shape = shape[:-1] + (0,)
    dtype = str(rng.choice(C.DTYPES))
    layout = int(rng.choice([0, 0, 1, 2]))
    seed = int(rng.integers(0, 2**16))
    views, vshape = _draw_views(rng, shape)
    op = str(rng.choice(VIEW_OPS))
    vnd = len(vshape)
    d = int(rng.integers(-max(vnd, 1), max(vnd, 1)))
    size = vshape[d] if vnd else 1
    extra: dict = {}
    # an out-of-range position: both must raise (not into an empty view: torch's forward
    # checks nothing there and its backward fails on the position)
    bad = rng.random() < 0.03 and math.prod(vshape) > 0
    src = None
    if op.startswith(("index_", "index_put")) and op != "index_put_":
        n = int(rng.integers(0, 4))
        dup = op.startswith(("index_add", "index_reduce", "index_fill")) and rng.random() < 0.5
        vals = [int(rng.integers(0, size)) for _ in range(n)] if dup and size else \
            _unique(rng, n, size)  # fmt: skip
        # (torch's backward of index_fill into a tensor value fails on negative positions:
        # IndexError or "INDICES element is out of DATA bounds"; steered around)
        fill_tensor = op.startswith("index_fill") and rng.random() < 0.4
        # (nor into an empty view: torch's forward checks nothing there and its backward
        # then fails on the negative positions)
        neg_ok = not op.startswith("index_copy") and not fill_tensor and math.prod(vshape) > 0
        if vals and rng.random() < 0.2 and neg_ok:
            vals = [v - size for v in vals]  # negative positions
        if op.startswith("index_fill") and not vnd:
            # torch's backward of index_fill of a 0-d tensor fails unless the index is [0]
            # (IndexError for [-1], RuntimeError from index_select for []): steered around
            vals = [0]
        if bad:
            vals = vals + [size + 1]
        n = len(vals)
        index: tuple = ((n,) if vnd or rng.random() < 0.5 else (), tuple(vals))
        if index[0] == () and n != 1:
            index = ((n,), tuple(vals))
        if not op.startswith("index_fill") or fill_tensor:
            sshape = list(vshape) if vnd else []
            if vnd:
                sshape[d] = n
            src = (tuple(sshape), False)
            if op.startswith("index_fill"):
                src = ((), False)  # a 0-d tensor value
        if op.startswith("index_add") and rng.random() < 0.3:
            extra["alpha"] = float(rng.choice([2.0, -0.5])) if dtype.startswith("f") else 2
        if op.startswith("index_reduce"):
            extra["reduce"] = str(rng.choice(["prod", "mean", "amax", "amin"]))
            extra["include_self"] = bool(rng.random() < 0.5)
    elif op == "index_put_":
        d = 0
        size = vshape[0] if vnd else 1
        n = int(rng.integers(0, 4)) if size else 0
        acc = bool(rng.random() < 0.6)
        vals = [int(rng.integers(-size, size)) for _ in range(n)] if acc and size else \
            _unique(rng, n, size)  # fmt: skip
        if bad:
            vals = vals + [size]
        index = ((len(vals),), tuple(vals))
        rest = tuple(vshape[1:])
        src = ((len(vals),) + rest if rng.random() < 0.6 else rest[-1:] if rest else (), False)
        extra["accumulate"] = acc
    elif op == "masked_scatter_":
        ms = C._fits(rng, vshape) if vshape else ()
        flat = tuple(C._mask(rng, ms, None))
        index = (ms, flat)
        n = int(np.broadcast_to(np.array(flat, bool).reshape(ms), vshape).sum()) if vnd else \
            int(all(flat))  # fmt: skip
        src = ((n + int(rng.integers(0, 3)),), False)
        if bad:
            src = ((max(n - 1, 0),), False)
    else:  # scatter family: an index no larger than the view (and the source) in any dim
        ishape = tuple(int(rng.integers(0 if rng.random() < 0.1 else 1, n + 1)) if n else 0
                       for n in vshape)  # fmt: skip
        numel = math.prod(ishape)
        if op.startswith(("scatter_add", "scatter_reduce")) or size == 0:
            vals = [int(rng.integers(0, size)) if size else 0 for _ in range(numel)]
        else:  # scatter_: a position written twice has no one answer: distinct per slice
            arr = np.zeros(ishape, dtype=np.int64)
            moved = np.moveaxis(arr, d, -1) if vnd else arr.reshape(1)
            for pos in np.ndindex(moved.shape[:-1]):
                moved[pos] = rng.permutation(size)[: moved.shape[-1]]
            vals = arr.reshape(-1).tolist()
        if bad and vals:
            vals[0] = size + 2
        index = (ishape, tuple(int(v) for v in vals))
        sshape = tuple(n + int(rng.integers(0, 2)) for n in ishape)
        red = str(rng.choice(REDUCE))
        if op.startswith("scatter_reduce") and red in ("prod", "amax", "amin"):
            # a src larger than the index: torch's backward of these reads src whole against
            # the index-shaped gradient (prod broadcasts one index entry over all of src,
            # amax/amin raise a size mismatch); chainrule differentiates the part the index
            # covers. Steered around: src of the index's shape
            sshape = ishape
        if op != "scatter_value_":
            src = (sshape, False)
        if op.startswith("scatter_reduce"):
            extra["reduce"] = red
            extra["include_self"] = bool(rng.random() < 0.5)
        elif op in ("scatter_", "scatter_value_") and rng.random() < 0.2:
            extra["reduce"] = str(rng.choice(["add", "multiply"]))
    if dtype == "bool" and op.startswith(("index_add", "index_reduce", "scatter_add",
                                          "scatter_reduce")):  # fmt: skip
        dtype = "int64"
    if "mean" == extra.get("reduce") and dtype == "int64":
        extra["reduce"] = "sum" if op.startswith("scatter") else "prod"
    return ViewCase(shape, dtype, layout, views, op, d, index, src, tuple(extra.items()), seed)


def draw_mixed(rng: np.random.Generator) -> C.Case:
    """A :mod:`.cases` case whose index mixes ``...``, ``None``, bool masks, Python bools
    and a few ints and slices, on a tensor that is often 0-d or empty."""
    mode = str(rng.choice(["get", "get", "set", "chain"]))
    r = rng.random()
    nd = 0 if r < 0.15 else int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 4, nd))
    if nd and rng.random() < 0.15:
        k = int(rng.integers(0, nd))
        shape = shape[:k] + (0,) + shape[k + 1 :]
    kinds = ("e", "n", "m", "m", "b", "B0", "i", "s", "t")
    dtype = str(rng.choice(C.DTYPES))
    layout = int(rng.choice([0, 1, 2]))
    seed = int(rng.integers(0, 2**16))
    index = C.draw_index(rng, shape, kinds)
    bare = bool(rng.random() < 0.3) and len(index) == 1
    target = C._target_shape(shape, index, bare)
    if mode == "get":
        return C.Case(shape, dtype, layout, mode, index, bare, seed=seed)
    if mode == "set":
        twice = C._writes_twice(shape, index, bare)
        value = C._draw_value(rng, dtype, target, twice, tensor_only=rng.random() < 0.6)
        return C.Case(shape, dtype, layout, mode, index, bare, value, seed=seed)
    index = C.draw_index(rng, shape, ("e", "n", "s", "i"))
    mid = C._target_shape(shape, index, False)
    index2 = C.draw_index(rng, mid if mid is not None else shape, kinds)
    value = None
    op = "set" if dtype == "bool" else str(rng.choice(["set", "mul_"]))
    if op == "set":
        tgt = C._target_shape(mid, index2, False) if mid is not None else None
        twice = mid is not None and C._writes_twice(mid, index2, False)
        value = C._draw_value(rng, dtype, tgt, twice, tensor_only=False)
    return C.Case(shape, dtype, layout, "chain", index, False, value, index2, False, op, seed)


def draw(rng: np.random.Generator) -> Any:
    return draw_mixed(rng) if rng.random() < 0.35 else draw_view_case(rng)


def check_any(case: Any) -> list[str]:
    return check(case) if isinstance(case, ViewCase) else C.check(case)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else 0
    ops = set(argv[2:])  # only cases of these ops (VIEW_OPS, or the mixed cases' ops)
    rng = np.random.default_rng(seed)
    groups: dict = {}
    for _ in range(count):
        case = draw(rng)
        if ops and getattr(case, "op", None) not in ops:
            continue
        diffs = check_any(case)
        if diffs:
            sig = (type(case).__name__, getattr(case, "op", ""), signature(diffs))
            groups.setdefault(sig, []).append((case, diffs))
    print(f"{count} cases, {sum(map(len, groups.values()))} disagreements in {len(groups)} groups")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        case, diffs = min(found, key=lambda f: len(repr(f[0])))
        print(f"\n[{len(found)}x] {sig}\n  {case!r}")
        for dd in diffs[:4]:
            print(f"    {dd[:300]}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
