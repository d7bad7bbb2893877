"""``cr.set_printoptions``: how tensors print, with PyTorch's options and profiles.

``Tensor.__repr__`` is :func:`tensor_repr`, which reads :func:`array2string_options`, so a
change here shows in every printed tensor. The options mean what they mean in PyTorch:
``precision`` digits after the point, ``threshold`` elements before the middle is
summarised with ``...``, ``edgeitems`` kept at each end when summarising, ``linewidth``
characters per line, and ``sci_mode`` True (always scientific), False (never) or None
(PyTorch's choice from the values, :func:`_float_formatter`).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from . import dtypes as _dt
from .backend import to_device
from .dtype_objects import public_dtype
from .meta.array import MetaArray

__all__ = [
    "array2string_options",
    "get_printoptions",
    "set_printoptions",
    "tensor_repr",
    "values_text",
]

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}

_OPTIONS: dict[str, Any] = dict(_PROFILES["default"], sci_mode=None)
# True while a float8_e8m0fnu tensor prints: PyTorch sizes its columns from the values
# unequal to 0 in e8m0 (0 converts to its smallest code, 2**-127), NaN included
_E8M0 = [False]


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print (PyTorch's ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: number of elements above which the repr is summarised (default 1000).
        edgeitems: items shown at the start and end of each summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``; applied first, then the others.
        sci_mode: True for scientific notation, False to never use it, None to let the
            formatter choose (the default).

    Raises:
        ValueError: for an unknown profile or a negative number.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: unknown profile {profile!r}; valid: {sorted(_PROFILES)}"
            )
        _OPTIONS.update(_PROFILES[profile])
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            if value < 0:
                raise ValueError(f"set_printoptions: {name} must be >= 0, got {value}")
            _OPTIONS[name] = value
    _OPTIONS["sci_mode"] = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options (``torch._tensor_str.get_printoptions``): a new dict of
    ``precision``, ``threshold``, ``edgeitems``, ``linewidth`` and ``sci_mode``, which
    ``set_printoptions(**options)`` restores."""
    return {
        k: _OPTIONS[k] for k in ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")
    }


def array2string_options(arr: Any = None) -> dict[str, Any]:
    """Keyword arguments for ``numpy.array2string`` that realise the current options.

    Given the array, floats print as PyTorch prints them: integral values as ``3.``, others
    with exactly ``precision`` digits (``1.5000``) unless scientific notation is chosen.
    """
    precision = int(_OPTIONS["precision"])
    threshold = _OPTIONS["threshold"]
    kwargs: dict[str, Any] = {
        "precision": precision,
        "threshold": sys.maxsize if threshold == math.inf else int(threshold),
        "edgeitems": int(_OPTIONS["edgeitems"]),
        # NumPy keeps room for an n-d array's closing brackets on each row; PyTorch does not
        # (a row of a 2-d tensor may end at the last column): one more column a dimension
        "max_line_width": int(_OPTIONS["linewidth"]) + max(getattr(arr, "ndim", 1) - 1, 0),
    }
    bf16 = arr is not None and arr.dtype.kind == "V" and arr.dtype.name == "bfloat16"
    if bf16 and _OPTIONS["sci_mode"] is None:  # PyTorch's float rules, as for float32
        kwargs["formatter"] = {"all": _float_formatter(_summarized(arr), precision)}
    elif bf16:
        kwargs["formatter"] = {"all": _bfloat16_formatter(arr, precision, _OPTIONS["sci_mode"])}
    elif _OPTIONS["sci_mode"] is True:
        kwargs["formatter"] = {"float_kind": lambda v: f"{v:.{precision}e}"}
    elif _OPTIONS["sci_mode"] is False:
        kwargs["suppress_small"] = True
        kwargs["floatmode"] = "fixed"
    elif arr is not None and arr.dtype.kind == "f":
        kwargs["formatter"] = {"float_kind": _float_formatter(_summarized(arr), precision)}
    elif arr is not None and arr.dtype.kind == "c":
        kwargs["formatter"] = {"complex_kind": _complex_formatter(_summarized(arr), precision)}
    if arr is not None and arr.dtype.kind == "b":  # PyTorch pads to "False" only if one shows
        width = 5 if not np.all(_summarized(arr)) else 4
        kwargs["formatter"] = {"bool": lambda v: str(bool(v)).rjust(width)}
    return kwargs


