"""PyTorch's "received an invalid combination of arguments" TypeErrors for ops whose
arguments fit none of their overloads: ``x.movedim(True, 0)`` (a bool is no ``int`` dim),
``x.split(True)`` (a bool is no split size), ``x.var(0, 1)`` (``unbiased`` and ``keepdim``
must be bools). The ops call these only off their fast paths (a plain ``int`` / ``bool``
passes one ``type(...) is`` test), so the messages cost nothing where the arguments fit.
The text follows PyTorch 2.13's, read from it case by case (tests/
test_argument_types_session37_c.py compares them live).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._tensor_args import called_as, torch_type_name

__all__ = ["movedim_dims", "refuse_moment_types", "refuse_split_types"]


def _is_int(value: Any) -> bool:
    """An int to PyTorch's parser: an integer that is no bool (a NumPy integer, an integer
    0-d tensor)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, Tensor):
        return value.ndim == 0 and value.dtype.kind in "iu"
    return isinstance(value, (numbers.Integral, np.integer))


def _is_int_list(value: Any) -> bool:
    """A ``tuple of ints`` to PyTorch's parser (a tuple or list; a bool after the first
    element is read as 1). A single int is not one here (``int[]``, no size given)."""
    if not isinstance(value, (tuple, list)):
        return False
    return all(_is_int(v) or (i and isinstance(v, (bool, np.bool_))) for i, v in enumerate(value))


def _shown(value: Any) -> str:
    """How PyTorch names an argument in a "didn't match" line: a sequence with its
    elements' types (``tuple of (bool,)``, ``list of [bool, int]``)."""
    if isinstance(value, tuple):
        kinds = ", ".join(torch_type_name(v) for v in value)
        return f"tuple of ({kinds},)" if len(value) == 1 else f"tuple of ({kinds})"
    if isinstance(value, list):
        return "list of [" + ", ".join(torch_type_name(v) for v in value) + "]"
    return torch_type_name(value)


def _listing(first: list[str], named: list[str]) -> str:
    """PyTorch's argument listing: the positional ones, each keyword after ``, `` (or
    followed by ``, `` where none is positional)."""
    if first:
        return ", ".join(first) + "".join(f", {k}" for k in named)
    return "".join(f"{k}, " for k in named)


def _combination_error(op: str, got: str, lines: list[str]) -> TypeError:
    return TypeError(
        f"{op}() received an invalid combination of arguments - got ({got}), but expected "
        "one of:\n" + "\n".join(lines) + "\n"
    )


_WHY = "      didn't match because some of the arguments have invalid types: "


def movedim_dims(source: Any, destination: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``movedim``'s dims where they are not two plain ints: two ints (NumPy integers,
    integer 0-d tensors) or two int sequences, as tuples of ints; else PyTorch's TypeError
    listing its ``(int source, int destination)`` and ``(tuple of ints source, tuple of ints
    destination)`` overloads with the mismatched arguments marked."""
    if _is_int(source) and _is_int(destination):
        return (int(source),), (int(destination),)
    if _is_int_list(source) and _is_int_list(destination):
        return tuple(int(v) for v in source), tuple(int(v) for v in destination)
    name, method, given = called_as(("movedim", "moveaxis"))
    params = [("source", source), ("destination", destination)]
    positional = [p for p in params if p[0] not in given]
    keywords = [p for k in reversed(given) for p in params if p[0] == k]
    head = [] if method else ["Tensor"]
    got = _listing(
        head + [torch_type_name(v) for _, v in positional],
        [f"{a}={torch_type_name(v)}" for a, v in keywords],
    )
    lines = []
    for kind, fits in (("int", _is_int), ("tuple of ints", _is_int_list)):
        sig = ("" if method else "Tensor input, ") + f"{kind} source, {kind} destination"

        def mark(value: Any, text: str) -> str:
            # PyTorch marks every argument in its list form where they fit neither
            ok = fits is _is_int and fits(value)  # noqa: B023 - used at once
            return text if ok else f"!{text}!"

        marks = _listing(
            head + [mark(v, _shown(v)) for _, v in positional],
            [mark(v, f"{a}={_shown(v)}") for a, v in params if a in given],
        )
        lines += [f" * ({sig})", _WHY + f"({marks})"]
    raise _combination_error(name, got, lines)


def refuse_split_types(split_size: Any, dim: Any) -> None:
    """PyTorch's errors for ``Tensor.split``'s arguments where they are not plain ints:
    an int split size (a bool too: Python's ``isinstance(True, int)``) goes to its
    ``split`` overloads, where a bool size or a dim that is no int fits neither; anything
    else to ``split_with_sizes``, whose sizes must be a tuple of ints and dim an int.
    Returns where they fit."""
    if isinstance(split_size, int):
        if type(split_size) is not bool and _is_int(dim):
            return
        size_ok, dim_ok = type(split_size) is not bool, _is_int(dim)
        kinds = ["Tensor", torch_type_name(split_size), torch_type_name(dim)]
        lines = []
        for form in ("int", "tuple of ints"):
            ok = size_ok and form == "int"  # PyTorch marks the dim after a refused size too
            marks = [
                "Tensor",
                kinds[1] if ok else f"!{kinds[1]}!",
                kinds[2] if ok and dim_ok else f"!{kinds[2]}!",
            ]
            lines += [
                f" * (Tensor input, {form} split_size, int dim = 0)",
                _WHY + "(" + ", ".join(marks) + ")",
            ]
        raise _combination_error("split", ", ".join(kinds), lines)
    if not isinstance(split_size, (tuple, list, Tensor)):  # a NumPy integer too, as PyTorch
        raise TypeError(
            "split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, "
            f"not {torch_type_name(split_size)}"
        )
    if not _is_int(dim):
        raise TypeError(
            "split_with_sizes(): argument 'dim' (position 3) must be int, not "
            f"{torch_type_name(dim)}"
        )


_MOMENT_FORMS = (
    ("tuple of ints dim, bool unbiased = True, bool keepdim = False", ", *, Tensor out = None"),
    (
        "tuple of ints dim = None, *, Number correction = None, bool keepdim = False",
        ", Tensor out = None",
    ),
    ("bool unbiased = True", ""),
)


def refuse_moment_types(op: str, dim: Any, unbiased: Any, keepdim: Any, correction: Any) -> None:
    """PyTorch's TypeError for ``var``/``std`` (``op``) where ``unbiased`` or ``keepdim``
    is not a Python bool (``x.var(0, 1)``, ``x.std(0, keepdim=1)``, a NumPy bool too): its
    three overloads listed. The arguments listed are those given: keywords as the call
    passed them, positional ones up to the last that is not its default."""
    name, method, given = called_as((op,))
    params = [("dim", dim), ("unbiased", unbiased), ("keepdim", keepdim)]
    params.append(("correction", correction))
    defaults = {"dim": None, "unbiased": None, "keepdim": False}
    positional = [(a, v) for a, v in params[:3] if a not in given]
    while positional and positional[-1][1] is defaults[positional[-1][0]]:
        positional.pop()  # not given (or given as its default: not told apart)
    keywords = [(a, v) for k in reversed(given) for a, v in params if a == k]
    head = [] if method else ["Tensor"]
    got = _listing(
        head + [torch_type_name(v) for _, v in positional],
        [f"{a}={torch_type_name(v)}" for a, v in keywords],
    )
    lines = [
        f" * ({'' if method else 'Tensor input, '}{sig}{'' if method else out})"
        for sig, out in _MOMENT_FORMS
    ]
    raise _combination_error(name, got, lines)
