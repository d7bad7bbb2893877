"""``index_put`` / ``index_put_``: writing values at a tuple of index tensors.

``index_put`` checks its index tensors as PyTorch does (bool masks become their nonzero
coordinates) and records the write as ``IndexPut`` (overwrite, from ``subscript_write.py``)
or ``IndexPutAccumulate`` (accumulate, defined here). ``index_put_`` is the in-place form,
recorded through ``ops/inplace.py`` when autograd needs it. Moved out of ``indexing.py``
(session 40), which re-exports both names under their old import path.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.saved_fields import tensor_field  # grad_fn._saved_*
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import is_float8
from ..float8 import refuse as _refuse_float8
from ..meta.array import MetaArray, meta_empty
from .binding import tensor_method
from .inplace import apply_inplace
from .inplace_checks import check_leaf as _check_leaf
from .inplace_checks import check_writable_memory, writes_into_graph
from .inplace_overlap import check_no_overlap
from .masking import refuse_grad_into_integer
from .subscript_read import _save_index, _saved_index, _saved_indices, getitem
from .subscript_write import IndexPut, _check_value_shape, write_index

# ``index_put_`` is a Tensor-only method (bound from ``_TENSOR_ONLY`` in ``ops/__init__.py``)
__all__ = ["index_put", "index_put_"]


def _index_put_args(
    op: str, x: Tensor, indices: Any, values: Any, accumulate: bool = False
) -> tuple:
    """Check ``index_put``'s arguments as PyTorch does; return (index, values, the shape of
    ``x[index]``). One bool mask with a one-element value and no ``accumulate`` is
    PyTorch's ``masked_fill_``: the value is converted to ``x``'s dtype, any shape.

    The index is a tuple of integer arrays: a bool (or, deprecated, uint8) mask of ``k``
    dims is replaced by its ``k`` nonzero-coordinate arrays, as PyTorch expands it, so that
    repeated-index accumulation and the gradients see one advanced index."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"{op}(): argument 'indices' must be tuple of Tensors, not {type(indices).__name__}"
        )
    if not isinstance(values, Tensor):
        raise TypeError(f"{op}(): argument 'values' must be Tensor, not {type(values).__name__}")
    for k, i in enumerate(indices):  # PyTorch's argument parser: before any other check
        if not isinstance(i, Tensor):
            raise TypeError(
                f"{op}(): expected Tensor as element {k} in argument 'indices', "
                f"but got {type(i).__name__}"
            )
    if not indices:
        raise RuntimeError(f"{op}: indices must hold at least one index tensor, got ()")
    fill = not accumulate and len(indices) == 1 and values.numel() == 1
    if fill and indices[0]._data.dtype == np.uint8:  # PyTorch's masked_fill_, which refuses
        _refuse_byte_fill(op, x, indices[0])
    fill = fill and indices[0]._data.dtype == np.bool_
    # PyTorch's order of checks: the index tensors (dtypes, mask shapes, count, broadcast),
    # an index into an empty dim, the values' shape, the dtypes of x and values, the bounds
    idx: list = []
    dims: list = []  # the dim of x each array of idx indexes (None: a 0-d mask)
    dim = 0
    for k, i in enumerate(indices):
        a = i._data
        if a.dtype == np.uint8:
            warnings.warn(  # PyTorch's text, which filters match by its start
                "indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                "torch.bool instead.",
                UserWarning,
                stacklevel=3,
            )
            a = a.astype(bool)
        if a.dtype.kind == "b":
            mask_dims = x.shape[dim : dim + a.ndim]
            if tuple(a.shape) != tuple(mask_dims):
                raise IndexError(
                    f"{op}: the shape of the mask {list(a.shape)} at index {k} does not "
                    f"match the shape of the indexed tensor {list(x.shape)} at index {dim}"
                )
            if type(a) is MetaArray:  # how many: unknown; as many as the values bring
                idx.extend(_meta_positions(x, values, dim + a.ndim, a.ndim))
            else:
                idx.extend(get_array_module(a).nonzero(a) if a.ndim else (a,))
            dims.extend(range(dim, dim + a.ndim) if a.ndim else (None,))
            dim += a.ndim
        elif a.dtype in (np.int64, np.int32):  # (int16, uint16, ...: refused, as in PyTorch)
            idx.append(a)
            dims.append(dim)
            dim += 1
        else:
            raise IndexError(
                f"{op}: tensors used as indices must be long, int, byte or bool tensors, "
                f"got {i.dtype} at position {k}"
            )
    if dim > x.ndim or x.ndim == 0:
        raise IndexError(
            f"{op}: too many indices for tensor of dimension {x.ndim} (got {len(indices)})"
        )
    try:
        target = np.broadcast_shapes(*(a.shape for a in idx)) + tuple(x.shape[dim:])
    except ValueError:
        raise IndexError(
            f"{op}: shape mismatch: indexing tensors could not be broadcast together with "
            f"shapes {', '.join(str(list(a.shape)) for a in idx)}"
        ) from None
    if fill:  # masked_fill_: the positions are those of the mask, the value converted
        refuse_grad_into_integer(x, values)
        if values.dtype != x.dtype:
            values = values.to(x.dtype)
        return tuple(idx), values, target
    for k, a in zip(dims, idx):
        if k is not None and x.shape[k] == 0 and a.size:
            raise IndexError(f"{op}: index is out of bounds for dimension {k} with size 0")
    if values.ndim > len(target):  # unlike x[i] = v, index_put takes no extra leading dims
        raise RuntimeError(
            f"{op}: shape mismatch: value tensor of shape {list(values.shape)} cannot be "
            f"broadcast to indexing result of shape {list(target)}"
        )
    _check_value_shape(op, values.shape, target)
    if values.dtype != x.dtype:
        raise RuntimeError(
            f"{op}: Index put requires the source and destination dtypes match, got "
            f"{x.dtype} for the destination and {values.dtype} for the source; convert "
            "with values.to(x.dtype)"
        )
    for k, a in zip(dims, idx):  # bounds, from the shapes only (x may be batched by vmap)
        n = x.shape[k] if k is not None else 1
        if k is not None and a.size and (int(a.min()) < -n or int(a.max()) >= n):
            bad = int(a.min()) if int(a.min()) < -n else int(a.max())
            raise IndexError(f"{op}: index {bad} is out of bounds for dimension {k} with size {n}")
    return tuple(idx), values, target


