"""Random number generation: a seeded default generator and ``cr.Generator`` objects.

``cr.manual_seed(s)`` makes everything that draws from the default generator
(``rand``, ``randn``, weight init, dropout, DataLoader shuffling) reproducible, with
PyTorch's own values: the generator is PyTorch's CPU mt19937 with its transforms
(:mod:`chainrule.random_mt19937`), so ``cr.manual_seed(0); cr.nn.Linear(3, 4)`` holds the
weights ``torch.manual_seed(0); torch.nn.Linear(3, 4)`` holds.

A generator's state is, as in PyTorch, a 1-d ``uint8`` CPU tensor in PyTorch's 5,056-byte
layout (:func:`~chainrule.random_mt19937.encode_torch_state`): ``torch.set_rng_state`` takes
chainrule's and the other way round. Generators of chainrule before 2026-12-04 were NumPy
PCG64 streams; their states (a dict, or the tensor below, :data:`STATE_NBYTES` bytes, all
little-endian) still restore, and the generator then continues that old stream, so that an
old training checkpoint resumes exactly::

    offset  size  field
         0     4  magic b"CRNG"
         4     1  layout version (1)
         5     3  reserved (zero)
         8    16  PCG64 128-bit state
        24    16  PCG64 128-bit increment (odd)
        40     4  has_uint32 (0 or 1)
        44     4  uinteger (the buffered 32-bit half of the last 64-bit draw)
        48     8  the generator's initial seed (``initial_seed()``)

Being a plain tensor it is saved by ``cr.save`` and read by ``torch.load(weights_only=True)``
like any other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .autograd.state import LOCAL as _STATE
from .autograd.tensor import Tensor
from .backend import Device, check_compute_device, cupy_available
from .random_mt19937 import TORCH_STATE_NBYTES, TorchStream, decode_torch_state, encode_torch_state

__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"]

_MAGIC = b"CRNG"
_VERSION = 1
_HEADER = _MAGIC + bytes([_VERSION, 0, 0, 0])
STATE_NBYTES = 56
"""Bytes in a state tensor of chainrule's earlier PCG64 generator (module docstring)."""


class LegacyStream:
    """A generator restored from a state of chainrule's earlier PCG64 generator: it goes on
    drawing that stream with the transforms of that time (NumPy's), so that a checkpoint
    written then resumes with the numbers it would have drawn. It answers the calls of
    :class:`~chainrule.random_mt19937.TorchStream`."""

    def __init__(self, np_generator: np.random.Generator) -> None:
        self.np = np_generator

    def __getattr__(self, name: str) -> Any:
        return getattr(self.np, name)

    def random(self, size: Any = None, dtype: Any = np.float64) -> Any:
        return self.np.random(size).astype(dtype)

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None, dtype: Any = None) -> Any:
        return self.np.uniform(low, high, size)

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, dtype: Any = None) -> Any:
        return self.np.normal(loc, scale, size)

    def standard_normal(self, size: Any = None, dtype: Any = None) -> Any:
        return self.np.standard_normal(size)

    def bernoulli(self, p: Any, size: Any = None, dtype: Any = None) -> Any:
        return self.np.random(np.shape(p) if size is None else size) < p

    def random_bits(self, size: Any, bound: int, wide: bool) -> Any:
        return self.np.integers(0, bound, size, dtype=np.uint64 if bound > 2**63 else np.int64)

    def exponential_fill(self, lambd: float, size: Any) -> Any:
        return self.np.exponential(1.0 / lambd, size)

    def cauchy_fill(self, median: float, sigma: float, size: Any) -> Any:
        return median + sigma * self.np.standard_cauchy(size)

    def log_normal_fill(self, mean: float, std: float, size: Any) -> Any:
        return self.np.lognormal(mean, std, size)

    def geometric_fill(self, p: float, size: Any) -> Any:
        return self.np.geometric(p, size)


