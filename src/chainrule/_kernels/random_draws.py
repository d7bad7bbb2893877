"""PyTorch's CPU Gamma, Poisson and binomial draws, value for value, compiled.

These samplers are acceptance-rejection loops: each element takes a data-dependent number of
words from the shared mt19937 stream, so the draws cannot be vectorised. The compiled
kernels carry the engine itself (``init_genrand``'s state: the 624 words and the position;
the twist and tempering of the reference mt19937), so a whole call runs in machine code and
the stream is left exactly where PyTorch leaves it. The fallbacks (``CHAINRULE_NUMBA=0``)
run the same loops in Python on a :class:`~chainrule.random_mt19937.TorchStream` (NumPy's
MT19937): the same numbers, ~40 µs per element.

The algorithms (each was checked against torch 2.13's outputs, same seed, element by
element and by the generator state after the call):

- Gamma(alpha, 1): Marsaglia and Tsang on float64 uniforms and scalar-path Box-Muller
  normals (the generator's cached normal first, the second of each pair cached), ``alpha < 1``
  boosted to ``alpha + 1`` with a ``(1 - u) ** (1 / alpha)`` factor; for float32
  concentrations the boost and ``d = alpha - 1/3`` are computed in float32.
- Poisson(lam): ``lam >= 10``: Hörmann's transformed rejection (PTRS); ``0 < lam < 10``:
  the product of float64 uniforms against ``exp(-lam)``; ``lam = 0``: 0 (no draw).
- Binomial(n, p): with ``q = min(p, 1 - p)``: ``n q >= 10``: Hörmann's BTRS, else
  inversion by summed geometric waiting times (``ceil(log u / log1p(-q))``); ``p > 1/2``
  draws for ``1 - p`` and returns ``n - k``. float32 parameters: what depends on the
  parameters alone is computed in float32 (``1 - p``, the BTRS mean ``n q``,
  ``sqrt(n q (1 - q))``, ``q / (1 - q)``, ``(n + 1) q``), the rest in float64.

The stream state travels as three arrays, updated in place: ``key`` (624 uint32 words),
``pos`` (int64[1], the next word's index; 624 means "twist first") and ``cache`` (float64[2]:
whether a normal is cached, and its value). :func:`run` moves a stream into and out of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random_snapshot import engine_words
from . import jit

__all__ = ["binomial_torch", "gamma_torch", "poisson_torch", "run"]

_N = 624
_M = 397
_TWO_PI = 2.0 * math.pi
_THIRD_F = float(np.float32(1.0) / np.float32(3.0))  # PyTorch's float literals, widened
_SQUEEZE_F = float(np.float32(0.0331))
_STIRLING_TAIL = np.array(
    [
        0.08106146679532726,
        0.04134069595540929,
        0.02767792568499834,
        0.02079067210376509,
        0.01664469118982119,
        0.01387612882307075,
        0.01189670994589177,
        0.01041126526197209,
        0.009255462182712733,
        0.008330563433362871,
    ]
)


# ------------------------------------------------------------------------------ the engine
@jit.inline
def _twist(key):  # pragma: no cover - inlined
    for k in range(_N):
        y = (np.int64(key[k]) & 0x80000000) | (np.int64(key[(k + 1) % _N]) & 0x7FFFFFFF)
        v = np.int64(key[(k + _M) % _N]) ^ (y >> 1)
        if y & 1:
            v ^= 0x9908B0DF
        key[k] = v


@jit.inline
def _word(key, pos):  # pragma: no cover - inlined
    """The next tempered 32-bit word (an int64)."""
    if pos[0] >= _N:
        _twist(key)
        pos[0] = 0
    y = np.int64(key[pos[0]])
    pos[0] += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@jit.inline
def _unit(key, pos):  # pragma: no cover - inlined
    """A float64 uniform in [0, 1): the low 53 bits of two words (the first the high half)."""
    hi = _word(key, pos) & 0x1FFFFF
    lo = _word(key, pos)
    return float((hi << 32) | lo) * 2.0**-53


@jit.inline
def _normal(key, pos, cache):  # pragma: no cover - inlined
    """A scalar-path standard normal: the cached one, else Box-Muller (the sine cached)."""
    if cache[0] != 0.0:
        cache[0] = 0.0
        return cache[1]
    u1 = _unit(key, pos)
    u2 = _unit(key, pos)
    radius = math.sqrt(-2.0 * math.log1p(-u2))
    cache[0] = 1.0
    cache[1] = radius * math.sin(_TWO_PI * u1)
    return radius * math.cos(_TWO_PI * u1)


# ------------------------------------------------------------------ Python's IEEE helpers
def _log(x: float) -> float:
    """``log`` with IEEE's ``log(0) = -inf`` (Python's raises)."""
    return math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


def _ceil(x: float) -> float:
    return float(math.ceil(x)) if math.isfinite(x) else x


# ------------------------------------------------------------------------------------ Gamma
def _gamma_python(alpha, single, key, pos, cache, out):
    stream = _stream(key, pos, cache)
    f32 = np.float32
    for i, a in enumerate(alpha.tolist()):
        if not a > 0.0:  # 0 (PyTorch's draw is 0) or NaN (no draw)
            out[i] = 0.0 if a == 0.0 else math.nan
            continue
        scale = 1.0
        if a < 1.0:
            inv = float(f32(1.0) / f32(a)) if single else 1.0 / a
            scale *= (1.0 - float(stream._unit(1, np.float64)[0])) ** inv
            a = float(f32(a) + f32(1.0)) if single else a + 1.0
        d = float(f32(a) - f32(_THIRD_F)) if single else a - _THIRD_F
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            while True:
                x = float(stream._box_muller_pairs(1)[0])
                y = 1.0 + c * x
                if y > 0:
                    break
            v = y * y * y
            u = 1.0 - float(stream._unit(1, np.float64)[0])
            xx = x * x
            if u < 1.0 - _SQUEEZE_F * xx * xx:
                break
            if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
                break
        out[i] = scale * d * v
    _store(stream, key, pos, cache)


@jit.kernel(fallback=_gamma_python)
def gamma_torch(alpha, single, key, pos, cache, out):  # pragma: no cover - compiled by Numba
    """Gamma(alpha[i], 1) draws into ``out`` (float64 arrays; ``single``: the
    concentrations were float32). NaN gives NaN without drawing."""
    for i in range(alpha.size):
        a = alpha[i]
        if not a > 0.0:
            out[i] = 0.0 if a == 0.0 else math.nan
            continue
        scale = 1.0
        if a < 1.0:
            if single:
                inv = float(np.float32(1.0) / np.float32(a))
            else:
                inv = 1.0 / a
            scale *= (1.0 - _unit(key, pos)) ** inv
            if single:
                a = float(np.float32(a) + np.float32(1.0))
            else:
                a = a + 1.0
        if single:
            d = float(np.float32(a) - np.float32(_THIRD_F))
        else:
            d = a - _THIRD_F
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = _normal(key, pos, cache)
            y = 1.0 + c * x
            while not y > 0:
                x = _normal(key, pos, cache)
                y = 1.0 + c * x
            v = y * y * y
            u = 1.0 - _unit(key, pos)
            xx = x * x
            if u < 1.0 - _SQUEEZE_F * xx * xx:
                break
            if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
                break
        out[i] = scale * d * v


# ---------------------------------------------------------------------------------- Poisson
def _poisson_python(lam, key, pos, cache, out):
    stream = _stream(key, pos, cache)

    def uniform() -> float:
        return float(stream._unit(1, np.float64)[0])

    for i, lm in enumerate(lam.tolist()):
        if lm >= 10.0:
            slam = math.sqrt(lm)
            loglam = math.log(lm)
            b = 0.931 + 2.53 * slam
            a = -0.059 + 0.02483 * b
            invalpha = 1.1239 + 1.1328 / (b - 3.4)
            vr = 0.9277 - 3.6224 / (b - 2.0)
            while True:
                u = uniform() - 0.5
                v = uniform()
                us = 0.5 - abs(u)
                k = _floor((2.0 * a / us + b) * u + lm + 0.43)
                if us >= 0.07 and v <= vr:
                    break
                if k < 0 or (us < 0.013 and v > us):
                    continue
                rhs = -lm + k * loglam - math.lgamma(k + 1.0)
                if _log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= rhs:
                    break
            out[i] = k
        elif lm > 0.0:
            enlam = math.exp(-lm)
            k = 0
            prod = uniform()
            while prod > enlam:
                k += 1
                prod *= uniform()
            out[i] = k
        else:
            out[i] = 0.0 if lm == 0.0 else math.nan
    _store(stream, key, pos, cache)


@jit.kernel(fallback=_poisson_python)
def poisson_torch(lam, key, pos, cache, out):  # pragma: no cover - compiled by Numba
    """Poisson(lam[i]) draws into ``out`` (float64 arrays; rates finite and >= 0)."""
    for i in range(lam.size):
        lm = lam[i]
        if lm >= 10.0:
            slam = math.sqrt(lm)
            loglam = math.log(lm)
            b = 0.931 + 2.53 * slam
            a = -0.059 + 0.02483 * b
            invalpha = 1.1239 + 1.1328 / (b - 3.4)
            vr = 0.9277 - 3.6224 / (b - 2.0)
            while True:
                u = _unit(key, pos) - 0.5
                v = _unit(key, pos)
                us = 0.5 - abs(u)
                k = np.floor((2.0 * a / us + b) * u + lm + 0.43)
                if us >= 0.07 and v <= vr:
                    break
                if k < 0 or (us < 0.013 and v > us):
                    continue
                rhs = -lm + k * loglam - math.lgamma(k + 1.0)
                if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= rhs:
                    break
            out[i] = k
        elif lm > 0.0:
            enlam = math.exp(-lm)
            k = 0.0
            prod = _unit(key, pos)
            while prod > enlam:
                k += 1.0
                prod *= _unit(key, pos)
            out[i] = k
        else:
            out[i] = 0.0 if lm == 0.0 else math.nan


# --------------------------------------------------------------------------------- binomial
def _tail_python(k: float) -> float:
    """Stirling's series tail ``log k! - (k + 1/2) log(k + 1) + (k + 1) - log(2 pi) / 2``."""
    if k <= 9:
        return float(_STIRLING_TAIL[int(k)])
    kp1sq = (k + 1.0) * (k + 1.0)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1.0)


