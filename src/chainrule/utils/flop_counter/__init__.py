"""FLOP counting, mirroring ``torch.utils.flop_counter``: :class:`FlopCounterMode` and the
formulas it uses as plain functions of shapes."""

from __future__ import annotations

from .formulas import (
    addmm_flop,
    baddbmm_flop,
    bmm_flop,
    conv_backward_flop,
    conv_flop,
    conv_flop_count,
    get_shape,
    mm_flop,
    normalize_tuple,
    sdpa_backward_flop,
    sdpa_backward_flop_count,
    sdpa_flop,
    sdpa_flop_count,
)
from .mode import (
    FlopCounterMode,
    convert_num_with_suffix,
    convert_to_percent_str,
    get_suffix_str,
    register_flop_formula,
    suffixes,
)

__all__ = [
    "FlopCounterMode",
    "addmm_flop",
    "baddbmm_flop",
    "bmm_flop",
    "conv_backward_flop",
    "conv_flop",
    "conv_flop_count",
    "convert_num_with_suffix",
    "convert_to_percent_str",
    "get_shape",
    "get_suffix_str",
    "mm_flop",
    "normalize_tuple",
    "register_flop_formula",
    "sdpa_backward_flop",
    "sdpa_backward_flop_count",
    "sdpa_flop",
    "sdpa_flop_count",
    "suffixes",
]
