"""Lazy layers: LazyLinear, LazyConv1d, LazyConv2d infer their input size at the first call.

Why: a model can be written without working out ``in_features`` by hand (e.g. the width after
a conv stack). As in PyTorch, the weights start as :class:`UninitializedParameter` placeholders;
the first forward reads the size from the input, *materialises* them in place (the same
objects become ordinary Parameters with the right shape), runs ``reset_parameters()`` and turns
the module into its ordinary class (``LazyLinear`` -> ``Linear``).

Because materialising happens in place, an optimizer built before the first forward holds the
very parameter objects that get their values, so it works once a forward has run (PyTorch
behaves the same); calling ``step()`` before any forward has nothing to update. Reading the
shape of a parameter that is still uninitialised raises ``RuntimeError``. ``load_state_dict``
on a lazy module (anywhere in a tree) materialises the parameters from the checkpoint's
shapes, in the module's ``_load_from_state_dict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtypes as _dt
from ...autograd.tensor import Tensor
from ...creation import empty
from ..module import Module
from ..parameter import Parameter
from .conv import Conv1d, Conv2d
from .linear import Linear

__all__ = ["LazyConv1d", "LazyConv2d", "LazyLinear", "LazyModuleMixin", "UninitializedParameter"]

_UNINIT = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually "
    "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
    "initialized one. Call `forward` to initialize the parameters before accessing their "
    "attributes."
)


def _used(name: str) -> ValueError:
    """PyTorch's error for a function applied to a placeholder that has no storage yet."""
    return ValueError(
        f"Attempted to use an uninitialized parameter in <method '{name}' of Tensor "
        "objects>. This error happens when you are using a `LazyModule` or explicitly "
        "manipulating `torch.nn.parameter.UninitializedParameter` objects. When using "
        "LazyModules Call `forward` with a dummy batch to initialize the parameters before "
        "calling torch functions"
    )


class _UninitializedTensor:
    """What PyTorch's ``UninitializedTensorMixin`` does: a placeholder with no shape yet (its
    shape queries raise) whose :meth:`materialize` allocates storage in place and turns it
    into ``_materialized`` (``Parameter`` or ``Tensor``). Shared by
    :class:`UninitializedParameter` and ``lazy_more.UninitializedBuffer``."""

    __slots__ = ()  # the layout of the class it becomes, so materialize can swap the class
    _materialized: type = Tensor

    def __init__(self, requires_grad: bool, device: Any = None, dtype: Any = None) -> None:
        # an empty placeholder array carries the dtype and device (``.to()``/``.double()`` on
        # the module before the first forward update it like any parameter)
        arr = empty(0, dtype=dtype or _dt.get_default_dtype(), device=device)._data
        self._init_leaf(arr, requires_grad)

    @property
    def shape(self) -> tuple:
        raise RuntimeError(_UNINIT)

    # PyTorch answers ``size()`` / ``ndim`` for the empty placeholder and raises ValueError
    # from every other function; chainrule has no per-subclass dispatch, so ``ndim`` and
    # ``size()`` raise too (most ops read them first, so using the placeholder fails loudly)
    @property
    def ndim(self) -> int:
        raise RuntimeError(_UNINIT)

    def size(self, dim: int | None = None) -> Any:
        raise RuntimeError(_UNINIT)

    def numel(self) -> int:
        raise _used("numel")

    nelement = numel

    def dim(self) -> int:
        raise _used("dim")

    def __len__(self) -> int:
        raise _used("__len__")

    def tolist(self) -> Any:
        raise _used("tolist")

    def stride(self, dim: int | None = None) -> Any:
        raise _used("stride")

    def element_size(self) -> int:
        raise _used("element_size")

    def materialize(self, shape: tuple, device: Any = None, dtype: Any = None) -> None:
        """Allocate storage of ``shape`` and become an ordinary ``_materialized`` tensor."""
        dev = device if device is not None else self.device
        dt = dtype if dtype is not None else self._data.dtype
        self._data = empty(tuple(int(s) for s in shape), dtype=dt, device=dev)._data
        # (no version bump: PyTorch's materialize assigns ``.data``, which bumps nothing)
        self.__class__ = self._materialized

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(_UninitializedTensor, Parameter):
    """A parameter with no shape yet; :meth:`materialize` makes it a real Parameter in place."""

    _materialized = cls_to_become = Parameter  # PyTorch's name for what it becomes

    def __new__(
        cls, requires_grad: bool = True, device: Any = None, dtype: Any = None
    ) -> UninitializedParameter:
        return object.__new__(cls)  # built by __init__, not by Parameter.__new__

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None):
        super().__init__(requires_grad, device, dtype)


