"""``cr.compile``: PyTorch's compiler entry point, for code that chainrule runs eagerly.

``model = torch.compile(model)`` is in most recent PyTorch scripts. chainrule has no graph
compiler, and a compiled PyTorch model computes what the eager one computes, so
:func:`compile` returns what PyTorch returns, run eagerly: for a module an
:class:`~chainrule.nn._optimized_module.OptimizedModule` (``_orig_mod``, the ``_orig_mod.``
prefix of its ``state_dict`` keys, attributes passed through), for a function a wrapper
around it. It checks its arguments as PyTorch does and warns that nothing is compiled, so
the speed a user asked for is not silently promised. ``disable=True`` returns the model
itself, as in PyTorch. Why not raise (the decision before 2026-12-02): see
``docs/architecture.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._compile_arguments import check_compile_arguments, warn_runs_eagerly
from .nn._optimized_module import OptimizedModule
from .nn.module import Module

__all__ = ["compile"]


def compile(  # noqa: A001 - mirrors torch.compile
    model: Callable | None = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | Callable | None = None,
    mode: str | None = None,
    options: dict | None = None,
    name: str | None = None,
    disable: bool = False,
    recompile_limit: int | None = None,
    isolate_recompiles: bool = False,
    shapes_spec: Any = None,
) -> Any:
    """``torch.compile``: ``model`` (a Module or function) to be run eagerly, in the form
    PyTorch returns it; without ``model``, a decorator doing the same.

    ``backend``, ``mode`` and ``options`` are checked as PyTorch checks them; ``fullgraph``,
    ``dynamic``, ``name``, ``recompile_limit``, ``isolate_recompiles`` and ``shapes_spec``
    steer a tracer that does not exist here, so they change nothing (eager code has no
    graph to break and no shapes to specialise). A ``UserWarning`` says so.

    Raises:
        RuntimeError: ``mode`` and ``options`` together, or an unknown ``mode``.
        chainrule._dynamo.InvalidBackend: an unknown backend name.
        NotImplementedError: a callable backend (it expects a traced FX graph).
        TypeError: ``model`` is not callable.
    """
    check_compile_arguments(backend, mode, options)
    if model is None:

        def decorate(fn: Callable) -> Any:
            return _eager(fn, disable)

        return decorate
    return _eager(model, disable)


def _eager(model: Any, disable: bool) -> Any:
    if not callable(model):
        raise TypeError(
            f"cr.compile: a callable function is expected, but {type(model)} is provided"
        )
    if disable:
        return model
    warn_runs_eagerly("cr.compile", stacklevel=4)
    if isinstance(model, Module):
        return OptimizedModule(model)

    @functools.wraps(model)
    def run_eagerly(*args: Any, **kwargs: Any) -> Any:
        return model(*args, **kwargs)

    return run_eagerly
