"""Tensor API: dtypes and promotion, conversions, interop (NumPy, DLPack), repr, metadata."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

# PyTorch's message for an in-place op on a leaf that requires grad, word for word
LEAF_MESSAGE = r"^a leaf Variable that requires grad is being used in an in-place operation\.$"


def test_default_dtypes():
    assert cr.tensor([1.0, 2.0]).dtype == cr.float32
    assert cr.tensor([1, 2]).dtype == cr.int64
    assert cr.tensor([True, False]).dtype == cr.bool
    assert cr.tensor(3.5).dtype == cr.float32 and cr.tensor(3.5).shape == ()
    assert cr.tensor([[1, 2.5]]).dtype == cr.float32
    assert cr.tensor(np.array([1.0])).dtype == cr.float64  # NumPy data keeps its dtype
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == cr.float64
    assert cr.tensor([1, 2], dtype="float16").dtype == cr.float16
    assert cr.tensor([1, 2], dtype=torch.float32).dtype == cr.float32


def test_set_default_dtype():
    cr.set_default_dtype(cr.float64)
    assert cr.tensor([1.0]).dtype == cr.float64
    assert cr.zeros(2).dtype == cr.float64
    with pytest.raises(TypeError):
        cr.set_default_dtype(cr.int64)


PROMO = [
    ("int_tensor+float_scalar", lambda m: m.tensor([1, 2]) + 1.5),
    ("int_tensor*int_scalar", lambda m: m.tensor([1, 2]) * 3),
    ("bool_tensor+int_scalar", lambda m: m.tensor([True, False]) + 1),
    ("f32+f64", lambda m: m.ones(2) + m.ones(2, dtype=m.float64)),
    ("f32+int_tensor", lambda m: m.ones(2) + m.tensor([1, 2])),
    ("int/int", lambda m: m.tensor([1, 2]) / m.tensor([2, 4])),
    ("int/scalar", lambda m: m.tensor([3]) / 2),
    ("f16*f32", lambda m: m.ones(2, dtype=m.float16) * m.ones(2)),
    ("int32+int64", lambda m: m.ones(2, dtype=m.int32) + m.ones(2, dtype=m.int64)),
    ("f32 + 0-d f64", lambda m: m.ones(2) + m.tensor(1.0, dtype=m.float64)),
    ("int + 0-d float", lambda m: m.tensor([1, 2]) + m.tensor(1.0, dtype=m.float64)),
    ("int.exp", lambda m: m.tensor([1, 2]).exp()),
    ("f64 scalar", lambda m: m.ones(2) * np.float64(2.0)),
    ("int floor div", lambda m: m.tensor([7, -7]) // 2),
    ("int pow", lambda m: m.tensor([2, 3]) ** 2),
    ("int sum", lambda m: m.tensor([2, 3], dtype=m.int32).sum()),
]


@pytest.mark.parametrize("name,fn", PROMO, ids=[p[0] for p in PROMO])
def test_type_promotion_like_pytorch(name, fn):
    out, ref = fn(cr), fn(torch)
    assert str(out.dtype) == str(ref.dtype), name
    np.testing.assert_allclose(
        out.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-6
    )


def test_from_numpy_shares_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = cr.from_numpy(a)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.data[1, 1] = -1.0
    assert a[1, 1] == -1.0
    assert t.numpy() is a or np.shares_memory(t.numpy(), a)
    with pytest.raises(TypeError):
        cr.from_numpy([1, 2])


def test_tensor_copies_data():
    a = np.arange(3.0)
    t = cr.tensor(a)
    a[0] = 9.0
    assert t[0].item() == 0.0


def test_dlpack_both_ways_without_copy():
    t = cr.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    tt = torch.from_dlpack(t)
    assert tt.shape == (2, 3) and tt.dtype == torch.float32
    tt[0, 0] = 100.0
    assert t[0, 0].item() == 100.0
    src = torch.arange(4, dtype=torch.float64)
    c = cr.from_dlpack(src)
    assert c.dtype == cr.float64
    src[1] = -5.0
    assert c[1].item() == -5.0
    assert c.data.numpy().ctypes.data == src.data_ptr()


def test_array_protocol_and_numpy():
    t = cr.tensor([[1.0, 2.0]])
    a = np.asarray(t)
    assert a.shape == (1, 2) and a.dtype == np.float32
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(cr.tensor([1, 2])).tolist() == [1, 2]
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]


def test_numpy_of_a_tensor_requiring_grad_follows_grad_mode_as_torch():
    """Refused while grad mode is on; allowed under no_grad and inference_mode, as in torch."""
    for lib in (torch, cr):
        x = lib.ones(2, requires_grad=True)
        for ctx in (lib.no_grad, lib.inference_mode):
            with ctx():
                assert x.numpy().tolist() == [1.0, 1.0]
        with lib.enable_grad(), pytest.raises(RuntimeError, match="detach"):
            x.numpy()


def test_repr_shows_grad_fn_and_requires_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    y = x * 2
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=torch.float64" in repr(cr.tensor([1.0], dtype=cr.float64))
    assert "grad_fn=<AddBackward0>" in repr(x + 1)
    assert "grad_fn=<SumBackward0>" in repr(y.sum())


def test_size_numel_len_iteration():
    t = cr.zeros(2, 3, 4)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24 and cr.numel(t) == 24
    assert len(t) == 2
    rows = list(t)
    assert len(rows) == 2 and rows[0].shape == (3, 4)
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))
    with pytest.raises(TypeError):
        iter(cr.tensor(1.0)).__next__()


def test_iteration_is_differentiable():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum(r.sum() * (i + 1) for i, r in enumerate(x))
    total.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1, 1], [2, 2]])


def test_to_dtype_and_shortcuts():
    t = cr.tensor([1.5, -2.5])
    assert t.to(cr.float64).dtype == cr.float64
    assert t.to(dtype=cr.int64).dtype == cr.int64
    assert t.to("cpu") is t
    assert t.float().dtype == cr.float32
    assert t.double().dtype == cr.float64
    assert t.half().dtype == cr.float16
    assert t.long().dtype == cr.int64 and t.long().tolist() == [1, -2]
    assert t.int().dtype == cr.int32
    assert t.bool().dtype == cr.bool and t.bool().tolist() == [True, True]
    assert t.to(cr.tensor([1], dtype=cr.int32)).dtype == cr.int32


def test_cast_is_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == cr.float32
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])
    assert not x.long().requires_grad


def test_clone_detach_contiguous():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x.clone()
    assert c.requires_grad and c.grad_fn is not None
    assert not np.shares_memory(c.data, x.data)
    (c * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[2, 2], [2, 2]])
    d = x.detach()
    assert np.shares_memory(d.data, x.data) and not d.requires_grad
    tr = x.T
    assert not tr.data.numpy().flags.c_contiguous
    cc = tr.contiguous()
    assert cc.data.numpy().flags.c_contiguous
    np.testing.assert_allclose(cc.detach().numpy(), [[1, 3], [2, 4]])
    plain = cr.tensor([1.0, 2.0])
    pc = plain.clone()
    pc.data[0] = 5
    assert plain[0].item() == 1.0


def test_item_tolist_scalar_conversions():
    assert cr.tensor([[3.5]]).item() == 3.5
    assert isinstance(cr.tensor([2]).item(), int)
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(7)) == 7
    assert bool(cr.tensor(1.0))
    with pytest.raises(ValueError, match="one-element"):
        cr.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    assert [10, 20, 30][cr.tensor(1)] == 20


def test_setitem_without_grad_and_clear_error_with_grad():
    t = cr.zeros(2, 3)
    t[0, 1] = 5.0
    t[1] = cr.tensor([1.0, 2.0, 3.0])
    t[t > 2] = -1.0
    np.testing.assert_allclose(t.numpy(), [[0, 5 * 0 - 1, 0], [1, 2, -1]])
    x = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="^a view of " + LEAF_MESSAGE[1:]):
        x[0] = (
            1.0  # PyTorch's text (x[0] is a view); a non-leaf is recorded (test_setitem_autograd)
        )
    t[0, 0] = cr.tensor(1.0, requires_grad=True)  # recorded: t now depends on the value
    assert t.requires_grad and t.grad_fn is not None
    with cr.no_grad():
        x[0] = 1.0
    assert x[0].item() == 1.0


class _Tagged(cr.Tensor):
    """A user's tensor subclass (module level: pickle finds classes by name)."""


