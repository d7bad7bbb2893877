"""Indexing ops of PyTorch's API: index_put/index_put_, masked_fill/select, one_hot, nonzero.

The subscript operators ``x[idx]`` / ``x[idx] = v`` and their Functions (``GetItem``,
``IndexAdd``, ``IndexPut``) live in ``subscript.py``, the layer these ops are built on; they
are re-exported here so that ``chainrule.ops.indexing`` keeps offering them. Dim-wise
gather/scatter/index_select are in ``gather_scatter.py``.

``index_put`` checks its index tensors as PyTorch does (bool masks become their nonzero
coordinates) and records the write as ``IndexPut`` (overwrite) or ``IndexPutAccumulate``
(accumulate).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.saved_fields import tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..creation import arange
from ..float8 import is_float8
from ..float8 import refuse as _refuse_float8
from ..meta.array import MetaArray, meta_empty
from ..meta.results import meta_one_hot
from ..scalar_range import fit_scalar
from ._tensor_args import PYTHON_DATA, invalid_combination, tensor_operand
from ._util import ShapeError, as_tensor, broadcast_error
from .binary import Where, where_as
from .binding import tensor_method
from .inplace import (
    _check_leaf,
    apply_inplace,
    check_writable_memory,
    writes_into_graph,
)
from .inplace_overlap import check_no_overlap
from .masked_selection import MaskedSelect
from .number_arguments import parser_int
from .overload_errors import is_number_or_tensor, number_or_tensor_error

# GetItem and setitem are only re-exported: ``ops/__init__.py``, ``complex_support.py`` and
# ``func/`` reach the subscript layer through this module's import path.
from .subscript_read import (
    GetItem,  # noqa: F401
    IndexAdd,  # noqa: F401 - complex_support.py reads it here
    _save_index,
    _saved_index,
    _saved_indices,
    getitem,  # noqa: F401 - x[i] (ops/__init__.py) and func/_dispatch.py read it here
)
from .subscript_write import (
    IndexPut,
    _check_value_shape,
    setitem,  # noqa: F401
    write_index,
)

# ``index_put_`` is a Tensor-only method (bound from ``_TENSOR_ONLY`` in ``ops/__init__.py``);
# ``getitem``/``setitem`` (``x[i]``, ``x[i] = v``) are bound there as operators.
__all__ = [
    "index_put",
    "index_put_",
    "masked_fill",
    "masked_select",
    "nonzero",
    "one_hot",
]


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
    idx, values, target = _index_put_args("index_put", input, indices, values, accumulate)
    return _put(input, idx, values, target, bool(accumulate), indices)


def index_put_(x: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """``x[indices] = values`` in place (or ``+=`` with repeated indices summed when
    ``accumulate``); recorded for autograd, as PyTorch's ``index_put_``, when ``x`` or
    ``values`` requires grad or carries a forward-mode tangent (a leaf that requires grad
    refuses, as in PyTorch). Unrecorded writes go straight into ``x``'s memory."""
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


class _MaskDtypeError(TypeError, RuntimeError):
    """A non-bool mask to ``masked_fill``/``masked_select``: PyTorch raises RuntimeError
    ("masked_fill_ only supports boolean masks"); chainrule raised TypeError: this is both,
    so code written for either keeps catching it."""


class MaskedFill(Where):
    """``where(mask, value, x)`` under PyTorch's node: ``MaskedFillBackward0`` lists ``x``;
    with a value tensor that requires grad, ``MaskedFillBackward1`` lists ``x`` and it."""

    saved_fields = {"mask": 0}  # grad_fn._saved_mask as PyTorch's (saved_fields.py)

    @staticmethod
    def node_name(ctx):
        if ctx.next_edges[0] is not None:
            return "MaskedFillBackward1", (1, 0)
        return "MaskedFillBackward0", (1,)


def refuse_grad_into_integer(x: Tensor, value: Any) -> None:
    """A fill of an integer or bool ``x`` with a value that requires grad: PyTorch's error
    (the result would have to require grad, which such a tensor cannot)."""
    if (
        isinstance(value, Tensor)
        and value.requires_grad
        and grad_mode.is_grad_enabled()
        and x.dtype.kind in "biu"
    ):
        name = {"b": "Bool", "i": "Long", "u": "Byte"}[x.dtype.kind]
        if x.dtype.kind == "i" and x.dtype.itemsize != 8:
            name = {1: "Char", 2: "Short", 4: "Int"}[x.dtype.itemsize]
        raise RuntimeError(
            f"Autograd not support dtype: {name} (the fill value requires grad; detach it, or "
            "fill a floating tensor)"
        )


