"""An LSTM given one tensor as ``hx`` behaves as PyTorch's: its first two rows are the states.

PyTorch indexes ``hx[0]`` and ``hx[1]``: for unbatched input a ``(2, L, H)`` tensor is a valid
``(h_0, c_0)`` pair and runs; for batched input the rows are checked (dimensions, then sizes)
and a tensor whose rows pass is refused by the kernel with a TypeError. chainrule raised its
own TypeError for every tensor ``hx``.
"""

from __future__ import annotations

import pytest
import torch

import chainrule as cr


def _run(m, x_shape, hx, layers):
    m.manual_seed(0)
    lstm = m.nn.LSTM(3, 4, num_layers=layers, dtype=m.float64)
    x = m.randn(*x_shape, dtype=m.float64)
    hx = m.tensor(1.0) if hx is None else m.randn(*hx, dtype=m.float64)
    try:
        out, (h, c) = lstm(x, hx)
    except Exception as err:  # noqa: BLE001 - the error type and text are compared
        return type(err), str(err).split("\n")[0]
    return out.detach().numpy(), h.detach().numpy(), c.detach().numpy()


@pytest.mark.parametrize(
    "x_shape, hx, layers",
    [
        ((5, 2, 3), (2, 2, 4), 2),  # rows are 2-D: the batched dimension message
        ((5, 2, 3), (3, 2, 4), 2),
        ((5, 2, 3), (2, 2, 2, 4), 2),  # rows valid: the kernel's TypeError
        ((5, 2, 3), (2, 2, 3, 4), 2),  # rows of the wrong size
        ((5, 2, 3), (1, 2, 4), 2),  # one row: hx[1] is out of range
        ((5, 2, 3), None, 2),  # a 0-d tensor
        ((5, 3), (2, 1, 4), 1),  # unbatched: the rows are (h_0, c_0) and it runs
        ((5, 3), (3, 1, 4), 1),  # a third row is not looked at
        ((5, 3), (2, 2, 4), 1),
    ],
)
def test_tensor_hx_as_torch(x_shape, hx, layers):
    want = _run(torch, x_shape, hx, layers)
    got = _run(cr, x_shape, hx, layers)
    if isinstance(want[0], type):
        assert got[0].__name__ == want[0].__name__
        assert got[1] == want[1]
    else:
        for a, b in zip(got, want):
            assert a.shape == b.shape
            assert abs(a - b).max() < 1e-12
