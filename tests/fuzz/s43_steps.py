"""Step kinds for :mod:`tests.fuzz.programs`, session 43: special functions at edge inputs
(``inf``, ``-inf``, ``nan``, ``-0.0``, the ends of their domains), integer and float
division / remainder / ``fmod`` sign rules (negative operands, zero divisors, the small
integer dtypes), shifts and bitwise ops of the small integer dtypes (shift counts at and
past the width), ``nan``-reductions over rows with NaN and all-NaN rows, order statistics
with ties (stable ``sort``, ``topk``/``kthvalue``/``median`` values, ``mode``), cumulative
ops over ties and infinities with their gradients, counting and binning (``histc``,
``histogram``, ``bincount`` with weights, ``bucketize``/``searchsorted`` on boundary ties),
and packed sequences through ``nn.RNN``/``LSTM``/``GRU``.

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .nn_step_parts import _filled

__all__ = ["S43", "s43_step"]

S43 = ("special_edge", "int_divmod", "bit_shift", "nan_rows", "tie_order", "cum_edge",
       "binning", "packed_rnn")  # fmt: skip

_EDGES = (float("inf"), float("-inf"), float("nan"), -0.0, 0.0, 1.0, -1.0, 0.5, 30.0, -30.0)


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


def _with_edges(lib: Any, v: Any, ints: tuple) -> Any:
    """``v`` with some of its elements replaced by edge values (constants: the gradient
    there is 0, elsewhere it flows to ``v``); a 1-d tensor of ``v``'s elements and edges."""
    # + 0.0: a slot's -0.0 made +0.0 (the edges' own -0.0 stay): the sign of a zero an
    # earlier step computed is each library's rounding (jacfwd's zero entries: +0 in torch,
    # -0 in chainrule), and a division by it shows it as an infinity's sign (seed 986)
    flat = v.reshape(-1) + 0.0
    k = 1 + ints[2] % 4
    start = ints[3] % len(_EDGES)
    edges = [_EDGES[(start + i) % len(_EDGES)] for i in range(k)]
    e = lib.tensor(edges, dtype=v.dtype)
    return lib.cat([flat, e]) if ints[1] % 2 else lib.cat([e, flat])


_SPECIAL = (
    ("erfcx", None), ("i0", None), ("i0e", None), ("i1", None), ("i1e", None),
    ("ndtr", None), ("ndtri", "unit"), ("log_ndtr", None), ("entr", None),
    ("sinc", None), ("logit", "unit"), ("expit", None), ("digamma", None),
    ("gammaln", None), ("erfinv", "sym"), ("log1p", None), ("expm1", None),
    ("exp2", None), ("xlogy", "pair"), ("xlog1py", "pair"), ("zeta", "pair"),
    ("polygamma", "n"), ("multigammaln", "mvlgamma"), ("i1", None),
    ("ndtr", None), ("round", "decimals"), ("softmax", "dim"), ("log_softmax", "dim"),
    ("logsumexp", "dim"), ("erfc", None), ("erf", None), ("psi", None),
)  # fmt: skip


# (not bessel_j0/j1: at the +-30 edges torch's and SciPy's approximations differ by ~1e-8
# relative, seed 984; they are fuzzed on ordinary inputs by r9_steps)


def _special_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A ``torch.special`` function over ``x``'s elements with edge values added."""
    v = _float(lib, x)
    z = _with_edges(lib, v, ints)
    name, how = _SPECIAL[(ints[4] + 7 * ints[0]) % len(_SPECIAL)]
    sp = lib.special
    fn = getattr(sp, name)
    if how is None:
        return fn(z)
    if how == "unit":  # the edges kept as they are: 0, 1, inf outside (0, 1) are the edges
        return fn(z.tanh() * 0.5 + 0.5 if ints[2] % 2 else z)
    if how == "sym":
        return fn(z.tanh() if ints[2] % 2 else z)
    if how == "pair":
        o = _filled(lib, _float(lib, other).to(z.dtype), tuple(z.shape))
        a, b = (z, o) if ints[3] % 2 else (o, z)
        if name == "zeta":
            a = a.abs() + 1.0  # x > 1 (the edges stay: inf + 1, nan)
        return fn(a, b) if ints[2] % 3 else fn(a, val)
    if how == "n":
        return fn(ints[2] % 3, z)
    if how == "mvlgamma":
        p = 1 + ints[2] % 3
        return fn(z.abs() + (p - 1) / 2 + 0.25, p)
    if how == "decimals":
        return fn(z * 37.5, decimals=ints[2] % 3 - 1)
    return fn(z, 0)


