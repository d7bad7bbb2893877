"""Drop-in gaps closed against PyTorch 2.13: ``slice_inverse`` (ops/view_inverses.py), the
sparse-vector products of ``matmul`` and the ``IndexError`` of the strict sparse ``mm``
(ops/sparse_products.py), and ``rms_norm`` with a complex weight on a real input.

``slice_inverse`` reads ``input``'s memory with ``src``'s layout while its gradient is that
of ``slice_scatter(src, input)``: the cases below pin both, including the layouts where the
two differ (the op specs in op_specs_slice_inverse.py run gradcheck, forward mode and double
backward where they agree).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import chainrule as cr
from chainrule.ops.sparse_products import sparse_mm

D = np.float64


def _np(t):
    if isinstance(t, torch.Tensor) and t.layout == torch.sparse_coo:
        t = t.to_dense()
    return t.detach().numpy()


def _outcome(f, L):
    """(kind, payload) of ``f(L)``: ("ok", result) or ("err", exception)."""
    try:
        return "ok", f(L)
    except Exception as e:  # noqa: BLE001 - the exception is the thing compared
        return "err", e


def _same(f, check_layout=False):
    """``f(torch)`` and ``f(cr)`` agree: same values, shape and dtype, or both raise, with
    chainrule's exception an instance of PyTorch's class."""
    (tk, tr), (ck, crr) = _outcome(f, torch), _outcome(f, cr)
    assert tk == ck, (tr, crr)
    if tk == "err":
        assert isinstance(crr, type(tr)), (tr, crr)
        return crr
    assert tuple(crr.shape) == tuple(tr.shape)
    assert str(crr.dtype) == str(tr.dtype)
    np.testing.assert_array_equal(_np(crr), _np(tr))
    if check_layout:
        assert crr.stride() == tr.stride() and crr.storage_offset() == tr.storage_offset()
    return crr


# ----------------------------------------------------------------------- slice_inverse: values
def _ar(L, n, shape):
    return L.arange(float(n), dtype=L.float64).reshape(*shape)


LAYOUT_CASES = {
    # input a view of src (what functionalization produces): the result is src itself
    "view_of_src": lambda L: (lambda b: L.slice_inverse(b[1:3], b, 0, 1, 3))(_ar(L, 20, (5, 4))),
    # an unrelated input: its memory read with src's sizes/strides/offset, args ignored
    "smaller_src": lambda L: L.slice_inverse(_ar(L, 12, (4, 3)), L.zeros(2, 3), 0, 1, 3),
    "src_offset": lambda L: L.slice_inverse(
        _ar(L, 100, (25, 4)), L.arange(40.0).reshape(10, 4)[2:7], 0, 1, 3
    ),
    "src_transposed_bad_dim": lambda L: L.slice_inverse(
        _ar(L, 100, (25, 4)), L.arange(12.0).reshape(3, 4).t(), 5, 100, -3, 7
    ),
    "src_expanded": lambda L: L.slice_inverse(_ar(L, 6, (2, 3)), L.zeros(3).expand(4, 3)),
    "input_offset_view": lambda L: L.slice_inverse(_ar(L, 6, (2, 3))[1], L.zeros(3)),
    "zero_dim": lambda L: L.slice_inverse(L.tensor(5.0), L.tensor(3.0)),
    "int_input_float_src": lambda L: L.slice_inverse(L.arange(10), L.zeros(3)),
    "float_input_int_src": lambda L: L.slice_inverse(L.arange(10.0), L.zeros(3, dtype=L.int32)),
    "complex_src": lambda L: L.slice_inverse(L.arange(6.0), L.zeros(3, dtype=L.complex128)),
    "method_keywords": lambda L: L.arange(10.0).slice_inverse(
        src=L.zeros(3), dim=L.tensor(0), start=None, end=None, step=1
    ),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_CASES))
def test_slice_inverse_values_match_torch(case):
    _same(LAYOUT_CASES[case], check_layout=True)


ERROR_CASES = {
    "past_storage": lambda L: L.slice_inverse(L.zeros(2, 3), _ar(L, 12, (4, 3)), 0, 1, 3),
    "offset_past_storage": lambda L: L.slice_inverse(L.tensor(5.0), L.zeros(3)[2:]),
    "dim_none": lambda L: L.slice_inverse(L.arange(3.0), L.zeros(3), dim=None),
    "step_none": lambda L: L.slice_inverse(L.arange(3.0), L.zeros(3), step=None),
    "float_start": lambda L: L.slice_inverse(L.arange(3.0), L.zeros(3), 0, 1.5),
    "bool_dim": lambda L: L.slice_inverse(L.arange(3.0), L.zeros(3), True),
    "src_not_tensor": lambda L: L.slice_inverse(L.arange(3.0), 3.0),
    "input_not_tensor": lambda L: L.slice_inverse(3.0, L.zeros(3)),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_slice_inverse_errors_match_torch(case):
    err = _same(ERROR_CASES[case])
    assert "slice_inverse" in str(err)


def test_slice_inverse_is_a_view_of_input():
    for L in (torch, cr):
        x = L.arange(6.0)
        r = L.slice_inverse(x, L.zeros(2, 3))
        r[0, 0] = 100.0
        assert x[0].item() == 100.0
        assert r.data_ptr() == x.data_ptr()


def test_slice_inverse_reverse_strided_src_is_refused():
    src = cr.from_numpy(np.arange(4.0)[::-1])
    with pytest.raises(NotImplementedError, match="slice_inverse.*negative strides"):
        cr.slice_inverse(cr.arange(4.0), src)


# -------------------------------------------------------------------- slice_inverse: gradients
def _grads(L, build, wrt, upstream):
    leaves, out = build(L)
    ins = [leaves[k] for k in wrt]
    up = L.tensor(upstream(tuple(out.shape)))
    return out, L.autograd.grad((out * up).sum(), ins, allow_unused=True)


def _functionalized(L):
    b = _ar(L, 20, (5, 4)).requires_grad_()
    bb = b * 1
    return {"b": b}, L.slice_inverse(bb[1:3], bb, 0, 1, 3)


def _strided(L):
    xb = _ar(L, 24, (3, 8)).requires_grad_()
    s = L.zeros(3, 8, dtype=L.float64, requires_grad=True)
    return {"xb": xb, "s": s}, L.slice_inverse((xb * 1)[:, 2:8:2], s, 1, 2, 8, 2)


def _whole(L):
    x = _ar(L, 6, (2, 3)).requires_grad_()
    s = L.zeros(2, 3, dtype=L.float64, requires_grad=True)
    return {"x": x, "s": s}, L.slice_inverse(x, s, -1, -100, 100)


def _src_only(L):
    s = L.zeros(2, 3, dtype=L.float64, requires_grad=True)
    return {"s": s}, L.slice_inverse(_ar(L, 6, (2, 3)), s)


def _broadcast_input(L):  # input (1, 3) for a (2, 3) slice: its gradient is summed
    xb = L.arange(6.0, dtype=L.float64).requires_grad_()
    return {"xb": xb}, L.slice_inverse((xb * 1)[:3].view(1, 3), L.zeros(2, 3, dtype=L.float64))


GRAD_CASES = {
    "functionalized": (_functionalized, ("b",)),
    "strided_dim1": (_strided, ("xb", "s")),
    "whole_slice": (_whole, ("x", "s")),
    "src_only": (_src_only, ("s",)),
    "broadcast_input": (_broadcast_input, ("xb",)),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_slice_inverse_gradients_match_torch(case):
    build, wrt = GRAD_CASES[case]

    def upstream(shape):
        return np.arange(np.prod(shape), dtype=D).reshape(shape) + 10.0

    t_out, t_g = _grads(torch, build, wrt, upstream)
    c_out, c_g = _grads(cr, build, wrt, upstream)
    np.testing.assert_array_equal(c_out.detach().numpy(), _np(t_out))
    assert c_out.requires_grad and t_out.requires_grad
    for tg, cg in zip(t_g, c_g):
        np.testing.assert_array_equal(cg.numpy(), tg.numpy())


def _vec6(L):
    return L.arange(6.0, dtype=L.float64), L.zeros(6, dtype=L.float64)


BACKWARD_ERRORS = {
    # the gradient's slice does not fit input: PyTorch's engine / slice_scatter refuse it
    "input_not_the_slice": lambda L: (_ar(L, 30, (6, 5)), L.zeros(2, 3, dtype=L.float64), 0, 0, 1),
    "src_not_fitting": lambda L: (*_vec6(L), 0, 5, 2),
    "dim_out_of_range": lambda L: (*_vec6(L), 3),
    "step_zero": lambda L: (*_vec6(L), 0, None, None, 0),
    "zero_dim": lambda L: (L.tensor(3.0, dtype=L.float64), L.tensor(1.0, dtype=L.float64)),
}


@pytest.mark.parametrize("case", sorted(BACKWARD_ERRORS))
def test_slice_inverse_backward_errors_match_torch(case):
    def run(L):
        x, s, *args = BACKWARD_ERRORS[case](L)
        x.requires_grad_()
        s.requires_grad_()
        out = L.slice_inverse(x, s, *args)  # the forward pass accepts all of these
        return L.autograd.grad(out.sum(), [x, s])[0]

    _same(run)


def test_slice_inverse_in_place_on_result_matches_torch():
    """Writing into the result (a view of input) reaches the gradient of its base."""
    grads = []
    for L in (torch, cr):
        b = _ar(L, 20, (5, 4)).requires_grad_()
        bb = b * 1
        r = L.slice_inverse(bb[1:3], bb, 0, 1, 3)
        r.mul_(_ar(L, 20, (5, 4)))
        grads.append(L.autograd.grad((bb * bb).sum() + r.sum(), [b])[0].numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_slice_inverse_forward_mode_matches_torch():
    """Where input is src's slice the tangent is src's with the slice replaced by input's."""
    rng = np.random.default_rng(0)
    base, tb = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    with tfw.dual_level():
        b = tfw.make_dual(torch.tensor(base), torch.tensor(tb))
        want = tfw.unpack_dual(torch.slice_inverse(b[:, 2:8:2], b, 1, 2, 8, 2)).tangent
    with cr.autograd.forward_ad.dual_level():
        b = cr.autograd.forward_ad.make_dual(cr.tensor(base), cr.tensor(tb))
        got = cr.autograd.forward_ad.unpack_dual(cr.slice_inverse(b[:, 2:8:2], b, 1, 2, 8, 2))
    np.testing.assert_allclose(got.tangent.numpy(), want.numpy(), rtol=0, atol=0)


