"""PyTorch's root in-place functions: ``torch.abs_(x)`` is ``x.abs_()``, and so on.

Each is the ``Tensor`` method of its name called as a function, with ATen's parameters
(``input`` first), so the leaf check, the version counter and the autograd record are the
method's (``ops/inplace.py``); nothing is computed here. Exported by ``pointwise_more.py``
(this module is not an op module of its own). ``zero_``, ``fill_``, ``index_put_``,
``log10_`` and ``log2_`` are also ``Tensor``-only methods (``ops/__init__._TENSOR_ONLY``):
the functions here are different objects, which the op collector lets through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.tensor import Tensor

__all__ = [
    "abs_",
    "conj_physical_",
    "acos_",
    "acosh_",
    "addmv_",
    "arccos_",
    "arccosh_",
    "arcsin_",
    "arcsinh_",
    "arctan_",
    "arctanh_",
    "asin_",
    "asinh_",
    "atan_",
    "atanh_",
    "ceil_",
    "clamp_",
    "clamp_max_",
    "clamp_min_",
    "clip_",
    "cos_",
    "cosh_",
    "deg2rad_",
    "detach_",
    "erf_",
    "erfc_",
    "exp2_",
    "exp_",
    "expm1_",
    "fix_",
    "floor_",
    "frac_",
    "gcd_",
    "i0_",
    "lcm_",
    "ldexp_",
    "log1p_",
    "log_",
    "logit_",
    "nan_to_num_",
    "neg_",
    "negative_",
    "rad2deg_",
    "reciprocal_",
    "round_",
    "rsqrt_",
    "sigmoid_",
    "sin_",
    "sinc_",
    "sinh_",
    "sqrt_",
    "square_",
    "tan_",
    "tanh_",
    "trunc_",
    "xlogy_",
    "fill_",
    "index_put_",
    "log10_",
    "log2_",
    "zero_",
]


def _check(name: str, input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    return input


def _unary(name: str) -> Callable[[Tensor], Tensor]:
    """``torch.<name>(input)``: ``input.<name>()``."""

    def fn(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        return getattr(_check(name, input), name)()

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input)``: ``input.{name}()``, in place."
    return fn


def _binary(name: str) -> Callable[[Tensor, Any], Tensor]:
    """``torch.<name>(input, other)``: ``input.<name>(other)``."""

    def fn(input: Tensor, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
        return getattr(_check(name, input), name)(other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, other)``: ``input.{name}(other)``, in place."
    return fn


abs_ = _unary("abs_")
conj_physical_ = _unary("conj_physical_")
acos_ = _unary("acos_")
acosh_ = _unary("acosh_")
arccos_ = _unary("arccos_")
arccosh_ = _unary("arccosh_")
arcsin_ = _unary("arcsin_")
arcsinh_ = _unary("arcsinh_")
arctan_ = _unary("arctan_")
arctanh_ = _unary("arctanh_")
asin_ = _unary("asin_")
asinh_ = _unary("asinh_")
atan_ = _unary("atan_")
atanh_ = _unary("atanh_")
ceil_ = _unary("ceil_")
cos_ = _unary("cos_")
cosh_ = _unary("cosh_")
deg2rad_ = _unary("deg2rad_")
detach_ = _unary("detach_")
erf_ = _unary("erf_")
erfc_ = _unary("erfc_")
exp2_ = _unary("exp2_")
exp_ = _unary("exp_")
expm1_ = _unary("expm1_")
fix_ = _unary("fix_")
floor_ = _unary("floor_")
frac_ = _unary("frac_")
i0_ = _unary("i0_")
log1p_ = _unary("log1p_")
log_ = _unary("log_")
neg_ = _unary("neg_")
negative_ = _unary("negative_")
rad2deg_ = _unary("rad2deg_")
reciprocal_ = _unary("reciprocal_")
rsqrt_ = _unary("rsqrt_")
sigmoid_ = _unary("sigmoid_")
sin_ = _unary("sin_")
sinc_ = _unary("sinc_")
sinh_ = _unary("sinh_")
sqrt_ = _unary("sqrt_")
square_ = _unary("square_")
tan_ = _unary("tan_")
tanh_ = _unary("tanh_")
trunc_ = _unary("trunc_")
zero_ = _unary("zero_")
log10_ = _unary("log10_")
log2_ = _unary("log2_")

gcd_ = _binary("gcd_")
lcm_ = _binary("lcm_")
ldexp_ = _binary("ldexp_")
xlogy_ = _binary("xlogy_")


def addmv_(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """``torch.addmv_``: ``input.addmv_(mat, vec, beta=beta, alpha=alpha)``."""
    return _check("addmv_", input).addmv_(mat, vec, beta=beta, alpha=alpha)


def clamp_(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """``torch.clamp_``: ``input.clamp_(min, max)``."""
    return _check("clamp_", input).clamp_(min, max)


def clip_(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """``torch.clip_``: ``input.clip_(min, max)``."""
    return _check("clip_", input).clip_(min, max)


def clamp_min_(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    """``torch.clamp_min_``: ``input.clamp_min_(min)``."""
    return _check("clamp_min_", input).clamp_min_(min)


def clamp_max_(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    """``torch.clamp_max_``: ``input.clamp_max_(max)``."""
    return _check("clamp_max_", input).clamp_max_(max)


def logit_(input: Tensor, eps: float | None = None) -> Tensor:  # noqa: A002
    """``torch.logit_``: ``input.logit_(eps)``."""
    return _check("logit_", input).logit_(eps)


def nan_to_num_(
    input: Tensor,  # noqa: A002 - PyTorch's name
    nan: float | None = None,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Tensor:
    """``torch.nan_to_num_``: ``input.nan_to_num_(...)``; ``nan=None`` is 0, as in ATen."""
    x = _check("nan_to_num_", input)
    return x.nan_to_num_(0.0 if nan is None else nan, posinf=posinf, neginf=neginf)


def round_(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A002
    """``torch.round_``: ``input.round_(decimals=decimals)``."""
    return _check("round_", input).round_(decimals=decimals)


def fill_(input: Tensor, value: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.fill_``: ``input.fill_(value)``."""
    return _check("fill_", input).fill_(value)


def index_put_(
    input: Tensor,  # noqa: A002 - PyTorch's name
    indices: Any,
    values: Any,
    accumulate: bool = False,
) -> Tensor:
    """``torch.index_put_``: ``input.index_put_(indices, values, accumulate)``."""
    return _check("index_put_", input).index_put_(indices, values, accumulate)
