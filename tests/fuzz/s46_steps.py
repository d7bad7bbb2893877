"""Step kinds for :mod:`tests.fuzz.programs`, session 46: the recurrent layers and cells through
their functional forms (``rnn_fn``: ``torch.lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu``
with several layers, both directions, ``batch_first``, LSTM projections and the packed form
with ``batch_sizes``; the cells ``lstm_cell`` / ``gru_cell`` / ``rnn_tanh_cell`` at saturating
pre-activations), ``scaled_dot_product_attention`` with broadcast bool and float masks, a
scale, ``is_causal`` and ``dropout_p=0`` (``sdpa_mask``), ``layer_norm`` / ``rms_norm`` at
edge values: constant lines, huge and tiny magnitudes, infinities, ``eps`` 0 (``norm_edge``),
``logsumexp`` with +-inf and NaN in its lines (``lse_inf``), ``cdist`` with infinite
coordinates (``cdist_inf``) and the cumulative ops on 0-d, empty and length-1 dims
(``cum_tiny``).

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .nn_step_parts import _filled

__all__ = ["S46", "s46_step"]

S46 = ("rnn_fn", "sdpa_mask", "norm_edge", "lse_inf", "cdist_inf", "cum_tiny")

_INF, _NAN = float("inf"), float("nan")


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


def _finite(lib: Any, t: Any) -> Any:
    return lib.nan_to_num(t, 0.0, 3.0, -3.0)


def _rnn_params(lib: Any, w: Any, mode: str, i: int, h: int, layers: int, dirs: int,
                bias: bool, proj: int) -> list:  # fmt: skip
    """The flat weight list of ``torch.<mode>``: per layer and direction ``w_ih, w_hh``,
    ``b_ih, b_hh`` with ``bias``, then ``w_hr`` with ``proj``; built from ``w``'s elements."""
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    out_h = proj or h
    params, k = [], 0
    for layer in range(layers):
        n_in = i if layer == 0 else out_h * dirs
        for _ in range(dirs):
            shapes = [(gates * h, n_in), (gates * h, out_h)]
            if bias:
                shapes += [(gates * h,), (gates * h,)]
            if proj:
                shapes.append((proj, h))
            for s in shapes:
                k += 1
                params.append((_filled(lib, w, s).roll(k) * (0.5 / k**0.5)).tanh())
    return params


