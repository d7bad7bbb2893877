"""Full training checkpoints: everything needed to resume a run exactly.

A checkpoint is one ``cr.save`` file (PyTorch's zip format, which ``torch.load`` reads
weights-only, or safetensors + JSON for a ``.safetensors`` path; never a pickled object)
holding::

    {"model": model.state_dict(), "optimizer": ..., "scheduler": ...,
     "epoch": <epochs completed>, "rng": cr.get_rng_state(),
     "generators": [state of each DataLoader / sampler / dataset Generator],
     "callbacks": {name: callback.state_dict()}, "extra": {...user state...}}

Resuming restores all of it, so the remaining epochs draw the same shuffles and dropout
masks and apply the same updates as the uninterrupted run (bit-for-bit on one machine).
``extra`` is for state outside the trainer, e.g. a fitted preprocessing transform's
``state_dict()``.

The random states are ``uint8`` tensors (``cr.get_rng_state()``'s form); checkpoints written
before chainrule returned tensors hold them as dicts, which resuming still accepts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..io import _save, load
from ..random import Generator, get_rng_state, set_rng_state

__all__ = ["load_checkpoint", "loader_generators", "save_checkpoint"]


def loader_generators(*loaders: Any) -> list[Generator]:
    """The distinct ``cr.Generator`` objects driving ``loaders``: their shuffling (loader,
    sampler) and any random augmentation their dataset draws (a dataset's ``generator``,
    e.g. ``AugmentedTensorDataset``), so that a resumed run draws what the uninterrupted
    one would have."""
    found: list[Generator] = []
    for loader in loaders:
        if loader is None:
            continue
        for owner in (
            loader,
            getattr(loader, "sampler", None),
            getattr(getattr(loader, "batch_sampler", None), "sampler", None),
            getattr(loader, "dataset", None),
        ):
            g = getattr(owner, "generator", None)
            if isinstance(g, Generator) and all(g is not h for h in found):
                found.append(g)
    return found


def save_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    epoch: int = 0,
    generators: Sequence[Generator] = (),
    callbacks: dict | None = None,
    extra: dict | None = None,
) -> None:
    """Write a full training checkpoint atomically (see the module docstring).

    Raises:
        TypeError: ``extra`` or a callback state holds an object that neither format can
            store (it is never pickled, so that resuming needs no trust in the file).
    """
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
    _save(state, path, allow_pickle=False)


def load_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    generators: Sequence[Generator] = (),
    restore_rng: bool = True,
) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into the given objects.

    Returns:
        The whole checkpoint dict (``epoch``, ``callbacks``, ``extra`` ... for the caller).

    Raises:
        ValueError: the file is not a training checkpoint, or the number of generators
            differs from the number saved.
    """
    where = repr(os.fspath(path))
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != "chainrule-checkpoint":
        raise ValueError(
            f"load_checkpoint: {where} is not a chainrule training "
            "checkpoint (for a bare state dict use cr.load and "
            "model.load_state_dict)"
        )
    _check_structure(state, where)
    model.load_state_dict(state["model"])
    _restore(where, "optimizer", optimizer, state.get("optimizer"))
    _restore(where, "scheduler", scheduler, state.get("scheduler"))
    if restore_rng:
        saved = state.get("generators") or []
        if len(saved) != len(generators):
            raise ValueError(
                f"load_checkpoint: the checkpoint holds {len(saved)} DataLoader "
                f"generator states but {len(generators)} generators were given"
            )
        try:
            set_rng_state(state["rng"])
            for g, s in zip(generators, saved):
                g.set_state(s)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
            # RuntimeError: a uint8 state tensor of the wrong size or magic (cr.set_rng_state)
            raise ValueError(
                f"load_checkpoint: {where} holds an invalid random-number generator state: {exc}"
            ) from None
    return state


def _check_structure(state: dict, where: str) -> None:
    """Types of the checkpoint's top-level entries, checked before anything is restored."""
    expected = {
        "model": dict,
        "optimizer": (dict, type(None)),
        "scheduler": (dict, type(None)),
        "generators": (list, type(None)),
        "callbacks": (dict, type(None)),
        "extra": (dict, type(None)),
    }
    for key, types in expected.items():
        if key not in state and key != "model":
            continue
        if not isinstance(state.get(key), types):
            raise ValueError(
                f"load_checkpoint: {where} is corrupt: {key!r} holds "
                f"{type(state.get(key)).__name__}"
            )
    epoch = state.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(
            f"load_checkpoint: {where} is corrupt: 'epoch' is "
            f"{repr(epoch)[:40]}, not a non-negative integer"
        )


def _restore(where: str, what: str, obj: Any, state: Any) -> None:
    """``obj.load_state_dict(state)``, with malformed states reported against the file."""
    if obj is None or state is None:
        return
    try:
        obj.load_state_dict(state)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"load_checkpoint: {where} holds an invalid {what} state: {type(exc).__name__}: {exc}"
        ) from None
