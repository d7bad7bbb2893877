"""F.ctc_loss's ``blank`` must be an int (or a 0-d integer tensor), as PyTorch's parser
requires: ``blank=2.5`` was truncated and ``blank=True`` read as 1 before."""

import numpy as np
import pytest
import torch

import chainrule as cr


def _args(lib):
    lp = lib.tensor(np.log(np.full((5, 2, 4), 0.25)))
    return lp, lib.tensor([[1, 2], [1, 1]]), lib.tensor([5, 5]), lib.tensor([2, 2])


@pytest.mark.parametrize("blank", [2.5, True, "0", None])
def test_non_int_blank_is_a_typeerror(blank):
    for lib in (torch, cr):
        with pytest.raises(TypeError):
            lib.nn.functional.ctc_loss(*_args(lib), blank=blank)


@pytest.mark.parametrize("make", [lambda L: 0, lambda L: np.int64(0), lambda L: L.tensor(0)])
def test_int_like_blank_is_accepted(make):
    values = [
        float(lib.nn.functional.ctc_loss(*_args(lib), blank=make(lib))) for lib in (torch, cr)
    ]
    assert values[0] == pytest.approx(values[1], rel=1e-12)
