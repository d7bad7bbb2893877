"""The arguments of ``torch.compile``, checked as PyTorch checks them, and the one warning
chainrule gives instead of compiling.

Both :func:`chainrule.compile` and ``Module.compile`` call :func:`check_compile_arguments`,
so a misspelt ``mode`` or backend fails here as it fails in PyTorch (``RuntimeError`` naming
the valid choices), before the program depends on the line. This module imports nothing of
chainrule: ``nn.module`` (``Module.compile``) uses it without an import cycle.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = [
    "BACKENDS",
    "MODES",
    "InvalidBackend",
    "check_compile_arguments",
    "warn_runs_eagerly",
]

MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")

# The backends torch._dynamo.list_backends(exclude_tags=None) names, less its testing-only
# entries. Every one of them computes what eager PyTorch computes; chainrule runs eagerly.
BACKENDS = (
    "aot_eager",
    "aot_eager_decomp_partition",
    "aot_eager_default_partitioner",
    "aot_ts",
    "cudagraphs",
    "eager",
    "eager_debug",
    "eager_noexcept",
    "inductor",
    "openxla",
    "openxla_eval",
    "pre_dispatch_eager",
    "ts",
    "tvm",
)


class InvalidBackend(RuntimeError):
    """A ``backend=`` name no compiler knows (``torch._dynamo.exc.InvalidBackend``)."""


def check_compile_arguments(
    backend: Any, mode: str | None, options: dict | None, where: str = "cr.compile"
) -> None:
    """Raise as PyTorch does for a ``mode``, ``options`` or ``backend`` it would refuse.

    Raises:
        RuntimeError: ``mode`` and ``options`` together, or an unknown ``mode``.
        InvalidBackend: an unknown backend name.
        NotImplementedError: a callable backend, which expects the FX graph PyTorch's
            tracer builds; chainrule traces nothing.
    """
    if mode is not None and options is not None:
        raise RuntimeError(
            f"{where}: Either mode or options can be specified, but both can't be specified "
            "at the same time."
        )
    if mode is not None and mode not in MODES:
        raise RuntimeError(
            f"{where}: Unrecognized mode={mode}, should be one of: {', '.join(MODES)}"
        )
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"{where}: options must be a dict, got {type(options).__name__}")
    if backend is None or isinstance(backend, str):
        if backend is not None and backend not in BACKENDS:
            raise InvalidBackend(
                f"{where}: Invalid backend: {backend!r}, see "
                f"torch._dynamo.list_backends() for available backends ({', '.join(BACKENDS)})"
            )
        return
    if callable(backend):
        raise NotImplementedError(
            f"{where}: backend={getattr(backend, '__name__', type(backend).__name__)} (a "
            "callable) receives the FX graph that PyTorch's tracer builds; chainrule runs "
            "eagerly and traces no graph. Pass a backend name or drop the argument"
        )
    raise TypeError(f"{where}: backend must be a name or a callable, got {type(backend).__name__}")


def warn_runs_eagerly(what: str, stacklevel: int = 3) -> None:
    """Say, once per call site (Python's default warning filter), that nothing is compiled:
    the model runs eagerly, as ``torch.compile(..., backend="eager")`` would run it."""
    warnings.warn(
        f"{what}: chainrule has no graph compiler; the code runs eagerly, computing what "
        "torch.compile(backend='eager') computes (mode, options, fullgraph and dynamic "
        "change nothing here)",
        UserWarning,
        stacklevel=stacklevel,
    )
