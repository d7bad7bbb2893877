"""PyTorch's TypeErrors for a factory called without its size (``torch.ones(dtype=...)``,
``torch.full(fill_value=1.0)``): its argument parser's words, which differ from Python's
("missing 1 required positional arguments: "size"", the plural and double quotes as
PyTorch writes them), and for ``rand``/``randn`` called with no argument at all its
"invalid combination of arguments" listing (those two have a ``generator`` overload).
"""

from __future__ import annotations

from typing import Any

from .ops._tensor_args import called_as
from .ops.invalid_arguments import format_invalid_args

__all__ = ["REQUIRED", "require_full_arguments", "require_size"]


class _Required:
    """The default of a parameter PyTorch requires but that chainrule must see missing, to
    raise PyTorch's words rather than Python's."""

    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()

_OPTIONS = "*, Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
_OPTIONS += "torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
_RANDOM_OVERLOADS = (  # rand's and randn's overloads as PyTorch's listing prints them
    "(tuple of ints size, *, torch.Generator generator, " + _OPTIONS[3:],
    "(tuple of ints size, " + _OPTIONS,
)


def require_size(op: str, sizes: tuple, size: Any) -> None:
    """Raise PyTorch's TypeError where ``op`` (``ones``, ``zeros``, ``empty``, ``rand``,
    ``randn``) got no size, positional (``sizes``) or keyword (``size``): without it PyTorch
    makes no 0-d tensor (that is ``op(())``)."""
    if sizes or size is not None:
        return
    keywords = called_as((op,))[2]  # (read only on this error path)
    if op in ("rand", "randn") and not keywords:  # no keyword either
        raise TypeError(format_invalid_args(op, [], [], _RANDOM_OVERLOADS))
    if "size" in keywords and (op not in ("rand", "randn") or len(keywords) == 1):
        # size=None given: PyTorch's parser refuses the None (rand(size=None, dtype=...)
        # fits none of its two overloads there: its listing, not written here)
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not NoneType")
    raise TypeError(f'{op}() missing 1 required positional arguments: "size"')


def require_full_arguments(size: Any, fill_value: Any) -> None:
    """``torch.full``'s parser words for a missing ``size`` (it then counts ``fill_value``
    missing too, given or not) or ``fill_value``."""
    if size is REQUIRED:
        raise TypeError('full() missing 2 required positional argument: "size", "fill_value"')
    if fill_value is REQUIRED:
        raise TypeError('full() missing 1 required positional arguments: "fill_value"')
