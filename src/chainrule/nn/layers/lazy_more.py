"""More lazy layers: ``LazyConv3d``, ``LazyConvTranspose1d/2d/3d``, ``LazyBatchNorm1d/2d/3d``
and ``LazyInstanceNorm1d/2d/3d`` read their input channels at the first call.

They follow :mod:`chainrule.nn.layers.lazy` (and PyTorch): the size-dependent parameters
start as :class:`UninitializedParameter` placeholders, the running statistics of the norms
as :class:`UninitializedBuffer` placeholders; the first forward materialises them in place
with the inferred size, runs ``reset_parameters()`` and turns the module into its eager
class (``LazyBatchNorm2d`` -> ``BatchNorm2d``), so parameter and buffer names, shapes and
``state_dict`` keys are then those of the eager layer, as in PyTorch.

One deliberate difference: PyTorch's lazy norms read ``num_features`` from
``input.shape[1]`` even for an unbatched (C, L) input to ``LazyInstanceNorm1d`` (and so fail
with a size mismatch); chainrule reads the channel dim (dim 0 when unbatched).
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ...autograd.torch_function import disabled_torch_function_impl
from ...creation import tensor
from .conv import ConvTranspose1d, ConvTranspose2d, _ConvNd
from .conv3d import Conv3d, ConvTranspose3d
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .lazy import LazyModuleMixin, UninitializedParameter, _LazyConvNd, _UninitializedTensor
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _NormBase

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "UninitializedBuffer",
]


class UninitializedBuffer(_UninitializedTensor, Tensor):
    """A buffer with no shape yet; :meth:`materialize` makes it an ordinary Tensor in place.
    (Whether it is saved is ``register_buffer``'s ``persistent``, so unlike PyTorch's
    constructor this one takes no ``persistent``.)"""

    __slots__ = ()  # the same layout as Tensor, so materialize can swap the class
    __torch_function__ = disabled_torch_function_impl
    _materialized = cls_to_become = Tensor  # PyTorch's name for what it becomes

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__(requires_grad, device, dtype)


def _placeholder(v: Any) -> bool:
    return isinstance(v, (UninitializedParameter, UninitializedBuffer))


# ----------------------------------------------------------------------------- convolutions
class LazyConv3d(_LazyConvNd, Conv3d):
    """``Conv3d`` whose ``in_channels`` is read from the first input (dim 1, or 0 unbatched)."""

    cls_to_become = Conv3d


class _LazyConvTransposeNd(_LazyConvNd):
    """Transposed lazy convolutions: PyTorch's argument order (``output_padding`` before
    ``groups``, ``dilation`` after ``bias``) and the (in, out / groups, *k) weight."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _ConvNd.__init__(
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
            output_padding,
            None,
            dtype,
        )
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        self.in_channels = 0

    def initialize_parameters(self, input: Tensor) -> None:
        name = type(self).__name__
        nd = len(self.kernel_size)
        if not isinstance(input, Tensor) or input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(
                f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, "
                f"but got input of size: {list(getattr(input, 'shape', ()))}"
            )
        c = int(input.shape[1] if input.ndim == nd + 2 else input.shape[0])
        if c % self.groups:
            raise ValueError(
                f"{name}: in_channels ({c}) must be divisible by groups ({self.groups})"
            )
        self.in_channels = c
        self.weight.materialize((c, self.out_channels // self.groups) + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _after_load(self) -> None:
        if not isinstance(self.weight, UninitializedParameter):
            self.in_channels = int(self.weight.shape[0])


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose3d


# ----------------------------------------------------------------------------- norms
class _LazyNormBase(LazyModuleMixin, _NormBase):
    """Lazy batch / instance norm: ``num_features`` is the input's channel count."""

    _channel_ranks: tuple = ()  # input ranks whose channels are dim 1 (else dim 0)

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        # built without affine or statistics (nothing to allocate), then placeholders go in
        _NormBase.__init__(self, 0, eps, momentum, False, False, device, dtype, False)
        self.affine, self.track_running_stats, self.use_bias = affine, track_running_stats, bias
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.register_buffer("running_mean", UninitializedBuffer(device=device, dtype=dtype))
            self.register_buffer("running_var", UninitializedBuffer(device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))

    def has_uninitialized_params(self) -> bool:
        """True while any parameter or buffer of this module is still a placeholder."""
        stores = list(self._parameters.values()) + list(self._buffers.values())
        return any(_placeholder(v) for v in stores)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            _NormBase.reset_parameters(self)

    def initialize_parameters(self, input: Tensor) -> None:
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim < 2:
            raise ValueError(
                f"{name}: cannot infer num_features from input of shape "
                f"{list(getattr(input, 'shape', ()))}; expected (N, C, *)"
            )
        if self.has_uninitialized_params():
            self.num_features = int(input.shape[1 if input.ndim in self._channel_ranks else 0])
            self._materialize((self.num_features,))
            self.reset_parameters()

    def _materialize(self, shape: tuple) -> None:
        for store in (self._parameters, self._buffers):
            for v in store.values():
                if _placeholder(v):
                    v.materialize(shape)

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
        """Materialise the placeholders with the checkpoint's size, then load as usual."""
        for key in ("weight", "bias", "running_mean", "running_var"):
            src = state_dict.get(prefix + key)
            if not _placeholder(src) and hasattr(src, "shape"):  # a Tensor or an array
                if self.has_uninitialized_params():
                    self.num_features = int(tuple(src.shape)[0])
                    self._materialize((self.num_features,))
                break
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, input: Tensor) -> Tensor:
        self._infer(input)
        return self.forward(input)


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is read from the first input's dim 1."""

    cls_to_become = BatchNorm1d
    _channel_ranks = (2, 3)


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is read from the first input's dim 1."""

    cls_to_become = BatchNorm2d
    _channel_ranks = (4,)


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` is read from the first input's dim 1."""

    cls_to_become = BatchNorm3d
    _channel_ranks = (5,)


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` is read from the first input (dim 1 of
    (N, C, L), dim 0 of (C, L)). Its defaults are PyTorch's lazy ones: ``affine=True`` and
    ``track_running_stats=True`` (unlike the eager ``InstanceNorm1d``)."""

    cls_to_become = InstanceNorm1d
    _channel_ranks = (3,)


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` is read from the first input (see 1d)."""

    cls_to_become = InstanceNorm2d
    _channel_ranks = (4,)


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` is read from the first input (see 1d)."""

    cls_to_become = InstanceNorm3d
    _channel_ranks = (5,)
