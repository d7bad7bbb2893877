"""``cr.func.rearrange`` (PyTorch's ``torch.func.rearrange``): einops' ``rearrange`` grammar.

A pattern such as ``"b (h h1) w c -> b h (w h1 c)"`` names each axis of the input on the left
of ``->`` and says on the right where each one goes. Parentheses compose axes (on the right:
merge them into one dimension) or decompose one (on the left: split a dimension into several,
their lengths given as keyword arguments, one of them per group inferred), ``...`` stands for
the axes the pattern does not name, and ``1`` or ``()`` is a unit axis (a length-1 dimension:
dropped from the left, inserted on the right).

Every rearrangement is a reshape into the *elementary* axes (each named axis on its own),
a permutation of them and a reshape into the groups of the right side. It is run with the
differentiable view ops ``Reshape`` and ``Permute`` (and ``stack`` for a sequence of tensors),
so gradients, double backward, forward mode and ``vmap`` (the two ops have batching rules)
come with them, and the result is a view of the input wherever ``reshape`` can make one.

Parsing a pattern and planning it for a shape are pure functions of strings and integers,
cached (``functools.lru_cache``), so the call in a training loop costs a dictionary lookup
and at most three view ops.
"""

from __future__ import annotations

import functools
import keyword
import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

from ..autograd.tensor import Tensor
from ..ops._util import ShapeError
from ..ops.shape import Permute, Reshape, stack

__all__ = ["rearrange"]

_ELLIPSIS = "..."
_GRAMMAR = (
    "a pattern is 'LEFT -> RIGHT', each side axis names (Python identifiers that neither "
    "start nor end with '_') separated by spaces, parenthesised groups '(h w)' one level "
    "deep, at most one ellipsis '...', and unit axes '1' or '()'"
)


class _Pattern(NamedTuple):
    """A parsed pattern. Each side is a tuple of elements, one per dimension: a tuple of axis
    names (a group; ``()`` for a unit axis, one name for a plain axis), or ``"..."`` for an
    ellipsis outside parentheses. On the right a group may hold ``"..."`` (``(...)``)."""

    left: tuple
    right: tuple
    ellipsis: bool
    names: frozenset


def _error(pattern: str, what: str) -> ValueError:
    return ValueError(f"rearrange: pattern {pattern!r}: {what}")


def _words(side: str, pattern: str) -> list:
    """Split one side into words and the brackets ``(`` and ``)``."""
    words: list = []
    word = ""
    for ch in side + " ":
        if ch in " ()":
            if word:
                words.append(word)
                word = ""
            if ch != " ":
                words.append(ch)
        elif ch == "." or ch == "_" or ch.isalnum():
            word += ch
        else:
            raise _error(pattern, f"character {ch!r} is not allowed; {_GRAMMAR}")
    return words


def _axis(word: str, pattern: str) -> str | None:
    """The axis a word names: a name, ``"..."``, or None for the unit axis ``1``."""
    if word == _ELLIPSIS:
        return word
    if "." in word:
        raise _error(pattern, f"{word!r} has dots; dots are allowed only as the ellipsis '...'")
    if word.isdecimal():
        if int(word) == 1:
            return None
        raise _error(
            pattern,
            f"anonymous axis {word!r} is not supported; the only anonymous axis of "
            "rearrange is the unit axis '1' (or '()')",
        )
    if not word.isidentifier():
        raise _error(pattern, f"axis name {word!r} is not a Python identifier")
    if word.startswith("_") or word.endswith("_"):
        raise _error(pattern, f"axis name {word!r} starts or ends with '_', which is reserved")
    if keyword.iskeyword(word):
        warnings.warn(
            f"rearrange: axis name {word!r} in pattern {pattern!r} is a Python keyword",
            RuntimeWarning,
            stacklevel=6,
        )
    return word


def _parse_side(side: str, pattern: str) -> tuple:
    elements: list = []
    group: list | None = None  # the names of the open parenthesis, if any
    for word in _words(side, pattern):
        if word == "(":
            if group is not None:
                raise _error(pattern, f"groups are nested; {_GRAMMAR}")
            group = []
        elif word == ")":
            if group is None:
                raise _error(pattern, "a ')' closes no '('")
            elements.append(tuple(group))
            group = None
        else:
            axis = _axis(word, pattern)
            if group is not None:
                if axis is not None:
                    group.append(axis)
            elif axis == _ELLIPSIS:
                elements.append(axis)
            else:
                elements.append(() if axis is None else (axis,))
    if group is not None:
        raise _error(pattern, "a '(' is never closed")
    return tuple(elements)


