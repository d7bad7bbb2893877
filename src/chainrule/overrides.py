"""``cr.overrides`` (``torch.overrides``): the public side of ``__torch_function__``, and the
switch that puts the public API behind it.

The protocol itself lives in :mod:`chainrule.autograd.torch_function`. What this module adds:

- ``handle_torch_function``, ``has_torch_function`` (and its ``_unary``/``_variadic``
  forms), ``is_tensor_like``: what a library function calls to take part in the protocol,
  as PyTorch's Python functions do.
- :func:`install`: the first time a Tensor subclass that keeps the protocol is defined,
  every public op (``cr.<op>``, ``cr.ops.<op>``, ``cr.nn.functional.<fn>``), every public
  ``Tensor`` method and operator, and the view properties (``T``, ``mT``, ``H``, ``mH``,
  ``real``, ``imag``, ``data``) and the functions of ``cr.linalg``, ``cr.fft`` and
  ``cr.special`` are wrapped once by
  :func:`~chainrule.autograd.torch_function.dispatching`. Until then nothing is wrapped and
  the protocol costs nothing; after it, a call whose arguments hold no such subclass costs
  one look at their types.

- Names bound before the install (``from chainrule import exp`` or ``from
  chainrule.nn.functional import relu`` at the top of a user's script) are rebound to the
  wrappers in the user's modules too (:func:`_rebind_in_user_modules`), so that ``exp(mt)``
  dispatches as ``torch.exp(mt)`` does; only module globals are seen (a function kept in an
  object's attribute or a closure before the install stays undispatched).

- :class:`TorchFunctionMode`: ``with Mode():`` routes every wrapped call made in the block
  on this thread to ``Mode.__torch_function__`` first (entering a mode installs the
  wrappers too), as PyTorch's mode stack.

Not provided: duck-typed non-Tensor objects with a ``__torch_function__`` (only Tensor
subclasses and modes are seen, because only they can switch the wrappers on).
"""

from __future__ import annotations

import functools
import importlib
import sys
import sysconfig
from collections.abc import Callable, Iterable
from typing import Any

from . import ops
from .autograd import torch_function as _tf
from .autograd.misc import is_tensor_like
from .autograd.tensor import Tensor

__all__ = [
    "BaseTorchFunctionMode",
    "TorchFunctionMode",
    "handle_torch_function",
    "has_torch_function",
    "has_torch_function_unary",
    "has_torch_function_variadic",
    "install",
    "is_tensor_like",
]

# The view properties whose results a subclass keeps (t.T of a subclass is the subclass).
_PROPERTIES = ("T", "mT", "H", "mH", "real", "imag", "data")
# Python's operators on Tensor (ops/tensor_operators.py's bind_operators).
_OPERATORS = tuple(
    f"__{n}__"
    for n in (
        "getitem setitem add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod "
        "rmod pow rpow matmul rmatmul neg pos abs eq ne lt le gt ge and rand or ror xor rxor "
        "invert lshift rlshift rshift rrshift iadd isub imul itruediv iand ior ixor ilshift "
        "irshift ifloordiv imod"
    ).split()
)
# Methods that build or describe the object rather than compute on it.
_NOT_DISPATCHED = frozenset({"as_subclass"})
# The modules of chainrule's tensor factories (cr.ones, cr.randn, cr.zeros_like, ...).
_FACTORIES = (
    "chainrule.creation",
    "chainrule.creation_like",
    "chainrule.creation_more",
    "chainrule.creation_random",
)
# The function namespaces beside cr.<op> whose functions dispatch (loaded by install).
_NAMESPACES = ("chainrule.linalg", "chainrule.fft", "chainrule.special")

_installed = [False]
_MISSING = object()
# (target, name, what it held before install) in install order, so _uninstall can undo it
_patches: list[tuple[Any, str, Any]] = []


def _patch(target: Any, name: str, value: Any) -> None:
    """``setattr(target, name, value)``, remembered for :func:`_uninstall`."""
    before = vars(target).get(name, _MISSING) if isinstance(target, type) else getattr(target, name)
    _patches.append((target, name, before))
    setattr(target, name, value)


def _uninstall() -> None:
    """Undo :func:`install` and forget the dispatching classes (for the test suite, whose
    other tests check warning locations and call depths of the unwrapped API)."""
    for target, name, before in reversed(_patches):
        if before is _MISSING:
            delattr(target, name)
        else:
            setattr(target, name, before)
    _patches.clear()
    _tf._DISPATCHING.clear()
    _installed[0] = False


