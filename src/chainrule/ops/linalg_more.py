"""More of PyTorch's top-level linear algebra, on top of ``cr.linalg`` and the matrix products.

Every op is a composition of differentiable ops (backward, jvp, double backward from them):

    cholesky_solve(B, L)      X = (L L^H)^-1 B: two triangular solves, L^-H (L^-1 B)
    cholesky_inverse(L)       (L L^H)^-1 = cholesky_solve(I, L)
    triangular_solve(b, A)    (A^-1 b, A.clone()): PyTorch's deprecated form of
                              ``linalg.solve_triangular`` (arguments swapped, A's copy returned)
    addr(M, u, v)             beta M + alpha u v^T
    cross(a, b, dim=None)     ``linalg.cross`` along ``dim``, by default the first dim of size 3
    adjoint(A)                A^H (the transpose of the last two dims for real tensors)
    chain_matmul, lu, lu_unpack, lu_solve, frobenius_norm, nuclear_norm: PyTorch's deprecated
    forms of ``linalg.multi_dot``, ``lu_factor(_ex)``, ``lu_solve`` and the norms

Triangular solves read only the triangle they use, and their gradient with respect to the
matrix is that triangle's (PyTorch's for ``triangular_solve``). For ``cholesky_solve`` and
``cholesky_inverse`` PyTorch's rule differentiates ``L L^T`` with the whole of ``L``, so
its gradient has entries in the triangle the forward never reads; chainrule's is zero there
(the derivative of what is computed). Both agree for every ``L`` whose other triangle is
zero, e.g. a factor from ``linalg.cholesky``.

A factor with a zero on its diagonal: ``cholesky_solve`` returns inf and NaN silently, as
PyTorch's; ``cholesky_inverse`` raises PyTorch's ``LinAlgError``. ``triangular_solve`` raises
``LinAlgError`` where PyTorch's returns inf and NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from .._user_warnings import warn_at_caller, warn_once
from ..autograd.lower_precision import AUTOCAST, autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..linalg._common import (
    SINGULAR_INVERSE,
    batch_failure,
    batch_shape,
    check_square,
    mH,
    tensor_arg,
    zero_diagonal_infos,
)
from ..linalg._vmap_per_sample import per_sample_under_vmap
from ..linalg.chains import chain_matmul
from ..linalg.cholesky_solve_node import CholeskyInverse, CholeskySolve
from ..linalg.cross_product import cross as _linalg_cross
from ..linalg.legacy_norms import frobenius_norm, nuclear_norm
from ..linalg.lu import LUFactorExResult, lu_factor_ex, lu_unpack
from ..linalg.lu import lu_solve as _linalg_lu_solve
from ..linalg.triangular import solve_triangular, triangular_node
from ._tensor_args import first_not_tensor
from ._util import NAMED_ERRORS, as_tensor, constant, lead_with
from .binary import where
from .binding import tensor_method
from .complex_ops import conj
from .fused_products import Addr
from .keywords import write_out
from .linalg import outer
from .number_arguments import parser_int
from .scaled_products import _scaled_sum
from .sparse_tensor import SPARSE_TYPES

__all__ = [
    "addr",
    "adjoint",
    "chain_matmul",
    "cholesky_inverse",
    "cholesky_solve",
    "cross",
    "frobenius_norm",
    "lu",
    "lu_solve",
    "lu_unpack",
    "matrix_rank",
    "nuclear_norm",
    "triangular_solve",
]


def _out(op: str, result: Any, out: Any) -> Any:
    return result if out is None else write_out(op, result, out)


def _same_dtype(op: str, b: Tensor, a: Tensor) -> None:
    if b.dtype != a.dtype:
        raise RuntimeError(
            f"{op}: Expected b and A to have the same dtype, but found b of type {b.dtype} "
            f"and A of type {a.dtype} instead."
        )


def _rhs_matrix(op: str, b: Tensor, a: Tensor, name: str = "b") -> None:
    """``b`` a batch of matrices with as many rows as the square ``a``."""
    if b.ndim < 2:
        raise RuntimeError(
            f"{op}: {name} should have at least 2 dimensions, but has {b.ndim} dimensions instead"
        )
    if b.shape[-2] != a.shape[-1]:
        raise RuntimeError(
            f"{op}: Incompatible matrix sizes: each A matrix is {a.shape[-2]} by "
            f"{a.shape[-1]} but each {name} matrix is {b.shape[-2]} by {b.shape[-1]}"
        )


def _renamed(op: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with its errors restated under the public name ``op``."""
    try:
        return fn(*args, **kwargs)
    except NAMED_ERRORS as err:
        if err.args and isinstance(err.args[0], str):
            err.args = (err.args[0].replace("linalg.solve_triangular", op),) + err.args[1:]
        lead_with(op, err)
        raise


