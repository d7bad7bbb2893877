"""The Tensor dunders PyTorch keeps from Python 2 and old pickles, bound after the operators.

``torch.Tensor`` still has ``__div__``/``__rdiv__``/``__idiv__`` (``/`` under Python 2),
``__nonzero__`` (``bool``), ``__long__`` (``int``), ``__setstate__`` (the state of a tensor
pickled before PyTorch 0.4) and ``__delitem__`` (which refuses: ``del x[0]``). Code written
against those names (``x.__div__(2)``, ``hasattr(t, "__nonzero__")``) finds the same here:
each alias is the operator chainrule already binds, taken after
``tensor_numpy.defer_operators_to_ndarray`` wraps them, so it behaves as that operator.

Left out: ``__torch_dispatch__``. PyTorch's default (``_disabled_torch_dispatch_impl``)
runs an ATen overload (``torch.ops.aten.add.Tensor``) below the dispatcher; chainrule has no
dispatcher and no ATen overloads, and never calls a subclass's ``__torch_dispatch__``, so a
default would let such a subclass look supported while its handler is silently skipped.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor

__all__ = ["bind_legacy_dunders"]


def _delitem(self: Tensor, key: Any) -> None:
    """``del x[key]``: PyTorch's TypeError (a tensor's size is fixed)."""
    raise TypeError("Tensor does not support deleting items")


def _setstate(self: Tensor, state: tuple | dict) -> None:
    """``x.__setstate__(state)``: PyTorch's reading of a legacy pickled state. Four items
    (storage, offset, size, stride) are a legacy Tensor, applied with ``set_``; five are a
    legacy Variable (data, ..., hooks, requires_grad, ...); three are (requires_grad, _,
    backward hooks). Only a leaf takes it. Backward hooks are never pickled by PyTorch (its
    note "Don't serialize hooks"), so a state carrying some raises NotImplementedError.

    A dict is not a legacy state: it is the attribute dict that chainrule's own pickles
    (``serialization/pickle_format.py``, files written before this method existed too) and
    Python's default BUILD hand over; it is applied as Python's default would apply it."""
    if type(state) is dict:
        self.__dict__.update(state)
        return
    if not self.is_leaf:
        raise RuntimeError("__setstate__ can be only called on leaf Tensors")
    if len(state) == 4:
        self.set_(*state)
        return
    if len(state) == 5:
        self.data = state[0]
        state = (state[3], state[4], state[2])
    requires_grad, _, hooks = state
    if hooks:
        raise NotImplementedError(
            "Tensor.__setstate__: a state with backward hooks is not supported (PyTorch "
            "never pickles hooks); register them again with register_hook"
        )
    self.requires_grad = requires_grad


def bind_legacy_dunders(T: Any) -> None:
    """Bind the legacy names on ``T`` (``Tensor``), once its operators are bound."""
    T.__div__, T.__rdiv__, T.__idiv__ = T.__truediv__, T.__rtruediv__, T.__itruediv__
    T.__nonzero__ = T.__bool__
    T.__long__ = T.__int__
    T.__delitem__ = _delitem
    T.__setstate__ = _setstate
