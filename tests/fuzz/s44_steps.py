"""Step kinds for :mod:`tests.fuzz.programs`, session 44: ``einsum`` with random subscripts
(repeated indices, broadcast ellipsis, implicit output, the sublist form, three operands),
``torch.gradient`` (spacing as a scalar, a list or coordinates, ``edge_order``) and ``diff``
with ``n > 1`` and prepend/append, ``pad`` with negative pads in every mode, ``roll`` /
``flip`` / ``rot90`` / ``movedim`` of views (transposed, stepped, expanded), complex linear
algebra (``eigvals``, ``svdvals``, ``matrix_exp``, ``det``, ``inv``, ``solve``) read back as
real numbers, ``interpolate`` at edge sizes (size-1 inputs and outputs, fractional scales,
``align_corners`` and ``recompute_scale_factor``), losses with ``ignore_index`` and class
weights (all targets ignored, label smoothing), ``Tensor.unfold`` with steps past the size
and ``tensordot`` / ``kron`` / ``block_diag`` / ``cartesian_prod`` of odd shapes.

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .nn_step_parts import _filled

__all__ = ["S44", "s44_step"]

S44 = ("einsum_rand", "grad_num", "pad_neg", "roll_view", "complex_linalg", "interp_edge",
       "loss_ignore", "unfold_step", "contract_odd")  # fmt: skip


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


# (operand subscripts, output or None for the implicit form); letters repeated within one
# operand take its diagonal, "..." broadcasts (sizes 1 and 2 against each other)
_EINSUM = (
    (("ij", "jk"), "ik"), (("ij", "jk"), None), (("ii",), ""), (("ii",), "i"),
    (("ij",), "ji"), (("i", "j"), "ij"), (("...i", "...i"), "..."), (("i...", "i..."), "..."),
    (("bij", "bjk"), "bik"), (("ij", "jk", "kl"), "il"), (("iij", "j"), "i"),
    (("...ij", "jk"), "...ik"), (("i", "i"), ""), (("ij", "ij"), "ij"), (("ijk",), "kji"),
    (("ab", "b...", "a"), "..."), (("ij",), ""), (("ji", "j"), None),
)  # fmt: skip


def _einsum(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``einsum`` with a spec of ``_EINSUM``: operand shapes chosen to match (2 or 3 per
    letter, 1 or 2 for the ellipsis' dims), all filled from ``x`` and ``other``."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    ins, out = _EINSUM[(ints[4] + 5 * ints[0]) % len(_EINSUM)]
    size = {c: 2 + (ord(c) + ints[1]) % 2 for c in "abijkl"}
    ell = ((1,), (2,), (2, 1), (1, 2))[ints[2] % 4]
    ops = []
    for n, sub in enumerate(ins):
        shape: list[int] = []
        for c in sub.replace("...", "."):
            shape += list(ell[-(n % 2 + 1) :] if c == "." else (size[c],))
        src = v if n % 2 == 0 else o
        ops.append(_filled(lib, src, tuple(shape)) * (1.0 + 0.25 * n))
    spec = ",".join(ins) + ("" if out is None else "->" + out)
    if ints[3] % 3 == 0 and "." not in spec and len(ins) == 2:
        # the sublist form: letters as integers
        num = {c: k for k, c in enumerate("abijkl")}
        args: list[Any] = []
        for t, sub in zip(ops, ins):
            args += [t, [num[c] for c in sub]]
        if out is not None:
            args.append([num[c] for c in out])
        return lib.einsum(*args)
    if ints[3] % 3 == 1:
        return lib.einsum(spec, ops)  # operands as one list
    return lib.einsum(spec, *ops)


def _grad_num(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``torch.gradient`` with each way of giving the spacing, and ``diff`` of higher order
    with prepend / append."""
    v = _float(lib, x)
    r, c = 2 + ints[1] % 3, 3 + ints[2] % 3
    m = _filled(lib, v, (r, c))
    f = ints[4] % 7
    eo = 1 + ints[3] % 2  # edge_order 2 needs 3 points along the dim: a size-2 dim refuses
    if f == 0:
        return lib.gradient(m, edge_order=eo)[ints[0] % 2]
    if f == 1:
        return lib.gradient(m, spacing=val, dim=ints[0] % 2, edge_order=eo)[0]
    if f == 2:
        g = lib.gradient(m, spacing=[2.0, abs(val) + 0.5], dim=(0, 1), edge_order=eo)
        return g[0] + g[1]
    if f == 3:  # coordinates: unevenly spaced, increasing
        coords = lib.tensor([0.0, 0.5, 2.0, 2.25, 4.0, 7.0][:c], dtype=v.dtype)
        return lib.gradient(m, spacing=(coords,), dim=1, edge_order=eo)[0]
    if f == 4:
        return lib.gradient(m.reshape(-1), spacing=val, edge_order=eo)[0]
    n = 1 + ints[0] % 3
    pre = _filled(lib, _float(lib, other).to(v.dtype), (r, 1 + ints[3] % 2))
    if f == 5:
        return lib.diff(m, n=n, dim=-1, prepend=pre if ints[1] % 2 else None, append=pre)
    return m.t().diff(n, 0, append=pre.t()) if ints[2] % 2 else m.diff(n, 0)


