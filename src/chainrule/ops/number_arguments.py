"""PyTorch's argument parser for an op's ``Scalar`` (Number) arguments, on their non-plain
path: a real number, a NumPy number or a 0-d tensor is read as a Python number; anything
else is its TypeError (``softplus(): argument 'beta' (position 2) must be Number, not
NoneType``, the position left out for a keyword argument, read from the call site); a
complex value where the op computes in real numbers is its RuntimeError. Ops test the plain
case (``type(v) in (int, float)``) inline and call :func:`parser_numbers` otherwise.

Also the non-plain paths of ``int``, ``bool`` and ``tuple of ints`` (sizes, dims) arguments:
:func:`parser_int`, :func:`parser_bool` and :func:`parser_int_list`, called only where a value
is not a plain ``int`` (or ``bool``), so the ops' fast paths stay one type test. PyTorch's
int list takes a bool after its first element (as 1: ``x.view(2, True)``, ``x.sum((0,
True))``) and refuses one leading it, where the op's overloads decide the message.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..dtypes import as_dtype
from ._tensor_args import _PACKAGE, argument_listing, called_as, torch_type_name

__all__ = [
    "argument_where",
    "is_dtype_name",
    "is_parser_int",
    "parser_bool",
    "parser_float",
    "parser_int",
    "parser_int_list",
    "parser_numbers",
    "parser_view_sizes",
    "tensordot_dim_lists",
    "dtype_type_error",
    "refuse_dtype",
    "parser_number",
    "refuse_narrow_types",
    "randint_forms_error",
    "refuse_randint_size",
    "refuse_randint_types",
]


def parser_numbers(op: str, params: Sequence[tuple[str, Any]]) -> list[Any]:
    """``params`` ((name, value), in order from position 2: after the input) as PyTorch
    reads ``op``'s real ``Scalar`` arguments: the values as Python numbers, else its
    TypeError for the first that is not a number, and its RuntimeError where one is complex
    (checked after the types)."""
    values = []
    for pos, (name, value) in enumerate(params, start=2):
        if isinstance(value, (np.bool_, np.number)) or (
            isinstance(value, Tensor) and value.ndim == 0
        ):
            value = value.item()
        if not isinstance(value, (numbers.Real, complex)):
            _, _, given = called_as((op,))
            where = "" if name in given else f" (position {pos})"
            raise TypeError(
                f"{op}(): argument '{name}'{where} must be Number, not {torch_type_name(value)}"
            )
        values.append(value)
    if any(isinstance(v, complex) for v in values):
        raise RuntimeError("value cannot be converted to type float without overflow")
    return values


def _where(op: str, arg: str, position: int) -> tuple[str, str]:
    """The op's name as called and `` (position N)`` (``position`` in the function form,
    one less for a method; nothing for a keyword argument)."""
    name, method, given = called_as((op,))
    return name, "" if arg in given else f" (position {position - method})"


argument_where = _where


def _is_int(value: Any) -> bool:
    """Whether PyTorch's parser reads ``value`` as an ``int``: an integer that is no bool (a
    NumPy integer, an integer 0-d tensor)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, Tensor):
        return value.ndim == 0 and value.dtype.kind in "iu"
    return isinstance(value, (numbers.Integral, np.integer))


is_parser_int = _is_int


def parser_int(op: str, arg: str, position: int, value: Any, keywords: bool = True) -> int:
    """``value`` (not a plain int) given as ``op``'s ``int`` argument ``arg`` (at
    ``position`` of its function form): as an int, or PyTorch's TypeError (``unsqueeze():
    argument 'dim' (position 1) must be int, not bool``). ``keywords=False`` where PyTorch's
    form is always called positionally: ``position`` is then the one printed."""
    if _is_int(value):
        return int(value)
    name, where = _where(op, arg, position) if keywords else (op, f" (position {position})")
    raise TypeError(f"{name}(): argument '{arg}'{where} must be int, not {torch_type_name(value)}")


