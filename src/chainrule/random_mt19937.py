"""PyTorch's CPU random streams, value for value: the draws of ``cr.Generator``.

PyTorch's CPU generator is an mt19937 (Mersenne Twister) seeded by ``init_genrand`` with
the low 32 bits of the seed; each sampler turns its 32-bit outputs into numbers in a fixed
way. chainrule keeps the same engine (NumPy's ``MT19937`` bit generator, given the state
that NumPy's legacy ``RandomState(seed)`` makes, which is ``init_genrand``) and the same
transforms, so that after ``cr.manual_seed(s)`` the weights of a new ``nn.Linear``, a
``randn``, a dropout mask or a ``randperm`` shuffle are the numbers ``torch.manual_seed(s)``
gives. The transforms were established by measuring torch 2.13's outputs against the raw
mt19937 words (``tests/test_random_torch_streams.py`` keeps them checked):

- ``u32``: one 32-bit word; ``u64``: two words, the first the high half.
- uniform float32 (and float16/bfloat16, which round the float32 value):
  ``(u32 & (2**24 - 1)) * 2**-24``; float64: ``(u64 & (2**53 - 1)) * 2**-53``.
- ``uniform_(a, b)``: ``fma(x, b - a, a)`` rounded once, ``a`` and ``b`` first rounded to
  float32 for a float32 (or half) tensor.
- normal, fewer than 16 elements: Box-Muller in float64 from two float64 uniforms ``u1, u2``:
  ``r = sqrt(-2 log(1 - u2))``, ``r cos(2 pi u1)``; ``r sin(2 pi u1)`` is kept in the
  generator (its state) and is the next such value. ``fma(z, std, mean)`` in float64.
- normal, 16 elements or more: the tensor is filled with uniforms of its dtype, then each
  block of 16 becomes ``r cos``/``r sin`` of its two halves (``u1 = 1 - first half``,
  ``u2 = second half``), in the dtype; a length that is not a multiple of 16 redraws
  uniforms for the last 16 elements and transforms them again. float64 is bit-exact;
  float32 differs from torch's vectorised log/sin/cos in the last bits (1-4 ulp, ~14 % of
  the elements).
- integers in ``[low, high)``: ``low + u32 % range`` for a range below ``2**28``, else
  ``low + u64 % range``; ``random_()`` without bounds: ``u % (max + 1)``, 64-bit words for
  int64 and float64, where the bound is ``2**53 + 1`` (float32: ``2**24 + 1``).
- ``randperm(n)``: Fisher-Yates from the front, ``swap(p[i], p[i + u32 % (n - i)])``.
- Bernoulli with a number ``p`` (dropout's mask, ``bernoulli_(p)``): float64 uniform ``< p``;
  with a tensor of probabilities: a uniform of the probabilities' dtype ``< p``.

Distributions without a PyTorch-matching transform here (gamma, Poisson, binomial, ...)
draw through NumPy's ``Generator`` on the same engine: reproducible, not torch's values.

The state tensor is PyTorch's 5,056-byte layout (``get_rng_state``): the seed, the engine's
position, the 624 words (one per 8 bytes) and the cached normal value, so states move
between the two frameworks.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "TORCH_STATE_NBYTES",
    "TorchStream",
    "decode_torch_state",
    "draw_dtype",
    "encode_torch_state",
]

TORCH_STATE_NBYTES = 5056
"""Bytes in PyTorch's (and chainrule's) CPU generator state."""

_N = 624  # mt19937's words
_KEY_OFFSET, _NORMAL_Y, _NORMAL_VALID = 24, 5024, 5040
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, halves of 26 bits
_TWO_PI = 2.0 * np.pi


@lru_cache(maxsize=16)
def _seeded_key(seed32: int) -> np.ndarray:
    """mt19937's 624 words after ``init_genrand(seed32)`` (read-only; the state setter copies
    them). Cached: building them through a legacy ``RandomState`` costs ~0.2 ms, and a
    program (or a test suite) reseeds with the same few seeds over and over."""
    key = np.random.RandomState(seed32).get_state(legacy=False)["state"]["key"]
    key.flags.writeable = False
    return key


def _size_of(size: Any) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


def _split(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = v * _SPLIT
    hi = hi - (hi - v)
    return hi, v - hi


def _fma64(x: np.ndarray, r: float, a: float) -> np.ndarray:
    """``x * r + a`` with one rounding (float64): the product split exactly (Dekker) and the
    sum carried with its error (TwoSum), then rounded to odd before the last addition."""
    with np.errstate(all="ignore"):
        p = x * r
        xh, xl = _split(x)
        rh, rl = _split(np.float64(r))
        perr = ((xh * rh - p) + xh * rl + xl * rh) + xl * rl
        s = p + a
        back = s - p
        serr = (p - (s - back)) + (a - back)
        out = s + (perr + serr)
    return np.where(np.isfinite(out), out, p + a)


def _round_to_float32(s: np.ndarray, err: np.ndarray) -> np.ndarray:
    """The float32 nearest to the exact ``s + err`` (``|err|`` below half an ulp of ``s``):
    ``s`` rounded to odd in float64 first, so that the float32 rounding sees no false tie."""
    bits = s.view(np.int64)
    nudge = (err != 0) & ((bits & 1) == 0)
    if nudge.any():
        s = np.where(nudge, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(np.float32)


def _fma32(x: np.ndarray, r: np.float32, a: np.float32) -> np.ndarray:
    """float32 ``x * r + a`` with one rounding: the 24-bit product is exact in float64."""
    p = x * np.float64(r)
    s = p + np.float64(a)
    back = s - p
    err = (p - (s - back)) + (np.float64(a) - back)
    return _round_to_float32(s, err)


def draw_dtype(dtype: Any) -> type:
    """The precision PyTorch draws a tensor of ``dtype`` in: float64 for float64 and
    complex128, float32 (24-bit uniforms) for every narrower floating dtype."""
    return np.float64 if np.dtype(dtype) in (np.float64, np.complex128) else np.float32


def _is_wide(dtype: np.dtype) -> bool:
    """Whether PyTorch draws this dtype's uniforms from 53 bits (float64) or 24 (others)."""
    return np.dtype(dtype) == np.float64


