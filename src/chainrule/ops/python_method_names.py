"""The Tensor methods PyTorch writes in Python (``torch/_tensor.py``), named as Python names
them in its own errors.

A wrong call of such a method fails in Python's argument binding, whose TypeError names the
function by its ``__qualname__``: ``x.norm(out=o)`` says "Tensor.norm() got an unexpected
keyword argument 'out'", ``x.split(2, 0, 1)`` "Tensor.split() takes ...". chainrule's methods
are its module functions (``cr.split`` is ``Tensor.split``), whose qualname is ``split``;
:func:`name_python_methods` gives the method a copy of the function named ``Tensor.<name>``
(the same code: no cost per call), so each says what PyTorch says (CONTRIBUTING.md, "Error
messages"), while ``cr.split(x, 2, out=o)`` keeps "split() ...", as ``torch.split``.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..autograd.tensor import Tensor

__all__ = ["PYTHON_METHODS", "name_python_methods", "python_method"]

#: torch 2.13's public ``Tensor`` methods defined in Python (``torch/_tensor.py``)
PYTHON_METHODS = frozenset(
    {
        "storage",
        "backward",
        "register_hook",
        "register_post_accumulate_grad_hook",
        "is_shared",
        "share_memory_",
        "module_load",
        "norm",
        "eig",
        "symeig",
        "lu",
        "stft",
        "istft",
        "resize",
        "resize_as",
        "split",
        "unique",
        "unique_consecutive",
        "unflatten",
        "to_sparse_coo",
        "dim_order",
    }
)

_PASS_ON = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def _split_method(fn: Callable) -> Callable:
    def method(self: Any, split_size: Any, dim: int = 0) -> tuple:
        return fn(self, split_size, dim)

    return method


def _norm_method(fn: Callable) -> Callable:
    def method(
        self: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
    ) -> Tensor:
        return fn(self, p, dim, keepdim, dtype=dtype)

    return method


#: The methods whose Python parameters differ from the module function's (torch/_tensor.py:
#: ``Tensor.split(self, split_size, dim=0)``, ``Tensor.norm(self, p="fro", dim=None,
#: keepdim=False, dtype=None)``, dtype positional): each gets a method of torch's parameters
#: calling the function, so a wrong call (``x.split(2, 0, 1)``, ``x.norm`` with six
#: arguments, ``x.split(split_size_or_sections=2)``) fails in Python's binding as in torch.
_METHOD_FORMS: dict[str, Callable[[Callable], Callable]] = {
    "split": _split_method,
    "norm": _norm_method,
}


def python_method(fn: Callable, name: str) -> Callable:
    """``fn`` as the method ``Tensor.<name>``: a copy of a plain function, qualname
    ``Tensor.<name>``; a wrapper that passes its arguments on (``*args, **kwargs``: an
    autocast or keyword layer) instead gets a first check of the keyword names against the
    function it wraps, raising Python's TypeError under the method's name."""
    qualname = f"Tensor.{name}"
    form = _METHOD_FORMS.get(name)
    if form is not None and isinstance(fn, types.FunctionType):
        method = form(fn)
        method.__name__, method.__qualname__, method.__doc__ = name, qualname, fn.__doc__
        method.__module__ = fn.__module__
        method.__signature__ = inspect.signature(method)  # its own, not fn's (__wrapped__)
        method.__wrapped__ = fn  # what ops/binding's checks and tools look through
        return method
    code = getattr(fn, "__code__", None)
    if not isinstance(fn, types.FunctionType) or code is None:
        return fn
    if code.co_flags & _PASS_ON == _PASS_ON and hasattr(fn, "__wrapped__"):
        return _keyword_checked(fn, qualname)
    copy = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__dict__.update(fn.__dict__)
    copy.__doc__, copy.__module__ = fn.__doc__, fn.__module__
    copy.__annotations__ = fn.__annotations__
    copy.__qualname__ = qualname
    return copy


def _keyword_checked(fn: Callable, qualname: str) -> Callable:
    params = inspect.signature(inspect.unwrap(fn)).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return fn
    names = frozenset(p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY)

    @functools.wraps(fn)
    def method(*args: Any, **kwargs: Any) -> Any:
        for key in kwargs:
            if key not in names:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {key!r}")
        return fn(*args, **kwargs)

    method.__qualname__ = qualname
    return method


def name_python_methods(cls: type) -> None:
    """Give each of :data:`PYTHON_METHODS` that ``cls`` has as a plain function (its own or
    a base class's) the name PyTorch's Python methods carry (:func:`python_method`)."""
    for name in PYTHON_METHODS:
        fn = getattr(cls, name, None)
        if isinstance(fn, types.FunctionType) and fn.__qualname__ != f"Tensor.{name}":
            setattr(cls, name, python_method(fn, name))
