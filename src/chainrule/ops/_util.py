"""Helpers shared by the op files: argument coercion and dtype promotion."""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray
from ..qtypes import scalar_type_name
from .cast import cast

SCALARS = (int, float, complex, bool, np.number, np.bool_)


class ShapeError(ValueError, RuntimeError):
    """Operand shapes that do not fit the op. PyTorch raises ``RuntimeError`` here; chainrule
    has raised ``ValueError``: this is both, so ``except RuntimeError`` (code written for
    PyTorch) and ``except ValueError`` each catch it."""


class PaddingIdxError(ValueError, AssertionError):
    """An embedding's ``padding_idx`` outside ``[-num_embeddings, num_embeddings)``:
    PyTorch's AssertionError ("Padding_idx must be within num_embeddings"), and a ValueError
    as chainrule raised before."""


class DtypeError(TypeError, NotImplementedError):
    """An op given a dtype it has no kernel for (an integer tensor to softmax, mean, a loss).
    PyTorch raises ``NotImplementedError`` ("... not implemented for 'Long'", itself a
    ``RuntimeError``) or ``RuntimeError``; chainrule has raised ``TypeError``: this is all of
    them, so code written for either keeps catching it."""


def no_integer_kernel(op: str, x: Any) -> None:
    """Refuse an integer or bool tensor where PyTorch has no integer kernel ("... not
    implemented for 'Long'"), instead of silently computing in floating point."""
    if isinstance(x, Tensor) and x._data.dtype.kind in "iub":
        raise DtypeError(
            f"{op}: not implemented for an integer or bool input (got {x.dtype}); "
            "convert it with .float() first"
        )


def index_int(v: Any) -> Any:
    """``v`` as PyTorch reads an element of an int list: a one-element integer tensor becomes
    its int (Deformable DETR's level sizes ``H_ * W_`` are 0-d tensors from a long tensor's
    rows); anything else is returned unchanged for the caller's own type check."""
    if isinstance(v, Tensor) and v.numel() == 1 and v.dtype.kind in "iu":
        return int(v.item())
    return v


def no_complex_kernel(kernel: str, x: Any) -> None:
    """Refuse a complex tensor where PyTorch's CPU kernel has no complex version
    (NotImplementedError: ``"max_pool2d" not implemented for 'ComplexDouble'``), instead of
    comparing or averaging real and imaginary parts as NumPy would."""
    if isinstance(x, Tensor) and x._data.dtype.kind == "c":
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{scalar_type_name(x._data.dtype)}'"
        )


def wide(a: Any) -> Any:
    """``a`` in float32 if it is float16 or bfloat16 (the dtype PyTorch's CPU kernels compute
    those in), else ``a`` itself."""
    dt = a.dtype
    return a.astype(np.float32) if dt == np.float16 or _dt.is_bfloat16(dt) else a


def wide_bfloat16(a: Any) -> Any:
    """A bfloat16 array in float32; None, or an array of another dtype, as it is (ops whose
    float16 path is their own)."""
    return a if a is None or not _dt.is_bfloat16(a.dtype) else a.astype(np.float32)


NAMED_ERRORS = (ValueError, RuntimeError, IndexError, TypeError)
"""What a composite op's inner primitive raises for bad input (see :func:`lead_with`)."""


def refuse_complex_order(op: str, *values: Any, error: type = RuntimeError) -> None:
    """Refuse complex operands of an op that orders values (max, sort, topk, ...), with the
    exception type PyTorch raises for ``op``: NumPy would order complex numbers
    lexicographically, an order they do not have and PyTorch does not define."""
    for v in values:
        if getattr(getattr(v, "_data", v), "dtype", None) is not None and (
            getattr(v, "_data", v).dtype.kind == "c"
        ):
            raise error(
                f"{op}: not implemented for complex tensors ({getattr(v, '_data', v).dtype}): "
                "complex numbers have no order"
            )


def lead_with(op: str, err: BaseException) -> None:
    """Make ``err``'s message start with ``op``, the public op the user called.

    A composite op (``normalize`` over ``norm``, ``hardswish`` over ``hardsigmoid``) that lets
    a primitive reject its input would otherwise report the primitive's name only. Call this
    in ``except NAMED_ERRORS as err:`` and re-raise with a bare ``raise``: the exception keeps
    its class and traceback, and its message becomes ``"op: <primitive's message>"``.
    """
    if getattr(err, "torch_words", False):  # PyTorch's own unprefixed text (conv geometry)
        return
    if err.args and isinstance(err.args[0], str) and not err.args[0].startswith(op):
        err.args = (f"{op}: {err.args[0]}",) + err.args[1:]