def _names(elements: tuple) -> list:
    """Every name and ellipsis of one side, in order."""
    out: list = []
    for el in elements:
        out.extend([el] if el == _ELLIPSIS else el)
    return out


@functools.lru_cache(maxsize=512)
def _parse(pattern: str) -> _Pattern:
    """Parse and check a pattern (everything that does not depend on the tensor)."""
    if pattern.count("->") != 1:
        raise _error(pattern, f"'->' must appear exactly once; {_GRAMMAR}")
    left_text, right_text = pattern.split("->")
    left = _parse_side(left_text, pattern)
    right = _parse_side(right_text, pattern)
    sides = {}
    for label, elements in (("left", left), ("right", right)):
        names = _names(elements)
        if names.count(_ELLIPSIS) > 1:
            raise _error(pattern, f"the {label} side has more than one ellipsis '...'")
        for nm in names:
            if names.count(nm) > 1:
                raise _error(pattern, f"axis {nm!r} appears twice on the {label} side")
        sides[label] = set(names)
    if any(el != _ELLIPSIS and _ELLIPSIS in el for el in left):
        raise _error(
            pattern, "the left side has '...' inside parentheses; only the right side may merge it"
        )
    if (_ELLIPSIS in sides["left"]) != (_ELLIPSIS in sides["right"]):
        has, lacks = ("left", "right") if _ELLIPSIS in sides["left"] else ("right", "left")
        raise _error(pattern, f"the {has} side has an ellipsis '...' but the {lacks} side has none")
    one_side = sides["left"] ^ sides["right"]
    if one_side:
        raise _error(
            pattern,
            f"axes {sorted(one_side)} appear on one side only; rearrange moves every axis, "
            "so each name must appear on both sides",
        )
    names = frozenset(sides["left"] - {_ELLIPSIS})
    return _Pattern(left, right, _ELLIPSIS in sides["left"], names)


def _expand(elements: tuple, extra: tuple) -> list:
    """One group of names per dimension, with the ellipsis replaced by the axes ``extra``."""
    out: list = []
    for el in elements:
        if el == _ELLIPSIS:
            out.extend((nm,) for nm in extra)
        elif _ELLIPSIS in el:
            i = el.index(_ELLIPSIS)
            out.append(el[:i] + extra + el[i + 1 :])
        else:
            out.append(el)
    return out


def _bind(pattern: str, groups: list, shape: tuple, lengths: dict) -> dict:
    """The length of every axis: the given ones, checked, and one unknown per group inferred."""
    known = dict(lengths)
    for dim, (group, n) in enumerate(zip(groups, shape, strict=True)):
        unknown = [nm for nm in group if nm not in known]
        product = math.prod(known[nm] for nm in group if nm in known)
        where = f"dimension {dim} (length {n}) of a tensor of shape {shape}"
        if len(unknown) > 1:
            raise _error(
                pattern,
                f"axes {unknown} split {where} and their lengths cannot all be inferred; "
                f"give all but one of them as keyword arguments (e.g. {unknown[0]}=...)",
            )
        if unknown and product == 0:
            raise _error(
                pattern,
                f"axis {unknown[0]!r} of {where} cannot be inferred: the other axes of its "
                "group have length 0; give its length as a keyword argument",
            )
        if unknown:
            if n % product:
                raise _error(
                    pattern,
                    f"{where} is not divisible by {product}, the product of the lengths of "
                    f"{[nm for nm in group if nm in known]}, so axis {unknown[0]!r} cannot be "
                    "inferred",
                )
            known[unknown[0]] = n // product
        elif product != n:
            if not group:
                what = "a unit axis ('1' or '()'), which needs length 1"
            else:
                given = ", ".join(f"{nm}={known[nm]}" for nm in group)
                what = f"axes ({given}), which give length {product}"
            raise _error(pattern, f"{where} is matched to {what}")
    return known


@functools.lru_cache(maxsize=1024)
def _plan(pattern: str, shape: tuple, lengths: tuple) -> tuple:
    """The three steps for a tensor of ``shape``: the elementary shape, the permutation and
    the output shape, each None when it changes nothing."""
    parsed = _parse(pattern)
    unknown = sorted(set(dict(lengths)) - parsed.names)
    if unknown:
        raise _error(
            pattern,
            f"axis lengths were given for {unknown}, which the pattern does not name "
            f"(it names {sorted(parsed.names)})",
        )
    fixed = len(parsed.left) - parsed.ellipsis
    ndim = len(shape)
    if ndim < fixed or (ndim != fixed and not parsed.ellipsis):
        need = f"at least {fixed}" if parsed.ellipsis else f"{fixed}"
        raise _error(
            pattern,
            f"the left side describes {need} dimension{'s' * (fixed != 1)} but the tensor "
            f"has {ndim} (shape {shape})",
        )
    extra = tuple(f"...{i}" for i in range(ndim - fixed))  # dots: no name can clash
    left = _expand(parsed.left, extra)
    right = _expand(parsed.right, extra)
    known = _bind(pattern, left, shape, dict(lengths))
    order = [nm for group in left for nm in group]
    elementary = tuple(known[nm] for nm in order)
    perm = tuple(order.index(nm) for group in right for nm in group)
    out = tuple(math.prod(known[nm] for nm in group) for group in right)
    permuted = tuple(elementary[i] for i in perm)
    return (
        None if elementary == shape else elementary,
        None if perm == tuple(range(len(perm))) else perm,
        None if out == permuted else out,
    )


