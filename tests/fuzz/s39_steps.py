"""Step kinds for :mod:`tests.fuzz.programs`, session 39: ``torch.masked``'s ``MaskedTensor``
(construction, elementwise ops, reductions, ``to_tensor``/``get_data``/``get_mask``), the
``torch.masked`` reductions over dim tuples with ``keepdim`` and ``dtype=``, the n-dimensional
Hermitian FFTs (``hfftn``/``ihfftn``) and FFTs with ``out=``, cropping ``s``, ``dim=None``
with ``s``, and integer/bool inputs, and losses with weights, reductions and the options the
other tables leave out (``triplet_margin_with_distance_loss`` with ``swap`` and a custom
distance, broadcasting ``pos_weight``, ``huber_loss`` ``delta``, ``smooth_l1_loss``
``beta=0``, ``poisson_nll_loss`` ``full``/``eps``).

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .more_steps import _dim
from .nn_step_parts import _filled

__all__ = ["S39", "s39_step"]

S39 = ("mtensor", "masked_dims", "fft_hn", "fft_out", "loss_opts")


def _real(x: Any) -> Any:
    return x.real if x.is_complex() else x


def _float(lib: Any, x: Any) -> Any:
    x = _real(x)
    return x if x.is_floating_point() else x.double()


def _mtensor(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """MaskedTensor on detached data: torch 2.13's gradient of a plain tensor that went
    through ``as_masked_tensor`` is itself a MaskedTensor (a prototype feature, its ``.grad``
    not a plain tensor), chainrule's a plain one; not mirrored: forward values only."""
    M = lib.masked
    data = _float(lib, x).detach()
    # > 0.3: a threshold no step lands on (smooth_l1 with beta=0 below is 0.125 plus an
    # ulp in one library, exactly 0.125 in the other, seed 950), nor 0's rounding residues
    mask = _filled(lib, _real(other).detach(), tuple(data.shape)) > 0.3
    mt = M.masked_tensor(data, mask)
    f = ints[4] % 10
    if f == 0:
        return (mt.exp() * 2 + mt).to_tensor(val)
    if f == 1:
        other_mt = M.masked_tensor(data.abs() + 1, mask)
        return (mt / other_mt - mt).to_tensor(0.0)
    if f == 2:
        name = ("sum", "mean", "amax", "amin", "prod")[ints[3] % 5]
        if data.dim() == 0 or ints[2] % 2:
            # a 0-d MaskedTensor: its value read through to_tensor
            return getattr(mt, name)().to_tensor(val)
        return getattr(mt, name)(_dim(data, ints[1])).to_tensor(val)
    if f == 3:
        return mt.get_mask().long() + mt.get_data()
    if f == 4:
        return (-mt.abs()).sin().to_tensor(val)
    if f == 5:
        # argmax over a dim: masked-out elements never chosen (a line with none is 0)
        if data.dim() == 0:
            return mt.sum().get_data()
        return mt.argmax(_dim(data, ints[1])).to_tensor(-1)
    if f == 6:
        return M.as_masked_tensor(data, mask).clamp(-0.5, 0.5).to_tensor(val)
    if f == 7:
        if not data.dim():
            return data * 0
        # contiguous: torch 2.13's MaskedTensor softmax of a non-contiguous (transposed)
        # tensor reads its elements in the wrong order (garbage and NaN, seed 938); a torch
        # bug, not mirrored
        mt = M.masked_tensor(data.contiguous(), mask.contiguous())
        return mt.softmax(_dim(data, ints[1])).to_tensor(0.0)
    if f == 8:
        # (not mt.T / permute: torch 2.13's MaskedTensor has no permute handler, TypeError)
        return (mt.abs() + 1).sqrt().to_tensor(val) * 1
    # > 0.3, not > 0: a value 0 in one library is a rounding residue (1e-17) in the other
    return (mt > 0.3).to_tensor(False).long() + (mt.pow(2) + 1).log().to_tensor(0.0)


def _dims(x: Any, ints: tuple) -> tuple:
    n = x.dim()
    if n == 0:
        return ()
    first = ints[1] % n
    second = (first + 1 + ints[2] % max(n - 1, 1)) % n
    return (first,) if n == 1 else (first, second - n)


