"""Step kinds for :mod:`tests.fuzz.programs` from ``nn.functional`` and around it:
normalisations (layer/group/batch/instance/RMS norm, batch norm in training and in eval with
the running statistics it updated), losses (reductions, class weights, ``ignore_index``,
label smoothing, probability targets), convolutions (groups, dilation, stride,
``padding='same'``), pooling, ``unfold``/``fold``, pad modes, interpolate modes,
embeddings (``padding_idx``, ``max_norm``), activations with kinks, reductions and scans
with ``dtype=``, sorts with ties (stable indices), type promotion of Python numbers and 0-d
tensors of every dtype, ``out=`` variants, and in-place activations.

The operands are made from the program's slots whatever their shapes: a slot's elements,
flattened and repeated to the size wanted (:func:`_filled`), so the gradients flow back
to it. Integer and bool slots are used as they are: where torch refuses them, chainrule
must refuse too (errors are compared by presence).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .more_steps import _dim, _fit
from .nn_step_parts import (
    _OFF,
    _activation,
    _classes,
    _conv,
    _filled,
    _floating,
    _interpolate,
    _off_zero,
    _pool,
    _reduction,
    _scalar,
    _spread,
)

__all__ = ["NN", "NN_INPLACE", "nn_step", "nn_inplace"]

NN = (
    "layer_norm", "group_norm", "batch_norm", "instance_norm", "rms_norm", "loss_pair",
    "cross_entropy", "nll_loss", "bce", "kl_div", "conv", "pool", "im2col", "pad",
    "interpolate", "embedding", "activation", "dtype_reduce", "sort_ties", "promote",
    "out_variant", "normalize",
)  # fmt: skip
NN_INPLACE = ("activation_", "out_into")


def nn_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    F = lib.nn.functional
    shape = tuple(x.shape)
    n = x.dim()
    d = _dim(x, ints[1])
    if kind == "layer_norm":
        if n == 0:
            x = x.reshape(1)
            shape, n = (1,), 1
        k = 1 + ints[2] % min(2, n)
        ns = shape[n - k :]
        w = _floating(lib, _filled(lib, other, ns), x) if ints[4] % 3 else None
        b = _floating(lib, _filled(lib, third, ns), x) if ints[4] % 3 == 2 else None
        eps = 1e-5 if ints[3] % 2 and x.dtype != lib.float32 else 0.25  # float32: _spread
        return F.layer_norm(_spread(lib, x), ns, w, b, eps=eps) + _OFF
    if kind == "rms_norm":
        if n == 0:
            x = x.reshape(1)
            shape, n = (1,), 1
        k = 1 + ints[2] % min(2, n)
        ns = shape[n - k :]
        w = _floating(lib, _filled(lib, other, ns), x) if ints[4] % 2 else None
        eps = None if ints[3] % 2 and x.dtype != lib.float32 else 0.25  # float32: _spread
        return F.rms_norm(_spread(lib, x), list(ns), w, eps=eps)
    if kind in ("group_norm", "batch_norm", "instance_norm"):
        g = 1 + ints[2] % 2
        c = g * (1 + ints[3] % 2)
        nb, length = 1 + ints[4] % 2, 1 + (ints[2] + ints[4]) % 3
        inp = _spread(lib, _filled(lib, x, (nb, c, length)))
        w = _floating(lib, _filled(lib, other, (c,)), x) if ints[4] % 3 else None
        b = _floating(lib, _filled(lib, third, (c,)), x) if ints[4] % 3 == 2 else None
        if w is not None and w.is_floating_point() and not bool(w.isfinite().all()):
            # a finite weight: torch's fused x * (rstd w) + (b - mean rstd w) turns an
            # infinite w into NaN everywhere, chainrule's (x - mean) rstd w into +-inf
            # where the normalised x is not 0 (an artifact of infinities), steered around
            w = lib.where(w.isfinite(), w, 1.0)
        if kind == "group_norm":
            eps = 1e-5 if ints[3] % 2 and x.dtype != lib.float32 else 0.5  # float32: _spread
            return F.group_norm(inp, g, w, b, eps=eps) + _OFF
        dt = x.dtype if x.is_floating_point() else lib.float32
        rm, rv = lib.zeros(c, dtype=dt), lib.ones(c, dtype=dt)
        momentum = min(abs(val), 1.0)
        if kind == "instance_norm":
            stats = (rm, rv) if ints[1] % 2 else (None, None)
            y = F.instance_norm(inp, *stats, w, b, use_input_stats=True, momentum=momentum)
            return y + rm.sum() + rv.sum() if ints[1] % 2 else y + _OFF
        # training on x updates the running statistics (buffers, no gradient); then either
        # the training output, or an eval pass over another slot using the statistics
        y = F.batch_norm(inp, rm, rv, w, b, training=True, momentum=momentum)
        if ints[1] % 2 == 0:
            return y + rm.sum() + 2 * rv.sum()
        ev = _spread(lib, _floating(lib, _filled(lib, other, (1 + ints[3] % 2, c, 2)), x))
        return F.batch_norm(ev, rm, rv, w, b, training=False)
    if kind == "loss_pair":  # regression losses: input x, target other (both may need grad)
        tgt = _fit(other, shape)
        if x.is_floating_point():
            # in x's dtype: torch's backward of huber/smooth_l1 with an integer target fails
            # ("Found dtype Long but expected Double", a torch bug), not mirrored
            tgt = tgt.to(x.dtype)
        red = _reduction(ints)
        which = ints[4] % 6
        if which == 0:
            return F.mse_loss(x, tgt, reduction=red)
        if which == 1:
            return F.l1_loss(x, tgt, reduction=red)
        if which == 2:
            return F.smooth_l1_loss(x, tgt, reduction=red, beta=abs(val))
        if which == 3:
            return F.huber_loss(x, tgt, reduction=red, delta=abs(val))
        if which == 4:
            # real: torch computes a complex soft margin loss (refusing it under autograd),
            # chainrule refuses complex input to it: not mirrored
            return F.soft_margin_loss(x.real if x.is_complex() else x, tgt.sign(), reduction=red)
        # the input kept from 0 where it is not a log: at 0 the gradient is ~t / 1e-8, and
        # float32 sums of such terms come out in each library's own rounding
        li = bool(ints[2] % 2)
        inp = x if li or not x.is_floating_point() else x.abs() + 0.5
        return F.poisson_nll_loss(inp, tgt.abs(), log_input=li, reduction=red)
    if kind in ("cross_entropy", "nll_loss"):
        c = 1 + ints[2] % 3
        nb = 1 + ints[4] % 3
        extra = (1 + ints[1] % 2,) if ints[3] % 4 == 3 else ()
        # a copy: chainrule's cross_entropy is one node (NllLossBackward0) whose double
        # backward reads the logits, so a later in-place change of x's memory is refused
        # there; torch's reads its LogSoftmax result (reported: a known difference)
        logits = _filled(lib, x, (nb, c, *extra)) * 1
        weight = None
        if ints[1] % 3 == 0:
            # detached: torch refuses a class weight that requires grad ("nll_loss_forward
            # is not differentiable with respect to argument 'weight'"), chainrule computes
            # its gradient; not mirrored
            weight = _floating(lib, _filled(lib, other, (c,)).abs() + 0.5, x).detach()
        # not the only class: a mean over targets all ignored is 0/0, NaN in both (value
        # and, since session 31, tangent: tests/fuzz/test_found_cases_r7.py); kept steered
        ignore = c - 1 if ints[4] % 2 and c > 1 else -100
        red = _reduction(ints)
        if kind == "nll_loss":
            tgt = _classes(lib, nb * math.prod(extra), c, ints, ignore).reshape(nb, *extra)
            return F.nll_loss(
                logits.log_softmax(1), tgt, weight, ignore_index=ignore, reduction=red
            )
        smooth = (0.0, 0.1, 0.25)[ints[2] % 3]
        if ints[0] % 2:  # probabilities as the target (no ignore_index with those)
            tgt = _floating(lib, _filled(lib, third, logits.shape), x).softmax(1)
            return F.cross_entropy(logits, tgt, weight, reduction=red, label_smoothing=smooth)
        tgt = _classes(lib, nb * math.prod(extra), c, ints, ignore).reshape(nb, *extra)
        return F.cross_entropy(
            logits, tgt, weight, ignore_index=ignore, reduction=red, label_smoothing=smooth
        )
    if kind == "bce":
        # real targets and weights: torch computes a complex loss from a complex target (and
        # refuses a complex pos_weight except under forward AD), chainrule refuses complex
        # operands to a probability loss; not mirrored
        other, third = (t.real if t.is_complex() else t for t in (other, third))
        tgt = _floating(lib, _fit(other, shape), x).sigmoid()
        w = _floating(lib, _fit(third, shape), x).abs() if ints[4] % 3 == 0 else None
        if w is not None and ints[2] % 2:
            # torch refuses a with_logits weight or pos_weight that requires grad ("not
            # differentiable with respect to argument 'weight'"), chainrule computes their
            # gradients; not mirrored
            w = w.detach()
        red = _reduction(ints)
        if ints[2] % 2:
            pw = _floating(lib, _fit(third, shape), x).abs().detach() if ints[4] % 2 else None
            return F.binary_cross_entropy_with_logits(x, tgt, w, reduction=red, pos_weight=pw)
        return F.binary_cross_entropy(x.sigmoid(), tgt, w, reduction=red)
    if kind == "kl_div":
        log_target = bool(ints[4] % 2)
        inp = x.log_softmax(d) if n else x
        tgt = _floating(lib, _fit(other, shape), x)
        if x.is_floating_point() and not tgt.is_floating_point():
            # an integer target would come out float32 (+ 0.125 below) against a float64 x:
            # both compute e^y and y log y in the target's float32 before promoting (PyTorch's
            # order, test_found_cases_nn.py), and NumPy's float32 exp/log are an ulp off torch's
            # now and then, ~1e-7 in the float64 loss, past the float64 tolerance: one dtype
            tgt = tgt.to(x.dtype)
        # a 0-d target kept from 0: torch's tangent of kl_div at a zero target is NaN (the
        # composite t log t), its gradient 0, as chainrule's both; not mirrored
        tgt = tgt.log_softmax(d) if log_target and n else tgt.softmax(d) if n else tgt.abs() + 0.125
        red = ("mean", "sum", "none", "batchmean")[ints[3] % 4]
        return F.kl_div(inp, tgt, reduction=red, log_target=log_target)
    if kind == "conv":
        return _conv(lib, F, x, other, third, ints, val)
    if kind == "pool":
        return _pool(lib, F, x, ints)
    if kind == "im2col":
        k = 1 + ints[2] % 2
        dil, pad, stride = 1 + ints[3] % 2, ints[4] % 2, 1 + ints[1] % 2
        inp = _filled(lib, x, (1, 1 + ints[4] % 2, 2 + ints[3] % 2, 3))
        if not inp.is_floating_point():
            inp = inp.double()  # torch unfolds/folds integers and bools, chainrule refuses
        if ints[0] % 2 == 0:
            return F.unfold(inp, k, dilation=dil, padding=pad, stride=stride)
        # fold of columns shaped for a 3x3 output with kernel k
        ck = inp.shape[1] * k * k
        blocks = [(3 + 2 * pad - dil * (k - 1) - 1) // stride + 1 for _ in range(2)]
        cols = _filled(lib, inp, (1, ck, blocks[0] * blocks[1]))
        return F.fold(cols, (3, 3), k, dilation=dil, padding=pad, stride=stride)
    if kind == "pad":
        mode = ("constant", "reflect", "replicate", "circular")[ints[4] % 4]
        if mode == "constant":
            pads = [ints[2] % 3 - 1, ints[3] % 2][: 2 if n <= 1 else 2 + 2 * (ints[1] % 2)]
            pads = (pads + [1, -1])[: len(pads)]
            return F.pad(x, pads, value=val if ints[1] % 2 else None)
        # the others want a batch (and channel) dim: 2-d or 3-d input for 1-d padding
        inp = x if n in (2, 3) else _filled(lib, x, (1, 2, 3))
        if inp.dtype == lib.bool and mode != "circular":
            inp = inp.long()  # torch has no bool reflect/replicate kernel, chainrule has
        return F.pad(inp, [ints[2] % 3, ints[3] % 3], mode=mode)
    if kind == "interpolate":
        return _interpolate(lib, F, x, ints)
    if kind == "embedding":
        vocab, dim = 2 + ints[2] % 3, 1 + ints[3] % 3
        # a real weight: torch looks up complex rows under forward AD (and refuses them in
        # reverse mode), chainrule refuses both (a documented limitation of its complex
        # tangents, autograd/forward_tangents.py), not mirrored
        weight = _filled(lib, x.real if x.is_complex() else x, (vocab, dim))
        max_norm = abs(val) if ints[3] % 2 else None
        if (ints[1] % 2 == 0 and weight.requires_grad) or max_norm is not None:
            # a non-leaf copy: max_norm writes into it. Always one with max_norm: for a
            # LAPACK result slot (column-major in torch, row-major in chainrule: a known
            # layout gap, tests/ops/test_result_layouts_session42_survey.py) _filled's
            # reshape is a copy in torch and a view in chainrule, so the write would reach
            # the slot in chainrule only (session 42, seed 975: a version error in
            # chainrule's backward only)
            weight = weight * 1
        idx = lib.tensor(np.random.default_rng(ints[4]).integers(0, vocab, (2, 2)))
        pad_idx = (None, 0, -1)[ints[4] % 3]
        return F.embedding(idx, weight, padding_idx=pad_idx, max_norm=max_norm)
    if kind == "activation":
        return _activation(lib, F, x, other, ints, val)
    if kind == "dtype_reduce":
        dt = (lib.float64, lib.float32, lib.int64)[ints[2] % 3]
        op = ("cumsum", "cumprod", "sum", "mean", "prod", "softmax", "log_softmax")[ints[4] % 7]
        if dt == lib.int64 and x.requires_grad:
            # torch refuses a reduction or scan of a tensor that requires grad into an integer
            # dtype ("Autograd not support dtype: Long"), chainrule returns the integer result
            # without a gradient history (as x.to(int64) in both); not mirrored
            x = x.detach()
        if op in ("sum", "prod", "mean") and ints[3] % 2:
            return getattr(x, op)(dtype=dt)
        return getattr(x, op)(d, dtype=dt)
    if kind == "sort_ties":
        y = (x * 2).round() / 2 if x.is_floating_point() else x  # many ties
        desc = bool(ints[4] % 2)
        which = ints[3] % 4
        # dim by keyword: torch's sort/argsort take stable= only in an overload where every
        # argument is a keyword (sort(0, stable=True) is a TypeError), chainrule's in any
        if which == 0:
            return y.sort(dim=d, descending=desc, stable=True)[0]
        if which == 1:
            return y.sort(dim=d, descending=desc, stable=True)[1]
        if which == 2:
            return y.argsort(dim=d, descending=desc, stable=True)
        k = ints[2] % ((shape[d] if n else 1) + 1)
        return y.topk(k, d, largest=desc)[0]  # values only: the tied indices are unspecified
    if kind == "promote":
        return _promote(lib, x, other, ints, val)
    if kind == "out_variant":
        return _out(lib, x, other, ints, val)
    if kind == "normalize":
        which = ints[4] % 3
        # no zeros: the second derivative of a norm at 0 is NaN in torch and 0 in chainrule
        # (a known difference, test_found_cases.py, xfail), and a zero line of x or y (a
        # loss of 0, a variance of one element) puts one under each of these; steered
        # around as the norm steps
        x = _off_zero(x)
        if which == 0:
            return F.normalize(x, p=(1.0, 2.0, 3.0)[ints[2] % 3], dim=d - n if n else 0)
        y = _off_zero(_floating(lib, _fit(other, shape), x))
        if which == 1:
            if x.dtype == lib.float32 and n:
                # a float32 y varying along the dim: cosine_similarity is scale-invariant in
                # a y constant along it (a broadcast sum), so its derivatives in y are 0 by
                # cancellation, rounding residues in each library (a second derivative of
                # 0.0098 in one, -0.0098 in the other), past any float32 tolerance
                y = _spread(lib, y + lib.zeros(shape, dtype=y.dtype))
            return F.cosine_similarity(x, y, dim=d - n if n else 0)
        return F.pairwise_distance(x, y, p=(1.0, 2.0)[ints[2] % 2])
    raise AssertionError(kind)


def _promote(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    s = _scalar(lib, ints, val)
    op = ("add", "sub", "mul", "div", "pow", "maximum", "where", "remainder", "lt", "atan2",
          "true_divide", "floor_divide")[ints[4] % 12]  # fmt: skip
    if ints[3] % 3 == 2:  # a 0-d slot of the program as the other operand
        s = other.sum()
    swap = bool(ints[1] % 2)
    if op == "where":
        return lib.where(x > 0, s, x) if swap else lib.where(x > 0, x, s)
    if op == "pow" and swap and isinstance(s, bool):
        s = int(s)  # torch's backward of True ** x fails an internal assert (a torch bug)
    if op == "pow" and swap and not bool(s != 0):
        # no zero base: the second derivative of 0 ** x is NaN in torch and 0 in chainrule
        # (a known difference, test_found_cases_forward.py, xfail), steered around as in pow_t
        s = s.logical_not() if isinstance(s, lib.Tensor) and s.dtype == lib.bool else s + 1
    if op == "atan2" and isinstance(s, lib.Tensor) and s.dtype == lib.bool:
        s = s.long()  # a 0-d bool tensor: the same torch bug as a bool number just below
    if op in ("maximum", "atan2") and not isinstance(s, lib.Tensor):
        # not a bool for atan2: torch's backward negates it and fails (a torch bug)
        s = lib.tensor(int(s) if op == "atan2" and isinstance(s, bool) else s)
    if op in ("sub",) and x.dtype == lib.bool and (isinstance(s, bool) or swap):
        op = "add"  # bool - bool: both refuse, not interesting
    if op in ("remainder", "floor_divide") and not (x.is_floating_point()):
        if (isinstance(s, (int, bool)) and not s) or (
            isinstance(s, lib.Tensor) and not s.is_floating_point() and not bool(s != 0)
        ):
            s = 3  # integer division by zero: both raise, but differently worded
    if op == "pow" and not isinstance(s, lib.Tensor) and not x.is_floating_point():
        if isinstance(s, (int, bool)) and s < 0:
            s = -s  # integers to negative integer powers: both raise
    if op in ("remainder", "floor_divide"):
        # the dividend off the jumps: a float32 sum of the divisor's own (repeated) elements
        # is a multiple of it up to rounding, on either side of the jump in each library
        # (seed 954: 12 x summed, remainder 0 in torch, x in chainrule)
        if swap and isinstance(s, lib.Tensor) and s.is_floating_point():
            s = s + 0.0123
        elif not swap and x.is_floating_point():
            x = x + 0.0123
    f = getattr(lib, op)
    if swap and isinstance(s, lib.Tensor):
        return f(s, x)
    if swap and op in ("add", "sub", "mul", "div", "pow", "true_divide"):
        return {"add": lambda: s + x, "sub": lambda: s - x, "mul": lambda: s * x,
                "div": lambda: s / x, "pow": lambda: s**x,
                "true_divide": lambda: s / x}[op]()  # fmt: skip
    return f(x, s)


def _out(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """An ``out=`` call into a fresh buffer of some shape and dtype; returns the buffer."""
    shape = tuple(x.shape)
    y = _fit(other, shape)
    dt = (x.dtype, x.dtype, lib.float64, lib.float32, lib.int64)[ints[2] % 5]
    bshape = shape if ints[3] % 3 else (0,)  # an empty buffer is resized without a warning
    buf = lib.zeros(bshape, dtype=dt)
    which = ints[4] % 6
    if ints[1] % 2 == 0:  # no gradient: torch refuses out= of tensors that require grad
        x, y = x.detach(), y.detach()
    if which == 0:
        lib.add(x, y, alpha=2 if not x.is_floating_point() else val, out=buf)
    elif which == 1:
        lib.mul(x, y, out=buf)
    elif which == 2:
        lib.clamp(x, min=-abs(val), out=buf)
    elif which == 3:
        lib.cumsum(x, _dim(x, ints[1]), out=buf)
    elif which == 4:
        lib.where(x > 0, x, y, out=buf)
    else:
        # an integer x in float64: its exp is computed in float32 (the default dtype), an
        # ulp apart in the two libraries, then written to a float64 buffer, which is compared
        # at float64 tolerance
        lib.exp(x if x.is_floating_point() else x.double(), out=buf)
    return buf


def nn_inplace(lib: Any, kind: str, x: Any, other: Any, ints: tuple, val: float) -> None:
    """One in-place step of kind ``kind`` on ``x`` (``other``: another slot)."""
    F = lib.nn.functional
    if any(st == 0 and k > 1 for st, k in zip(x.stride(), tuple(x.shape))):
        x.add_(val)  # into an expanded tensor: known differences, not fuzzed
        return
    if kind == "activation_":
        which = ints[4] % 7
        if which == 0:
            F.relu(x, inplace=True)
        elif which == 1:
            F.leaky_relu_(x, val)
        elif which == 2:
            F.hardtanh_(x, -abs(val), abs(val))
        elif which == 3:
            F.elu_(x, abs(val))
        elif which == 4:
            F.threshold_(x, val, -abs(val))
        elif which == 5 and x.is_complex():
            # torch's in-place silu skips the complex-autograd check its out-of-place form
            # makes, and its backward is then not the complex gradient of z * sigmoid(z)
            # (seed 982): a torch bug, not mirrored (chainrule refuses both forms)
            x.mul_(val)
        elif which == 5:
            F.silu(x, inplace=True)
        else:
            F.dropout(x, p=0.0, training=bool(ints[3] % 2), inplace=True)
        return
    if kind == "out_into":  # out= an existing slot: x is written (torch resizes if needed)
        y = _fit(other, tuple(x.shape)).detach()
        if x.numel() == 0:
            # no resize of an empty x: torch (its storage shared with NumPy by the observation)
            # raises and leaves x 0-d over a 0-byte storage, and reading it crashes (a torch bug)
            y = y.expand(tuple(x.shape))
        if y.dtype == lib.bool and x.requires_grad:
            # torch refuses add(bool, bool, out=x) into an x requiring grad (add is a
            # differentiable op), chainrule exempts every bool result (meant for comparisons'
            # masks): reported (ops/keywords.py), not fuzzed
            y = y.long()
        if ints[1] % 2:
            lib.mul(y, val, out=x)
        else:
            lib.add(y, y, out=x)
        return
    raise AssertionError(kind)
