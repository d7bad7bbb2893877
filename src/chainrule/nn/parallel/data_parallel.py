"""``DataParallel`` on one device: PyTorch's single-process wrapper, which on CPU just calls
the module (there is no second device to replicate onto)."""

from __future__ import annotations

from typing import Any

from ..module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Wraps ``module`` like ``torch.nn.DataParallel``; with one (CPU) device the forward is
    the module's own. Its state dict carries the ``module.`` prefix, as in PyTorch.

    Args:
        module: the module to wrap.
        device_ids: None or a single device; several devices raise NotImplementedError (use
            ``DistributedDataParallel`` with one process per device).
        output_device: None or the same single device.
        dim: the batch dimension (only 0 is meaningful with one device).
    """

    def __init__(
        self,
        module: Module,
        device_ids: list | None = None,
        output_device: Any = None,
        dim: int = 0,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DataParallel: module must be a cr.nn.Module, got {type(module).__name__}"
            )
        if device_ids is not None and len(device_ids) > 1:
            raise NotImplementedError(
                f"DataParallel: device_ids={device_ids}: replicating over several devices in "
                "one process is not implemented; use DistributedDataParallel with one process "
                "per device"
            )
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
