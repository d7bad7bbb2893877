"""What a rank outside a group gets, as in PyTorch: ``new_group`` returns
``GroupMember.NON_GROUP_MEMBER`` (-100) on the ranks it leaves out, and every rank may then
call the same collectives with that value. On a non-member, a collective does nothing, warns
"Running <op> on global rank <r> which does not belong to the given group." and returns None
(``recv`` returns -1); ``get_rank``/``get_world_size`` answer -1; anything else that needs a
real group (``send``, ``get_backend``) raises ``ValueError("Invalid process group
specified")``. Before this, chainrule returned None on non-members, which every collective
reads as the world group.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["NON_GROUP_MEMBER", "NotInGroup", "is_non_member", "member_only"]

NON_GROUP_MEMBER = -100
"""PyTorch's ``GroupMember.NON_GROUP_MEMBER``: ``new_group``'s answer on a non-member."""


class NotInGroup(ValueError):
    """Raised by ``group_of`` for ``NON_GROUP_MEMBER``; :func:`member_only` turns it into
    PyTorch's no-op with a warning, elsewhere it is PyTorch's ValueError."""

    def __init__(self) -> None:
        super().__init__("Invalid process group specified")


def is_non_member(group: Any) -> bool:
    """Whether ``group`` is the non-member marker (an int, so never a ProcessGroup)."""
    return type(group) is int and group == NON_GROUP_MEMBER


def member_only(result: Any = None, name: str | None = None) -> Callable:
    """Decorate a collective: on a rank outside its group it warns and returns ``result``
    (PyTorch's behaviour) instead of raising :class:`NotInGroup`. ``name`` is the op named
    in the warning (default: the function's name)."""

    def decorate(fn: Callable) -> Callable:
        label = name or fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except NotInGroup:
                from .group import get_rank  # noqa: PLC0415 - group imports this module

                warnings.warn(
                    f"Running {label} on global rank {get_rank()} which does not belong to "
                    "the given group.",
                    UserWarning,
                    stacklevel=2,
                )
                return result

        return wrapper

    return decorate