def parser_bool(op: str, arg: str, position: int, value: Any, keywords: bool = True) -> bool:
    """``value`` (not a Python bool) given as ``op``'s ``bool`` argument ``arg``: PyTorch's
    TypeError (``sum(): argument 'keepdim' (position 2) must be bool, not int``); the
    value where it is a bool. ``keywords=False`` where PyTorch's form is always called
    positionally (``F.dropout``: ``train`` at position 3 even given as ``training=``)."""
    if type(value) is bool:
        return value
    if keywords:
        name, where = _where(op, arg, position)
    else:
        name, where = op, f" (position {position})"
    raise TypeError(f"{name}(): argument '{arg}'{where} must be bool, not {torch_type_name(value)}")


def parser_float(op: str, arg: str, position: int, value: Any, keywords: bool = True) -> float:
    """``value`` (not a plain float or int) given as ``op``'s ``float`` argument ``arg``: as a
    float where PyTorch's parser reads one (a real number, a NumPy real, a 0-d real tensor),
    else its TypeError (``pad(): argument 'value' (position 4) must be float, not tuple``).
    ``keywords=False`` where PyTorch's form is always called positionally (``F.pad``)."""
    if isinstance(value, (numbers.Real, np.bool_, np.integer, np.floating)):
        return float(value)
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "biuf":
        return float(value.item())
    name, where = _where(op, arg, position) if keywords else (op, f" (position {position})")
    raise TypeError(
        f"{name}(): argument '{arg}'{where} must be float, not {torch_type_name(value)}"
    )


def parser_number(op: str, arg: str, position: int, value: Any, keywords: bool = True) -> Any:
    """``value`` (not a plain int or float) given as ``op``'s ``Number`` argument ``arg``:
    as a Python number where PyTorch's parser reads one (a number, a NumPy number, a 0-d
    tensor), else its TypeError (``renorm(): argument 'maxnorm' (position 3) must be Number,
    not NoneType``). ``keywords=False`` where ``position`` is the one always printed."""
    if isinstance(value, (np.bool_, np.number)) or (isinstance(value, Tensor) and value.ndim == 0):
        return value.item()
    if isinstance(value, numbers.Number):
        return value
    name, where = _where(op, arg, position) if keywords else (op, f" (position {position})")
    raise TypeError(
        f"{name}(): argument '{arg}'{where} must be Number, not {torch_type_name(value)}"
    )


def _element(value: Any) -> int:
    """A size element PyTorch's int list takes after its first (an int, a bool as 1), or its
    RuntimeError for a bool 0-d tensor; ValueError for anything else."""
    if isinstance(value, (bool, np.bool_)) or _is_int(value):
        return int(value)
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind == "b":
        raise RuntimeError(
            "Expected scalar.isIntegral( false) to be true, but got false.  (Could this error "
            "message be improved?  If so, please report an enhancement request to PyTorch.)"
        )
    raise ValueError(value)


def _unpack_error(name: str, arg: str, pos: int, value: Any) -> TypeError:
    return TypeError(
        f"{name}(): argument '{arg}' failed to unpack the object at pos {pos} with error "
        f'"type must be tuple of ints,but got {torch_type_name(value)}"'
    )


