"""Checks and small helpers shared by ``cr.linalg``'s files."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._util import DtypeError, as_tensor
from ..ops.complex_ops import conj
from ..qtypes import scalar_type_name

__all__ = [
    "LinAlgError",
    "NOT_POSITIVE_DEFINITE",
    "SINGULAR_INVERSE",
    "SINGULAR_SOLVE",
    "batch_failure",
    "check_float",
    "check_square",
    "herm",
    "mH",
    "mT",
    "batch_shape",
    "raise_singular",
    "substitute",
    "sym",
    "tensor_arg",
    "zero_diagonal_infos",
]


class LinAlgError(RuntimeError):
    """A matrix is singular or not positive-definite (PyTorch's ``torch.linalg.LinAlgError``,
    also a ``RuntimeError``)."""


NOT_POSITIVE_DEFINITE = (
    "The factorization could not be completed because the input is not positive-definite "
    "(the leading minor of order {info} is not positive-definite)."
)  # LAPACK potrf's info, PyTorch's words
SINGULAR_INVERSE = (
    "The diagonal element {info} is zero, the inversion could not be completed because the "
    "input matrix is singular."
)  # LAPACK getrf's info, PyTorch's words


SINGULAR_SOLVE = "The solver failed because the input matrix is singular."  # PyTorch's words


def batch_failure(op: str, infos: Any, batch: tuple, text: str) -> LinAlgError:
    """PyTorch's error for the first failed matrix of a batch: ``infos`` holds LAPACK's
    ``info`` per matrix (0: succeeded), ``text`` a template of ``info``. A batched input
    (``batch`` not empty) names the failed matrix's flat index, "(Batch element k): ", as
    PyTorch does. The text is PyTorch's own: public aliases (``inverse``) keep it as is."""
    flat = np.asarray(infos).reshape(-1)
    k = int(np.flatnonzero(flat)[0])
    where = f"(Batch element {k}): " if len(batch) else ""
    err = LinAlgError(f"{op}: {where}{text.format(info=int(flat[k]))}")  # (no {}: as is)
    err.torch_words = True  # (ops/_util.lead_with leaves the words as they are)
    return err


# The ops PyTorch runs on bfloat16 on the CPU (norms, products, matrix_exp, cross): their
# Functions compute in float32 and round once (autograd/lower_precision.run_in_float32).
# Every other linalg op is a LAPACK factorization or solver without a bfloat16 kernel.
_BFLOAT16_OK = frozenset(
    {
        "linalg.vector_norm",
        "linalg.norm",
        "linalg.matrix_norm",
        "linalg.matrix_exp",
        "matrix_exp",
        "linalg.cross",
        "linalg.vecdot",
        "linalg.matrix_power",
        "lu_unpack",  # no factorization: it only splits and permutes the LU factors
    }
)


def tensor_arg(x: Any, op: str, complex_ok: bool = False) -> Tensor:
    """A floating-point tensor; a complex one only where the op has a complex rule
    (``complex_ok``), otherwise NotImplementedError naming the op. bfloat16 only for the
    ops PyTorch has a CPU bfloat16 kernel for (``_BFLOAT16_OK``), and float16 likewise; for
    the others PyTorch's NotImplementedError (a RuntimeError, as its "Low precision dtypes"
    error), never NumPy's TypeError."""
    t = as_tensor(x)
    kind = t.dtype.kind
    if (kind == "V" and t.dtype.name == "bfloat16") or t.dtype.char == "e":  # e: float16
        if op in _BFLOAT16_OK:  # PyTorch's CPU kernels for these take float16 too
            return t
        name = "Half" if kind == "f" else "BFloat16"
        raise NotImplementedError(
            f"{op}: not implemented for '{name}' (no {t.dtype.name} kernel, in PyTorch either: "
            f"LAPACK has no {t.dtype.name}); convert the input with .float() first"
        )
    if kind != "f":
        if kind != "c":
            raise DtypeError(  # PyTorch's words, then the fix
                f"{op}: Expected a floating point or complex tensor as input. Got "
                f"{scalar_type_name(t.dtype)}\n{op}: convert the input with .float() first"
            )
        if not complex_ok:
            raise NotImplementedError(
                f"{op}: complex inputs are not supported by chainrule's linalg yet; use real "
                "tensors"
            )
    return t