def _summarized(arr: Any) -> Any:
    """The elements a summarised print shows (``edgeitems`` at each end of every long
    dimension), which PyTorch sizes the columns from; the whole array when not summarised."""
    if arr.size <= _OPTIONS["threshold"]:
        return arr
    edge = int(_OPTIONS["edgeitems"])
    for dim, n in enumerate(arr.shape):
        if n > 2 * edge:
            arr = np.concatenate(
                [arr.take(range(edge), dim), arr.take(range(n - edge, n), dim)], dim
            )
    return arr


def _float_formatter(arr: Any, precision: int, sci_mode: bool | None = None) -> Any:
    """PyTorch's choice for floats, sized from the finite non-zero values only: integral
    values as ``3.`` (scientific when max/min > 1000 or max > 1e8), else ``precision``
    digits (scientific also when min < 1e-4); every element right-aligned to that width,
    so a wider ``-inf``, ``nan`` or ``-0.`` is never padded further (``[-inf, 1.]``)."""
    values = np.asarray(arr, dtype=np.float64).ravel()
    if _E8M0[0]:  # see _E8M0: a NaN takes part (so no integer or scientific mode)
        shown = values[values != 2.0**-127]
    else:
        shown = values[np.isfinite(values) & (values != 0)]
    int_mode, sci, width = True, False, 1
    if shown.size:
        big, small = float(np.abs(shown).max()), float(np.abs(shown).min())
        int_mode = bool(np.all(shown == np.ceil(shown)))
        sci = big / small > 1000.0 or big > 1.0e8 or (not int_mode and small < 1.0e-4)
        sci = sci if sci_mode is None else sci_mode  # set_printoptions(sci_mode=...)
        spec = f".{precision}e" if sci else (".0f" if int_mode else f".{precision}f")
        width = max(len(format(float(v), spec)) for v in shown) + (int_mode and not sci)

    def text(v: Any) -> str:
        v = float(v)
        if sci:
            s = format(v, f".{precision}e")
        elif int_mode:
            s = format(v, ".0f") + ("." if math.isfinite(v) else "")
        else:
            s = format(v, f".{precision}f")
        return s.rjust(width)

    text.width = width  # type: ignore[attr-defined] - what PyTorch sizes its lines by
    return text


def _complex_formatter(arr: Any, precision: int, sci_mode: bool | None = None) -> Any:
    """PyTorch's complex elements: the real parts and the imaginary parts each formatted as
    floats are (:func:`_float_formatter`, sized from their own values), joined as
    ``re+imj`` with the imaginary part's padding dropped (``1.0000+2.j``)."""
    real = _float_formatter(np.real(arr), precision, sci_mode)
    imag = _float_formatter(np.imag(arr), precision, sci_mode)

    def text(v: Any) -> str:
        im = (imag(v.imag) + "j").lstrip()
        return real(v.real) + (im if im[0] in "+-" else "+" + im)

    text.width = real.width + imag.width + 1  # type: ignore[attr-defined] - PyTorch's
    return text


def _bfloat16_formatter(arr: Any, precision: int, sci_mode: bool | None) -> Any:
    """A formatter for bfloat16 elements, which NumPy does not format as floats: fixed
    ``precision`` digits (``1.5000``), or ``3.`` when every value is integral, or scientific
    with ``sci_mode=True``; right-aligned to one width, as NumPy aligns floats."""
    values = np.asarray(arr, dtype=np.float32)
    if sci_mode is True:
        spec = f".{precision}e"
    elif sci_mode is None and _all_integral(values):
        spec = ".0f"
    else:
        spec = f".{precision}f"

    def text(v: Any) -> str:
        s = format(float(v), spec)
        return s + "." if spec == ".0f" and s[-1].isdigit() else s

    width = max((len(text(v)) for v in values.flat), default=0)
    return lambda v: text(v).rjust(width)


def _all_integral(arr: Any) -> bool:
    finite = arr[np.isfinite(arr)]
    return bool(np.all(finite == np.round(finite)))


