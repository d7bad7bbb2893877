"""``torch._dynamo``: the parts scripts touch when they compile, for code that runs eagerly.

``torch.compile`` returns an ``OptimizedModule`` (:mod:`.eval_frame`); scripts also reach
into ``torch._dynamo`` to tune or reset the compiler (``config.cache_size_limit``,
``reset()``), to mark tensors for the tracer (``mark_dynamic``) or to break a graph. In
chainrule nothing is traced, so the markers do nothing, as they do in eager PyTorch, and
the settings are kept but change nothing.
"""

from __future__ import annotations

from typing import Any

from .._compile_arguments import BACKENDS, InvalidBackend
from ..compiler import allow_in_graph, assume_constant_result, disable, is_compiling, reset
from . import config, eval_frame, exc
from .eval_frame import OptimizedModule

__all__ = [
    "InvalidBackend",
    "OptimizedModule",
    "allow_in_graph",
    "assume_constant_result",
    "config",
    "disable",
    "eval_frame",
    "exc",
    "graph_break",
    "is_compiling",
    "list_backends",
    "mark_dynamic",
    "mark_static",
    "maybe_mark_dynamic",
    "reset",
]

# The names torch._dynamo.list_backends() gives with its default exclude_tags (the others
# are tagged "debug" or "experimental").
_LISTED = ("cudagraphs", "inductor", "openxla", "tvm")


def list_backends(exclude_tags: tuple[str, ...] | None = ("debug", "experimental")) -> list[str]:
    """The backend names ``cr.compile`` accepts (all run eagerly here); with
    ``exclude_tags=None`` every name, otherwise those PyTorch lists by default."""
    return sorted(BACKENDS if exclude_tags is None else _LISTED)


def mark_dynamic(
    t: Any,
    index: Any,
    *,
    hint_override: int | None = None,
    min: int | None = None,  # noqa: A002 - torch's names
    max: int | None = None,  # noqa: A002
    specialize_on: list | None = None,
) -> None:
    """Tell the tracer a dimension varies (within ``min``/``max``): nothing is traced here,
    so nothing to mark, as in eager PyTorch."""


def maybe_mark_dynamic(t: Any, index: Any) -> None:
    """As :func:`mark_dynamic`: a hint for a tracer that chainrule does not have."""


def mark_static(t: Any, index: Any = None) -> None:
    """Tell the tracer a dimension is fixed: nothing is traced here, so nothing to mark."""


def graph_break() -> None:
    """End the traced graph here; eager code has no graph, so this returns (as in eager
    PyTorch)."""
