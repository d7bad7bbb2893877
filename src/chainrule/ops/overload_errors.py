"""PyTorch's "received an invalid combination of arguments" TypeErrors for ops whose
arguments fit none of their overloads: ``x.movedim(True, 0)`` (a bool is no ``int`` dim),
``x.split(True)`` (a bool is no split size), ``x.var(0, 1)`` (``unbiased`` and ``keepdim``
must be bools). The ops call these only off their fast paths (a plain ``int`` / ``bool``
passes one ``type(...) is`` test), so the messages cost nothing where the arguments fit.
The text follows PyTorch 2.13's, read from it case by case (tests/
test_argument_types_session37_c.py compares them live).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._tensor_args import argument_listing, called_as, torch_type_name
from ._util import index_int
from .invalid_arguments import combination_error, positional_count
from .number_arguments import is_parser_int as _is_int  # an int (no bool) to PyTorch's parser
from .number_arguments import parser_bool, parser_int

__all__ = [
    "UNBIASED_UNSET",
    "refuse_searchsorted_types",
    "as_with_indices",
    "SPLIT_UNSET",
    "missing_split_size",
    "movedim_dims",
    "refuse_max_min_types",
    "refuse_moment_types",
    "refuse_split_types",
    "is_number_or_tensor",
    "number_or_tensor_error",
    "REPEATS_UNSET",
    "refuse_repeat_interleave_types",
    "no_argument_method",
    "tensor_split_arguments",
]


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
    got = argument_listing(
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

        marks = argument_listing(
            head + [mark(v, _shown(v)) for _, v in positional],
            [mark(v, f"{a}={_shown(v)}") for a, v in params if a in given],
        )
        lines += [f" * ({sig})", _WHY + f"({marks})"]
    raise _combination_error(name, got, lines)


class _SplitUnset:
    """``split``'s size left out (shown as ``None``): a distinct default, so that a size
    given as None is PyTorch's ``split_with_sizes`` TypeError, not a missing argument."""

    def __repr__(self) -> str:
        return "None"


SPLIT_UNSET: Any = _SplitUnset()


def missing_split_size(no_tensor: bool = False, no_size: bool = True) -> TypeError:
    """Python's TypeError for ``split`` called without its size (or, the function form,
    without its tensor: ``no_tensor``), as PyTorch's Python wrappers word it (the method's
    parameter is ``split_size``)."""
    _, method, _ = called_as(("split",))
    if method:
        return TypeError("Tensor.split() missing 1 required positional argument: 'split_size'")
    if no_tensor and no_size:
        return TypeError(
            "split() missing 2 required positional arguments: 'tensor' and 'split_size_or_sections'"
        )
    missing = "'tensor'" if no_tensor else "'split_size_or_sections'"
    return TypeError(f"split() missing 1 required positional argument: {missing}")


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


class _UnbiasedUnset:
    """``var``/``std``'s ``unbiased`` left out (shown as ``None``): a distinct default, so
    that an ``unbiased=None`` given is PyTorch's TypeError (no overload takes it)."""

    def __repr__(self) -> str:
        return "None"


UNBIASED_UNSET: Any = _UnbiasedUnset()
MOMENT_OPTIONS = tuple(f"(Tensor input, {sig}{out})" for sig, out in _MOMENT_FORMS)
MOMENT_METHOD_OPTIONS = tuple(f"({sig})" for sig, _ in _MOMENT_FORMS)


def refuse_moment_types(
    op: str,
    input: Any,
    dim: Any,
    unbiased: Any,
    keepdim: Any,
    correction: Any,  # noqa: A002
) -> None:
    """PyTorch's TypeError for ``var``/``std`` (``op``) where ``unbiased`` or ``keepdim``
    is not a Python bool (``x.var(0, 1)``, ``x.std(0, keepdim=1)``, a NumPy bool too): its
    three overloads listed, each whose argument count fits the call with PyTorch's "didn't
    match" line (invalid_arguments.py writes them as PyTorch does)."""
    params = [("input", input), ("dim", dim), ("unbiased", unbiased), ("keepdim", keepdim)]
    params.append(("correction", correction))
    raise combination_error(
        op,
        params,
        MOMENT_OPTIONS,
        MOMENT_METHOD_OPTIONS,
        defaults={"dim": None, "unbiased": UNBIASED_UNSET, "keepdim": False, "correction": None},
    )


_MAX_MIN_OPTIONS = (
    "(Tensor input, *, Tensor out = None)",
    "(Tensor input, Tensor other, *, Tensor out = None)",
    "(Tensor input, int dim, bool keepdim = False, *, tuple of Tensors out = None)",
)
_MAX_MIN_METHOD_OPTIONS = ("()", "(Tensor other)", "(int dim, bool keepdim = False)")


