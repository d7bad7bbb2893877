"""Body steps of the ``torch.func`` fuzzer added in session 44 (:mod:`.bodies` draws them with
its own): ``einsum`` of three operands with a broadcast ellipsis, ``pad`` with a negative and
a positive pad (a crop and a fill, constant and replicate), ``rot90`` by two, numerical
``gradient`` / ``diff`` with prepend / ``cumulative_trapezoid`` along the last dim, linear
``interpolate`` up and back down, complex ``exp`` and ``svdvals`` of a complex matrix read
back as real numbers, and ``nll_loss`` with an ignored target, which the transforms must
see through as torch.func does.

Every step keeps the shape of the running value (a reduced value is multiplied back into
it), so :func:`~.bodies.shape_after` needs nothing from this table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["S44_STEPS", "S44_COMPOSED", "apply_s44", "s44_steps_for"]

S44_STEPS = ("einsum3", "pad_crop", "rot180", "gradient_d", "diff_pre", "cumtrapz",
             "interp_rt", "cplx_exp", "svdvals_c", "nll_ign")  # fmt: skip
# steps :func:`.bodies.steer` puts in for others (their formula)
S44_COMPOSED = ("pnorm_bcast_c", "cplx_exp_c", "svdvals_cc")


def s44_steps_for(shape: tuple) -> list:
    """The names of this table valid for a running value of ``shape``."""
    if not shape or 0 in shape:
        return ["cplx_exp"]
    out = ["einsum3", "pad_crop", "diff_pre", "cumtrapz", "interp_rt", "cplx_exp", "svdvals_c"]
    out.append("nll_ign")
    if len(shape) == 2:
        out.append("rot180")
    if shape[-1] >= 2:
        out.append("gradient_d")
    return out


def apply_s44(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    name, a = step
    F = lib.nn.functional
    if name == "pnorm_bcast_c":
        # bodies_s38's pnorm_bcast composed of its formula (see bodies.steer)
        r = h.dim()
        d = a % r - r if a % 2 == 0 else a % r
        p = 1.5 if a % 2 else 3.0
        return h * ((h.tanh() + 1.5) ** p).sum(d, keepdim=True) ** (1 / p)
    if name == "cplx_exp_c":  # cplx_exp by real arithmetic (see bodies.steer)
        if a % 2:
            s = h.sin()
            return (h * 0.5).exp() * (s.cos() + s.sin())
        name = "cplx_exp"  # (torch runs the other variant)
    if name == "svdvals_cc":
        # in svdvals_c's place (see bodies.steer): a 1-row matrix's one singular value is
        # its row's norm, |z| by real arithmetic; else the real matrix re + im's (the real
        # 2m x 2n form of a complex matrix doubles every singular value, and at repeated
        # ones the libraries' second derivatives differ: not the same function there)
        m = h.reshape(1, -1) if h.dim() == 1 else h
        if m.shape[0] == 1:
            return (m * m + m.cos() ** 2).sum().sqrt() * h
        return lib.linalg.svdvals(m + m.cos()).sum() * h
    if name == "einsum3":
        if h.dim() == 1:
            return lib.einsum("i,i,j->j", h, h.flip(0), h) * 0.25
        spec = ("...j,...j,...k->...k", "ij,kj,kl->il")[a % 2]
        return lib.einsum(spec, h, h.tanh(), h) * 0.25
    if name == "pad_crop":
        lo = 1 + a % 2
        if a % 3 == 2:  # replicate: a 2-d (channels, width) or 3-d input
            u = h if h.dim() == 2 else h[None]
            out = F.pad(u, (-min(lo, h.shape[-1] - 1), min(lo, h.shape[-1] - 1)), mode="replicate")
            return out if h.dim() == 2 else out[0]
        return F.pad(h, (lo, -lo) if a % 2 else (-lo, lo), value=0.5)
    if name == "rot180":
        return lib.rot90(h, 2 if a % 2 else -2, (0, 1))
    if name == "gradient_d":
        return lib.gradient(h, spacing=0.5 + a % 3, dim=-1)[0]
    if name == "diff_pre":
        return lib.diff(h, dim=-1, prepend=h[..., :1] * 0.5)
    if name == "cumtrapz":
        c = lib.cumulative_trapezoid(h, dx=0.5 + a % 2, dim=-1)
        return F.pad(c, (1, 0))
    if name == "interp_rt":
        n = h.shape[-1]
        u = h[None] if h.dim() == 1 else h[None]  # (1, C, W)
        up = F.interpolate(u, size=2 * n + a % 2, mode="linear", align_corners=bool(a % 2))
        back = F.interpolate(up, size=n, mode="linear", align_corners=bool(a // 2 % 2))
        return back[0]
    if name == "cplx_exp":
        z = lib.complex(h * 0.5, h.sin())
        e = lib.exp(z) if a % 2 else z * z.conj().sqrt()
        return e.real + e.imag
    if name == "svdvals_c":
        m = h.reshape(1, -1) if h.dim() == 1 else h
        z = lib.complex(m, m.cos())
        return lib.linalg.svdvals(z).sum() * h
    # nll_ign: rows of h as logits of a class each, the row with target 0 ignored
    m = h.reshape(1, -1) if h.dim() == 1 else h
    c = m.shape[-1]
    tgt = lib.arange(m.shape[0]) % c
    ign = 0 if a % 2 else -100
    loss = F.nll_loss(m.log_softmax(-1), tgt, ignore_index=ign, reduction="sum")
    return loss * h
