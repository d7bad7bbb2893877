"""How ``out=`` is written, as PyTorch writes it: dtype rules, overlap checks, resizing.

:func:`write_out` copies an op's result into the ``out`` tensor a caller gave: cast to
``out``'s dtype when the cast is safe within a kind, resized (with PyTorch's warning) when
its shape differs, and refused when autograd would need to record the op or when ``out`` is
an expanded tensor. The per-op tables below say where PyTorch differs from that rule (no
cast at all, bool only, a differentiable copy, no memory shared with an input), found by
running torch 2.13. ``keywords.accepts_torch_keywords`` (which re-exports these names) is
the wrapper that calls them; this module is its ``out=`` half.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..backend import is_writeable
from ..dtype_rules import can_cast
from ._misc_more_strided import _storage
from .inplace import check_writable_memory
from .inplace_overlap import check_partial_overlap
from .sparse_nodense import NoDenseData

__all__ = ["check_out_dtype", "torch_dtype_word", "write_out"]


_SAME_DTYPE_OUT = frozenset({"quantile", "nanquantile"})
"""Ops whose ``out=`` must have the result's dtype exactly (PyTorch checks it, no cast)."""

_EXACT_DTYPE_OUT = frozenset(
    {
        *("abs", "absolute", "neg", "negative", "sgn", "sign", "conj_physical", "bitwise_not"),
        *("ceil", "floor", "round", "trunc", "fix", "frac", "clamp", "clip", "nan_to_num"),
        *("isneginf", "isposinf", "signbit", "heaviside", "ldexp", "float_power", "frexp"),
        *("amax", "amin", "aminmax", "argmax", "argmin", "cummax", "cummin", "logcumsumexp"),
        *("sort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "nonzero"),
        *("bucketize", "searchsorted", "histc", "histogram", "multinomial", "renorm", "norm"),
        *("frobenius_norm", "nuclear_norm", "gather", "take_along_dim", "index_select"),
        *("masked_select", "where", "tril", "triu", "diag", "cross", "inner", "vdot"),
        "slice_scatter",
        *("addbmm", "chain_matmul", "triangular_solve", "complex", "polar"),
        *("take", "log_softmax", "softmax"),
    }
)
"""Ops whose every ``out`` tensor must already have its result's dtype: PyTorch refuses a
float64 ``out`` for a float32 result ("Expected out tensor to have dtype float, but got double
instead"; for ``abs`` and the other unary ones "Found dtype Double but expected Float")."""

_EXACT_DTYPE_TUPLE_OUT = frozenset({"max", "min"})
"""Exact as above for their ``(values, indices)`` form only: ``max(x, y, out=)`` and the
full reduction ``max(x, out=)`` cast like any other op."""

_OUT_GRAD_UNCHECKED = frozenset(
    {"slice_scatter", "log_softmax", "softmax", "diag", "floor_divide", "heaviside"}
)
"""Ops whose ``out=`` PyTorch 2.13 fills though an input requires grad (only an ``out`` that
requires grad raises there): the values are written, ``out`` stays out of the graph (in
PyTorch it gets a grad_fn that cannot run backward)."""

_OUT_GRAD_COPIED = frozenset(
    {"linalg.norm", "linalg.matrix_norm", "quantile", "nanquantile", "inner", "tensordot"}
)
"""Ops whose ``out=`` PyTorch fills by a differentiable copy when an input requires grad (its
composite ops: ``out`` gets a ``CopyBackwards`` grad_fn and backward reaches the inputs)."""

_OUT_NO_OVERLAP = frozenset(
    {"index_select", "gather", "cross", "linalg_cross", "take", "masked_select"}
)
"""Ops whose ``out`` may share no memory with an input at all, not even the very same tensor
(PyTorch: "unsupported operation: some elements of the input tensor and the written-to tensor
refer to a single memory location")."""

_SILENT_RESIZE = frozenset({"narrow_copy"})
"""Ops whose ``out`` of another shape PyTorch resizes without its warning."""

_BOOL_OUT = frozenset({"all", "any"})
"""Ops whose ``out`` must be bool (or uint8, PyTorch's legacy mask type)."""

_CAT_FAMILY = frozenset(
    {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack"}
    | {"row_stack"}
)
"""Ops whose uncastable ``out`` is a ``TypeError`` in PyTorch (it goes through ``cat``)."""

_OUT_DTYPE_COMPUTES = frozenset({"sum", "prod", "cumsum", "cumprod", "nansum"})
"""Ops that compute in ``out``'s dtype when no ``dtype=`` is given (PyTorch's rule:
``torch.sum(x, 1, out=int64_tensor)`` truncates each float before summing)."""

_OUT_NEEDS_DIM = frozenset({"sum", "prod", "median", "nanmedian"})
"""Ops whose ``out=`` overload is the one with a ``dim`` (PyTorch's full reduction takes no
``out``): ``torch.prod(x, out=o)`` is a TypeError; ``prod``/``median``'s dim cannot be None
there either (``sum``'s can: ``sum(x, None, out=o)`` reduces everything)."""
# The ops whose out= PyTorch refuses when it partially overlaps an input ("some elements of
# the input tensor and the written-to tensor refer to a single memory location"): its
# elementwise ops, scans and joins (probed on torch 2.13; its reductions, matmuls, linalg
# ops and ``nonzero`` do not check). Checked when out keeps its shape (a resized out is
# new memory here; in PyTorch it may still share the input's storage: not mirrored).
_OUT_OVERLAP_CHECKED = frozenset(
    """abs absolute acos acosh add addcdiv addcmul addmm angle arccos arccosh arcsin arcsinh
    arctan arctan2 arctanh asin asinh atan atan2 atanh bitwise_and bitwise_left_shift
    bitwise_not bitwise_or bitwise_right_shift bitwise_xor cat ceil clamp clamp_max clamp_min
    clip column_stack concat concatenate conj_physical copysign cos cosh cumprod cumsum
    deg2rad diff digamma div divide dstack eq erf erfc erfinv exp exp2 expm1 fix float_power
    floor floor_divide fmax fmin fmod frac gcd ge greater greater_equal gt heaviside hstack
    hypot i0 igamma igammac isneginf isposinf kron lcm ldexp le lerp less less_equal lgamma
    log log10 log1p log2 logaddexp logaddexp2 logcumsumexp logical_and logical_not logical_or
    logical_xor logit lt masked_select maximum minimum msort mul multiply nan_to_num ne neg
    negative nextafter not_equal pow rad2deg reciprocal remainder round row_stack rsqrt sgn
    sigmoid sign signbit sin sinc sinh sqrt square stack sub subtract tan tanh true_divide
    trunc vstack where xlogy""".split()
)
# Of these, the ops that check their first argument only (addmm: not mat1 and mat2; diff:
# not prepend and append, which it joins to a copy first).
_OUT_OVERLAP_FIRST_ONLY = frozenset({"addmm", "diff"})


def _check_out_overlap(op: str, args: tuple, kwargs: dict, result: Any, out: Any) -> None:
    """PyTorch's refusal of an out= that partially overlaps an input
    (:func:`check_partial_overlap`)."""
    if not isinstance(out, Tensor) or not isinstance(result, Tensor):
        return
    if result._data.shape != out._data.shape:
        return
    if op in _OUT_OVERLAP_FIRST_ONLY:
        found = list(args[:1])
    else:
        found = []
        for a in (*args, *kwargs.values()):
            if isinstance(a, (list, tuple)):
                found.extend(a)
            else:
                found.append(a)
    target = out._data
    for a in found:
        if isinstance(a, Tensor) and a is not out and a._data is not target:
            if type(a._data) is not NoDenseData:  # (a sparse input: no memory to overlap)
                check_partial_overlap(target, a._data, f"{op}()")


def _check_out_no_overlap(op: str, args: tuple, kwargs: dict, out: Any) -> None:
    """PyTorch's refusal of an ``out`` that shares any memory with an input
    (:data:`_OUT_NO_OVERLAP`)."""
    if not isinstance(out, Tensor) or out._data.size == 0:
        return
    for key, a in (*enumerate(args), *kwargs.items()):
        if key == "out" or not isinstance(a, Tensor) or not a._data.size:
            continue
        if np.may_share_memory(out._data, a._data):
            raise RuntimeError(
                f"{op}(): unsupported operation: some elements of the input tensor and the "
                "written-to tensor refer to a single memory location. Please clone() the "
                "tensor before performing the operation."
            )


_TORCH_DTYPE_WORD = {
    "float64": "double",
    "float32": "float",
    "float16": "c10::Half",
    "bfloat16": "c10::BFloat16",
    "complex128": "c10::complex<double>",
    "complex64": "c10::complex<float>",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
}


class _OutCastError(TypeError, RuntimeError):
    """An ``out`` of ``cat``'s family whose dtype the inputs cannot be cast to: PyTorch raises
    TypeError there and RuntimeError for every other op; this is both."""


def torch_dtype_word(dtype: Any) -> str:
    """PyTorch's C++ name of ``dtype`` in its out-dtype messages (``double``, ``long int``)."""
    return _TORCH_DTYPE_WORD.get(str(dtype), str(dtype))


def check_out_dtype(op: str, result: Any, out: Any, exact: bool = False) -> None:
    """PyTorch's per-op rules for ``out``'s dtype beyond the castable check (``exact``: this
    ``out`` must have the result's dtype whatever the op)."""
    want, got = result._data.dtype, out._data.dtype
    if want == got:
        return
    if op in _BOOL_OUT:
        if got not in (np.bool_, np.uint8):
            raise RuntimeError(f"{op} only supports bool tensor for result, got: {out.dtype}")
        return
    if op == "heaviside":  # its meta function's words (out's dtype is one of its checks)
        kind = "complex tensors" if np.dtype(got).kind == "c" else "tensors with different dtypes"
        raise RuntimeError(f"heaviside is not yet implemented for {kind}.")
    if exact or op in _EXACT_DTYPE_OUT or op in _SAME_DTYPE_OUT:
        if op in _SAME_DTYPE_OUT:
            # (PyTorch says quantile() for nanquantile too)
            raise RuntimeError("quantile() out tensor must be same dtype as the input tensor")
        raise RuntimeError(
            f"{op}(): Expected out tensor to have dtype {torch_dtype_word(want)}, but got "
            f"{torch_dtype_word(got)} instead"
        )


def _resized(arr: Any, shape: tuple) -> Any:
    """``arr`` (an ``out`` of the wrong shape) resized to ``shape`` as PyTorch resizes it:
    contiguous over its storage from its offset when the storage holds enough elements (so an
    ``out`` that is a view of a larger tensor is written through), else new memory."""
    n = math.prod(shape)
    try:
        flat, off = _storage("out=", arr)
    except NotImplementedError:  # memory that is not one block: new memory
        return np.empty(shape, dtype=arr.dtype)
    if off + n <= flat.size and is_writeable(flat):
        return flat[off : off + n].reshape(shape)
    return np.empty(shape, dtype=arr.dtype)


def write_out(op: str, result: Any, out: Any) -> Any:
    """Copy ``result`` (a Tensor or a tuple of them) into ``out`` and return ``out``."""
    if isinstance(result, tuple):  # e.g. max(dim) -> (values, indices)
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}(): out= must be a tuple of {len(result)} tensors")
        if op in _EXACT_DTYPE_TUPLE_OUT or op in _EXACT_DTYPE_OUT:  # all before writing any
            for r, o in zip(result, out):
                if isinstance(o, Tensor):
                    check_out_dtype(op, r, o, exact=True)
        written = [write_out(op, r, o) for r, o in zip(result, out)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    copied = False
    if grad_mode.is_grad_enabled() and result.requires_grad and op in _OUT_GRAD_COPIED:
        copied = not out.requires_grad
    if (
        grad_mode.is_grad_enabled()
        and not copied
        and (
            (out.requires_grad and result._data.dtype != np.bool_)  # (a mask: not differentiable)
            or (result.requires_grad and op not in _OUT_GRAD_UNCHECKED)
        )
    ):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    arr = result._data
    check_out_dtype(op, result, out)
    if not can_cast(arr.dtype, out._data.dtype):  # torch's rule (int64 into uint8 is fine)
        error = _OutCastError if op in _CAT_FAMILY else RuntimeError
        raise error(
            f"{op}(): result type {arr.dtype} can't be cast to the desired "
            f"output type {out._data.dtype}"
        )
    check_writable_memory(out, f"{op}()")  # an expanded out: PyTorch's error
    if arr.shape != out._data.shape:
        if out._data.size and op not in _SILENT_RESIZE:
            warnings.warn(
                # PyTorch's text, which filters match by its start
                "An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(arr.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                f"with t.resize_(0). ({op}())",
                UserWarning,
                stacklevel=3,
            )
        out._data = _resized(out._data, arr.shape)
    if copied:  # out.copy_(result): in the graph, as PyTorch's composite ops' out=
        return out.copy_(result)
    np.copyto(out._data, arr, casting="unsafe")
    out._vc[0] += 1
    return out
