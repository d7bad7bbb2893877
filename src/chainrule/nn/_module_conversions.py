"""``nn.Module``'s conversions of its tensors, as a mixin of :class:`~chainrule.nn.Module`:
``_apply`` (PyTorch's machinery, which a module overrides to convert tensors it keeps
elsewhere), ``to`` and its shorthands (``float``, ``double``, ``half``, ``bfloat16``, ``cpu``,
``cuda``), ``type``, ``to_empty`` and ``share_memory``. Every conversion writes the new array
into the same tensor objects, so optimizers and references keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __future__ as _future
from .. import dtypes
from .._user_warnings import warn_at_caller
from ..autograd.grad_mode import no_grad
from ..autograd.swap import swap_tensors
from ..autograd.tensor import Tensor
from ..backend import Device, to_device
from ..creation import empty
from ..multiprocessing.sharing import module_share_memory
from ..ops.memory_format import relayout_array
from ..ops.sparse_tensor import SparseTensor
from ._module_to import parse_module_to
from .parameter import Parameter

if TYPE_CHECKING:  # annotations only: module.py imports this mixin
    from .module import Module

__all__ = ["ModuleConversions"]


_COMPLEX_MODULES = (
    "Complex modules are a new feature under active development whose design may change, and "
    "some modules might not work as expected when using complex tensors as parameters or "
    "buffers. Please file an issue at "
    "https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml if a complex "
    "module does not work as expected."
)


class ModuleConversions:
    """``Module``'s ``_apply``/``to``/``type``/``to_empty``/``share_memory`` family."""

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> "Module":
        """Convert every parameter (and its ``.grad``) and buffer with ``fn`` (Tensor ->
        Tensor), children first: the machinery of ``to``/``float``/``type``/``to_empty``,
        which a module overrides to convert tensors it keeps outside its parameters and
        buffers. The converted values go into the same tensor objects, so optimizers and
        references keep working."""
        if recurse:
            for child in self.children():
                child._apply(fn)
        swap = _future.get_swap_module_params_on_conversion()
        overwrite = _future.get_overwrite_module_params_on_conversion()
        with no_grad():
            for store in (self._parameters, self._buffers):
                for k, v in list(store.items()):
                    if v is None:
                        continue
                    if isinstance(v, SparseTensor):  # a sparse buffer: replaced (as torch's
                        store[k] = _sparse_of(fn(v))  # buffers), its values live elsewhere
                        continue
                    if store is self._parameters and (swap or overwrite):
                        _replace_param(self, k, v, fn, swap)
                        continue
                    v._data = _array_of(fn(v), "_apply")
                    if isinstance(v, Parameter) and v.grad is not None:
                        v.grad._data = _array_of(fn(v.grad), "_apply")
        return self

    def to_empty(self, *, device: Any, recurse: bool = True) -> "Module":
        """Give every parameter and buffer new, uninitialised storage of its shape and dtype
        on ``device`` (None: where it is), e.g. to re-create a model's storage before
        initialising it."""
        dev = None if device is None else Device(device)

        def fresh(t: Tensor) -> Tensor:
            where = t.device if dev is None else dev
            return empty(tuple(t._data.shape), dtype=t._data.dtype, device=where)

        return self._apply(fresh, recurse=recurse)

    def type(self, dst_type: Any) -> "Module":
        """Cast every parameter and buffer (integer buffers too, unlike ``to``) to
        ``dst_type``: a dtype or a type string such as ``"torch.DoubleTensor"``. As PyTorch,
        a parameter that requires grad refuses an integer or bool type (the modules
        converted before it keep their new type)."""

        def convert(t: Tensor) -> Tensor:
            out = t.type(dst_type)
            if isinstance(t, Parameter) and t.requires_grad and out._data.dtype.kind not in "fcV":
                raise RuntimeError(
                    "data set to a tensor that requires gradients must be floating point or "
                    "complex dtype"
                )
            return out

        return self._apply(convert)

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move/cast parameters and buffers in place (dtype casts floating tensors only):
        ``to(device, dtype, non_blocking)``, ``to(dtype, non_blocking)`` or ``to(tensor,
        non_blocking)``, read by ``parse_module_to`` as PyTorch reads them; ``memory_format``
        re-lays out the 4-d and 5-d ones (``cr.channels_last``), as PyTorch does."""
        device, dtype, fmt = parse_module_to(args, kwargs)
        device = Device(device) if device is not None else None
        dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        if dtype is not None and dtype.kind not in "fcV":  # V: bfloat16
            raise TypeError(
                f"Module.to: only accepts floating point or complex dtypes, but "
                f"got desired dtype={dtype}"
            )
        if dtype is not None and dtype.kind == "c":
            warn_at_caller(_COMPLEX_MODULES)

        def convert(t: Tensor):
            if isinstance(t, SparseTensor):  # e.g. Whisper's alignment_heads buffer
                cast = dtype if dtype is not None and t._data.dtype.kind in "fV" else None
                return t.to(device=device if device is not None else t.device, dtype=cast)
            arr = t._data
            if device is not None:
                arr = to_device(arr, device)
            if dtype is not None and arr.dtype.kind in "fV":  # V: bfloat16
                arr = arr.astype(dtype, copy=False)
            if fmt is not None and arr.ndim in (4, 5):
                arr = relayout_array(arr, fmt, "Module.to")
            return Tensor._make(arr, False, None, 0)

        return self._apply(convert)

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def half(self) -> "Module":
        return self.to(np.float16)

    def bfloat16(self) -> "Module":
        return self.to(dtypes.bfloat16_dtype())

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> "Module":
        return self.to(f"cuda:{device or 0}")

    def share_memory(self) -> "Module":
        """Move parameters, buffers and existing gradients to shared memory, so processes
        started with ``cr.multiprocessing`` train the same weights (Hogwild); see
        :mod:`chainrule.multiprocessing`."""
        return module_share_memory(self)


def _sparse_of(value: Any) -> Tensor:
    """What a conversion function returned for a sparse buffer (a Tensor, kept whole)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"Module._apply: fn must return a Tensor, got {type(value).__name__}")
    return value


def _array_of(value: Any, op: str) -> Any:
    """The array of what a conversion function returned (a Tensor)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"Module.{op}: fn must return a Tensor, got {type(value).__name__}")
    return value._data


def _replace_param(module: Any, key: str, param: Parameter, fn: Callable, swap: bool) -> None:
    """``_apply`` on one parameter under a ``cr.__future__`` switch: swap the converted
    value into the same object (``swap``), or put a new ``Parameter`` in its place
    (overwrite); its ``.grad`` goes the same way, as PyTorch's ``Module._apply``."""
    applied = fn(param)
    grad = param.grad
    if swap:
        try:
            if grad is not None:
                param.grad = None
            applied = Parameter(applied, requires_grad=param.requires_grad)
            swap_tensors(param, applied)
        except Exception as e:
            if grad is not None:
                param.grad = grad
            raise RuntimeError(f"_apply(): Couldn't swap {module._get_name()}.{key}") from e
        out = param
    else:
        out = module._parameters[key] = Parameter(applied, param.requires_grad)
    if grad is None:
        return
    grad_applied = fn(grad)
    if swap:
        grad_applied.requires_grad_(grad.requires_grad)
        try:
            swap_tensors(grad, grad_applied)
        except Exception as e:
            raise RuntimeError(f"_apply(): Couldn't swap {module._get_name()}.{key}.grad") from e
        out.grad = grad
    else:
        out.grad = grad_applied.requires_grad_(grad.requires_grad)
