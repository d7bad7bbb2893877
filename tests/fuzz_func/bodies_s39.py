"""Body steps of the ``torch.func`` fuzzer added in session 39 (:mod:`.bodies` draws them with
its own): FFTs the earlier tables leave out (the real part of an orthonormal ``fftn`` over
every dim, a Hermitian round trip ``ihfft`` -> scale -> ``hfft`` with ``n`` along a dim),
``torch.masked`` reductions with a constant mask kept as a dim of one (``masked.mean``,
``masked.logsumexp``) and elementwise losses against ``y`` with ``reduction="none"``
(``kl_div`` with ``log_target``, ``smooth_l1_loss`` with ``beta``, ``poisson_nll_loss``
with ``full``), which the transforms must see through as torch.func does.

Every step keeps the running value's shape (the binary ones broadcast it with ``y``'s, as
the first table's :data:`~.bodies.BINARY`), so :func:`~.bodies.shape_after` needs only
:data:`S39_BINARY`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["S39_BINARY", "S39_STEPS", "apply_s39", "s39_steps_for"]

S39_BINARY = ("kldiv_y", "smoothl1_y", "poisson_y")
S39_SHAPED = ("fftn_re", "hfft_rt", "masked_mean", "masked_lse")
S39_STEPS = S39_BINARY + S39_SHAPED


def s39_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out: list = []
    if broadcasts:
        out += list(S39_BINARY)
    if shape:
        out += list(S39_SHAPED)
    return out


def _dim(shape: tuple, a: int) -> int:
    r = len(shape)
    return a % r - r if a % 2 == 0 else a % r


def _mask(lib: Any, shape: tuple, d: int, a: int) -> Any:
    """A constant mask keeping the first ``1 + a % n`` elements along ``d`` (never a line
    with none: its mean is 0/0), broadcast to ``shape``."""
    n = shape[d]
    keep = lib.arange(n) < 1 + a % n
    view = [1] * len(shape)
    view[d] = n
    return keep.reshape(view).expand(shape)


def apply_s39(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    F = lib.nn.functional
    name, a = step
    shape = tuple(h.shape)
    # both operands carry every vmap level (h + 0 y, y + 0 h): torch 2.13's batching rules
    # of the pointwise losses with reduction="none" (mse, smooth_l1, huber) lose a dim or
    # fail ("shape '[2, 1]' is invalid") when h and y are batched by different nested vmaps,
    # where chainrule's result is right (seed 3619, test_found_cases_s39.py, xfail)
    u, t = h + 0 * y, y + 0 * h
    if name == "kldiv_y":
        # (not huber_loss: torch 2.13 has no forward AD of its backward, so jacfwd of
        # jacrev and hessian refuse it; chainrule's composite has one, not mirrored)
        return F.kl_div(u, t, reduction="none", log_target=True)
    if name == "smoothl1_y":
        return F.smooth_l1_loss(u, t, reduction="none", beta=(0.5, 2.0)[a % 2])
    if name == "poisson_y":
        # (not soft_margin_loss: no forward AD of its backward in torch 2.13, as huber_loss)
        return F.poisson_nll_loss(u, t * t, log_input=True, full=bool(a % 2), reduction="none")
    if name == "fftn_re":
        z = lib.fft.fftn(h, norm="ortho")
        return z.real + 0.5 * z.imag if a % 2 else z.real
    d = _dim(shape, a)
    if name == "hfft_rt":
        n = shape[d]
        norm = ("backward", "ortho", "forward")[a % 3]
        spec = lib.fft.ihfft(h, dim=d, norm=norm)
        return lib.fft.hfft(spec * (1.0 + 0.25j), n=n, dim=d, norm=norm)
    mask = _mask(lib, shape, d, a)
    if name == "masked_mean":
        return h - lib.masked.mean(h, d, keepdim=True, mask=mask)
    if name == "masked_lse":
        return h * lib.masked.logsumexp(h, d, keepdim=True, mask=mask).tanh()
    raise ValueError(f"unknown step {name!r}")
