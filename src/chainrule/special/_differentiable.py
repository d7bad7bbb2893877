"""The differentiable half of ``cr.special``: PyTorch's ``torch.special`` signatures (its
parameter names, keyword-only ``out=``) over chainrule's ops. Most are other names of
existing ops (``expit`` is sigmoid, ``gammaln`` lgamma, ``psi`` digamma, ``multigammaln``
mvlgamma, ...); the functions only ``torch.special`` has are in ``ops/special_more.py``.
"""

from __future__ import annotations

from typing import Any

from .. import ops as _ops
from ..autograd.tensor import Tensor
from ..ops import special_more as _more
from ..ops.keywords import write_out

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
    "zeta",
]


def tensor_input(op: str, input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` itself; anything but a Tensor raises PyTorch's TypeError."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{op}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    return input


def finish(op: str, result: Tensor, out: Tensor | None) -> Tensor:
    """``result``, or written into ``out`` (PyTorch's ``out=`` rules) when given."""
    return result if out is None else write_out(op, result, out)


def _unary(op: str, fn: Any, doc: str) -> Any:
    """``op(input, *, out=None)`` over the one-input function ``fn``."""

    def special_fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
        return finish(op, fn(tensor_input(op, input)), out)

    special_fn.__name__ = special_fn.__qualname__ = op
    special_fn.__doc__ = f"``torch.special.{op}``: {doc}."
    return special_fn


def _binary(op: str, fn: Any, doc: str) -> Any:
    """``op(input, other, *, out=None)`` over the two-input function ``fn`` (either may be a
    number, not both)."""

    def special_fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
        return finish(op, fn(input, other), out)

    special_fn.__name__ = special_fn.__qualname__ = op
    special_fn.__doc__ = f"``torch.special.{op}``: {doc}."
    return special_fn


digamma = _unary("digamma", _ops.digamma, "psi(x) = d/dx log Gamma(x)")
psi = _unary("psi", _ops.digamma, "psi(x) = d/dx log Gamma(x) (digamma)")
entr = _unary("entr", _more.entr, "-x log x (0 at 0, -inf below 0)")
erf = _unary("erf", _ops.erf, "the error function")
erfc = _unary("erfc", _ops.erfc, "the complementary error function 1 - erf(x)")
erfcx = _unary("erfcx", _more.erfcx, "the scaled complementary error function e^(x^2) erfc(x)")
erfinv = _unary("erfinv", _ops.erfinv, "the inverse error function")
exp2 = _unary("exp2", _ops.exp2, "2^x")
expit = _unary("expit", _ops.sigmoid, "the logistic sigmoid 1 / (1 + e^-x)")
expm1 = _unary("expm1", _ops.expm1, "e^x - 1 without cancellation near 0")
gammaln = _unary("gammaln", _ops.lgamma, "log |Gamma(x)| (lgamma)")
i0 = _unary("i0", _ops.i0, "the modified Bessel function I0(x)")
i0e = _unary("i0e", _more.i0e, "the scaled modified Bessel function e^-|x| I0(x)")
i1 = _unary("i1", _more.i1, "the modified Bessel function I1(x)")
i1e = _unary("i1e", _more.i1e, "the scaled modified Bessel function e^-|x| I1(x)")
log1p = _unary("log1p", _ops.log1p, "log(1 + x) without cancellation near 0")
log_ndtr = _unary("log_ndtr", _more.log_ndtr, "log of the standard normal CDF")
ndtr = _unary("ndtr", _more.ndtr, "the standard normal CDF, accurate in the left tail")
ndtri = _unary("ndtri", _more.ndtri, "the standard normal quantile (inverse of ndtr)")
sinc = _unary("sinc", _ops.sinc, "the normalised sinc sin(pi x) / (pi x)")
xlogy = _binary("xlogy", _ops.xlogy, "input * log(other), 0 where input == 0")
xlog1py = _binary("xlog1py", _more.xlog1py, "input * log1p(other), 0 where input == 0")
zeta = _binary("zeta", _more.zeta, "the Hurwitz zeta function (grad in other only)")
gammainc = _binary(
    "gammainc", _more.gammainc, "the regularized lower incomplete gamma (grad in other only)"
)
gammaincc = _binary(
    "gammaincc", _more.gammaincc, "the regularized upper incomplete gamma (grad in other only)"
)


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:  # noqa: A001, A002
    """``torch.special.round``: round half to even, to ``decimals`` decimal places."""
    return finish("round", _ops.round(tensor_input("round", input), decimals), out)


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """``torch.special.logit``: log(p / (1 - p)), p first clamped to [eps, 1 - eps]."""
    return finish("logit", _ops.logit(tensor_input("logit", input), eps), out)


def multigammaln(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """``torch.special.multigammaln``: the multivariate log-gamma function (mvlgamma)."""
    return finish("multigammaln", _ops.mvlgamma(tensor_input("multigammaln", input), p), out)


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """``torch.special.polygamma``: the n-th derivative of digamma."""
    return finish("polygamma", _ops.polygamma(n, tensor_input("polygamma", input)), out)


def logsumexp(
    input: Tensor,  # noqa: A002 - PyTorch's name
    dim: Any,
    keepdim: bool = False,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """``torch.special.logsumexp``: log(sum(exp(input))) over ``dim`` (required here)."""
    return finish("logsumexp", _ops.logsumexp(tensor_input("logsumexp", input), dim, keepdim), out)


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """``torch.special.softmax``: softmax over ``dim`` (required), input cast to ``dtype``
    first when given."""
    return _ops.softmax(tensor_input("softmax", input), dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """``torch.special.log_softmax``: log-softmax over ``dim`` (required), input cast to
    ``dtype`` first when given."""
    return _ops.log_softmax(tensor_input("log_softmax", input), dim, dtype)
