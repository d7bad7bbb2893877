"""Op specs for ops/pointwise_more.py (appended to the central table in tests/ops/op_specs.py)."""

from __future__ import annotations

from .op_specs import NO_GG, _binary, _unary, lib

SPECS: list = [
    # copysign: kinked at input = 0 (the gradient jumps), so inputs stay away from 0
    _binary("copysign", domain="nokink"),
    _unary("copysign_scalar", lambda a: lib(a).copysign(a, -1.5), "nokink"),
    _unary("copysign_method", lambda a: a.copysign(a.flip(-1) if a.ndim else -a), "nokink"),
    # fmax/fmin: distinct values, so no ties (the tie rule is tested in test_pointwise_more)
    _binary("fmax", domain="distinct"),
    _binary("fmin", domain="distinct"),
    _binary("ldexp"),
    _binary("logaddexp2"),
    _binary("rsub"),
    _binary("rsub_alpha", lambda a, b: lib(a).rsub(a, b, alpha=-2.5)),
    _unary("rsub_scalar_alpha", lambda a: lib(a).rsub(a, 2.0, alpha=3)),
    _unary("erfc"),
    _unary("i0"),
    _unary("mvlgamma", lambda a: lib(a).mvlgamma(a + 2.0, p=3), "positive"),
    _unary("mvlgamma_method", lambda a: (a + 1.0).mvlgamma(1), "positive"),
    # frexp's mantissa is x * 2**-e with e constant: a step at each power of two, which random
    # inputs do not hit; its second derivative is 0 everywhere (both libraries)
    _unary("frexp_mantissa", lambda a: lib(a).frexp(a).mantissa, checks=NO_GG),
    _unary("positive"),
]
