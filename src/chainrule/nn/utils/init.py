"""``skip_init``: build a module without running its parameter initialisation
(``torch.nn.utils.skip_init``), for when the weights will be overwritten anyway (loaded
from a checkpoint, or initialised by a custom scheme)."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from ...backend import get_array_module
from ...random import get_rng_state, set_rng_state
from ..module import Module

__all__ = ["skip_init"]

M = TypeVar("M", bound=Module)


def _no_reset() -> None:
    """Stands in for ``reset_parameters`` while the module is built."""


def skip_init(module_cls: type[M], *args: Any, **kwargs: Any) -> M:
    """``module_cls(*args, **kwargs)`` with its parameters and buffers left uninitialised.

    PyTorch builds the module on the ``meta`` device and then allocates empty storage. chainrule
    has no meta device; it reaches the same result another way: the module's
    ``reset_parameters`` is skipped while it is built (the cost PyTorch avoids), the default
    random generator's state is restored afterwards (so, as in PyTorch, no random numbers are
    consumed), and every parameter and buffer then gets fresh uninitialised memory of its
    shape and dtype. Like PyTorch, the class must take a ``device`` argument (the contract
    that says it builds its tensors from its arguments).

    Raises:
        RuntimeError: ``module_cls`` is not a Module class, or takes no ``device`` argument.
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    rng_state = get_rng_state()
    module = module_cls.__new__(module_cls)
    module.__dict__["reset_parameters"] = _no_reset  # an instance attribute shadows the method
    try:
        module_cls.__init__(module, *args, **kwargs)
    finally:
        module.__dict__.pop("reset_parameters", None)
        set_rng_state(rng_state)
    for sub in module.modules():
        for store in (sub._parameters, sub._buffers):
            for t in store.values():
                if t is not None:
                    t._data = get_array_module(t._data).empty_like(t._data)
    return module
