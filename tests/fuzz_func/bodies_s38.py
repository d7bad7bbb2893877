"""Body steps of the ``torch.func`` fuzzer added in session 38 (:mod:`.bodies` draws them with
its own): more smooth unary functions (``erf``, ``softsign``, ``tanhshrink``, ``sinc``),
``F.rms_norm`` and ``F.normalize`` over a dim, binary ops with ``y`` (``logaddexp``, a
complex value's modulus, ``fmax`` against a shifted ``y``), a real FFT round trip along a dim
(``rfft`` -> scale the spectrum -> ``irfft`` with ``n``), a cumulative trapezoid padded back to
the shape and ``torch.linalg.vector_norm`` kept as a dim of one (``ord`` 1.5/3), which the
transforms must see through as torch.func does.

Every step keeps the running value's shape (the binary ones broadcast it with ``y``'s, as
the first table's :data:`~.bodies.BINARY`), so :func:`~.bodies.shape_after` needs only
:data:`S38_BINARY`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["S38_BINARY", "S38_STEPS", "apply_s38", "s38_steps_for"]

S38_UNARY = ("erf", "softsign", "tanhshrink", "sinc")
S38_BINARY = ("logaddexp_y", "cabs_y", "fmax_y")
S38_SHAPED = ("rms_norm", "normalize", "rfft_rt", "cumtrapz", "pnorm_bcast")
S38_STEPS = S38_UNARY + S38_BINARY + S38_SHAPED


def s38_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out = list(S38_UNARY)
    if broadcasts:
        out += list(S38_BINARY)
    if shape:
        out += list(S38_SHAPED)
    return out


def _dim(shape: tuple, a: int) -> int:
    r = len(shape)
    return a % r - r if a % 2 == 0 else a % r


def apply_s38(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    F = lib.nn.functional
    name, a = step
    shape = tuple(h.shape)
    if name == "erf":
        return lib.erf(h)
    if name == "softsign":
        return F.softsign(h)
    if name == "tanhshrink":
        return F.tanhshrink(h)
    if name == "sinc":
        return lib.sinc(h * 0.5)
    if name == "logaddexp_y":
        return lib.logaddexp(h, y) if a % 2 else lib.logaddexp2(h, y)
    if name == "cabs_y":
        # off 0: the modulus has no derivative there
        return lib.complex(h, y * y + 0.5).mul(1 - 0.5j).abs()
    if name == "fmax_y":
        # y shifted by 0.25: no ties with h (fmax's gradient at a tie is each library's own)
        return lib.fmax(h, y + 0.25) if a % 2 else lib.fmin(h, y + 0.25)
    d = _dim(shape, a)
    if name == "rms_norm":
        return F.rms_norm(h, (shape[-1],), eps=1e-3)
    if name == "normalize":
        # off 0: eps is 1e-12, a zero line's norm has no derivative
        return F.normalize(h + 0.5, p=2.0 if a % 3 else 3.0, dim=d)
    if name == "rfft_rt":
        n = shape[d]
        spec = lib.fft.rfft(h, dim=d, norm=("backward", "ortho", "forward")[a % 3])
        k = spec.shape[d]
        w = lib.linspace(1.0, 0.5, k, dtype=h.dtype).reshape(
            (k,) + (1,) * (len(shape) - 1 - d % len(shape))
        )
        return lib.fft.irfft(spec * w, n=n, dim=d, norm=("backward", "ortho", "forward")[a % 3])
    if name == "cumtrapz":
        c = lib.cumulative_trapezoid(h, dim=d)
        return lib.cat([h.narrow(d, 0, 1) * 0.5, c], dim=d)
    if name == "pnorm_bcast":
        # a dim of one, broadcast back by the product, of a bounded positive operand (off 0:
        # vector_norm's derivative there; bounded: with h * h the third-order values grew to
        # 1e6 after xlogy and where, and float64 rounding differed at 3e-10 relative, seed 3614)
        nrm = lib.linalg.vector_norm(h.tanh() + 1.5, 1.5 if a % 2 else 3.0, dim=d, keepdim=True)
        return h * nrm
    raise ValueError(f"unknown step {name!r}")
