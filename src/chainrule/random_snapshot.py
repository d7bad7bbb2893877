"""Cheap save and restore of the default generator, for chainrule's own replays.

``get_rng_state()`` builds PyTorch's 5,056-byte state tensor: about 40 µs, most of it NumPy's
``MT19937.state`` getter, which copies the engine into a new dict. chainrule rewinds the
generator internally far more often than a user saves it -- a ``jvp`` whose tangents must
carry a graph reruns ``f`` with the same draws, ``jacfwd(randomness="same")`` rewinds per
input element, activation checkpointing replays a segment's dropout masks, ``cond`` runs its
untaken branch without consuming draws -- and none of these needs the state in PyTorch's
layout, only a way back to it. :func:`snapshot` copies the engine's C state (the 624-word
mt19937 key and its position, 2,500 bytes, through NumPy's documented
``bit_generator.ctypes.state_address``) and the transforms' own fields, in under a microsecond;
:func:`restore` writes them back.

The engine's memory layout is checked once against ``MT19937.state`` when this module is
imported; if NumPy ever lays it out differently the snapshot falls back to
``get_rng_state()`` (slower, same result). A generator restored from a state of chainrule's
earlier PCG64 generator (a legacy stream) is snapshotted the slow way too.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from .autograd.tensor import Tensor
from .random import Generator, default_generator
from .random_mt19937 import TorchStream

__all__ = ["RngSnapshot", "engine_words", "restore", "snapshot"]

_KEY_WORDS = 624
_ENGINE_NBYTES = 4 * _KEY_WORDS + 4  # uint32 key[624]; int pos


def _engine_layout_matches() -> bool:
    """Whether MT19937's C state is ``uint32 key[624]`` followed by ``int pos``, as read
    back through the ``state`` dict (checked on an engine part-way through its key)."""
    try:
        bits = np.random.MT19937(20261204)
        bits.random_raw(7)
        raw = ctypes.string_at(bits.ctypes.state_address, _ENGINE_NBYTES)
    except (AttributeError, TypeError, ValueError, OSError):
        return False
    state = bits.state["state"]
    key = np.frombuffer(raw[: 4 * _KEY_WORDS], dtype=np.uint32)
    pos = int.from_bytes(raw[4 * _KEY_WORDS :], "little", signed=True)
    return bool(np.array_equal(key, state["key"].astype(np.uint32))) and pos == state["pos"]


_FAST = _engine_layout_matches()


class RngSnapshot:
    """A generator's position, to come back to with :func:`restore` (not a state tensor:
    use ``get_rng_state()`` for anything saved or handed to a user)."""

    __slots__ = ("generator", "stream", "engine", "normal_cache", "fresh", "seed", "tensor")

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.seed = generator._seed
        stream = generator.np
        self.tensor: Tensor | None = None
        if _FAST and isinstance(stream, TorchStream):
            self.stream: TorchStream | None = stream
            self.engine = ctypes.string_at(stream.bits.ctypes.state_address, _ENGINE_NBYTES)
            self.normal_cache, self.fresh = stream.normal_cache, stream.fresh
        else:
            self.stream = None
            self.tensor = generator.get_state()


def snapshot(generator: Generator | None = None) -> RngSnapshot:
    """The position of ``generator`` (the default generator if None)."""
    return RngSnapshot(default_generator if generator is None else generator)


def restore(snap: RngSnapshot) -> None:
    """Put the snapshotted generator back where :func:`snapshot` found it; later draws repeat
    the ones made after the snapshot. The generator may have been reseeded or had another
    state set in between: its stream object is put back too."""
    gen: Any = snap.generator
    stream = snap.stream
    if stream is None:
        gen._restore(snap.tensor, "set_rng_state")
        return
    ctypes.memmove(stream.bits.ctypes.state_address, snap.engine, _ENGINE_NBYTES)
    stream.normal_cache, stream.fresh = snap.normal_cache, snap.fresh
    gen.np, gen._seed = stream, snap.seed


def engine_words(stream: TorchStream) -> tuple[np.ndarray, Any] | None:
    """The mt19937 engine of ``stream`` in place, for compiled samplers that run the engine
    themselves (``_kernels/random_draws.py``): its 624 key words as a writable ``uint32``
    array over the engine's own memory, and its position as a ``ctypes.c_int`` over the
    engine's (``.value`` reads and writes it). None where the layout was not recognised
    (the caller then goes through ``MT19937.state``). Valid while ``stream`` lives."""
    if not _FAST:
        return None
    addr = stream.bits.ctypes.state_address
    key = np.ctypeslib.as_array((ctypes.c_uint32 * _KEY_WORDS).from_address(addr))
    return key, ctypes.c_int.from_address(addr + 4 * _KEY_WORDS)
