"""Forward mode through a fill whose value is a 0-d tensor carrying a tangent.

``masked_fill`` used to turn such a value into a Python number (it only looked at
``requires_grad``), so ``jvp`` returned a zero tangent: a silent wrong answer. Checked
against ``torch.func.jvp``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func

import chainrule as cr

MASK = [True, False, True, False]
INDEX = [0, 2]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x, v: x.masked_fill(lib.tensor(MASK), v),
        lambda lib, x, v: x.index_fill(0, lib.tensor(INDEX), v),
    ],
    ids=["masked_fill", "index_fill"],
)
def test_fill_value_tangent_matches_torch(call):
    results = []
    for lib, jvp in ((cr, cr.func.jvp), (torch, torch.func.jvp)):
        x = lib.arange(4.0, dtype=lib.float64)
        out, tangent = jvp(
            lambda v, lib=lib, x=x: call(lib, x, v),
            (lib.tensor(2.0, dtype=lib.float64),),
            (lib.tensor(1.5, dtype=lib.float64),),
        )
        results.append((out.numpy().copy(), tangent.numpy().copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][1].any()