def _meta_positions(x: Tensor, values: Tensor, end: int, k: int) -> list:
    """The ``k`` coordinate arrays of a meta mask over ``x``'s dims up to ``end``: meta,
    of the length the values' matching dim gives (1 where they broadcast), since the count
    of True elements is a value. PyTorch's meta ``index_put`` answers without it too."""
    at = values.ndim - (x.ndim - end) - 1
    n = values.shape[at] if at >= 0 else 1
    return [meta_empty((n,), np.int64) for _ in range(k)]


def _refuse_byte_fill(op: str, x: Tensor, mask: Tensor) -> None:
    """``index_put`` of a one-element value through one uint8 mask, without ``accumulate``:
    PyTorch fills through ``masked_fill_``, which takes bool masks only (PyTorch 2.13 raises
    where older versions warned). Its checks come first: a leaf that requires grad
    (``index_put_``), then the mask's shape."""
    if op == "index_put_":
        _check_leaf(x, op)
    a = mask._data
    if tuple(a.shape) != tuple(x.shape[: a.ndim]):
        raise IndexError(
            f"{op}: the shape of the mask {list(a.shape)} at index 0 does not match the shape "
            f"of the indexed tensor {list(x.shape)} at index 0"
        )
    raise RuntimeError(
        f"{op}: masked_fill_ only supports boolean masks, but got mask with dtype uint8 "
        "(index with a bool mask: mask.bool())"
    )


def _put(
    x: Tensor, idx: tuple, values: Tensor, target: tuple, accumulate: bool, given: Any = None
) -> Tensor:
    """The recorded out-of-place write of ``values`` (checked to fit the indexed shape
    ``target``): ``IndexPut`` (overwrite) or ``x`` plus ``values`` scatter-added at ``idx``
    (``IndexPutAccumulate``, whose derivative to ``values`` is the gather ``grad[idx]``)."""
    if not accumulate:
        return IndexPut.apply(x, values, idx)
    out = IndexPutAccumulate.apply(x, values, idx)
    if given is not None and out._grad_fn is not None:
        out._grad_fn.given_indices = tuple(given)  # _saved_indices as given (a bool mask too)
    return out


