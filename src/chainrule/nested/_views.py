"""Shape ops and reductions on nested tensors (``transpose``, ``reshape``/``view``,
``unsqueeze``/``squeeze``, ``unflatten``, ``chunk``/``split``, ``cat``, ``sum``/``mean``), and the
two ways a handler wraps its dense result again (:func:`with_values`, :func:`rebuild`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.tensor import Tensor
from ..creation import tensor as _new_tensor
from ..dtype_rules import promote_types
from ..ops import cat, stack
from ..ops._util import dim_range_error
from ..ops.tensor_queries import strided
from ._tensor import NestedTensor

__all__ = ["VIEW_HANDLERS", "rebuild", "with_values"]


def with_values(like: NestedTensor, values: Tensor, ragged_idx: int | None = None) -> NestedTensor:
    """A jagged tensor of ``like``'s structure (offsets, lengths, ragged size) over
    ``values``, its ragged dim at ``ragged_idx`` (default: ``like``'s)."""
    d = like.__dict__
    idx = d["_ragged_idx"] if ragged_idx is None else ragged_idx
    return NestedTensor._jagged(values, d["_offsets"], d["_lengths"], idx, d["_sym"])


def rebuild(like: NestedTensor, comps: list[Tensor], ragged_idx: int | None = None) -> NestedTensor:
    """A nested tensor of ``like``'s layout holding ``comps``: jagged ones are joined along
    the ragged dim; they keep ``like``'s offsets (and ragged size) where those describe the
    joined values (no holes, no gap in front), else get new offsets."""
    if like.layout is strided:
        return NestedTensor._strided(comps)
    d = like.__dict__
    idx = d["_ragged_idx"] if ragged_idx is None else ragged_idx
    lens = [c.shape[idx - 1] for c in comps]
    values = cat(comps, dim=idx - 1)
    total, offs = 0, [0]
    for n in lens:
        total += n
        offs.append(total)
    if d["_lengths"] is None and [int(o) for o in d["_offsets"].tolist()] == offs:
        return NestedTensor._jagged(values, d["_offsets"], None, idx, d["_sym"])
    return NestedTensor._jagged(values, _new_tensor(offs), None, idx)


def _dims(args: tuple, kwargs: dict, key: str = "dim") -> Any:
    return kwargs.get(key, args[1] if len(args) > 1 else None)


def _transpose(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0]
    d0 = x._norm_dim(kwargs.get("dim0", args[1] if len(args) > 1 else None), name)
    d1 = x._norm_dim(kwargs.get("dim1", args[2] if len(args) > 2 else None), name)
    if x.layout is strided:
        if d0 == 0 or d1 == 0:
            raise RuntimeError(f"Nested tensor dimension {0} cannot be transposed")
        return NestedTensor._strided([c.transpose(d0 - 1, d1 - 1) for c in x.unbind()])
    if d0 == 0 or d1 == 0:
        raise ValueError("Transpose is not supported on the batch dimension for jagged NT")
    r = x._ragged_idx
    r = d1 if r == d0 else d0 if r == d1 else r
    return with_values(x, x.values().transpose(d0 - 1, d1 - 1), r)


def _shape_arg(args: tuple, kwargs: dict) -> list:
    if "shape" in kwargs or "size" in kwargs:
        shape = kwargs.get("shape", kwargs.get("size"))
    else:
        shape = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
    return list(shape)


def _reshape(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, shape = args[0], _shape_arg(args, kwargs)
    if x.layout is strided:
        if not shape or shape[0] != len(x.unbind()):
            raise RuntimeError(
                "reshape: For now nested reshape cannot change or infer the implicit batch "
                "dimension"
            )
        return NestedTensor._strided([func(c, tuple(shape[1:])) for c in x.unbind()])
    r, sizes = x._ragged_idx, x.size()
    ok = len(shape) > r and shape[0] == sizes[0] and (shape[r] == -1 or shape[r] is sizes[r])
    ok = ok and all(isinstance(s, int) for i, s in enumerate(shape) if i != r)
    if ok and x.lengths() is None:
        rest = [x.values().shape[r - 1] if i == r else s for i, s in enumerate(shape)][1:]
        try:
            values = func(x.values(), tuple(rest))
        except RuntimeError:
            values = None
        if values is not None and values.shape[r - 1] == x.values().shape[r - 1]:
            return with_values(x, values)
    shown = ", ".join(str(s) for s in sizes)
    raise RuntimeError(f"view(): cannot view shape ({shown}) as {list(shape)}")


def _unsqueeze(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, dim = args[0], _dims(args, kwargs)
    n = x.dim() + 1
    if not -n <= dim < n:
        raise dim_range_error(dim, n)
    d = dim % n
    if d == 0:
        raise RuntimeError("unsqueeze(): cannot unsqueeze the batch dim of a nested tensor")
    if x.layout is strided:
        return NestedTensor._strided([c.unsqueeze(d - 1) for c in x.unbind()])
    r = x._ragged_idx + (1 if d <= x._ragged_idx else 0)
    return with_values(x, x.values().unsqueeze(d - 1), r)


def _squeeze(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, dim = args[0], _dims(args, kwargs)
    if dim is None or isinstance(dim, (tuple, list)):
        raise NotImplementedError(f"{name}(): on a nested tensor, give one dim")
    d = x._norm_dim(dim, name)
    if d == 0 or (x.layout is not strided and d == x._ragged_idx):
        raise RuntimeError(f"{name}(): cannot squeeze the batch or ragged dim of a nested tensor")
    if x.layout is strided:
        return NestedTensor._strided([c.squeeze(d - 1) for c in x.unbind()])
    r = x._ragged_idx - (1 if d < x._ragged_idx and x.values().shape[d - 1] == 1 else 0)
    return with_values(x, x.values().squeeze(d - 1), r)


def _unflatten(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0]
    dim, sizes = _dims(args, kwargs), kwargs.get("sizes", args[2] if len(args) > 2 else None)
    if x.layout is strided:
        raise RuntimeError(
            "Internal error: NestedTensorImpl doesn't support sizes. Please file an issue."
        )
    d = x._norm_dim(dim, name)
    if d == 0 or d == x._ragged_idx:
        raise RuntimeError(f"{name}(): cannot unflatten the batch or ragged dim of a nested tensor")
    r = x._ragged_idx + (len(sizes) - 1 if d < x._ragged_idx else 0)
    return with_values(x, x.values().unflatten(d - 1, sizes), r)


def _flatten(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0]
    start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
    end = kwargs.get("end_dim", args[2] if len(args) > 2 else -1)
    s, e = x._norm_dim(start, name), x._norm_dim(end, name)
    if s == 0 or (x.layout is not strided and s <= x._ragged_idx <= e and s != e):
        raise RuntimeError(
            f"{name}(): cannot flatten the batch or ragged dim of a nested tensor (dims {s} "
            f"to {e} of a tensor whose ragged dim is {getattr(x, '_ragged_idx', '?')})"
        )
    if x.layout is strided:
        return NestedTensor._strided([c.flatten(s - 1, e - 1) for c in x.unbind()])
    r = x._ragged_idx - (e - s if e < x._ragged_idx else 0)
    return with_values(x, x.values().flatten(s - 1, e - 1), r)


def _split_like(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0]
    spec = kwargs.get("chunks", kwargs.get("split_size_or_sections", kwargs.get("split_sizes")))
    if spec is None:
        spec = args[1]
    dim = kwargs.get("dim", args[2] if len(args) > 2 else 0)
    d = x._norm_dim(dim, name)
    if x.layout is strided:
        if name == "chunk" and d != x.dim() - 1:
            raise RuntimeError(
                "Chunk for nested tensors is currently only supported for the last dimension."
            )
        if name == "split" and isinstance(spec, int):
            raise NotImplementedError(
                "Could not run 'aten::split.Tensor' with arguments from the 'NestedTensorCPU' "
                "backend (give split sizes as a list)"
            )
        if d != x.dim() - 1:
            raise RuntimeError(f"{name}(): only the last dim of a strided nested tensor splits")
        parts = [func(c, spec, d - 1) for c in x.unbind()]
        return tuple(NestedTensor._strided(list(p)) for p in zip(*parts))
    if d == 0 or d == x._ragged_idx:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim")
    return tuple(with_values(x, v) for v in func(x.values(), spec, d - 1))


def _cat(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """``cat`` of nested tensors, as torch's: strided ones along dim 0 (the component lists
    joined, promoted to one dtype) or along a component dim (each component with its
    partners); jagged ones along a regular dim only, when all have the same offsets."""
    seq = list(kwargs.get("tensors", args[0] if args else []))
    dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
    if not seq:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    first = seq[0]
    if not all(isinstance(t, NestedTensor) for t in seq):
        raise RuntimeError("Expected each tensor in given list to be nested.")
    if any(t.layout is not first.layout for t in seq):
        raise RuntimeError(f"{name}(): expected nested tensors of one layout")
    if any(t.dim() != first.dim() for t in seq):
        raise RuntimeError(
            f"{name}(): expected nested tensors of one dim, got dims {[t.dim() for t in seq]}"
        )
    d = first._norm_dim(dim, name)
    if first.layout is strided:
        if d == 0:
            comps = [c for t in seq for c in t.unbind()]
            want = comps[0].dtype
            for c in comps[1:]:
                want = promote_types(want, c.dtype)
            return NestedTensor._strided([c if c.dtype == want else c.to(want) for c in comps])
        rows = [t.unbind() for t in seq]
        if any(len(r) != len(rows[0]) for r in rows):
            raise RuntimeError(
                f"{name}(): expected all nested tensors to have matching ragged structures "
                "outside of the concatenated dim"
            )
        return NestedTensor._strided([func(list(parts), d - 1) for parts in zip(*rows)])
    if d == 0:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on dim=0")
    if d == first._ragged_idx:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim")
    offsets = first.offsets().tolist()
    for t in seq[1:]:
        same = t._ragged_idx == first._ragged_idx and t.offsets().tolist() == offsets
        if not same or t.lengths() is not None or first.lengths() is not None:
            raise RuntimeError(
                f"{name}(): expected all nested tensors to have matching ragged structures "
                "outside of the concatenated dim"
            )
    return with_values(first, func([t.values() for t in seq], d - 1))


def _reduce(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, dim = args[0], _dims(args, kwargs)
    keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    extra = {k: v for k, v in kwargs.items() if k not in ("dim", "keepdim")}
    if isinstance(dim, (tuple, list)) and len(dim) == 1:
        dim = dim[0]
    if x.layout is strided:
        if dim is None or name != "sum" or isinstance(dim, (tuple, list)):
            raise NotImplementedError(
                f"Could not run 'aten::{name}' with arguments from the 'NestedTensorCPU' "
                f"backend (strided nested tensors reduce the last dim only, keepdim=True)"
            )
        d = x._norm_dim(dim, name)
        if d != x.dim() - 1:
            raise RuntimeError(
                f"NestedTensor can only be reduced across the last dimension for now got "
                f"dimension {d} instead."
            )
        if not keepdim:
            raise RuntimeError("NestedTensor always requires keepdim=True for now.")
        return NestedTensor._strided([func(c, d - 1, True, **extra) for c in x.unbind()])
    comps, r = x.unbind(), x._ragged_idx
    if dim is None:
        return func(cat([c.reshape(-1) for c in comps]), **extra)
    if isinstance(dim, (tuple, list)):
        dims = sorted(x._norm_dim(d, name) for d in dim)
        if dims != [0, r]:
            raise NotImplementedError(
                f"{name}(): reducing a jagged nested tensor over dims {list(dim)} (supported: "
                f"one non-batch dim, or the batch and ragged dims together)"
            )
        return func(cat(list(comps), dim=r - 1), r - 1, keepdim, **extra)
    d = x._norm_dim(dim, name)
    if d == 0:
        raise RuntimeError(
            f"{name}(): reducing along the batch dimension but not the ragged dimension is "
            f"not supported for nested tensors"
        )
    if d == r:
        return stack([func(c, r - 1, keepdim, **extra) for c in comps])
    if x.lengths() is not None:
        raise NotImplementedError(f"{name}(): over a regular dim of a jagged view with holes")
    new_r = r - 1 if (d < r and not keepdim) else r
    return with_values(x, func(x.values(), d - 1, keepdim, **extra), new_r)


VIEW_HANDLERS: dict[str, Callable] = {
    "transpose": _transpose,
    "swapaxes": _transpose,
    "swapdims": _transpose,
    "reshape": _reshape,
    "view": _reshape,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "unflatten": _unflatten,
    "flatten": _flatten,
    "chunk": _split_like,
    "split": _split_like,
    "split_with_sizes": _split_like,
    "cat": _cat,
    "concat": _cat,
    "concatenate": _cat,
    "sum": _reduce,
    "mean": _reduce,
}
