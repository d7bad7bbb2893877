"""``functional_call``: run a module with parameters and buffers given as a dict (the
implementation behind ``cr.func.functional_call`` and the deprecated
``cr.nn.utils.stateless.functional_call``).

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
        if not all(isinstance(d, Mapping) for d in dicts):  # PyTorch's words
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
            )
        counts: dict[str, int] = {}
        for d in dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]  # PyTorch's order and words
        if repeated:
            raise ValueError(
                f"{repeated} appeared in multiple dictionaries; behavior of functional call "
                "is ambiguous"
            )
        merged: dict[str, Any] = {}
        for d in dicts:
            merged.update(d)
        return merged
    raise ValueError(  # PyTorch's words
        "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
        f"{type(dicts)}"
    )


_ABSENT = object()  # an attribute the module did not have before the call


def _slot(module: Module, name: str) -> tuple[Any, str]:
    """Where ``name`` lives: the ``_parameters`` or ``_buffers`` dict holding it, or, for any
    other name, the owning module's ``__dict__`` (PyTorch swaps a plain tensor attribute, and
    sets a new one, for the duration of the call)."""
    path, _, leaf = name.rpartition(".")
    owner = module
    for part in path.split(".") if path else ():
        child = owner._modules.get(part)
        if child is None:
            raise AttributeError(f"{type(owner).__name__} has no attribute `{part}`")
        owner = child
    for store in (owner._parameters, owner._buffers):
        if leaf in store:
            return store, leaf
    current = owner.__dict__.get(leaf, _ABSENT)
    if current is _ABSENT:
        current = getattr(type(owner), leaf, _ABSENT)  # a method or property of the class
    if current is not _ABSENT and not isinstance(current, Tensor):
        raise TypeError(
            f"functional_call: attribute `{name}`: {current!r} is not an instance of Tensor, so "
            "it cannot be replaced by a tensor"
        )
    return owner.__dict__, leaf


def _strict_check(module: Module, given: dict[str, Any]) -> None:
    """``strict=True``: PyTorch's RuntimeError listing unexpected and missing names."""
    every = {n for n, _ in module.named_parameters(remove_duplicate=False)} | {
        n for n, _ in module.named_buffers(remove_duplicate=False)
    }
    unexpected, missing = sorted(set(given) - every), sorted(every - set(given))
    if unexpected or missing:
        lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
        if unexpected:
            lines.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
        if missing:
            lines.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
        raise RuntimeError("\n\t".join(lines))


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
        strict: every parameter and buffer must be given, and nothing else.

    A name that is neither a parameter nor a buffer is set as a plain tensor attribute for the
    duration of the call (replacing a tensor attribute of that name, as PyTorch does), so
    ``strict=False`` accepts extra names.

    Raises:
        AttributeError: a name whose submodule path does not exist. TypeError: a name of a
            non-tensor attribute. RuntimeError: ``strict`` and names missing or unexpected.
            ValueError: tied names given different tensors.
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
                raise ValueError(  # PyTorch's words
                    f"functional_call got multiple values for keys {sorted(names)}, which are "
                    "tied. Consider using tie_weights=False"
                )
            if chosen:
                for n in names:
                    given.setdefault(n, chosen[0])
    if strict:
        _strict_check(module, given)
    slots = [(_slot(module, name), value) for name, value in given.items()]
    saved = [(store, key, store.get(key, _ABSENT)) for (store, key), _ in slots]
    try:
        for (store, key), value in slots:
            store[key] = value
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for store, key, old in reversed(saved):
            if old is _ABSENT:
                del store[key]
            else:
                store[key] = old
