"""``cr.compiler``: the parts of ``torch.compiler`` that code calls without compiling.

Libraries and models mark functions for the compiler at import time
(``@torch.compiler.disable``, ``allow_in_graph``, ``assume_constant_result``) and branch on
``torch.compiler.is_compiling()``. chainrule has no graph compiler (``cr.compile`` returns
the model to run eagerly, see ``chainrule._compile``), so every such marker returns the
function unchanged and every "am I being compiled" question answers False: the code runs
eagerly, which is what these markers ask for outside a compiled region.

Not provided, because each only configures or inspects compiled code, which never exists
here: ``set_stance``, ``substitute_in_graph``, ``nested_compile_region``, ``wrap_numpy``,
``list_backends``/``get_default_backend``/``set_default_backend``, the cache artefact and
``load_compiled_function`` functions, the ``*_guards_unsafe`` functions and ``config``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._compile import compile

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "compile",
    "cudagraph_mark_step_begin",
    "disable",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "reset",
]

_F = TypeVar("_F")


def disable(
    fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None
) -> Any:
    """``@cr.compiler.disable`` (or ``@cr.compiler.disable(recursive=False, reason=...)``):
    exclude a function from compilation. chainrule never compiles, so the function itself is
    returned (without ``fn``, a decorator that returns its function)."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """False: chainrule code never runs inside a compiled region."""
    return False


def is_dynamo_compiling() -> bool:
    """False: there is no Dynamo tracing in chainrule."""
    return False


def is_exporting() -> bool:
    """False: chainrule has no ``export``."""
    return False


def reset() -> None:
    """Clear the compilation caches: chainrule has none, so there is nothing to clear."""


def allow_in_graph(fn: _F) -> _F:
    """The function (or list of functions), unchanged: it is called eagerly like all code."""
    return fn


def assume_constant_result(fn: _F) -> _F:
    """The function, unchanged: it is called every time, as in eager PyTorch."""
    return fn


def cudagraph_mark_step_begin() -> None:
    """Mark the start of a training/inference step for CUDA graphs; chainrule records no
    CUDA graphs, so there is no step to mark (PyTorch's call on the CPU is a no-op too)."""
