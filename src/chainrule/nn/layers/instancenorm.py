"""Instance normalisation layers: InstanceNorm1d, InstanceNorm2d, InstanceNorm3d.

Each (sample, channel) is standardised over its own spatial positions (Ulyanov et al. 2016,
style transfer). PyTorch's defaults differ from batch norm's and are kept: ``affine=False``
and ``track_running_stats=False``, so by default the layer has no parameters or buffers and
behaves the same in training and evaluation.

Checkpoints saved before PyTorch 0.4.0 (no version in their metadata) hold running statistics
that instance norm then tracked by default; loading one into a layer without
``track_running_stats`` drops those keys and reports them, as PyTorch does.
"""

from __future__ import annotations

import warnings
from typing import Any

from ...autograd.tensor import Tensor
from ..functional.instance_normalization import instance_norm
from .normalization import _NormBase

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class _InstanceNorm(_NormBase):
    _nd = 2  # spatial dims of the batched input

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias
        )

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if input.ndim not in (self._nd + 1, self._nd + 2):
            raise ValueError(
                f"{name}: expected {self._nd + 1}D or {self._nd + 2}D input (got "
                f"{input.ndim}D input)"
            )
        feature_dim = input.ndim - (self._nd + 1)
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"{name}: expected input's size at dim={feature_dim} to match "
                    f"num_features ({self.num_features}), but got: "
                    f"{input.shape[feature_dim]}."
                )
            warnings.warn(  # PyTorch's text, which filters match by its start
                f"input's size at dim={feature_dim} does not match num_features. You can "
                "silence this warning by not passing in num_features, which is not used "
                f"because affine=False ({name})",
                UserWarning,
                stacklevel=2,
            )
        unbatched = input.ndim == self._nd + 1
        x = input.unsqueeze(0) if unbatched else input
        out = instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out

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
        """A checkpoint without a version (saved before PyTorch 0.4.0) may hold
        ``running_mean``/``running_var`` for a layer that does not track them: remove them from
        ``state_dict`` and report an error naming those found (loading then raises, even with
        ``strict=False``, as PyTorch's does); a layer that tracks them loads them as usual."""
        if local_metadata.get("version", None) is None and not self.track_running_stats:
            found = [
                prefix + n for n in ("running_mean", "running_var") if prefix + n in state_dict
            ]
            for key in found:
                state_dict.pop(key)
            if found:
                name = type(self).__name__
                listed = " and ".join(f'"{k}"' for k in found)
                error_msgs.append(
                    f"Unexpected running stats buffer(s) {listed} for {name} with "
                    "track_running_stats=False. If state_dict is a checkpoint saved before 0.4.0, "
                    f"this may be expected because {name} does not track running stats by "
                    "default since 0.4.0. Please remove these keys from state_dict. If the "
                    "running stats are actually needed, instead set track_running_stats=True in "
                    f"{name} to enable them. See the documentation of {name} for details."
                )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={bool(self.use_bias and self.affine)}, "
            f"track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) input, like PyTorch's.

    y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta, statistics over L per (n, c).
    Shape: unchanged.
    """

    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) input (see 1d)."""

    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) input (see 1d)."""

    _nd = 3
