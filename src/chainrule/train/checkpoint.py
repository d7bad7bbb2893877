"""Full training checkpoints: everything needed to resume a run exactly.

A checkpoint is one ``cr.save`` file (safetensors + JSON, no pickle) holding::

    {"model": model.state_dict(), "optimizer": ..., "scheduler": ...,
     "epoch": <epochs completed>, "rng": cr.get_rng_state(),
     "generators": [state of each DataLoader / sampler Generator],
     "callbacks": {name: callback.state_dict()}, "extra": {...user state...}}

Resuming restores all of it, so the remaining epochs draw the same shuffles and dropout
masks and apply the same updates as the uninterrupted run (bit-for-bit on one machine).
``extra`` is for state outside the trainer, e.g. a fitted preprocessing transform's
``state_dict()``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..random import Generator, get_rng_state, set_rng_state

__all__ = ["load_checkpoint", "loader_generators", "save_checkpoint"]


def loader_generators(*loaders: Any) -> list[Generator]:
    """The distinct ``cr.Generator`` objects driving the shuffling of ``loaders``."""
    found: list[Generator] = []
    for loader in loaders:
        if loader is None:
            continue
        for owner in (loader, getattr(loader, "sampler", None),
                      getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
            g = getattr(owner, "generator", None)
            if isinstance(g, Generator) and all(g is not h for h in found):
                found.append(g)
    return found


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None,
                    scheduler: Any = None, epoch: int = 0,
                    generators: Sequence[Generator] = (), callbacks: dict | None = None,
                    extra: dict | None = None) -> None:
    """Write a full training checkpoint atomically (see the module docstring)."""
    from ..io import save

    state = {
        "format": "chainrule-checkpoint",
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "epoch": int(epoch),
        "rng": get_rng_state(),
        "generators": [g.get_state() for g in generators],
        "callbacks": callbacks or {},
        "extra": extra or {},
    }
    save(state, path)


def load_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None,
                    scheduler: Any = None, generators: Sequence[Generator] = (),
                    restore_rng: bool = True) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into the given objects.

    Returns:
        The whole checkpoint dict (``epoch``, ``callbacks``, ``extra`` ... for the caller).

    Raises:
        ValueError: the file is not a training checkpoint, or the number of generators
            differs from the number saved.
    """
    from ..io import load

    state = load(path)
    if not isinstance(state, dict) or state.get("format") != "chainrule-checkpoint":
        raise ValueError(f"load_checkpoint: {os.fspath(path)!r} is not a chainrule training "
                         "checkpoint (for a bare state dict use cr.load and "
                         "model.load_state_dict)")
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        set_rng_state(state["rng"])
        saved = state.get("generators") or []
        if len(saved) != len(generators):
            raise ValueError(f"load_checkpoint: the checkpoint holds {len(saved)} DataLoader "
                             f"generator states but {len(generators)} generators were given")
        for g, s in zip(generators, saved):
            g.set_state(s)
    return state
