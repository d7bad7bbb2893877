"""How the view ops read their sizes: given one by one (``x.view(2, 3)``) or as one
sequence, through PyTorch's parser rules for anything but plain ints (``_shape_arg``); a
-1 resolved against the input's element count, with the op's error when the sizes cannot
hold it (``_resolve_shape``); and the ``*_as`` ops' check of their other tensor
(``_need_tensor``).

Split from ``views.py`` (session 38): the reshapes there, the broadcasts in
``broadcasting.py``, the permutations and ``rearranging.py``'s copies all read sizes so.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.tensor import Tensor
from ._util import ShapeError
from .expand_errors import torch_text
from .number_arguments import parser_int_list, parser_view_sizes

__all__: list[str] = []  # helpers of the view ops' modules; the ops are there


def _shape_arg(shape: tuple, op: str = "", arg: str = "size") -> tuple:
    """The sizes given one by one (``x.reshape(2, 3)``) or as one sequence, as a tuple of
    ints. Plain ints return at once; anything else goes to PyTorch's parser rules for the
    op ``op`` (its argument ``arg``; without ``op``: converted by ``int``)."""
    sizes = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for s in sizes:
        if type(s) is not int:
            break
    else:
        return tuple(sizes)
    if not op:
        return tuple(sizes) if sizes is not shape else tuple(int(s) for s in sizes)
    return parser_view_sizes(shape) if op == "view" else parser_int_list(op, arg, 2, shape)


def _need_tensor(op: str, other: Any) -> None:
    """PyTorch's TypeError for a ``*_as`` method given a non-tensor (a number, a list)."""
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{op}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}"
        )


def _resolve_shape(op: str, in_shape: tuple, shape: tuple) -> tuple:
    """``shape`` with its -1 resolved for an input of shape ``in_shape``, or the op's
    ShapeError (:func:`_shape_error`) where the sizes cannot hold the input."""
    in_shape = tuple(in_shape)  # a plain tuple in messages, whatever the caller passed
    size = math.prod(in_shape)
    if -1 in shape:
        rest = math.prod(s for s in shape if s != -1)
        if rest == 0 or size % rest or shape.count(-1) > 1:
            raise _shape_error(op, in_shape, shape)
        resolved = tuple(size // rest if s == -1 else s for s in shape)
        if math.prod(resolved) != size or any(s < 0 for s in resolved):
            raise _shape_error(op, in_shape, shape)  # the sizes as given
        return resolved
    if math.prod(shape) != size or any(s < 0 for s in shape):
        raise _shape_error(op, in_shape, shape)
    return shape


def _shape_error(op: str, in_shape: tuple, shape: tuple) -> ShapeError:
    """The error for sizes that cannot hold the input: for ``reshape``/``view`` PyTorch's
    (its ``infer_size`` checks in order: a second -1, a size below -1, then the count,
    ``shape '[2, 1]' is invalid for input of size 12``); for other ops (``unflatten``)
    chainrule's, naming the op and the input's shape."""
    size = math.prod(in_shape)
    if op in ("reshape", "view"):
        inferred = False
        for i, s in enumerate(shape):
            if s == -1:
                if inferred:
                    return torch_text(ShapeError("only one dimension can be inferred"))
                inferred = True
            elif s < 0:
                return torch_text(
                    ShapeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
                )
        if inferred and size == 0 and math.prod(s for s in shape if s != -1) == 0:
            return torch_text(
                ShapeError(
                    f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                    "unspecified dimension size -1 can be any value and is ambiguous"
                )
            )
        return torch_text(ShapeError(f"shape '{list(shape)}' is invalid for input of size {size}"))
    if shape.count(-1) > 1:
        return ShapeError(f"{op}: only one dimension can be -1, got {shape}")
    if -1 in shape:
        return ShapeError(
            f"{op}: shape {shape} is invalid for input of shape {in_shape} (size {size})"
        )
    return ShapeError(
        f"{op}: shape {shape} is invalid for input of shape {in_shape} with {size} elements"
    )
