"""``Tensor.data``: PyTorch's detached, storage-sharing view (not the NumPy array).

Each case runs the same idiom on chainrule and on PyTorch and compares what a program sees.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _both(values):
    return (
        cr.tensor(np.array(values, dtype=np.float64), requires_grad=True),
        torch.tensor(np.array(values, dtype=np.float64), requires_grad=True),
    )


def test_data_is_a_detached_tensor_sharing_storage():
    for x in _both([1.0, 2.0, 3.0]):
        d = x.data
        assert type(d).__name__ == "Tensor" and not d.requires_grad and d.grad_fn is None
        assert d.is_leaf
        d[0] = 10.0  # a write through .data reaches the original
        assert x[0].item() == 10.0
    x = cr.ones(3)
    assert np.shares_memory(x.data._data, x._data)  # the same buffer, no copy


def test_inplace_write_through_data_does_not_bump_the_version():
    # PyTorch: .data has its own version counter, so writing through it after a forward that
    # saved x does not make backward raise (the gradient then uses the new values).
    grads = []
    for x in _both([1.0, 2.0, 3.0]):
        y = (x * x).sum()
        x.data.mul_(2.0)
        y.backward()
        grads.append(
            np.asarray(x.grad.detach().numpy() if isinstance(x, torch.Tensor) else x.grad.numpy())
        )
        assert x._version == 0 if isinstance(x, cr.Tensor) else True
    np.testing.assert_allclose(grads[0], grads[1])


def test_sgd_update_idioms_through_data():
    results = []
    for x in (_both([1.0, -2.0])[0], _both([1.0, -2.0])[1]):
        (x * x).sum().backward()
        x.data.add_(x.grad.data, alpha=-0.1)
        x.data -= 0.1 * x.grad.data
        x.grad.data.zero_()
        results.append((np.array(x.detach().numpy()), np.array(x.grad.numpy())))
        assert x.requires_grad and x.is_leaf
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])


def test_init_idioms_through_data():
    cr.manual_seed(0)
    lin = cr.nn.Linear(50, 40)
    lin.weight.data.normal_(0.0, 0.02)
    lin.bias.data.fill_(0)
    assert abs(lin.weight.std().item() - 0.02) < 0.004 and lin.bias.abs().sum().item() == 0.0
    assert isinstance(lin.weight, cr.nn.Parameter) and lin.weight.requires_grad


def test_assigning_data_replaces_the_storage_shape_may_change():
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.zeros(2, 3, dtype=lib.float64))
        p.data = lib.ones(4, dtype=lib.float32)
        assert tuple(p.shape) == (4,) and p.dtype == lib.float32 and p.requires_grad
        (p * 2).sum().backward()
        np.testing.assert_allclose(np.asarray(p.grad.numpy()), 2.0)


def test_assigning_a_non_tensor_to_data_raises():
    x = cr.zeros(2)
    with pytest.raises(TypeError, match="Tensor.data"):
        x.data = np.ones(2)
    with pytest.raises(TypeError):
        torch.zeros(2).data = np.ones(2)


def test_float_of_a_tensor_that_requires_grad_warns_once_as_torch(monkeypatch):
    """PyTorch 2.13 warns (once per process) on ``float(t)``/``complex(t)`` when ``t``
    requires grad; ``item()``, ``int()`` and ``bool()`` do not warn."""
    from chainrule.autograd import tensor_conversions

    monkeypatch.setattr(tensor_conversions, "_WARNED", [])
    x = cr.tensor(1.5, requires_grad=True)
    assert (x.item(), int(x), bool(x), float(x.detach())) == (1.5, 1, True, 1.5)
    with pytest.warns(UserWarning, match="requires_grad=True to a scalar"):
        assert float(x) == 1.5
    assert float(x) == 1.5  # once: no second warning (pytest turns one into an error)
    assert complex(cr.tensor(1 + 2j)) == 1 + 2j
