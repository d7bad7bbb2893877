"""Making nested tensors: ``nested_tensor``, ``as_nested_tensor``,
``nested_tensor_from_jagged``, ``narrow`` and ``masked_select`` (torch.nested's constructors).

``nested_tensor`` copies its inputs into a new leaf; ``as_nested_tensor`` and the others keep
the autograd graph to their inputs (gradients flow back to them), as torch's do.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..creation import arange, zeros
from ..creation import tensor as _new_tensor
from ..creation_options import check_pin_memory
from ..ops import cat, cumsum
from ..ops.number_arguments import refuse_dtype
from ..ops.tensor_queries import layout, strided
from ._tensor import NestedTensor, jagged, pack_leaf

__all__ = [
    "as_nested_tensor",
    "masked_select",
    "narrow",
    "nested_tensor",
    "nested_tensor_from_jagged",
]


def _check_layout(lay: Any) -> layout:
    if lay is None:
        return strided
    if lay is strided or lay is jagged:
        return lay
    raise RuntimeError(f"Specified layout is unsupported for nested tensors: {lay}")


def _components(
    op: str, items: Any, dtype: Any, device: Any, lay: layout = strided
) -> list[Tensor]:
    """The list's entries as tensors of one dim and (unless ``dtype``) the first's dtype."""
    comps = [t if isinstance(t, Tensor) else _new_tensor(t) for t in items]
    for i, c in enumerate(comps):
        if isinstance(c, NestedTensor):
            raise RuntimeError(f"{op}(): entry {i} is a nested tensor; nesting is one level")
        if c.dim() != comps[0].dim() and lay is jagged:
            raise RuntimeError(
                "When constructing a nested tensor, all tensors in list must have the same dim"
            )
        if c.dim() != comps[0].dim():
            raise RuntimeError(
                f"All Tensors given to nested_tensor must have the same dimension. Found "
                f"dimension {c.dim()} for Tensor at index {i} and dimension {comps[0].dim()} "
                f"for Tensor at index 0."
            )
    if comps:
        want = dtype if dtype is not None else comps[0].dtype
        comps = [c if c.dtype == want else c.to(want) for c in comps]
    if device is not None:
        comps = [c.to(device) for c in comps]
    return comps


def _ragged_dim(comps: list[Tensor]) -> int:
    """The one dim (of the components) whose sizes differ; 0 if none does."""
    if not comps:
        raise RuntimeError("Cannot construct a nested tensor from an empty tensor list")
    if comps[0].dim() == 0:
        raise RuntimeError("Cannot construct a nested tensor from a list of zero-dim tensors")
    differ = [d for d in range(comps[0].dim()) if len({c.shape[d] for c in comps}) > 1]
    if len(differ) > 1:
        raise RuntimeError(
            "Cannot represent given tensor list as a nested tensor with the jagged layout. "
            "Note that the jagged layout only allows for a single ragged dimension. For "
            "example: (B, *, D_0, D_1, ..., D_N), with ragged * dim."
        )
    return differ[0] if differ else 0


def _jagged_from(comps: list[Tensor]) -> NestedTensor:
    r = _ragged_dim(comps)
    lens = [c.shape[r] for c in comps]
    offsets = _new_tensor([0, *_running(lens)])
    return NestedTensor._jagged(cat(comps, dim=r), offsets, None, r + 1)


def _running(lens: list[int]) -> list[int]:
    out, total = [], 0
    for n in lens:
        total += n
        out.append(total)
    return out


def nested_tensor(
    tensor_list: Any,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> NestedTensor:
    """A new leaf nested tensor holding copies of ``tensor_list``'s tensors (or nested lists
    of numbers), of ``layout`` ``cr.strided`` (default; any sizes, same dim) or
    ``cr.jagged`` (one ragged dim). ``pin_memory=True`` raises, as chainrule's other
    factories do (no pinned-memory allocator)."""
    check_pin_memory("nested_tensor", pin_memory)
    if dtype is not None:  # PyTorch's parser: a dtype (its words where it is none)
        refuse_dtype("nested_tensor", dtype)
    lay = _check_layout(layout)
    if not isinstance(tensor_list, list) and not (lay is jagged and isinstance(tensor_list, tuple)):
        raise TypeError(
            "Only lists (List[Tensor] and List[List...[Scalar]]) are accepted in nested_tensor"
        )
    comps = [c.detach() for c in _components("nested_tensor", tensor_list, dtype, device, lay)]
    if requires_grad and comps and not (comps[0].is_floating_point() or comps[0].is_complex()):
        if lay is jagged:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    if lay is jagged:
        nt = _jagged_from(comps)
        d = nt.__dict__
        d["_values"] = d["_values"].detach().clone()
    else:
        buffer, views = pack_leaf(comps)
        nt = NestedTensor._strided(views, buffer)
    if requires_grad:
        nt.requires_grad_(True)
    return nt


def as_nested_tensor(
    ts: Any, dtype: Any = None, device: Any = None, layout: Any = None
) -> NestedTensor:
    """A nested tensor of ``ts`` (a list of tensors, or a tensor whose dim 0 is the batch)
    that keeps the autograd graph to them; a nested tensor of the same layout is returned
    as is (converted to ``dtype``/``device`` if given)."""
    lay = _check_layout(layout)
    if isinstance(ts, NestedTensor):
        if ts.layout is not lay:
            raise RuntimeError(
                "as_nested_tensor(): Converting between nested tensor layouts is not supported"
            )
        out = ts if dtype is None else ts.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(ts, Tensor):
        if ts.dim() < 2:
            raise RuntimeError(
                f"as_nested_tensor(): expected a tensor of dim >= 2 (dim 0 the batch), got "
                f"dim {ts.dim()}"
            )
        if lay is jagged:
            b, n = ts.shape[0], ts.shape[1]
            values = ts.reshape(b * n, *ts.shape[2:])
            values = _convert(values, dtype, device)
            return NestedTensor._jagged(values, arange(0, b * n + 1, max(n, 1))[: b + 1], None, 1)
        ts = list(ts.unbind(0))
    if not isinstance(ts, (list, tuple)):
        raise TypeError(
            "as_nested_tensor(): Expected first argument to be a tensor or a list / tuple of "
            "tensors "
        )
    comps = _components("as_nested_tensor", list(ts), dtype, device, lay)
    if lay is jagged:
        return _jagged_from(comps)
    # not leaves, as torch's; a component that is not row-major is copied, as torch copies
    # the list into one contiguous buffer (a transposed one keeps no strides of its own)
    return NestedTensor._strided(
        [(c if c.is_contiguous() else c.contiguous()).view(c.shape) for c in comps]
    )


def _convert(t: Tensor, dtype: Any, device: Any) -> Tensor:
    if dtype is not None:
        t = t.to(dtype)
    return t if device is None else t.to(device)


def nested_tensor_from_jagged(
    values: Tensor,
    offsets: Tensor | None = None,
    lengths: Tensor | None = None,
    jagged_dim: int | None = None,
    min_seqlen: int | None = None,
    max_seqlen: int | None = None,
) -> NestedTensor:
    """A jagged nested tensor viewing ``values`` (its dim ``jagged_dim - 1`` ragged), split by
    ``offsets`` (B+1 entries) and, for a view with holes, ``lengths`` (B entries); either one
    may be given alone. ``min_seqlen``/``max_seqlen`` are cached hints, kept as given."""
    if not isinstance(values, Tensor) or isinstance(values, NestedTensor):
        raise ValueError(
            f"nested_tensor_from_jagged(): expected values to be a (dense) tensor, got "
            f"{type(values).__name__}"
        )
    if offsets is None and lengths is None:
        raise RuntimeError(
            "nested_tensor_from_jagged(): At least one of offsets or lengths is required."
        )
    if jagged_dim is None:
        jagged_dim = 1
    if jagged_dim < 1:
        raise ValueError(f"Expected jagged_dim >=1, but got {jagged_dim}.")
    if jagged_dim > values.dim():
        raise ValueError(
            f"nested_tensor_from_jagged(): jagged_dim={jagged_dim} is out of range for values "
            f"of dim {values.dim()} (valid: 1 to {values.dim()})"
        )
    for name, t in (("offsets", offsets), ("lengths", lengths)):
        if t is not None and (not isinstance(t, Tensor) or t.dim() != 1):
            got = f"{t.dim()}D" if isinstance(t, Tensor) else type(t).__name__
            raise AssertionError(f"{name} must be 1D, but got {got}")
    if offsets is None:
        offsets = cat([zeros(1, dtype=lengths.dtype), cumsum(lengths, 0)])
        lengths = None
    nt = NestedTensor._jagged(values, offsets, lengths, jagged_dim)
    nt.__dict__["_seqlen"] = (min_seqlen, max_seqlen)
    return nt


def narrow(
    tensor: Tensor, dim: int, start: Any, length: Any, layout: Any = strided
) -> NestedTensor:
    """A nested tensor of, per row of ``tensor``, the slice ``start:start+length`` of ``dim``
    (``start``/``length``: ints, or per-row tensors for the jagged layout). Jagged: a view of
    ``tensor`` with holes (dim must be 1); strided: only ``dim=0`` (rows), as torch."""
    lay = _check_layout(layout)
    if not isinstance(tensor, Tensor) or isinstance(tensor, NestedTensor):
        raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: {dim}")
    if lay is strided:
        if isinstance(start, Tensor) or isinstance(length, Tensor):
            raise RuntimeError("start and length must be integers for the strided layout NT impl")
        if dim != 0:
            raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: {dim}")
        return NestedTensor._strided(list(tensor.unbind(0))[start : start + length])
    if dim != 1:
        raise RuntimeError("jagged layout only supports dim=1")
    b, n = tensor.shape[0], tensor.shape[1]
    starts = start.reshape(-1) if isinstance(start, Tensor) else _full_long(b, start)
    lens = length.reshape(-1) if isinstance(length, Tensor) else _full_long(b, length)
    starts = starts.long() + arange(b) * n
    offsets = cat([starts, (starts[-1] + lens[-1].long()).reshape(1)])
    values = tensor.reshape(b * n, *tensor.shape[2:])
    return NestedTensor._jagged(values, offsets, lens.long(), 1)


def _full_long(n: int, value: int) -> Tensor:
    """An int64 tensor of ``n`` copies of ``value``."""
    return _new_tensor([int(value)] * n)


def masked_select(tensor: Tensor, mask: Tensor) -> NestedTensor:
    """A jagged nested tensor with one component per row (last dim) of ``tensor``: the
    entries where ``mask`` (broadcast to ``tensor``'s shape) is True."""
    if isinstance(tensor, NestedTensor):
        raise RuntimeError(
            f"torch.nested.masked_select requires a strided tensor, given {tensor.layout!r}"
        )
    if not isinstance(tensor, Tensor) or not isinstance(mask, Tensor):
        raise TypeError(
            f"masked_select(): expected tensor and mask to be Tensors, got "
            f"{type(tensor).__name__} and {type(mask).__name__}"
        )
    mask = mask.expand(tensor.shape)
    values = tensor[mask]
    lens = mask.reshape(-1, tensor.shape[-1]).sum(-1)
    offsets = cat([zeros(1, dtype=lens.dtype), cumsum(lens, 0)])
    return NestedTensor._jagged(values, offsets, None, 1)