def _pad_neg(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``F.pad`` with some pads negative (a crop) in every mode, on 1-3 padded dims."""
    v = _float(lib, x)
    F = lib.nn.functional
    mode = ("constant", "reflect", "replicate", "circular")[ints[4] % 4]
    nd = 1 + ints[0] % 3
    shape = (1, 2) + (3, 4, 3)[:nd]
    inp = _filled(lib, v, shape)
    raw = (-1, 1, -2, 2, 0, -1)
    pads = [raw[(ints[1] + 2 * k + ints[2] * k) % len(raw)] for k in range(2 * nd)]
    if ints[3] % 3 == 0:
        pads[0] = -(shape[-1] - 1)  # a crop to one element
    if mode == "constant":
        return F.pad(inp, pads, value=val)
    if mode == "reflect" and nd == 3:
        # no dim cropped to empty: torch's gradient of an empty 3-d reflect result is memory
        # it never wrote (seed 994: 4e252, a new value each run); chainrule's is zeros
        for k in range(nd):
            if shape[-1 - k] + pads[2 * k] + pads[2 * k + 1] < 1:
                pads[2 * k : 2 * k + 2] = [max(p, 0) for p in pads[2 * k : 2 * k + 2]]
    if mode == "circular":
        # a positive pad at most the size left after the dim's crops: torch wraps past the
        # cropped elements into memory it never wrote (seed 988: 6.9e-310 in the result),
        # chainrule refuses (a torch bug, not mirrored)
        for k in range(nd):
            left = shape[-1 - k] + min(pads[2 * k], 0) + min(pads[2 * k + 1], 0)
            pads[2 * k : 2 * k + 2] = [min(p, max(left, 0)) for p in pads[2 * k : 2 * k + 2]]
    return F.pad(inp, pads, mode=mode)


def _roll_view(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """roll / flip / rot90 / fliplr / movedim of a view (transposed, stepped, expanded)."""
    v = _float(lib, x)
    m = _filled(lib, v, (3, 4, 2))
    g = ints[2] % 4
    if g == 1:
        m = m.transpose(0, 2)
    elif g == 2:
        m = m[::2, 1::2]
    elif g == 3:
        m = m[:, :1].expand(3, 4, 2)
    f = ints[4] % 7
    s = (ints[1] % 9) - 4  # shifts past the size, negative too
    if f == 0:
        return m.roll(s)
    if f == 1:
        return lib.roll(m, (s, s + 1), (0, -1))
    if f == 2:
        return m.flip((0, 2)) * val
    if f == 3:
        return lib.rot90(m, ints[3] % 5 - 2, (ints[0] % 3, (ints[0] + 1) % 3))
    if f == 4:
        return lib.fliplr(m) + lib.flipud(m)
    if f == 5:
        return lib.movedim(m, (0, 1), (2, 0)).roll(1, 1).contiguous()
    return m.roll(s, ints[0] % 3).flip(1).rot90(1, (1, 2))


def _complex_linalg(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Linear algebra of a complex matrix made from ``x`` (real part) and ``other``
    (imaginary part), read back as real numbers (the gradient flows through both)."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    n = 2 + ints[1] % 2
    eye = lib.eye(n, dtype=v.dtype)
    re = _filled(lib, v, (n, n)).tanh() + 2.0 * eye  # diagonally dominant: invertible
    im = _filled(lib, o, (n, n)).tanh() * 0.5
    a = lib.complex(re, im)
    f = ints[4] % 7
    if f == 0:
        # the sum only: eigvals' order is the solver's, its gradient well defined
        e = lib.linalg.eigvals(a)
        return (e.real.sum() + e.imag.sum()) * v.sum() if ints[0] % 2 else e.abs().sum()
    if f == 1:
        return lib.linalg.svdvals(a)
    if f == 2:
        return lib.view_as_real(lib.linalg.matrix_exp(a * 0.5))
    if f == 3:
        d = lib.linalg.det(a)
        return lib.stack([d.real, d.imag, d.abs(), d.angle()])
    if f == 4:
        return lib.view_as_real(lib.linalg.inv(a)) * val
    if f == 5:
        b = lib.complex(_filled(lib, o, (n, 2)), _filled(lib, v, (n, 2)))
        return lib.view_as_real(lib.linalg.solve(a, b))
    s, ld = lib.linalg.slogdet(a)
    return lib.view_as_real(s) * ld


def _interp_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``interpolate`` from or to one element, with fractional scales (1/3, 0.7, 1.25)."""
    v = _float(lib, x)
    F = lib.nn.functional
    mode = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area")[ints[4] % 6]
    dims = 2 if mode in ("bilinear", "bicubic") else 1
    lens = (1, 2, 3, 5)
    inp = _filled(lib, v, (1, 2, *(lens[(ints[2] + k) % 4] for k in range(dims))))
    align = bool(ints[0] % 2) if mode in ("linear", "bilinear", "bicubic") else None
    if ints[3] % 2:
        size = tuple(lens[(ints[1] + 2 * k) % 4] for k in range(dims))
        return F.interpolate(inp, size=size, mode=mode, align_corners=align)
    scale = (1 / 3, 0.7, 1.25, 3.0, 0.5)[ints[1] % 5]
    rsf = (None, True, False)[ints[0] % 3]
    if mode in ("nearest", "bicubic") and all(int(n * scale) == n for n in tuple(inp.shape)[2:]):
        # a scale that keeps every size (1.25 of 1, 2, 3): torch's nearest and bicubic
        # backward kernels then copy the gradient as if the map were the identity, but the
        # forward used the scale (nearest of [a, b] by 1.25 is [a, a]: torch gives b a
        # gradient; seed 994). Chainrule's is the forward's derivative: the scale recomputed
        # to 1 instead, where both are the identity
        rsf = True
    return F.interpolate(
        inp, scale_factor=scale, mode=mode, align_corners=align, recompute_scale_factor=rsf
    )


def _loss_ignore(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """nll_loss / cross_entropy with ``ignore_index`` (some or all targets ignored) and
    class weights, label smoothing, the 2-d (N, C, d) form, and each reduction."""
    v = _float(lib, x)
    F = lib.nn.functional
    c = 3
    spatial = bool(ints[0] % 2)
    shape = (2, c, 2) if spatial else (4, c)
    logits = _filled(lib, v, shape)
    tshape = (2, 2) if spatial else (4,)
    ign = (-100, 1, 2)[ints[1] % 3]
    raw = lib.tensor([0, 1, 2, 1][:4], dtype=lib.int64).reshape(tshape)
    if ints[2] % 3 == 0:
        raw = lib.full(tshape, ign if ign >= 0 else 1, dtype=lib.int64)  # all ignored
        ign = int(raw.reshape(-1)[0])
    elif ign < 0:
        raw = raw.masked_fill(lib.tensor([True, False, False, True]).reshape(tshape), -100)
    w = lib.tensor([0.5, 2.0, 1.0], dtype=v.dtype) if ints[3] % 2 else None
    red = ("mean", "sum", "none")[ints[4] % 3]
    if ints[4] // 3 % 2:
        ls = (0.0, 0.1, 0.5)[ints[3] % 3]
        return F.cross_entropy(logits, raw, weight=w, ignore_index=ign, reduction=red,
                               label_smoothing=ls)  # fmt: skip
    return F.nll_loss(logits.log_softmax(1), raw, weight=w, ignore_index=ign, reduction=red)


def _unfold_step(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``Tensor.unfold`` (a view) with a step past the size, a window of the whole dim,
    of a non-contiguous input, then written through or reduced."""
    v = _float(lib, x)
    m = _filled(lib, v, (4, 5))
    if ints[2] % 2:
        m = m.t()
    d = ints[0] % 2
    n = m.shape[d]
    size = (1, 2, n, 3)[ints[1] % 4]
    step = (1, 2, 3, 5)[ints[3] % 4]
    u = m.unfold(d, size, step)
    f = ints[4] % 4
    if f == 0:
        return u * val
    if f == 1:
        return u.sum(-1) + u.amax(-1)
    if f == 2:
        return u.unfold(-1, 1, 1).reshape(-1)
    return u.transpose(-1, -2).contiguous().flatten()


def _contract_odd(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """tensordot with dims as an int (0 too) or lists, kron of different ranks, block_diag
    of 0-d / 1-d / empty pieces, cartesian_prod of one or three vectors."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    f = ints[4] % 6
    if f == 0:
        a, b = _filled(lib, v, (2, 3)), _filled(lib, o, (3, 2))
        return lib.tensordot(a, b, dims=ints[1] % 2)  # 0: the outer product
    if f == 1:
        a, b = _filled(lib, v, (2, 3, 2)), _filled(lib, o, (2, 3, 2))
        dims = (([0, 1], [0, 1]), ([2, 0], [0, 2]), ([1], [1]))[ints[2] % 3]
        return lib.tensordot(a, b, dims=dims)
    if f == 2:
        a = _filled(lib, v, ((2,), (2, 1), (1, 2, 2))[ints[1] % 3])
        b = _filled(lib, o, ((3,), (2, 2))[ints[2] % 2])
        return lib.kron(a, b)
    if f == 3:
        pieces = [v.sum(), _filled(lib, o, (2,)), _filled(lib, v, (2, 1)), lib.zeros(0, 2)]
        pieces[3] = pieces[3].to(v.dtype)
        keep = [p for k, p in enumerate(pieces) if (ints[2] >> k) % 2 or k == 0]
        return lib.block_diag(*keep)
    if f == 4:
        vecs = [_filled(lib, v, (2,)), _filled(lib, o, (3,)), _filled(lib, v, (1,))]
        return lib.cartesian_prod(*vecs[: 1 + ints[1] % 3]) * val
    a = _filled(lib, v, (2, 2))
    return lib.linalg.multi_dot([a, _filled(lib, o, (2, 3)), _filled(lib, v, (3,))])


def s44_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``: another slot; ``third`` unused)."""
    fn = {
        "einsum_rand": _einsum, "grad_num": _grad_num, "pad_neg": _pad_neg,
        "roll_view": _roll_view, "complex_linalg": _complex_linalg,
        "interp_edge": _interp_edge, "loss_ignore": _loss_ignore,
        "unfold_step": _unfold_step, "contract_odd": _contract_odd,
    }[kind]  # fmt: skip
    return fn(lib, x, other, ints, val)
