"""``cr.compile``: PyTorch's graph compiler, which chainrule does not have.

``model = torch.compile(model)`` is common in PyTorch scripts. chainrule runs every op
eagerly on NumPy and has no compiler, so rather than return the model unchanged and let
the user believe it was compiled, :func:`compile` raises ``NotImplementedError`` saying
what to do. ``compile(model, disable=True)`` is PyTorch's documented way to switch
compilation off, and returns the model itself, as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile"]


def compile(
    model: Callable | None = None,
    *,
    fullgraph: bool = False,  # noqa: A001
    dynamic: bool | None = None,
    backend: Any = "inductor",
    mode: str | None = None,
    options: dict | None = None,
    name: str | None = None,
    disable: bool = False,
    recompile_limit: int | None = None,
    isolate_recompiles: bool = False,
    shapes_spec: Any = None,
) -> Any:
    """Raise ``NotImplementedError``: chainrule runs eagerly and has no graph compiler.

    With ``disable=True`` the model (or, used as ``@compile(disable=True)``, a decorator
    returning the function) comes back unchanged, as in PyTorch.

    Raises:
        NotImplementedError: whenever compilation is requested.
    """
    if disable:
        if model is None:
            return lambda fn: fn
        return model
    raise NotImplementedError(
        "cr.compile: chainrule has no graph compiler (every op runs eagerly on NumPy/CuPy); "
        "remove the torch.compile(...) call, or pass disable=True to keep the line"
    )
