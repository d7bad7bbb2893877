"""Low-rank and Householder linear algebra at torch's top level.

``svd_lowrank`` and ``pca_lowrank`` (here), ``lobpcg`` (``linalg_lowrank_lobpcg.py``) and
``geqrf`` / ``orgqr`` / ``ormqr`` (``linalg_lowrank_householder.py``), plus torch's removed
``eig`` / ``symeig`` / ``solve`` / ``lstsq``, which torch 2.13 still defines only to raise a
``RuntimeError`` pointing to their ``linalg`` replacements (chainrule raises the same).

``svd_lowrank`` is Halko, Martinsson & Tropp (2009), Algorithms 4.4 and 5.1, step for step
as torch's ``torch/_lowrank.py``: a Gaussian test matrix ``R`` (n x q, drawn from
chainrule's seeded default generator, one for the whole batch as in torch) gives the range
basis ``Q = qr(A R).Q``, refined by ``niter`` subspace iterations with ``A^T`` and ``A``;
then ``B = Q^T A`` is small and ``svd(B) = U' S V^T`` gives ``U = Q U'``. A wide ``A`` is
processed as ``A^T``. ``M`` (a mean, broadcast to ``A``'s shape) is subtracted from every
product without forming ``A - M``. Everything is matmul, ``linalg.qr`` and ``linalg.svd``,
so backward, double backward and forward mode come from those ops.
Because ``R`` is random, the results equal torch's only in what does not depend on the
draw: for ``A`` of rank <= q, ``U diag(S) V^T`` reproduces ``A`` and ``S`` is its top
singular values.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..creation_random import randn
from ..linalg.decompositions import qr, svd
from ._util import ShapeError, as_tensor
from .binding import tensor_method
from .linalg_lowrank_householder import geqrf, lapack_float, orgqr, ormqr
from .linalg_lowrank_lobpcg import lobpcg

__all__ = [
    "eig",
    "geqrf",
    "lobpcg",
    "lstsq",
    "orgqr",
    "ormqr",
    "pca_lowrank",
    "solve",
    "svd_lowrank",
    "symeig",
]


def _matrix(A: Any, op: str) -> Tensor:
    a = as_tensor(A)
    if a.ndim < 2:
        raise ShapeError(
            f"{op}: A must have at least 2 dimensions (a matrix), got shape {tuple(a.shape)}"
        )
    return lapack_float(a, op)


def _approximate_basis(a: Tensor, q: int, niter: int | None, m: Tensor | None) -> Tensor:
    """Q with q orthonormal columns such that Q Q^T (A - M) approximates A - M (Halko et
    al., Algorithm 4.4: randomized range finder with subspace iteration)."""
    niter = 2 if niter is None else niter
    r = randn(a.shape[-1], q, dtype=a.dtype)
    x = a @ r
    if m is not None:
        x = x - m @ r
    basis = qr(x).Q
    for _ in range(niter):
        x = a.mT @ basis
        if m is not None:
            x = x - m.mT @ basis
        basis = qr(x).Q
        x = a @ basis
        if m is not None:
            x = x - m @ basis
        basis = qr(x).Q
    return basis


def _svd_lowrank(
    a: Tensor, q: int | None, niter: int | None, m: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """Halko et al., Algorithm 5.1 (torch's ``_svd_lowrank``)."""
    q = 6 if q is None else q
    if isinstance(q, bool) or not isinstance(q, int):
        raise TypeError(f"svd_lowrank: q must be an int, got {type(q).__name__}")
    if q < 0:
        raise RuntimeError(f"svd_lowrank: q must be non-negative, got q={q}")
    rows, cols = a.shape[-2], a.shape[-1]
    if m is not None:
        if m.dtype != a.dtype:
            raise RuntimeError(
                f"svd_lowrank: expected M to have A's dtype {a.dtype}, but got {m.dtype}"
            )
        try:
            m = m.broadcast_to(tuple(a.shape))
        except (ValueError, RuntimeError) as err:
            raise ShapeError(
                f"svd_lowrank: M of shape {tuple(m.shape)} does not broadcast to A's shape "
                f"{tuple(a.shape)} ({err})"
            ) from None
    if rows < cols:  # work with a tall matrix
        a = a.mT
        m = m.mT if m is not None else None
    basis = _approximate_basis(a, q, niter, m)
    b = basis.mT @ a
    if m is not None:
        b = b - basis.mT @ m
    u, s, vh = svd(b, full_matrices=False)
    v = vh.mT
    u = basis @ u
    if rows < cols:
        u, v = v, u
    return u, s, v


def svd_lowrank(
    A: Tensor,  # noqa: N803 - torch's names
    q: int | None = 6,
    niter: int | None = 2,
    M: Tensor | None = None,  # noqa: N803
) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, V)`` with ``A - M ~= U diag(S) V^T`` (``M`` defaults to zero): a randomized
    SVD of rank ``q`` (a slight overestimate of A's rank) with ``niter`` subspace
    iterations. ``A`` is ``(*, m, n)``; U is ``(*, m, q')``, S ``(*, q')``, V ``(*, n, q')``
    with ``q' = min(q, m, n)``. Reproducible with ``chainrule.manual_seed``; see the module
    docstring for the algorithm."""
    a = _matrix(A, "svd_lowrank")
    m = None if M is None else as_tensor(M)
    return _svd_lowrank(a, q, niter, m)


def pca_lowrank(
    A: Tensor,  # noqa: N803 - torch's name
    q: int | None = None,
    center: bool = True,
    niter: int = 2,
) -> tuple[Tensor, Tensor, Tensor]:
    """Principal component analysis of a data matrix ``A`` (``(*, m, n)``: m samples of n
    features) by ``svd_lowrank`` of the centered ``A - mean(A, -2)`` (``center=False``:
    ``A`` as given). V's columns are the principal directions, ``S**2 / (m - 1)`` the
    variances along them. ``q`` defaults to ``min(6, m, n)``.

    Raises:
        ValueError: ``q`` outside ``[0, min(m, n)]`` or a negative ``niter`` (torch's
            checks and messages).
    """
    a = _matrix(A, "pca_lowrank")
    m, n = a.shape[-2], a.shape[-1]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(
            f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}"
        )
    if not (niter >= 0):
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _svd_lowrank(a, q, niter, None)
    return _svd_lowrank(a - a.mean(dim=-2, keepdim=True), q, niter, None)


_REMOVED = "{op}: This function was deprecated since version 1.9 and is now removed. "


@tensor_method
def eig(self: Tensor, eigenvectors: bool = False, *, e: Any = None, v: Any = None) -> Any:
    """Removed from torch (since 1.9): raises, as ``torch.eig`` does, pointing to
    ``linalg.eig`` / ``linalg.eigvals`` (whose results are complex)."""
    raise RuntimeError(
        _REMOVED.format(op="eig") + "`linalg.eig` returns complex tensors of dtype `cfloat` or "
        "`cdouble` rather than real tensors mimicking complex tensors.\n\n"
        "L, _ = eig(A) should be replaced with:\nL_complex = linalg.eigvals(A)\n\nand\n\n"
        "L, V = eig(A, eigenvectors=True) should be replaced with:\n"
        "L_complex, V_complex = linalg.eig(A)"
    )


@tensor_method
def symeig(
    input: Tensor,  # noqa: A002 - torch's name
    eigenvectors: bool = False,
    upper: bool = True,
    *,
    out: Any = None,
) -> Any:
    """Removed from torch (since 1.9): raises, as ``torch.symeig`` does, pointing to
    ``linalg.eigvalsh`` / ``linalg.eigh``."""
    raise RuntimeError(
        _REMOVED.format(op="symeig") + "The default behavior has changed from using the upper "
        "triangular portion of the matrix by default to using the lower triangular portion."
        "\n\nL, _ = symeig(A, upper=upper) should be replaced with:\n"
        "L = linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\n"
        "L, V = symeig(A, eigenvectors=True) should be replaced with:\n"
        "L, V = linalg.eigh(A, UPLO='U' if upper else 'L')"
    )


def _removed_arguments(op: str, args: tuple, kwargs: dict) -> None:
    """The arguments PyTorch's removed ``op`` parses before raising: the second tensor as
    ``A`` (the function) or ``other`` (the method), and ``out``."""
    unknown = sorted(set(kwargs) - {"A", "other", "out"})
    if unknown:
        raise TypeError(f"{op}() got an unexpected keyword argument {unknown[0]!r}")
    if len(args) + len(set(kwargs) & {"A", "other"}) > 1:
        raise TypeError(f"{op}() takes 2 positional arguments but {len(args) + 1} were given")


@tensor_method
def solve(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """Removed from torch (since 1.9): raises, as ``torch.solve`` does, pointing to
    ``linalg.solve`` (arguments reversed). PyTorch names the second argument ``A`` in
    ``torch.solve(input, A, *, out)`` and ``other`` in ``x.solve(other)``; both raise
    whatever they are given, so this one function takes any arguments."""
    _removed_arguments("solve", args, kwargs)
    raise RuntimeError(
        _REMOVED.format(op="solve") + "`solve` is deprecated in favor of `linalg.solve`. "
        "`linalg.solve` has its arguments reversed and does not return the LU factorization."
        "\n\nTo get the LU factorization see `lu`, which can be used with `lu_solve` or "
        "`lu_unpack`.\nX = solve(B, A).solution should be replaced with:\n"
        "X = linalg.solve(A, B)"
    )


@tensor_method
def lstsq(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """Removed from torch (since 1.9): raises, as ``torch.lstsq`` does, pointing to
    ``linalg.lstsq`` (arguments reversed). Its arguments: as :func:`solve`'s."""
    _removed_arguments("lstsq", args, kwargs)
    raise RuntimeError(
        _REMOVED.format(op="lstsq") + "`lstsq` is deprecated in favor of `linalg.lstsq`.\n"
        "`linalg.lstsq` has reversed arguments and does not return the QR decomposition in "
        "the returned tuple (although it returns other information about the problem).\n\n"
        "To get the QR decomposition consider using `linalg.qr`.\n\n"
        "The returned solution in `lstsq` stored the residuals of the solution in the last "
        "m - n columns of the returned value whenever m > n. In linalg.lstsq, the residuals "
        "are in the field 'residuals' of the returned named tuple.\n\n"
        "The unpacking of the solution, as in\nX, _ = lstsq(B, A).solution[:A.size(1)]\n"
        "should be replaced with:\nX = linalg.lstsq(A, B).solution"
    )