class Generator:
    """A random stream, PyTorch's CPU mt19937 with PyTorch's transforms (the same numbers
    for the same seed), like ``torch.Generator``."""

    def __init__(self, device: Any = "cpu"):
        self._device = _generator_device(device)
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.np: TorchStream | LegacyStream = TorchStream(self._seed)

    @property
    def device(self) -> Device:
        """The device the generator was made for (read-only, as ``torch.Generator.device``);
        chainrule draws every device's random numbers on the CPU from this stream."""
        return self._device

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed; negative seeds wrap to unsigned 64-bit as in PyTorch (-5 -> 2**64 - 5).

        Unlike ``cr.manual_seed`` (which takes anything ``int()`` accepts), the method takes
        only a Python ``int``, as ``torch.Generator.manual_seed``: RuntimeError for a float,
        bool, str or tensor, TypeError for a NumPy integer."""
        if isinstance(seed, np.integer):
            raise TypeError(
                "an integer is required\nGenerator.manual_seed: got a NumPy integer (use int())"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        self._seed = _check_seed(seed)
        if isinstance(self.np, TorchStream):
            self.np.reseed(self._seed)
        else:  # a restored legacy stream: back to PyTorch's
            self.np = TorchStream(self._seed)
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's state as a new 1-d ``uint8`` CPU tensor in PyTorch's 5,056-byte
        layout, as ``torch.Generator.get_state`` returns a ``ByteTensor``: a fresh copy each
        call, so changing it leaves the generator alone (a restored legacy stream gives its
        :data:`STATE_NBYTES`-byte state)."""
        if isinstance(self.np, LegacyStream):
            return _encode(self.np.np.bit_generator.state, self._seed)
        raw = encode_torch_state(self.np, self._seed)
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy(), False, None, 0)

    def set_state(self, new_state: Tensor | dict) -> Generator:
        """Restore a state from :meth:`get_state` (or the legacy dict of earlier chainrule
        versions); returns the generator, as PyTorch's.

        Raises:
            TypeError: ``new_state`` is not a ``uint8`` CPU tensor (nor a legacy dict).
            RuntimeError: the tensor is not contiguous, has the wrong number of bytes, or
                does not hold a valid mt19937 (or legacy PCG64) state.
            ValueError: a legacy dict that is not a PCG64 state (NumPy's check).
        """
        return self._restore(new_state, "Generator.set_state")

    def _restore(self, new_state: Tensor | dict, op: str) -> Generator:
        """:meth:`set_state`, with errors naming the public function ``op`` that was called."""
        if _is_legacy(new_state):
            st = {k: v for k, v in new_state.items() if k != "seed"}
            stream = np.random.Generator(np.random.PCG64())
            stream.bit_generator.state = st
            self.np = LegacyStream(stream)
            self._seed = int(new_state.get("seed", self._seed)) % (2**64)
            return self
        raw = _state_bytes(new_state, op)
        if len(raw) == TORCH_STATE_NBYTES:
            mt_state, cache, seed, fresh = decode_torch_state(raw, op)
            stream = self.np if isinstance(self.np, TorchStream) else TorchStream(0)
            stream.bits.state = mt_state
            stream.normal_cache, stream.fresh = cache, fresh
            self.np, self._seed = stream, seed
            return self
        np_state, seed = _decode(raw, op)
        stream = np.random.Generator(np.random.PCG64())
        stream.bit_generator.state = np_state
        self.np, self._seed = LegacyStream(stream), seed
        return self


def _generator_device(device: Any) -> Device:
    """``Generator(device=...)``'s device: any device chainrule can place tensors on (a CUDA
    one needs CuPy, as a tensor there does); an invalid device string raises DeviceError."""
    dev = Device(device)
    check_compute_device(dev, "Generator")
    if dev.type != "cpu" and not cupy_available():
        raise RuntimeError(
            f"Generator: device {str(dev)!r} needs CuPy: install it with `pip install "
            "chainrule[gpu]` (or the cupy wheel matching your CUDA version)"
        )
    return dev


def _is_legacy(state: Any) -> bool:
    """Whether ``state`` is the dict that chainrule's ``get_state`` returned before it
    returned a tensor (``{"bit_generator": "PCG64", "state": {...}, ..., "seed": s}``)."""
    return isinstance(state, dict) and "bit_generator" in state


def _encode(np_state: dict, seed: int) -> Tensor:
    """NumPy's PCG64 state dict and the initial seed, packed into a state tensor."""
    raw = b"".join(
        (
            _HEADER,
            int(np_state["state"]["state"]).to_bytes(16, "little"),
            int(np_state["state"]["inc"]).to_bytes(16, "little"),
            int(np_state["has_uint32"]).to_bytes(4, "little"),
            int(np_state["uinteger"]).to_bytes(4, "little"),
            int(seed).to_bytes(8, "little"),
        )
    )
    return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy(), False, None, 0)


