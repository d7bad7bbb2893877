"""Op specs: arithmetic, elementwise math, trigonometric/hyperbolic functions, aliases
and special functions.

Part of the central op-spec table; tests/ops/op_specs.py assembles it, and
tests/ops/op_specs_core.py holds :class:`OpSpec` and the helpers used here. A pure move out
of the former single-file op_specs.py (session 35): no case changed.
"""

from __future__ import annotations

import torch

import chainrule as cr

from .op_specs_core import (
    _MASK,
    B,
    OpSpec,
    _binary,
    _fit,
    _unary,
    const,
    lib,
)

__all__ = ["SPECS"]

SPECS: list = [
    # ------------------------------------------------------------ arithmetic
    _binary("add", lambda a, b: a + b),
    _binary("sub", lambda a, b: a - b),
    _binary("mul", lambda a, b: a * b),
    _binary("div", lambda a, b: a / b, "positive"),
    _binary("pow", lambda a, b: a**b, "positive"),
    _unary("pow_scalar", lambda a: a**3),
    _unary("pow_half", lambda a: a**0.5, "positive"),
    _unary("rpow", lambda a: 2.0**a),
    _unary("rsub_scalar", lambda a: 1.5 - a),
    _unary("rdiv_scalar", lambda a: 2.0 / a, "positive"),
    _unary("neg", lambda a: -a),
    _unary("abs", lambda a: a.abs(), "nokink"),
    # ------------------------------------------------------------- elementwise
    _unary("exp"),
    _unary("exp2"),
    _unary("log", domain="positive"),
    _unary("log1p", domain="positive"),
    _unary("expm1"),
    _unary("sqrt", domain="positive"),
    _unary("rsqrt", domain="positive"),
    _unary("sin"),
    _unary("cos"),
    _unary("tan", domain="unit"),
    _unary("tanh"),
    _unary("sigmoid"),
    _unary("relu", domain="nokink"),
    _unary("clamp", lambda a: a.clamp(-0.5, 0.5), "nokink"),
    _unary("clamp_min", lambda a: lib(a).clamp(a, min=0.1), "nokink"),
    _binary("maximum", domain="distinct"),
    _binary("minimum", domain="distinct"),
    OpSpec("where", lambda a, b: lib(a).where(const(a, _MASK), a, b), (B, ((3, 4), (4,)))),
    _unary("reciprocal", domain="positive"),
    _unary("square"),
    _unary("erf"),
    # chainrule also has softplus at the top level; PyTorch only in nn.functional
    _unary("softplus", cr.softplus, torch_fn=torch.nn.functional.softplus),
    _unary(
        "softplus_beta",
        lambda a: cr.softplus(a, beta=2.0),
        torch_fn=lambda a: torch.nn.functional.softplus(a, beta=2.0),
    ),
    # ------------------------------------------ trigonometric / hyperbolic / math (issue 11)
    _unary("sinh"),
    _unary("cosh"),
    _unary("asinh"),
    _unary("acosh", lambda a: lib(a).acosh(a + 1.5), "positive"),
    _unary("atanh", domain="unit"),
    _unary("asin", domain="unit"),
    _unary("acos", domain="unit"),
    _unary("atan"),
    _unary("arctan_method", lambda a: a.arctan()),
    _binary("atan2", domain="nokink"),
    _binary("hypot", domain="nokink"),
    _binary("logaddexp"),
    _unary("deg2rad"),
    # hypot takes no Python number (PyTorch's TypeError, chainrule's too): 2.0 wrapped in a
    # 0-d tensor of the dtype a Python scalar promotes to (float for an integer tensor)
    _unary(
        "hypot_scalar",
        lambda a: lib(a).hypot(a, lib(a).tensor(2.0, dtype=lib(a).result_type(a, 2.0))),
        "nokink",
    ),
    OpSpec("lerp", "lerp", (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)))),
    _binary("lerp_scalar_weight", lambda a, b: a.lerp(b, 0.3)),
    _binary("lerp_scalar_weight_high", lambda a, b: lib(a).lerp(a, b, 0.8)),
    _unary("clamp_min_method", lambda a: a.clamp_min(0.1), "nokink"),
    _unary("clamp_max_fn", lambda a: lib(a).clamp_max(a, -0.1), "nokink"),
    _unary("nan_to_num"),
    _unary(
        "nan_to_num_inf",
        lambda a: lib(a).nan_to_num(lib(a).where(_fit(_MASK, a), a, float("inf")), posinf=2.0),
        shapes=(((3, 4),),),
    ),
    _unary("log2", lambda a: a.log2(), "positive"),
    _unary("log10", lambda a: a.log10(), "positive"),
    # ----------------------------------------------- wave 2: pointwise and special functions
    # aliases (ops/aliases.py)
    _unary("absolute", domain="nokink"),
    _unary("negative"),
    _unary("negative_method", lambda a: a.negative()),
    _binary("multiply"),
    _binary("divide", domain="positive"),
    _binary("subtract_alpha", lambda a, b: lib(a).subtract(a, b, alpha=2.0)),
    _unary("rad2deg"),
    # addcmul / addcdiv (ops/pointwise_extra.py)
    OpSpec(
        "addcmul",
        lambda a, b, c: lib(a).addcmul(a, b, c, value=0.5),
        (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1))),
    ),
    OpSpec("addcmul_default", "addcmul", (((3, 4), (3, 4), (3, 4)),)),
    OpSpec("addcdiv_default", "addcdiv", (((3, 4), (3, 4), (3, 4)),), "positive"),
    OpSpec(
        "addcdiv",
        lambda a, b, c: a.addcdiv(b, c, value=-1.5),
        (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1))),
        "positive",
    ),
    _unary("frac"),
    # float_power returns float64 for any input (tests/ops/test_wave2_pointwise_a.py checks that);
    # .to(a.dtype) keeps the float32 check of test_ops about the gradient only
    _binary("float_power", lambda a, b: lib(a).float_power(a, b).to(a.dtype), "positive"),
    _unary("float_power_scalar", lambda a: lib(a).float_power(a, 2.5).to(a.dtype), "positive"),
    # special functions (ops/special.py)
    _binary("xlogy", domain="positive"),
    OpSpec("xlogy_zero_x", lambda a, b: lib(a).xlogy(a * _fit(_MASK, a), b), (B,), "positive"),
    _unary("xlogy_scalar_x", lambda a: lib(a).xlogy(2.0, a), "positive"),
    _unary("logit", lambda a: lib(a).logit(a * 0.4), "positive"),
    _unary("logit_eps", lambda a: a.mul(0.4).logit(eps=0.3), "positive"),
    _unary("sinc"),
    _unary("lgamma", domain="positive"),
    _unary("lgamma_negative", lambda a: lib(a).lgamma(a - 3.25), "unit"),
    _unary("digamma", domain="positive"),
    _unary("digamma_negative", lambda a: a.sub(2.5).digamma(), "unit"),
    _unary("polygamma2", lambda a: lib(a).polygamma(2, a), "positive"),
    _unary("polygamma3_method", lambda a: a.polygamma(3), "positive"),
    _unary("erfinv", domain="unit"),
]