def test_pickle_round_trips_like_torch():
    """pickle keeps what PyTorch's keeps: values, dtype, class, requires_grad, a subclass's
    attributes; the result is a new leaf with its own memory (no grad, no graph)."""
    import copy
    import pickle

    import torch

    for lib in (cr, torch):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        x.grad = lib.ones(2, 2)
        back = pickle.loads(pickle.dumps(x.T))  # a graph output, non-contiguous
        assert back.requires_grad and back.is_leaf and back.grad is None
        assert back.tolist() == [[1.0, 3.0], [2.0, 4.0]]
        p = pickle.loads(pickle.dumps(lib.nn.Parameter(lib.ones(2))))
        assert type(p) is lib.nn.Parameter and p.requires_grad
        i = pickle.loads(pickle.dumps(lib.tensor([1, 2], dtype=lib.int16)))
        assert str(i.dtype).endswith("int16") and i.tolist() == [1, 2]
        m = pickle.loads(pickle.dumps(lib.nn.Linear(2, 3)))
        assert tuple(m(lib.ones(1, 2)).shape) == (1, 3)
        a = lib.arange(3.0)
        b = copy.copy(a)  # a new tensor over the same memory
        b[0] = 7.0
        assert a.tolist() == [7.0, 1.0, 2.0] and b is not a

    t = cr.ones(2).as_subclass(_Tagged)
    t.tag = "kept"
    u = pickle.loads(pickle.dumps(t))
    assert type(u) is _Tagged and u.tag == "kept"
    with pytest.raises(NotImplementedError, match="sparse"):
        pickle.dumps(cr.ones(2, 2).to_sparse())