def _masked_dims(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    M = lib.masked
    x = _real(x)
    mask = _filled(lib, _real(other), tuple(x.shape)) > 0.3  # (see _mtensor)
    if ints[3] % 5 == 4:
        mask = None
    dims = _dims(x, ints)
    keep = bool(ints[0] % 2)
    f = ints[4] % 7
    if f == 0:
        dt = (None, lib.float64, lib.float32, lib.int64)[ints[3] % 4]
        if dt == lib.int64:
            # torch refuses a sum of a tensor that requires grad into an integer dtype
            # ("Autograd not support dtype: Long"), chainrule returns it without a history
            # (known, not mirrored: nn_steps.py "dtype_reduce")
            x = x.detach()
        return M.sum(x, dims, keepdim=keep, dtype=dt, mask=mask)
    if f == 1:
        if not x.is_floating_point():
            return M.mean(x, dims, keepdim=keep, dtype=lib.float64, mask=mask)
        return M.mean(x, dims, keepdim=keep, mask=mask)
    if f == 2:
        # a single dim: torch.masked.prod takes one dim only (both refuse a tuple)
        d = dims[0] if dims else None
        return M.prod(x, d, keepdim=keep, mask=mask) if d is not None else M.prod(x, mask=mask)
    if f == 3:
        name = "amax" if ints[2] % 2 else "amin"
        y = x.long() if x.dtype == lib.bool else x
        return getattr(M, name)(y, dims, keepdim=keep, mask=mask)
    if f == 4:
        y = _float(lib, x)
        if mask is not None:
            # the first element of each line kept: over no element the result is -inf, whose
            # NaN tangent later steps propagate each their own way at a kink (torch's
            # tangent of |z| at z = 0 is NaN, chainrule's 0; seed 951)
            first = lib.ones(tuple(y.shape), dtype=lib.bool)
            for d in dims:  # the first element of each line reduced
                view = [1] * y.dim()
                view[d] = y.shape[d]
                first = first & (lib.arange(y.shape[d]) == 0).reshape(view)
            mask = mask | first
        return M.logsumexp(y, dims, keepdim=keep, mask=mask)
    if f == 5:
        y = _float(lib, x) + 0.125  # off 0: the norm has no derivative at 0
        ord_ = (2.0, 1.0, float("inf"), 3.0)[ints[2] % 4]
        return M.norm(y, ord_, dims, keepdim=keep, mask=mask)
    y = _float(lib, x)
    if ints[2] % 2:
        # alone: a float32 sum is summed in each library's own order (an ulp apart, seed
        # 938), which a float64 operand added to it would compare at float64 tolerance
        return M.sum(y * 2, dims, keepdim=keep, dtype=lib.float32, mask=mask)
    return M.sum(y * 2, dims, keepdim=keep, mask=mask) + M.mean(y, dims, keepdim=keep)


def _fft_hn(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    F = lib.fft
    y = _real(x)
    if y.is_floating_point():
        # an infinity into an FFT: which outputs are inf and which inf - inf = NaN follows
        # the FFT's butterfly order (torch's pocketfft and NumPy's differ; core seed 987);
        # steered: infinities become +-4 (a NaN spreads alike in both)
        y = lib.where(y.isinf(), y.sign() * 4, y)
    if y.dim() == 0:
        y = y.reshape(1)
    norm = (None, "ortho", "forward", "backward")[ints[2] % 4]
    f = ints[4] % 4
    if f == 0:
        z = F.ihfftn(y if y.is_floating_point() else y.double(), norm=norm)
        return z.real * 1 + z.imag
    if f == 1:
        # hfftn of a real (or integer) input: treated as Hermitian, output real
        s = None if ints[3] % 2 else (2 + ints[1] % 3,)
        return F.hfftn(y, s=s, dim=(-1,), norm=norm)
    if f == 2:
        # round trip over all dims, the last one's length given
        z = F.ihfftn(_float(lib, y))
        return F.hfftn(z, s=tuple(y.shape), norm=norm)
    # ihfftn over a dim tuple with cropping s
    d = _dim(y, ints[1])
    z = F.ihfftn(_float(lib, y), s=(max(1, y.shape[d] - ints[3] % 2),), dim=(d,), norm=norm)
    return z.abs() + 0.0 if ints[0] % 2 else z.imag


def _fft_out(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    F = lib.fft
    y = _real(x)
    if y.dim() == 0:
        y = y.reshape(1)
    norm = (None, "ortho", "forward")[ints[2] % 3]
    f = ints[4] % 6
    if f == 0:
        # out=: a detached input (torch refuses out= where an input requires grad)
        src = y.detach()
        cd = lib.complex128 if src.dtype != lib.float32 else lib.complex64
        out = lib.empty((0,), dtype=cd)
        F.fft(src, norm=norm, out=out)
        return out.real * 1
    if f == 1:
        src = _float(lib, y).detach()
        out = lib.empty(tuple(src.shape), dtype=src.dtype)
        return F.irfft(F.rfft(src), n=src.shape[-1], norm=norm, out=out) * 1
    if f == 2:
        # dim=None with s: the last len(s) dims
        s = (1 + ints[3] % 3,) * min(2, y.dim())
        return F.fftn(y, s=s, norm=norm).abs()
    if f == 3:
        # cropping and padding n in one dim of an integer/bool input (promoted to complex)
        n = 1 + ints[3] % 4
        return F.fft(y, n=n, dim=_dim(y, ints[1]), norm=norm).real
    if f == 4:
        # rfft of float32: complex64 result, the gradient cast back
        return F.rfft(_float(lib, y).float(), norm=norm).abs() * 1
    return F.ifft2(y.reshape(1, -1) if y.dim() == 1 else y, dim=(0, -1), norm=norm).imag


def _loss_opts(lib: Any, x: Any, other: Any, third: Any, ints: tuple, val: float) -> Any:
    F = lib.nn.functional
    v = _float(lib, x)
    red = ("mean", "sum", "none")[ints[3] % 3]
    nb, c = 1 + ints[1] % 3, 1 + ints[2] % 3
    # finite: at an infinite or NaN operand (a masked logsumexp over nothing is -inf, a
    # masked mean over nothing NaN) torch 2.13's second derivative of huber_loss is NaN,
    # chainrule's 0 (seeds 942, 949); not mirrored
    a = _filled(lib, v, (nb, c)).nan_to_num(0.0, 1e3, -1e3)
    b = _filled(lib, _float(lib, other).to(v.dtype), (nb, c)).nan_to_num(0.0, 1e3, -1e3)
    f = ints[4] % 7
    if f == 0:
        p = _filled(lib, _float(lib, third).to(v.dtype), (nb, c))
        dist = None
        if ints[0] % 2:

            def dist(u: Any, w: Any) -> Any:
                return (u - w).abs().sum(-1)

        return F.triplet_margin_with_distance_loss(
            a, b, p + 0.5, distance_function=dist, margin=abs(val), swap=bool(ints[2] % 2),
            reduction=red,
        )  # fmt: skip
    if f == 1:
        # a (c,) pos_weight broadcast over the batch; detached (torch refuses its gradient)
        pw = _filled(lib, _float(lib, third).to(v.dtype), (c,)).abs().detach() + 0.25
        w = _filled(lib, b, (c,)).abs().detach() if ints[0] % 2 else None
        # bounded logits: at a logit of 100 the loss's float32 tangent is a difference of
        # two terms 15 times its size, and the libraries' float32 roundings of it part by
        # 1e-3 relative (seed 943); the float64 values agree
        return F.binary_cross_entropy_with_logits(
            a.tanh() * 4, b.sigmoid(), w, reduction=red, pos_weight=pw
        )
    if f == 2:
        # delta chosen off the drawn |a - b| (small integers: exact ties at the kink)
        return F.huber_loss(a, b, reduction=red, delta=(0.3, 1.7, 2.9)[ints[0] % 3])
    if f == 3:
        # beta=0: plain l1 (torch's documented special case); off the kink a == b
        return F.smooth_l1_loss(a + 0.125, b, reduction=red, beta=0.0)
    if f == 4:
        full = bool(ints[0] % 2)
        return F.poisson_nll_loss(
            a.abs() + 0.5, b.abs(), log_input=False, full=full, eps=1e-4, reduction=red
        )
    if f == 5:
        # target in {1, -1}; margin from val
        y = _filled(lib, _float(lib, third), (nb,)).sign().detach()
        y = y + (y == 0).to(y.dtype)
        return F.cosine_embedding_loss(a + 0.5, b + 0.25, y, margin=val / 4, reduction=red)
    # multilabel_margin: targets a -1 terminated list of class indices per row
    tgt = lib.tensor([[(i + j) % c if j < c - 1 else -1 for j in range(c)] for i in range(nb)])
    return F.multilabel_margin_loss(a, tgt, reduction=red)


_TABLE = {
    "mtensor": _mtensor,
    "masked_dims": _masked_dims,
    "fft_hn": _fft_hn,
    "fft_out": _fft_out,
}


def s39_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    if kind == "loss_opts":
        return _loss_opts(lib, x, other, third, ints, val)
    return _TABLE[kind](lib, x, other, ints, val)