class TorchStream:
    """PyTorch's CPU random transforms over an mt19937 engine (see the module docstring).

    The methods chainrule's samplers call (``random``, ``uniform``, ``standard_normal``,
    ``normal``, ``integers``, ``permutation``, ``bernoulli``, ``random_bits``) give torch's
    values; anything else NumPy's ``Generator`` offers is drawn by a NumPy ``Generator`` on
    the same engine (``__getattr__``)."""

    def __init__(self, seed: int = 0) -> None:
        self.bits = np.random.MT19937()
        self.np = np.random.Generator(self.bits)
        self.normal_cache: float | None = None
        self.fresh = True  # seeded, nothing drawn yet (PyTorch's state says next = 0)
        self.reseed(seed)

    # ------------------------------------------------------------------ engine
    def reseed(self, seed: int) -> None:
        """``init_genrand(seed mod 2**32)``, as PyTorch's ``manual_seed``."""
        key = _seeded_key(int(seed) & 0xFFFFFFFF)
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _N}}
        self.normal_cache = None
        self.fresh = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.np, name)

    def _u32(self, n: int) -> np.ndarray:
        if not n:
            return np.zeros(0, np.uint64)
        self.fresh = False
        return self.bits.random_raw(n)

    def _u64(self, n: int) -> np.ndarray:
        w = self._u32(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    # ------------------------------------------------------------------ uniform
    def _unit(self, n: int, dtype: Any) -> np.ndarray:
        """``n`` uniforms in [0, 1) as PyTorch draws them for ``dtype`` (float64 array)."""
        if _is_wide(dtype):
            return (self._u64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        return (self._u32(n) & np.uint64((1 << 24) - 1)).astype(np.float64) * 2.0**-24

    def random(self, size: Any = None, dtype: Any = np.float64) -> Any:
        """``torch.rand``: uniforms in [0, 1) of ``dtype`` (float32 draws 24 bits)."""
        shape = _size_of(size)
        out = self._unit(int(np.prod(shape)), dtype).reshape(shape)
        return out if _is_wide(dtype) else out.astype(np.float32)

    def uniform(
        self, low: Any = 0.0, high: Any = 1.0, size: Any = None, dtype: Any = np.float64
    ) -> Any:
        """``Tensor.uniform_(low, high)``: ``fma(x, high - low, low)`` in the dtype (array
        bounds, which no PyTorch sampler takes: ``low + x * (high - low)``)."""
        if np.ndim(low) or np.ndim(high):
            shape = np.broadcast_shapes(np.shape(low), np.shape(high), _size_of(size))
            return low + self.random(shape, dtype) * (np.asarray(high) - low)
        shape = _size_of(size)
        x = self._unit(int(np.prod(shape)), dtype)
        if _is_wide(dtype):
            out = _fma64(x, float(high) - float(low), float(low))
        else:
            lo, hi = np.float32(low), np.float32(high)
            out = _fma32(x, np.float32(hi - lo), lo)
        return out.reshape(shape)

    # ------------------------------------------------------------------ normal
    def _box_muller_pairs(self, n: int) -> np.ndarray:
        """``n`` standard normals by the scalar path (float64 pairs, the cache first)."""
        out = np.empty(n)
        i = 0
        if n and self.normal_cache is not None:
            out[0], self.normal_cache, i = self.normal_cache, None, 1
        pairs = (n - i + 1) // 2
        if not pairs:
            return out
        u = self._unit(2 * pairs, np.float64)
        if pairs <= 8:  # the C library's log1p/cos/sin, as PyTorch's scalar code: bit-exact
            both = []
            for u1, u2 in zip(u[0::2].tolist(), u[1::2].tolist()):
                radius = math.sqrt(-2.0 * math.log1p(-u2))
                both += (radius * math.cos(_TWO_PI * u1), radius * math.sin(_TWO_PI * u1))
            both = np.array(both)
        else:  # log_normal_ of a long tensor: vectorised (NumPy's functions, last-bit close)
            radius = np.sqrt(-2.0 * np.log1p(-u[1::2]))
            both = np.empty(2 * pairs)
            both[0::2], both[1::2] = (
                radius * np.cos(_TWO_PI * u[0::2]),
                radius * np.sin(_TWO_PI * u[0::2]),
            )
        out[i:] = both[: n - i]
        if (n - i) % 2:
            self.normal_cache = float(both[-1])
        return out

    @staticmethod
    def _blocks(x: np.ndarray, work: type) -> None:
        """Box-Muller on each block of 16 values of ``x`` (a multiple of 16 long), in place,
        in ``work`` precision: the first 8 give ``1 - u1``, the last 8 ``u2``."""
        blocks = x.reshape(-1, 16)
        radius = np.sqrt(work(-2) * np.log(work(1) - blocks[:, :8]))
        theta = work(_TWO_PI) * blocks[:, 8:]
        blocks[:, :8], blocks[:, 8:] = radius * np.cos(theta), radius * np.sin(theta)

    def normal(
        self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, dtype: Any = np.float64
    ) -> Any:
        """``Tensor.normal_(mean, std)`` / ``torch.randn`` values of ``dtype`` (float64
        array for float64, float32 otherwise; the caller casts half precision, but passes
        float16/bfloat16 as such: their tail block draws differently). Array
        ``loc``/``scale`` (``torch.normal(mean_tensor, std_tensor)``): standard normals
        times ``scale`` plus ``loc``, as PyTorch's ``normal_(0, 1).mul_(std).add_(mean)``."""
        if np.ndim(loc) or np.ndim(scale):
            shape = np.broadcast_shapes(np.shape(loc), np.shape(scale), _size_of(size))
            return self.normal(0.0, 1.0, shape, dtype) * scale + loc
        shape = _size_of(size)
        n = int(np.prod(shape))
        wide = _is_wide(dtype)
        if n < 16:
            values = _fma64(self._box_muller_pairs(n), float(scale), float(loc))  # fused
            return (values if wide else values.astype(np.float32)).reshape(shape)
        work = np.float64 if wide else np.float32
        if np.dtype(dtype).itemsize == 2 and n % 16:  # float16/bfloat16: PyTorch fills only
            whole = n - n % 16  # the whole blocks with uniforms before the tail's fresh 16
            x = np.empty(n, dtype=work)
            x[:whole] = self._unit(whole, dtype)
        else:
            x = self._unit(n, dtype).astype(work)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._blocks(x[: n - n % 16], work)
            if n % 16:
                x[n - 16 :] = self._unit(16, dtype).astype(work)
                self._blocks(x[n - 16 :], work)
        return (x * work(scale) + work(loc)).reshape(shape)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64) -> Any:
        """``torch.randn``: ``normal(0, 1)``."""
        return self.normal(0.0, 1.0, size, dtype)

    # ------------------------------------------------------------------ integers
    def integers(
        self, low: int, high: int | None = None, size: Any = None, dtype: Any = np.int64,
        endpoint: bool = False,
    ) -> Any:  # fmt: skip
        """``torch.randint(low, high)``: ``low + u % (high - low)``, 32-bit words for a range
        below ``2**28`` and 64-bit ones above (``endpoint=True`` includes ``high``)."""
        if high is None:
            low, high = 0, low
        low, high = int(low), int(high) + int(bool(endpoint))
        span = high - low
        if span <= 0:
            raise ValueError(f"random integers: high ({high}) must exceed low ({low})")
        shape = _size_of(size)
        n = int(np.prod(shape))
        words = self._u32(n) if span < 1 << 28 else self._u64(n)
        with np.errstate(over="ignore"):  # modulo 2**64: low + drawn is in int64's range
            out = ((words % np.uint64(span)) + np.uint64(low % 2**64)).view(np.int64)
        return out.reshape(shape).astype(dtype, copy=False)

    def random_bits(self, size: Any, bound: int, wide: bool) -> np.ndarray:
        """``Tensor.random_()`` without bounds: ``u % bound`` from 64-bit words when
        ``wide`` (int64, float64), else 32-bit ones; an int64 array (uint64 for bounds past
        int64's range)."""
        shape = _size_of(size)
        n = int(np.prod(shape))
        words = self._u64(n) if wide else self._u32(n)
        drawn = words % np.uint64(bound)
        return (drawn if bound > 2**63 else drawn.astype(np.int64)).reshape(shape)

    def permutation(self, n: Any) -> np.ndarray:
        """``torch.randperm(n)``: Fisher-Yates from the front on 32-bit words."""
        if isinstance(n, np.ndarray):  # NumPy's permutation(array): a shuffled copy
            return n[self.permutation(len(n))]
        n = int(n)
        if n < 2:
            return np.arange(n, dtype=np.int64)
        from ._kernels.shuffle import shuffle_front  # noqa: PLC0415 - kernels import ops

        offsets = self._u32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        return shuffle_front(offsets.astype(np.int64))

    # ------------------------------------------------------------------ in-place fills
    def exponential_fill(self, lambd: float, size: Any) -> np.ndarray:
        """``Tensor.exponential_(lambd)``: ``-1 / lambd * log1p(-u)``, float64 ``u``."""
        return (-1.0 / float(lambd)) * np.log1p(-self.random(size, np.float64))

    def cauchy_fill(self, median: float, sigma: float, size: Any) -> np.ndarray:
        """``Tensor.cauchy_(median, sigma)``: ``median + sigma * tan(pi (u - 1/2))``."""
        return float(median) + float(sigma) * np.tan(np.pi * (self.random(size, np.float64) - 0.5))

    def log_normal_fill(self, mean: float, std: float, size: Any) -> np.ndarray:
        """``Tensor.log_normal_(mean, std)``: ``exp`` of the scalar-path normals (PyTorch
        takes that path for every length)."""
        shape = _size_of(size)
        z = self._box_muller_pairs(int(np.prod(shape))) * float(std) + float(mean)
        return np.exp(z).reshape(shape)

    def log_normal_fill_float64(self, mean: float, std: float, size: Any) -> np.ndarray:
        """``log_normal_fill`` for a float64 tensor, bit for bit: PyTorch's scalar-path
        normals (the C library's functions, 8 pairs at a time), ``fma(z, std, mean)`` and
        the C library's ``exp`` of each (a Python loop: slower, for PyTorch's last bits)."""
        shape = _size_of(size)
        n = int(np.prod(shape))
        z = [self._box_muller_pairs(min(16, n - i)) for i in range(0, n, 16)]
        z = _fma64(np.concatenate(z), float(std), float(mean)) if z else np.zeros(0)
        return np.array([math.exp(v) for v in z.tolist()], dtype=np.float64).reshape(shape)

    def geometric_fill(self, p: float, size: Any) -> np.ndarray:
        """``Tensor.geometric_(p)``: ``ceil(log(u) / log1p(-p))``, float64 ``u``."""
        with np.errstate(divide="ignore"):
            return np.ceil(np.log(self.random(size, np.float64)) / np.log1p(-float(p)))

    def bernoulli(self, p: Any, size: Any = None, dtype: Any = np.float64) -> np.ndarray:
        """A bool mask, True with probability ``p``: ``uniform < p``, the uniform of
        ``dtype`` (float64 for a number ``p``, as ``bernoulli_(p)`` and dropout)."""
        shape = _size_of(size) if size is not None else np.shape(p)
        n = int(np.prod(shape))
        if np.ndim(p) == 0 and _is_wide(dtype) and 0.0 <= float(p) <= 1.0:
            # u = k 2**-53 < p  <=>  k < ceil(p 2**53) (exact): integers, no float pass
            k = self._u64(n) & np.uint64((1 << 53) - 1)
            return (k < np.uint64(math.ceil(float(p) * 2.0**53))).reshape(shape)
        return self._unit(n, dtype).reshape(shape) < p


def encode_torch_state(stream: TorchStream, seed: int) -> bytes:
    """The stream in PyTorch's 5,056-byte CPU generator layout (little-endian): initial seed
    (u64 at 0), ``left`` (i32 at 8), ``seeded`` (i32 at 12), ``next`` (u64 at 16), the 624
    words (u64 each from 24), the cached normal (f64 at 5024) and whether it is valid (i32
    at 5040)."""
    st = stream.bits.state["state"]
    pos = int(st["pos"])
    raw = bytearray(TORCH_STATE_NBYTES)
    raw[0:8] = int(seed).to_bytes(8, "little")
    raw[8:12] = (_N + 1 - pos).to_bytes(4, "little")
    raw[12:16] = (1).to_bytes(4, "little")
    raw[16:24] = (0 if stream.fresh and pos == _N else pos).to_bytes(8, "little")
    words = np.asarray(st["key"], dtype=np.uint32).astype("<u8")
    raw[_KEY_OFFSET : _KEY_OFFSET + 8 * _N] = words.tobytes()
    if stream.normal_cache is not None:
        raw[_NORMAL_Y : _NORMAL_Y + 8] = np.float64(stream.normal_cache).astype("<f8").tobytes()
        raw[_NORMAL_VALID : _NORMAL_VALID + 4] = (1).to_bytes(4, "little")
    return bytes(raw)


def decode_torch_state(raw: bytes, op: str) -> tuple[dict, float | None, int, bool]:
    """NumPy's MT19937 state dict, the cached normal (or None), the initial seed and whether
    nothing was drawn since seeding (``next`` is 0 with the words all unused), from a
    5,056-byte state; RuntimeError naming ``op`` for one that is not a valid state."""
    left = int.from_bytes(raw[8:12], "little", signed=True)
    if not 1 <= left <= _N + 1:
        raise RuntimeError(
            f"{op}: invalid mt19937 state: its position field (left) is {left}, not in [1, 625]"
        )
    words = np.frombuffer(raw[_KEY_OFFSET : _KEY_OFFSET + 8 * _N], dtype="<u8")
    if (words >> np.uint64(32)).any():
        raise RuntimeError(f"{op}: invalid mt19937 state: a state word exceeds 32 bits")
    key = words.astype(np.uint32)
    if not key.any():
        raise RuntimeError(f"{op}: invalid mt19937 state: every state word is zero")
    valid = int.from_bytes(raw[_NORMAL_VALID : _NORMAL_VALID + 4], "little")
    cache = float(np.frombuffer(raw[_NORMAL_Y : _NORMAL_Y + 8], dtype="<f8")[0]) if valid else None
    state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _N + 1 - left}}
    fresh = left == 1 and int.from_bytes(raw[16:24], "little") == 0
    return state, cache, int.from_bytes(raw[0:8], "little"), fresh