@tensor_method
@autocast_float32_op
@per_sample_under_vmap
def cholesky_solve(
    input: Tensor,  # noqa: A002 - PyTorch's name
    input2: Tensor,
    upper: bool = False,
    *,
    out: Any = None,
) -> Tensor:
    """``X`` with ``A X = B`` for ``A = L L^H`` (``upper``: ``A = U^H U``), given ``B`` =
    ``input`` (..., n, k) and the Cholesky factor ``L`` = ``input2`` (..., n, n); batch dims
    broadcast; real or complex (``L^H`` is ``L^T`` for real ``L``), one dtype for both.
    ``X = L^-H (L^-1 B)``: two triangular solves reading ``L``'s triangle only."""
    op = "cholesky_solve"
    b, low = tensor_arg(input, op, complex_ok=True), check_square(input2, op, complex_ok=True)
    _rhs_matrix(op, b, low)
    _same_dtype(op, b, low)
    upper = bool(upper)
    if not _cholesky_node_ok(b, low):
        y = _renamed(op, solve_triangular, mH(low) if upper else low, b, upper=False)
        x = _renamed(op, solve_triangular, low if upper else mH(low), y, upper=True)
        return _out(op, x, out)
    batch = batch_shape(op, b, low)
    if tuple(b.shape[:-2]) != batch:
        b = b.expand(*batch, *b.shape[-2:])
    if tuple(low.shape[:-2]) != batch:
        low = low.expand(*batch, *low.shape[-2:])
    return _out(op, CholeskySolve.apply(b, low, upper), out)  # PyTorch's one node


def _cholesky_node_ok(b: Tensor, low: Tensor) -> bool:
    """Whether :class:`CholeskySolve` / :class:`CholeskyInverse` compute the solve: no empty
    dim (an empty one keeps the two triangular solves, for their shapes). A zero on the
    factor's diagonal gives inf and NaN in the node, as PyTorch's ``cholesky_solve``."""
    return 0 not in b.shape and 0 not in low.shape