def constant(array: Any) -> Tensor:
    """A Tensor over a raw result array that records no graph (no copy, requires_grad
    False): how ops hand out indices, masks and other non-differentiable results."""
    return Tensor._make(array, False, None, 0)


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """Wrap arrays / Python data as a constant Tensor (Tensors pass through)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) or get_array_module(x) is not np:
        return Tensor._make(x, False, None, 0)
    if like is not None and isinstance(x, SCALARS):
        dt = _dt.scalar_result_dtype(like.dtype, x)
        xp = get_array_module(like._data)
        return Tensor._make(xp.asarray(x, dtype=dt), False, None, 0)
    if getattr(type(x), "vmap_raw_array", False):  # cr.func.vmap's per-sample LogicalArray
        return Tensor._make(x, False, None, 0)
    return Tensor._new(x)


def _same_device(op: str, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` on one device: as in PyTorch, a 0-d CPU tensor beside a GPU tensor is
    a scalar and moves to the GPU; any other mix of devices raises."""
    if get_array_module(a._data) is get_array_module(b._data):
        return a, b
    if type(a._data) is MetaArray or type(b._data) is MetaArray:
        return a, b  # the op's meta forward gives PyTorch's words (meta/forward.py)
    if a._data.ndim == 0 and isinstance(a._data, np.ndarray):
        return a.to(b.device), b
    if b._data.ndim == 0 and isinstance(b._data, np.ndarray):
        return a, b.to(a.device)
    raise RuntimeError(
        f"{op}: expected all tensors on the same device, got {a.device} and {b.device}; "
        "move one with .to(device)"
    )


