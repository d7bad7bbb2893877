"""``torch.Size``: the tuple a tensor's ``shape`` and ``size()`` return.

Its own module, below ``autograd.tensor`` (which returns it), so that the Tensor class can
use it without an import cycle; the top level re-exports it as ``cr.Size``.
"""

from __future__ import annotations

import builtins
import dis
import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["Size"]


def _is_int_tensor(s: Any) -> bool:
    """A one-element integer tensor (PyTorch accepts those as sizes)."""
    dtype = getattr(s, "dtype", None)
    return (
        hasattr(s, "numel")
        and hasattr(s, "item")
        and getattr(dtype, "kind", "") in "biu"
        and s.numel() == 1
    )


class Size(tuple):
    """``torch.Size``: the tuple of a tensor's dimensions, with ``numel()``.

    A ``tuple`` subclass: it compares and hashes as the plain tuple of its ints; slicing,
    ``+`` and ``*`` give a ``Size`` again, and its repr is PyTorch's, ``torch.Size([2, 3])``,
    so printed shapes read as in PyTorch. ``Tensor.shape`` and ``Tensor.size()`` return one
    (made with ``tuple.__new__``, without re-checking NumPy's ints).

    Raises:
        TypeError: an item that is not an int (or a one-element integer tensor), as PyTorch.
    """

    def __new__(cls, sizes: Iterable[Any] = ()) -> Size:
        items = []
        for i, s in enumerate(sizes):
            if _is_int_tensor(s):
                s = s.item()
            if not isinstance(s, (builtins.int, np.integer)):
                raise TypeError(
                    f"torch.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')"
                )
            items.append(builtins.int(s))
        return super().__new__(cls, items)

    def numel(self) -> builtins.int:
        """The number of elements a tensor of this size holds (1 for ``Size([])``)."""
        return math.prod(self)

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, key: Any) -> Any:
        out = super().__getitem__(key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other: Any) -> Size:
        if not isinstance(other, tuple):  # PyTorch's C type's words
            raise TypeError(
                f"can only concatenate tuple (not {type(other).__name__}) to torch.Size"
            )
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            # PyTorch's C type has no number-protocol ``+``: ``values += size`` extends a list
            # (Python falls back to the list's own ``+=``), while ``[1] + size`` is the list's
            # error, naming 'torch.Size'
            frame = sys._getframe(1)
            in_place = _called_for_in_place_add(frame)
            if (in_place or not _called_for_add(frame)) and hasattr(type(other), "__iadd__"):
                # ``+=``, or a call from C that may be ``operator.iadd(values, size)``: the
                # list's own in-place add extends it (``operator.add`` gets the list's error)
                return NotImplemented
            if isinstance(other, (list, str)):
                name = type(other).__name__
                raise TypeError(f'can only concatenate {name} (not "torch.Size") to {name}')
            raise _operand_error("+=" if in_place else "+", other)
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n: Any) -> Size:
        return Size(tuple(self) * n)

    def __rmul__(self, n: Any) -> Any:
        if isinstance(n, (list, str, bytes)):  # the sequence's own repeat and its TypeError
            return NotImplemented
        return Size(tuple(self) * n)

    def __reduce__(self) -> tuple:
        return (Size, (tuple(self),))

    # Python's TypeError for ``x - size`` (``x`` gave up): with PyTorch's C type name,
    # 'torch.Size', where a Python class would print 'Size'
    def __rsub__(self, other: Any) -> Any:
        raise _operand_error("-", other)

    def __rtruediv__(self, other: Any) -> Any:
        raise _operand_error("/", other)

    def __rfloordiv__(self, other: Any) -> Any:
        raise _operand_error("//", other)

    def __rmod__(self, other: Any) -> Any:
        raise _operand_error("%", other)

    def __rpow__(self, other: Any) -> Any:
        raise _operand_error("** or pow()", other)

    def __rmatmul__(self, other: Any) -> Any:
        raise _operand_error("@", other)


# CPython 3.11+: ``BINARY_OP`` with the in-place-add argument; 3.10: its own ``INPLACE_ADD``
_BINARY_OP, _NB_INPLACE_ADD = dis.opmap.get("BINARY_OP", -1), 13
_INPLACE_ADD = dis.opmap.get("INPLACE_ADD", -1)
_NB_ADD, _BINARY_ADD = 0, dis.opmap.get("BINARY_ADD", -1)


def _called_for_in_place_add(frame: Any) -> bool:
    """Whether the Python code that called ``__radd__`` is running ``x += y``, not ``x + y``
    (read from the instruction the calling frame is executing)."""
    code, i = frame.f_code.co_code, frame.f_lasti
    if not 0 <= i < len(code) - 1:
        return False
    return code[i] == _INPLACE_ADD or (code[i] == _BINARY_OP and code[i + 1] == _NB_INPLACE_ADD)


def _called_for_add(frame: Any) -> bool:
    """Whether the Python code that called ``__radd__`` is running ``x + y`` itself (not
    ``x += y``, nor a call into C such as ``operator.iadd`` that reached it)."""
    code, i = frame.f_code.co_code, frame.f_lasti
    if not 0 <= i < len(code) - 1:
        return False
    return code[i] == _BINARY_ADD or (code[i] == _BINARY_OP and code[i + 1] == _NB_ADD)


def _operand_error(symbol: str, other: Any) -> TypeError:
    return TypeError(
        f"unsupported operand type(s) for {symbol}: '{type(other).__name__}' and 'torch.Size'"
    )
