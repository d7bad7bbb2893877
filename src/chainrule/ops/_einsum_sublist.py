"""``torch.einsum``'s sublist form, ``einsum(op1, sublist1, op2, sublist2, ..., [out])``,
turned into the equation form the einsum op parses.

A sublist names each dim of its operand by an int in [0, 52) or ``Ellipsis``; PyTorch maps
0-25 to 'A'-'Z' and 26-51 to 'a'-'z', so the implicit output (the subscripts that appear
once, in alphabetical order) lists uppercase before lowercase, i.e. in increasing int order.
opt_einsum-style code and ``np.einsum`` ports use this form.
"""

from __future__ import annotations

import operator
import string
from typing import Any

from ..autograd.tensor import Tensor

__all__ = ["sublist_to_equation"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # PyTorch's int -> letter order


def _subscripts(sublist: Any) -> str:
    """One sublist as equation letters ('...' for ``Ellipsis``)."""
    letters = []
    for item in sublist:
        if item is Ellipsis:
            letters.append("...")
            continue
        if isinstance(item, Tensor) and item.numel() != 1:  # PyTorch compares it to 0
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        try:
            n = operator.index(item)
        except TypeError:
            raise _not_an_int(item) from None
        if not 0 <= n < len(_LETTERS):
            raise ValueError(
                "einsum(): subscript in subscript list is not within the valid range [0, 52)"
            )
        letters.append(_LETTERS[n])
    return "".join(letters)


def _not_an_int(item: Any) -> Exception:
    """PyTorch's error for a sublist item that is no int: its ``parse_subscript`` compares
    the item with 0 and 26 and adds it to ``ord('A')``, so Python's own error of that is its
    text ("'>=' not supported between instances of 'str' and 'int'", "'float' object cannot
    be interpreted as an integer"; a float out of [0, 52): the range's ValueError), with
    chainrule's hint on the next line."""
    hint = (
        f"einsum(): a subscript list holds ints in [0, 52) or Ellipsis, got "
        f"{type(item).__name__} {item!r}"
    )
    try:
        if item >= 0 and item < 26:
            chr(ord("A") + item)
        elif item >= 26 and item < 52:
            chr(ord("a") + item - 26)
        else:
            raise ValueError(
                "einsum(): subscript in subscript list is not within the valid range [0, 52)"
            )
    except (TypeError, ValueError) as err:
        return type(err)(f"{err}\n{hint}")
    return TypeError(hint)


def sublist_to_equation(args: tuple) -> tuple[str, list]:
    """``(op1, sublist1, op2, sublist2, ..., [out])`` -> ``(equation, [op1, op2, ...])``."""
    if len(args) < 2:
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, "
            "or at least one operand and its subscripts list"
        )
    pairs, out = args, None
    if len(args) % 2:
        pairs, out = args[:-1], args[-1]
    operands = list(pairs[0::2])
    for i, op in enumerate(operands):
        if not isinstance(op, Tensor):
            raise TypeError(
                f"einsum(): expected a Tensor as operand {i} of the sublist form "
                f"(operand, sublist, operand, sublist, ..., [output sublist]), got "
                f"{type(op).__name__}"
            )
    inputs = []
    for i, sublist in enumerate(pairs[1::2]):
        if not hasattr(sublist, "__iter__") or isinstance(sublist, str):
            raise TypeError(
                f"einsum(): expected a subscript list after operand {i}, got "
                f"{type(sublist).__name__}"
            )
        inputs.append(_subscripts(sublist))
    equation = ",".join(inputs)
    if out is not None:
        equation += "->" + _subscripts(out)
    return equation, operands
