"""Session 46 of the nn-module fuzzer (seeds 63-): the differences found (``kinds_s46.py``:
recurrent modules on packed sequences, attention with kdim / vdim and masks)."""

from __future__ import annotations

import pytest

from .case import Case
from .programs import check

__all__: list[str] = []


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [None, 1])
def test_packed_input_refuses_a_bidirectional_that_is_not_a_bool(name, bidirectional):
    # seed 64: torch's kernel parser refuses bidirectional=None on a packed sequence as on a
    # padded batch (TypeError, at the call); chainrule checked it on the padded path only
    case = Case(
        name,
        (2, 3),
        (("bidirectional", bidirectional),),
        (("packed", (2, 1, 2), (1, 1), True, False),),
        False,
    )
    assert check(case) == []


@pytest.mark.parametrize("enforce", [True, False])
def test_packed_lstm_with_projections_both_directions(enforce):
    lengths = (3, 2) if enforce else (2, 3)
    kw = (("num_layers", 2), ("bidirectional", True), ("proj_size", 1), ("batch_first", True))
    shape = (2, 3, 2)
    hx = ("tuple", (("f", (4, 2, 1)), ("f", (4, 2, 2))))
    case = Case("LSTM", (2, 2), kw, (("packed", shape, lengths, True, enforce), hx), True)
    assert check(case) == []
