"""PyTorch's keyword conveniences on the functional ops: NumPy-style ``axis=``/``keepdims=``
aliases and ``out=``.

PyTorch accepts ``torch.sum(x, axis=1, keepdims=True)`` (NumPy's names) and ``out=`` on most
functions. ``accepts_torch_keywords(fn)`` wraps an op so that those keywords work; calls
without keyword arguments go straight through (one ``if`` on the hot path). Which ops: those
marked ``@tensor_method(keywords=True)`` or ``@numpy_keywords`` in their own file
(``ops/binding.py``); ``ops/__init__.py`` wraps them once, for ``chainrule.<name>`` and the
method alike, and the package's internal calls use the unwrapped function. A mark of
``keywords="axis"`` takes the aliases only (``chunk``, ``argsort``, ``var_mean``: PyTorch
refuses their ``out=``), ``keywords="out"`` ``out=`` only (``torch.norm``).

``out=`` writes the result into the given tensor, as PyTorch does: cast to ``out``'s dtype
when the cast is safe within a kind, resized (with PyTorch's warning) when its shape differs,
and refused when autograd would need to record the op ("functions with out=... arguments
don't support automatic differentiation") or when ``out`` is an expanded tensor (several
elements in one memory location). Some ops take no cast at all (``_EXACT_DTYPE_OUT``,
found by running torch 2.13 with float64, float16, int32 and complex128 ``out`` tensors), and
the sums and products compute in ``out``'s dtype (``_OUT_DTYPE_COMPUTES``). That ``out=``
half, its per-op tables and :func:`write_out`, is in ``keywords_out.py``; this module is the
wrapper (and re-exports ``write_out``, ``check_out_dtype`` and ``torch_dtype_word``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ._tensor_args import called_as
from .binding import method_spec
from .inplace_overlap import rewrite_overlapping_out
from .keyword_aliases import alias_table, binding_error, renamed

# the out= half (keywords_out.py): the per-op tables and the writing, re-exported here
from .keywords_out import (
    _OUT_DTYPE_COMPUTES,
    _OUT_NEEDS_DIM,
    _OUT_NO_OVERLAP,
    _OUT_OVERLAP_CHECKED,
    _check_out_no_overlap,
    _check_out_overlap,
    check_out_dtype,
    torch_dtype_word,
    write_out,
)
from .python_method_names import PYTHON_METHODS
from .torch_overloads import TENSORBASE_NO_ARGUMENTS

__all__ = [
    "accepts_torch_keywords",
    "check_out_dtype",
    "method_form",
    "torch_dtype_word",
    "write_out",
]


def _numpy_aliases(op: str, kwargs: dict, table: dict[str, str], given: int) -> dict:
    """``kwargs`` with ``axis=`` renamed ``dim=`` and ``keepdims=`` ``keepdim=`` (in place),
    then the other NumPy names of ``table`` (``x1=`` for ``input``, ...: ``keyword_aliases``;
    ``given`` positional arguments)."""
    if "axis" in kwargs:
        if "dim" in kwargs:
            raise TypeError(f"{op}(): got both 'dim' and its alias 'axis'")
        kwargs["dim"] = kwargs.pop("axis")
    if "keepdims" in kwargs:
        if "keepdim" in kwargs:
            raise TypeError(f"{op}(): got both 'keepdim' and its alias 'keepdims'")
        kwargs["keepdim"] = kwargs.pop("keepdims")
    return renamed(op, kwargs, table, given)


def _called(op: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)``, a call that binds none of ``fn``'s parameters raising
    PyTorch's parser text (``keyword_aliases.binding_error``)."""
    try:
        return fn(*args, **kwargs)
    except TypeError:
        error = binding_error(op, fn, args, kwargs)
        if error is None:
            raise
        raise error from None