def parser_int_list(
    op: str,
    arg: str,
    position: int,
    values: Sequence[Any],
    varargs: bool = True,
    keywords: bool = True,
) -> tuple[int, ...]:
    """``values`` (one of which is not a plain int) as ``op``'s ``tuple of ints`` argument
    ``arg`` (at ``position`` of its function form): the sizes as ints, or PyTorch's error.
    ``varargs``: ``values`` are the sizes given one by one (``x.reshape(2, 3)``; a single
    sequence among them is the list itself), else the list given whole. ``keywords=False``
    where PyTorch's form is always called positionally (``F.pad``)."""
    name, where = _where(op, arg, position) if keywords else (op, f" (position {position})")
    if varargs and len(values) == 1 and isinstance(values[0], (tuple, list)):
        values, varargs = values[0], False
    elif varargs and len(values) == 1 and not _is_int(values[0]):
        raise TypeError(
            f"{name}(): argument '{arg}'{where} must be tuple of ints, not "
            f"{torch_type_name(values[0])}"
        )
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"{name}(): argument '{arg}'{where} must be tuple of ints, not "
            f"{torch_type_name(values)}"
        )
    out = []
    for i, value in enumerate(values):
        if (
            i == 0
            and not _is_int(value)
            and not (isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind == "b")
        ):
            if varargs:  # the parser took the sizes for other arguments
                method = called_as((op,))[1]
                takes = 1 if method else 2
                plural = "" if takes == 1 else "s"
                raise TypeError(
                    f"{name}() takes {takes} positional argument{plural} but "
                    f"{len(values) + takes - 1} were given"
                )
            raise TypeError(
                f"{name}(): argument '{arg}'{where} must be tuple of ints, but found element "
                f"of type {torch_type_name(value)} at pos 0"
            )
        try:
            out.append(_element(value))
        except ValueError:
            raise _unpack_error(name, arg, i + 1, value) from None
    return tuple(out)


def refuse_narrow_types(input: Any, dim: Any, start: Any, length: Any) -> None:  # noqa: A002
    """PyTorch's TypeError where ``narrow``'s arguments fit neither of its overloads
    (``(int dim, Tensor start, int length)``, ``(int dim, int start, int length)``):
    ``x.narrow(0, True, 1)`` lists both with the mismatched arguments marked. Returns where
    one fits (a NumPy integer, an integer 0-d tensor, a tensor ``start``)."""
    if _is_int(dim) and _is_int(length) and (_is_int(start) or isinstance(start, Tensor)):
        return
    name, method, given = called_as(("narrow",))
    params = [("input", input), ("dim", dim), ("start", start), ("length", length)]
    if method:
        params = params[1:]
    forms = [
        (("input", "Tensor"), ("dim", "int"), ("start", "Tensor"), ("length", "int")),
        (("input", "Tensor"), ("dim", "int"), ("start", "int"), ("length", "int")),
    ]
    positional = [p for p in params if p[0] not in given]
    keywords = [p for p in params if p[0] in given]  # in the signature's order

    def fits(value: Any, kind: str) -> bool:
        return isinstance(value, Tensor) if kind == "Tensor" else _is_int(value)

    def kind(value: Any) -> str:
        return torch_type_name(value)

    # the arguments listed: the positional ones, then the keywords in reverse call order
    by_call = [p for k in reversed(given) for p in keywords if p[0] == k]
    got = argument_listing([kind(v) for _, v in positional], [f"{a}={kind(v)}" for a, v in by_call])
    lines = []
    for form in forms:
        kinds = dict(form)
        sig = ", ".join(f"{k} {a}" for a, k in form if not (method and a == "input"))

        def mark(arg: str, value: Any, text: str) -> str:
            return text if fits(value, kinds[arg]) else f"!{text}!"  # noqa: B023

        marks = argument_listing(
            [mark(a, v, kind(v)) for a, v in positional],
            [mark(a, v, f"{a}={kind(v)}") for a, v in keywords],
        )
        lines.append(
            f" * ({sig})\n      didn't match because some of the arguments have invalid "
            f"types: ({marks})"
        )
    raise TypeError(
        f"{name}() received an invalid combination of arguments - got ({got}), but expected "
        "one of:\n" + "\n".join(lines) + "\n"
    )


