"""Op specs for ``cr.special`` (ops/special_more.py and the torch.special aliases; appended to
the central table in tests/ops/op_specs.py). zeta, gammainc and gammaincc are differentiable
in their second argument only (as in PyTorch), so their first argument is a constant."""

from __future__ import annotations

from .op_specs import ALL, _binary, _unary, lib


def _sp(a):
    return lib(a).special


def _fixed(a, value):
    """A constant tensor of ``a``'s shape and dtype filled with ``value`` (the first argument
    of zeta / gammainc, which has no derivative)."""
    return a.detach() * 0.0 + value


SPECS: list = [
    _unary("special_erfcx", "special.erfcx"),
    _unary("special_erfcx_wide", lambda a: _sp(a).erfcx(4.0 * a)),
    _unary("special_log_ndtr", "special.log_ndtr"),
    _unary("special_log_ndtr_tail", lambda a: _sp(a).log_ndtr(a - 8.0)),
    _unary("special_ndtr", "special.ndtr"),
    _unary("special_ndtri", lambda a: _sp(a).ndtri((a + 1.0) / 2.0), "unit"),
    _unary("special_ndtri_tail", lambda a: _sp(a).ndtri((a + 1.0) * 1e-5), "unit"),
    _unary("special_i0e", "special.i0e"),
    _unary("special_i0e_wide", lambda a: _sp(a).i0e(8.0 * a)),
    _unary("special_i1", "special.i1"),
    _unary("special_i1e", "special.i1e"),
    _unary("special_i1e_wide", lambda a: _sp(a).i1e(8.0 * a)),
    _unary("special_entr", "special.entr", "positive"),
    _binary("special_xlog1py", "special.xlog1py", "positive"),
    _binary("special_xlog1py_neg", lambda a, b: _sp(a).xlog1py(-a, b - 0.4), "positive"),
    _unary("special_xlog1py_scalar", lambda a: _sp(a).xlog1py(2.5, a), "positive"),
    _unary("special_zeta", lambda a: _sp(a).zeta(3.5, a), "positive"),
    _unary("special_zeta_q", lambda a: _sp(a).zeta(_fixed(a, 2.5), a), "positive"),
    _unary("special_gammainc", lambda a: _sp(a).gammainc(_fixed(a, 0.8), a), "positive"),
    _unary("special_gammaincc", lambda a: _sp(a).gammaincc(_fixed(a, 2.5), a), "positive"),
    # a = 30, x near a: PyTorch's asymptotic-series branch is only ~1e-9 accurate there, so
    # the forward values are checked against mpmath in tests/test_special.py instead
    _unary(
        "special_gammainc_big",
        lambda a: _sp(a).gammainc(_fixed(a, 30.0), 25.0 + 5.0 * a),
        "positive",
        checks=ALL - {"fwd"},
    ),
    _unary("special_expit", "special.expit"),
    _unary("special_gammaln", "special.gammaln", "positive"),
    _unary("special_psi", "special.psi", "positive"),
    _unary("special_multigammaln", lambda a: _sp(a).multigammaln(a + 2.0, 2), "positive"),
]
