"""``Parameter``: a tensor that a Module registers as trainable when assigned to it; and
``Buffer``. As ``torch.nn.parameter``, this module also answers for the lazy modules'
placeholders (``UninitializedParameter``, ``UninitializedBuffer``, ``is_lazy``), which live
in ``nn/layers/lazy.py`` and ``lazy_more.py``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..autograd.tensor_data import check_requires_grad_flag
from ..autograd.torch_function import disabled_torch_function_impl

# The lazy placeholders are module attributes resolved on first use (lazy.py imports this
# module), so they are not in ``__all__``: their module and name there.
__all__ = ["Buffer", "Parameter", "is_lazy"]
_LAZY_NAMES = {
    "UninitializedParameter": ("lazy", "UninitializedParameter"),
    "UninitializedBuffer": ("lazy_more", "UninitializedBuffer"),
    "UninitializedTensorMixin": ("lazy", "_UninitializedTensor"),
}


class _ParameterMeta(type):
    """PyTorch's ``_ParameterMeta``: ``isinstance(t, Parameter)`` is also True for an instance
    of a user's Tensor subclass flagged ``_is_param`` (what ``Parameter(t)`` returns for one)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Parameter and getattr(instance, "_is_param", False):
            if isinstance(instance, Tensor):
                return True
        return type.__instancecheck__(cls, instance)


def _is_user_subclass(data: Any) -> bool:
    """Whether ``data`` is an instance of a Tensor subclass written outside chainrule (its own
    classes, sparse, nested, Buffer..., stand for PyTorch's plain ``torch.Tensor``)."""
    cls = type(data)
    return (
        cls is not Tensor
        and isinstance(data, Tensor)
        and not cls.__module__.startswith("chainrule.")
    )


class Parameter(Tensor, metaclass=_ParameterMeta):
    """A leaf tensor with ``requires_grad=True`` that ``Module.__setattr__`` registers.

    ``Parameter(t)`` shares ``t``'s memory, like PyTorch. For ``t`` an instance of a user's
    Tensor subclass it returns, as PyTorch, ``t.detach().requires_grad_(requires_grad)``
    flagged ``_is_param``: the subclass is kept (its ``__torch_function__`` still runs) and
    ``isinstance(p, Parameter)`` is True.
    """

    __torch_function__ = disabled_torch_function_impl  # results are plain Tensors (as torch)

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Parameter:
        """Built here, as PyTorch's ``Parameter.__new__``: a subclass may call
        ``super().__new__(cls, data, requires_grad)`` from its own ``__new__`` and give its
        ``__init__`` other arguments without calling ``Parameter.__init__``."""
        if _is_user_subclass(data):
            return _flag_subclass_param(data, requires_grad)
        if data is None:
            arr = np.empty((0,), _dt.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = Tensor._new(data)._data
        self = object.__new__(cls)
        self._init_leaf(arr, False)
        if isinstance(data, Tensor) and data.is_inference():
            self._vc = data._vc  # shares an inference tensor's memory, so is one (as PyTorch)
        if requires_grad is not False:  # refused for an inference tensor outside inference_mode
            check_requires_grad_flag(requires_grad, "Parameter")
            self._requires_grad_(True)
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: :meth:`__new__` built the parameter (a subclass's ``__init__`` need
        not call this one)."""

    _FORMAT_VALUE = False  # f"{p}" is the repr, as PyTorch's (Tensor.__format__)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        """``copy.deepcopy``, as PyTorch's Parameter: a new parameter of the same class with its
        own copy of the data and the same ``requires_grad``, and nothing else: no ``.grad``
        (unlike a plain tensor's deep copy) and no attributes set on the original. A model
        copied after ``backward()`` (a target network, a MAML learner, ``best =
        copy.deepcopy(model)``) so starts with no gradients, as under PyTorch."""
        if id(self) in memo:
            return memo[id(self)]
        new = object.__new__(type(self))
        new._init_leaf(self._data.copy(order="K"), self.requires_grad)  # keeps the layout
        memo[id(self)] = new
        return new


def _flag_subclass_param(data: Tensor, requires_grad: bool) -> Any:
    """PyTorch's path for a custom tensor: a detached instance of the same class, flagged."""
    t = data.detach().requires_grad_(requires_grad)
    if type(t) is not type(data):
        raise RuntimeError(
            f"Creating a Parameter from an instance of type {type(data).__name__} "
            "requires that detach() returns an instance of the same type, but return "
            f"type {type(t).__name__} was found instead. To use the type as a "
            "Parameter, please correct the detach() semantics defined by "
            "its __torch_dispatch__() implementation."
        )
    t._is_param = True
    return t


class Buffer(Tensor):
    """Marker type for ``Module`` buffers assigned by attribute (``self.x = nn.Buffer(t)``)."""

    __torch_function__ = disabled_torch_function_impl

    def __init__(self, data: Any, persistent: bool = True):
        self._init_leaf(data._data if isinstance(data, Tensor) else Tensor._new(data)._data, False)
        self.persistent = persistent


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        module, attr = _LAZY_NAMES[name]
        return getattr(import_module(f"..layers.{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_lazy(param: Any) -> bool:
    """Whether ``param`` is a lazy module's placeholder, not yet given a shape."""
    return isinstance(param, __getattr__("UninitializedTensorMixin"))