def refuse_max_min_types(op: str, input: Any, dim: Any, keepdim: Any, other: Any) -> None:  # noqa: A002
    """PyTorch's TypeError for ``max``/``min`` (``op``) called with arguments that fit none
    of its overloads (``x.max(None)``, ``x.max(1.0)``, ``x.max(keepdim=True)``,
    ``torch.max(x, 0, other=y)``; arguments not given are the op's distinct defaults): the
    method's two arguments fit only ``(int dim, bool keepdim)``, whose own error PyTorch
    raises; any other call lists the overloads."""
    name, method, given = called_as((op,))
    count = positional_count((op,))
    if method and count is not None and count + len(given) == 2:
        if "other" in given:
            raise TypeError(f"{name}() got an unexpected keyword argument 'other'")
        parser_int(op, "dim", 2, dim)
        parser_bool(op, "keepdim", 3, keepdim)
    params = [("input", input), ("dim", dim), ("keepdim", keepdim), ("other", other)]
    raise combination_error(op, params, _MAX_MIN_OPTIONS, _MAX_MIN_METHOD_OPTIONS)


def as_with_indices(err: TypeError, op: str) -> None:
    """Rename ``op`` (``max_pool2d``) in a parser TypeError to ``op_with_indices``: with
    ``return_indices=True`` PyTorch's Python wrapper calls ``max_pool2d_with_indices``,
    whose parser then names itself (``max_pool2d_with_indices(): argument 'ceil_mode'
    (position 6) must be bool, not int``). Call in ``except TypeError`` and re-raise."""
    text = err.args[0] if err.args and isinstance(err.args[0], str) else ""
    if text.startswith(f"{op}("):
        err.args = (f"{op}_with_indices" + text[len(op) :],) + err.args[1:]


_SEARCHSORTED_REST = (
    "*, bool out_int32 = False, bool right = False, str side = None, Tensor sorter = None, "
    "Tensor out = None)"
)
_SEARCHSORTED_OPTIONS = (
    f"(Tensor sorted_sequence, Tensor input, {_SEARCHSORTED_REST}",
    f"(Tensor sorted_sequence, Number self, {_SEARCHSORTED_REST}",
)


def refuse_searchsorted_types(
    sorted_sequence: Any,
    input: Any,
    out_int32: Any,
    right: Any,
    side: Any,
    sorter: Any,  # noqa: A002
) -> None:
    """PyTorch's TypeError for ``searchsorted``'s ``out_int32``/``right`` that are not
    Python bools (``right=1.5``, ``right=None``): both overloads listed."""
    params = [("sorted_sequence", sorted_sequence), ("input", input), ("out_int32", out_int32)]
    params += [("right", right), ("side", side), ("sorter", sorter)]
    raise combination_error("searchsorted", params, _SEARCHSORTED_OPTIONS)


def is_number_or_tensor(value: Any) -> bool:
    """Whether PyTorch's parser reads ``value`` as a ``Tensor`` or a ``Number`` (a bool, a
    complex, a NumPy scalar too); None, a string, a tuple or a list it does not."""
    return isinstance(value, (Tensor, numbers.Number, np.generic))


_NUMBER_OR_TENSOR_FORMS = {  # the function form's overloads, the method's
    "fill_": (
        ("(Tensor input, Tensor value)", "(Tensor input, Number value)"),
        ("(Tensor value)", "(Number value)"),
    ),
    "fill": (("(Tensor input, Tensor value)", "(Tensor input, Number value)"), None),
    "masked_fill": (
        ("(Tensor input, Tensor mask, Tensor value)", "(Tensor input, Tensor mask, Number value)"),
        ("(Tensor mask, Tensor value)", "(Tensor mask, Number value)"),
    ),
    "pow": (
        (
            "(Tensor input, Tensor exponent, *, Tensor out = None)",
            "(Number self, Tensor exponent, *, Tensor out = None)",
            "(Tensor input, Number exponent, *, Tensor out = None)",
        ),
        ("(Tensor exponent)", "(Number exponent)"),
    ),
    "clamp": (
        (
            "(Tensor input, Tensor min = None, Tensor max = None, *, Tensor out = None)",
            "(Tensor input, Number min = None, Number max = None, *, Tensor out = None)",
        ),
        ("(Tensor min = None, Tensor max = None)", "(Number min = None, Number max = None)"),
    ),
}


def number_or_tensor_error(op: str, params: list[tuple[str, Any]]) -> TypeError:
    """PyTorch's TypeError for ``op`` (``fill_``, ``masked_fill``, ``pow``, ``clamp``: ops
    with a Tensor and a Number overload) given a value that is neither (``x.fill_(None)``,
    ``x.pow((1.0, 2.0))``); ``params``: (name, value) in signature order, ``self`` first."""
    options, method_options = _NUMBER_OR_TENSOR_FORMS[op]
    defaults = {"min": None, "max": None}
    return combination_error(op, params, options, method_options, defaults)