def rearrange(tensor: Tensor | Sequence[Tensor], pattern: str, **axes_lengths: int) -> Tensor:
    """Reorder, merge, split, add or drop axes of a tensor by a pattern (einops' grammar).

    Transpose, reshape, squeeze, unsqueeze and stacking, said by naming the axes: the left side
    of ``pattern`` names the input's dimensions and the right side the output's. A sequence
    of tensors is stacked along a new first dimension first.

    Grammar: axis names are Python identifiers (not starting or ending with ``_``) separated
    by spaces; ``(h w)`` on the right merges axes into one dimension (``h`` varying slowest)
    and on the left splits one dimension into them, the lengths of all but one of each
    group given in ``axes_lengths``; ``...`` stands for the unnamed dimensions (in
    parentheses on the right it merges them); ``1`` or ``()`` is a unit axis. Every name must
    appear once on each side, so nothing is reduced or repeated.

    Args:
        tensor: a tensor, or a list or tuple of tensors of one shape (stacked first).
        pattern: ``"LEFT -> RIGHT"``, e.g. ``"b (h h1) w -> b h (w h1)"``.
        **axes_lengths: lengths of axes the input's shape cannot give alone (``h1=2``); a
            length given for an axis that is a whole dimension is checked against it.

    Returns:
        The rearranged tensor, a view of ``tensor`` wherever ``reshape`` can make one.

    Raises:
        ValueError: a malformed pattern, or one that does not fit the tensor's shape
            (PyTorch raises its ``DimensionBindError`` for lengths that do not fit).
        TypeError: ``tensor`` is not a tensor or a sequence of tensors, ``pattern`` is not a
            string, or an axis length is not an ``int``.
        RuntimeError: an empty sequence, or tensors of different shapes in it (as ``stack``).

    Examples:
        >>> import chainrule as cr
        >>> x = cr.arange(6.0).reshape(2, 3)
        >>> cr.func.rearrange(x, "a b -> b a").tolist()
        [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
        >>> cr.func.rearrange(x, "a (b c) -> (a b) c", c=1).shape
        torch.Size([6, 1])
        >>> cr.func.rearrange(x, "a ... -> ... 1 a").shape
        torch.Size([3, 1, 2])
        >>> cr.func.rearrange([x, x + 6], "n a b -> a (n b)").tolist()
        [[0.0, 1.0, 2.0, 6.0, 7.0, 8.0], [3.0, 4.0, 5.0, 9.0, 10.0, 11.0]]
    """
    if not isinstance(pattern, str):
        raise TypeError(f"rearrange: pattern must be a str, got {type(pattern).__name__}")
    for name, n in axes_lengths.items():
        if type(n) is not int:
            raise TypeError(
                f"rearrange: pattern {pattern!r}: axis lengths must be int, got {name}={n!r} "
                f"({type(n).__name__})"
            )
        if n < 0:
            raise _error(pattern, f"axis length {name}={n} is negative")
    if isinstance(tensor, (list, tuple)):
        if not tensor:
            raise ShapeError("rearrange: expected a tensor or a non-empty list of tensors, got []")
        for i, t in enumerate(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"rearrange: expected a Tensor as element {i} of the sequence, got "
                    f"{type(t).__name__}"
                )
        tensor = stack(list(tensor))
    elif not isinstance(tensor, Tensor):
        raise TypeError(
            f"rearrange: expected a Tensor or a list or tuple of Tensors, got "
            f"{type(tensor).__name__}"
        )
    elementary, perm, out = _plan(pattern, tuple(tensor.shape), tuple(sorted(axes_lengths.items())))
    y = tensor
    if elementary is not None:
        y = Reshape.apply(y, elementary)
    if perm is not None:
        y = Permute.apply(y, perm)
    if out is not None or y is tensor:  # always a new view, as PyTorch returns
        y = Reshape.apply(y, tuple(y.shape) if out is None else out)
    return y