def parser_view_sizes(shape: tuple) -> tuple:
    """``Tensor.view``'s sizes where one is not a plain int: as ints (a bool after the first
    is 1, as PyTorch's parser reads it), else PyTorch's errors: a first size that is no int
    matches neither overload (``(torch.dtype dtype)``, ``(tuple of ints size)``)."""
    seq = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else None
    first = (seq if seq is not None else shape)[:1]
    if first and not _is_int(first[0]):
        if seq is not None:
            kinds = ", ".join(torch_type_name(v) for v in seq)
            got = torch_type_name(seq)
            bad = f"{got} of [{kinds}]" if type(seq) is list else f"{got} of ({kinds})"
        else:
            got = ", ".join(torch_type_name(v) for v in shape)
            bad = got
        lines = [" * (torch.dtype dtype)", " * (tuple of ints size)"]
        if len(shape) == 1:  # one argument: PyTorch says why each overload refused it
            why = f"      didn't match because some of the arguments have invalid types: (!{bad}!)"
            lines = [lines[0], why, lines[1], why]
        raise TypeError(
            f"view() received an invalid combination of arguments - got ({got}), but expected "
            "one of:\n" + "\n".join(lines) + "\n"
        )
    return parser_int_list("view", "size", 2, shape)


_RANDINT_REST = (
    "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device "
    "device = None, bool pin_memory = False, bool requires_grad = False)"
)
_RANDINT_FORMS = "".join(
    f"\n * ({head}, *, {gen_}{_RANDINT_REST}"
    for head in ("int high, tuple of ints size", "int low, int high, tuple of ints size")
    for gen_ in ("torch.Generator generator, ", "")
)


def refuse_randint_types(low: Any, high: Any, size: Any) -> None:
    """PyTorch's parser errors for ``randint``'s ints (not a plain ``int``): ``high`` of the
    ``(high, size)`` form a bool or float is its TypeError naming it; any other combination
    that fits neither form (``randint(0, True, (2,))``, ``randint(10, (2,), 1)``) lists its
    overloads."""
    two = isinstance(high, (tuple, list)) and isinstance(size, tuple) and size == ()
    if two:
        parser_int("randint", "high", 1, low)
        return
    if high is None or (_is_int(low) and _is_int(high)):
        if isinstance(size, (tuple, list)):
            return
        raise randint_forms_error((low, high, size))  # randint(0, 5, 3): no size tuple
    given = (low, high) if isinstance(size, tuple) and size == () else (low, high, size)
    raise randint_forms_error(given)


def refuse_randint_size(two_args: bool, given: Sequence[Any], size: Sequence[Any]) -> None:
    """PyTorch's parser on a ``randint`` size whose first element is no int (a later one is
    refused by :func:`creation_options._shape`, as PyTorch's unpacking of the list): the
    ``(high, size)`` form names the argument (without its position when given by keyword),
    the ``(low, high, size)`` form fits neither overload (``randint(0, 5, (1.0, 2.0))``).
    ``given``: the positional arguments as called."""
    if not size or _is_int(size[0]):
        return
    keywords = called_as(("randint",))[2]
    if not two_args:
        by_keyword = "size" in keywords
        got = [torch_type_name(v) for v in given[: 2 if by_keyword else 3]]
        got += ["size=tuple"] if by_keyword else []
        raise TypeError(
            f"randint() received an invalid combination of arguments - got ({', '.join(got)}), "
            f"but expected one of:{_RANDINT_FORMS}\n"
        )
    if "size" in keywords:
        raise TypeError("randint(): argument 'size' must be tuple of ints, not tuple")
    raise TypeError(
        "randint(): argument 'size' (position 2) must be tuple of ints, but found element of "
        f"type {torch_type_name(size[0])} at pos 0"
    )


def randint_forms_error(given: Sequence[Any]) -> TypeError:
    """PyTorch's TypeError listing ``randint``'s overloads for the positional arguments
    ``given`` that fit none (``randint(0, 5, (2,), None)``: a fourth positional argument,
    ``randint(0, 5, np.int64(1))``: a size that is no tuple)."""
    from .invalid_arguments import torch_tp_name  # noqa: PLC0415 - error path only

    got = ", ".join(torch_tp_name(v) for v in given)
    return TypeError(
        f"randint() received an invalid combination of arguments - got ({got}), but expected "
        f"one of:{_RANDINT_FORMS}\n"
    )


