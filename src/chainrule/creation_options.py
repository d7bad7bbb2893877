"""What PyTorch's creation functions share, in one place for ``creation.py``,
``creation_like.py``, ``creation_random.py`` and ``creation_more.py``: the ``*size``
arguments (``_shape``), the finished tensor's dtype, device and ``requires_grad``
(``_finish``), and the tensor options ``layout=``, ``pin_memory=``, ``memory_format=`` and
``out=``.

What each does, as PyTorch 2.13 does it on a machine without an accelerator:

- ``layout``: ``None`` or :data:`chainrule.strided` (the only dense layout). Another
  layout (``sparse_coo``) raises NotImplementedError: the factories build dense arrays
  only (``cr.sparse_coo_tensor`` builds sparse ones); a value that is no layout raises
  TypeError, as PyTorch's argument parser does.
- ``pin_memory``: ``False`` is the ordinary memory. ``True`` asks for page-locked host
  memory, which needs an accelerator's allocator; PyTorch without one raises
  ``RuntimeError: pin_memory=True requires a CUDA or other accelerator backend``, and so
  does chainrule, whose arrays are NumPy's (or CuPy's) ordinary memory. (The DataLoader's
  ``pin_memory=True`` is a documented no-op instead, as there.)
- ``memory_format``: the strides of the new tensor. ``contiguous_format`` (row-major) or
  ``channels_last``/``channels_last_3d`` (channels innermost, for 4-d/5-d shapes); the
  ``*_like`` functions default to ``preserve_format``, which copies the input's stride
  order (a transposed input gives a transposed result, as PyTorch's ``empty_like``).
  ``empty`` refuses ``preserve_format`` (there is nothing to preserve), as PyTorch.
- ``out``: the values are written into the given tensor, which is returned. Its dtype is
  the result's (a different ``dtype=`` raises, as PyTorch), it is resized to the result's
  shape (silently; ``arange`` warns, see :func:`write_factory_out`), an ``out`` that
  requires grad is refused while grad mode is on, and ``requires_grad=True`` marks ``out``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from ._layout_marks import C_MARKED, ROW_MAJOR, carry_layout_mark, layout_mark
from .autograd import grad_mode
from .autograd.tensor import Tensor
from .autograd.tensor_data import check_requires_grad_flag
from .backend import DEFAULT_DEVICE, device_of, get_array_module, to_device
from .random_mt19937 import TorchStream, _fma64

__all__ = [
    "NegativeSizeError",
    "check_layout",
    "check_pin_memory",
    "fill_memory_in_order",
    "fill_normal_in_memory_order",
    "refuse_bool",
    "lay_out",
    "lay_out_like",
    "memory_order",
    "normal_like_strided",
    "normals_one_at_a_time",
    "refuse_negative_size",
    "size_type_error",
    "write_factory_out",
]


# ------------------------------------------------ sizes, dtypes and the finished tensor
class NegativeSizeError(ValueError, RuntimeError):
    """A negative size for a new tensor: PyTorch's RuntimeError (a ValueError too, as
    chainrule raised before)."""


def refuse_negative_size(op: str, shape: tuple) -> None:
    """PyTorch's error for a new tensor with a negative dimension (its first line word for
    word: ``zeros`` has its own), then a line naming the op."""
    neg = [s for s in shape if s < 0]
    if neg:
        if op == "zeros":  # torch.zeros checks the sizes before allocating, in its words
            first = "zeros: Dimension size must be non-negative."
        else:
            first = f"Trying to create tensor with negative dimension {neg[0]}: {list(shape)}"
        raise NegativeSizeError(f"{first}\n{op}(): every size must be >= 0, got {list(shape)}")


def _shape(size: Sequence, op: str = "tensor", keyword: Any = None) -> tuple:
    """Validate a size given as ints or one sequence of ints (PyTorch's ``*size``), or as
    the keyword ``size=(2, 3)`` (``keyword``; ``torch.empty(size=...)`` in pytorch/examples)."""
    size = _size_keyword(op, size, keyword)
    packed = len(size) == 1 and isinstance(size[0], (tuple, list))
    if packed:
        size = tuple(size[0])
    for i, s in enumerate(size):
        if type(s) is not int and not (
            isinstance(s, np.integer)
            or (isinstance(s, bool) and i)  # PyTorch's parser: a bool after the first size
            or (isinstance(s, Tensor) and s.ndim == 0 and s.dtype.kind in "iu")
        ):
            raise size_type_error(op, size, i, packed, keyword is not None)
    shape = tuple(int(s) for s in size)
    refuse_negative_size(op, shape)
    return shape


def _parser_name(value: Any) -> str:
    """The type name PyTorch's parser prints for a non-builtin ``value``."""
    kind = type(value)
    if isinstance(value, Tensor):
        return "Tensor"
    return f"{kind.__module__}.{kind.__name__}"


def size_type_error(op: str, size: Sequence, i: int, packed: bool, keyword: bool) -> Exception:
    """PyTorch's TypeError for ``size[i]``, not a size: its parser takes ints, NumPy integers
    and 0-d integer tensors, and a bool anywhere but first; a bad first size names the
    argument (a loose value passed as ``zeros(2.0, 3)`` fits no signature), a later one
    fails to unpack."""
    value = size[i]
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind == "b":
        return RuntimeError(  # read as an int by PyTorch's parser, refused by its check
            "Expected scalar.isIntegral( false) to be true, but got false.  (Could this error "
            "message be improved?  If so, please report an enhancement request to PyTorch.)"
        )
    kind = type(value)
    name = kind.__name__
    if kind.__module__ != "builtins" and name not in ("Tensor", "Parameter"):
        name = f"{kind.__module__}.{name}"  # numpy.bool, numpy.float64
    if i:
        return TypeError(
            f"{op}(): argument 'size' failed to unpack the object at pos {i + 1} with error "
            f'"type must be tuple of ints,but got {name}"'
        )
    if keyword:
        return TypeError(f"{op}(): argument 'size' must be tuple of ints, not tuple")
    if packed:
        return TypeError(
            f"{op}(): argument 'size' (position 1) must be tuple of ints, but found element of "
            f"type {name} at pos 0"
        )
    if len(size) > 1 and op in ("rand", "randn"):  # two overloads (with a generator)
        got = ", ".join(
            type(v).__name__ if type(v).__module__ == "builtins" else _parser_name(v) for v in size
        )
        rest = (
            "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
            "torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
        )
        return TypeError(
            f"{op}() received an invalid combination of arguments - got ({got}), but expected "
            f"one of:\n * (tuple of ints size, *, torch.Generator generator, {rest}\n"
            f" * (tuple of ints size, *, {rest}\n"
        )
    if len(size) > 1:
        return TypeError(f"{op}() takes 1 positional argument but {len(size)} were given")
    return TypeError(f"{op}(): argument 'size' (position 1) must be tuple of ints, not {name}")


def _size_keyword(op: str, sizes: Sequence, size: Any) -> Sequence:
    """The ``*size`` arguments, or PyTorch's keyword ``size=`` in their place."""
    if size is None:
        return sizes
    if len(sizes):
        raise TypeError(f"{op}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    return (tuple(size),)


def _finish(
    arr: Any,
    dtype: Any,
    device: Any,
    requires_grad: bool,
    default: Any = None,
    default_device: bool = True,
) -> Tensor:
    """The new tensor around ``arr``: converted to ``dtype`` (None: ``default`` or the default
    dtype) and moved to ``device``. A factory given no device uses the default device
    (``cr.set_default_device``, ``with cr.device(...)``); a tensor made like another
    (``default_device=False``) stays where ``arr`` is."""
    d = _dt.as_dtype(dtype) if dtype is not None else (default or _dt.get_default_dtype())
    arr = arr if arr.dtype == d else _dt.convert(arr, d)  # PyTorch's conversions
    if device is None and default_device:
        device = DEFAULT_DEVICE[0]
    if device is not None:
        arr = to_device(arr, device)
    t = Tensor._make(arr, False, None, 0)
    if requires_grad is not False and check_requires_grad_flag(requires_grad, optional=True):
        t._requires_grad_(True)
    return t


def _is_sparse(x: Tensor) -> bool:
    return type(x) is not Tensor and (
        getattr(x, "is_sparse", False)
        or getattr(x, "is_sparse_csr", False)
        or hasattr(x, "_sc_layout")  # sparse CSC/BSR/BSC (ops/sparse_compressed.py)
    )


def _like(x: Tensor, dtype: Any, op: str = "") -> Any:
    """The dtype of a tensor made like ``x``; a sparse ``x`` is refused (dense ``op`` only)."""
    if _is_sparse(x):
        raise NotImplementedError(
            f"{op}: not supported for sparse tensors (layouts sparse_coo and sparse_csr); "
            "call .to_dense() first"
        )
    return dtype if dtype is not None else x.dtype


# ------------------------------------------------------------------- the tensor options
def check_layout(op: str, layout_arg: Any) -> None:
    """``layout=``: ``None`` or strided; another layout is not implemented."""
    if layout_arg is None:
        return
    from .ops.tensor_queries import layout, strided  # in here: chainrule.ops imports creation

    if layout_arg is strided:
        return
    if not isinstance(layout_arg, layout):
        raise TypeError(
            f"{op}(): argument 'layout' must be chainrule.layout (chainrule.strided), "
            f"not {type(layout_arg).__name__}"
        )
    raise NotImplementedError(
        f"{op}(): layout={layout_arg} is not supported; the creation functions build dense "
        "(chainrule.strided) tensors only. Build a sparse tensor with "
        "chainrule.sparse_coo_tensor or x.to_sparse()"
    )


def check_pin_memory(op: str, pin_memory: Any) -> None:
    """``pin_memory=True`` raises PyTorch's error for a machine without an accelerator."""
    if pin_memory:
        raise RuntimeError(
            f"{op}(): pin_memory=True requires a CUDA or other accelerator backend; no pinned "
            "memory allocator is available (chainrule's host arrays are ordinary NumPy "
            "memory). Pass pin_memory=False"
        )


def refuse_bool(op: str, dtype: Any) -> None:
    """A range of bools is not defined (PyTorch: '"arange_cpu" not implemented for 'Bool'')."""
    if dtype is not None and _dt.as_dtype(dtype) == np.bool_:
        raise NotImplementedError(f"{op}(): not implemented for dtype bool; a range needs numbers")


def _format(op: str, fmt: Any) -> Any:
    from .ops.memory_format import memory_format  # in here: chainrule.ops imports creation

    if fmt is not None and not isinstance(fmt, memory_format):
        raise TypeError(
            f"{op}(): argument 'memory_format' must be chainrule.memory_format "
            f"(contiguous_format, channels_last, ...), not {type(fmt).__name__}"
        )
    return fmt


def lay_out(op: str, arr: Any, fmt: Any) -> Any:
    """``arr`` (a new row-major array) with its memory in ``fmt`` (``empty``'s rule: no
    ``preserve_format``)."""
    from .ops.memory_format import preserve_format, relayout_array  # in here: see _format

    if _format(op, fmt) is preserve_format:
        raise RuntimeError(
            f"{op}(): unsupported memory format preserve_format (there is no input whose "
            "format to preserve); pass contiguous_format, channels_last or channels_last_3d"
        )
    return relayout_array(arr, fmt, op)


def _strided(arr: Any) -> bool:
    """Whether ``arr`` has strides to follow (a vmap ``LogicalArray`` has none: its tensor's
    layout is the physical batch's, and ``*_like`` of it is row-major)."""
    return hasattr(type(arr), "flags")


def lay_out_like(op: str, arr: Any, fmt: Any, like: Any) -> Any:
    """``arr`` (a new array of ``like``'s shape) with its memory in ``fmt``; ``None`` and
    ``preserve_format`` give the layout ``torch.empty_like(like)`` has (``like``'s strides
    when it is dense, else a dense layout in its stride order: ``ops/_result_layout.py``)."""
    if fmt is None and (
        not _strided(like) or (like.flags.c_contiguous and like.size != 0 and 1 not in like.shape)
    ):
        # exactly row-major (the common case), without the imports below; a transpose of a
        # convolution's result is row-major here, not in PyTorch: the new array takes its mark
        return carry_layout_mark(arr, like) if C_MARKED and like.ndim > 1 else arr
    # in here: chainrule.ops imports creation (see _format)
    from .ops._result_layout import like_layout
    from .ops.memory_format import preserve_format, relayout_array

    fmt = _format(op, fmt)
    if fmt is not None and fmt is not preserve_format:
        return relayout_array(arr, fmt, op)
    return like_layout(arr, like) if _strided(like) else arr


def memory_order(arr: Any) -> list[int] | None:
    """The dims of ``arr`` from the largest stride to the smallest, so that
    ``arr.transpose(order)`` lists its elements in memory order: the order in which
    PyTorch's CPU kernels fill a tensor that is not contiguous (``x.t().uniform_()``, a
    transposed weight given to ``nn.init``, ``rand(..., out=x.t())``). None when ``arr`` is
    row-major already, in PyTorch too, or has no strides (a vmap ``LogicalArray``): the draws
    go in as they come. The strides are PyTorch's (``_layout_marks.py``): a convolution's
    channel-major result is row-major there (randn_like of a VAE's latents, dropout after a
    convolution), a transpose of one is ordered by PyTorch's strides, and an unmarked array
    by its own (a user's ``x.transpose(0, 1)``, MultiheadAttention's batch-first output)."""
    if not _strided(arr):
        return None
    kind = layout_mark(arr)
    if type(kind) is tuple:  # a transpose of a convolution's result: PyTorch's strides
        return sorted(range(arr.ndim), key=lambda i: -kind[i])
    if kind == ROW_MAJOR or arr.flags.c_contiguous:
        return None
    return sorted(range(arr.ndim), key=lambda i: -arr.strides[i])


def fill_memory_in_order(laid: Any, draws: Any, uniform: bool) -> None:
    """Put ``draws`` (a new result's values in row-major order) into ``laid``'s memory in
    order, as PyTorch fills a non-contiguous result with uniform draws (``rand_like(x.t())``;
    its normal draws into such memory take another path: :func:`normal_like_strided`,
    ``uniform`` False); nothing to do when ``laid`` is row-major in PyTorch. ``laid`` may be
    ``draws`` itself: row-major memory, which PyTorch lays out otherwise for a transpose of a
    convolution's result (``_layout_marks.py``)."""
    if not uniform or (laid is draws and not C_MARKED):
        return
    order = memory_order(laid)
    if order is not None:
        memory = laid.transpose(order)
        memory[...] = (draws.copy() if laid is draws else draws).reshape(memory.shape)


def normals_one_at_a_time(rng: TorchStream, n: int, dtype: Any, mean: float, std: float) -> Any:
    """``n`` N(mean, std²) values of ``dtype`` (a NumPy array) as PyTorch's normal kernel
    fills a tensor that is not contiguous: its vectorised path (blocks of 16 uniforms)
    serves contiguous tensors only; any other memory gets one float64 Box-Muller value at a
    time (the generator's cached value first), fused ``z * std + mean``, rounded to the
    dtype (through float32 for a half-precision one, as its scalar conversion; a complex
    dtype: ``n`` complex values from ``2 n`` reals, each part of std / sqrt(2))."""
    dtype = np.dtype(dtype)
    n *= 2 if dtype.kind == "c" else 1
    sd = float(std) / math.sqrt(2.0) if dtype.kind == "c" else float(std)
    if dtype.itemsize < 8 or dtype == np.complex64:  # float32 rounding hides the
        values = rng._box_muller_pairs(n)  # last bits of NumPy's vectorised functions
    else:  # float64: the C library's functions, bit-exact, 8 pairs at a time
        chunks = [rng._box_muller_pairs(min(16, n - i)) for i in range(0, n, 16)]
        values = np.concatenate(chunks) if chunks else np.zeros(0)
    values = _fma64(values, sd, float(mean))  # fused, as PyTorch's compiled kernel
    if dtype.itemsize == 2:  # float16/bfloat16: PyTorch converts the float value
        values = values.astype(np.float32)
    if dtype.kind == "c":
        values = values[0::2] + 1j * values[1::2]
    return values.astype(dtype)


def fill_normal_in_memory_order(rng: Any, arr: Any, mean: float, std: float) -> bool:
    """Fill ``arr`` (a NumPy array, not contiguous) with N(mean, std²) draws as PyTorch's
    normal kernel fills a tensor that is not contiguous: :func:`normals_one_at_a_time`, in
    memory order. False, with nothing drawn, when ``arr`` is contiguous or ``rng`` is not
    PyTorch's stream (a legacy generator)."""
    order = memory_order(arr)
    if not isinstance(rng, TorchStream) or order is None:
        return False
    memory = arr.transpose(order)
    values = normals_one_at_a_time(rng, arr.size, arr.dtype, mean, std)
    memory[...] = values.reshape(memory.shape)
    return True


def normal_like_strided(op: str, rng: Any, dtype: Any, fmt: Any, like: Any) -> Any:
    """``randn_like``'s result when it is not contiguous (``randn_like(x.t())``, a
    ``channels_last`` result): its memory filled by :func:`fill_normal_in_memory_order`,
    as PyTorch's kernel does. None, with nothing drawn, when the result is contiguous
    (the ordinary draws apply) or the stream is not PyTorch's."""
    if not isinstance(rng, TorchStream) or not _strided(like):
        return None
    if fmt is None and like.flags.c_contiguous:
        if not C_MARKED or type(layout_mark(like)) is not tuple:
            return None  # (a transpose of a convolution's result is not contiguous in PyTorch)
    laid = lay_out_like(op, np.empty(like.shape, _dt.as_dtype(dtype)), fmt, like)
    return laid if fill_normal_in_memory_order(rng, laid, 0.0, 1.0) else None


def _torch_dtype_name(dtype: Any) -> str:
    names = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}
    return names.get(str(dtype), str(dtype))


_FILLS = frozenset({"zeros", "ones", "full", "empty"})
"""The factories whose ``out`` gets one value everywhere (``fill_``'s rules)."""


def write_factory_out(
    op: str,
    out: Any,
    dtype: Any,
    requires_grad: bool,
    make: Callable[[Any], Tensor],
    keep_shape_of_same_size: bool = False,
    draws: bool = False,
    fill: Callable[[Any], bool] | None = None,
) -> Tensor:
    """``out=`` of a creation function: ``make(out.dtype)`` builds the values in ``out``'s
    dtype, which are written into ``out``; returns ``out``.

    ``keep_shape_of_same_size``: ``arange``'s rule, which keeps an ``out`` holding as many
    elements as the range (its shape too) and warns when it resizes a non-empty one.

    A random factory fills an ``out`` that is not contiguous (``rand(2, 3, out=x.t())``) as
    PyTorch's in-place kernels do, one element at a time in memory order: ``draws`` (the
    values are draws in row-major order, as ``rand``/``randint``'s) writes them in that
    order; ``fill(array)`` (``randn``/``normal``, whose draws there differ) fills ``out``'s
    NumPy array itself, returning False, with nothing drawn, where it does not apply.
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    if dtype is not None and _dt.as_dtype(dtype) != out.dtype:
        raise RuntimeError(
            f"{op}(): dtype {_torch_dtype_name(_dt.as_dtype(dtype))} does not match dtype of "
            f"out parameter ({_torch_dtype_name(out.dtype)})"
        )
    target = out._data
    if (
        fill is not None
        and type(target) is np.ndarray
        and target.flags.writeable
        and memory_order(target) is not None
        and fill(target)
    ):
        out._vc[0] += 1
        if requires_grad:
            out._requires_grad_(True)
        return out
    arr = make(out.dtype)._data
    if keep_shape_of_same_size and target.size == arr.size:
        arr = arr.reshape(target.shape)
    elif keep_shape_of_same_size and target.size:
        warnings.warn(
            f"{op}(): the number of elements in the out tensor of shape {list(target.shape)} "
            f"is {target.size}, which does not match the computed number of elements "
            f"{arr.size}; the out tensor is resized to shape {tuple(arr.shape)}",
            UserWarning,
            stacklevel=3,
        )
    if target.shape != arr.shape:
        out._data = target = get_array_module(target).empty(arr.shape, target.dtype)
    elif not getattr(target.flags, "writeable", True):  # an expanded out (zero strides)
        from .ops.inplace import check_writable_memory  # in here: chainrule.ops imports creation

        # one value for every element is a fill, which PyTorch allows on an expanded out
        check_writable_memory(out, f"{op}()", allow_overlap=op in _FILLS)
        target = out._data
    order = memory_order(target) if draws else None
    if order is not None:  # PyTorch's kernel fills out in memory order
        target = target.transpose(order)
        arr = arr.reshape(target.shape)  # (row-major draws: the order they came in)
    target[...] = to_device(arr, device_of(target))
    out._vc[0] += 1
    if requires_grad:
        out._requires_grad_(True)
    return out
