"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm, InstanceNorm2d."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ...autograd.tensor import Tensor
from ...creation import empty, ones, tensor, zeros
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "LayerNorm", "RMSNorm"]
# _NormBase and _BatchNorm are imported by instancenorm.py, sync_batchnorm.py, nn.modules


class _NormBase(Module):
    """What batch and instance norm share (PyTorch's ``_NormBase``): the optional affine
    ``weight``/``bias`` and the optional running statistics, with their reset methods. The
    defaults are batch norm's; instance norm passes its own (no affine, no statistics)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        bias: bool = True,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.use_bias = bias
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(empty(num_features, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, no batch tracked: in-place writes, each bumping its
        buffer's version, as PyTorch's ``zero_``/``fill_``."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    # version 2 added num_batches_tracked (PyTorch's numbering, recorded in state_dict's
    # _metadata)
    _version = 2

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
        """A checkpoint older than version 2 (or with no metadata) has no
        ``num_batches_tracked``: the module keeps its current count, as in PyTorch."""
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class _BatchNorm(_NormBase):
    _dims: tuple = ()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self._dims:
            raise ValueError(
                f"{type(self).__name__}: expected {' or '.join(map(str, self._dims))}"
                f"-d input, got shape {tuple(input.shape)}"
            )

    def _check_channels(self, input: Tensor) -> None:
        if input.shape[1] != self.num_features:
            # PyTorch's kernel checks the channels against the running statistics, else the
            # affine weight (RuntimeError); with neither it normalises any channel count. It
            # counts the tensor's elements: ``num_features`` may be a shape such as ``[16]``
            # (``torch.empty`` takes one), which SincNet's ``BatchNorm1d([input_dim])`` passes
            what = "running_mean" if self.running_mean is not None else "weight"
            stat = getattr(self, what)
            if stat is not None and stat.numel() != input.shape[1]:
                raise RuntimeError(
                    f"{what} should contain {input.shape[1]} elements not {stat.numel()} "
                    f"({type(self).__name__} got input of shape {tuple(input.shape)})"
                )

    def forward(self, input: Tensor) -> Tensor:
        # no unbatched form: PyTorch's BatchNorm2d/3d refuse a (C, H, W) / (C, D, H, W) input
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)  # a Tensor op: the buffer may be vmap-batched
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        # the channels after the count, as PyTorch's (its kernel checks them: a call that
        # fails there has counted the batch)
        self._check_channels(input)
        use_batch = self.training or not self.track_running_stats
        out = F.batch_norm(
            input,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over N (and L) per channel.

    y = (x - E[x]) / √(Var[x] + ε) · γ + β. Training uses batch statistics and updates the
    running mean/var (unbiased) with ``momentum`` (None: cumulative average); eval uses the
    running statistics. Shape: (N, C) or (N, C, L), unchanged.
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs per channel (see BatchNorm1d)."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs per channel (see BatchNorm1d)."""

    _dims = (5,)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims of each sample, then γ x̂ + β.

    Shape: (*, *normalized_shape), unchanged.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):  # NumPy ints too, as PyTorch
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            # the shape as one argument, as PyTorch: its parser's errors name the element
            self.weight = Parameter(empty(self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(empty(self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """y = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape`` dims (no centring,
    no bias). ``eps=None`` uses the input dtype's machine epsilon; γ starts at ones.

    Shape: (*, *normalized_shape), unchanged.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(tuple(self.normalized_shape), dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalise each sample over groups of C / num_groups channels, then per-channel γ, β.

    Shape: (N, C, *), unchanged.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(
                f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups,
            num_channels,
            eps,
            affine,
        )
        if affine:
            self.weight = Parameter(empty(num_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(empty(num_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        # F.group_norm checks the input against num_groups and the affine parameters (as
        # PyTorch, a module without them takes any channel count its groups divide)
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