# ------------------------------------------------------- sparse vector products, strict sparse mm
def _sv(L, dtype=None, requires_grad=False, idx=((0, 2),), vals=(2.0, 3.0)):
    v = L.tensor(vals, dtype=dtype or L.float64, requires_grad=requires_grad)
    return v, L.sparse_coo_tensor(L.tensor(idx), v, (4,), check_invariants=True)


def _dm(L, shape=(4, 3)):
    return L.arange(float(np.prod(shape)), dtype=L.float64).reshape(*shape)


def _s2(L):
    return L.sparse_coo_tensor(
        L.tensor([[0, 2], [1, 0]]),
        L.tensor([2.0, 3.0], dtype=L.float64),
        (4, 4),
        check_invariants=True,
    )


MATMUL_CASES = {
    "vector_matrix": lambda L: L.matmul(_sv(L)[1], _dm(L)),
    "operator": lambda L: _sv(L)[1] @ _dm(L),
    "method": lambda L: _sv(L)[1].matmul(_dm(L)),
    "matrix_vector": lambda L: L.matmul(_dm(L).t(), _sv(L)[1]),
    "rmatmul": lambda L: _dm(L).t() @ _sv(L)[1],
    "dense_vector_sparse_matrix": lambda L: L.matmul(L.arange(4.0, dtype=L.float64), _s2(L)),
    "uncoalesced": lambda L: L.matmul(_sv(L, idx=((0, 2, 0),), vals=(2.0, 3.0, 5.0))[1], _dm(L)),
    "integer": lambda L: L.matmul(_sv(L, dtype=L.int64, vals=(2, 3))[1], L.ones(4, 3).long()),
    "empty_columns": lambda L: L.matmul(_sv(L)[1], L.ones(4, 0, dtype=L.float64)),
    "no_entries": lambda L: L.matmul(_sv(L, idx=[[]], vals=[])[1], _dm(L)),
    # errors: PyTorch's types
    "vector_vector": lambda L: L.matmul(_sv(L)[1], L.ones(4, dtype=L.float64)),
    "rows_mismatch": lambda L: L.matmul(_sv(L)[1], L.ones(3, 3, dtype=L.float64)),
    "columns_mismatch": lambda L: L.matmul(L.ones(3, 3, dtype=L.float64), _sv(L)[1]),
    "dtype_mismatch": lambda L: L.matmul(_sv(L, dtype=L.float32)[1], _dm(L)),
    "batched_dense": lambda L: L.matmul(_sv(L)[1], L.ones(2, 4, 3, dtype=L.float64)),
    "sparse_mm_vector": lambda L: L.sparse.mm(_sv(L)[1], _dm(L)),
    "spmm_vector": lambda L: L.spmm(_dm(L).t(), _sv(L)[1]),
    "method_mm_vector": lambda L: _sv(L)[1].mm(_dm(L)),
    "method_mm_dense_vector": lambda L: _s2(L).mm(L.ones(4, dtype=L.float64)),
    "mm_vector": lambda L: L.mm(_sv(L)[1], _dm(L)),
    "mm_dense_sparse_vector": lambda L: L.mm(_dm(L).t(), _sv(L)[1]),
}


