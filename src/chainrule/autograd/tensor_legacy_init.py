"""``TensorLegacyInit``: PyTorch's legacy constructor ``Tensor(...)``, argument by argument.

A mixin of :class:`~chainrule.autograd.tensor.Tensor`, kept apart so that ``tensor.py`` stays
about what a tensor is. ``cr.Tensor(data)`` makes a tensor of the *default* dtype whatever the
data's type, ``cr.Tensor(2, 3)`` / ``cr.Tensor(Size)`` / ``cr.Tensor(size=...)`` an
uninitialised one of that size, ``cr.Tensor(t)`` an alias of tensor ``t``; only ``device=`` is
accepted by keyword, and every other combination raises PyTorch's error. The framework's own
constructors (``Tensor._new`` / ``Tensor._make``) do not come through here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..backend import to_device
from ..size import Size

# the module, bound while it is being imported (it imports this one): Tensor is read at call
# time, with no import statement on the constructor's path
from . import tensor as _tensor
from .tensor_data import refuse_legacy_scalar_data, to_array

__all__ = ["TensorLegacyInit"]


class TensorLegacyInit:
    """``Tensor._legacy_init``: the legacy constructor's forms (a mixin of ``Tensor``)."""

    __slots__ = ()

    def _legacy_init(self, *args: Any, device: Any = None, **kwargs: Any) -> None:
        """Build ``self`` from the legacy constructor's arguments (see the module
        docstring for the forms); ``Tensor.__init__`` and ``Tensor.__new__`` (a subclass
        with its own ``__new__``) call it."""
        Tensor = _tensor.Tensor  # noqa: N806 - the class (tensor.py imports this module)
        if not args and len(kwargs) == 1 and ("data" in kwargs or "size" in kwargs):
            if "size" in kwargs:  # Tensor(size=(2, 3)): the sizes form by keyword
                args = (Size(kwargs.pop("size")),)
            elif isinstance(kwargs["data"], Tensor):  # PyTorch takes a tensor positionally only
                raise TypeError("new(): data must be a sequence (got Tensor)")
            else:
                args = (kwargs.pop("data"),)
        if kwargs:  # PyTorch's legacy constructor takes device= only
            got = ", ".join([type(a).__name__ for a in args] + [f"{k}=..." for k in kwargs])
            raise TypeError(
                f"new() received an invalid combination of arguments - got ({got}): the "
                f"legacy constructor Tensor(...) accepts only device= by keyword (incorrect: "
                f"{', '.join(kwargs)}); use cr.tensor(data, dtype=..., requires_grad=...)"
            )
        dtype, requires_grad = None, False
        if len(args) == 1 and isinstance(args[0], Tensor):
            if device is not None:
                raise RuntimeError(
                    "Legacy tensor constructor of the form torch.Tensor(tensor, device=device) "
                    "is not supported.  Use torch.tensor(...) or torch.as_tensor(...) instead."
                )
            alias = args[0][...]  # an alias of t on its grad path, as torch.Tensor(t)
            for name in ("_data", "_grad", "_rg", "grad_fn", "_output_nr", "_vc", "_hooks"):
                setattr(self, name, getattr(alias, name))
            self._fw, self._view = alias._fw, alias._view
            return
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            # The sizes form, cr.Tensor(2, 3): uninitialised, of the default dtype.
            if min(args) < 0:
                raise RuntimeError(f"Tensor(): negative dimension in sizes {args}")
            data = np.empty(tuple(int(a) for a in args), dtype=_dt.get_default_dtype())
        elif len(args) == 1 and isinstance(args[0], Size):
            # cr.Tensor(x.shape): the sizes form too (Size([]) gives a 0-d tensor)
            data = np.empty(tuple(args[0]), dtype=_dt.get_default_dtype())
        elif len(args) == 1:
            data = args[0]
            refuse_legacy_scalar_data(data)
            if isinstance(data, (list, tuple)):
                from ..creation_from_data import check_list_data  # noqa: PLC0415 - a cycle

                check_list_data(data, "Tensor")
        elif not args:
            data = np.empty(0, dtype=_dt.get_default_dtype())
        else:
            raise TypeError(
                f"Tensor(): expected one data argument or sizes (ints), got "
                f"{len(args)} positional arguments; pass dtype= by keyword"
            )
        arr = to_array(data, dtype)
        if dtype is None and arr.dtype.kind in "biuf":
            arr = arr.astype(_dt.get_default_dtype(), copy=False)
        if device is not None:
            arr = to_device(arr, device)
        self._init_leaf(arr, requires_grad)
        if isinstance(data, (list, tuple)):
            from ..creation_from_data import warn_list_of_arrays  # noqa: PLC0415 - a cycle

            warn_list_of_arrays(data, self)
