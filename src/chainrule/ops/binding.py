"""Marks that an op states beside its definition: "I am also a ``Tensor`` method".

PyTorch has most ops both as a function and as a method (``torch.exp(x)`` and ``x.exp()``),
many with an in-place form (``x.exp_()``). Rather than a long table in ``ops/__init__.py``,
each op says so where it is defined::

    @tensor_method(inplace=True, keywords=True)
    def exp(x: Tensor) -> Tensor:
        ...

and ``ops/__init__.py`` binds every marked name of every op module's ``__all__`` with one
loop (``_bind_marked``). The decorators only *mark* the function (they return it unchanged,
so calls inside the package pay nothing); the wrapping for ``keywords=True`` and the
in-place form are built at binding time. This module imports nothing from ``ops`` so that
every op module can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

__all__ = ["MethodSpec", "method_spec", "numpy_keywords", "tensor_method"]

F = TypeVar("F", bound=Callable[..., Any])

Keywords = bool | Literal["axis", "out"]
"""Which of PyTorch's keyword conveniences an op takes: ``True`` all (``axis=``/``keepdims=``
and ``out=``), ``"axis"`` the NumPy aliases only (PyTorch refuses ``out=`` there), ``"out"``
``out=`` only (PyTorch refuses the aliases there)."""

_ATTR = "__chainrule_method__"


@dataclass(frozen=True)
class MethodSpec:
    """How ``ops/__init__.py`` exposes one op.

    ``method``: bound as ``Tensor.<name>`` (under every name the module's ``__all__`` gives
    the function, aliases included). ``inplace``: also ``Tensor.<name>_``, which computes the
    op and writes the result into ``self`` with the version-counter and leaf checks of
    ``ops/inplace.py``. ``keywords``: the function (``chainrule.<name>``) and the method accept
    NumPy's ``axis=``/``keepdims=`` and PyTorch's ``out=`` (``ops/keywords.py``); ``"axis"``
    the NumPy aliases only, ``"out"`` ``out=`` only (:data:`Keywords`).
    """

    method: bool = True
    inplace: bool = False
    keywords: Keywords = False


@overload
def tensor_method(fn: F, /) -> F: ...
@overload
def tensor_method(*, inplace: bool = False, keywords: Keywords = False) -> Callable[[F], F]: ...


def tensor_method(fn: Any = None, /, *, inplace: bool = False, keywords: Keywords = False) -> Any:
    """Mark ``fn`` as a ``Tensor`` method too (``x.fn(...)`` calls ``fn(x, ...)``).

    ``@tensor_method`` or ``@tensor_method(inplace=True, keywords=True)``; see
    :class:`MethodSpec` for what the flags add.
    """
    spec = MethodSpec(method=True, inplace=inplace, keywords=keywords)
    return _mark(fn, spec) if fn is not None else lambda f: _mark(f, spec)


@overload
def numpy_keywords(fn: F, /) -> F: ...
@overload
def numpy_keywords(*, keywords: Keywords = True) -> Callable[[F], F]: ...


def numpy_keywords(fn: Any = None, /, *, keywords: Keywords = True) -> Any:
    """Mark a function-only op (``cat``, ``stack``) as accepting ``axis=``/``keepdims=``/``out=``
    (``ops/keywords.py``) without making it a ``Tensor`` method; ``keywords="axis"`` or
    ``"out"`` for a part of them (:data:`Keywords`)."""
    spec = MethodSpec(method=False, keywords=keywords)
    return _mark(fn, spec) if fn is not None else lambda f: _mark(f, spec)


def method_spec(obj: Any) -> MethodSpec | None:
    """The mark set by :func:`tensor_method` / :func:`numpy_keywords`, or ``None``."""
    return getattr(obj, _ATTR, None)


def _mark(fn: F, spec: MethodSpec) -> F:
    if not callable(fn):
        raise TypeError(f"tensor_method: expected a function, got {type(fn).__name__}")
    setattr(fn, _ATTR, spec)
    return fn