class _RepeatsUnset:
    """``repeat_interleave``'s default ``repeats``: its one-argument form (the input is the
    counts). Not None, which PyTorch's parser refuses (``x.repeat_interleave(None)``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "None"


REPEATS_UNSET = _RepeatsUnset()
_REPEATS_TAIL = "int dim = None, *, int output_size = None)"


def refuse_repeat_interleave_types(input: Any, repeats: Any, dim: Any) -> None:  # noqa: A002
    """PyTorch's TypeError where ``repeat_interleave``'s ``repeats`` (given) is neither a
    Tensor nor an int (1.5, None, True, a list) or its ``dim`` is no int: the overloads
    (``(Tensor repeats, ...)``, ``(int repeats, ...)``). A NumPy array of counts stays
    chainrule's to convert."""
    bad_repeats = isinstance(repeats, (numbers.Number, list, tuple, str, type(None))) and not (
        _is_int(repeats)
    )
    if not bad_repeats and (dim is None or _is_int(dim)):
        return
    params = [("input", input), ("repeats", repeats), ("dim", dim)]
    raise combination_error(
        "repeat_interleave",
        params,
        (
            f"(Tensor input, Tensor repeats, {_REPEATS_TAIL}",
            "(Tensor repeats, *, int output_size = None)",
            f"(Tensor input, int repeats, {_REPEATS_TAIL}",
        ),
        (f"(Tensor repeats, {_REPEATS_TAIL}", f"(int repeats, {_REPEATS_TAIL}"),
        defaults={"dim": None},
    )


def no_argument_method(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    """``fn`` (a one-argument op, ``zero_``) as the Tensor method PyTorch defines in C with
    no arguments: any argument is CPython's TypeError naming ``TensorBase`` (``x.zero_(True)``:
    "TensorBase.zero_() takes no arguments (1 given)"; a keyword is checked first). The
    function form (``cr.zero_``) keeps its own Python error. The signature, for the stub,
    follows ``__wrapped__``."""
    name = fn.__name__

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            if kwargs:
                raise TypeError(f"TensorBase.{name}() takes no keyword arguments")
            raise TypeError(f"TensorBase.{name}() takes no arguments ({len(args)} given)")
        return fn(self)

    return method


_TENSOR_SPLIT_FORMS = (
    "tuple of ints indices, int dim = 0)",
    "Tensor tensor_indices_or_sections, int dim = 0)",
    "int sections, int dim = 0)",
)


def _int_list(value: Any) -> list[int] | None:
    """``value`` read as PyTorch's ``tuple of ints`` (one-element integer tensors as ints,
    a bool after the first element as 1), or None where it is not one."""
    if not isinstance(value, (tuple, list)):
        return None
    items = [index_int(v) for v in value]
    if not all(_is_int(v) or (i and isinstance(v, (bool, np.bool_))) for i, v in enumerate(items)):
        return None
    return [int(v) for v in items]


def tensor_split_arguments(
    input: Any,  # noqa: A002
    indices_or_sections: Any,
    dim: Any,
    sections: Any,
    indices: Any,
    tensor_indices_or_sections: Any,
) -> tuple[Any, int]:
    """``tensor_split``'s split argument (an int, a list of ints or a Tensor) and its dim
    where the call is not one plain int or list of plain ints with a plain int dim; PyTorch's
    TypeError listing its three overloads where no overload takes the arguments (a bool, a
    float, None, a string, a list of floats, two split arguments, a dim that is no int)."""
    given = [
        (name, value)
        for name, value in (
            ("indices_or_sections", indices_or_sections),  # chainrule's name for position 1
            ("sections", sections),
            ("indices", indices),
            ("tensor_indices_or_sections", tensor_indices_or_sections),
        )
        if value is not None
    ]
    found: Any = None
    if len(given) == 1 and _is_int(dim):
        name, value = given[0]
        if isinstance(value, Tensor) and name != "sections" and name != "indices":
            found = value
        elif _is_int(value) and name in ("indices_or_sections", "sections"):
            found = int(value)
        elif name in ("indices_or_sections", "indices"):
            found = _int_list(value)
    if found is not None:
        return found, int(dim)
    params = [("input", input), ("indices_or_sections", indices_or_sections), ("dim", dim)]
    params += [("sections", sections), ("indices", indices)]
    params.append(("tensor_indices_or_sections", tensor_indices_or_sections))
    raise combination_error(
        "tensor_split",
        params,
        tuple("(Tensor input, " + form for form in _TENSOR_SPLIT_FORMS),
        tuple("(" + form for form in _TENSOR_SPLIT_FORMS),
        defaults={"indices_or_sections": None, "dim": 0},
    )
