"""``functional_call``: run a module with parameters and buffers given as a dict.

The module's own tensors are swapped for the given ones for the duration of the call and put
back afterwards (also when the call raises), so a module can be used as a pure function of its
weights: ``cr.func.grad(lambda p: loss(functional_call(model, p, (x,))))(params)``, or for
per-sample gradients and meta-learning, as with ``torch.func.functional_call``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...autograd.tensor import Tensor
from ..module import Module

__all__ = ["functional_call"]


def _merge(dicts: Any) -> dict[str, Any]:
    if isinstance(dicts, Mapping):
        return dict(dicts)
    if isinstance(dicts, Sequence):
        merged: dict[str, Any] = {}
        for d in dicts:
            clash = set(merged) & set(d)
            if clash:
                raise ValueError(
                    f"functional_call: {sorted(clash)} appear in more than one of "
                    "the given dictionaries"
                )
            merged.update(d)
        return merged
    raise TypeError(
        f"functional_call: expected a dict (or a sequence of dicts) of tensors, got "
        f"{type(dicts).__name__}"
    )


def _slot(module: Module, name: str) -> tuple[dict, str]:
    """The ``_parameters`` or ``_buffers`` dict holding ``name`` and its key there."""
    path, _, leaf = name.rpartition(".")
    try:
        owner = module.get_submodule(path)
    except AttributeError as e:
        raise AttributeError(
            f"functional_call: {name!r} is not a parameter or buffer of the module ({e})"
        ) from None
    for store in (owner._parameters, owner._buffers):
        if leaf in store:
            return store, leaf
    raise AttributeError(f"functional_call: {name!r} is not a parameter or buffer of the module")


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module(*args, **kwargs)`` with the given tensors in place of its parameters and
    buffers (names as in ``named_parameters()`` / ``named_buffers()``).

    Args:
        tie_weights: a tensor shared by several names in the module (tied weights) is
            replaced under every name when one of them is given (PyTorch's default).
        strict: every parameter and buffer must be given.

    Raises:
        AttributeError: an unknown name. ValueError: ``strict`` and names missing, or tied
            names given different tensors.
    """
    given = _merge(parameter_and_buffer_dicts)
    for k, v in given.items():
        if not isinstance(v, Tensor):
            raise TypeError(
                f"functional_call: the value for {k!r} must be a Tensor, got {type(v).__name__}"
            )
    if tie_weights:
        groups: dict[int, list[str]] = {}
        for name, t in list(module.named_parameters(remove_duplicate=False)) + list(
            module.named_buffers(remove_duplicate=False)
        ):
            groups.setdefault(id(t), []).append(name)
        for names in groups.values():
            chosen = [given[n] for n in names if n in given]
            if any(c is not chosen[0] for c in chosen[1:]):
                raise ValueError(
                    f"functional_call: the tied names {names} were given different "
                    "tensors; give one, or pass tie_weights=False"
                )
            if chosen:
                for n in names:
                    given.setdefault(n, chosen[0])
    if strict:
        every = {n for n, _ in module.named_parameters(remove_duplicate=False)} | {
            n for n, _ in module.named_buffers(remove_duplicate=False)
        }
        missing = sorted(every - set(given))
        if missing:
            raise ValueError(f"functional_call: strict=True and missing keys {missing}")
    slots = [(_slot(module, name), value) for name, value in given.items()]
    saved = [(store, key, store[key]) for (store, key), _ in slots]
    try:
        for (store, key), value in slots:
            store[key] = value
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for store, key, old in saved:
            store[key] = old