class IndexPutAccumulate(Function):
    """``out = x`` with ``values`` scatter-added at ``idx`` (repeated indices summed), one
    node as PyTorch's ``IndexPutBackward0`` (listing ``x`` and ``values``; saved
    ``accumulate=True`` and the indices). ``x`` gets the whole gradient, ``values`` the
    gather ``grad[idx]`` (summed back to its shape by the engine); both differentiable."""

    raw = True
    node_name = ("IndexPutBackward0", (0, 1))
    saved_fields = {
        "accumulate": lambda n: True,
        "indices": tensor_field(lambda n: getattr(n, "given_indices", None) or _saved_indices(n)),
    }

    @staticmethod
    def forward(ctx, x, v, idx):
        ctx.value_ndim = getattr(v, "ndim", 0)
        _save_index(ctx, idx)
        out = x.copy(order="K")  # PyTorch's clone: the input's strides
        write_index("index_put", Tensor._make(out, False, None, 0), idx, v, True)
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        gv = getitem(grad, _saved_index(ctx)) if needs[1] else None
        if gv is not None and gv.ndim < ctx.value_ndim:  # v had extra leading dims of size 1
            gv = gv.reshape((1,) * (ctx.value_ndim - gv.ndim) + tuple(gv.shape))
        return (grad if needs[0] else None), gv, None

    @staticmethod
    def jvp(ctx, tx, tv, _):
        x, idx = ctx.primals[0], ctx.primals[2]
        out = get_array_module(x).zeros_like(ctx.out) if tx is None else tx.copy(order="K")
        if tv is not None:
            write_index("index_put", Tensor._make(out, False, None, 0), idx, tv, True)
        return out


@tensor_method
def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """``torch.index_put``: a copy of ``input`` with ``values`` written at ``indices`` (a
    tuple of integer or bool index tensors, broadcast together), i.e. ``out[indices] =
    values``; with ``accumulate`` the values are *added*, repeated indices summed.

    Derivatives: overwrite -- ``input`` gets the gradient except at the written positions,
    ``values`` the gradient gathered there (summed over its broadcast dims); accumulate --
    ``input`` gets the whole gradient and ``values`` the gather ``grad[indices]``."""
    if _vmap.state.vmap:  # inside cr.func.vmap: per-sample indices run per sample
        from ..func._per_sample import index_batched, per_sample  # noqa: PLC0415 - cycle

        if index_batched(indices):
            return per_sample(index_put, input, indices, values, accumulate)
    idx, values, target = _index_put_args("index_put", input, indices, values, accumulate)
    return _put(input, idx, values, target, bool(accumulate), indices)


def index_put_(x: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """``x[indices] = values`` in place (or ``+=`` with repeated indices summed when
    ``accumulate``); recorded for autograd, as PyTorch's ``index_put_``, when ``x`` or
    ``values`` requires grad or carries a forward-mode tangent (a leaf that requires grad
    refuses, as in PyTorch). Unrecorded writes go straight into ``x``'s memory."""
    if _vmap.state.vmap:  # inside cr.func.vmap: a per-sample index, or a batched value
        from ..func._per_sample import per_sample_write  # noqa: PLC0415 - func imports ops

        res = per_sample_write(index_put_, x, indices, values, accumulate)
        if res is not NotImplemented:
            return res
    idx, values, target = _index_put_args("index_put_", x, indices, values, accumulate)
    if is_float8(x._data.dtype) and x._data.dtype.name == "float8_e8m0fnu":  # (no kernel)
        _refuse_float8("index_put", x)
    tangents = x._fw_tangent is not None or values._fw_tangent is not None
    batched = type(x) is not Tensor and getattr(x, "vmap_inplace", None) is not None  # vmap
    if (
        tangents
        or batched
        or writes_into_graph(x)
        or (grad_mode.is_grad_enabled() and values.requires_grad)
    ):
        acc = bool(accumulate)
        put = lambda t, v: _put(t, idx, v, target, acc, indices)  # noqa: E731
        return apply_inplace(x, "index_put_", put, values)
    check_writable_memory(x, "index_put_")
    if values._vc is x._vc:  # values sharing x's memory: refused, as PyTorch
        check_no_overlap(x, values, "index_put_")
    write_index("index_put_", x, idx, values._data, accumulate)
    x._vc[0] += 1
    return x
