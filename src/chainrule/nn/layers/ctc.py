"""``nn.CTCLoss``: the connectionist temporal classification loss as a module."""

from __future__ import annotations

from collections.abc import Sequence

from ...autograd.tensor import Tensor
from ..functional.ctc import ctc_loss
from .loss import _Loss

__all__ = ["CTCLoss"]


class CTCLoss(_Loss):
    """CTC loss between per-frame log-probabilities and unaligned label sequences
    (:func:`chainrule.nn.functional.ctc_loss`, PyTorch's ``nn.CTCLoss``).

    Shape: log_probs (T, N, C) or (T, C), normally ``log_softmax`` outputs; targets padded
    (N, S) or concatenated (sum(target_lengths),); input_lengths and target_lengths (N,)
    integer Tensors or lists/tuples of ints. Output: scalar, or (N,) / () with
    ``reduction='none'``. No parameters or buffers.
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(
        self,
        log_probs: Tensor,
        targets: Tensor,
        input_lengths: Tensor | Sequence[int],
        target_lengths: Tensor | Sequence[int],
    ) -> Tensor:
        return ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )
