"""PyTorch's "received an invalid combination of arguments" TypeError, written the way its
``torch/csrc/utils/invalid_arguments.cpp`` writes it, for ops whose arguments fit none of
their overloads.

PyTorch's text has rules that only its algorithm reproduces, so this module follows it step
by step rather than per op:

- "got (...)" lists the positional arguments' type names, then the keywords in its hash
  map's order (the reverse of the call's order for the few keywords of one call), each
  followed by ``, `` when no argument was positional (``got (keepdim=int, )``);
- under each overload whose argument count equals the number given, a "didn't match"
  line: the keywords not among that overload's last ``len(keywords)`` parameter names, else
  every argument with the mismatched ones between ``!``;
- a parameter is parsed from the overload's printed text by its last space, so one with a
  default (``bool keepdim = False``) is named ``False`` and of type ``bool keepdim =``,
  which nothing matches; ``*`` counts as a parameter, and ``()`` as one parameter of type
  ``""``. Only ``int`` (an exact Python int) and ``float`` (a Python int or float) match by
  more than the type's printed name.

How many arguments the user passed positionally is read from the caller's bytecode (the
call instruction's count less its keywords): chainrule's defaults cannot tell an argument
passed as its default from one left out. Everything here runs on the error path only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._tensor_args import called_as, torch_type_name
from .sorting_arguments import _positional_count

__all__ = ["combination_error", "format_invalid_args", "positional_count", "torch_tp_name"]


def torch_tp_name(value: Any) -> str:
    """The C type name (``tp_name``) PyTorch's message prints for ``value``: chainrule's
    generator as torch's C one (``torch._C.Generator``), else :func:`torch_type_name`."""
    kind = type(value)
    if kind.__name__ == "Generator" and kind.__module__.startswith("chainrule"):
        return "torch._C.Generator"
    return torch_type_name(value)


def positional_count(names: Sequence[str]) -> int | None:
    """How many arguments the user's call of the op (``names``: its name and aliases) passed
    positionally (``self`` excluded for a method), read from the call instruction; None
    where unreadable (``*args``, another Python, no frame) or where the call site calls no
    such op (chainrule's own code calling it)."""
    count = _positional_count(tuple(names))  # self included for a method
    if count is None:
        return None
    return count - called_as(tuple(names))[1]


def _parse_option(option: str) -> tuple[list[tuple[str, str]], bool]:
    """An overload's printed text as PyTorch's ``_parseOption`` reads it: (type, name) per
    comma-separated piece (split at the last space), and whether it is variadic."""
    inner = option[1:-1]
    params = []
    for arg in inner.split(", "):
        start = 1 if arg[:1] == "#" else 0
        if arg[start : start + 1] == "[":
            start += 1
            arg = arg[: -len(" or None]")]
        end = arg.rfind(" ")
        name = arg[end + 1 :] if end >= 0 else arg
        if "..." in arg and end >= 0:
            end -= 4
        params.append((arg[start:end] if end >= 0 else arg[start:], name))
    return params, "..." in inner


def _matches(kind: str, value: Any) -> bool:
    name = torch_tp_name(value)
    if kind == "float":
        return name in ("float", "int", "long")
    if kind == "int":
        return name in ("int", "long")
    return name == kind


def _shown(value: Any) -> str:
    """An argument in a "didn't match" line: a tuple or list with its elements' types."""
    if isinstance(value, (tuple, list)):
        kinds = ", ".join(torch_tp_name(v) for v in value)
        if isinstance(value, tuple):
            return f"tuple of ({kinds}{',' if len(value) == 1 else ''})"
        return f"list of [{kinds}]"
    return torch_tp_name(value)


def _listing(args: list[str], kwargs: list[str]) -> str:
    """PyTorch's ``(a, b, k=c)``: its trailing ``, `` is cut only where some are positional."""
    text = "".join(f"{a}, " for a in [*args, *kwargs])
    return "(" + (text[:-2] if args else text) + ")"