_MASKED_FILL_FORMS = (
    "(Tensor input, Tensor mask, Tensor value)",
    "(Tensor input, Tensor mask, Number value)",
)


@tensor_method(inplace=True)
def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    if type(value) is not float and type(value) is not int and not is_number_or_tensor(value):
        raise number_or_tensor_error(
            "masked_fill", [("input", x), ("mask", mask), ("value", value)]
        )
    refuse_grad_into_integer(x, value)
    if isinstance(mask, Tensor):
        m = mask
    elif isinstance(mask, PYTHON_DATA):  # PyTorch's parser: no overload takes it
        params = (("input", x), ("mask", mask), ("value", value))
        raise invalid_combination("masked_fill", params, _MASKED_FILL_FORMS)
    else:
        m = as_tensor(mask)
    if m.dtype.kind != "b":
        raise _MaskDtypeError(
            f"masked_fill: masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{m.dtype}"
        )
    try:
        np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ShapeError(
            f"masked_fill: mask of shape {tuple(m.shape)} and input of shape "
            f"{tuple(x.shape)} cannot be broadcast together"
        ) from None
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    v = (
        value.item()
        if isinstance(value, Tensor)
        and value.numel() == 1
        and not value.requires_grad
        and value._fw_tangent is None  # a forward-mode tangent must flow through where
        else value
    )
    if isinstance(v, np.bool_):  # a float to PyTorch (cast to x's dtype below)
        v = float(v)
    if isinstance(v, (bool, int, float, complex, np.number)):  # PyTorch's overflow check
        v = fit_scalar("masked_fill", v, x._data.dtype).item()
    if isinstance(v, (bool, int, float)) and x.dtype.kind in "biu":  # keeps x's integer dtype
        # (PyTorch casts the value to it; float tensors already keep theirs under promotion)
        v = Tensor._make(get_array_module(x._data).asarray(v).astype(x.dtype), False, None, 0)
    if isinstance(v, Tensor) and v.dtype.kind == "c" and x.dtype.kind != "c":
        # a complex value that requires grad into a real x: PyTorch casts it to x's dtype
        # (after its overflow check: a nonzero imaginary part raises), the gradient goes to
        # its real part; the result stays real (was complex)
        if v.numel() == 1:
            fit_scalar("masked_fill", complex(v.detach().item()), x._data.dtype)
        v = v.real
    if isinstance(v, Tensor) and v.dtype != x.dtype and v.dtype.kind != "c":
        v = v.to(x.dtype)  # the result keeps x's dtype, as PyTorch's (a 0-d x would promote)
    return where_as(MaskedFill, m, v, x).contiguous()  # C order whatever x's, as PyTorch's


@tensor_method(keywords=True)
def masked_select(input: Tensor, mask: Any) -> Tensor:
    """``input``'s elements where the boolean ``mask`` is True (the two broadcast), as a 1-d
    tensor: one node, ``MaskedSelectBackward0`` (:mod:`.masked_selection`)."""
    m = mask if isinstance(mask, Tensor) else tensor_operand("masked_select", "mask", 2, mask)
    if m.dtype.kind != "b":  # a uint8 mask would be read as indices below
        raise _MaskDtypeError(f"masked_select: expected BoolTensor for mask, got dtype {m.dtype}")
    try:
        np.broadcast_shapes(input.shape, m.shape)  # checked here; the node broadcasts them
    except ValueError:
        raise broadcast_error("masked_select", input, m) from None
    return MaskedSelect.apply(input, m)


class _OneHotIndexTypeError(TypeError, RuntimeError):
    """``one_hot`` of a non-integer index: PyTorch raises RuntimeError ("one_hot is only
    applicable to index tensor of type LongTensor"); chainrule raised TypeError: this is
    both, so code written for either keeps catching it."""


class _OneHotClassError(ValueError, RuntimeError):
    """``one_hot`` class values out of range, or no classes to infer: PyTorch's RuntimeError,
    and the ValueError chainrule raised before."""


