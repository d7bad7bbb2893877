"""``SparseAdam``: present so that ``torch.optim.SparseAdam`` code fails with a clear message.

PyTorch's SparseAdam updates only the rows a sparse gradient touches (e.g. of an
``nn.Embedding(sparse=True)``). chainrule has no sparse tensors, so every gradient is
dense and ``Adam`` (or ``AdamW``) does the same job.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SparseAdam"]


class SparseAdam:
    """Raises ``NotImplementedError``: chainrule has no sparse gradients; use ``Adam``."""

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        raise NotImplementedError(
            "optim.SparseAdam: chainrule has no sparse tensors, so there are no sparse "
            "gradients to update; use cr.optim.Adam (the same update on dense gradients)"
        )