def _int_operands(lib: Any, x: Any, other: Any, ints: tuple) -> tuple:
    """Two integer tensors of one small dtype (negative values, zeros in the divisor)."""
    dt = (lib.int64, lib.int32, lib.int16, lib.int8, lib.uint8)[ints[2] % 5]
    v = _float(lib, x).detach()
    # NaN made 0 before the integer cast: NaN casts to INT_MIN, and torch's INT_MIN / -1
    # dies of SIGFPE (the whole process, core seed 1007); chainrule warns and wraps (INT_MIN)
    a = (v * 7).nan_to_num(0.0).round().clamp(-100, 100)
    b = (_filled(lib, _float(lib, other).detach().to(v.dtype), tuple(v.shape)) * 3).nan_to_num(0.0)
    b = b.round()
    if dt == lib.uint8:
        a, b = a.abs(), b.abs()
    if ints[3] % 2:  # no zero divisor: the integer division by zero raises in both
        b = b + (b == 0).to(b.dtype) * (1 + ints[1] % 3)
    return a.to(dt), b.clamp(-100, 100).to(dt)


def _int_divmod(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Rounded division of integers and of floats with signed zeros and infinities."""
    f = ints[4] % 10
    v = _float(lib, x)
    if f < 6:
        a, b = _int_operands(lib, x, other, ints)
        if f == 0:
            r = lib.floor_divide(a, b)
        elif f == 1:
            r = lib.remainder(a, b)
        elif f == 2:
            r = lib.fmod(a, b)
        elif f == 3:
            r = lib.div(a, b, rounding_mode=("trunc", "floor")[ints[1] % 2])
        elif f == 4:
            s = (-3, -2, 2, 3)[ints[1] % 4]
            r = (a % s, a // s, lib.fmod(a, s), lib.remainder(s, b))[ints[0] % 4]
        else:
            r = lib.div(a, b)  # true division: float, inf and nan at 0 divisors
            return r * v.sum() if r.numel() else r
        return r.to(v.dtype) * v
    z = _with_edges(lib, v, ints)
    o = _with_edges(lib, _filled(lib, _float(lib, other).to(v.dtype), tuple(v.shape)), ints[::-1])
    n = min(z.shape[0], o.shape[0])
    z, o = z[:n], o[:n]
    if f == 6:
        return lib.remainder(z, o) if ints[0] % 2 else lib.fmod(z, o)
    if f == 7:
        return lib.div(z, o, rounding_mode=("trunc", "floor")[ints[0] % 2])
    if f == 8:
        return lib.floor_divide(z, val) if ints[0] % 2 else z % val
    return lib.copysign(z, o) + lib.fmod(z, -val)


def _bit_shift(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Shifts and bitwise ops of the small integer dtypes: shift counts 0 to past the width,
    wrap-around of the left shift; the result read as the slot's float dtype."""
    v = _float(lib, x)
    dt = (lib.int8, lib.uint8, lib.int16, lib.int32, lib.int64)[ints[2] % 5]
    a = (v.detach() * 40).round().clamp(-120, 120)
    if dt == lib.uint8:
        a = a.abs()
    a = a.to(dt)
    width = a.element_size() * 8
    counts = (lib.arange(a.numel()).reshape(tuple(a.shape)) * (1 + ints[1] % 5)) % (width + 2)
    s = counts.to(dt) if ints[3] % 2 else counts
    f = ints[4] % 8
    if f == 0:
        r = a << s
    elif f == 1:
        r = a >> s
    elif f == 2:
        r = lib.bitwise_left_shift(a, width - 1) if ints[0] % 2 else a.bitwise_right_shift(3)
    elif f == 3:
        b = (_filled(lib, v.detach(), tuple(a.shape)) * 60).round().clamp(-120, 120).to(dt)
        r = (a & b, a | b, a ^ b, ~a)[ints[0] % 4]
    elif f == 4:
        r = (
            lib.bitwise_xor(a, 5)
            if ints[0] % 2
            else lib.bitwise_and(a, -3 if dt != lib.uint8 else 6)
        )
    elif f == 5:
        w = a.clone()
        w <<= 2
        w >>= 1
        r = w
    elif f == 6:
        r = a.abs() if dt != lib.uint8 else a.neg()
    else:
        r = lib.bitwise_not(a.bool()) if ints[0] % 2 else (a << 1).bool()
    # the bits read modulo 61 (every value still told apart, mostly): a shifted int64 is up
    # to 2^63, and a float32 program downstream of such values differs by rounding alone
    # (seed 981: linalg_ex's gradient off by 0.01 in float32, equal in float64)
    return (r.long() % 61).to(v.dtype) * v


def _nan_rows(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A (rows, cols) matrix with NaN at chosen places (a whole row NaN sometimes), reduced
    by the nan-reductions; distinct values, so the medians pick unique elements."""
    v = _float(lib, x)
    r, c = 2 + ints[1] % 2, 2 + ints[2] % 3
    base = lib.arange(r * c, dtype=v.dtype).reshape(r, c) * 0.125
    m = base + _filled(lib, v, (r, c)).tanh() * 0.01
    pos = (lib.arange(r * c).reshape(r, c) * (1 + ints[3] % 4)) % 5 == 0
    if ints[0] % 3 == 0:
        pos = pos | (lib.arange(r).reshape(r, 1) == r - 1)  # an all-NaN row
    m = m.masked_fill(pos, float("nan"))
    d = ints[0] % 2
    keep = bool(ints[3] % 2)
    f = ints[4] % 7
    if f == 0:
        return lib.nanmean(m, d, keepdim=keep)
    if f == 1:
        return m.nansum(d, keepdim=keep) * val
    if f == 2:
        vals, idx = m.nanmedian(d, keepdim=keep)
        return vals + idx.to(vals.dtype)
    if f == 3:
        q = lib.tensor([0.0, 0.25, 0.5, 1.0][: 1 + ints[2] % 4], dtype=v.dtype)
        interp = ("linear", "lower", "higher", "midpoint", "nearest")[ints[1] % 5]
        return lib.nanquantile(m, q, dim=d, keepdim=keep, interpolation=interp)
    if f == 4:
        return lib.nanmedian(m) + lib.nanmean(m) if ints[2] % 2 else lib.nansum(m)
    if f == 5:
        return lib.nan_to_num(m, nan=val, posinf=1.0).sum(d) + m.isnan().sum(d).to(v.dtype)
    return lib.nanquantile(m.reshape(-1), 0.5 * (ints[1] % 3))


def _tie_order(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Order statistics over values with ties: stable sort (values and indices defined),
    the values of topk / kthvalue / median / msort, and mode (its value and the count)."""
    v = _float(lib, x)
    n = 3 + ints[1] % 4
    # rounded: ties; the gradient flows through the rounded copy's straight-through part
    t = _filled(lib, v, (2, n))
    z = t.detach().mul(2).round().div(2) + (t - t.detach())
    d = ints[0] % 2
    f = ints[4] % 8
    desc = bool(ints[3] % 2)
    if f == 0:
        s, i = z.sort(dim=d, descending=desc, stable=True)
        return s * val + i.to(s.dtype)
    if f == 1:
        i = lib.argsort(z, dim=-1, descending=desc, stable=True)
        return z.gather(-1, i) * val + i.to(z.dtype)
    if f == 2:
        # values only: which of tied elements topk returns is not specified (a torch quirk)
        k = 1 + ints[2] % n
        return z.detach().topk(k, dim=-1, largest=not desc, sorted=True)[0] * v.sum()
    if f == 3:
        k = 1 + ints[2] % n
        return z.detach().kthvalue(k, -1, keepdim=desc)[0] * v.sum()
    if f == 4:
        # median of ties: the value only (the index among equal elements is unspecified)
        return (z.detach().median(-1)[0], z.detach().nanmedian())[ints[2] % 2].sum() * v.sum()
    if f == 5:
        return lib.msort(z.t()) * val
    if f == 6:
        vals, counts = z.detach().mode(-1)[0], (z.detach() == z.detach().mode(-1)[0][:, None])
        return vals * v.sum() + counts.sum(-1).to(v.dtype)
    u, inv, cnt = lib.unique(z.detach(), sorted=True, return_inverse=True, return_counts=True)
    return u.sum() * v.sum() + inv.to(v.dtype).sum() + cnt.to(v.dtype).max()


def _cum_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """cummax / cummin / logcumsumexp / cumprod / cumsum over ties, infinities and zeros,
    with their gradients (the tie rule: the later of equal elements is the arg)."""
    v = _float(lib, x)
    n = 3 + ints[1] % 4
    t = _filled(lib, v, (2, n))
    z = t.detach().mul(2).round().div(2) + (t - t.detach())  # ties, straight-through
    g = ints[2] % 4
    if g == 1:
        z = z.masked_fill(lib.arange(n) == ints[3] % n, float("-inf"))
    elif g == 2:
        z = z.masked_fill(lib.arange(n) == ints[3] % n, 0.0)
    elif g == 3:
        z = z.masked_fill(lib.arange(n) == ints[3] % n, float("inf"))
    d = ints[0] % 2
    f = ints[4] % 6
    if g == 3 and f in (2, 4):
        # no +inf before logcumsumexp: torch's forward rule normalizes by the line's max
        # (exp(x - inf) = 0) and divides by a sum clamped to 1e-13, so every tangent before
        # the inf is 0 (seed 981). Mirrored since session 45 (ops/cumulative_extremes.py,
        # a line whose max is NaN or inf); kept, so that the finite tangents are compared
        z = z.masked_fill(z.isinf(), float("-inf"))
    if f in (2, 4):
        # finite values squashed into (-4, 4): the same 1e-13 clamp zeroes torch's tangent
        # wherever exp(x - max) is below it (a line spanning > 30, seed 986: after rpow)
        z = lib.where(z.isinf(), z, z.tanh() * 4)
    if f == 0:
        s, i = z.cummax(d)
        return s * val + i.to(s.dtype)
    if f == 1:
        s, i = lib.cummin(z, d)
        return s * val + i.to(s.dtype)
    if f == 2:
        return lib.logcumsumexp(z, d)
    if f == 3:
        # infinities into cumprod too: its double backward at +-inf next to a zero (seed
        # 982) follows PyTorch's formulas since session 45 (ops/product_gradients.py)
        return z.cumprod(d)
    if f == 4:
        return lib.logcumsumexp(z.masked_fill(z < 0, float("-inf")), d)
    return z.cumsum(d, dtype=lib.float32) if ints[3] % 2 else z.flip(d).cumsum(d).flip(d)


def _binning(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """histc / histogram / bincount / bucketize / searchsorted over values on the bin
    edges (multiples of 0.25), the counts read as the slot's float dtype."""
    v = _float(lib, x)
    flat = v.reshape(-1)
    q = (flat.detach() * 4).round() / 4
    f = ints[4] % 7
    if f == 0:
        lo, hi = ((-1.0, 1.0), (0.0, 0.0), (-0.5, 0.5), (1.0, 1.0))[ints[3] % 4]
        h = lib.histc(q, bins=1 + ints[2] % 5, min=lo, max=hi)
        return h * v.sum()
    if f == 1:
        bins = lib.tensor([-1.0, -0.25, 0.0, 0.5, 1.0], dtype=v.dtype)
        w = flat.detach().abs() if ints[2] % 2 else None
        h, e = lib.histogram(q, bins, weight=w, density=bool(ints[3] % 2))
        return h * v.sum() + e.sum()
    if f == 2:
        h, e = lib.histogram(q, 1 + ints[2] % 4, range=(-1.0, 1.0), density=bool(ints[3] % 2))
        return h * v.sum() + e.sum()
    if f == 3:
        idx = (q.abs() * 4).to(lib.int64)
        w = flat.detach() if ints[2] % 2 else None
        c = lib.bincount(idx, weights=w, minlength=ints[3] % 6)
        return c.to(v.dtype) * val + v.sum()
    if f == 4:
        b = lib.tensor([-1.0, -0.25, 0.0, 0.0, 0.5, 1.0], dtype=v.dtype)
        r = lib.bucketize(q, b, right=bool(ints[3] % 2), out_int32=bool(ints[2] % 2))
        return r.to(v.dtype) * v.reshape(-1)
    if f == 5:
        b = lib.tensor([[-1.0, 0.0, 0.0, 1.0], [-0.5, -0.25, 0.25, 0.5]], dtype=v.dtype)
        vals = _filled(lib, q, (2, 3))
        side = ("left", "right")[ints[3] % 2]
        r = lib.searchsorted(b, vals, side=side)
        return r.to(v.dtype) * v.sum()
    b = lib.tensor([1.0, -1.0, 0.0, 0.5, -0.25], dtype=v.dtype)
    sorter = lib.argsort(b)
    r = lib.searchsorted(b, q, sorter=sorter, right=bool(ints[3] % 2))
    return r.to(v.dtype) * v.reshape(-1)


def _packed_rnn(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A padded batch of sequences of different lengths packed (sorted or not), through a
    small RNN / LSTM / GRU (weights set from a fixed formula), then padded back."""
    v = _float(lib, x)
    R = lib.nn.utils.rnn
    cls = (lib.nn.RNN, lib.nn.LSTM, lib.nn.GRU)[ints[4] % 3]
    bidir = bool(ints[3] % 2)
    layers = 1 + ints[2] % 2
    batch_first = bool(ints[1] % 2)
    feat, hid, batch = 2, 2, 3
    lengths = ([3, 1, 2], [3, 3, 1], [1, 2, 3], [2, 2, 2])[ints[0] % 4]
    tmax = max(lengths)
    shape = (batch, tmax, feat) if batch_first else (tmax, batch, feat)
    seq = _filled(lib, v, shape).tanh()
    rnn = cls(feat, hid, num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    rnn = rnn.to(v.dtype)
    with lib.no_grad():
        for k, p in enumerate(rnn.parameters()):
            n = p.numel()
            p.copy_((lib.arange(n, dtype=v.dtype).reshape(p.shape) * 0.37 + k).sin() * 0.5)
    enforce = lengths == sorted(lengths, reverse=True) and ints[4] // 3 % 2 == 0
    if ints[4] // 3 % 3 == 2:
        pieces = [
            (seq[i] if batch_first else seq[:, i])[: lengths[i]] for i in range(batch)
        ]  # fmt: skip
        packed = R.pack_sequence(pieces, enforce_sorted=False)
    else:
        lens = lib.tensor(lengths) if ints[2] % 2 else lengths
        packed = R.pack_padded_sequence(seq, lens, batch_first=batch_first, enforce_sorted=enforce)
    out, h = rnn(packed)
    total = tmax + ints[3] % 2
    pad, lens_out = R.pad_packed_sequence(
        out, batch_first=batch_first, padding_value=val, total_length=total
    )
    h = h[0] + h[1] if isinstance(h, tuple) else h
    return pad + (h.sum() * 0.5 + lens_out.to(v.dtype).sum() + packed.data.sum())


def s43_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``: another slot; ``third`` unused)."""
    fn = {
        "special_edge": _special_edge, "int_divmod": _int_divmod, "bit_shift": _bit_shift,
        "nan_rows": _nan_rows, "tie_order": _tie_order, "cum_edge": _cum_edge,
        "binning": _binning, "packed_rnn": _packed_rnn,
    }[kind]  # fmt: skip
    return fn(lib, x, other, ints, val)