def one_hot(input: Any, num_classes: int = -1) -> Tensor:  # noqa: A002 - PyTorch's keyword
    """int64 one-hot encoding with a new last dimension of size ``num_classes``.

    Raises (RuntimeError, as PyTorch; also TypeError or ValueError): a non-int64 index, a
    negative class value, one of ``num_classes`` or more, or an empty index with
    ``num_classes=-1`` (nothing to infer the number of classes from)."""
    if type(num_classes) is not int:
        num_classes = parser_int("one_hot", "num_classes", 2, num_classes)
    idx = as_tensor(input)
    if idx._data.dtype != np.int64:  # PyTorch takes int64 indices only (not int32, uint8)
        raise _OneHotIndexTypeError(
            "one_hot is only applicable to index tensor of type LongTensor: expects an int64 "
            f"tensor of class indices, got {idx.dtype}"
        )
    if type(idx._data) is MetaArray:  # (before the vmap marker, which meta arrays carry too)
        return meta_one_hot(idx._data, num_classes)
    if getattr(type(idx._data), "vmap_raw_array", False):  # labels batched by cr.func.vmap
        return _one_hot_batched(idx, num_classes)
    xp = get_array_module(idx._data)
    if num_classes < 0:
        if not idx._data.size:
            raise _OneHotClassError(
                "one_hot: Can not infer total number of classes from empty tensor; pass num_classes"
            )
        num_classes = int(idx._data.max()) + 1
    if idx._data.size and idx._data.min() < 0:
        raise _OneHotClassError(
            f"one_hot: Class values must be non-negative (got {int(idx._data.min())})"
        )
    if idx._data.size and idx._data.max() >= num_classes:
        raise _OneHotClassError(
            f"one_hot: Class values must be smaller than num_classes ({num_classes}), got "
            f"{int(idx._data.max())}"
        )
    # C order whatever the index's layout (NumPy's astype would keep it): PyTorch's result
    # is a fresh contiguous tensor
    out = (idx._data[..., None] == xp.arange(num_classes)).astype(np.int64, order="C")
    return Tensor._make(out, False, None, 0)


def _one_hot_batched(idx: Tensor, num_classes: int) -> Tensor:
    """``one_hot`` of labels batched by ``cr.func.vmap``, with PyTorch's vmap semantics:
    ``num_classes`` must be given (it cannot depend on the samples' values), and labels
    outside ``[0, num_classes)`` give all-zero rows rather than an error (PyTorch's vmap
    rule compares the labels with ``arange(num_classes)`` and checks no value)."""
    if num_classes <= 0:
        raise RuntimeError(
            "When vmap-ing torch.nn.functional.one_hot, please provide an explicit positive "
            f"num_classes argument (got num_classes={num_classes})."
        )
    classes = arange(num_classes, dtype=idx.dtype)
    # 1 - min(|label - class|, 1), with labels first clamped to [-1, num_classes] (no
    # overflow): integer arithmetic, which every level of a nested vmap batches
    gap = idx.clamp(-1, num_classes).unsqueeze(-1).sub(classes).abs().clamp(max=1)
    return gap.neg().add(1)


@tensor_method(keywords=True)
def nonzero(input: Tensor, as_tuple: bool = False) -> Any:  # Tensor, or a tuple of them
    """The indices of ``input``'s non-zero elements: an int64 ``(count, ndim)`` tensor, one
    row per element in row-major order, or with ``as_tuple`` one 1-d tensor per dim.

    The result is column-major (strides ``(1, count)``), as PyTorch's: each dim's indices
    are one stride-1 column, and the ``as_tuple`` tensors are those columns. A 0-d input
    counts as one element with no dims: ``(1, 0)`` (or ``(0, 0)`` when it is zero), and
    ``as_tuple`` gives ``(tensor([0]),)`` (or an empty one)."""
    _refuse_float8("nonzero_count_cpu", input)
    arr = input._data
    xp = get_array_module(arr)
    if arr.ndim == 0:
        hit = int(bool(arr))
        if as_tuple:
            return (Tensor._make(xp.zeros(hit, np.int64), False, None, 0),)
        return Tensor._make(xp.zeros((hit, 0), np.int64), False, None, 0)
    cols = xp.stack(xp.nonzero(arr)).astype(np.int64, copy=False)  # (ndim, count)
    if as_tuple:
        return tuple(Tensor._make(c, False, None, 0) for c in cols)
    return Tensor._make(cols.T, False, None, 0)
