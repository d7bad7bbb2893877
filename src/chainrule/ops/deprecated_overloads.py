"""PyTorch's deprecated overloads that put the scale first: ``add(alpha, other)``,
``sub(alpha, other)``, ``addcmul(value, tensor1, tensor2)``, ``addcdiv(value, tensor1,
tensor2)``, as methods, in-place methods (``p.data.add_(-lr, d_p)``,
``exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)``: the optimizers and EMA updates of
older code) and functions (``torch.add(x, alpha, other)``); and the BLAS-style ones with
``beta`` (and ``alpha``) first: ``x.addmm(beta, [alpha,] mat1, mat2)``, ``torch.addmm(beta,
input, [alpha,] mat1, mat2)``, likewise ``addmv``, ``addr``, ``addbmm``, ``baddbmm``.

PyTorch still accepts them and warns once per process (one warning for all of them, as its
argument parser's ``TORCH_WARN_ONCE``), naming the overload and its replacement. Here each is
rewritten into the current call (``add(other, alpha=alpha)``) before the op runs, so the op and
its checks (a float alpha on integer tensors, a bool alpha) are the same. The scale is a number
or a 0-d tensor (PyTorch's parser reads a 0-d tensor as a Number); a call with the scale given
by keyword, or with any other first argument, is the current overload, untouched.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .._user_warnings import warn_once
from ..autograd.tensor import Tensor

__all__ = ["install_deprecated_overloads"]

# op name -> (the scale's name, the operands' names): the deprecated order is scale first
_OVERLOADS = {
    "add": ("alpha", ("other",)),
    "sub": ("alpha", ("other",)),
    "addcmul": ("value", ("tensor1", "tensor2")),
    "addcdiv": ("value", ("tensor1", "tensor2")),
}


# op name -> its two operands, for the overloads with beta (then alpha) first; and the ops
# whose warning offers a second replacement (the one with ``out_dtype``)
_BETA_OVERLOADS = {
    "addmm": ("mat1", "mat2"),
    "addmv": ("mat", "vec"),
    "addr": ("vec1", "vec2"),
    "addbmm": ("batch1", "batch2"),
    "baddbmm": ("batch1", "batch2"),
}
_OUT_DTYPE_FORM = frozenset({"addmm", "baddbmm"})


def _is_number(x: Any) -> bool:
    """Whether PyTorch's argument parser reads ``x`` as a Number (a 0-d tensor is one)."""
    if isinstance(x, Tensor):
        return x.ndim == 0
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, np.str_)


def _signature(name: str, method: bool) -> tuple[str, str]:
    """The deprecated overload and its replacement, as PyTorch's warning writes them."""
    scale, operands = _OVERLOADS[name.rstrip("_")]
    tensors = ", ".join(f"Tensor {o}" for o in operands)
    if method:
        return (f"{name}(Number {scale}, {tensors})", f"{name}({tensors}, *, Number {scale} = 1)")
    return (
        f"{name}(Tensor input, Number {scale}, {tensors}, *, Tensor out = None)",
        f"{name}(Tensor input, {tensors}, *, Number {scale} = 1, Tensor out = None)",
    )


def _rewritten(name: str, method: bool, args: tuple, kwargs: dict) -> tuple | None:
    """``(operands, kwargs)`` of the current overload when ``args``/``kwargs`` are the
    deprecated one (scale first, positional), else None (the call is left as it is)."""
    scale, operands = _OVERLOADS[name.rstrip("_")]
    if not args or not _is_number(args[0]) or scale in kwargs:
        return None
    given = args[1:]
    if len(given) > len(operands):
        return None
    rest = dict(kwargs)
    values = list(given)
    for o in operands[len(given) :]:
        if o not in rest:
            return None  # e.g. ``x.add(2)``: the number is ``other``
        values.append(rest.pop(o))
    if any(k != "out" or method for k in rest):
        return None  # an unknown keyword: the current overload's TypeError
    old, new = _signature(name, method)
    warn_once(
        "deprecated-scale-first-overload",  # one flag for them all, as PyTorch's parser
        f"This overload of {name} is deprecated:\n\t{old}\nConsider using one of the "
        f"following signatures instead:\n\t{new}",
    )
    rest[scale] = args[0].item() if isinstance(args[0], Tensor) else args[0]
    return tuple(values), rest