def _binomial_one_python(uniform: Any, n: float, p: float, single: bool) -> float:
    f32 = np.float32
    if p > 0.5:
        q = float(np.float32(1.0) - np.float32(p)) if single else 1.0 - p
        return n - _binomial_one_python(uniform, n, q, single)
    mean = float(np.float32(n) * np.float32(p)) if single else n * p
    if mean >= 10.0:  # BTRS
        if single:  # the standard deviation in float32
            stddev = float(np.sqrt(f32(f32(n) * f32(p)) * (f32(1.0) - f32(p))))
        else:
            stddev = math.sqrt(n * p * (1.0 - p))
        b = 1.15 + 2.53 * stddev
        a = -0.0873 + 0.0248 * b + 0.01 * p
        c = mean + 0.5
        v_r = 0.92 - 4.2 / b
        alpha = (2.83 + 5.1 / b) * stddev
        if single:  # float32 arithmetic on the parameters alone
            r = float(f32(p) / (f32(1.0) - f32(p)))
            m = math.floor(f32(f32(n) + f32(1.0)) * f32(p))
        else:
            r = p / (1.0 - p)
            m = math.floor((n + 1.0) * p)
        while True:
            u = uniform() - 0.5
            v = uniform()
            us = 0.5 - abs(u)
            k = _floor((2.0 * a / us + b) * u + c)
            if k < 0 or k > n:
                continue
            if us >= 0.07 and v <= v_r:
                return float(k)
            v = _log(v * alpha / (a / (us * us) + b))
            bound = (
                (m + 0.5) * math.log((m + 1.0) / (r * (n - m + 1.0)))
                + (n + 1.0) * math.log((n - m + 1.0) / (n - k + 1.0))
                + (k + 0.5) * math.log(r * (n - k + 1.0) / (k + 1.0))
                + _tail_python(m)
                + _tail_python(n - m)
                - _tail_python(k)
                - _tail_python(n - k)
            )
            if v <= bound:
                return float(k)
    logq = math.log1p(-p)  # inversion: geometric waiting times
    total = 0.0
    k = 0
    while True:
        total += _ceil(_log(uniform()) / logq)
        if total > n:
            return float(k)
        k += 1


