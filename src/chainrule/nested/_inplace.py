"""More ops on nested tensors: in-place ops (``add_``, ``relu_``, ``copy_``, ``fill_``, ...),
indexing (``nt[0]``, ``nt[0, 1]``, ``nt[..., 0]``, strided ``nt[1:]``), ``select`` /
``narrow`` along the batch dim, and ``max``/``min``/``amax``/``amin``/``argmax``/``argmin``
along a dim of a jagged tensor, as torch's nested tensors (what torch refuses raises
torch's error).

An in-place op runs on the data in place: a jagged tensor's values, or each component of a
strided one, so views of the data (``nt.unbind()``, ``nt.values()``) see the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..ops import argmax, argmin, cat, stack
from ..ops.tensor_queries import strided
from ._tensor import NestedTensor
from ._views import with_values

__all__ = ["INPLACE_HANDLERS", "inplace_handler"]

# in-place ops torch's strided nested tensors run (the others: NotImplementedError)
_STRIDED_INPLACE = frozenset("add_ mul_ relu_ abs_ neg_ zero_ fill_ copy_ detach_".split())
_JAGGED_REFUSED = frozenset({"abs_"})  # torch's jagged tensors have no abs_ kernel
_LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


def _no_kernel(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"Could not run 'aten::{name}' with arguments from the 'NestedTensorCPU' backend "
        f"(strided-layout nested tensors do not support {name}())"
    )


def _shape_str(nt: NestedTensor) -> str:
    return "(" + ", ".join(str(s) for s in nt.size()) + ")"


def _check_leaf(nt: NestedTensor) -> None:
    if nt.requires_grad and nt.is_leaf and is_grad_enabled():
        raise RuntimeError(_LEAF_ERROR)


def _other_parts(name: str, nt: NestedTensor, other: NestedTensor) -> list[Tensor]:
    """The dense tensors of ``other`` matching ``nt``'s (values, or components)."""
    base = name.rstrip("_")
    if other.layout is not nt.layout:
        raise RuntimeError(
            f"{name}(): cannot combine nested tensors of layouts {nt.layout!r} and {other.layout!r}"
        )
    if nt.layout is strided:
        mine, theirs = nt.unbind(), other.unbind()
        if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs)):
            if name == "copy_":
                raise RuntimeError(
                    "copy_ only supports tensors that are the same size for Nested implementations"
                )
            raise RuntimeError(f"{base} does not support broadcasting when given a NestedTensor")
        return list(theirs)
    same = nt.size() == other.size()
    if name == "copy_" and not same:  # copy_ compares the components, not the ragged ids
        same = len(nt.unbind()) == len(other.unbind()) and all(
            a.shape == b.shape for a, b in zip(nt.unbind(), other.unbind())
        )
    if not same or other.lengths() is not None or nt.lengths() is not None:
        if name == "copy_":
            raise RuntimeError(
                f"copy_(): expected compatible input and src shapes, but got: "
                f"torch.Size([{_shape_str(nt)[1:-1]}]) and torch.Size([{_shape_str(other)[1:-1]}])"
            )
        raise RuntimeError(
            f"cannot call binary pointwise function {base}.Tensor with inputs of shapes "
            f"{_shape_str(nt)} and {_shape_str(other)}"
        )
    return [other.values()]


