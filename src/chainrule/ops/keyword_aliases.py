"""PyTorch's NumPy keyword aliases and its argument parser's binding errors, for every root op.

PyTorch's argument parser (``python_arg_parser.cpp``, ``numpy_compatibility_arg_names``)
takes NumPy's names for four parameters of every function it parses: ``x=``, ``a=`` and
``x1=`` for ``input``, ``x2=`` for ``other``, ``axis=`` for ``dim`` and ``keepdims=`` for
``keepdim`` (``torch.exp(x=t)``, ``torch.add(x1=t, x2=u)``, ``torch.sum(a=t, axis=0)``, and
the methods' ``t.add(x2=u)``). The root functions PyTorch writes in Python
(``torch/functional.py``: ``norm``, ``split``, ``unique``, ``tensordot``, ...) take none of
them. This module is the one place chainrule does the same: ``ops/__init__.py`` hands every
op without a keyword mark to :func:`with_aliases` once, at import, and the keyword wrappers
of ``ops/keywords.py`` (the marked ops) read the same table (:func:`alias_table`,
:func:`renamed`).

A call without keyword arguments pays nothing where an op already has a keyword wrapper
(``add``, ``sum``, ``exp``: the renaming sits behind their ``if kwargs``; the methods, whose
wrapper is ``method_form``'s or none) and one Python call where it has none (``cr.mul``,
``cr.reshape``, ``cr.matmul`` as functions: about 0.1 us, session 47, under load).

A call that binds no signature gets the parser's first line instead of Python's
(:func:`binding_error`): ``exp() missing 1 required positional arguments: "input"`` (sic:
PyTorch's plural is inverted), ``exp() takes 1 positional argument but 2 were given``. It is
worked out only once the call has failed (``except TypeError``: free in Python 3.11 until
something raises). An op PyTorch overloads (``torch_overloads.TORCH_OVERLOADS``, read from
torch: ``mm``, ``sum``, ``clamp``, and ``add``, whose other overloads are hidden) says
"received an invalid combination of arguments - got (Tensor, y=int), but expected one of:"
there, with its overloads listed (``invalid_arguments.format_invalid_args``), unless one
visible overload alone takes that many arguments: PyTorch's ``print_error`` parses that one
again, with its own texts (``add(t, y=1)``: "missing 1 required positional arguments").
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ._tensor_args import called_as
from .invalid_arguments import format_invalid_args
from .torch_overloads import TORCH_OVERLOADS

__all__ = [
    "NUMPY_ALIASES",
    "TORCH_PYTHON_ROOTS",
    "alias_table",
    "binding_error",
    "renamed",
    "unaliased",
    "with_aliases",
]

NUMPY_ALIASES: dict[str, tuple[str, ...]] = {
    "input": ("x", "a", "x1"),
    "other": ("x2",),
    "dim": ("axis",),
    "keepdim": ("keepdims",),
}
"""PyTorch's parameter name -> the NumPy names its parser takes for it."""

TORCH_PYTHON_ROOTS = frozenset(
    """atleast_1d atleast_2d atleast_3d broadcast_shapes broadcast_tensors cartesian_prod
    block_diag cdist chain_matmul einsum lu norm meshgrid pca_lowrank split stft svd_lowrank
    tensordot unique unique_consecutive unravel_index lobpcg""".split()
)
"""Root functions PyTorch writes in Python (``torch.functional.__all__`` but ``istft``, a C++
binding, and ``torch.lobpcg``): Python binds their arguments, so no alias and Python's texts."""

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _parameters(fn: Callable) -> list[inspect.Parameter] | None:
    """``fn``'s parameters (through ``__wrapped__`` and ``__signature__``), None if unreadable."""
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def alias_table(fn: Callable, name: str, method: bool = False) -> dict[str, str]:
    """``{alias: parameter}`` for the parameters of ``fn`` that PyTorch's parser gives NumPy
    names (empty for :data:`TORCH_PYTHON_ROOTS`). ``method``: for ``Tensor.<name>``, whose
    ``input`` is ``self`` and so takes no keyword at all."""
    params = _parameters(fn)
    if params is None or name in TORCH_PYTHON_ROOTS:
        return {}
    names = {p.name for p in params if p.kind in _KEYWORD_KINDS}
    if method and params and params[0].name == "input":
        names.discard("input")
    table = {}
    for target, aliases in NUMPY_ALIASES.items():
        if target in names:
            for alias in aliases:
                if alias not in names:  # (an op's own parameter named x1 stays its own)
                    table[alias] = target
    return table


