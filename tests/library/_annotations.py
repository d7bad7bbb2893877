"""Annotations for functions defined in test files that use ``from __future__ import
annotations``: there every annotation is a string, which ``custom_op`` (chainrule's or torch's)
cannot resolve when it names a local (the framework's ``Tensor``, passed in as ``T``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

__all__ = ["typed"]


def typed(fn: Any, **names: Any) -> Any:
    """``fn`` with its annotations (strings: this file uses ``from __future__ import
    annotations``) evaluated with ``names`` (``T``: the framework's Tensor), as real
    annotations would be; both infer_schema implementations read the evaluated ones."""
    scope = {"Optional": Optional, "Sequence": Sequence, **names}
    fn.__annotations__ = {k: eval(v, scope) for k, v in fn.__annotations__.items()}  # noqa: S307
    return fn