def _is_uninit(p: Any) -> bool:
    return isinstance(p, UninitializedParameter)


class LazyModuleMixin:
    """Shared machinery: ``has_uninitialized_params`` and first-call initialisation.

    A subclass sets ``cls_to_become`` and implements ``initialize_parameters(*inputs)``.
    """

    cls_to_become: type | None = None

    def has_uninitialized_params(self) -> bool:
        """True while any parameter or buffer of this module is still a placeholder."""
        stores = list(self._parameters.values()) + list(self._buffers.values())
        return any(_is_uninit(p) for p in stores)

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement initialize_parameters()")

    def _infer(self, *args: Any) -> None:
        if self.has_uninitialized_params():
            self.initialize_parameters(*args)
            if self.has_uninitialized_params():
                raise RuntimeError(
                    f"{type(self).__name__}: not all parameters were "
                    "initialized by initialize_parameters()"
                )
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Materialise the placeholders with the checkpoint's shapes (what PyTorch's lazy load
        pre-hook does), then load as usual; works for a lazy module anywhere in a tree."""
        for name, p in list(self._parameters.items()):
            src = state_dict.get(prefix + name)
            if _is_uninit(p) and not _is_uninit(src) and hasattr(src, "shape"):  # Tensor, array
                p.materialize(tuple(src.shape))
        self._after_load()
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def _after_load(self) -> None:
        """Update the size attributes from materialised weights (subclasses)."""


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is read from the first input's last dim.

    Args:
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
    """

    cls_to_become = Linear

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            Linear.reset_parameters(self)

    def initialize_parameters(self, input: Tensor) -> None:
        if not isinstance(input, Tensor) or input.ndim < 1:
            raise RuntimeError(
                f"LazyLinear: cannot infer in_features from input of shape "
                f"{getattr(input, 'shape', type(input).__name__)}; expected "
                "(*, in_features)"
            )
        self.in_features = int(input.shape[-1])
        out = self.out_features
        if isinstance(out, bool) or not isinstance(out, (int, np.integer)):
            raise TypeError(  # PyTorch's empty((out_features, in_features)) parser
                "empty(): argument 'size' (position 1) must be tuple of ints, but found "
                f"element of type {type(out).__name__} at pos 0"
            )
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()

    def _after_load(self) -> None:
        if not _is_uninit(self.weight):
            self.in_features = int(self.weight.shape[1])

    def forward(self, input: Tensor) -> Tensor:
        self._infer(input)
        return self.forward(input)


class _LazyConvNd(LazyModuleMixin):
    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        # build the eager layer with 0 input channels, then swap in placeholders (PyTorch's way)
        self.cls_to_become.__init__(
            self,
            0,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            dtype=dtype,
        )
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        self.in_channels = 0

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            self.cls_to_become.reset_parameters(self)

    def initialize_parameters(self, input: Tensor) -> None:
        name = type(self).__name__
        nd = len(self.kernel_size)
        if not isinstance(input, Tensor) or input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(
                f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input "
                f"to {name}, but got input of size: "
                f"{list(getattr(input, 'shape', ()))}"
            )
        c = int(input.shape[1] if input.ndim == nd + 2 else input.shape[0])
        if c % self.groups:
            raise ValueError(
                f"{name}: in_channels ({c}) must be divisible by groups ({self.groups})"
            )
        self.in_channels = c
        self.weight.materialize((self.out_channels, c // self.groups) + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _after_load(self) -> None:
        if not _is_uninit(self.weight):
            self.in_channels = int(self.weight.shape[1]) * self.groups

    def forward(self, input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        # the transposed forms take PyTorch's output_size: passed on to the real forward
        self._infer(input)
        return self.forward(input, *args, **kwargs)


class LazyConv1d(_LazyConvNd, Conv1d):
    """``Conv1d`` whose ``in_channels`` is read from the first input (dim 1, or 0 unbatched)."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """``Conv2d`` whose ``in_channels`` is read from the first input (dim 1, or 0 unbatched)."""

    cls_to_become = Conv2d
