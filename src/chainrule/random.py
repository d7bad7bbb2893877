"""Random number generation: a seeded default generator and ``cr.Generator`` objects.

``cr.manual_seed(s)`` makes everything that draws from the default generator
(``rand``, ``randn``, weight init, dropout, DataLoader shuffling) reproducible. Generator
state is a JSON-friendly dict, so training checkpoints can store it without pickle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .autograd.state import LOCAL as _STATE


class Generator:
    """A random stream (NumPy PCG64 underneath), like ``torch.Generator``."""

    def __init__(self, device: Any = "cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed; negative seeds wrap to unsigned 64-bit as in PyTorch (-5 -> 2**64 - 5)."""
        self._seed = _check_seed(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's state as plain ints and strings (JSON-serialisable)."""
        st = self.np.bit_generator.state
        return {
            "bit_generator": st["bit_generator"],
            "state": {k: int(v) for k, v in st["state"].items()},
            "has_uint32": int(st["has_uint32"]),
            "uinteger": int(st["uinteger"]),
            "seed": self._seed,
        }

    def set_state(self, state: dict) -> None:
        st = dict(state)
        self._seed = int(st.pop("seed", self._seed))
        self.np.bit_generator.state = st


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


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(new_state: dict) -> None:
    default_generator.set_state(new_state)


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
    g = (generator or default_generator).np
    if _STATE.state.vmap:
        from .func._random import source  # in here: func imports ops, which import random

        return source(g)
    return g