def test_tensor_methods_pytorch_users_expect():
    x = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
    for name in [
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "exp",
        "log",
        "sqrt",
        "abs",
        "neg",
        "sum",
        "mean",
        "max",
        "min",
        "argmax",
        "argmin",
        "reshape",
        "view",
        "permute",
        "transpose",
        "unsqueeze",
        "squeeze",
        "flatten",
        "expand",
        "repeat",
        "clamp",
        "softmax",
        "log_softmax",
        "matmul",
        "mm",
        "gather",
        "masked_fill",
        "detach",
        "clone",
        "item",
        "tolist",
        "numpy",
        "backward",
        "register_hook",
        "requires_grad_",
        "zero_",
        "fill_",
        "copy_",
        "add_",
        "mul_",
        "numel",
        "size",
        "dim",
        "to",
        "float",
        "double",
        "long",
        "int",
        "bool",
        "half",
        "type",
        "contiguous",
        "view_as",
        "expand_as",
        "type_as",
        "new_zeros",
        "new_ones",
        "new_full",
        "new_tensor",
        "new_empty",
        "sigmoid",
        "tanh",
        "relu",
        "norm",
        "var",
        "std",
        "prod",
        "cumsum",
        "all",
        "any",
        "flip",
        "roll",
        "chunk",
        "split",
        "unbind",
        "t",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "where",
        "isnan",
        "nonzero",
        "sign",
        "square",
        "rsqrt",
        "reciprocal",
        "floor",
        "ceil",
        "round",
        "trunc",
        "allclose",
        "equal",
        "logsumexp",
        "amax",
        "amin",
        "index_select",
        "scatter",
        "sub_",
        "div_",
        "clamp_",
        "uniform_",
        "normal_",
        "data_ptr",
        "is_floating_point",
        "is_contiguous",
        "stride",
        "masked_fill_",
        "index_put_",
        "cpu",
    ]:
        assert hasattr(x, name), f"Tensor.{name} is missing"


