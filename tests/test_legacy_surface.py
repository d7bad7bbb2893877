"""PyTorch idioms old tutorials rely on: legacy tensor types and constructors, Tensor.type(),
format specs on 0-d tensors - compared with what PyTorch does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize(
    "name",
    [
        "FloatTensor",
        "DoubleTensor",
        "HalfTensor",
        "LongTensor",
        "IntTensor",
        "ShortTensor",
        "CharTensor",
        "ByteTensor",
        "BoolTensor",
    ],
)
def test_legacy_types_construct_and_name_like_torch(name):
    ours, theirs = getattr(cr, name), getattr(torch, name)
    a, b = ours(2, 3), theirs(2, 3)
    assert a.shape == tuple(b.shape) and a.type() == b.type() == f"torch.{name}"
    data = [1, 0, 1]
    assert ours(data).tolist() == theirs(data).tolist()
    assert str(ours(data).dtype) == str(theirs(data).dtype)
    assert isinstance(ours(data), ours) and isinstance(theirs(data), theirs)
    other = cr.FloatTensor if name != "FloatTensor" else cr.LongTensor
    assert not isinstance(ours(data), other)


def test_type_converts_with_a_type_or_its_name():
    x = cr.tensor([1.7, -2.2])
    t = torch.tensor([1.7, -2.2])
    for arg in (cr.LongTensor, "torch.LongTensor"):
        targ = torch.LongTensor if arg is cr.LongTensor else arg
        assert x.type(arg).tolist() == t.type(targ).tolist()
        assert x.type(arg).type() == "torch.LongTensor"
    assert x.type(cr.float64).dtype == cr.float64
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NopeTensor")


def test_tensor_constructor_sizes_and_data():
    assert cr.Tensor(2, 3).shape == tuple(torch.Tensor(2, 3).shape)
    assert cr.Tensor(2, 3).dtype == cr.float32
    assert cr.Tensor().shape == tuple(torch.Tensor().shape)
    assert cr.Tensor([1.0, 2.0]).tolist() == torch.Tensor([1.0, 2.0]).tolist()
    with pytest.raises(RuntimeError, match="negative"):
        cr.Tensor(2, -1)
    with pytest.raises(TypeError, match="keyword"):
        cr.Tensor([1.0], cr.float64)


@pytest.mark.parametrize("spec", [".4f", "8.2e", "", ">10", "+.1%"])
def test_format_of_0d_tensors_like_torch(spec):
    assert format(cr.tensor(0.123456), spec) == format(torch.tensor(0.123456), spec)


@pytest.mark.parametrize("spec", ["", ">10", "+d", "04d"])
def test_format_of_0d_integer_tensors_like_torch(spec):
    assert format(cr.tensor(7), spec) == format(torch.tensor(7), spec)


def test_format_spec_on_a_vector_raises_like_torch():
    with pytest.raises(TypeError):
        format(torch.ones(2), ".2f")
    with pytest.raises(TypeError, match="unsupported format string"):
        format(cr.ones(2), ".2f")
    assert f"{cr.ones(2)}" == str(cr.ones(2))


def test_variable_is_a_detached_leaf_sharing_memory_like_torch():
    x = cr.ones(2)
    v = cr.autograd.Variable(x, requires_grad=True)
    t = torch.ones(2)
    tv = torch.autograd.Variable(t, requires_grad=True)
    assert (v is x) == (tv is t) is False
    assert v.requires_grad and not x.requires_grad and v.is_leaf
    v.detach().numpy()[0] = 5.0
    assert x.numpy()[0] == 5.0  # shares memory
    y = cr.ones(2, requires_grad=True) * 2
    assert cr.autograd.Variable(y).grad_fn is None
    with pytest.warns(UserWarning, match="volatile"):
        cr.autograd.Variable(x, volatile=True)
    with pytest.raises(TypeError, match="has to be a tensor"):
        cr.autograd.Variable([1.0])


@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        [True, False],
        np.array([1, 2]),
        np.array([1.5, 2.5], dtype=np.float64),
        [[1, 2], [3, 4]],
    ],
)
def test_legacy_constructor_makes_the_default_dtype_like_torch(data):
    c, t = cr.Tensor(data), torch.Tensor(data)
    assert str(c.dtype) == str(t.dtype) == "torch.float32"
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_legacy_constructor_sizes_and_alias_like_torch():
    assert cr.Tensor(3).shape == tuple(torch.Tensor(3).shape) == (3,)
    a = cr.tensor([1, 2])
    b = cr.Tensor(a)  # torch.Tensor(t) aliases t: same storage, same dtype
    assert b.dtype == cr.int64 and b.data_ptr() == a.data_ptr() and b._base is a
    ta = torch.tensor([1, 2])
    assert torch.Tensor(ta).data_ptr() == ta.data_ptr()
    assert cr.tensor([1, 2]).dtype == cr.int64  # cr.tensor still infers


def test_matrix_transpose_of_a_vector_raises_like_torch():
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        _ = torch.ones(3).mT
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        _ = cr.ones(3).mT
    assert cr.ones(4, 2, 3).mT.shape == tuple(torch.ones(4, 2, 3).mT.shape)