def check_float(x: Any, op: str, complex_ok: bool = False) -> Tensor:
    """A floating-point tensor with at least 2 dims (a batch of matrices); complex only
    with ``complex_ok``. The dims are checked before the dtype, as PyTorch's."""
    if isinstance(x, Tensor) and x.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    t = tensor_arg(x, op, complex_ok)
    if t.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    return t


def check_square(x: Any, op: str, complex_ok: bool = False) -> Tensor:
    t = check_float(x, op, complex_ok)
    if t.shape[-1] != t.shape[-2]:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are "
            f"{t.shape[-2]} by {t.shape[-1]} matrices"
        )
    return t


def mT(x: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    """Transpose of the last two dims."""
    return x.transpose(-2, -1)


def mH(x: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    """Conjugate transpose of the last two dims (the transpose for real tensors)."""
    t = x.transpose(-2, -1)
    return conj(t) if t._data.dtype.kind == "c" else t


def herm(x: Tensor) -> Tensor:
    """The Hermitian part (X + X^H) / 2 (the symmetric part for real tensors)."""
    return (x + mH(x)) * 0.5


def sym(x: Tensor) -> Tensor:
    """The symmetric part (X + X^T) / 2."""
    return (x + mT(x)) * 0.5


def raise_singular(op: str, err: np.linalg.LinAlgError, what: str = "singular") -> None:
    raise LinAlgError(
        f"{op}: The input matrix is {what}; the operation could not be completed ({err})."
    ) from None


def batch_shape(op: str, a: Tensor, b: Tensor) -> tuple:
    """The broadcast of the batch dims (all but the last two) of ``a`` and ``b``; batches
    that do not broadcast raise PyTorch's RuntimeError naming ``op``, not NumPy's
    ValueError."""
    sa, sb = tuple(a.shape[:-2]), tuple(b.shape[:-2])
    try:
        return np.broadcast_shapes(sa, sb)
    except ValueError:
        for k in range(1, min(len(sa), len(sb)) + 1):
            if sa[-k] != sb[-k] and 1 not in (sa[-k], sb[-k]):
                raise RuntimeError(
                    f"{op}: The size of tensor a ({sa[-k]}) must match the size of tensor b "
                    f"({sb[-k]}) at non-singleton dimension {max(len(sa), len(sb)) - k} (batch "
                    f"dims of shapes {tuple(a.shape)} and {tuple(b.shape)})"
                ) from None
        raise


def zero_diagonal_infos(a: Any) -> Any:
    """Per matrix of the raw batch ``a``, the 1-based index of the first zero on its
    diagonal, 0 where there is none (LAPACK trtri's / potri's ``info``)."""
    xp = get_array_module(a)
    zero = xp.diagonal(a, 0, -2, -1) == 0
    return xp.where(zero.any(-1), zero.argmax(-1) + 1, 0)


def substitute(t: Any, b: Any, lower: bool) -> Any:
    """``T^-1 B`` for the raw triangular batch ``t`` (the triangle ``lower`` read) by forward
    (back) substitution in IEEE arithmetic: a zero on the diagonal gives inf and NaN, as
    BLAS trsm (PyTorch's ``cholesky_solve``, ``potrs``) does, where ``linalg.solve`` raises.
    Used for singular factors only: one step per row."""
    xp = get_array_module(t)
    n = t.shape[-1]
    x = xp.zeros(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(n) if lower else range(n - 1, -1, -1):
            done = slice(0, k) if lower else slice(k + 1, n)
            acc = b[..., k, :] - (t[..., k : k + 1, done] @ x[..., done, :])[..., 0, :]
            x[..., k, :] = acc / t[..., k, k, None]
    return x