def inplace_handler(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """An in-place op on a nested tensor (the first argument): run on its values (jagged)
    or each component (strided), with a nested operand's matching parts. Returns the
    nested tensor itself."""
    nt, rest = args[0], list(args[1:])
    if not isinstance(nt, NestedTensor):
        raise NotImplementedError(f"{name}(): a nested tensor is supported as the input only")
    if nt.layout is strided and name not in _STRIDED_INPLACE:
        raise _no_kernel(name)
    if nt.layout is not strided and name in _JAGGED_REFUSED:
        raise NotImplementedError(f"aten.{name}.default (jagged nested tensors have no {name})")
    if name != "detach_":
        _check_leaf(nt)
    if name == "copy_":
        src = rest[0] if rest else kwargs.pop("src", None)
        if not isinstance(src, NestedTensor):
            if nt.layout is strided:
                raise RuntimeError("get_nested_tensor_impl requires a NestedTensor.")
            raise ValueError(
                "NestedTensor copy_default(self: jt_all, src: jt_all, non_blocking: any?): "
                "expected src to be a jagged layout NestedTensor"
            )
        rest = [src, *rest[1:]]
    for a in kwargs.values():
        if isinstance(a, NestedTensor):
            raise NotImplementedError(f"{name}(): a nested keyword argument")
    nested_at = [i for i, a in enumerate(rest) if isinstance(a, NestedTensor)]
    parts = {i: _other_parts(name, nt, rest[i]) for i in nested_at}
    if nt.layout is strided:
        mine = nt.unbind()
    else:
        mine = [nt.values()]
    for k, target in enumerate(mine):
        call_args = [parts[i][k] if i in parts else a for i, a in enumerate(rest)]
        func(target, *call_args, **kwargs)
    if name == "detach_":
        _detach_(nt)
    return nt


def _detach_(nt: NestedTensor) -> None:
    """``detach_``: the nested tensor's data tensors detached in place."""
    d = nt.__dict__
    if nt.layout is strided:
        if d["_buffer"] is not None:
            d["_buffer"] = d["_buffer"].detach()
        d["_comps"] = [c.detach() for c in d["_comps"]]
    else:
        d["_values"], d["_comps"] = d["_values"].detach(), None


# ---- indexing ----------------------------------------------------------------------------
def _unsqueeze0_error(nt: NestedTensor) -> RuntimeError:
    if nt.layout is strided:
        return RuntimeError(
            "unsqueeze(): For nested tensors, unsqueezing dimension 0 is not supported at the "
            "moment if you need this feature, please open an issue on github describing your "
            "use case."
        )
    return RuntimeError("unsqueeze(): not supported for NestedTensor on dim=0")


def _slice0_error(nt: NestedTensor, what: str = "slice") -> Exception:
    if nt.layout is strided:
        return NotImplementedError(
            f"Could not run 'aten::{what}.Tensor' with arguments from the 'NestedTensorCPU' "
            "backend (strided nested tensors are indexed along the batch dim by an int only)"
        )
    return RuntimeError(f"{what}(): not supported for NestedTensor on dim=0")


def _component(nt: NestedTensor, i: int) -> Tensor:
    comps = nt.unbind()
    if not -len(comps) <= i < len(comps):
        raise IndexError(f"index {i} is out of bounds for dimension 0 with size {len(comps)}")
    return comps[i]


def getitem(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """``nt[i]`` (a component), ``nt[i, ...]`` (indexing into it), ``nt[..., j]`` (the
    same index of every component, along the regular dims after the ragged ones)."""
    nt, index = args[0], args[1]
    items = index if isinstance(index, tuple) else (index,)
    if not items:
        return nt
    first, rest = items[0], items[1:]
    if any(x is None for x in items):
        raise _unsqueeze0_error(nt)
    if isinstance(first, int) and not isinstance(first, bool):
        comp = _component(nt, first)
        return comp[rest] if rest else comp
    if first is Ellipsis and rest:
        if any(x is Ellipsis for x in rest) or any(isinstance(x, Tensor) for x in rest):
            raise NotImplementedError(f"__getitem__: {index!r} on a nested tensor")
        if nt.layout is strided:
            return NestedTensor._strided([c[(Ellipsis, *rest)] for c in nt.unbind()])
        trailing = nt.dim() - 1 - nt._ragged_idx
        if len(rest) > trailing:
            raise NotImplementedError(
                f"__getitem__: {index!r} reaches the ragged dim of a nested tensor"
            )
        values = nt.values()[(Ellipsis, *rest)]
        return with_values(nt, values)
    if isinstance(first, slice):
        raise _slice0_error(nt)
    if isinstance(first, Tensor):
        if nt.layout is strided:
            raise _slice0_error(nt, "index")
        raise NotImplementedError("aten.index.Tensor (indexing a nested tensor by a tensor)")
    raise NotImplementedError(f"__getitem__: nested tensors cannot be indexed by {index!r}")


def select(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """``nt.select(0, i)``: component ``i``; ``select`` along another dim of a jagged
    tensor's regular dims runs on its values."""
    nt = args[0]
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    i = kwargs.get("index", args[2] if len(args) > 2 else None)
    d = nt._norm_dim(dim, "select")
    if d == 0:
        return _component(nt, i)
    if nt.layout is strided:
        return NestedTensor._strided([c.select(d - 1, i) for c in nt.unbind()])
    if d == nt._ragged_idx:
        raise RuntimeError("select(): not supported for NestedTensor on the ragged dim")
    new_r = nt._ragged_idx - 1 if d < nt._ragged_idx else nt._ragged_idx
    return with_values(nt, nt.values().select(d - 1, i), new_r)


def narrow(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """``nt.narrow(0, start, length)``: the components ``start:start+length`` of a strided
    nested tensor (a jagged one refuses, as torch's)."""
    nt = args[0]
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    start = kwargs.get("start", args[2] if len(args) > 2 else None)
    length = kwargs.get("length", args[3] if len(args) > 3 else None)
    d = nt._norm_dim(dim, "narrow")
    if d != 0:
        if nt.layout is strided:
            return NestedTensor._strided([c.narrow(d - 1, start, length) for c in nt.unbind()])
        raise NotImplementedError("narrow(): along a non-batch dim of a jagged nested tensor")
    if nt.layout is not strided:
        raise RuntimeError("narrow(): not supported for NestedTensor on dim=0")
    comps = nt.unbind()
    n = len(comps)
    s = start + n if start < 0 else start
    if s < 0 or s > n or length < 0 or s + length > n:
        raise IndexError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return NestedTensor._strided(list(comps[s : s + length]))


# ---- max / min / argmax / argmin along a dim ----------------------------------------------
def reduce_dim(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """``max``/``min``/``amax``/``amin``/``argmax``/``argmin`` of a jagged nested tensor:
    of all elements (no dim; argmax/argmin index the flattened values), over a regular dim
    (a nested result, or a (values, indices) pair of them), over the ragged dim (dense
    results stacked over the batch); the batch dim alone is refused, as torch's."""
    nt = args[0]
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    keepdim = bool(kwargs.get("keepdim", args[2] if len(args) > 2 else False))
    if isinstance(dim, NestedTensor) or isinstance(dim, Tensor):  # max(a, b): elementwise
        raise NotImplementedError(f"{name}(): of two nested tensors (use maximum/minimum)")
    if nt.layout is strided:
        overload = f"{name}.dim" if name in ("max", "min") and dim is not None else name
        raise NotImplementedError(
            f"Could not run 'aten::{overload}' with arguments from the 'NestedTensorCPU' "
            f"backend (strided-layout nested tensors do not support {name}; the jagged "
            "layout does)"
        )
    comps = nt.unbind()
    if dim is None:
        flat = cat([c.reshape(-1) for c in comps])
        if name in ("argmax", "argmin"):
            return (argmax if name == "argmax" else argmin)(flat)
        return func(flat)
    if isinstance(dim, (tuple, list)):
        if len(dim) != 1 or name not in ("amax", "amin"):
            raise NotImplementedError(f"{name}(): over several dims of a nested tensor")
        dim = dim[0]
    d = nt._norm_dim(dim, name)
    r = nt._ragged_idx
    if d == 0:
        raise RuntimeError(
            f"{name}(): reducing along the batch dimension but not the ragged dimension is "
            f"not supported for nested tensors"
        )
    if d == r:
        outs = [func(c, r - 1, keepdim) for c in comps]
        if isinstance(outs[0], tuple):
            return type(outs[0])(stack([o[0] for o in outs]), stack([o[1] for o in outs]))
        return stack(outs)
    if nt.lengths() is not None:
        raise NotImplementedError(f"{name}(): over a regular dim of a jagged view with holes")
    new_r = r - 1 if (d < r and not keepdim) else r
    out = func(nt.values(), d - 1, keepdim)
    if isinstance(out, tuple):
        return type(out)(with_values(nt, out[0], new_r), with_values(nt, out[1], new_r))
    return with_values(nt, out, new_r)


INPLACE_HANDLERS: dict[str, Callable] = {
    "__getitem__": getitem,
    "getitem": getitem,
    "select": select,
    "narrow": narrow,
    **dict.fromkeys(("max", "min", "amax", "amin", "argmax", "argmin"), reduce_dim),
}