def renamed(op: str, kwargs: dict, table: dict[str, str], given: int = 0) -> dict:
    """``kwargs`` with each alias of ``table`` under its parameter's name (a new dict when
    one is renamed). An alias beside its parameter (``input=t, x=t``), or of a parameter
    filled by position (``input`` when ``given`` positional arguments, ``self`` included, are
    more than none), is the parser's unexpected keyword, as in PyTorch."""
    if not table or table.keys().isdisjoint(kwargs):
        return kwargs
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        target = table.get(key)
        if target is None:
            if key in out:  # (the parameter after its alias)
                raise TypeError(f"{op}() got an unexpected keyword argument '{key}'")
            out[key] = value
        elif target in out or target in kwargs or (target == "input" and given):
            raise TypeError(f"{op}() got an unexpected keyword argument '{key}'")
        else:
            out[target] = value
    return out


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _overloaded_error(op: str, args: tuple, given: dict) -> TypeError | None:
    """PyTorch's "invalid combination of arguments" for the function ``torch.<op>`` that it
    overloads, called with ``args`` and the keywords ``given`` (as the user spelled them);
    None for another op, or for the method (``x.sum(y=1)``: its overloads lack ``input``)."""
    options = TORCH_OVERLOADS.get(op)
    _, method, spelled = called_as((op,))
    if options is None or method:
        return None
    given = _as_spelled(given, spelled)
    count = len(args) + len(given)
    plausible = [o for o in map(_option_params, options) if _fits_count(o, count)]
    if len(plausible) == 1:  # PyTorch parses the one overload of that many arguments again,
        error = _one_signature_error(op, plausible[0], args, given)  # with its own texts
        if error is not None:
            return error
    keywords = list(reversed(given.items()))  # (the order of PyTorch's keyword map)
    return TypeError(format_invalid_args(op, args, keywords, options))


_TARGETS = {a: (n,) for n, aliases in NUMPY_ALIASES.items() for a in aliases}
"""NumPy's name -> (PyTorch's name,)."""


def _as_spelled(given: dict, spelled: tuple[str, ...]) -> dict:
    """The keywords ``given`` (NumPy's names already renamed: ``a=`` as ``input=``) under
    the names and in the order of the call site's ``spelled`` ones, where they match."""
    if len(spelled) != len(given):
        return given
    out = {}
    for name in spelled:
        key = name if name in given else _TARGETS.get(name, ("",))[0]
        if key not in given:
            return given
        out[name] = given[key]
    return out


def _option_params(option: str) -> list[tuple[str, bool, bool]]:
    """An overload as PyTorch prints it, ``(Tensor input, *, Number alpha = 1)``, as
    (name, has a default, keyword-only) per parameter."""
    params, keyword_only = [], False
    for piece in option[1:-1].split(", ") if option != "()" else ():
        if piece == "*":
            keyword_only = True
            continue
        declared, _, default = piece.partition(" = ")
        params.append((declared.rsplit(" ", 1)[-1], bool(default), keyword_only))
    return params


def _fits_count(params: list[tuple[str, bool, bool]], count: int) -> bool:
    """PyTorch's "plausible" overload for ``count`` arguments: between its parameters
    without default and all its parameters."""
    return sum(not d for _, d, _ in params) <= count <= len(params)