def _state_bytes(new_state: Any, op: str) -> bytes:
    """Check a state tensor as PyTorch does (type, then contiguity, then size: PyTorch's
    5,056 bytes or a legacy :data:`STATE_NBYTES`) and return its bytes."""
    if not isinstance(new_state, Tensor):
        raise TypeError(
            f"{op}: expected a cr.ByteTensor (the uint8 tensor get_rng_state / "
            f"Generator.get_state return), but got {type(new_state).__name__}"
        )
    if new_state.device.type != "cpu" or new_state._data.dtype != np.uint8:
        raise TypeError(
            f"{op}: RNG state must be a cr.ByteTensor (a uint8 CPU tensor), got a "
            f"{new_state.dtype} tensor on {new_state.device}"
        )
    arr = new_state._data
    if not arr.flags.c_contiguous:
        raise RuntimeError(f"{op}: RNG state must be contiguous")
    if arr.size not in (TORCH_STATE_NBYTES, STATE_NBYTES):
        raise RuntimeError(
            f"{op}: expected an RNG state of {TORCH_STATE_NBYTES} bytes (PyTorch's mt19937 "
            f"layout; {STATE_NBYTES} for chainrule's earlier PCG64 generator), but the input "
            f"RNG state has {arr.size}"
        )
    return arr.tobytes()


def _decode(raw: bytes, op: str) -> tuple[dict, int]:
    """Unpack a legacy :data:`STATE_NBYTES`-byte state into NumPy's PCG64 state dict and the
    initial seed."""
    if raw[:5] != _HEADER[:5]:
        raise RuntimeError(
            f"{op}: invalid chainrule RNG state: it does not start with the magic "
            f"{_MAGIC!r} and layout version {_VERSION} (got {raw[:5]!r})"
        )
    inc = int.from_bytes(raw[24:40], "little")
    has_uint32 = int.from_bytes(raw[40:44], "little")
    if inc % 2 == 0 or has_uint32 not in (0, 1):
        raise RuntimeError(
            f"{op}: invalid PCG64 state: the increment must be odd and has_uint32 0 or 1 "
            f"(got increment {inc}, has_uint32 {has_uint32})"
        )
    np_state = {
        "bit_generator": "PCG64",
        "state": {"state": int.from_bytes(raw[8:24], "little"), "inc": inc},
        "has_uint32": has_uint32,
        "uinteger": int.from_bytes(raw[44:48], "little"),
    }
    return np_state, int.from_bytes(raw[48:56], "little")


def _check_seed(seed: Any) -> int:
    """A seed must be an int in [-2**63, 2**64); negatives wrap modulo 2**64 (PyTorch)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise TypeError(f"manual_seed: seed must be an int, got {seed!r}") from None
    seed = int(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"manual_seed: seed {seed} is out of range; it must be in [-2**63, 2**64)")
    return seed % (2**64)


default_generator = Generator()
default_generator.manual_seed(0x5EED)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, and only it: as ``torch.manual_seed``, NumPy's global
    generator is left alone, so a script seeding NumPy first and reseeding torch later keeps
    its NumPy stream (DataLoader workers seed NumPy themselves, see ``utils/data/worker.py``)."""
    seed = _check_seed(seed)
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state: a new 1-d ``uint8`` CPU tensor (see the module
    docstring), as ``torch.get_rng_state()``'s ``ByteTensor``."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor | dict) -> None:
    """Restore the default generator from :func:`get_rng_state`'s tensor (or the dict of
    earlier chainrule versions, as old training checkpoints hold).

    Raises:
        TypeError: ``new_state`` is not a ``uint8`` CPU tensor (nor a legacy dict).
        RuntimeError: the tensor is not a chainrule RNG state (size, magic, contiguity).
    """
    default_generator._restore(new_state, "set_rng_state")


@contextlib.contextmanager
def fork_rng(
    devices: Any = None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type: str | None = None,
) -> Iterator[None]:
    """``torch.random.fork_rng``: draws inside the block do not change the default
    generator's state after it (it is saved on entry and restored on exit).

    chainrule draws on every device from the one default generator (``cr.manual_seed``),
    so forking it covers GPU draws too; ``devices`` / ``device_type`` name GPUs to fork,
    which must exist, as in PyTorch. ``enabled=False`` forks nothing.

    Raises:
        RuntimeError: GPU devices are named but no GPU is available.
    """
    if not enabled:
        yield
        return
    wants_gpu = bool(devices) or device_type not in (None, "cpu")
    if wants_gpu:
        from . import cuda  # noqa: PLC0415 - cuda imports the ops, which import this module

        if not cuda.is_available():
            raise RuntimeError(
                f"{_caller}: {_devices_kw}={devices!r}, device_type={device_type!r} name GPU "
                "devices, but no GPU is available (fork_rng() without them forks the CPU "
                "generator)"
            )
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def gen(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from. Inside ``cr.func.vmap`` the vmap's ``randomness``
    mode decides (raise, one shared draw, or one draw per sample; see
    :mod:`chainrule.func._random`)."""
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"argument 'generator' must be a cr.Generator, not {type(generator).__name__}"
        )
    g = (generator or default_generator).np
    if _STATE.state.vmap:
        from .func._random import source  # in here: func imports ops, which import random

        return source(g)
    return g
