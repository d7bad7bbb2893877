"""PyTorch's view copies (ops/view_copies.py) beyond the op-spec table
(tests/ops/op_specs_view_copies.py checks values and gradients): each result is fresh,
row-major contiguous memory (writing to it leaves the input alone), the split/unbind copies
return tuples, ``out=`` follows PyTorch, and bad inputs raise PyTorch's exception types."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

_X = np.arange(24, dtype=np.float64).reshape(2, 3, 4)

# name -> call on a (2, 3, 4) float tensor of either library (the library from its type)
CALLS = {
    "alias_copy": lambda m, x: m.alias_copy(x),
    "as_strided_copy": lambda m, x: m.as_strided_copy(x, (3, 2), (1, 1), 1),
    "detach_copy": lambda m, x: m.detach_copy(x),
    "diagonal_copy": lambda m, x: m.diagonal_copy(x, 0, 1, 2),
    "expand_copy": lambda m, x: m.expand_copy(x[:, :1], (5, 2, 3, 4)),
    "narrow_copy": lambda m, x: m.narrow_copy(x, 2, 1, 2),
    "permute_copy": lambda m, x: m.permute_copy(x, (2, 0, 1)),
    "select_copy": lambda m, x: m.select_copy(x, 1, -1),
    "slice_copy": lambda m, x: m.slice_copy(x, 2, 0, None, 2),
    "squeeze_copy": lambda m, x: m.squeeze_copy(x[:, :1], 1),
    "t_copy": lambda m, x: m.t_copy(x[0]),
    "transpose_copy": lambda m, x: m.transpose_copy(x, 0, 2),
    "unfold_copy": lambda m, x: m.unfold_copy(x, 2, 2, 1),
    "unsqueeze_copy": lambda m, x: m.unsqueeze_copy(x, 1),
    "view_copy": lambda m, x: m.view_copy(x, (4, -1)),
    "view_copy_dtype": lambda m, x: m.view_copy(x, m.int64),
    "view_as_real_copy": lambda m, x: m.view_as_real_copy(
        m.view_as_complex(x[..., :2].contiguous())
    ),
    "view_as_complex_copy": lambda m, x: m.view_as_complex_copy(x[..., :2].contiguous()),
}
PIECES = {
    "split_copy": lambda m, x: m.split_copy(x, 2, 2),
    "split_with_sizes_copy": lambda m, x: m.split_with_sizes_copy(x, [1, 2], 1),
    "unbind_copy": lambda m, x: m.unbind_copy(x, 1),
}


def _inputs(layout: str):
    """The same values for both libraries: contiguous, or stored transposed (a view)."""
    if layout == "contiguous":
        return cr.tensor(_X), torch.tensor(_X)
    stored = np.ascontiguousarray(_X.transpose(2, 1, 0))
    return cr.tensor(stored).permute(2, 1, 0), torch.tensor(stored).permute(2, 1, 0)


def _dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def _check_fresh(result: cr.Tensor, expected: torch.Tensor, x: cr.Tensor) -> None:
    np.testing.assert_array_equal(result.numpy(), expected.numpy())
    assert _dtype_name(result) == _dtype_name(expected)
    assert result.is_contiguous() and expected.is_contiguous()
    assert result.stride() == expected.stride()
    assert not np.shares_memory(result._data, x._data)
    before = x.numpy().copy()
    if result.numel():
        result.view(-1)[0] = 1000  # a write to the copy never reaches the input
    np.testing.assert_array_equal(x.numpy(), before)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_result_is_fresh_contiguous_memory(name: str, layout: str) -> None:
    x, tx = _inputs(layout)
    result, expected = CALLS[name](cr, x), CALLS[name](torch, tx)
    assert _dtype_name(result) == _dtype_name(expected)
    if result.is_complex():
        np.testing.assert_array_equal(result.numpy(), expected.numpy())
        assert not np.shares_memory(result._data, x._data)
        assert result.is_contiguous() and result.stride() == expected.stride()
        return
    _check_fresh(result, expected, x)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", sorted(PIECES))
def test_pieces_are_a_tuple_of_fresh_tensors(name: str, layout: str) -> None:
    x, tx = _inputs(layout)
    pieces, expected = PIECES[name](cr, x), PIECES[name](torch, tx)
    assert type(pieces) is tuple and type(expected) is tuple
    assert len(pieces) == len(expected)
    for p, e in zip(pieces, expected):
        _check_fresh(p, e, x)


def test_channels_last_input_gives_a_row_major_copy() -> None:
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    x = cr.tensor(a).to(memory_format=cr.channels_last)
    tx = torch.tensor(a).to(memory_format=torch.channels_last)
    for name in ("alias_copy", "detach_copy"):
        result, expected = getattr(cr, name)(x), getattr(torch, name)(tx)
        assert result.stride() == expected.stride() == (60, 20, 5, 1)
        np.testing.assert_array_equal(result.numpy(), a)


def test_gradients_flow_like_the_view_and_detach_copy_has_none() -> None:
    x = cr.tensor(_X[0], requires_grad=True)
    y = cr.t_copy(x)
    assert y.requires_grad and y.grad_fn is not None
    (y * cr.arange(12.0).reshape(4, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(4, 3).T)
    d, td = cr.detach_copy(x), torch.detach_copy(torch.tensor(_X[0], requires_grad=True))
    assert d.requires_grad and td.requires_grad
    assert d.grad_fn.name() == td.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::detach_copy is not implemented"):
        d.sum().backward()
    pieces = cr.split_copy(x, 2, 1)
    assert all(p.requires_grad for p in pieces)


def test_narrow_copy_is_a_tensor_method_and_the_others_are_not() -> None:
    for name in (*CALLS, *PIECES, "values_copy", "indices_copy"):
        if name.endswith("_dtype"):
            continue
        assert hasattr(cr.Tensor, name) == hasattr(torch.Tensor, name), name
    x = cr.tensor(_X)
    np.testing.assert_array_equal(x.narrow_copy(1, 1, 2).numpy(), _X[:, 1:3])


def test_out_writes_the_copy_with_pytorchs_dtype_rule() -> None:
    x, tx = cr.tensor(_X[0]), torch.tensor(_X[0])
    out, tout = cr.empty(4, 3, dtype=cr.float64), torch.empty(4, 3, dtype=torch.float64)
    assert cr.t_copy(x, out=out) is out
    torch.t_copy(tx, out=tout)
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    with pytest.raises(RuntimeError, match="dtype"):
        cr.t_copy(x, out=cr.empty(4, 3, dtype=cr.float32))
    with pytest.raises(RuntimeError, match="dtype"):
        torch.t_copy(tx, out=torch.empty(4, 3, dtype=torch.float32))
    grows = cr.empty(0, dtype=cr.float64)  # an empty out is resized without a warning
    cr.select_copy(x, 0, 1, out=grows)
    np.testing.assert_array_equal(grows.numpy(), _X[0, 1])


def test_out_of_the_pieces_is_a_list_and_returns_none() -> None:
    x, tx = cr.tensor(_X[0]), torch.tensor(_X[0])
    outs = [cr.empty(3, 2, dtype=cr.float64), cr.empty(3, 2, dtype=cr.float32)]
    touts = [torch.empty(3, 2, dtype=torch.float64), torch.empty(3, 2, dtype=torch.float32)]
    assert cr.split_copy(x, 2, 1, out=outs) is None
    assert torch.split_copy(tx, 2, 1, out=touts) is None
    for o, t in zip(outs, touts):  # written as copy_ writes: cast to out's dtype
        assert _dtype_name(o) == _dtype_name(t)
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    tup = (cr.empty(4), cr.empty(4), cr.empty(4))
    assert cr.unbind_copy(x, 0, out=tup) is None
    np.testing.assert_array_equal(np.stack([t.numpy() for t in tup]), _X[0])
    for lib, t in ((cr, x), (torch, tx)):
        with pytest.raises(RuntimeError, match="out= argument of size 2"):
            lib.split_copy(t, 2, 1, out=[lib.empty(3, 2)])
        with pytest.raises(TypeError):
            lib.split_copy(t, 2, 1, out=lib.empty(3, 2))


def test_out_refuses_inputs_that_require_grad() -> None:
    # chainrule refuses as for every out= op; PyTorch lets it through and leaves a gradient
    # function on out that raises when backward reaches it (see the module doc)
    x = cr.tensor(_X[0], requires_grad=True)
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        cr.t_copy(x, out=cr.empty(4, 3, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        cr.split_copy(x, 2, 1, out=[cr.empty(3, 2), cr.empty(3, 2)])
    with cr.no_grad():
        out = cr.t_copy(x, out=cr.empty(4, 3, dtype=cr.float64))
    np.testing.assert_array_equal(out.numpy(), _X[0].T)


def test_view_copy_signatures() -> None:
    x, tx = cr.tensor(_X), torch.tensor(_X)
    for call in (
        lambda m, t: m.view_copy(t, [6, 4]),
        lambda m, t: m.view_copy(t, size=(6, 4)),
        lambda m, t: m.view_copy(t, dtype=m.int64),
        lambda m, t: m.view_copy(t.transpose(0, 2), (-1,)),  # not expressible as a view
    ):
        np.testing.assert_array_equal(call(cr, x).numpy(), call(torch, tx).numpy())
    for lib, t in ((cr, x), (torch, tx)):
        with pytest.raises(TypeError):
            lib.view_copy(t, 6, 4)  # one sequence, not PyTorch's view(*shape)
        with pytest.raises(RuntimeError):
            lib.view_copy(t, (5,))


def test_squeeze_copy_dim_forms() -> None:
    a = np.zeros((1, 3, 1))
    x, tx = cr.tensor(a), torch.tensor(a)
    assert cr.squeeze_copy(x).shape == torch.squeeze_copy(tx).shape == (3,)
    assert cr.squeeze_copy(x, 2).shape == torch.squeeze_copy(tx, 2).shape == (1, 3)
    assert cr.squeeze_copy(x, (0, 2)).shape == torch.squeeze_copy(tx, (0, 2)).shape == (3,)
    assert cr.squeeze_copy(x, dim=None).shape == (3,)  # PyTorch refuses dim=None


def test_values_and_indices_copies_of_a_sparse_tensor() -> None:
    idx = np.array([[0, 1, 1], [2, 0, 2]])
    v = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = cr.sparse_coo_tensor(cr.tensor(idx), v, (2, 3)).coalesce()
    values = cr.values_copy(s)
    np.testing.assert_array_equal(values.detach().numpy(), [1.0, 2.0, 3.0])
    assert not np.shares_memory(values._data, s.values()._data)
    (values * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 10.0, 100.0])
    indices = cr.indices_copy(s)
    np.testing.assert_array_equal(indices.numpy(), idx)
    assert indices.dtype == cr.int64 and not np.shares_memory(indices._data, idx)
    uncoalesced = cr.sparse_coo_tensor(cr.tensor(idx), cr.tensor([1.0, 2.0, 3.0]), (2, 3))
    with pytest.raises(RuntimeError, match="coalesce"):
        cr.values_copy(uncoalesced)
    for name in ("values_copy", "indices_copy"):  # a dense input, as PyTorch
        with pytest.raises(RuntimeError, match="expected sparse"):
            getattr(torch, name)(torch.zeros(3))
        with pytest.raises(RuntimeError, match="expected sparse"):
            getattr(cr, name)(cr.zeros(3))


# bad calls: (label, call(lib, x) on a (3, 4) float tensor)
BAD = [
    ("diagonal_same_dims", lambda m, x: m.diagonal_copy(x, 0, 1, 1)),
    ("diagonal_dim", lambda m, x: m.diagonal_copy(x, 0, 0, 5)),
    ("expand_size", lambda m, x: m.expand_copy(x, (3, 5))),
    ("expand_fewer", lambda m, x: m.expand_copy(x, (4,))),
    ("narrow_range", lambda m, x: m.narrow_copy(x, 1, 3, 2)),
    ("narrow_dim", lambda m, x: m.narrow_copy(x, 2, 0, 1)),
    ("narrow_negative_dim", lambda m, x: m.narrow_copy(x, -3, 0, 1)),
    ("permute_duplicate", lambda m, x: m.permute_copy(x, (0, 0))),
    ("permute_length", lambda m, x: m.permute_copy(x, (0,))),
    ("select_index", lambda m, x: m.select_copy(x, 0, 3)),
    ("select_dim", lambda m, x: m.select_copy(x, 2, 0)),
    ("slice_dim", lambda m, x: m.slice_copy(x, 2)),
    ("slice_zero_step", lambda m, x: m.slice_copy(x, 0, 0, 2, 0)),
    ("slice_negative_step", lambda m, x: m.slice_copy(x, 0, 0, 2, -1)),
    ("slice_0d", lambda m, x: m.slice_copy(x[0, 0])),
    ("split_zero", lambda m, x: m.split_copy(x, 0, 1)),
    ("split_negative", lambda m, x: m.split_copy(x, -1, 1)),
    ("split_sizes_sum", lambda m, x: m.split_with_sizes_copy(x, [1, 1], 1)),
    ("squeeze_dim", lambda m, x: m.squeeze_copy(x, 3)),
    ("t_3d", lambda m, x: m.t_copy(x.unsqueeze(0))),
    ("transpose_dim", lambda m, x: m.transpose_copy(x, 0, 2)),
    ("unbind_dim", lambda m, x: m.unbind_copy(x, 2)),
    ("unfold_size", lambda m, x: m.unfold_copy(x, 1, 5, 1)),
    ("unfold_step", lambda m, x: m.unfold_copy(x, 1, 2, 0)),
    ("unsqueeze_dim", lambda m, x: m.unsqueeze_copy(x, 3)),
    ("view_shape", lambda m, x: m.view_copy(x, (5,))),
    ("view_two_inferred", lambda m, x: m.view_copy(x, (-1, -1))),
    ("view_dtype_strides", lambda m, x: m.view_copy(x.t(), m.float16)),
    ("as_strided_bounds", lambda m, x: m.as_strided_copy(x, (4, 4), (4, 1))),
    ("view_as_complex_last", lambda m, x: m.view_as_complex_copy(x)),
    ("view_as_complex_stride", lambda m, x: m.view_as_complex_copy(x[:, :2].t())),
    ("view_as_real_real", lambda m, x: m.view_as_real_copy(x)),
    ("not_a_tensor", lambda m, x: m.t_copy(x.tolist())),
]


@pytest.mark.parametrize("call", [c for _, c in BAD], ids=[label for label, _ in BAD])
def test_bad_inputs_raise_pytorchs_exception_type(call) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(Exception) as torch_error:
        call(torch, torch.tensor(a))
    with pytest.raises(type(torch_error.value)) as cr_error:
        call(cr, cr.tensor(a))
    assert "_copy" in str(cr_error.value) or "copy" in str(cr_error.value)


# every argument by keyword, under PyTorch's names (its schemas' ``self`` is ``input``)
KEYWORD_CALLS = [
    lambda m, x: m.alias_copy(input=x),
    lambda m, x: m.as_strided_copy(input=x, size=(2, 2), stride=(1, 2), storage_offset=1),
    lambda m, x: m.detach_copy(input=x),
    lambda m, x: m.diagonal_copy(input=x, offset=1, dim1=1, dim2=0),
    lambda m, x: m.expand_copy(input=x[:1], size=(2, 3, 4), implicit=True),
    lambda m, x: m.narrow_copy(input=x, dim=1, start=1, length=2),
    lambda m, x: x.narrow_copy(dim=1, start=1, length=2),
    lambda m, x: m.permute_copy(input=x, dims=(1, 0)),
    lambda m, x: m.select_copy(input=x, dim=1, index=2),
    lambda m, x: m.slice_copy(input=x, dim=1, start=-3, end=-1, step=1),
    lambda m, x: m.split_copy(input=x, split_size=3, dim=1),
    lambda m, x: m.split_with_sizes_copy(input=x, split_sizes=[3, 1], dim=1),
    lambda m, x: m.squeeze_copy(input=x[:1], dim=0),
    lambda m, x: m.t_copy(input=x),
    lambda m, x: m.transpose_copy(input=x, dim0=1, dim1=0),
    lambda m, x: m.unbind_copy(input=x, dim=1),
    lambda m, x: m.unfold_copy(input=x, dimension=1, size=2, step=2),
    lambda m, x: m.unsqueeze_copy(input=x, dim=0),
    lambda m, x: m.view_copy(input=x, size=(4, 3)),
    lambda m, x: m.view_copy(input=x, dtype=m.int32),
    lambda m, x: m.view_as_real_copy(input=m.view_as_complex(x[:, :2].contiguous())),
    lambda m, x: m.view_as_complex_copy(input=x[:, :2].contiguous()),
]


@pytest.mark.parametrize("call", KEYWORD_CALLS)
def test_pytorchs_keywords_are_accepted(call) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    result, expected = call(cr, cr.tensor(a)), call(torch, torch.tensor(a))
    results = result if isinstance(result, tuple) else (result,)
    expecteds = expected if isinstance(expected, tuple) else (expected,)
    assert len(results) == len(expecteds)
    for r, e in zip(results, expecteds):
        np.testing.assert_array_equal(r.numpy(), e.numpy())
        assert _dtype_name(r) == _dtype_name(e)