def tensor_repr(t: Any, tangent: str | None = None, contents: str | None = None) -> str:
    """``repr(t)`` as PyTorch prints a tensor: values, then what they do not show (size of
    an empty tensor, a dtype other than the default's, device, ``grad_fn`` or
    ``requires_grad``) and a dual tensor's ``tangent`` (its text, given). ``contents``:
    printed in place of the values (``Tensor.__repr__(tensor_contents=...)``)."""
    cls = type(t)  # a user's subclass prints its name, as in PyTorch: "Mine([1.])"
    head = "tensor(" if cls.__module__.startswith("chainrule.") else cls.__name__ + "("
    if type(t._data) is MetaArray:  # no values: "...", then the size (and any dtype), torch's
        return _meta_repr(t, head, tangent)
    arr = to_device(t._data, "cpu")
    values = arr
    if _dt.is_float8(arr.dtype):  # printed as their float32 values, as PyTorch's
        values = _dt.convert(arr, _dt.float32)
        values = np.where(np.isnan(values), np.float32(np.nan), values)  # quiet NaNs
        _E8M0[0] = arr.dtype.name == "float8_e8m0fnu"
    try:
        body = contents if contents is not None else values_text(values, len(head))
    finally:
        _E8M0[0] = False
    # as torch: an empty tensor shows its size (unless it is ``(0,)``), then its dtype,
    # int64 and bool included, as it has no values to tell them by
    # and so does a tensor printed with ``edgeitems=0`` (its values may all be elided)
    extras = []
    if (arr.size == 0 and arr.shape != (0,)) or (arr.size and not _OPTIONS["edgeitems"]):
        extras.append(f"size={tuple(arr.shape)}")
    # (the default complex dtype, complex64 or complex128 with a float64 default, is
    # left out too)
    if arr.dtype != _dt.get_default_dtype() and (
        arr.size == 0 or arr.dtype not in (_dt.int64, _dt.bool_, _dt.get_default_complex_dtype())
    ):
        extras.append(f"dtype={public_dtype(arr.dtype)}")
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    autograd = _autograd_suffix(t)
    if autograd is not None:
        extras.append(autograd)
    if tangent is not None:
        extras.append(f"tangent={tangent}")
    text = add_suffixes(head + body, extras, len(head))
    if not cls.__module__.startswith("chainrule.") and _is_parameter(t):
        return f"Parameter({text})"  # a user's subclass as a Parameter, as PyTorch shows it
    return text


def _is_parameter(t: Any) -> bool:
    """``isinstance(t, nn.Parameter)`` for a user's class, read without importing ``nn``
    (which imports this module): flagged by ``nn.Parameter(t)``, or a Parameter subclass."""
    if getattr(t, "_is_param", False):
        return True
    return any(
        c.__name__ == "Parameter" and c.__module__ == "chainrule.nn.parameter"
        for c in type(t).__mro__
    )


def _autograd_suffix(t: Any) -> str | None:
    """``grad_fn=<...>``, ``requires_grad=True`` or None, as PyTorch prints them; a view
    whose ``grad_fn`` refuses to be read (one ``split`` returned, its base changed in place
    since) prints ``grad_fn=<Invalid>``, as PyTorch's."""
    try:
        node = t.grad_fn
    except RuntimeError:
        return "grad_fn=<Invalid>"
    if node is not None:  # a C++ node's short name, as PyTorch's: <CopySlices>, <NotImplemented>
        return f"grad_fn=<{node.name().rsplit('::', 1)[-1]}>"
    return "requires_grad=True" if t.requires_grad else None


def _meta_repr(t: Any, head: str, tangent: str | None) -> str:
    """A meta tensor as PyTorch prints one: ``tensor(..., device='meta', size=(2, 3))``, its
    dtype shown whenever it is not the default dtype (int64 and bool too)."""
    extras = ["device='meta'", f"size={tuple(t._data.shape)}"]
    if t._data.dtype != _dt.get_default_dtype():
        extras.append(f"dtype={public_dtype(t._data.dtype)}")
    autograd = _autograd_suffix(t)
    if autograd is not None:
        extras.append(autograd)
    if tangent is not None:
        extras.append(f"tangent={tangent}")
    return add_suffixes(head + "...", extras, len(head))


def values_text(arr: Any, indent: int) -> str:
    """The values of ``arr`` (a NumPy array) as PyTorch prints them after ``indent``
    characters (``tensor(`` and what precedes it): its rows and summaries laid out with the
    current print options; the sparse reprs print their indices and values with it too."""
    body = _laid_out(arr, indent)
    if body is None:  # empty (or not a number): NumPy's layout
        body = np.array2string(
            arr, separator=", ", prefix=" " * indent, **array2string_options(arr)
        )
        body = body.replace(", ...,", ",  ...,")  # a summarised row's gap, two wide
    return body


def _element_formatter(arr: Any) -> Any:
    """PyTorch's formatter for the elements of ``arr`` (strings of one width, the width an
    attribute), or None where NumPy's layout is kept (an explicit ``sci_mode``)."""
    shown = _summarized(arr)
    kind = arr.dtype.kind
    precision, sci_mode = int(_OPTIONS["precision"]), _OPTIONS["sci_mode"]
    if kind == "f" or (kind == "V" and arr.dtype.name == "bfloat16"):
        return _float_formatter(shown, precision, sci_mode)
    if kind == "c":
        return _complex_formatter(shown, precision, sci_mode)
    if kind in "iu":
        width = max((len(str(int(v))) for v in shown.flat), default=1)
    elif kind == "b":
        width = 5 if not np.all(shown) else 4
    else:
        return None

    def text(v: Any) -> str:
        return (str(bool(v)) if kind == "b" else str(int(v))).rjust(width)

    text.width = width  # type: ignore[attr-defined]
    return text


def _laid_out(arr: Any, indent: int) -> str | None:
    """``arr`` printed as PyTorch lays a tensor out (None: use NumPy's layout): each row
    split into lines of ``(linewidth - indent) // (width + 2)`` elements, where a summarised
    row's `` ...`` counts as one element (NumPy fits more on a line when the gap is short,
    and keeps room for closing brackets, which PyTorch does not)."""
    if arr.size == 0:
        return None
    fmt = _element_formatter(arr)
    if fmt is None:
        return None
    if arr.ndim == 0:
        return fmt(arr[()])
    summarize = arr.size > _OPTIONS["threshold"]
    edge = int(_OPTIONS["edgeitems"])
    linewidth = int(_OPTIONS["linewidth"])
    per_line_of = {}

    def vector(v: Any, ind: int) -> str:
        n = v.shape[0]
        if summarize and n > 2 * edge and not edge:  # nothing shown: "[...]", as n-d rows
            return "[...]"
        if summarize and n > 2 * edge:
            data = [fmt(x) for x in v[:edge]] + [" ..."] + [fmt(x) for x in v[n - edge :]]
        else:
            data = [fmt(x) for x in v]
        per = per_line_of.setdefault(ind, max(1, (linewidth - ind) // (fmt.width + 2)))
        lines = [", ".join(data[i : i + per]) for i in range(0, len(data), per)]
        return "[" + (",\n" + " " * (ind + 1)).join(lines) + "]"

    def rows(a: Any, ind: int) -> str:
        if a.ndim == 1:
            return vector(a, ind)
        n = a.shape[0]
        if summarize and n > 2 * edge:
            parts = [rows(a[i], ind + 1) for i in range(edge)] + ["..."]
            parts += [rows(a[i], ind + 1) for i in range(n - edge, n)]
        else:
            parts = [rows(a[i], ind + 1) for i in range(n)]
        return "[" + ("," + "\n" * (a.ndim - 1) + " " * (ind + 1)).join(parts) + "]"

    return rows(arr, indent)


def add_suffixes(text: str, suffixes: list[str], indent: int, force_newline: bool = False) -> str:
    """``text`` (a repr without its closing parenthesis) followed by ``suffixes`` (``dtype=``,
    ``requires_grad=``, ...) and the parenthesis, as PyTorch lays them out: a suffix that
    would pass the line width starts a new line indented by ``indent`` (``force_newline``:
    the first one always does). PyTorch counts the last line two characters longer than it
    is, so a suffix wraps two characters early; kept, so that reprs match."""
    width = int(_OPTIONS["linewidth"])
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if force_newline or last + len(suffix) + 2 > width:
            text += ",\n" + " " * indent + suffix
            last = indent + len(suffix)
            force_newline = False
        else:
            text += ", " + suffix
            last += len(suffix) + 2
    return text + ")"