def _rnn_fn(lib: Any, x: Any, other: Any, third: Any, ints: tuple, val: float) -> Any:
    """A recurrent layer's functional form, or a cell at saturating pre-activations."""
    v = _finite(lib, _float(lib, x))
    o = _finite(lib, _float(lib, other).to(v.dtype))
    w = _finite(lib, _float(lib, third).to(v.dtype))
    f = ints[4] % 6
    if f >= 4:
        # a cell whose pre-activations reach +-40 (sigmoid / tanh saturated: derivative
        # 1 - tanh^2 underflows to 0 in neither library's order of operations alone)
        i, h = 1 + ints[1] % 2, 1 + ints[2] % 2
        inp = _filled(lib, v, (2, i)) * (40.0 if ints[3] % 2 else 1.0)
        hx = _filled(lib, o, (2, h)).tanh()
        if f == 4:
            ws = _filled(lib, w, (4 * h, i + h)).tanh()
            cx = hx * val
            hy, cy = lib.lstm_cell(inp, (hx, cx), ws[:, :i], ws[:, i:], ws[:, 0], None)
            return lib.stack([hy, cy])
        ws = _filled(lib, w, (3 * h, i + h)).tanh()
        fn = lib.gru_cell if ints[0] % 2 else lib.rnn_tanh_cell
        if fn is lib.rnn_tanh_cell:
            ws = ws[:h]
        return fn(inp, hx, ws[:, :i], ws[:, i:], None, ws[:, -1])
    mode = ("lstm", "gru", "rnn_tanh", "rnn_relu")[f]
    i, h = 1 + ints[1] % 2, 1 + ints[2] % 2
    layers, dirs = 1 + ints[3] % 2, 1 + (ints[1] // 2) % 2
    bias = bool(ints[0] % 2)
    proj = 1 if mode == "lstm" and h == 2 and ints[3] // 2 % 2 else 0
    params = _rnn_params(lib, w, mode, i, h, layers, dirs, bias, proj)
    seq, nb = 1 + ints[2] // 2 % 3, 1 + ints[0] // 2 % 2
    packed = ints[3] // 4 % 2 == 1
    hshape = (layers * dirs, nb, proj or h)
    hx = _filled(lib, o, hshape).tanh()
    hx = (hx, _filled(lib, o, (layers * dirs, nb, h)).flip(-1) * val) if mode == "lstm" else hx
    fn = getattr(lib, mode)
    if packed:
        # the packed form: data (sum(batch_sizes), i), batch_sizes non-increasing, int64
        sizes = [nb] * seq if ints[0] // 4 % 2 or nb == 1 else [2] + [1] * (seq - 1)
        data = _filled(lib, v, (sum(sizes), i))
        bs = lib.tensor(sizes, dtype=lib.int64)
        out = fn(data, bs, hx, params, bias, layers, 0.0, False, dirs == 2)
    else:
        bf = bool(ints[4] // 6 % 2)
        inp = _filled(lib, v, (nb, seq, i) if bf else (seq, nb, i))
        out = fn(inp, hx, params, bias, layers, 0.0, False, dirs == 2, bf)
    res = out[0].reshape(-1)
    for t in out[1:]:
        res = lib.cat([res, t.reshape(-1)])
    if mode == "rnn_relu":
        return res + 0.0  # relu's kink at exactly 0 is not reached from random data
    return res


def _sdpa_mask(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """scaled_dot_product_attention with a broadcast bool or float mask, a scale, is_causal
    and dropout 0, on 3-d and 4-d operands."""
    v = _finite(lib, _float(lib, x))
    o = _finite(lib, _float(lib, other).to(v.dtype))
    lq, lk = 1 + ints[1] % 3, 1 + ints[2] % 3
    four = ints[0] % 2 == 1
    lead = (2, 1 + ints[3] % 2) if four else (1 + ints[3] % 2,)
    q = _filled(lib, v, (*lead, lq, 2)) * 0.5
    k = _filled(lib, o, (*lead, lk, 2)).flip(-1)
    w = _filled(lib, v, (*lead, lk, 1 + ints[4] % 2)).roll(1)
    F = lib.nn.functional
    f = ints[4] % 5
    scale = None if ints[3] // 2 % 2 else val
    if f == 0:
        return F.scaled_dot_product_attention(q, k, w, dropout_p=0.0, scale=scale)
    if f == 1:
        # a bool mask broadcast over the batch (and head) dims; keeps key 0 so no row is
        # masked whole (a row masked whole: NaN in both, drawn by f == 2)
        m = (lib.arange(lq * lk).reshape(lq, lk) % (2 + ints[1] % 2)) == 0
        m = m | (lib.arange(lk) == 0)
        if ints[2] % 2:
            m = m.reshape(1, lq, lk)
        return F.scaled_dot_product_attention(q, k, w, attn_mask=m, dropout_p=0.0, scale=scale)
    if f == 2:
        # a float mask with -inf, one row -inf whole (NaN in torch's math path: its
        # softmax of -inf lines), and finite values from the slot elsewhere
        base = _filled(lib, o, (lq, lk)).tanh()
        hole = (lib.arange(lq * lk).reshape(lq, lk) % 2) == 1
        m = base.masked_fill(hole, -_INF)
        if ints[2] % 2:
            m = m.masked_fill(lib.arange(lq).reshape(lq, 1) == lq - 1, -_INF)
        return F.scaled_dot_product_attention(q, k, w, attn_mask=m, dropout_p=0.0, scale=scale)
    if f == 3:
        return F.scaled_dot_product_attention(q, k, w, is_causal=True, scale=scale)
    # a per-batch mask, (batch, [heads,] lq, lk) with singleton dims
    m = _filled(lib, o, (lead[0], *(1,) * (len(lead) - 1), lq, lk)) > 0
    return F.scaled_dot_product_attention(q, k, w, attn_mask=m, dropout_p=0.0)


_EDGE_VALUES = (1e200, -1e200, 1e-200, _INF, -_INF, 0.0, 3.0)


def _norm_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """layer_norm / rms_norm over lines that are constant, huge, tiny, or hold an infinity,
    with eps 0 or tiny (a zero variance then: inf / NaN in both)."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    n = 2 + ints[1] % 3
    t = _filled(lib, v, (2, n))
    g = ints[2] % 5
    f = ints[4] % 4
    eps = (0.0, 1e-300, 1e-5, None)[ints[0] % 4]
    if f < 2 and eps == 1e-300:
        # not layer_norm's eps 1e-300: on a line of variance 0 (constant lines, zeros) rstd
        # is 1e150, and torch's backward and forward-mode rules multiply by rstd^3 (1e450:
        # inf), giving NaN from 0 * inf or from the rounding residue of sum(g) * mean -
        # sum(g * x); chainrule's x_hat form gives the finite values (core seeds 1009-1011:
        # overflow in torch's formula, not a rule)
        eps = 1e-5
    if g == 0:
        # constant lines of a power of 2: torch's layer_norm backward takes sum(g) * mean -
        # sum(g * x) times rstd^3 (3e7), which only a power of 2 makes an exact 0 (1.5: a
        # rounding residue, 7e-5 in float32, seed 1012)
        t = t.detach().round() * 0.0 + 2.0 + (t - t.detach())
    elif g == 1:
        scale = _EDGE_VALUES[ints[3] % 3]
        if f < 2:
            # layer_norm: squares that neither overflow (1e200: torch 2.13's moment kernel
            # gives NaN, chainrule's two-pass variance the finite answer; the group_norm
            # xfail of test_found_cases_s45_b.py, the same kernel) nor underflow (1e-200
            # with eps 0: a variance of 0, rstd inf, torch's tangent NaN from its rstd^3,
            # chainrule's +-inf); seeds 1009-1011
            scale = scale * (1e-100 if abs(scale) > 1.0 else 1e120)
        t = t * scale  # huge or tiny magnitudes
    elif g == 2:
        edge = _EDGE_VALUES[3 + ints[3] % 3]
        t = t.masked_fill(lib.arange(2 * n).reshape(2, n) == ints[3] % n, edge)
    elif g == 3:
        t = t.masked_fill(lib.arange(n) == 0, 0.0) * 0.0  # zero lines (eps carries them)
    w = _filled(lib, o, (n,)) if ints[4] // 4 % 2 else None
    F = lib.nn.functional
    if f == 0:
        return F.layer_norm(t, (n,), w, None, eps=1e-5 if eps is None else eps)
    if f == 1:
        # a bias only with a weight: torch 2.13's double backward of layer_norm with a bias
        # and no weight fails ("Expected a proper Tensor but got None ... 'other'": its
        # bias gradient is marked as requiring grad and differentiated through the missing
        # weight), a torch bug; chainrule's bias gradient is a constant (core seed 1010)
        b = _filled(lib, o, (n,)).flip(0)
        wb = None if w is None else lib.stack([w, w])
        bb = None if w is None else lib.stack([b, b])
        return F.layer_norm(t.reshape(1, 2, n), (2, n), wb, bb, eps=eps or 0.0)
    if f == 2:
        return F.rms_norm(t, (n,), w, eps=eps)
    return F.rms_norm(t.reshape(2, 1, n), [1, n], None if w is None else w.reshape(1, n), eps)


_LSE_FILL = (_INF, -_INF, _NAN, 0.0)


def _lse_inf(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """logsumexp over lines holding +inf, -inf, NaN (one kind, two, or a line of one kind),
    over one dim, two dims, or a 0-d input."""
    v = _float(lib, x)
    n = 2 + ints[1] % 3
    t = _filled(lib, v, (3, n))
    idx = lib.arange(3 * n).reshape(3, n)
    t = t.masked_fill(idx % (2 + ints[2] % 3) == 0, _LSE_FILL[ints[3] % 4])
    t = t.masked_fill(idx % (3 + ints[2] % 2) == 1, _LSE_FILL[(ints[3] + ints[0]) % 3])
    if ints[0] % 3 == 0:
        t = t.masked_fill(lib.arange(3).reshape(3, 1) == 1, _LSE_FILL[ints[2] % 3])  # whole
    f = ints[4] % 4
    if f == 0:
        return lib.logsumexp(t, ints[1] % 2, keepdim=bool(ints[2] % 2))
    if f == 1:
        return lib.logsumexp(t, (0, 1))
    if f == 2:
        return t.logsumexp(-1) * val
    return lib.logsumexp(t[ints[1] % 3, 0], 0)  # 0-d


def _cdist_inf(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """cdist / pdist / dist with infinite coordinates in one operand (the other finite: an
    inf - inf coordinate, a NaN distance, is a known gradient difference, xfail in
    test_found_cases_s45_b.py), every p and compute mode."""
    v = _float(lib, x)
    o = _finite(lib, _float(lib, other).to(v.dtype))
    m, r, c = 1 + ints[1] % 3, 1 + ints[2] % 3, 1 + ints[3] % 3
    a = _finite(lib, _filled(lib, v, (m, c)))
    a = a.masked_fill(lib.arange(m * c).reshape(m, c) % (2 + ints[3] % 3) == 1,
                      (_INF, -_INF)[ints[0] % 2])  # fmt: skip
    b = _filled(lib, o, (r, c))
    # no p = inf: the slot's repeated elements tie the largest |difference| (and so do two
    # infinite coordinates), where torch's cdist gives each tie the full gradient and
    # chainrule's shares it (a documented difference, s45_steps.singular2; core seed 1010)
    p = (2.0, 1.0, 0.0, 3.0, 0.5, 1.5)[ints[4] % 6]
    g = ints[0] // 2 % 3
    if g == 2 and p == 0.0:
        # no dist(p=0): torch's DistBackward0 returns an undefined gradient there, which
        # the slicing before it refuses at backward ("Expected a proper Tensor but got
        # None"), a torch bug; chainrule's is zeros (cdist's p=0 gradient, zeros in both)
        p = 2.0
    if g == 0:
        modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist")  # fmt: skip
        mode = modes[ints[2] // 3 % 3]
        if p == 2.0 and mode == modes[1]:
            # no matrix-product form with infinite points: torch's ||a||^2 + ||b||^2 - 2ab
            # gives inf - inf (NaN), chainrule computes every mode by differences (its
            # documented choice, ops/distance.py's cdist; core seed 1013)
            mode = modes[2]
        return lib.cdist(a, b, p=p, compute_mode=mode)
    if g == 1:
        return lib.cdist(a.unsqueeze(0), b.unsqueeze(0).expand(2, r, c), p=p)
    return lib.dist(a[:1], b[:1], p=p)


def _cum_tiny(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """cumsum / cumprod / cummax / cummin / logcumsumexp on a 0-d tensor, an empty dim, a
    dim of one, with dim -1 / 0 and a dtype."""
    v = _float(lib, x)
    g = ints[1] % 4
    if g == 0:
        t = v.reshape(-1)[:1].sum() if v.numel() else v.sum()  # 0-d
    elif g == 1:
        t = _filled(lib, v, (2, 0)) if ints[2] % 2 else _filled(lib, v, (0, 2))  # empty
    elif g == 2:
        t = _filled(lib, v, (1, 1 + ints[2] % 2))  # a dim of one
    else:
        t = _filled(lib, v, (2,)).masked_fill(lib.arange(2) == ints[2] % 2, -_INF)
    d = -1 if ints[0] % 2 else 0
    f = ints[4] % 6
    if f == 0:
        return lib.cumsum(t, d, dtype=lib.float64 if ints[3] % 2 else None)
    if f == 1:
        return t.cumprod(d) * val
    if f == 2:
        s, i = t.cummax(d)
        return s + i.to(s.dtype)
    if f == 3:
        s, i = lib.cummin(t, d)
        return s * val - i.to(s.dtype)
    if f == 4:
        return t.logcumsumexp(d)
    out = t.clone()
    out.cumsum_(d)
    return out


def s46_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``, ``third``: other slots)."""
    if kind == "rnn_fn":
        return _rnn_fn(lib, x, other, third, ints, val)
    fn = {
        "sdpa_mask": _sdpa_mask, "norm_edge": _norm_edge, "lse_inf": _lse_inf,
        "cdist_inf": _cdist_inf, "cum_tiny": _cum_tiny,
    }[kind]  # fmt: skip
    out = fn(lib, x, other, ints, val)
    # NaN and +-inf as sentinels, so that later steps see finite numbers: the NaN patterns of
    # a float32 convolution of infinities are each library's GEMM order, not a rule (core
    # seed 1015, conv after lse_inf). The step's own values still compare
    return lib.nan_to_num(out, 7.0, 8.0, -8.0) if out.is_floating_point() else out
