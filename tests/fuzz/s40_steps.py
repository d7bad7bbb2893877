"""Step kinds for :mod:`tests.fuzz.programs`, session 40: the in-place unary math methods
(``exp_``, ``log1p_``, ``asin_``, ``digamma_``, ``logit_``, ...) on an intermediate or on a
view of one, the in-place comparisons, logical, bitwise and rounding-division methods
(``lt_``, ``logical_xor_``, ``bitwise_left_shift_``, ``gcd_``, ``divide_``, ``ldexp_``,
...), the in-place BLAS methods with ``beta``/``alpha`` (``addmm_``, ``addmv_``, ``addr_``,
``baddbmm_``, ``addbmm_``) and ``fill_diagonal_``, the ``*_copy`` functions and the aliases
no other table calls (``diagonal_copy``, ``unbind_copy``, ``sum_to_size``, ``swapdims``,
``arctan2``, ``subtract``, ...), the functional RNN cells (``lstm_cell``, ``gru_cell``,
``rnn_tanh_cell``, ``rnn_relu_cell``), the Householder parts (``geqrf``, ``orgqr``,
``ormqr``), ``lu_unpack`` and ``triangular_solve``, and the pooling functions that return
indices (``max_pool*d_with_indices``, ``adaptive_max_pool*d_with_indices``,
``max_unpool3d``, ``lp_pool3d``) with the deprecated ``upsample_*``.

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .more_steps import _dim, near_zero
from .nn_step_parts import _filled

__all__ = ["S40", "s40_step"]

S40 = ("unary_", "cmp_", "blas_", "copy_fn", "rnn_cell", "householder", "pool_with_idx")


def _dual(lib: Any, t: Any) -> bool:
    """Whether ``t`` has a forward-mode tangent (the forward run of a program)."""
    return lib.autograd.forward_ad.unpack_dual(t).tangent is not None


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


# (method, how its argument is brought into the method's domain, extra arguments)
_ANY = ("sin_", "atan_", "asinh_", "expm1_", "sigmoid_", "erf_", "erfc_", "square_", "sgn_",
        "sign_", "negative_", "deg2rad_", "rad2deg_", "floor_", "ceil_", "trunc_", "fix_",
        "frac_", "abs_", "absolute_", "exp2_", "cos_")  # fmt: skip
_UNIT = ("asin_", "acos_", "atanh_", "erfinv_", "arcsin_", "arccos_", "arctanh_")
_POS = ("log_", "log2_", "log10_", "log1p_", "sqrt_", "rsqrt_", "reciprocal_", "lgamma_",
        "digamma_", "i0_", "acosh_", "arccosh_", "exp_", "tan_", "sinh_", "cosh_",
        "arcsinh_", "arctan_")  # fmt: skip


def _prepared(v: Any, name: str) -> Any:
    """``v`` brought into the domain of ``name``: off its poles and kinks. Out of place,
    before the view is taken: a ``tanh_`` would save its result for the backward, which the
    method then overwrites, and after a ``copy_`` into a view torch's backward of a method
    that saves its input fails ("modified by an inplace operation": of no interest)."""
    if name in _UNIT:
        y = v.tanh() * 0.875
    elif name in ("acosh_", "arccosh_"):
        y = v.abs() + 1.25
    elif name in ("exp_", "tan_", "sinh_", "cosh_"):
        # bounded: tan off its poles, exp's float32 rounding of a large value (times 1: not
        # tanh's saved result)
        y = v.tanh() * 1
    elif name in _POS:
        y = v.abs() + 0.5
    elif name in ("floor_", "ceil_", "trunc_", "fix_", "frac_", "sgn_", "sign_", "abs_"):
        # off the jumps and kinks: an integer (or 0) in one library may be an ulp off it
        # in the other
        y = v + 0.3125
    elif name == "exp2_":
        y = v.clamp(-8.0, 8.0)
    elif name == "logit_":
        y = v.sigmoid() * 1
    elif name in ("polygamma_", "mvlgamma_"):
        y = v.abs() + 1.0
    else:
        y = v
    return y


def _unary_(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """An in-place unary method on ``y = x * 1`` (or on a view of it: a row, its transpose,
    its diagonal); ``y`` (the base) or the written view is returned."""
    table = _ANY + _UNIT + _POS + ("logit_", "polygamma_", "mvlgamma_", "clip_", "relu_")
    name = table[(ints[4] * 7 + ints[3]) % len(table)]
    y = _prepared(_float(lib, x) * 1, name)
    r = ints[1] % 4
    if r == 1 and y.dim() >= 1 and y.shape[0]:
        v = y[ints[2] % y.shape[0]]
    elif r == 2 and y.dim() >= 2:
        v = y.transpose(0, 1)
    elif r == 3 and y.dim() >= 2:
        v = y.diagonal()
    else:
        v = y
    if name == "logit_":
        v.logit_(None if ints[2] % 2 else 0.125)
    elif name == "polygamma_":
        v.polygamma_(ints[2] % 3)
    elif name == "mvlgamma_":
        v.mvlgamma_(1 + ints[2] % 2)  # (p = 2 needs v > 0.5: v >= 1)
    elif name == "clip_":
        v.clip_(-abs(val), abs(val) + 0.25) if ints[2] % 2 else v.clip_(min=val)
    elif name == "relu_":
        v.add_(0.125 * near_zero(v)).relu_()
    else:
        getattr(v, name)()
    return v * 1 if ints[0] % 3 == 2 else y


def _cmp_(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """An in-place comparison, logical, bitwise or division method on a copy of ``x`` with
    an operand made from ``other``."""
    f = ints[4] % 6
    if f <= 1:
        # comparisons and logical ops into a float tensor (1.0 / 0.0); the operands rounded
        # to quarters so that ties are exact in both libraries
        y = (_float(lib, x) * 4).round() * 0.25
        o = (_filled(lib, _float(lib, other), tuple(y.shape)).to(y.dtype) * 4).round() * 0.25
        names = ("eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_",
                 "less_", "less_equal_", "not_equal_", "logical_and_", "logical_or_",
                 "logical_xor_")  # fmt: skip
        name = names[(ints[3] + 5 * f) % len(names)]
        arg = o if ints[2] % 3 else val
        if name.startswith("logical") and not ints[2] % 3:
            arg = o  # (no Python-scalar form)
        if _dual(lib, x) or _dual(lib, other):
            # forward mode: on detached operands, plus 0 times x. An in-place comparison of
            # a dual y leaves torch's tangent zeros, chainrule's None; of a y without one
            # with a dual operand that requires grad, torch's None, chainrule's zeros
            # (reported; test_found_cases_s40.py, xfail). The reverse run records them.
            y, arg = y.detach(), arg.detach() if hasattr(arg, "detach") else arg
            getattr(y, name)(arg)
            return y + _float(lib, x) * 0
        getattr(y, name)(arg)
        return y
    if f == 2:
        # bitwise and integer math on integer copies
        a = (_float(lib, x) * 3).round().long()
        b = _filled(lib, (_float(lib, other) * 3).round().long(), tuple(a.shape))
        name = ("bitwise_or_", "bitwise_xor_", "bitwise_left_shift_", "bitwise_right_shift_",
                "gcd_", "lcm_", "bitwise_not_", "bitwise_and_")[ints[3] % 8]  # fmt: skip
        if "shift" in name:
            b = b.abs().clamp(max=5)  # a negative or too large shift is undefined in C
        if name == "bitwise_not_":
            a.bitwise_not_()
        else:
            getattr(a, name)(b)
        return a
    y = _float(lib, x) * 1
    o = _filled(lib, _float(lib, other), tuple(y.shape)).to(y.dtype)
    if f == 3:
        d = o.abs() + 0.5  # off 0
        mode = (None, "trunc", "floor")[ints[3] % 3]
        if mode is not None:
            # off the quotient's integer jumps
            y = y + 0.01
        name = ("divide_", "true_divide_", "floor_divide_")[ints[2] % 3]
        if name == "divide_":
            y.divide_(d, rounding_mode=mode)
        elif name == "true_divide_":
            y.true_divide_(d)
        else:
            y.floor_divide_(d)
        return y
    if f == 4:
        name = ("subtract_", "multiply_", "heaviside_", "ldexp_")[ints[3] % 4]
        if name == "subtract_":
            y.subtract_(o, alpha=val)
        elif name == "multiply_":
            y.multiply_(o)
        elif name == "heaviside_":
            # no derivative in torch (a backward error): detached; both compared by value
            y = y.detach().add_(0.125 * near_zero(y))
            y.heaviside_(o.detach())
        else:
            y.ldexp_((o * 2).round().clamp(-3, 3))
        return y
    name = ("igamma_", "igammac_", "xlogy_", "hypot_")[ints[3] % 4]
    if name in ("igamma_", "igammac_"):
        # derivative in the first argument: not implemented in torch (an error event)
        a = y.detach().abs() + 0.5
        getattr(a, name)(o.abs() + 0.25)
        return a
    getattr(y, name)(o.abs() + 0.5)
    return y


def _blas_(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    n, m, k = 1 + ints[1] % 3, 1 + ints[2] % 3, 1 + ints[3] % 2
    beta = (1.0, 0.0, 0.5, -1.5)[ints[0] % 4]
    f = ints[4] % 7
    if f == 0:
        c = _filled(lib, v, (n, m)) * 1
        c.addmm_(_filled(lib, o, (n, k)), _filled(lib, v, (k, m)), beta=beta, alpha=val)
        return c
    if f == 1:
        c = _filled(lib, v, (n,)) * 1
        c.addmv_(_filled(lib, o, (n, m)), _filled(lib, v, (m,)), beta=beta, alpha=val)
        return c
    if f == 2:
        c = _filled(lib, v, (n, m)) * 1
        c.addr_(_filled(lib, o, (n,)), _filled(lib, v, (m,)), beta=beta, alpha=val)
        return c
    if f == 3:
        c = _filled(lib, v, (2, n, m)) * 1
        c.baddbmm_(_filled(lib, o, (2, n, k)), _filled(lib, v, (2, k, m)), beta=beta, alpha=val)
        return c
    if f == 4:
        c = _filled(lib, v, (n, m)) * 1
        c.addbmm_(_filled(lib, o, (2, n, k)), _filled(lib, v, (2, k, m)), beta=beta, alpha=val)
        return c
    if f == 5:
        # beta=0 out of place: the input's NaN is ignored (not multiplied by 0). A NaN with a
        # finite tangent: torch's forward rule multiplies the input's tangent by beta, so a
        # NaN tangent (of a division by 0) gives a NaN tangent where chainrule's ignores it
        # as the value does; a torch quirk, not mirrored
        c = _filled(lib, v, (n, m)) * 0 + float("nan")
        return lib.addmm(c, _filled(lib, o, (n, k)), _filled(lib, v, (k, m)), beta=0.0)
    c = _filled(lib, v, (n + 2, m)) * 1
    c.fill_diagonal_(val, wrap=bool(ints[3] % 2))
    return c


def _copy_fn(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A ``*_copy`` function or an alias; the copies are then written in place (a copy
    shares no memory with ``x``: ``x`` must stay as it was)."""
    f = ints[4] % 12
    n = x.dim()
    d = _dim(x, ints[1])
    if f == 0:
        if n < 2:
            return lib.diagonal_copy(x.reshape(1, -1))
        c = lib.diagonal_copy(x, ints[2] % 3 - 1, 0, n - 1)
    elif f == 1:
        c = lib.permute_copy(x, tuple(reversed(range(n))))
    elif f == 2:
        c = lib.transpose_copy(x, 0, d) if n else lib.t_copy(x)
    elif f == 3:
        if n == 0 or x.shape[d] == 0:
            return lib.unsqueeze_copy(x, 0)
        c = lib.select_copy(x, d, ints[2] % x.shape[d])
    elif f == 4:
        if n == 0:
            return lib.squeeze_copy(x)
        c = lib.slice_copy(x, d, ints[2] % 2, None, 1 + ints[3] % 2)
    elif f == 5:
        c = lib.expand_copy(x, (2, *x.shape))
        return c * 1  # (an expanded copy is a fresh tensor: writable everywhere)
    elif f == 6:
        if n == 0:
            return lib.view_copy(x, (1,))
        parts = lib.unbind_copy(x, d)
        return lib.stack(parts, 0) * 1 if parts else x * 1
    elif f == 7:
        c = lib.unfold_copy(x.reshape(-1), 0, 1 + ints[2] % 2, 1) if x.numel() else x * 1
    elif f == 8:
        c = lib.alias_copy(x) if ints[3] % 2 else lib.detach_copy(x)
    elif f == 9:
        y = _float(lib, x)
        if n == 0:
            return y.sum_to_size(())
        return y.expand(2, *y.shape).sum_to_size(*y.shape) + y.swapdims(0, -1).reshape_as(y)
    elif f == 10:
        y = _float(lib, x)
        o = _filled(lib, _float(lib, other), tuple(y.shape)).to(y.dtype)
        g = ints[3] % 4
        if g == 0:
            return lib.arctan2(y, o + 0.125 * near_zero(o)) + lib.arctan(y)
        if g == 1:
            return lib.subtract(y, o, alpha=val) + lib.rsub(y, o, alpha=val)
        if g == 2:
            return lib.divide(y, o.abs() + 0.5) + lib.greater(y, o) + lib.less_equal(y, o)
        return lib.isposinf(y / 0.0).long() - lib.isneginf(y / 0.0).long() + lib.isreal(y)
    else:
        if n == 0:
            return lib.split_with_sizes(x.reshape(1), [1])[0] * 1
        size = x.shape[d]
        sizes = [size // 2, size - size // 2]
        parts = lib.split_with_sizes(x, sizes, d)
        chunks = x.unsafe_chunk(2, d)
        return lib.concatenate([parts[-1], chunks[0]], d) * 1
    if c.is_floating_point() and c.numel():
        # a copy: x unchanged. Written through a detached alias: torch 2.13's forward-mode
        # tangent of a *_copy result is the input's tangent itself (not a copy), so an
        # in-place write of the copy doubles the input's tangent too (a torch bug)
        c.detach().mul_(2)
    return c


def _rnn_cell(lib: Any, x: Any, other: Any, third: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    nb, i, h = 1 + ints[1] % 2, 1 + ints[2] % 3, 1 + ints[3] % 2
    inp = _filled(lib, v, (nb, i)) if ints[0] % 3 else _filled(lib, v, (i,))
    hx = _filled(lib, _float(lib, other).to(v.dtype), inp.shape[:-1] + (h,)).tanh()
    g = ints[4] % 4
    gates = (4, 3, 1, 1)[g]
    w = _filled(lib, _float(lib, third).to(v.dtype), (gates * h, i + h)).tanh() * 0.5
    w_ih, w_hh = w[:, :i], w[:, i:]
    bias = bool(ints[0] % 2)
    b_ih = w.sum(1) * 0.25 if bias else None
    b_hh = w[:, 0] * -0.5 if bias else None
    if g == 0:
        cx = hx * 0.5 + 0.125
        hy, cy = lib.lstm_cell(inp, (hx, cx), w_ih, w_hh, b_ih, b_hh)
        return hy + cy * val
    fn = (None, lib.gru_cell, lib.rnn_tanh_cell, lib.rnn_relu_cell)[g]
    out = fn(inp, hx, w_ih, w_hh, b_ih, b_hh)
    if g == 3:
        # relu: off its kink (a pre-activation of exactly 0 from symmetric data)
        return out + 0.0
    return out


def _householder(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    m, n = 2 + ints[1] % 2, 1 + ints[2] % 2
    # + 0.125: no structural zero below the diagonal (a residue of 0 there, 1e-17 in one
    # library, flips the Householder reflector's sign: tau 2 against 0; seed 954)
    a = _filled(lib, v, (m, n)).tanh() * 0.25 + lib.eye(m, n, dtype=v.dtype) * 1.5 + 0.125
    f = ints[4] % 5
    if f == 0:
        # geqrf has no derivative in torch (an error at backward): detached
        qr, tau = lib.geqrf(a.detach())
        return qr * 1 + tau.sum()
    if f == 1:
        qr, tau = lib.geqrf(a.detach())
        return lib.orgqr(qr + a * 0.01, tau)  # householder_product: differentiable
    if f == 2:
        qr, tau = lib.geqrf(a.detach())
        c = _filled(lib, _float(lib, other).to(v.dtype), (m, 2) if ints[3] % 2 else (2, m))
        left = bool(ints[3] % 2)
        return lib.ormqr(qr, tau, c, left=left, transpose=bool(ints[0] % 2))
    sq = _filled(lib, v, (m, m)).tanh() * 0.25 + lib.eye(m, dtype=v.dtype) * 2
    if f == 3:
        lu, piv = lib.linalg.lu_factor(sq)
        p, lo, up = lib.lu_unpack(lu, piv, unpack_data=True, unpack_pivots=bool(ints[3] % 2))
        return lo @ up + (p.sum() if p.numel() else 0)
    b = _filled(lib, _float(lib, other).to(v.dtype), (m, 1 + ints[3] % 2))
    upper = bool(ints[0] % 2)
    t = sq.triu() if upper else sq.tril()
    sol, _ = lib.triangular_solve(b, t, upper=upper, transpose=bool(ints[2] % 2))
    return sol


def _pool_with_idx(lib: Any, x: Any, ints: tuple, val: float) -> Any:
    F = lib.nn.functional
    v = _float(lib, x)
    # distinct values: ties make the chosen index the library's own choice
    f = ints[4] % 7
    nd = 1 + f % 3 if f < 6 else 3
    shape = (1, 2) + (2 + ints[1] % 3,) * nd
    numel = 1
    for s in shape:
        numel *= s
    base = lib.arange(numel, dtype=v.dtype).reshape(shape) * 0.01
    y = base + _filled(lib, v, shape).tanh() * 0.001
    if f < 3:
        fn = (F.max_pool1d_with_indices, F.max_pool2d_with_indices,
              F.max_pool3d_with_indices)[f]  # fmt: skip
        out, idx = fn(y, 2, stride=1 + ints[2] % 2, padding=ints[3] % 2,
                      dilation=1, ceil_mode=bool(ints[0] % 2))  # fmt: skip
        return out + idx.to(out.dtype) * 0.001
    if f < 6:
        fn = (F.adaptive_max_pool1d_with_indices, F.adaptive_max_pool2d_with_indices,
              F.adaptive_max_pool3d_with_indices)[f - 3]  # fmt: skip
        out, idx = fn(y, 1 + ints[2] % 3)
        return out * val + idx.to(out.dtype)
    g = ints[3] % 3
    if g == 0:
        out, idx = F.max_pool3d(y, 2, stride=2, return_indices=True)
        return F.max_unpool3d(out, idx, 2, stride=2, output_size=y.shape[-3:])
    if g == 1:
        return F.lp_pool3d(y.abs() + 0.5, 2.0 if ints[2] % 2 else 1.5, 2, stride=1)
    y2 = y[:, :, 0]
    if ints[2] % 2:
        return F.upsample_nearest(y2, scale_factor=2)
    return F.upsample_bilinear(y2, size=(3, 4))


def s40_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    if kind == "unary_":
        return _unary_(lib, x, other, ints, val)
    if kind == "cmp_":
        return _cmp_(lib, x, other, ints, val)
    if kind == "blas_":
        return _blas_(lib, x, other, ints, val)
    if kind == "copy_fn":
        return _copy_fn(lib, x, other, ints, val)
    if kind == "rnn_cell":
        return _rnn_cell(lib, x, other, third, ints, val)
    if kind == "householder":
        return _householder(lib, x, other, ints, val)
    return _pool_with_idx(lib, x, ints, val)
