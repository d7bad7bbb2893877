"""Transforms that act on a whole vector or matrix at once (the public API of
``torch.distributions.transforms``):

- onto the probability simplex: ``SoftmaxTransform`` (cheap, not bijective) and
  ``StickBreakingTransform`` (bijective, from ``K`` free coordinates to ``K + 1``);
- onto triangular / positive-definite matrices: ``LowerCholeskyTransform`` and
  ``PositiveDefiniteTransform``;
- onto Cholesky factors of correlation matrices: ``CorrCholeskyTransform``.

Their Jacobians couple the coordinates of one event, so ``log_abs_det_jacobian`` returns
one value per event (the event dims are reduced).
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import Tensor

from . import constraints
from ._transform_base import Transform
from ._transforms_pointwise import _clipped_sigmoid, _log_tanh_derivative
from .utils import tril_matrix_to_vec, vec_to_tril_matrix

__all__ = [
    "CorrCholeskyTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "SoftmaxTransform",
    "StickBreakingTransform",
]


def _need_dims(shape: Any, ndim: int) -> None:
    """Reject shapes with fewer than ``ndim`` dims (the transform's event rank)."""
    if len(shape) < ndim:
        raise ValueError("Too few dimensions on input")


def _shift_right(t: Tensor) -> Tensor:
    """Drop the last entry along the last dim and put a 1 in front: entry ``j`` of the
    result is entry ``j - 1`` of ``t`` (an exclusive running product/sum from an inclusive
    one)."""
    return F.pad(t[..., :-1], [1, 0], value=1.0)


def _unexplained_norm2(y: Tensor) -> Tensor:
    """For each row of ``y``, ``1 - sum_{k<j} y[..., i, k]**2`` at position ``(i, j)``:
    the squared length still available to entry ``j`` of a unit-norm row."""
    return _shift_right(1.0 - cr.cumsum(y * y, dim=-1))


class CorrCholeskyTransform(Transform):
    r"""From an unconstrained vector of length :math:`D(D-1)/2` to the lower Cholesky
    factor :math:`L` of a :math:`D \times D` correlation matrix (rows of unit length, with
    a positive diagonal).

    The vector fills the strictly lower triangle row by row after a ``tanh``, giving
    partial correlations :math:`r_{ij} \in (-1, 1)`. Row :math:`i` is then built by a
    signed stick-breaking: each entry takes the fraction :math:`r_{ij}` of the length left
    over by the entries before it,

    .. math::
        L_{ij} = r_{ij} \prod_{k<j} \sqrt{1 - r_{ik}^2}, \qquad
        L_{ii} = \prod_{k<i} \sqrt{1 - r_{ik}^2},

    so that :math:`\sum_j L_{ij}^2 = 1`. The inverse reads
    :math:`r_{ij} = L_{ij} / \sqrt{1 - \sum_{k<j} L_{ik}^2}` and applies ``atanh``.

    The domain and codomain have different dimensions; the log-det is that of the map onto
    the strictly lower triangle of :math:`L` (as in the Stan reference manual):
    :math:`\sum_{i>j} \tfrac12 \log(1 - \sum_{k<j} L_{ik}^2)` plus the ``tanh`` term.
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x: Tensor) -> Tensor:
        eps = cr.finfo(x.dtype).eps
        # keep |r| < 1 so every stick keeps some length and the map stays invertible
        r = cr.tanh(x).clamp(min=-1.0 + eps, max=1.0 - eps)
        partial = vec_to_tril_matrix(r, diag=-1)
        n = partial.shape[-1]
        # running product of sqrt(1 - r^2) along each row: the length left after entry j
        left = cr.cumprod(cr.sqrt(1.0 - partial * partial), dim=-1)
        # unit diagonal: the diagonal entry takes everything that is left
        fractions = partial + cr.eye(n, dtype=partial.dtype)
        return fractions * _shift_right(left)

    def _inverse(self, y: Tensor) -> Tensor:
        lower = tril_matrix_to_vec(y, diag=-1)
        avail = tril_matrix_to_vec(_unexplained_norm2(y), diag=-1)
        return cr.atanh(lower / cr.sqrt(avail))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor, intermediates: Any = None) -> Tensor:
        avail = tril_matrix_to_vec(_unexplained_norm2(y), diag=-1)
        sticks = 0.5 * cr.log(avail).sum(-1)
        return sticks + _log_tanh_derivative(x).sum(-1)

    def forward_shape(self, shape: Any) -> Any:
        # (..., N) -> (..., D, D) with N = D (D - 1) / 2
        _need_dims(shape, 1)
        n_free = shape[-1]
        d = round(0.5 + (0.25 + 2.0 * n_free) ** 0.5)
        if d * (d - 1) // 2 != n_free:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return shape[:-1] + (d, d)

    def inverse_shape(self, shape: Any) -> Any:
        # (..., D, D) -> (..., D (D - 1) / 2)
        _need_dims(shape, 2)
        if shape[-1] != shape[-2]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return shape[:-2] + (d * (d - 1) // 2,)


class SoftmaxTransform(Transform):
    r"""From unconstrained vectors onto the simplex by :math:`y = e^x / \sum e^x`.

    Not a bijection (adding a constant to ``x`` changes nothing), so it has no log-det and
    is unsuitable for HMC; its inverse returns one preimage, ``log y``. Because it is
    nearly coordinate-wise, it suits coordinate-wise optimisers (it is what
    ``transform_to(simplex)`` gives).
    """

    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SoftmaxTransform)

    def _call(self, x: Tensor) -> Tensor:
        # subtract the row maximum first so that exp cannot overflow
        unnorm = cr.exp(x - x.max(-1, True)[0])
        return unnorm / unnorm.sum(-1, True)

    def _inverse(self, y: Tensor) -> Tensor:
        return cr.log(y)

    def forward_shape(self, shape: Any) -> Any:
        _need_dims(shape, 1)
        return shape

    def inverse_shape(self, shape: Any) -> Any:
        _need_dims(shape, 1)
        return shape


def _stick_offsets(k: int, like: Tensor) -> Tensor:
    """``log(k - j)`` for ``j = 0 .. k-1``.

    Subtracting it before the sigmoid makes ``x = 0`` map to the centre of the simplex:
    piece ``j`` then takes ``1 / (k + 1 - j)`` of what remains, i.e. ``1 / (k + 1)``
    overall.
    """
    return cr.log(cr.arange(k, 0, -1, dtype=like.dtype))


class StickBreakingTransform(Transform):
    r"""A bijection from :math:`\mathbb{R}^K` onto the :math:`K`-simplex in
    :math:`\mathbb{R}^{K+1}` by breaking a unit stick.

    Coordinate :math:`j` becomes a fraction :math:`z_j = \sigma(x_j - \log(K - j))`; piece
    :math:`j` takes that fraction of what the earlier pieces left,
    :math:`y_j = z_j \prod_{k<j} (1 - z_k)`, and the last piece is the remainder. This is
    the iterated-sigmoid construction behind the logistic-normal and Dirichlet
    reparameterisations. It is a true bijection (usable for HMC) but mixes coordinates.

    The Jacobian of the first :math:`K` outputs is triangular with diagonal
    :math:`z_j (1 - z_j) \prod_{k<j}(1 - z_k) = y_j (1 - z_j)`, so the log-det is
    :math:`\sum_j \log y_j + \log\sigma(-(x_j - \log(K - j)))`.
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StickBreakingTransform)

    def _call(self, x: Tensor) -> Tensor:
        z = _clipped_sigmoid(x - _stick_offsets(x.shape[-1], x))
        left = cr.cumprod(1.0 - z, dim=-1)  # stick length after each break
        take = F.pad(z, [0, 1], value=1.0)  # the last piece takes all that remains
        before = F.pad(left, [1, 0], value=1.0)
        return take * before

    def _inverse(self, y: Tensor) -> Tensor:
        pieces = y[..., :-1]
        # what remains after piece j; rounding can make it <= 0 when the last piece is
        # tiny, so keep it positive
        rest = cr.clamp(1.0 - cr.cumsum(pieces, dim=-1), min=cr.finfo(y.dtype).tiny)
        # logit(z_j) = log(piece_j) - log(rest_j)
        return cr.log(pieces) - cr.log(rest) + _stick_offsets(pieces.shape[-1], y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        centred = x - _stick_offsets(x.shape[-1], x)
        return (cr.log(y[..., :-1]) + F.logsigmoid(-centred)).sum(-1)

    def forward_shape(self, shape: Any) -> Any:
        _need_dims(shape, 1)
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape: Any) -> Any:
        _need_dims(shape, 1)
        return shape[:-1] + (shape[-1] - 1,)