@tensor_method
@autocast_float32_op
@per_sample_under_vmap
def cholesky_inverse(input: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:  # noqa: A002
    """``(L L^H)^-1`` (``upper``: ``(U^H U)^-1``) from the Cholesky factor ``input``
    (..., n, n): the inverse of a Hermitian positive-definite matrix from its factor."""
    op = "cholesky_inverse"
    low = check_square(input, op, complex_ok=True)
    infos = zero_diagonal_infos(low._data)
    if infos.any():  # PyTorch's potri check, its words (its solve returns inf/NaN instead)
        raise batch_failure(op, host(infos), low.shape[:-2], SINGULAR_INVERSE)
    if _cholesky_node_ok(low, low):
        return _out(op, CholeskyInverse.apply(low, bool(upper)), out)  # PyTorch's one node
    n = low.shape[-1]
    eye = Tensor._make(get_array_module(low._data).eye(n, dtype=low._data.dtype), False, None, 0)
    eye = eye.expand(*low.shape) if low.ndim > 2 else eye
    x = cholesky_solve(eye, low, upper)
    # exactly Hermitian, as PyTorch's (LAPACK's potri computes one triangle, mirrored): the
    # two solves leave mirrored elements an ulp apart, which a sort or a search tells apart.
    # Mirrored in the solve's fresh result itself, so the node (saving it) stays as it was
    xp = get_array_module(x._data)
    x._data[...] = xp.tril(x._data) + xp.swapaxes(xp.tril(x._data, -1), -1, -2).conj()
    return _out(op, x, out)


TriangularSolveResult = return_types.triangular_solve  # torch.return_types.triangular_solve


_TRIANGULAR_SOLVE_DEPRECATED = (
    "triangular_solve is deprecated in favor of linalg.solve_triangular and will be removed "
    "in a future release. linalg.solve_triangular has its arguments reversed and does not "
    "return a copy of one of the inputs. X = triangular_solve(B, A).solution should be "
    "replaced with X = linalg.solve_triangular(A, B)."
)


@tensor_method
@autocast_float32_op
@per_sample_under_vmap
def triangular_solve(
    input: Tensor,  # noqa: A002
    A: Tensor,
    upper: bool = True,
    transpose: bool = False,
    unitriangular: bool = False,
    *,
    out: Any = None,
) -> TriangularSolveResult:
    """``(X, A.clone())`` with ``op(T) X = b`` for ``b`` = ``input`` (..., n, k), ``T`` the
    upper (``upper``) or lower triangle of ``A`` (unit diagonal when ``unitriangular``) and
    ``op(T)`` = ``T^T`` when ``transpose`` (the plain transpose for complex ``A`` too, as
    PyTorch). Deprecated in PyTorch (a ``UserWarning``, as
    there): ``linalg.solve_triangular(A, b, upper=...)`` is the same solve."""
    op = "triangular_solve"
    warn_at_caller(_TRIANGULAR_SOLVE_DEPRECATED)
    b = tensor_arg(input, op, complex_ok=True)
    if b.ndim < 2:
        raise RuntimeError(
            f"{op}: Expected b to have at least 2 dimensions, but it has {b.ndim} "
            "dimensions instead"
        )
    a = check_square(A, op, complex_ok=True)
    _rhs_matrix(op, b, a)
    _same_dtype(op, b, a)
    batch = batch_shape(op, b, a)
    full_a = a.expand(*batch, *a.shape[-2:]) if tuple(a.shape[:-2]) != batch else a
    full_b = b.expand(*batch, *b.shape[-2:]) if tuple(b.shape[:-2]) != batch else b
    # one TriangularSolveBackward0 node (op(T) = T^T when transpose), as PyTorch's
    args = (full_a, full_b, bool(upper), True, bool(unitriangular), bool(transpose), True)
    result = TriangularSolveResult(*_renamed(op, triangular_node, op, *args))
    return result if out is None else TriangularSolveResult(*write_out(op, tuple(result), out))


@tensor_method(inplace=True)
def addr(
    input: Any,  # noqa: A002
    vec1: Tensor,
    vec2: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` for 1-d ``vec1`` (n), ``vec2`` (m) and
    ``input`` broadcastable to (n, m); ``beta = 0`` ignores ``input`` (NaN included)."""
    op = "addr"
    if not (isinstance(input, Tensor) and isinstance(vec1, Tensor) and isinstance(vec2, Tensor)):
        raise first_not_tensor(op, (("input", input), ("vec1", vec1), ("vec2", vec2)))
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"{op}: Expected 1-D argument {name}, but got {v.ndim}-D")
    inp = as_tensor(input)
    if inp.dtype.kind in "iub" and vec1.dtype.kind in "iub" and vec2.dtype.kind in "iub":
        for name, value in (("beta", beta), ("alpha", alpha)):
            if isinstance(value, (float, np.floating)):
                raise RuntimeError(
                    f"{op}: For integral input tensors, argument {name} must not be a "
                    "floating point number."
                )
    if _addr_node_ok(inp, vec1, vec2, beta, alpha):  # one AddrBackward0, as PyTorch's
        if inp.dtype.kind in "iu":  # PyTorch truncates float scalars for integer tensors
            alpha, beta = int(alpha), int(beta)
        return _out(op, Addr.apply(inp, vec1, vec2, beta, alpha), out)
    result = _scaled_sum(op, input, outer(vec1, vec2), beta, alpha)
    if beta == 0 and inp.requires_grad:  # PyTorch's gradient for input: a zero (0 * grad)
        never = get_array_module(inp._data).zeros((), dtype=bool)
        result = result + where(constant(never), inp, 0)
    return _out(op, result, out)


def _addr_node_ok(inp: Tensor, vec1: Tensor, vec2: Tensor, beta: Any, alpha: Any) -> bool:
    """Whether ``addr`` runs as its one node: one numeric dtype (no bool, no bfloat16), no
    autocast, number scales (complex ones for complex tensors only), dense tensors and an
    ``input`` that broadcasts to the product's shape; the composed path handles the rest."""
    dtype = vec1._data.dtype
    if AUTOCAST[0] or dtype.kind not in "fciu":
        return False
    if vec2._data.dtype != dtype or inp._data.dtype != dtype:
        return False
    if any(type(t) in SPARSE_TYPES for t in (inp, vec1, vec2)):
        return False
    scales = (int, float, complex) if dtype.kind == "c" else (int, float)
    if not (isinstance(beta, scales) and isinstance(alpha, scales)):
        return False
    shape = (vec1.shape[0], vec2.shape[0])
    try:
        return np.broadcast_shapes(tuple(inp.shape), shape) == shape
    except ValueError:
        return False


_CROSS_DEFAULT_DIM = (  # PyTorch's text, word for word: filters match it by its start
    "Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the "
    "dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will change "
    "to agree with that of linalg.cross in a future release."
)


@tensor_method(keywords="axis")
def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Any = None) -> Tensor:  # noqa: A002
    """The 3-d cross product of ``input`` and ``other`` (broadcast) along ``dim``.

    ``dim=None`` (deprecated in PyTorch, with a ``UserWarning``) takes the first dim of
    ``input`` of size 3, which is not ``linalg.cross``'s default of -1. PyTorch warns once per
    process; chainrule on every call (Python's default filter shows it once per call site).
    The result is row-major whatever the inputs' layouts, as PyTorch's."""
    op = "cross"
    if dim is not None and type(dim) is not int:
        dim = parser_int(op, "dim", 3, dim)
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor(op, (("input", input), ("other", other)))
    if dim is None:
        warn_once("cross_default_dim", _CROSS_DEFAULT_DIM)  # once per process, as PyTorch
        shape = tuple(as_tensor(input).shape)
        if 3 not in shape:
            raise RuntimeError(f"{op}: no dimension of size 3 in input (shape {shape})")
        dim = shape.index(3)
    try:
        result = _linalg_cross(input, other, dim=dim)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise
    return _out(op, result.contiguous(), out)  # row-major whatever the inputs, as PyTorch


def _zero_d(name: str, x: Tensor) -> Tensor:
    warn_once(  # once per process, as PyTorch
        f"{name}-0d", f"{name} is deprecated on 0-D tensors. Consider using x.conj()."
    )
    return x


@tensor_method
def adjoint(input: Tensor) -> Tensor:  # noqa: A002
    """The conjugate transpose of the last two dims: for real tensors the transpose
    ``input.mT`` (a view). 0-d: ``input`` itself with a deprecation warning, as PyTorch."""
    if input.ndim == 0:
        return _zero_d("adjoint()", input)
    if input.ndim < 2:
        raise RuntimeError(
            "tensor.adjoint() is only supported on matrices or batches of matrices. "
            f"Got {input.ndim}-D tensor."
        )
    return _conj_if_complex(input.transpose(-2, -1))


def _conj_if_complex(x: Tensor) -> Tensor:
    """The conjugate of a complex tensor; a real one as is (``mH``/``H``/``adjoint``)."""
    return conj(x) if x._data.dtype.kind == "c" else x


def matrix_adjoint(self: Tensor) -> Tensor:
    """``Tensor.mH``: the conjugate transpose of the last two dims (real: ``mT``)."""
    if self.ndim == 0:
        return _zero_d("Tensor.mH", self)
    if self.ndim < 2:
        raise RuntimeError(
            "tensor.mH is only supported on matrices or batches of matrices. "
            f"Got {self.ndim}-D tensor."
        )
    return _conj_if_complex(self.transpose(-2, -1))


def conj_transpose(self: Tensor) -> Tensor:
    """``Tensor.H``: the conjugate transpose of a matrix (2-d only; batches use ``mH``)."""
    if self.ndim == 0:
        return _zero_d("Tensor.H", self)
    if self.ndim != 2:
        hint = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
        raise RuntimeError(
            f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor."
            + hint
        )
    return _conj_if_complex(self.transpose(0, 1))


def matrix_rank(
    input: Tensor,  # noqa: A002
    tol: Any = None,
    symmetric: bool = False,
    *,
    out: Any = None,
) -> Any:
    """Removed from PyTorch (since 1.9): raises, as ``torch.matrix_rank`` does, pointing to
    ``linalg.matrix_rank``."""
    raise RuntimeError(
        "matrix_rank: This function was deprecated since version 1.9 and is now removed. "
        "Please use the `linalg.matrix_rank` function instead. The parameter 'symmetric' was "
        "renamed in `linalg.matrix_rank()` to 'hermitian'."
    )


def _lu_deprecated(message: str) -> None:
    warn_at_caller(message)


@tensor_method
@autocast_float32_op
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, *, out: Any = None) -> Any:
    """``(LU, pivots)`` (a tuple; ``get_infos``: ``(LU, pivots, info)``, named) of ``A``'s LU
    factorization with partial pivoting. Deprecated in PyTorch for ``linalg.lu_factor`` /
    ``linalg.lu_factor_ex`` (a ``UserWarning``, as there). A singular matrix does not raise
    (its ``info`` says where U's diagonal has a zero). ``out``: a tuple (or list) of as many
    tensors, written and returned as a tuple, as PyTorch's."""
    if out is not None:
        want = 3 if get_infos else 2
        got = len(out) if hasattr(out, "__len__") else 1
        if not isinstance(out, (tuple, list)) or got != want:  # PyTorch's TypeError
            raise TypeError(f"expected tuple of {want} elements but got {got}")
    _lu_deprecated(
        "lu is deprecated in favor of linalg.lu_factor / linalg.lu_factor_ex and will be "
        "removed in a future release. LU, pivots = lu(A, compute_pivots) should be replaced "
        "with LU, pivots = linalg.lu_factor(A, compute_pivots)"
    )
    try:
        res = lu_factor_ex(A, pivot=pivot)
    except NAMED_ERRORS as err:
        lead_with("lu", err)
        raise
    result = tuple(res) if get_infos else (res.LU, res.pivots)
    if out is not None:
        return type(out)(write_out("lu", result, out))  # a tuple or list, as given (torch)
    return LUFactorExResult(*res) if get_infos else result


@tensor_method
@autocast_float32_op
def lu_solve(
    input: Tensor,  # noqa: A002
    LU_data: Tensor,  # noqa: N803 - PyTorch's names
    LU_pivots: Tensor,  # noqa: N803
    *,
    out: Any = None,
) -> Tensor:
    """``X`` with ``A X = b`` for ``b`` = ``input`` from ``A``'s packed LU factorization:
    ``linalg.lu_solve(LU_data, LU_pivots, b)``, arguments reversed; deprecated in PyTorch
    (a ``UserWarning``, as there)."""
    _lu_deprecated(
        "lu_solve is deprecated in favor of linalg.lu_solve and will be removed in a future "
        "release. Note that linalg.lu_solve has its arguments reversed. X = lu_solve(B, LU, "
        "pivots) should be replaced with X = linalg.lu_solve(LU, pivots, B)"
    )
    try:
        result = _linalg_lu_solve(LU_data, LU_pivots, input)
    except NAMED_ERRORS as err:
        lead_with("lu_solve", err)
        raise
    return _out("lu_solve", result, out)
