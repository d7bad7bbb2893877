"""NumPy functions called on tensors give back what PyTorch's Tensor gives back.

PyTorch's ``Tensor.__array_wrap__`` makes ``np.sin(t)``, ``np.transpose(t)``, ``np.argsort(t)``
... return tensors (bool results as uint8 tensors); chainrule returned NumPy arrays, so torch
code that went on with ``.numpy()``, ``.detach()`` or tensor methods broke. Each expression runs
under torch 2.13 and chainrule on the same data: same result type (tensor or NumPy), dtype
and values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

EXPRESSIONS = [
    "np.sin(t)",
    "np.sqrt(t)",
    "np.add(t, 1)",
    "np.maximum(t, 0.5)",
    "np.multiply(a, t)",
    "np.isnan(t)",
    "np.exp(t) > 1",
    "np.sin(s)",
    "np.linspace(t[0], t[1], 3)",
    "np.transpose(m)",
    "np.reshape(m, (4,))",
    "np.argsort(t)",
    "np.take(t, [0, 1])",
    "np.repeat(t, 2)",
    "np.ptp(t)",
    "np.searchsorted(t, 0.5)",
    "np.clip(t, 0, 1)",
    "np.matmul(m, m)",
    "np.cumsum(t)",
    "np.round(t)",
    "np.where(t > 0.5, t, 0)",
    "np.concatenate([t, t])",
    "np.dot(t, t)",
    "np.sort(t)",
    "np.asarray(t)",
]


def _evaluate(T, expr):
    t = T.tensor([0.25, 0.75])
    m = T.tensor([[1.0, 2.0], [3.0, 4.0]])
    s = T.tensor(0.5)
    a = np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array_wrap__ signature
        return eval(expr, {"np": np, "t": t, "m": m, "s": s, "a": a})


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_numpy_function_result_as_torch(expr):
    expected = _evaluate(torch, expr)
    got = _evaluate(cr, expr)
    assert isinstance(got, cr.Tensor) == isinstance(expected, torch.Tensor), (
        f"{expr}: torch gives {type(expected).__name__}, chainrule {type(got).__name__}"
    )
    if isinstance(expected, torch.Tensor):
        assert str(got.dtype) == str(expected.dtype)
        assert tuple(got.shape) == tuple(expected.shape)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)
    else:
        assert type(got) is type(expected)
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6)


def test_wrapped_result_is_a_plain_tensor_and_refuses_requires_grad_input():
    t = cr.tensor([1.0, 4.0])
    r = np.sqrt(t)
    assert not r.requires_grad and r.grad_fn is None
    r += 1  # a normal, writable tensor
    np.testing.assert_allclose(r.numpy(), [2.0, 3.0])
    with pytest.raises(RuntimeError, match="requires grad"):
        np.sin(cr.tensor([1.0], requires_grad=True))  # as torch: .numpy() of such a tensor