def _aliases_only(fn: Callable, op: str) -> Callable:
    """``fn`` accepting NumPy's ``axis=``/``keepdims=`` but no ``out=`` (PyTorch's
    ``chunk``, ``argsort``, ``var_mean``, ...: an ``out=`` stays a TypeError unless ``fn``
    takes one itself, as ``cross`` does). A ``keepdims=`` on an op without ``keepdim`` is the
    TypeError of the unexpected keyword, as in PyTorch."""

    table = {k: v for k, v in alias_table(fn, op).items() if k not in ("axis", "keepdims")}

    @functools.wraps(fn)
    def op_with_aliases(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            kwargs = _numpy_aliases(op, kwargs, table, len(args))
            if op in _OUT_NO_OVERLAP and kwargs.get("out") is not None:  # cross's own out=
                _check_out_no_overlap(op, args, kwargs, kwargs["out"])
        try:
            return fn(*args, **kwargs)
        except TypeError:  # (free until raised) PyTorch's binding texts
            error = binding_error(op, fn, args, kwargs)
            if error is None:
                raise
            raise error from None

    op_with_aliases.torch_keywords = frozenset({"axis", "keepdims"})  # type: ignore[attr-defined]
    return op_with_aliases


def _out_only(fn: Callable, op: str) -> Callable:
    """``fn`` accepting ``out=`` but not NumPy's aliases (``torch.norm``: ``axis=`` and
    ``keepdims=`` are TypeErrors there, the unexpected keywords they are for ``fn``)."""

    @functools.wraps(fn)
    def op_with_out(*args: Any, **kwargs: Any) -> Any:
        if "out" not in kwargs:
            return fn(*args, **kwargs)
        out = kwargs.pop("out")
        result = fn(*args, **kwargs)
        if out is not None and op in _OUT_NO_OVERLAP:
            _check_out_no_overlap(op, args, kwargs, out)
        return result if out is None else write_out(op, result, out)

    op_with_out.torch_keywords = frozenset({"out"})  # type: ignore[attr-defined]
    return op_with_out


def accepts_torch_keywords(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` accepting ``axis=`` (for ``dim``), ``keepdims=`` (for ``keepdim``) and ``out=``;
    the aliases only or ``out=`` only where ``fn``'s mark says ``keywords="axis"`` or
    ``"out"`` (``ops/binding.py``)."""
    op = name or fn.__name__
    spec = method_spec(fn)
    if spec is not None and spec.keywords == "axis":
        return _aliases_only(fn, op)
    if spec is not None and spec.keywords == "out":
        return _out_only(fn, op)

    table = {k: v for k, v in alias_table(fn, op).items() if k not in ("axis", "keepdims")}

    @functools.wraps(fn)
    def op_with_keywords(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            try:
                return fn(*args)
            except TypeError:  # (free until raised) PyTorch's binding texts
                error = binding_error(op, fn, args, kwargs)
                if error is None:
                    raise
                raise error from None
        kwargs = _numpy_aliases(op, kwargs, table, len(args))
        out = kwargs.pop("out", None)
        if out is not None and op in _OUT_NEEDS_DIM:
            _check_out_dim(op, args, kwargs)
        if op == "heaviside" and isinstance(out, Tensor) and out._data.dtype.kind == "c":
            # its meta function refuses a complex out before inputs of different dtypes
            raise RuntimeError("heaviside is not yet implemented for complex tensors.")
        if op in _OUT_DTYPE_COMPUTES and isinstance(out, Tensor) and kwargs.get("dtype") is None:
            if grad_mode.is_grad_enabled() and any(
                isinstance(a, Tensor) and a.requires_grad for a in args
            ):  # before computing in out's dtype: an integer result would not require grad
                raise RuntimeError(
                    f"{op}(): functions with out=... arguments don't support automatic "
                    "differentiation, but one of the arguments requires grad."
                )
            if op == "nansum" and out._data.dtype.kind != "f":  # it sums in out's dtype,
                raise NotImplementedError(  # which PyTorch has no nansum kernel for
                    f'"nansum_cpu" not implemented for {out.dtype} (the dtype of out=)'
                )
            kwargs["dtype"] = out.dtype
        result = _called(op, fn, args, kwargs)
        if out is None:
            return result
        if op in _OUT_NO_OVERLAP:
            _check_out_no_overlap(op, args, kwargs, out)
        elif op in _OUT_OVERLAP_CHECKED:
            _check_out_overlap(op, args, kwargs, result, out)
            written = write_out(op, result, out)
            rewrite_overlapping_out(op, fn, args, kwargs, result, out)  # out= v, v overlapping
            return written
        return write_out(op, result, out)

    return op_with_keywords


def _check_out_dim(op: str, args: tuple, kwargs: dict) -> None:
    """Refuse an ``out=`` call of an op of :data:`_OUT_NEEDS_DIM` without its ``dim`` (or,
    but for ``sum``, with ``dim=None``), as PyTorch's argument parser does (TypeError)."""
    if len(args) < 2 and "dim" not in kwargs:
        raise TypeError(f'{op}() missing 1 required positional arguments: "dim"')
    dim = args[1] if len(args) >= 2 else kwargs["dim"]
    if dim is None and op != "sum":
        raise TypeError(f"{op}(): argument 'dim' (position 2) must be int, not NoneType")


def _takes_out(fn: Callable) -> bool:
    """Whether ``fn``'s signature (through its decorators) has a parameter named ``out``."""
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _no_arguments_error(name: str, what: str) -> TypeError:
    """CPython's TypeError for the argument-less C method ``TensorBase.<name>`` given
    arguments (``x.exp(1)``: "TensorBase.exp() takes no arguments (1 given)"); ``Tensor.``
    where the call went through a bound method object (``f = x.exp; f(1)``), as CPython
    names it there. Error path only (it reads the caller's bytecode)."""
    owner = "TensorBase" if called_as((name,))[1] else "Tensor"
    return TypeError(f"{owner}.{name}() takes {what}")


# Tensor methods PyTorch defines in Python (torch/_tensor.py) that take no ``out=``
_PYTHON_METHODS = PYTHON_METHODS


def method_form(fn: Callable, name: str) -> Callable:
    """``Tensor.<name>`` for the op ``fn`` (as :func:`accepts_torch_keywords` wrapped it):
    PyTorch's methods take no ``out=`` (``x.sum(0, out=o)``, ``x.cross(y, out=o)``: "sum()
    got an unexpected keyword argument 'out'", a TypeError), which also makes ``np.sum(t)``,
    ``np.mean(t)``, ``np.max(t)``, ``np.any(t)`` raise as in PyTorch (NumPy calls
    ``t.sum(axis=None, dtype=None, out=None)``). NumPy's ``axis=``/``keepdims=`` stay.
    ``fn`` itself when it takes no ``out=``."""
    added = getattr(fn, "torch_keywords", None)
    # accepts_torch_keywords' full wrapper, which takes axis=, keepdims= and out=
    full = getattr(fn, "__code__", None) is op_with_keywords_code
    # (not another decorator's; past keyword_aliases' wrapper, which kwargs calls go through)
    raw = fn.__wrapped__ if full or added is not None or hasattr(fn, "keyword_aliases") else fn
    if not (full or (added is not None and "out" in added) or _takes_out(raw)):
        return fn

    bare = name in TENSORBASE_NO_ARGUMENTS  # (torch's x.exp(): CPython's own texts)

    @functools.wraps(fn)
    def method(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            try:
                return raw(*args)
            except TypeError:  # (free until raised)
                if bare and len(args) > 1:
                    given = f"no arguments ({len(args) - 1} given)"
                    raise _no_arguments_error(name, given) from None
                raise
        if bare:
            raise _no_arguments_error(name, "no keyword arguments")
        if "out" in kwargs:
            raise TypeError(f"{called}() got an unexpected keyword argument 'out'")
        return fn(*args, **kwargs)

    # a method PyTorch writes in Python (torch/_tensor.py): Python's TypeError names it so
    called = f"Tensor.{name}" if name in _PYTHON_METHODS else name

    method.__wrapped__ = raw  # type: ignore[attr-defined]
    method.__qualname__ = called  # (python_method_names leaves it so)
    keep = {"axis", "keepdims"} if full else set(added or ())
    method.torch_keywords = frozenset(keep - {"out"})  # type: ignore[attr-defined]
    return method


op_with_keywords_code = accepts_torch_keywords(lambda: None).__code__
"""The code of :func:`accepts_torch_keywords`' full wrapper (to recognise it)."""