def promote(op: str, a: Any, b: Any, wrap_ints: bool = True, float_result: bool = False):
    """Bring two operands to PyTorch's common dtype; Python scalars stay scalars.

    Returns (a, b) where each is a Tensor or a Python scalar and at least one is a Tensor.
    A Python int that does not fit an integer result dtype is wrapped into it, as PyTorch's
    arithmetic, bitwise and comparison ops do (:func:`wrap_int_scalar`); ``wrap_ints=False``
    leaves it for an op that refuses it instead (``where``, ``pow``) or whose result is
    floating (``div``, ``xlogy``, ``copysign``, ``atan2``: ``uint8_tensor / -2`` is -1.5).
    ``float_result=True`` (those ops) casts two integer or bool tensors straight to the
    default float dtype instead of to their common integer dtype, which a 0-d operand does
    not decide: a 0-d int64 ``-3`` beside a uint8 tensor would wrap to 253 there, where
    PyTorch divides by -3.
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    # NumPy scalars act like Python scalars (weak dtype), as in PyTorch; a NumPy bool like a
    # Python float, as PyTorch reads it (through ``__float__``: ``int_tensor + np.True_`` is
    # float32).
    if not ta and isinstance(a, (np.number, np.bool_)):
        a = float(a) if isinstance(a, np.bool_) else a.item()
    if not tb and isinstance(b, (np.number, np.bool_)):
        b = float(b) if isinstance(b, np.bool_) else b.item()
    if ta and tb:
        da, db = a._data.dtype, b._data.dtype
        if da is not db and da != db:
            a, b = _same_device(op, a, b)
            if a._data.ndim == 0 and b._data.ndim > 0:  # a 0-d tensor matters by category
                target = _dt.combine_categories(db, da)
            elif b._data.ndim == 0 and a._data.ndim > 0:
                target = _dt.combine_categories(da, db)
            else:
                target = _dt.promote_types(da, db)
            if float_result and target.kind in "biu":
                target = np.dtype(_dt.get_default_dtype())
            if da != target:
                a = cast(a, target)
            if db != target:
                b = cast(b, target)
        elif type(a._data) is not type(b._data):
            a, b = _same_device(op, a, b)
        return a, b
    if ta:
        if isinstance(b, SCALARS):
            target = _dt.scalar_result_dtype(a._data.dtype, b)
            if target != a._data.dtype:
                a = cast(a, target)
            if wrap_ints and type(b) is int and target.kind in "iu":
                b = wrap_int_scalar(b, target)
            return a, b
        return promote(op, a, as_tensor(b))
    if tb:
        if isinstance(a, SCALARS):
            target = _dt.scalar_result_dtype(b._data.dtype, a)
            if target != b._data.dtype:
                b = cast(b, target)
            if wrap_ints and type(a) is int and target.kind in "iu":
                a = wrap_int_scalar(a, target)
            return a, b
        return promote(op, as_tensor(a), b)
    return promote(op, as_tensor(a), b)


def promote_tensors(*tensors: Any) -> tuple:
    """Tensors (None passes through) cast to PyTorch's common dtype of them all, as its
    three-operand ops (``clamp``, ``addcmul``, ``addcdiv``) compute it: the operands with
    dimensions decide, and the 0-d ones only through a higher category (a float32 tensor
    with a 0-d float64 and an int64 tensor stays float32)."""
    ranked: list = [None, None]  # the dtype of the operands with dimensions, of the 0-d ones
    for t in tensors:
        if t is not None:
            r, d = int(t._data.ndim == 0), t._data.dtype
            ranked[r] = d if ranked[r] is None else _dt.promote_types(ranked[r], d)
    dims, zero_dim = ranked
    target = (
        zero_dim if dims is None else dims if zero_dim is None else
        _dt.combine_categories(dims, zero_dim)
    )  # fmt: skip
    return tuple(t if t is None or t._data.dtype == target else cast(t, target) for t in tensors)


_INT_BOUNDS: dict[Any, tuple[int, int]] = {}


def wrap_int_scalar(value: int, dtype: Any) -> int:
    """A Python int operand of an integer tensor's arithmetic, bitwise or comparison op, as
    PyTorch converts it: wrapped into ``dtype`` (two's complement, ``value mod 2**bits``) when
    it does not fit, so ``int32_tensor * 2654435761`` (the primes of spatial hashing) wraps as
    in C instead of failing. A value outside [-2**63, 2**64) is left for the op to refuse."""
    bounds = _INT_BOUNDS.get(dtype)
    if bounds is None:
        info = np.iinfo(dtype)
        bounds = _INT_BOUNDS[dtype] = (int(info.min), int(info.max))
    low, high = bounds
    if low <= value <= high or not -(1 << 63) <= value < 1 << 64:
        return value
    bits = dtype.itemsize * 8
    value &= (1 << bits) - 1
    if low < 0 and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def torch_words(err: BaseException) -> BaseException:
    """``err`` marked as PyTorch's own text (CONTRIBUTING.md, "Error messages"): a composite
    op's :func:`lead_with` leaves its message unprefixed. The one mechanism every writer of
    PyTorch's words uses (``dim_range_error``, the convolution checks, ...)."""
    err.torch_words = True  # type: ignore[attr-defined]
    return err


def dim_range_error(dim: int, n: int) -> IndexError:
    """PyTorch's IndexError, its words (CONTRIBUTING.md, "Error messages"), for a ``dim``
    outside ``[-n, n)``: ``n`` the number of dims it may name (``ndim``, 1 for a 0-d tensor,
    ``ndim + 1`` for ``unsqueeze``/``stack``)."""
    return torch_words(  # type: ignore[return-value]
        IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    )


def no_dims_error(dim: int) -> IndexError:
    """PyTorch's IndexError, its words, for a ``dim`` of a 0-d tensor where the op does not
    read a 0-d tensor as one of a single dim (its ``maybe_wrap_dim(..., wrap_scalar=False)``:
    avg_pool2d's dim -3, batch_norm_update_stats' channel dim 1)."""
    return torch_words(  # type: ignore[return-value]
        IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    )


def norm_dim(dim: Any, ndim: int, op: str) -> tuple | None:
    """Normalise a ``dim`` argument (None, int or sequence) to a sorted tuple of axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(_dim_seq(dim, op))
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            if _one_int_tensor(d):
                d = d.item()  # PyTorch's int list reads a one-element integer or bool tensor
            # PyTorch's int list reads a bool after its first element as 1: sum((0, True))
            elif not (type(d) is bool and type(dim) in (tuple, list) and d is not dims[0]):
                raise _dim_type_error(dim) or TypeError(
                    f"{op}: dim must be an int or a tuple of ints, got {dim!r}"
                )
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise dim_range_error(d, max(ndim, 1))
        if d % max(ndim, 1) in out:  # PyTorch's words
            raise RuntimeError(f"dim {d % max(ndim, 1)} appears multiple times in the list of dims")
        out.append(d % max(ndim, 1))
    return tuple(sorted(out))


def reduction_axes(dim: Any, x: Tensor, op: str, empty_is_all: bool = True) -> tuple | None:
    """``norm_dim`` for reductions; a 0-d tensor accepts dim 0 / -1 and reduces nothing.

    An empty ``dim`` list reduces every dim, as PyTorch's sum/mean/amax/var/norm do (guided
    diffusion's ``mean_flat``: ``tensor.mean(dim=list(range(1, len(tensor.shape))))`` of a
    1-d tensor); ``all``/``any`` pass ``empty_is_all=False``: PyTorch's reduce nothing."""
    if empty_is_all and isinstance(dim, (tuple, list)) and len(dim) == 0:
        return tuple(range(x.ndim))
    axes = norm_dim(dim, x.ndim, op)
    return () if axes is not None and x.ndim == 0 else axes


