"""``SequenceWrapper``: a sequence or mapping as a ``MapDataPipe``."""

from __future__ import annotations

import copy
import warnings
from typing import Any

from ..datapipe import MapDataPipe

__all__ = ["SequenceWrapperMapDataPipe"]


class SequenceWrapperMapDataPipe(MapDataPipe):
    """``SequenceWrapper(sequence, deepcopy=True)``: ``dp[i]`` is ``sequence[i]``.

    With ``deepcopy`` the sequence is deep-copied here, so later edits of the source are
    not seen; one that cannot be copied is kept as it is, with a ``UserWarning``.
    """

    def __init__(self, sequence: Any, deepcopy: bool = True) -> None:
        if deepcopy:
            try:
                sequence = copy.deepcopy(sequence)
            except TypeError:
                warnings.warn(
                    "The input sequence can not be deepcopied, please be aware of in-place "
                    "modification would affect source data",
                    UserWarning,
                    stacklevel=2,
                )
        self.sequence = sequence

    def __getitem__(self, index: Any) -> Any:
        return self.sequence[index]

    def __len__(self) -> int:
        return len(self.sequence)