def _binomial_python(count, prob, single, key, pos, cache, out):
    stream = _stream(key, pos, cache)

    def uniform() -> float:
        return float(stream._unit(1, np.float64)[0])

    for i, (n, p) in enumerate(zip(count.tolist(), prob.tolist())):
        if n <= 0.0 or p <= 0.0:
            out[i] = 0.0
        elif p >= 1.0:
            out[i] = n
        else:
            out[i] = _binomial_one_python(uniform, n, p, single)
    _store(stream, key, pos, cache)


@jit.inline
def _tail(k, table):  # pragma: no cover - inlined
    if k <= 9:
        return table[int(k)]
    kp1sq = (k + 1.0) * (k + 1.0)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1.0)


@jit.kernel(fallback=_binomial_python)
def binomial_torch(count, prob, single, key, pos, cache, out):  # pragma: no cover - compiled
    """Binomial(count[i], prob[i]) draws into ``out`` (float64 arrays, counts whole and
    >= 0, probabilities in [0, 1]; ``single``: the parameters were float32)."""
    table = _STIRLING_TAIL
    for i in range(count.size):
        n = count[i]
        p = prob[i]
        if n <= 0.0 or p <= 0.0:
            out[i] = 0.0
            continue
        if p >= 1.0:
            out[i] = n
            continue
        flip = p > 0.5
        if flip:
            if single:
                p = float(np.float32(1.0) - np.float32(p))
            else:
                p = 1.0 - p
        if single:
            mean = float(np.float32(n) * np.float32(p))
        else:
            mean = n * p
        k = 0.0
        if mean >= 10.0:
            if single:
                stddev = float(np.sqrt(np.float32(mean) * (np.float32(1.0) - np.float32(p))))
            else:
                stddev = math.sqrt(n * p * (1.0 - p))
            b = 1.15 + 2.53 * stddev
            a = -0.0873 + 0.0248 * b + 0.01 * p
            c = mean + 0.5
            v_r = 0.92 - 4.2 / b
            alpha = (2.83 + 5.1 / b) * stddev
            if single:
                r = float(np.float32(p) / (np.float32(1.0) - np.float32(p)))
                m = np.floor(float((np.float32(n) + np.float32(1.0)) * np.float32(p)))
            else:
                r = p / (1.0 - p)
                m = np.floor((n + 1.0) * p)
            while True:
                u = _unit(key, pos) - 0.5
                v = _unit(key, pos)
                us = 0.5 - abs(u)
                k = np.floor((2.0 * a / us + b) * u + c)
                if k < 0 or k > n:
                    continue
                if us >= 0.07 and v <= v_r:
                    break
                v = math.log(v * alpha / (a / (us * us) + b))
                bound = (
                    (m + 0.5) * math.log((m + 1.0) / (r * (n - m + 1.0)))
                    + (n + 1.0) * math.log((n - m + 1.0) / (n - k + 1.0))
                    + (k + 0.5) * math.log(r * (n - k + 1.0) / (k + 1.0))
                    + _tail(m, table)
                    + _tail(n - m, table)
                    - _tail(k, table)
                    - _tail(n - k, table)
                )
                if v <= bound:
                    break
        else:
            logq = math.log1p(-p)
            total = 0.0
            while True:
                total += np.ceil(math.log(_unit(key, pos)) / logq)
                if total > n:
                    break
                k += 1.0
        out[i] = n - k if flip else k


