"""Random number generation: a seeded default generator and ``cr.Generator`` objects.

``cr.manual_seed(s)`` makes everything that draws from the default generator
(``rand``, ``randn``, weight init, dropout, DataLoader shuffling) reproducible.

A generator's state is, as in PyTorch, a 1-d ``uint8`` CPU tensor (torch's is the 5056 bytes
of its mt19937; chainrule's generator is NumPy's PCG64, so its state has its own compact
layout, :data:`STATE_NBYTES` bytes, all little-endian)::

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
like any other. ``set_rng_state`` / ``Generator.set_state`` also accept the dict that earlier
chainrule versions returned (``{"bit_generator": "PCG64", "state": {...}, ...}``), so training
checkpoints written before the tensor form still resume.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .autograd.state import LOCAL as _STATE
from .autograd.tensor import Tensor
from .backend import Device, check_compute_device, cupy_available

__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"]

_MAGIC = b"CRNG"
_VERSION = 1
_HEADER = _MAGIC + bytes([_VERSION, 0, 0, 0])
STATE_NBYTES = 56
"""Bytes in a chainrule generator state tensor (see the module docstring for the layout)."""


class Generator:
    """A random stream (NumPy PCG64 underneath), like ``torch.Generator``."""

    def __init__(self, device: Any = "cpu"):
        self._device = _generator_device(device)
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.np = np.random.Generator(np.random.PCG64(self._seed))

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
            raise TypeError("Generator.manual_seed: an integer is required, got a NumPy integer")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        self._seed = _check_seed(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's state as a new 1-d ``uint8`` CPU tensor of :data:`STATE_NBYTES`
        bytes (layout in the module docstring), as ``torch.Generator.get_state`` returns a
        ``ByteTensor``: a fresh copy each call, so changing it leaves the generator alone."""
        return _encode(self.np.bit_generator.state, self._seed)

    def set_state(self, new_state: Tensor | dict) -> Generator:
        """Restore a state from :meth:`get_state` (or the legacy dict of earlier chainrule
        versions); returns the generator, as PyTorch's.

        Raises:
            TypeError: ``new_state`` is not a ``uint8`` CPU tensor (nor a legacy dict).
            RuntimeError: the tensor is not contiguous, has the wrong number of bytes, or
                does not hold a chainrule PCG64 state.
            ValueError: a legacy dict that is not a PCG64 state (NumPy's check).
        """
        return self._restore(new_state, "Generator.set_state")

    def _restore(self, new_state: Tensor | dict, op: str) -> Generator:
        """:meth:`set_state`, with errors naming the public function ``op`` that was called."""
        if _is_legacy(new_state):
            st = {k: v for k, v in new_state.items() if k != "seed"}
            self.np.bit_generator.state = st
            self._seed = int(new_state.get("seed", self._seed)) % (2**64)
            return self
        np_state, seed = _decode(new_state, op)
        self.np.bit_generator.state = np_state
        self._seed = seed
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


def _decode(new_state: Any, op: str) -> tuple[dict, int]:
    """Check a state tensor as PyTorch does (type, then contiguity, then size) and unpack it
    into NumPy's PCG64 state dict and the initial seed."""
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
    if arr.size != STATE_NBYTES:
        hint = " (PyTorch's mt19937 state: chainrule's generator is PCG64)" * (arr.size == 5056)
        raise RuntimeError(
            f"{op}: expected a chainrule PCG64 RNG state of {STATE_NBYTES} bytes, but the "
            f"input RNG state has {arr.size}{hint}"
        )
    raw = arr.tobytes()
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
    """Seed the default generator (and NumPy's legacy global one, for user code)."""
    seed = _check_seed(seed)
    np.random.seed(seed % (2**32))
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
