"""``tensor()`` of a list holding a NumPy bool, as PyTorch: refused for an integer result.

PyTorch reads each element of an integer tensor with ``__index__``, which ``numpy.bool``
lacks: ``torch.tensor([np.True_, 2])`` (inferred int64) and ``torch.tensor([np.True_],
dtype=torch.int32)`` raise TypeError, while a float, complex or bool result takes the value.
chainrule let NumPy convert it (``tensor([1, 2])``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

_CASES = [
    ([np.True_, 2], None),
    ([2, np.True_], None),
    ([[np.True_, 1], [2, 3]], None),
    ([np.True_, np.int64(2)], None),
    ([np.True_, 1], "int32"),
    ([np.True_, 1], "uint8"),
    ([np.True_], "int64"),
    ([np.False_, 1], "float32"),
    ([np.True_, 1], "bool"),
    ([np.True_, 2.5], None),
    ([np.True_, 2j], None),
    ([np.True_, True], None),
    ([[np.True_], [False]], None),
    ([True, 2], None),
]


def _make(m, data, dtype):
    kwargs = {} if dtype is None else {"dtype": getattr(m, dtype)}
    try:
        t = m.tensor(data, **kwargs)
    except TypeError as err:
        return "TypeError", str(err)
    return str(t.dtype), t.tolist()


@pytest.mark.parametrize("data, dtype", _CASES)
def test_numpy_bool_in_a_list_as_torch(data, dtype):
    assert _make(cr, data, dtype) == _make(torch, data, dtype)


def test_numpy_bool_scalar_and_array_unchanged():
    assert cr.tensor(np.True_).dtype == cr.bool
    assert cr.tensor(np.array([True, False])).tolist() == [True, False]
    assert cr.tensor([np.int64(3), 4]).tolist() == [3, 4]