@pytest.mark.parametrize("case", sorted(MATMUL_CASES))
def test_sparse_vector_products_match_torch(case):
    _same(MATMUL_CASES[case])


@pytest.mark.parametrize("order", ["vector_first", "vector_last"])
def test_sparse_vector_matmul_gradients_match_torch(order):
    rng = np.random.default_rng(0)
    vals, dense, up = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(3)
    grads = []
    for L in (torch, cr):
        v = L.tensor(vals, requires_grad=True)
        d = L.tensor(dense, requires_grad=True)
        s = L.sparse_coo_tensor(L.tensor([[0, 2, 4]]), v, (5,), check_invariants=True)
        out = L.matmul(s, d) if order == "vector_first" else L.matmul(d.t(), s)
        grads.append([_np(g) for g in L.autograd.grad((out * L.tensor(up)).sum(), [v, d])])
    for t, c in zip(*grads):
        np.testing.assert_allclose(c, t, rtol=1e-12)
    v = cr.tensor(vals, requires_grad=True)
    d = cr.tensor(dense, requires_grad=True)

    def f(v, d):
        s = cr.sparse_coo_tensor(cr.tensor([[0, 2, 4]]), v, (5,))
        return cr.matmul(s, d) if order == "vector_first" else cr.matmul(d.t(), s)

    assert cr.autograd.gradgradcheck(f, (v, d))
    assert cr.autograd.check_vjp_jvp(f, (v.detach(), d.detach()))


