"""PyTorch's top-level linear-algebra names (``torch.inverse``, ``torch.det``, ...,
``torch.svd``), each also a ``Tensor`` method, on top of ``cr.linalg``.

They reuse the ``cr.linalg`` implementations (no second copy of the math); what differs is
PyTorch's older calling convention: ``qr(some=)``, ``cholesky(upper=)``, ``pinverse(rcond=)``,
and ``svd`` returning ``(U, S, V)`` with ``V`` (not ``Vh``) and ``some=``/``compute_uv=``.
``logdet`` is ``log(det)``: NaN for a negative determinant, -inf for a zero one.
``matrix_exp`` (absent from ``cr.linalg``) is a scaling-and-squaring Taylor series made of
matrix products, so it is differentiable to every order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from .._user_warnings import warn_at_caller
from ..autograd.lower_precision import autocast_float32_op, in_float32_rounded_once
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..linalg._common import check_square, mH
from ..linalg.decompositions import legacy_cholesky as _cholesky
from ..linalg.decompositions import qr as _qr
from ..linalg.decompositions import svd as _svd
from ..linalg.decompositions import svdvals as _svdvals
from ..linalg.norms import pinv as _pinv
from ..linalg.solve import det as _det
from ..linalg.solve import inv as _inv
from ..linalg.solve import matrix_power as _matrix_power
from ..linalg.solve import slogdet as _slogdet
from ._util import NAMED_ERRORS, lead_with
from .binary import where
from .binding import tensor_method
from .complex_ops import angle
from .linalg_out import with_out
from .number_arguments import parser_int

__all__ = [
    "cholesky",
    "det",
    "inverse",
    "logdet",
    "matrix_exp",
    "matrix_power",
    "pinverse",
    "qr",
    "slogdet",
    "svd",
]


SvdResult = return_types.svd  # torch.return_types.svd


def _named(op: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with errors restated under the public name ``op``."""
    try:
        return fn(*args, **kwargs)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise


@tensor_method
@with_out("inverse")
@autocast_float32_op
def inverse(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """The inverse of a (batch of) square matrix (``linalg.inv``)."""
    return _named("inverse", _inv, input)


@tensor_method
def det(input: Tensor) -> Tensor:  # noqa: A002
    """The determinant of a (batch of) square matrix (``linalg.det``)."""
    return _named("det", _det, input)


@tensor_method
def slogdet(input: Tensor) -> Any:  # noqa: A002
    """``(sign, logabsdet)`` of the determinant (``linalg.slogdet``)."""
    return return_types.slogdet(*_named("slogdet", _slogdet, input))


@tensor_method
def logdet(input: Tensor) -> Tensor:  # noqa: A002
    """``log(det(input))``: NaN where the determinant is negative, -inf where it is 0. For a
    complex matrix, the complex log: ``log|det| + i angle(det)`` (-inf + NaN i where it is 0,
    as in PyTorch)."""
    sign, logabs = _named("logdet", _slogdet, input)
    s = sign._data
    if s.dtype.kind == "c":
        out = logabs + angle(sign) * 1j
        if not (s == 0).any():
            return out
        return where(Tensor._make(s != 0, False, None, 0), out, complex(-np.inf, np.nan))
    # sign 0: log|det| is -inf (singular) or NaN (a NaN in the matrix), as PyTorch's logdet
    bad = np.where(s == 0, logabs._data, np.nan).astype(logabs._data.dtype)
    return where(Tensor._make(s > 0, False, None, 0), logabs, Tensor._make(bad, False, None, 0))


@tensor_method
@autocast_float32_op
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:  # noqa: A002
    """The pseudo-inverse, dropping singular values below ``rcond * s_max``."""
    return _named("pinverse", _pinv, input, rtol=rcond)


@tensor_method
@with_out("matrix_power")
def matrix_power(input: Tensor, n: int) -> Tensor:  # noqa: A002
    """``input`` multiplied by itself ``n`` times (``n < 0``: of its inverse)."""
    if type(n) is not int:  # PyTorch's parser, under this op's name
        n = parser_int("matrix_power", "n", 2, n)
    return _named("matrix_power", _matrix_power, input, n)


_CHOLESKY_WARNED: list[bool] = []  # PyTorch warns once per process
_CHOLESKY_DEPRECATED = (
    "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
    "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\n"
    "L = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be "
    "replaced with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce equivalent "
    "results for all valid (symmetric positive definite) inputs."
)


@tensor_method
@with_out("cholesky", "castable")
@autocast_float32_op
def cholesky(input: Tensor, upper: bool = False) -> Tensor:  # noqa: A002
    """The Cholesky factor ``L`` (``upper=True``: ``U = L.mT``) of an SPD matrix.

    Deprecated, as in PyTorch: the first call in a process warns (PyTorch's UserWarning and
    wording) that ``linalg.cholesky`` replaces it."""
    if not _CHOLESKY_WARNED:
        _CHOLESKY_WARNED.append(True)
        warn_at_caller(_CHOLESKY_DEPRECATED)
    return _named("cholesky", _cholesky, input, upper=upper)


@tensor_method
@with_out("qr")
@autocast_float32_op
def qr(input: Tensor, some: bool = True) -> Any:  # noqa: A002
    """``(Q, R)``: reduced when ``some`` (``linalg.qr(mode='reduced')``), else complete."""
    return return_types.qr(*_named("qr", _qr, input, "reduced" if some else "complete"))


@tensor_method
@with_out("svd")
@autocast_float32_op
def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> SvdResult:  # noqa: A002
    """``(U, S, V)`` with ``input = U diag(S) V^H`` (``V = Vh^H``, not ``linalg.svd``'s
    ``Vh``; ``V^T`` for real input).

    ``some``: thin factors (else full square ones). ``compute_uv=False``: only ``S``; ``U``
    and ``V`` are zero-filled ``(m, m)`` and ``(n, n)`` matrices of the input's dtype, as
    PyTorch."""
    if not compute_uv:
        s = _named("svd", _svdvals, input)
        m, n = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])
        xp_zeros = get_array_module(input._data).zeros
        dtype = input._data.dtype  # complex input: complex U and V, real S
        u = Tensor._make(xp_zeros(batch + (m, m), dtype), False, None, 0)
        v = Tensor._make(xp_zeros(batch + (n, n), dtype), False, None, 0)
        return SvdResult(u, s, v)
    u, s, vh = _named("svd", _svd, input, full_matrices=not some)
    return SvdResult(u, s, mH(vh))


@tensor_method
def matrix_exp(input: Tensor) -> Tensor:  # noqa: A002
    """The matrix exponential ``sum_k A^k / k!`` of a (batch of) square matrix.

    Scaling and squaring: ``exp(A) = exp(A / 2^s)^(2^s)`` with ``s`` chosen (from the
    values, a constant for autograd) so that ``||A / 2^s||_1 <= 1/2``, and a degree-18
    Taylor polynomial in Horner form for ``exp(A / 2^s)``, as one node
    (``LinalgMatrixExpBackward0``, ``ops/matrix_exponential.py``). A bfloat16 input is computed in
    float32 and rounded once (PyTorch accepts bfloat16 too; its own kernel can overflow to
    NaN where float32 cannot)."""
    a = _named("matrix_exp", check_square, input, "matrix_exp", complex_ok=True)
    if a.dtype.kind == "V":  # bfloat16
        return in_float32_rounded_once(matrix_exp, a)
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"matrix_exp: expected a floating point tensor, got {a.dtype}")
    from .matrix_exponential import MatrixExp  # noqa: PLC0415

    return MatrixExp.apply(a)  # one LinalgMatrixExpBackward0 node
