"""Element-wise bijections (the public API of ``torch.distributions.transforms``): exp,
power, sigmoid, softplus, tanh, abs and affine maps.

Each one acts on every coordinate separately, so its Jacobian is diagonal and
``log_abs_det_jacobian`` returns the per-coordinate ``log |f'(x)|`` (with the same shape as
``x``); summing over event dims is left to the caller (``ComposeTransform``,
``TransformedDistribution``), except for ``AffineTransform`` with ``event_dim > 0``.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import Tensor

from . import constraints
from ._transform_base import Transform
from .utils import _Number, broadcast_all, lazy_property

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "ExpTransform",
    "PowerTransform",
    "SigmoidTransform",
    "SoftplusTransform",
    "TanhTransform",
]

_LN2 = math.log(2.0)


def _clipped_sigmoid(x: Tensor) -> Tensor:
    """``sigmoid(x)`` kept inside the open interval (0, 1) of ``x``'s dtype.

    In floating point the logistic function saturates to exactly 0 or 1 for large ``|x|``;
    the inverse (a logit) and the log-det would then be infinite. Clamping to
    ``[tiny, 1 - eps]`` keeps every output a valid point of the codomain.
    """
    info = cr.finfo(x.dtype)
    return cr.sigmoid(x).clamp(min=info.tiny, max=1.0 - info.eps)


def _log_tanh_derivative(x: Tensor) -> Tensor:
    """``log(1 - tanh(x)**2)``, computed without forming ``tanh(x)``.

    ``1 - tanh(x)**2 = 4 / (e^x + e^-x)**2``, whose log is
    ``2 * (log 2 - x - log(1 + e^(-2x)))``; the last term is a softplus, which is finite
    for every ``x`` (the direct formula underflows to ``log 0`` once ``|tanh(x)|`` rounds
    to 1).
    """
    return 2.0 * (_LN2 - x - F.softplus(-2.0 * x))


def _params_equal(a: Any, b: Any) -> bool:
    """Whether two transform parameters (Python numbers or tensors) are equal everywhere."""
    if isinstance(a, _Number) and isinstance(b, _Number):
        return a == b
    return bool((a == b).all().item())


def _shape_of(param: Any) -> tuple[int, ...]:
    """The shape of a parameter; a Python number is a scalar."""
    return tuple(getattr(param, "shape", ()))


class ExpTransform(Transform):
    r"""The bijection :math:`y = e^x` from the real line onto :math:`(0, \infty)`.

    Since :math:`dy/dx = e^x`, the log-det is :math:`x` itself.
    """

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExpTransform)

    def _call(self, x: Tensor) -> Tensor:
        return cr.exp(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return cr.log(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class PowerTransform(Transform):
    r"""The bijection :math:`y = x^p` of :math:`(0, \infty)` onto itself, for a fixed
    (tensor) exponent :math:`p`.

    The inverse is :math:`x = y^{1/p}`; the derivative is :math:`p x^{p-1} = p y / x`, so
    the log-det is :math:`\log|p y / x|`. The map increases where :math:`p > 0` and
    decreases where :math:`p < 0`, hence ``sign`` is ``sign(p)`` (a tensor).
    """

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: Tensor, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @lazy_property
    def sign(self) -> Tensor:
        return cr.sign(self.exponent)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PowerTransform) and _params_equal(self.exponent, other.exponent)

    def _call(self, x: Tensor) -> Tensor:
        return cr.pow(x, self.exponent)

    def _inverse(self, y: Tensor) -> Tensor:
        return cr.pow(y, self.exponent.reciprocal())

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        slope = self.exponent * y / x  # p * x**(p - 1), reusing y = x**p
        return cr.log(cr.abs(slope))

    def forward_shape(self, shape: Any) -> Any:
        return cr.broadcast_shapes(shape, _shape_of(self.exponent))

    def inverse_shape(self, shape: Any) -> Any:
        return cr.broadcast_shapes(shape, _shape_of(self.exponent))


class SigmoidTransform(Transform):
    r"""The logistic bijection :math:`y = 1 / (1 + e^{-x})` onto the unit interval; the
    inverse is the logit :math:`\log y - \log(1 - y)`.

    Outputs and inverse inputs are clamped to ``[tiny, 1 - eps]`` so that saturated values
    stay invertible. The derivative is :math:`\sigma(x)\,\sigma(-x)`, so the log-det is
    ``logsigmoid(x) + logsigmoid(-x)``, stable for any ``x``.
    """

    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigmoidTransform)

    def _call(self, x: Tensor) -> Tensor:
        return _clipped_sigmoid(x)

    def _inverse(self, y: Tensor) -> Tensor:
        info = cr.finfo(y.dtype)
        p = cr.clamp(y, min=info.tiny, max=1.0 - info.eps)
        return cr.log(p) - cr.log1p(-p)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return F.logsigmoid(x) + F.logsigmoid(-x)


class SoftplusTransform(Transform):
    r"""The bijection :math:`y = \log(1 + e^x)` from the real line onto
    :math:`(0, \infty)` (``F.softplus``, which is linear above ``x = 20``).

    Inverse: :math:`x = \log(e^y - 1) = y + \log(-\mathrm{expm1}(-y))`, written so that
    it neither overflows for large ``y`` nor loses precision for small ``y``. The
    derivative is :math:`\sigma(x)`, so the log-det is ``logsigmoid(x)``.
    """

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SoftplusTransform)

    def _call(self, x: Tensor) -> Tensor:
        return F.softplus(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return y + cr.log(-cr.expm1(-y))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return F.logsigmoid(x)


class TanhTransform(Transform):
    r"""The bijection :math:`y = \tanh(x)` from the real line onto :math:`(-1, 1)`.

    Mathematically this is ``2 * sigmoid(2x) - 1`` (an affine-sigmoid-affine composition),
    but the dedicated class is more accurate: the log-det uses
    :math:`\log(1 - \tanh^2 x) = 2(\log 2 - x - \mathrm{softplus}(-2x))`, which never
    forms :math:`1 - y^2`.

    The inverse (``atanh``) does not clamp its input, so ``y = ±1`` maps to ``±inf``;
    when forward outputs may round to ``±1``, construct the transform with
    ``cache_size=1`` so that ``inv`` returns the cached ``x`` instead.
    """

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TanhTransform)

    def _call(self, x: Tensor) -> Tensor:
        return cr.tanh(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return cr.atanh(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return _log_tanh_derivative(x)


class AbsTransform(Transform):
    r"""The (non-injective) map :math:`y = |x|` onto :math:`[0, \infty)`.

    It is not bijective; its pseudo-inverse picks the non-negative preimage, ``x = y``.
    It has no log-det: the distributions built on it (``HalfNormal``, ``HalfCauchy``)
    account for the two folded branches in their own ``log_prob``.
    """

    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AbsTransform)

    def _call(self, x: Tensor) -> Tensor:
        return cr.abs(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return y


class AffineTransform(Transform):
    r"""The element-wise affine bijection :math:`y = \mathrm{loc} + \mathrm{scale} \cdot x`.

    ``loc`` and ``scale`` are numbers or tensors broadcasting against ``x``. With
    ``event_dim = k > 0`` the right-most ``k`` dims form one event: the domain and codomain
    become ``independent(real, k)`` and the log-det, :math:`\sum \log|\mathrm{scale}|`,
    is summed over those dims (otherwise it is returned per coordinate). The sign of the
    map is the sign of ``scale``.

    Args:
        loc (Tensor or float): the shift.
        scale (Tensor or float): the multiplier (non-zero for a bijection).
        event_dim (int): how many right-most dims make up one event (0 for scalars,
            1 for vectors, 2 for matrices, ...).
        cache_size (int): 0 (no cache) or 1 (remember the latest ``x, y`` pair).
    """

    bijective = True

    def __init__(
        self,
        loc: Tensor | float,
        scale: Tensor | float,
        event_dim: int = 0,
        cache_size: int = 0,
    ) -> None:
        super().__init__(cache_size=cache_size)
        self.loc = loc
        self.scale = scale
        self._event_dim = event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    def _real_space(self) -> constraints.Constraint:
        """The real numbers, with ``event_dim`` right-most dims grouped into one event."""
        if self._event_dim:
            return constraints.independent(constraints.real, self._event_dim)
        return constraints.real

    @constraints.dependent_property(is_discrete=False)
    def domain(self) -> constraints.Constraint:
        return self._real_space()

    @constraints.dependent_property(is_discrete=False)
    def codomain(self) -> constraints.Constraint:
        return self._real_space()

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AffineTransform)
            and _params_equal(self.loc, other.loc)
            and _params_equal(self.scale, other.scale)
        )

    @property
    def sign(self) -> Tensor | int:
        if isinstance(self.scale, _Number):
            s = float(self.scale)
            return (s > 0) - (s < 0)
        return cr.sign(self.scale)

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        # log|scale| per coordinate; a constant, so it carries no gradient w.r.t. x.
        if isinstance(self.scale, _Number):
            per_coord = cr.full_like(x, math.log(abs(self.scale)))
        else:
            per_coord = cr.log(cr.abs(self.scale))
        batch_shape = tuple(x.shape)
        k = self._event_dim
        if k:
            # one log-det per event: fold the k event dims into one and add them up
            lead = tuple(per_coord.shape)[:-k]
            per_coord = per_coord.reshape(lead + (-1,)).sum(-1)
            batch_shape = batch_shape[:-k]
        return per_coord.expand(batch_shape)

    def forward_shape(self, shape: Any) -> Any:
        return cr.broadcast_shapes(shape, _shape_of(self.loc), _shape_of(self.scale))

    def inverse_shape(self, shape: Any) -> Any:
        return cr.broadcast_shapes(shape, _shape_of(self.loc), _shape_of(self.scale))