def _map_diagonal(m: Tensor, fn: Any) -> Tensor:
    """Keep the strictly lower triangle of ``m``, replace its diagonal ``d`` by ``fn(d)``
    and zero the upper triangle."""
    diag = cr.diagonal(m, dim1=-2, dim2=-1)
    return cr.tril(m, -1) + cr.diag_embed(fn(diag))


class LowerCholeskyTransform(Transform):
    """From unconstrained square matrices to lower-triangular ones with a positive
    diagonal (Cholesky factors): the strictly lower triangle is kept, the diagonal is
    exponentiated and the upper triangle dropped. Not injective (the upper triangle is
    lost); the inverse takes the log of the diagonal.
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    def _call(self, x: Tensor) -> Tensor:
        return _map_diagonal(x, cr.exp)

    def _inverse(self, y: Tensor) -> Tensor:
        return _map_diagonal(y, cr.log)


class PositiveDefiniteTransform(Transform):
    """From unconstrained square matrices to positive-definite ones: ``L @ L.mT`` where
    ``L`` is the ``LowerCholeskyTransform`` of the input. The inverse factors the matrix
    with ``cr.linalg.cholesky`` and undoes the lower-Cholesky map.
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PositiveDefiniteTransform)

    def _call(self, x: Tensor) -> Tensor:
        factor = _map_diagonal(x, cr.exp)
        return factor @ factor.mT

    def _inverse(self, y: Tensor) -> Tensor:
        return _map_diagonal(cr.linalg.cholesky(y), cr.log)