def install() -> None:
    """Put the public API behind the protocol (once; see the module docstring).

    A wrapper is one more Python frame: a warning an op raises with a fixed ``stacklevel``
    is then reported at the wrapper instead of the caller's line."""
    if _installed[0]:
        return
    _installed[0] = True
    wrappers: dict[int, Callable] = {}  # id(original) -> its wrapper, shared by aliases

    def wrap(fn: Callable) -> Callable:
        if id(fn) not in wrappers:
            wrappers[id(fn)] = _tf.dispatching(fn)
        return wrappers[id(fn)]

    _wrap_tensor_methods(wrap)
    root = sys.modules["chainrule"]
    for name in ops.__all__:
        fn = getattr(ops, name)
        _patch(ops, name, wrap(fn))
        if getattr(root, name, None) is fn:
            _patch(root, name, wrap(fn))
    for module_name in _FACTORIES:  # modes see cr.ones(...) as torch's see torch.ones
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            fn = getattr(module, name)
            is_function = callable(fn) and not isinstance(fn, type)
            if is_function and getattr(root, name, None) is fn:
                _patch(root, name, wrap(fn))
    # cr.nn loads on first use, and chainrule imports this module: so nn is imported here
    functional = importlib.import_module("chainrule.nn.functional")
    originals = {}
    for name in functional.__all__:
        fn = getattr(functional, name)
        if callable(fn) and not isinstance(fn, type):
            originals[id(fn)] = fn
    _rebind_in_nn(originals, wrap)
    for module_name in _NAMESPACES:  # torch.linalg.norm(subclass) dispatches too
        module = importlib.import_module(module_name)
        for name in module.__all__:
            fn = getattr(module, name)
            if callable(fn) and not isinstance(fn, type) and not name.startswith("_"):
                _patch(module, name, wrap(fn))
    _rebind_in_user_modules(wrappers)


def _rebind_in_user_modules(wrappers: dict[int, Callable]) -> None:
    """Replace each wrapped function a user's module holds as a global (bound by ``from
    chainrule import exp`` before the install) by its wrapper. User modules are those
    outside chainrule, the standard library and installed packages, and ``__main__``: the
    scan stays a few milliseconds while a test suite or a notebook has thousands of modules
    loaded."""
    originals = {id(w.__torch_function_wrapped__): w for w in wrappers.values()}
    for module in _user_modules():
        for name, value in list(vars(module).items()):
            wrapper = originals.get(id(value))
            if wrapper is not None and wrapper.__torch_function_wrapped__ is value:
                _patch(module, name, wrapper)