# ------------------------------------------------------------------------ stream transfer
def _stream(key: np.ndarray, pos: np.ndarray, cache: np.ndarray) -> Any:
    """A TorchStream in the state the three arrays hold (the fallbacks' engine)."""
    from ..random_mt19937 import TorchStream  # noqa: PLC0415 - the kernels load first

    stream = TorchStream.__new__(TorchStream)
    stream.bits = np.random.MT19937()
    stream.np = np.random.Generator(stream.bits)
    stream.bits.state = {
        "bit_generator": "MT19937",
        "state": {"key": key.copy(), "pos": int(pos[0])},
    }
    stream.normal_cache = float(cache[1]) if cache[0] else None
    stream.fresh = False
    return stream


def _store(stream: Any, key: np.ndarray, pos: np.ndarray, cache: np.ndarray) -> None:
    st = stream.bits.state["state"]
    key[:] = st["key"]
    pos[0] = int(st["pos"])
    cache[0] = 0.0 if stream.normal_cache is None else 1.0
    cache[1] = 0.0 if stream.normal_cache is None else stream.normal_cache


def run(kern: jit.Kernel, stream: Any, *args: Any) -> np.ndarray:
    """Call ``kern(*args, key, pos, cache, out)`` on ``stream``'s state (a TorchStream) and
    move the state back into it; ``out`` (float64, the first argument's size) is returned.
    The first argument must be a flat float64 array (the rest as the kernel takes them)."""
    cache = np.zeros(2)
    if stream.normal_cache is not None:
        cache[:] = (1.0, stream.normal_cache)
    out = np.empty(args[0].size, dtype=np.float64)
    engine = engine_words(stream)
    if engine is not None:  # the kernel runs on the engine's own memory (no state copies)
        key, position = engine
        before = (key.copy(), position.value)
        pos = np.array([before[1]], dtype=np.int64)
        kern(*args, key, pos, cache, out)
        position.value = int(pos[0])
        changed = pos[0] != before[1] or not np.array_equal(key, before[0])
    else:
        st = stream.bits.state["state"]
        key = np.array(st["key"], dtype=np.uint32)
        pos = np.array([int(st["pos"])], dtype=np.int64)
        kern(*args, key, pos, cache, out)
        changed = pos[0] != int(st["pos"]) or not np.array_equal(key, st["key"])
        if changed:
            state = {"key": key, "pos": int(pos[0])}
            stream.bits.state = {"bit_generator": "MT19937", "state": state}
    if changed:
        stream.fresh = False
    stream.normal_cache = float(cache[1]) if cache[0] else None
    return out
