"""PyTorch's five 8-bit floating dtypes: ``float8_e4m3fn``, ``float8_e5m2``,
``float8_e4m3fnuz``, ``float8_e5m2fnuz`` and ``float8_e8m0fnu``.

Arrays hold them as ``ml_dtypes``' NumPy dtypes (kind ``'V'``, as bfloat16), imported on
first use. What ml_dtypes computes is not always what PyTorch does, so conversions go
through this module (:func:`to_float8`, :func:`from_float8`), which mirrors PyTorch's CPU
results bit for bit (checked over all 256 codes and random inputs against torch 2.13):

* every source converts through float32 (a float64 or a Python float is rounded twice,
  as PyTorch's kernels convert), rounding to nearest even;
* ``float8_e4m3fn`` saturates: a finite value or an infinity beyond its range becomes
  ±448 (ml_dtypes gives NaN); NaN keeps its sign (code ``0x7F`` / ``0xFF``);
* ``float8_e5m2``'s NaN is ``sign | 0x7F`` (ml_dtypes: ``0x7E``); overflow is ±inf;
* the ``fnuz`` types have one NaN (``0x80``), no infinity and no negative zero;
* ``float8_e8m0fnu`` holds powers of two only, no sign: PyTorch drops the sign of a
  negative value, and zero becomes its smallest code, 2**-127;
* to float32, NaN codes give PyTorch's payloads (``0x7FF00000`` for e4m3fn's NaN, a
  signalling ``0x7F800001`` for the fnuz and e8m0 NaNs), and a NaN of the fnuz/e8m0 types
  converts to 0 in int32/int64 (PyTorch's result; other NaNs give the lowest value).

PyTorch has CPU kernels for few ops on these types; :func:`check_op` is the gate
``Function.apply`` consults (through ``autograd/lower_precision.run_in_float32``): views,
copies, indexing, concatenation, ``where``, diagonals, embedding lookups and constant
padding run; ``abs``, ``mul`` of two tensors of one float8 type (the second not of one
element: PyTorch's scalar path has no kernel) and matrix-by-matrix products (``mm``,
``linear``; not e8m0) compute in float32 and round once; everything else raises PyTorch's
``NotImplementedError`` with its kernel's name ("\"lt_cpu\" not implemented for
'Float8_e4m3fn'"), and any promotion between a float8 type and another type raises
PyTorch's ``RuntimeError`` ("Promotion for Float8 Types is not supported"). Ops computing
outside ``Function.apply`` (comparisons, ``isinf``, ``nonzero``, ``unique``, searches...)
call :func:`refuse` with their kernel's name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "FLOAT8_NAMES",
    "check_op",
    "float8_dtype",
    "from_float8",
    "is_float8",
    "not_implemented",
    "promotion_error",
    "refuse",
    "scalar_type_name",
    "to_float8",
]

# chainrule/PyTorch name -> PyTorch's C++ ScalarType name (its error messages use it)
FLOAT8_NAMES = {
    "float8_e4m3fn": "Float8_e4m3fn",
    "float8_e5m2": "Float8_e5m2",
    "float8_e4m3fnuz": "Float8_e4m3fnuz",
    "float8_e5m2fnuz": "Float8_e5m2fnuz",
    "float8_e8m0fnu": "Float8_e8m0fnu",
}
_DTYPES: dict[str, np.dtype] = {}
_TO_F32: dict[str, np.ndarray] = {}  # name -> float32 table of the 256 codes

# PyTorch's ScalarType names of the other dtypes (for the promotion message)
_SCALAR_NAMES = {
    "bool": "Bool",
    "int8": "Char",
    "uint8": "Byte",
    "int16": "Short",
    "uint16": "UInt16",
    "int32": "Int",
    "uint32": "UInt32",
    "int64": "Long",
    "uint64": "UInt64",
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "bfloat16": "BFloat16",
    "complex64": "ComplexFloat",
    "complex128": "ComplexDouble",
}


def is_float8(dtype: Any) -> bool:
    """Whether ``dtype`` (a NumPy dtype) is one of the float8 types (without importing
    ml_dtypes). By name: ml_dtypes gives them kind ``'V'``, except ``float8_e5m2``
    (kind ``'f'``)."""
    # (not ``dtype.name``: NumPy 2 builds it in Python, ~1 us, and bool/int8 arrays would pay
    # it on every comparison; the only 1-byte kinds besides float8's 'V'/'f' are b, i, u)
    return getattr(dtype, "itemsize", None) == 1 and dtype.kind in "Vf"


def float8_dtype(name: str) -> np.dtype:
    """The NumPy dtype (ml_dtypes') of the float8 type ``name`` (``"float8_e4m3fn"``...);
    also marks lower-precision dtypes as in use, so that ``Function.apply`` consults
    :func:`check_op` (see ``dtypes.bfloat16_dtype``).

    Raises:
        ImportError: ``ml_dtypes`` is not installed (it is a dependency of chainrule).
        KeyError: ``name`` is not a float8 type.
    """
    d = _DTYPES.get(name)
    if d is None:
        if name not in FLOAT8_NAMES:
            raise KeyError(f"unknown float8 dtype {name!r}; valid: {sorted(FLOAT8_NAMES)}")
        from . import dtypes  # the bfloat16 flag Function.apply reads (dtypes imports us)

        dtypes.bfloat16_dtype()
        import ml_dtypes  # a dependency; slow to import, so on first use

        d = _DTYPES[name] = np.dtype(getattr(ml_dtypes, name))
    return d


def scalar_type_name(dtype: Any) -> str:
    """PyTorch's C++ name of a dtype (``Float8_e4m3fn``, ``Float``, ``Long``...)."""
    name = np.dtype(dtype).name
    return FLOAT8_NAMES.get(name) or _SCALAR_NAMES.get(name, name)


def _table(name: str) -> np.ndarray:
    """The float32 values of the 256 codes of ``name``, NaNs with PyTorch's bit patterns."""
    table = _TO_F32.get(name)
    if table is None:
        codes = np.arange(256, dtype=np.uint8)
        table = codes.view(float8_dtype(name)).astype(np.float32)
        bits = table.view(np.uint32)
        nan = np.isnan(table)
        if name == "float8_e4m3fn":  # exponent all ones, the code's 3 mantissa bits on top
            sign = (codes.astype(np.uint32) & 0x80) << 24
            bits[nan] = sign[nan] | 0x7F800000 | ((codes[nan].astype(np.uint32) & 7) << 20)
        elif name == "float8_e5m2":  # float16's NaN (the code is its top byte), quieted
            mant = (codes.astype(np.uint32) & 3) << 21
            sign = (codes.astype(np.uint32) & 0x80) << 24
            bits[nan] = sign[nan] | 0x7FC00000 | mant[nan]
        else:
            bits[nan] = 0x7F800001
        _TO_F32[name] = table
    return table


def _round_float32(x: np.ndarray, name: str) -> np.ndarray:
    """float32 ``x`` rounded to the float8 type ``name`` by PyTorch's rules (module doc)."""
    d = float8_dtype(name)
    nan = np.isnan(x)
    with np.errstate(all="ignore"):
        if name == "float8_e8m0fnu":  # float32's exponent, the sign dropped, rounded up
            # from half way (a subnormal: above 2**-127), NaN/inf/overflow 0xFF
            bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
            e, m = (bits >> 23) & 0xFF, bits & 0x7FFFFF
            up = np.where(e == 0, m > 0x400000, m >= 0x400000)
            out = np.where(e == 0xFF, 0xFF, np.minimum(e + up, 0xFF)).astype(np.uint8)
            return out.view(d)
        out = x.astype(d).view(np.uint8)
    if name == "float8_e4m3fn":  # saturating: no finite value (nor inf) becomes NaN
        sat = ~nan & ((out & 0x7F) == 0x7F)
        out = np.where(sat, (out & 0x80) | 0x7E, out).astype(np.uint8)
    elif name == "float8_e5m2":
        sign = (np.signbit(x).astype(np.uint8) << 7).astype(np.uint8)
        out = np.where(nan, sign | 0x7F, out).astype(np.uint8)
    return out.view(d)


def to_float8(x: Any, dtype: np.dtype) -> np.ndarray:
    """A real array ``x`` of any dtype converted to the float8 ``dtype`` as PyTorch
    converts (through float32; see the module doc)."""
    x = np.asarray(x)
    if x.dtype == dtype:
        return x.copy()
    if x.dtype.kind == "c":
        x = x.real
    if is_float8(x.dtype):
        f32 = from_float8(x, np.dtype(np.float32))
    else:
        with np.errstate(all="ignore"):
            f32 = x.astype(np.float32)
    return _round_float32(f32, dtype.name)


def from_float8(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float8 array ``x`` converted to ``dtype`` as PyTorch converts (exact to float32,
    with PyTorch's NaN bit patterns, then float32's conversion to ``dtype``)."""
    name = x.dtype.name
    f32 = np.asarray(_table(name)[x.view(np.uint8)])  # a 0-d array, not a NumPy scalar,
    if dtype == np.float32:  # of a 0-d x (the NaN bits below are written into it)
        return f32
    if is_float8(dtype):
        return _round_float32(f32, dtype.name)
    from .dtypes import convert  # float32 to integers with PyTorch's results

    out = convert(f32, dtype)
    if dtype.itemsize == 2 and dtype.kind in "fV":  # NaNs: PyTorch's float16/bfloat16 bits
        nan = np.isnan(f32)
        if nan.any():
            out.view(np.uint16)[nan] = _half_nans(x.view(np.uint8)[nan], name, dtype)
    if dtype.kind in "iu" and dtype.itemsize >= 4 and name not in ("float8_e4m3fn", "float8_e5m2"):
        out = np.where(np.isnan(f32), dtype.type(0), out)  # PyTorch gives 0 for these NaNs
    return out


def _half_nans(codes: np.ndarray, name: str, dtype: np.dtype) -> np.ndarray:
    """PyTorch's bits of float8 NaN ``codes`` converted to float16 or bfloat16."""
    c = codes.astype(np.uint16)
    if dtype.name == "bfloat16":  # the one canonical NaN, sign dropped
        return np.full(c.shape, 0x7FC0, np.uint16)
    if name == "float8_e4m3fn":  # the sign, exponent all ones, the 3 mantissa bits on top
        return ((c & 0x80) << 8) | 0x7C00 | ((c & 7) << 7)
    if name == "float8_e5m2":  # float16's top byte, quieted
        return (c << 8) | 0x200
    return np.full(c.shape, 0x7E00, np.uint16)


def promotion_error(a: np.dtype, b: np.dtype) -> RuntimeError:
    """PyTorch's error for promoting a float8 type with another type."""
    return RuntimeError(
        "Promotion for Float8 Types is not supported, attempted to promote "
        f"{scalar_type_name(a)} and {scalar_type_name(b)}"
    )


# Functions (by class name) PyTorch runs on float8 tensors: conversions, copies, views,
# indexing, concatenation, where, diagonal embedding, embedding lookups, constant padding.
_NATIVE = {
    "Cast",
    "Contiguous",
    "Clone",
    "ToDevice",
    "GetItem",
    "SetItem",
    "Cat",
    "Stack",
    "Where",
    "IndexSelect",
    "Roll",
    "Repeat",
    "Tile",
    "MaskedSelect",
    "IndexPut",
    "Unbind",
    "Split",
    "Chunk",
    "Copy",
    "Fill",
    "Zero",
    "DiagEmbed",
    "EmbeddingFn",
    "ConstantPadNdBackward0",
    "NotImplementedDerivative",  # a result kept in the graph (``_scaled_mm`` of float8 leaves)
}
_NO_E8M0 = {"Abs", "IndexPut", "MatMul", "LinearFn"}  # (PyTorch: no e8m0 kernel for these)
_IN_FLOAT32 = {"Abs", "Mul", "MatMul", "LinearFn"}  # computed in float32, rounded once
# Ops whose operands promote together (any other dtype, integers too, is refused)
_ARITHMETIC = {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Atan2", "Remainder"}
# PyTorch's CPU kernel name (its "... not implemented for" message) by Function class name
_KERNELS = {
    "Abs": "abs_cpu",
    "Neg": "neg_cpu",
    "Sign": "sign_cpu",
    "Sgn": "sign_cpu",
    "Rsqrt": "rsqrt_cpu",
    "Sinh": "sinh_cpu",
    "Cosh": "cosh_cpu",
    "Asinh": "asinh_cpu",
    "Acosh": "acosh_cpu",
    "Atanh": "atanh_cpu",
    "Sigmoid": "sigmoid_cpu_reduced_float",
    "Frac": "frac_cpu",
    "Reciprocal": "reciprocal_cpu",
    "Relu": "clamp_min_scalar_cpu",
    "Logit": "logit_cpu",
    "Sinc": "sinc_cpu",
    "Angle": "angle_cpu",
    "Gelu": "GeluKernelImpl",
    "Silu": "silu_cpu",
    "Mish": "mish_cpu",
    "Softplus": "softplus_cpu",
    "Elu": "elu_cpu",
    "Celu": "elu_cpu",
    "LeakyRelu": "leaky_relu_cpu",
    "Hardtanh": "clamp_scalar_cpu",
    "Hardsigmoid": "hardsigmoid_cpu",
    "Hardswish": "hardswish_cpu",
    "LogSigmoid": "log_sigmoid_cpu",
    "Add": "add_stub",
    "Sub": "add_stub",
    "Rsub": "add_stub",
    "RsubTensors": "add_stub",
    "Atan2": "atan2_cpu",
    "Minimum": "minimum_cpu",
    "Maximum": "maximum_cpu",
    "Fmin": "fmin_cpu",
    "Fmax": "fmax_cpu",
    "Hypot": "hypot_cpu",
    "ClampBackward0": "clamp_cpu",
    "ClampBackward1": "clamp_scalar_cpu",
    "Sum": "sum_cpu",
    "Mean": "sum_cpu",
    "_ZeroNans": "nansum_cpu",
    "Prod": "prod_out_cpu",
    "LinalgVectorNormBackward0": "norm_cpu",
    "Amax": "max_values_cpu",
    "Amin": "min_values_cpu",
    "MaxBackward0": "max_cpu",
    "MinBackward0": "min_cpu",
    "Cumsum": "cumsum_out_cpu",
    "Cumprod": "cumprod_out_cpu",
    "RunningArg": "cummax_cpu",
    "LogsumexpBackward0": "max_values_cpu",
    "LogcumsumexpBackward0": "logcumsumexp_out_cpu",
    "Softmax": "softmax_lastdim_kernel_impl",
    "LogSoftmax": "log_softmax_lastdim_kernel_impl",
    "SelectPositions": "kthvalue_cpu",
    "EvenSelect": "median_cpu",
    "SortBackward0": "sorting_kernel_method_name",
    "TopkBackward0": "topk_cpu",
    "Gather": "gather_expanded_index",
    "TakeFn": "take_cpu",
    "Scatter": "scatter_gather_tensor_cpu",
    "ScatterAdd": "scatter_gather_tensor_cpu",
    "IndexAddFn": "index_add_",
    "IndexCopy": "index_copy_cpu",
    "IndexPut": "index_put",
    "MaskedFill": "masked_fill",
    "MaskedScatter": "masked_scatter",
    "Flip": "flip_cpu",
    "Rot90": "flip_cpu",
    "Tril": "tril",
    "Triu": "triu",
    "LerpScalar": "lerp_kernel_scalar",
    "LerpTensor": "lerp_kernel_tensor",
    "Addcmul": "addcmul_cpu_out",
    "Addcdiv": "addcdiv_cpu_out",
    "NanToNum": "nan_to_num",
    "Copysign": "copysign_cpu",
    "LogAddExp": "logaddexp_cpu",
    "Xlogy": "xlogy_cpu",
    "Nextafter": "nextafter_cpu",
    "Pow": "pow",
    "Ldexp": "pow",
    "MseLossFn": "mse_cpu",
    "CdistBackward0": "cdist",
    "Conv2dFn": "slow_conv2d_cpu",
    "WindowGather": "avg_pool2d",
    "MaxPool2DWithIndicesBackward0": "max_pool2d",
    "UpsampleNearest": "compute_indices_weights_nearest",
    "LayerNormFn": "LayerNormKernelImpl",
}
# Unary functions whose kernel is "<name>_vml_cpu"
_VML = "Exp Expm1 Log Log2 Log10 Log1p Sqrt Sin Cos Tan Asin Acos Atan Tanh Floor Ceil Round Trunc"
_VML += " Erf Erfc Erfinv Lgamma I0"
_KERNELS.update({n: n.lower() + "_vml_cpu" for n in _VML.split()})


def not_implemented(kernel: str, dtype: Any) -> NotImplementedError:
    """PyTorch's error for an op without a CPU kernel for ``dtype``: ``"kernel" not
    implemented for 'Float8_e4m3fn'`` (``kernel``: the name PyTorch's message gives)."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(dtype)}'")


def refuse(kernel: str, *values: Any) -> None:
    """Raise PyTorch's ``NotImplementedError`` (:func:`not_implemented`) when one of
    ``values`` (tensors, arrays or anything else) holds a float8 type: for the ops that
    compute outside ``Function.apply`` (comparisons, searches, ``nonzero``, ``unique``...)
    where PyTorch has no float8 kernel."""
    if not _DTYPES:  # no float8 dtype made yet (as Function.apply's low-precision flag):
        return  # this runs on every comparison, nonzero, max..., so it must cost nothing
    for v in values:  # (is_float8 inlined)
        d = getattr(getattr(v, "_data", v), "dtype", None)
        if d is not None and d.itemsize == 1 and d.kind in "Vf":
            raise not_implemented(kernel, d)


def _size_one(a: Any) -> bool:
    """Whether an operand is a number or holds one element (PyTorch's CPU scalar)."""
    return not isinstance(a, np.ndarray) or a.size == 1


def _matmul_kernel(first: np.dtype, arrays: list) -> str | None:
    """PyTorch's missing kernel for a float8 product of these operands, or None where it
    computes one (a matrix by a matrix, not for e8m0)."""
    nd = [getattr(a, "ndim", 0) for a in arrays[:2]]
    if nd == [1, 1]:
        return "dot"
    if 1 in nd:
        return "addmv_impl_cpu"
    if max(nd) > 2:
        return "baddbmm_with_gemm"
    return "addmm_impl_cpu_" if first.name == "float8_e8m0fnu" else None


def check_op(cls: type, args: tuple, arrays: list) -> str:
    """What ``Function.apply`` does with the op ``cls`` given float8 arrays among its raw
    arguments ``arrays``: ``"native"`` (run on the float8 arrays), ``"float32"`` (compute
    in float32 and round once) or it raises PyTorch's error.

    Raises:
        RuntimeError: arrays of a float8 type and another dtype meet (PyTorch's promotion
            error), for an op that promotes.
        NotImplementedError: PyTorch has no float8 kernel for the op.
    """
    name = cls.__name__
    node = getattr(cls, "node_name", None)  # the node's name where it is a constant
    if isinstance(node, str) and (node in _NATIVE or node in _KERNELS):
        name = node
    f8 = [a.dtype for a in arrays if is_float8(getattr(a, "dtype", None))]
    first = f8[0]
    floats = [  # another floating tensor with dimensions: a promotion PyTorch refuses
        a.dtype
        for a in arrays
        if isinstance(a, np.ndarray) and a.dtype != first and a.ndim and a.dtype.kind in "fcV"
    ]
    e8m0 = first.name == "float8_e8m0fnu"
    if name in _NATIVE and not (e8m0 and name in _NO_E8M0):
        if floats and name in ("Cat", "Stack", "Where"):
            raise promotion_error(first, floats[0])
        return "native"
    others = [  # any other dtype meeting the float8 one in an arithmetic op
        a.dtype for a in arrays if isinstance(a, np.ndarray) and a.dtype != first and a.ndim
    ]
    others = others if name in _ARITHMETIC else floats
    if others:
        raise promotion_error(first, others[0])
    kernel = _KERNELS.get(name)
    if name in ("Mul", "Div") and len(arrays) > 1 and _size_one(arrays[1]):
        kernel = name.lower() + "_cpu_reduced_float"  # PyTorch's path for a scalar operand
    elif name == "Mul" and len(f8) == 2:
        return "float32"
    elif name == "Div":
        kernel = "div_cpu"
    elif name in ("MatMul", "LinearFn"):
        kernel = _matmul_kernel(first, arrays)
        if kernel is None:
            return "float32"
    elif name == "Abs" and not e8m0:
        return "float32"
    if kernel is not None:
        raise not_implemented(kernel, first)
    op = node if isinstance(node, str) else name
    raise NotImplementedError(
        f"\"{name.lower()}\" not implemented for '{scalar_type_name(first)}' (PyTorch has no "
        f"CPU kernel for {op} on float8 tensors); convert with .float() first"
    )