def format_invalid_args(
    name: str, args: Sequence[Any], kwargs: Sequence[tuple[str, Any]], options: Sequence[str]
) -> str:
    """PyTorch's message for ``name``'s call with positional ``args`` and ``kwargs`` (name,
    value: in the order PyTorch iterates them) that fit none of ``options`` (the overloads
    as printed, e.g. ``"(Tensor input, int dim)"``)."""
    msg = f"{name}() received an invalid combination of arguments - "
    names = [k for k, _ in kwargs]
    given = dict(kwargs)
    parsed = [_parse_option(o) for o in options]

    def count_match(params: list[tuple[str, str]], variadic: bool) -> bool:
        got = len(args) + len(kwargs)
        return got == len(params) or (variadic and got > len(params))

    def unmatched(params: list[tuple[str, str]]) -> list[str]:
        tail = {n for _, n in params[max(len(params) - len(kwargs), 0) :]}
        return [k for k in names if k not in tail]

    def marked(params: list[tuple[str, str]], variadic: bool) -> str:
        items = []
        for i in range(len(args) + len(kwargs)):
            keyword = i >= len(args)
            value = given[params[i][1]] if keyword else args[i]
            kind = params[i][0] if i < len(params) else params[-1][0] if variadic else None
            text = (f"{params[i][1]}=" if keyword else "") + _shown(value)
            items.append(text if kind is not None and _matches(kind, value) else f"!{text}!")
        return _listing(items[: len(args)], items[len(args) :])

    plain = _listing(
        [torch_tp_name(a) for a in args], [f"{k}={torch_tp_name(v)}" for k, v in kwargs]
    )
    if len(options) == 1:
        params, variadic = parsed[0]
        bad = unmatched(params) if kwargs else []
        if bad:
            return msg + "got unrecognized keyword arguments: " + ", ".join(bad)
        got = marked(params, variadic) if count_match(params, variadic) else plain
        return msg + f"got {got}, but expected {options[0]}"
    msg += f"got {plain}, but expected one of:\n"
    for option, (params, variadic) in zip(options, parsed, strict=True):
        msg += f" * {option}\n"
        if count_match(params, variadic):
            bad = unmatched(params) if kwargs else []
            if bad:
                msg += "      didn't match because some of the keywords were incorrect: "
                msg += ", ".join(bad) + "\n"
            else:
                msg += "      didn't match because some of the arguments have invalid types: "
                msg += marked(params, variadic) + "\n"
    return msg


_ALIASES = {"axis": "dim", "keepdims": "keepdim"}  # NumPy's names, which PyTorch takes too


def combination_error(
    names: str | Sequence[str],
    params: Sequence[tuple[str, Any]],
    options: Sequence[str],
    method_options: Sequence[str] | None = None,
    defaults: dict[str, Any] | None = None,
) -> TypeError:
    """The TypeError for the user's call of the op (``names``: its name, then aliases) with
    ``params`` (every parameter's (name, value) in signature order, ``self`` first) fitting
    none of ``options`` (the function form's overloads; ``method_options`` the method's,
    where called as one). The positional arguments are the first ones not passed by
    keyword, as many as the call passed (read from its bytecode; where unreadable, up to
    the last that differs from ``defaults``)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    name, method, given = called_as(names)
    shown = list(params[1:] if method else params)
    positional = [(k, v) for k, v in shown if k not in given]
    count = positional_count(names)
    if count is None:
        defaults = defaults or {}
        count = len(positional)
        while count and positional[count - 1][0] in defaults:
            if positional[count - 1][1] is not defaults[positional[count - 1][0]]:
                break
            count -= 1
    values = dict(shown)
    values.update((alias, values[k]) for alias, k in _ALIASES.items() if k in values)
    kwargs = [(k, values[k]) for k in reversed(given) if k in values]
    opts = method_options if method and method_options is not None else options
    return TypeError(format_invalid_args(name, [v for _, v in positional[:count]], kwargs, opts))