def is_dtype_name(value: str) -> bool:
    """Whether the string ``value`` names a dtype (``"float32"``: chainrule takes those where
    PyTorch takes a dtype)."""
    try:
        as_dtype(value)
    except TypeError:
        return False
    return True


def _is_dtype_like(value: Any) -> bool:
    """Whether ``value`` can name a dtype: a dtype object (chainrule's, NumPy's, torch's), a
    type (``float``, ``np.float32``) or a dtype's name; a bool, a number, a tensor or
    another string cannot."""
    if isinstance(value, str):
        try:
            as_dtype(value)
        except TypeError:
            return False
        return True
    return isinstance(value, (np.dtype, type)) or type(value).__name__ == "dtype"


def _public_op() -> str:
    """The public function the user called: the outermost chainrule frame (error path)."""
    frame = sys._getframe(1)
    name = frame.f_code.co_name
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PACKAGE):
            name = frame.f_code.co_name
        frame = frame.f_back
    return name.lstrip("_")


def dtype_type_error(value: Any, op: str | None = None) -> TypeError:
    """PyTorch's TypeError for ``value`` (no dtype) given as ``op``'s ``dtype`` argument
    (``zeros(): argument 'dtype' must be torch.dtype, not bool``); ``op`` read from the call
    stack where not given."""
    name = op or _public_op()
    from .dtype_overloads import dtype_combination_error  # noqa: PLC0415 - error path only

    return dtype_combination_error(name) or TypeError(
        f"{name}(): argument 'dtype' must be torch.dtype, not {torch_type_name(value)}"
    )


_DTYPE_FORMS = {
    "sum": "tuple of ints dim",
    "mean": "tuple of ints dim",
    "nansum": "tuple of ints dim",
    "prod": "int dim",
}


def refuse_dtype(op: str, value: Any, input: Any = None, dim: Any = None) -> None:  # noqa: A002
    """PyTorch's TypeError where ``op``'s ``dtype`` (not None) names no dtype: for a
    reduction called without ``dim`` (``x.sum(dtype=True)``) its list of overloads, else
    ``cumsum(): argument 'dtype' must be torch.dtype, not bool``. Returns otherwise (called
    only where a dtype was given: one isinstance test)."""
    if _is_dtype_like(value):
        return
    if op in _DTYPE_FORMS and dim is None:
        from .invalid_arguments import combination_error  # noqa: PLC0415 - error path only

        dim_kind = _DTYPE_FORMS[op]
        tail = "*, torch.dtype dtype = None"
        raise combination_error(
            op,
            [("input", input), ("dtype", value)],
            (
                f"(Tensor input, {tail})",
                f"(Tensor input, {dim_kind}, bool keepdim = False, {tail}, Tensor out = None)",
            ),
            (f"({tail})", f"({dim_kind}, bool keepdim = False, {tail})"),
        )
    raise dtype_type_error(value, op)


def tensordot_dim_lists(dims: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``tensordot``'s ``dims`` (neither an int nor a tensor) as its two dim lists, read as
    PyTorch does: a pair of int lists (``([1], [0])``), each parsed as ``dims_self`` /
    ``dims_other`` (positions 3 and 4: ``(1, 0)`` is its TypeError, not ``([1], [0])``);
    anything but a list or tuple is its RuntimeError; a pair of the wrong length its
    ValueError (Python's unpacking)."""
    if not isinstance(dims, (list, tuple)):
        raise RuntimeError(
            "tensordot expects dims to be int or tuple[list[int], list[int]] or "
            f"list[list[int]] containing two lists, but got dims={dims}"
        )
    if len(dims) != 2:
        got = (
            "too many values to unpack (expected 2)"
            if len(dims) > 2
            else (f"not enough values to unpack (expected 2, got {len(dims)})")
        )
        raise ValueError(got)
    return (
        parser_int_list("tensordot", "dims_self", 3, dims[0], varargs=False, keywords=False),
        parser_int_list("tensordot", "dims_other", 4, dims[1], varargs=False, keywords=False),
    )