def test_new_factories_and_type_as():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64)
    assert x.new_zeros(3).dtype == cr.float64 and x.new_zeros(3).shape == (3,)
    assert x.new_ones((2, 2)).tolist() == [[1, 1], [1, 1]]
    assert x.new_full((2,), 7.0).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == cr.float64
    assert x.new_empty(4).shape == (4,)
    assert cr.tensor([1, 2]).type_as(x).dtype == cr.float64
    assert x.is_floating_point() and not cr.tensor([1]).is_floating_point()
    assert x.is_contiguous()
    assert cr.zeros(2, 3).stride() == (3, 1)


def test_rounding_and_inplace_random():
    x = cr.tensor([1.5, -2.5, 0.4])
    t = torch.tensor([1.5, -2.5, 0.4])
    for name in ["floor", "ceil", "round", "trunc"]:
        np.testing.assert_allclose(getattr(x, name)().numpy(), getattr(t, name)().numpy())
    y = cr.tensor([1.2], requires_grad=True)
    y.floor().sum().backward()
    assert y.grad.item() == 0.0
    z = cr.zeros(1000)
    z.uniform_(-1, 2)
    assert -1 <= z.numpy().min() and z.numpy().max() < 2
    z.normal_(5.0, 0.1)
    assert abs(z.numpy().mean() - 5.0) < 0.05


def test_index_put_():
    t = cr.zeros(4)
    t.index_put_((cr.tensor([0, 2]),), cr.tensor([1.0, 3.0]))
    assert t.tolist() == [1.0, 0.0, 3.0, 0.0]
    t.index_put_((cr.tensor([1, 1]),), cr.tensor([1.0, 1.0]), accumulate=True)
    assert t.tolist() == [1.0, 2.0, 3.0, 0.0]


def test_grad_assignment_is_checked_like_torch():
    import torch

    for bad, match in (
        (cr.ones(2), "different size"),
        (cr.ones(3, dtype=cr.float64), "different type"),
    ):
        x = cr.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match=match):
            x.grad = bad
        t = torch.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            t.grad = torch.tensor(bad.numpy())
    x = cr.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = [1.0, 2.0, 3.0]
    x.grad = cr.zeros(3)
    x.grad = None
    assert x.grad is None


_PROMO_DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64", "complex64", "complex128"]


@pytest.mark.parametrize("dim_dtype", _PROMO_DTYPES)
@pytest.mark.parametrize("zero_dim_dtype", _PROMO_DTYPES)
def test_zero_dim_tensor_promotes_by_category_as_pytorch(dim_dtype, zero_dim_dtype):
    """A 0-d tensor beside a tensor with dimensions changes the result only through a higher
    category, and a complex one takes the floats' width (float32 * 0-d complex128 is
    complex64): in both operand orders, for add and mul."""
    for op in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: b * a):
        got = op(
            cr.ones(3, dtype=getattr(cr, dim_dtype)),
            cr.tensor(1, dtype=getattr(cr, zero_dim_dtype)),
        )
        want = op(
            torch.ones(3, dtype=getattr(torch, dim_dtype)),
            torch.tensor(1, dtype=getattr(torch, zero_dim_dtype)),
        )
        assert str(got.dtype) == str(want.dtype)


def test_reading_grad_of_a_non_leaf_warns_as_torch():
    """PyTorch warns when .grad of a non-leaf that does not retain its gradient is read
    (backward never fills it); not after retain_grad(), and never for leaves."""
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        y = w * 2
        with pytest.warns(UserWarning, match="not a leaf"):
            assert y.grad is None
        y.retain_grad()
        y.sum().backward()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert y.grad is not None and w.grad is not None