def _one_signature_error(
    op: str, params: list[tuple[str, bool, bool]], args: tuple, given: dict
) -> TypeError | None:
    """PyTorch's text for the one overload ``params`` (``FunctionSignature::parse``):
    too many positional arguments, then the first one missing (with those after it), then
    an unknown or repeated keyword; None where only a type differs (the combination text)."""
    most = sum(not k for _, _, k in params)
    least = sum(not d for _, d, _ in params)
    if len(args) > most:
        if least != most:
            return TypeError(
                f"{op}() takes from {least} to {most} positional arguments but {len(args)} "
                "were given"
            )
        were = "was" if len(args) == 1 else "were"
        s = "" if most == 1 else "s"
        return TypeError(f"{op}() takes {most} positional argument{s} but {len(args)} {were} given")
    spelled = {a for key in given for a in (key, *_TARGETS.get(key, ()))}
    for i, (name, has_default, _) in enumerate(params):
        if i >= len(args) and name not in spelled and not has_default:
            missing = [n for n, d, _ in params[i:] if not d]
            s = "s" if len(missing) == 1 else ""  # (PyTorch's inverted plural)
            return TypeError(
                f"{op}() missing {len(missing)} required positional argument{s}: {_quoted(missing)}"
            )
    names = [n for n, _, _ in params]
    for key in given:  # (PyTorch's own check knows no NumPy name: "unexpected 'axis'")
        if key not in names:
            return TypeError(f"{op}() got an unexpected keyword argument '{key}'")
        if names.index(key) < len(args):
            return TypeError(f"{op}() got multiple values for argument '{key}'")
    return None


def binding_error(
    op: str, fn: Callable, args: tuple, kwargs: dict, given: dict | None = None
) -> TypeError | None:
    """PyTorch's parser error for a call of ``fn`` (as ``op``) that binds none of its
    parameters' rules, or None when the call binds (the TypeError came from inside).
    ``given``: the keywords as the user spelled them (before :func:`renamed`), if others."""
    params = _parameters(fn)
    if params is None or op in TORCH_PYTHON_ROOTS:  # (Python's own texts there)
        return None
    try:
        inspect.Signature(params).bind(*args, **kwargs)
    except TypeError:
        pass
    else:
        return None
    if op in TORCH_OVERLOADS:
        return _overloaded_error(op, args, kwargs if given is None else given)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None  # (a variadic op: Python's own text)
    positional = [p for p in params if p.kind in (_KEYWORD_KINDS[0], p.POSITIONAL_ONLY)]
    if len(args) > len(positional):
        n = len(positional)
        least = sum(p.default is p.empty and p.kind is not p.VAR_KEYWORD for p in params)
        if least != n:  # (PyTorch's count of parameters without default, keywords' too)
            return TypeError(
                f"{op}() takes from {least} to {n} positional arguments but {len(args)} were given"
            )
        were = "was" if len(args) == 1 else "were"
        return TypeError(
            f"{op}() takes {n} positional argument{'' if n == 1 else 's'} but {len(args)} "
            f"{were} given"
        )
    missing = [
        p.name
        for i, p in enumerate(params)
        if p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        and i >= len(args)
        and p.name not in kwargs
    ]
    if missing:  # PyTorch's plural is the other way round ("1 ... arguments")
        s = "s" if len(missing) == 1 else ""
        return TypeError(
            f"{op}() missing {len(missing)} required positional argument{s}: {_quoted(missing)}"
        )
    return None  # an unexpected keyword: Python's text is PyTorch's


def with_aliases(fn: Callable, name: str, method: bool = False) -> Callable:
    """``fn`` taking PyTorch's NumPy aliases and raising its parser's binding errors; ``fn``
    itself where no alias applies and it is one of :data:`TORCH_PYTHON_ROOTS`."""
    if name in TORCH_PYTHON_ROOTS:
        return fn
    table = alias_table(fn, name, method)

    @functools.wraps(fn)
    def root(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            given = kwargs
            kwargs = renamed(name, kwargs, table, len(args))
            try:
                return fn(*args, **kwargs)
            except TypeError:
                error = binding_error(name, fn, args, kwargs, given)
                if error is None:
                    raise
                raise error from None
        try:
            return fn(*args)
        except TypeError:
            error = binding_error(name, fn, args, kwargs)
            if error is None:
                raise
            raise error from None

    root.keyword_aliases = table  # type: ignore[attr-defined]
    return root


def unaliased(fn: Any) -> Any:
    """``fn`` past :func:`with_aliases`' wrapper (the op that ``Tensor.<name>`` may be
    itself: ``cr.softplus`` wraps the very ``x.softplus``) and the wrappers over it that copy
    its mark (``__torch_function__``'s dispatch), else ``fn``."""
    while hasattr(fn, "keyword_aliases"):
        fn = fn.__wrapped__
    return fn
