"""PyTorch's argument-parser TypeErrors for a ``dim`` of the wrong type (``x.sum(1.0)``,
``x.amax(True)``, ``torch.cumsum(x, None)``), raised where chainrule's shared dim checks
(``_util.norm_dim``, ``int_dim``) refuse one.

PyTorch's text depends on the op's overloads: an op with one signature names the argument
(``amax(): argument 'dim' (position 1) must be tuple of ints, not float``), one with several
lists them (``sum() received an invalid combination of arguments - ...``, written by
invalid_arguments.py), unless the argument count leaves one plausible overload, whose own
error it raises. The public op the user called, and its arguments, are read from the
outermost chainrule frame of the failing call (``nansum``'s dim fails inside ``sum``), on
this error path only; an op missing from the tables keeps chainrule's own message.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np

from ._tensor_args import _PACKAGE, called_as, torch_type_name
from ._util import torch_words
from .invalid_arguments import combination_error, positional_count
from .number_arguments import is_parser_int
from .overload_errors import MOMENT_METHOD_OPTIONS, MOMENT_OPTIONS

__all__ = ["SQUEEZE_ALL", "dim_type_error", "squeeze_none_error"]

_TUPLE, _INT = "tuple of ints", "int"
# one signature: the dim's kind (its position: 1 in the method, 2 in the function)
_SINGLE = {
    "amax": _TUPLE,
    "amin": _TUPLE,
    "nansum": _TUPLE,
    "nanmean": _TUPLE,
    "logsumexp": _TUPLE,
    "cumsum": _INT,
    "cumprod": _INT,
    "unbind": _INT,
    "median": _INT,
    "nanmedian": _INT,
    "mode": _INT,
    "aminmax": _INT,
}
_DTYPE_KW = "*, torch.dtype dtype = None"
_KEEP = "bool keepdim = False"
_OUT = "Tensor out = None"
# several: (the function's overloads, the method's, the parameters in PyTorch's order)
_FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "sum": (
        (
            f"(Tensor input, {_DTYPE_KW})",
            f"(Tensor input, tuple of ints dim, {_KEEP}, {_DTYPE_KW}, {_OUT})",
        ),
        (f"({_DTYPE_KW})", f"(tuple of ints dim, {_KEEP}, {_DTYPE_KW})"),
        ("input", "dim", "keepdim", "dtype"),
    ),
    "mean": (
        (
            f"(Tensor input, {_DTYPE_KW}, {_OUT})",
            f"(Tensor input, tuple of ints dim, {_KEEP}, {_DTYPE_KW}, {_OUT})",
        ),
        (f"({_DTYPE_KW})", f"(tuple of ints dim, {_KEEP}, {_DTYPE_KW})"),
        ("input", "dim", "keepdim", "dtype"),
    ),
    "prod": (
        (
            f"(Tensor input, {_DTYPE_KW})",
            f"(Tensor input, int dim, {_KEEP}, {_DTYPE_KW}, {_OUT})",
        ),
        (f"({_DTYPE_KW})", f"(int dim, {_KEEP}, {_DTYPE_KW})"),
        ("input", "dim", "keepdim", "dtype"),
    ),
    "squeeze": (
        ("(Tensor input)", "(Tensor input, int dim)", "(Tensor input, tuple of ints dim)"),
        ("()", "(int dim)", "(tuple of ints dim)"),
        ("input", "dim"),
    ),
    "count_nonzero": (
        ("(Tensor input, int dim = None)", "(Tensor input, tuple of ints dim)"),
        ("(int dim = None)", "(tuple of ints dim)"),
        ("input", "dim"),
    ),
}
for _name in ("var", "std"):
    _FORMS[_name] = (
        MOMENT_OPTIONS,
        MOMENT_METHOD_OPTIONS,
        ("input", "dim", "unbiased", "keepdim", "correction"),
    )
for _name in ("all", "any"):
    _FORMS[_name] = (
        (
            f"(Tensor input, *, {_OUT})",
            f"(Tensor input, tuple of ints dim = None, {_KEEP}, *, {_OUT})",
            f"(Tensor input, int dim, {_KEEP}, *, {_OUT})",
        ),
        ("()", f"(tuple of ints dim = None, {_KEEP})", f"(int dim, {_KEEP})"),
        ("input", "dim", "keepdim"),
    )


# the functions whose dim PyTorch's ``linalg_vector_norm`` parses, by the file defining them
# (``x.norm`` and ``F.normalize`` pass it positionally, an int in a list)
_VECTOR_NORMS = {
    "vector_norm": "linalg/norms.py",
    "norm": "ops/reduction.py",
    "normalize": "nn/functional/composed_norms.py",
}


def _vector_norm_error(op: str, dim: Any) -> TypeError:
    """``linalg_vector_norm``'s TypeError for ``dim`` given to ``op`` (of ``_VECTOR_NORMS``),
    marked as PyTorch's words (a composite's ``lead_with`` leaves it)."""
    if op != "vector_norm" and isinstance(dim, int):
        dim = [dim]  # PyTorch's Tensor.norm wraps an int (a bool too)
    keyword = op == "vector_norm" and "dim" in called_as(("vector_norm",))[2]
    head = f"linalg_vector_norm(): argument 'dim'{'' if keyword else ' (position 3)'}"
    bad = _bad_element(dim)
    if bad:
        err = TypeError(
            f"linalg_vector_norm(): argument 'dim' failed to unpack the object at pos "
            f'{bad + 1} with error "type must be tuple of ints,but got '
            f'{torch_type_name(dim[bad])}"'
        )
    elif bad == 0:
        err = TypeError(
            f"{head} must be tuple of ints, but found element of type "
            f"{torch_type_name(dim[0])} at pos 0"
        )
    else:
        err = TypeError(f"{head} must be tuple of ints, not {torch_type_name(dim)}")
    return torch_words(err)  # type: ignore[return-value]


def _public_call() -> tuple[str, dict[str, Any]] | None:
    """The public op the user called (the outermost chainrule function below the user's
    frame that the tables here name: wrappers around it are skipped) and its local
    variables; None where not found."""
    frame: types.FrameType | None = sys._getframe(2)
    found = None
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        code = frame.f_code
        if code.co_name in _SINGLE or code.co_name in _FORMS:
            found = frame
        elif code.co_name in _VECTOR_NORMS and code.co_filename.endswith(
            _VECTOR_NORMS[code.co_name]
        ):
            found = frame
        frame = frame.f_back
    if found is None:
        return None
    return found.f_code.co_name, found.f_locals


def _plausible(options: tuple[str, ...], count: int) -> list[str]:
    """The overloads whose argument count admits ``count`` arguments (PyTorch raises the
    single plausible one's own error)."""
    out = []
    for option in options:
        params = [p for p in option[1:-1].split(", ") if p and p != "*"]
        required = [p for p in params if " = " not in p]
        if len(required) <= count <= len(params):
            out.append(option)
    return out


def _bad_element(dim: Any) -> int | None:
    """The position of ``dim``'s first element PyTorch's int list refuses (a bool is an
    int after the first), or None where ``dim`` is no sequence."""
    if not isinstance(dim, (tuple, list)):
        return None
    for i, d in enumerate(dim):
        if not (is_parser_int(d) or (i and isinstance(d, (bool, np.bool_)))):
            return i
    return None


def _named(op: str, kind: str, dim: Any) -> TypeError:
    name, method, given = called_as((op,))
    where = "" if "dim" in given else f" (position {2 - method})"
    bad = _bad_element(dim)
    if bad is not None and kind == _TUPLE:
        return TypeError(
            f"{name}(): argument 'dim'{where} must be tuple of ints, but found element of "
            f"type {torch_type_name(dim[bad])} at pos {bad}"
        )
    return TypeError(f"{name}(): argument 'dim'{where} must be {kind}, not {torch_type_name(dim)}")


def dim_type_error(dim: Any) -> TypeError | None:
    """PyTorch's TypeError for ``dim`` (not an int nor a tuple of ints) given to the public
    op being called, or None where that op is not in the tables here."""
    call = _public_call()
    if call is None:
        return None
    op, args = call
    if op in _VECTOR_NORMS:
        return _vector_norm_error(op, dim)
    bad = _bad_element(dim)
    if bad:  # an element after the first: the int list's own error, whatever the overloads
        if op not in _SINGLE and op not in _FORMS:
            return None
        return TypeError(
            f"{called_as((op,))[0]}(): argument 'dim' failed to unpack the object at pos "
            f'{bad + 1} with error "type must be tuple of ints,but got '
            f'{torch_type_name(dim[bad])}"'
        )
    if op in _SINGLE:
        return _named(op, _SINGLE[op], dim)
    if op not in _FORMS or "dim" not in args:
        return None
    options, method_options, names = _FORMS[op]
    name, method, given = called_as((op,))
    count = positional_count((op,))
    if count is not None:
        plausible = _plausible(method_options if method else options, count + len(given))
        if len(plausible) == 1:
            kind = _TUPLE if "tuple of ints dim" in plausible[0] else _INT
            return _named(op, kind, dim)
    params = [(n, args.get(n)) for n in names]
    if count is None and "dim" in names:  # an unreadable call (getattr(m, op)(x, None)):
        params = params[: names.index("dim") + 1]  # list what it surely gave, up to dim
    return combination_error(op, params, options, method_options)


class _SqueezeAll:
    """``squeeze``'s default ``dim``: every size-1 dim. Not None, which PyTorch's parser
    refuses (``x.squeeze(None)`` fits none of its overloads)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<all dims>"


SQUEEZE_ALL = _SqueezeAll()

_SQUEEZE_OPTIONS = (
    "(Tensor input)",
    "(Tensor input, int dim)",
    "(Tensor input, tuple of ints dim)",
)
_SQUEEZE_METHOD_OPTIONS = ("()", "(int dim)", "(tuple of ints dim)")


def squeeze_none_error(input: Any) -> TypeError:  # noqa: A002 - PyTorch's name
    """PyTorch's TypeError for ``squeeze(x, None)`` / ``x.squeeze(dim=None)``."""
    params = [("input", input), ("dim", None)]
    return combination_error("squeeze", params, _SQUEEZE_OPTIONS, _SQUEEZE_METHOD_OPTIONS)