def _beta_signature(name: str, method: bool, with_alpha: bool) -> tuple[str, str]:
    """The deprecated beta-first overload and its replacement(s), as PyTorch writes them."""
    o1, o2 = _BETA_OVERLOADS[name.rstrip("_")]
    alpha = "Number alpha, " if with_alpha else ""
    scales = "Number beta = 1, Number alpha = 1"
    if method:
        return (
            f"{name}(Number beta, {alpha}Tensor {o1}, Tensor {o2})",
            f"{name}(Tensor {o1}, Tensor {o2}, *, {scales})",
        )
    new = f"{name}(Tensor input, Tensor {o1}, Tensor {o2}, *, {scales}, Tensor out = None)"
    if name in _OUT_DTYPE_FORM:
        new += (
            f"\n\t{name}(Tensor input, Tensor {o1}, Tensor {o2}, torch.dtype out_dtype, *, "
            f"{scales}, Tensor out = None)"
        )
    return (
        f"{name}(Number beta, Tensor input, {alpha}Tensor {o1}, Tensor {o2}, *, Tensor out = None)",
        new,
    )


def _beta_rewritten(name: str, method: bool, beta: Any, args: tuple, kwargs: dict) -> tuple:
    """``(operands, kwargs)`` of the current overload for a beta-first call (``beta`` already
    read: the method's first argument, the function's ``input`` slot), or None when the rest
    does not fit the deprecated overload either (the current one's error follows)."""
    operands = _BETA_OVERLOADS[name.rstrip("_")]
    if "beta" in kwargs:
        return None
    rest = dict(kwargs)
    lead, args = ((), args) if method else (args[:1], args[1:])
    if not method and (not lead or not isinstance(lead[0], Tensor)):
        return None  # the function's input comes right after beta
    with_alpha = bool(args) and _is_number(args[0])
    if with_alpha:
        if "alpha" in rest:
            return None
        alpha, args = args[0], args[1:]
    elif "alpha" in rest and not args and not method:
        alpha, with_alpha = rest.pop("alpha"), True  # torch.addmm(b, x, alpha=a, mat1=..)
    else:
        alpha = None
    if len(args) > len(operands) or "alpha" in rest:
        return None
    values = list(args)
    for o in operands[len(args) :]:
        if o not in rest:
            return None
        values.append(rest.pop(o))
    if any(k != "out" or method for k in rest):
        return None
    old, new = _beta_signature(name, method, with_alpha)
    warn_once(
        "deprecated-scale-first-overload",
        f"This overload of {name} is deprecated:\n\t{old}\nConsider using one of the "
        f"following signatures instead:\n\t{new}",
    )
    rest["beta"] = beta.item() if isinstance(beta, Tensor) else beta
    if with_alpha:
        rest["alpha"] = alpha.item() if isinstance(alpha, Tensor) else alpha
    return (*lead, *values), rest


def _beta_misfit(name: str, method: bool, args: tuple, kwargs: dict) -> TypeError:
    """PyTorch's TypeError for a call led by a number that fits no overload: the current
    ones take a tensor there, the deprecated ones (named here) other arguments after it."""
    got = ", ".join([type(a).__name__ for a in args] + [f"{k}=" for k in kwargs])
    forms = " or ".join(_beta_signature(name, method, alpha)[0] for alpha in (False, True))
    return TypeError(
        f"{name}() received an invalid combination of arguments - got ({got}); a number "
        f"first is only the deprecated {forms}; use {_beta_signature(name, method, False)[1]}"
    )


