"""``torch.func.replace_all_batch_norm_modules_`` (bound in ``chainrule.func``)."""

from __future__ import annotations

from typing import Any

__all__ = ["replace_all_batch_norm_modules_"]


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """Stop every batch-norm module under ``root`` (BatchNorm1d/2d/3d, their lazy forms,
    SyncBatchNorm) from tracking running statistics, in place, as PyTorch's: its
    ``running_mean``, ``running_var`` and ``num_batches_tracked`` become None and
    ``track_running_stats`` False, so it normalises with batch statistics even in eval mode
    (what ``vmap`` over a model needs). Returns ``root``."""
    from .layers.normalization import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