def test_sparse_mm_refuses_vectors_with_index_error():
    # what cr.mm of a sparse operand should call (ops/linalg.py dispatches there)
    for a, b in ((_sv(cr)[1], _dm(cr)), (_dm(cr).t(), _sv(cr)[1]), (_s2(cr), cr.ones(4))):
        with pytest.raises(IndexError, match="mm"):
            sparse_mm(a, b)
    np.testing.assert_array_equal(
        sparse_mm(_s2(cr), cr.ones(4, 2, dtype=cr.float64)).numpy(),
        _np(torch.mm(_s2(torch), torch.ones(4, 2, dtype=torch.float64))),
    )


# ----------------------------------------------------------------- rms_norm with complex weight
DTYPE_PAIRS = [("float64", "complex128"), ("float32", "complex128"), ("float64", "complex64")]


@pytest.mark.parametrize("x_dtype,w_dtype", DTYPE_PAIRS)
def test_rms_norm_complex_weight_drops_imaginary_part(x_dtype, w_dtype):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal(3) + 1j * rng.standard_normal(3)
    up = rng.standard_normal((2, 3))
    res = []
    for L in (torch, cr):
        xt = L.tensor(x).to(getattr(L, x_dtype)).requires_grad_()
        wt = L.tensor(w).to(getattr(L, w_dtype)).requires_grad_()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = L.nn.functional.rms_norm(xt, (3,), weight=wt)
        # PyTorch warns once per process, chainrule at every call
        assert L is torch or any("discards the imaginary part" in str(m.message) for m in caught)
        assert str(out.dtype).replace("torch.", "") == x_dtype
        gx, gw = L.autograd.grad((out * L.tensor(up).to(out.dtype)).sum(), [xt, wt])
        assert str(gw.dtype).replace("torch.", "") == w_dtype
        res.append([_np(out), _np(gx), _np(gw)])
    tol = 1e-12 if x_dtype == "float64" and w_dtype == "complex128" else 1e-5
    for t, c in zip(*res):
        np.testing.assert_allclose(c, t, rtol=tol, atol=tol)