def _dim_seq(dim: Any, op: str) -> Any:
    if isinstance(dim, (list, tuple)):
        return dim
    if _one_int_tensor(dim):
        return (int(dim.item()),)
    raise _dim_type_error(dim) or TypeError(
        f"{op}: dim must be an int or a tuple of ints, got {dim!r}"
    )


def _one_int_tensor(dim: Any) -> bool:
    """Whether PyTorch's int-list parser reads ``dim`` as one int: a tensor of one element
    (any shape) of an integer or bool dtype (``x.sum(torch.tensor(True))`` sums dim 1)."""
    return isinstance(dim, Tensor) and dim.numel() == 1 and dim.dtype.kind in "iub"


def _dim_type_error(dim: Any) -> TypeError | None:
    """PyTorch's TypeError for a ``dim`` of the wrong type, as the public op called words
    it (dim_arguments.py), or None where it has no table entry."""
    from .dim_arguments import dim_type_error  # in here: its _tensor_args imports _util

    return dim_type_error(dim)


def int_dim(dim: Any, ndim: int, op: str) -> int:
    """Normalise a single ``dim`` (ops such as prod, argmax, cumsum take exactly one)."""
    if type(dim) is not int:
        if isinstance(dim, Tensor) and dim.ndim == 0 and dim.dtype.kind in "iu":
            dim = int(dim.item())  # PyTorch's parser reads an integer 0-d tensor as an int
        elif isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise _dim_type_error(dim) or TypeError(
                f"{op}: argument 'dim' must be int, not {type(dim).__name__} ({dim!r})"
            )
    return norm_dim(dim, ndim, op)[0]


def is_number(x: Any) -> bool:
    return isinstance(x, Number) or isinstance(x, (np.number, np.bool_))


def tsum(*terms):
    """Sum of tangent arrays, skipping None (zero) entries; None if all are zero."""
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


def broadcast_error(op: str, a: Any, b: Any) -> ShapeError:
    """PyTorch's RuntimeError for operands whose shapes do not broadcast, its words ("The
    size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1":
    the last such dim, counted in the broadcast result, as its ``infer_size``), then the
    op-named hint on a line of its own."""
    sa = tuple(getattr(a, "shape", ()))
    sb = tuple(getattr(b, "shape", ()))
    n = max(len(sa), len(sb))
    first = ""
    for i in range(n - 1, -1, -1):
        x = sa[i - n + len(sa)] if i - n + len(sa) >= 0 else 1
        y = sb[i - n + len(sb)] if i - n + len(sb) >= 0 else 1
        if x != y and x != 1 and y != 1:
            first = (
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {i}\n"
            )
            break
    return torch_words(  # type: ignore[return-value]
        ShapeError(
            f"{first}{op}: shapes {sa} and {sb} cannot be broadcast together (sizes must be "
            f"equal or 1 in each trailing dimension)"
        )
    )


class _Shaped:
    """A bare shape, for :func:`broadcast_error` (error path only)."""

    def __init__(self, shape: tuple) -> None:
        self.shape = shape


def operands_broadcast_error(op: str, *shapes: tuple) -> ShapeError | None:
    """PyTorch's error for several operands of one op (``addcmul``'s input, tensor1 and
    tensor2) whose shapes do not broadcast, as its TensorIterator finds it: the shape so far
    against each next operand in order, the first that fails in its words (so tensor a is the
    earlier operand's, not the one of an inner ``mul``), the hint naming ``op``; None where
    they broadcast. Called on the error path only."""
    so_far = tuple(shapes[0])
    for shape in shapes[1:]:
        try:
            so_far = np.broadcast_shapes(so_far, tuple(shape))
        except ValueError:
            return broadcast_error(op, _Shaped(so_far), _Shaped(tuple(shape)))
    return None


def check_broadcast(op: str, a: Any, b: Any) -> None:
    """Raise :func:`broadcast_error` before NumPy raises its own, anonymous one."""
    try:
        np.broadcast_shapes(getattr(a, "shape", ()), getattr(b, "shape", ()))
    except ValueError:
        raise broadcast_error(op, a, b) from None