@functools.cache
def _library_paths() -> tuple[str, ...]:
    """Where the standard library and installed packages live (read once: slow)."""
    paths = sysconfig.get_paths()
    return tuple({paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def _user_modules() -> list[Any]:
    """The loaded modules that hold a user's code (see :func:`_rebind_in_user_modules`)."""
    libraries = _library_paths()
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or name == "chainrule" or name.startswith("chainrule."):
            continue
        namespace = getattr(module, "__dict__", None)  # not getattr(module, "__file__"):
        file = namespace.get("__file__") if isinstance(namespace, dict) else None  # no hooks
        if name == "__main__" or (isinstance(file, str) and not file.startswith(libraries)):
            found.append(module)
    return found


def _rebind_in_nn(originals: dict[int, Callable], wrap: Callable[[Callable], Callable]) -> None:
    """Replace each functional of ``originals`` by its wrapper wherever ``cr.nn`` holds it:
    in ``nn.functional``, in the module that defines it (so layers imported later bind the
    wrapper) and in every loaded ``chainrule.nn`` module, whose layers call the functionals
    by name (``linear(input, self.weight, self.bias)``), as PyTorch's call ``F.linear``."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("chainrule.nn"):
            continue
        for name, value in list(vars(module).items()):
            if _is_original(value, originals):
                _patch(module, name, wrap(value))
            elif isinstance(value, type) and value.__module__ == module_name:
                for attr, held in list(vars(value).items()):  # ReLU's _fn = staticmethod(...)
                    if isinstance(held, staticmethod) and _is_original(held.__func__, originals):
                        _patch(value, attr, staticmethod(wrap(held.__func__)))


def _is_original(value: Any, originals: dict[int, Callable]) -> bool:
    return originals.get(id(value)) is value


def _wrap_tensor_methods(wrap: Callable[[Callable], Callable]) -> None:
    found = {}  # name -> the attribute Tensor resolves it to (Tensor's own over a mixin's)
    for klass in reversed(Tensor.__mro__[:-1]):
        found.update(vars(klass))
    # a method under ops/deprecated_overloads.py's wrapper: an operator bound to the method
    # itself (``+`` to ``add``) dispatches as the public method (``func is Tensor.add``)
    public_of = {
        id(v.__wrapped__): v for v in found.values() if getattr(v, "deprecated_overloads", False)
    }
    for name, value in found.items():
        public = not name.startswith("_") or name in _OPERATORS
        if not public or name in _NOT_DISPATCHED:
            continue
        if callable(value) and not isinstance(value, (type, staticmethod, classmethod)):
            of = getattr(value, "operator_of", None)  # tensor_numpy's operators: x + y
            of = public_of.get(id(of), of)
            if of is None:
                _patch(Tensor, name, wrap(value))
            else:  # plain operands skip the wrappers: the operator as it was (``value``)
                _patch(Tensor, name, _tf.dispatching_operator(value.over(wrap(of)), value))
    for name in _PROPERTIES:
        prop = getattr(Tensor, name)
        _patch(Tensor, name, property(wrap(prop.fget), prop.fset, prop.fdel, prop.__doc__))


def _on_subclass(cls: type) -> None:
    """Tensor's subclass callback: a class that keeps the protocol on switches it on (a
    class of chainrule's own only if it defines its own ``__torch_function__``)."""
    internal = cls.__module__.startswith("chainrule.") and "__torch_function__" not in vars(cls)
    if _tf.is_dispatching_type(cls) and not internal:
        _tf.register_dispatching_type(cls)
        install()


def has_torch_function(relevant_args: Iterable[Any]) -> bool:
    """Whether any of ``relevant_args`` is routed to a ``__torch_function__`` (a plain
    Tensor is not), with dispatch on."""
    if _tf.is_disabled():
        return False
    return any(type(a) in _tf._DISPATCHING for a in relevant_args)


def has_torch_function_unary(inp: Any) -> bool:
    """:func:`has_torch_function` of one argument."""
    return has_torch_function((inp,))


def has_torch_function_variadic(*args: Any) -> bool:
    """:func:`has_torch_function` of the arguments themselves."""
    return has_torch_function(args)


def handle_torch_function(
    public_api: Callable, relevant_args: Iterable[Any], *args: Any, **kwargs: Any
) -> Any:
    """Route ``public_api(*args, **kwargs)`` to the ``__torch_function__`` of the
    overloaded types among ``relevant_args`` (what a library function calls after
    :func:`has_torch_function` said yes)."""
    types = _tf.overloaded_arguments(tuple(relevant_args), None)
    return _tf.dispatch(public_api, types, args, kwargs)


Tensor._subclass_callbacks.append(_on_subclass)  # chainrule imports this module at once


class TorchFunctionMode:
    """``torch.overrides.TorchFunctionMode``: subclass it, define ``__torch_function__(self,
    func, types, args=(), kwargs=None)``, and use an instance as a context manager; inside
    the block every public call on this thread reaches the handler first (with this mode
    off while it runs, so ``func(*args, **kwargs)`` there runs the call)."""

    def __torch_function__(
        self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define __torch_function__(self, func, types, args, kwargs)"
        )

    def __enter__(self) -> TorchFunctionMode:
        install()
        _tf.mode_stack().append(self)
        _tf.MODES_ENTERED[0] += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        stack = _tf.mode_stack()
        if not stack or stack[-1] is not self:
            raise RuntimeError(f"{type(self).__name__}: modes must be exited in reverse order")
        stack.pop()
        _tf.MODES_ENTERED[0] -= 1


class BaseTorchFunctionMode(TorchFunctionMode):
    """``torch.overrides.BaseTorchFunctionMode``: a mode whose handler runs the call as is;
    subclass it to change only some calls."""

    def __torch_function__(
        self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        return func(*args, **(kwargs or {}))


def _get_current_function_mode() -> TorchFunctionMode | None:
    """The innermost active mode of this thread, or None."""
    stack = _tf.mode_stack()
    return stack[-1] if stack else None


def _len_torch_function_stack() -> int:
    """How many modes are active on this thread."""
    return len(_tf.mode_stack())