def _beta_method(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``Tensor.<name>`` that also takes the deprecated beta-first call."""

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args and _is_number(args[0]) and (len(args) > 2 or kwargs):
            call = _beta_rewritten(name, True, args[0], args[1:], kwargs)
            if call is None:
                raise _beta_misfit(name, True, args, kwargs)
            return fn(self, *call[0], **call[1])
        return fn(self, *args, **kwargs)

    method.deprecated_overloads = True  # type: ignore[attr-defined]
    return method


def _beta_function(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``chainrule.<name>`` that also takes the deprecated beta-first call."""

    @functools.wraps(fn)
    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if isinstance(input, Tensor):  # a 0-d input is the current overload's if it fits
            deprecated = input.ndim == 0 and len(args) >= 3 and isinstance(args[-1], Tensor)
        else:
            deprecated = _is_number(input) and bool(args)
        if deprecated:
            call = _beta_rewritten(name, False, input, args, kwargs)
            if call is not None:
                return fn(*call[0], **call[1])
            operands = _BETA_OVERLOADS[name]  # the current overload's arity: its own
            fits = len(args) + len(kwargs) == len(operands) and set(kwargs) <= set(operands)
            if not isinstance(input, Tensor) and not fits:  # TypeError naming 'input'
                raise _beta_misfit(name, False, (input, *args), kwargs)
        return fn(input, *args, **kwargs)

    function.deprecated_overloads = True  # type: ignore[attr-defined]
    return function


# The ops whose every operand must be a Tensor (PyTorch's parser refuses numbers there).
_TENSOR_OPERANDS = ("addcmul", "addcdiv")


def _check_operands(name: str, method: bool, args: tuple, kwargs: dict) -> None:
    """PyTorch's argument-parser TypeError for a number (or other non-tensor) given as a
    tensor operand of ``addcmul``/``addcdiv`` (``input``, ``tensor1``, ``tensor2``), which
    PyTorch's current overload never takes: ``addcmul(): argument 'tensor1' (position 2)
    must be Tensor, not float`` (positions count from ``tensor1`` for a method)."""
    names = ("tensor1", "tensor2") if method else ("input", "tensor1", "tensor2")
    for pos, arg in enumerate(names):
        v = args[pos] if pos < len(args) else kwargs.get(arg, None)
        if v is None and arg not in kwargs and pos >= len(args):
            continue  # missing: the op's own error
        if not isinstance(v, Tensor):  # (PyTorch names no position for a keyword)
            where = f" (position {pos + 1})" if pos < len(args) else ""
            raise TypeError(
                f"{name}(): argument '{arg}'{where} must be Tensor, not {type(v).__name__}"
            )


def _method(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``Tensor.<name>`` that also takes the deprecated scale-first call."""

    checked = name.rstrip("_") in _TENSOR_OPERANDS  # decided once: add/sub are hot

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) + len(kwargs) > 1:
            call = _rewritten(name, True, args, kwargs)
            if call is not None:
                if checked:
                    _check_operands(name, True, call[0], call[1])
                return fn(self, *call[0], **call[1])
        if checked:
            _check_operands(name, True, args, kwargs)
        return fn(self, *args, **kwargs)

    method.deprecated_overloads = True  # type: ignore[attr-defined]
    return method


_BY_KEYWORD: Any = object()
"""``input`` not given by position (a placeholder default)."""


def _function(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``chainrule.<name>`` that also takes the deprecated scale-first call."""

    checked = name.rstrip("_") in _TENSOR_OPERANDS

    @functools.wraps(fn)
    def function(input: Any = _BY_KEYWORD, /, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if input is _BY_KEYWORD:  # input=, or NumPy's x1=: fn's keyword wrapper reads it
            if checked:
                _check_operands(name, False, args, kwargs)
            return fn(*args, **kwargs)
        if len(args) + len(kwargs) > 1:
            call = _rewritten(name, False, args, kwargs)
            if call is not None:
                if checked:
                    _check_operands(name, False, (input, *call[0]), call[1])
                return fn(input, *call[0], **call[1])
        if checked:
            _check_operands(name, False, (input, *args), kwargs)
        return fn(input, *args, **kwargs)

    function.deprecated_overloads = True  # type: ignore[attr-defined]
    return function


def install_deprecated_overloads(T: type, ops: dict[str, Callable[..., Any]]) -> None:
    """Let ``T``'s methods ``add``/``add_``/``sub``/``sub_``/``addcmul``/``addcmul_``/
    ``addcdiv``/``addcdiv_``, ``addmm``/``addmv``/``addr``/``addbmm``/``baddbmm`` (and their
    in-place forms) and the functions of the same names in ``ops`` (the public op table,
    changed in place) take PyTorch's deprecated scale-first overloads. The Python
    operators (``+``, ``+=``) are bound before this and keep the direct methods."""
    for name in _OVERLOADS:  # (each wrapper marked: the audits look through them)
        ops[name] = _function(name, ops[name])
        for method_name in (name, name + "_"):
            setattr(T, method_name, _method(method_name, getattr(T, method_name)))
    for name in _BETA_OVERLOADS:
        ops[name] = _beta_function(name, ops[name])
        for method_name in (name, name + "_"):
            setattr(T, method_name, _beta_method(method_name, getattr(T, method_name)))
