"""Op specs for sparse COO and CSR tensors (ops/sparse_*.py), appended to tests/ops/op_specs.py.

The table's checks take dense float inputs and dense outputs, so each spec is a dense-in /
dense-out composition through a sparse tensor: either the values of a COO tensor with a
fixed, unsorted pattern holding a duplicate (``_coo``: ``sparse_coo_tensor`` ->
``CoalesceValues`` / ``SparseToDense``), or a dense tensor's non-zeros (``to_sparse``:
``SparseGather``), then a sparse op and ``to_dense()``/``values()``. Gradients, gradcheck,
forward mode and double backward therefore run through the sparse Functions' rules
(``Spmm`` / ``SampledDot`` and the linear-map pairs). tests/sparse/test_sparse_coo.py checks
the sparse results themselves (indices, coalescing, errors).
"""

from __future__ import annotations

import warnings

import numpy as np

from .op_specs import OpSpec, const, lib

# (row, col) of 5 stored elements of a 3 x 3 matrix: unsorted, (0, 2) twice, row 1 and
# column 0 / 1 with one element each, so reductions and softmax meet 1- and 2-element groups
_IDX = np.array([[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]])
_KEEP = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 1.0]])


def _coo(v, size=(3, 3)):
    """The sparse tensor of values ``v`` on the fixed pattern ``_IDX`` (torch checks the
    invariants explicitly: otherwise it warns that the checks are off). Shorter 1-d values
    (the empty bad input) take the pattern's first elements, so that an empty sparse tensor
    reaches the op under test instead of failing the construction."""
    idx = _IDX[:, : v.shape[0]] if v.ndim == 1 else _IDX
    return lib(v).sparse_coo_tensor(const(v, idx), v, size, check_invariants=True)


def _sparsified(x):
    """``x`` with a fixed set of elements zeroed, as a sparse tensor of its non-zeros; any
    other shape (a bad input) is made sparse as it is, so that to_sparse meets it."""
    keep = _KEEP if x.shape == _KEEP.shape else np.ones(())
    return (x * const(x, keep)).to_sparse()


_V = (5,)

# (row, col) of the 4 entries of a 3 x 3 CSR matrix, row by row: row 0 one, row 1 two
_CSR_AT = np.array([[0, 1, 1, 2], [1, 0, 2, 2]])
_W = (4,)


def _csr(v):
    """The CSR matrix of values ``v`` at ``_CSR_AT``'s first ``len(v)`` entries (shorter
    values, the empty bad input, make a matrix of fewer entries)."""
    n = v.shape[0] if v.ndim == 1 else _CSR_AT.shape[1]
    rows, cols = _CSR_AT[:, :n]
    crow = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=3))])
    with warnings.catch_warnings():  # both libraries' "CSR support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return lib(v).sparse_csr_tensor(
            const(v, crow), const(v, cols), v, (3, 3), check_invariants=True
        )


def _to_csr(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x.to_sparse_csr()


SPECS: list = [
    # --------------------------------------------------------------- conversions
    OpSpec("sparse_coo_to_dense", lambda v: _coo(v).to_dense(), ((_V,),)),
    OpSpec("sparse_coalesce_values", lambda v: _coo(v).coalesce().values(), ((_V,),)),
    OpSpec("to_sparse_to_dense", lambda x: _sparsified(x).to_dense(), (((3, 4),),)),
    OpSpec("to_sparse_values", lambda x: x.to_sparse().values(), (((3, 4),), ((2, 3, 2),))),
    OpSpec(
        "sparse_transpose_to_dense",
        lambda v: _coo(v, (3, 4)).t().coalesce().to_dense(),
        ((_V,),),
    ),
    OpSpec(
        "sparse_add_scale",  # sparse + sparse and sparse * scalar, on the values
        lambda v: (_coo(v) + 2.0 * _coo(v * v)).coalesce().to_dense(),
        ((_V,),),
    ),
    # ------------------------------------------------------------------ products
    OpSpec("sparse_mm", lambda v, x: lib(v).sparse.mm(_coo(v), x), ((_V, (3, 2)),)),
    OpSpec("spmm_sparse_coo", lambda v, x: lib(v).spmm(_coo(v), x), ((_V, (3, 4)),)),
    OpSpec(
        "sparse_mm_to_sparse",  # a dense matrix's non-zeros times a dense matrix
        lambda a, x: lib(a).sparse.mm(_sparsified(a), x),
        (((3, 4), (4, 2)),),
    ),
    OpSpec("sparse_matmul_vector", lambda v, x: _coo(v) @ x, ((_V, (3,)),)),
    OpSpec("sparse_matmul_dense_first", lambda v, x: x @ _coo(v), ((_V, (2, 3)),)),
    OpSpec("sparse_t_matmul", lambda v, x: _coo(v).t() @ x, ((_V, (3, 2)),)),
    OpSpec(
        "sparse_addmm",
        lambda m, v, x: lib(v).sparse.addmm(m, _coo(v), x, beta=0.5, alpha=2.0),
        (((3, 2), _V, (3, 2)), ((2,), _V, (3, 2))),
    ),
    # ------------------------------------------------------------ CSR matrices
    OpSpec("sparse_csr_to_dense", lambda v: _csr(v).to_dense(), ((_W,),)),
    OpSpec("sparse_csr_mm", lambda v, x: lib(v).sparse.mm(_csr(v), x), ((_W, (3, 2)),)),
    OpSpec("sparse_csr_matmul_vector", lambda v, x: _csr(v) @ x, ((_W, (3,)),)),
    OpSpec("sparse_csr_mv", lambda v, x: lib(v).mv(_csr(v), x), ((_W, (3,)),)),
    OpSpec("sparse_csr_dense_first", lambda v, x: x @ _csr(v), ((_W, (2, 3)),)),
    OpSpec(
        "sparse_csr_addmm",
        lambda m, v, x: lib(v).addmm(m, _csr(v), x, beta=0.5, alpha=2.0),
        (((3, 2), _W, (3, 2)),),
    ),
    OpSpec("to_sparse_csr_values", lambda x: _to_csr(x).values(), (((3, 4),),)),
    OpSpec(  # torch's backward of CSR * dense to the dense operand fails (a CSR gradient)
        "sparse_csr_mul_dense",
        lambda v: (_csr(v) * const(v, np.arange(1.0, 10.0).reshape(3, 3))).to_dense(),
        ((_W,),),
    ),
    OpSpec(
        "sparse_csr_add_scale",
        lambda v: (_csr(v) + 2.0 * _csr(v * v)).to_dense(),
        ((_W,),),
    ),
    OpSpec("sparse_csr_sum", lambda v: _csr(v).sum(), ((_W,),)),
    # ---------------------------------------------------------------- reductions
    OpSpec("sparse_sum", lambda v: lib(v).sparse.sum(_coo(v)), ((_V,),)),
    OpSpec("sparse_sum_dim", lambda v: lib(v).sparse.sum(_coo(v), 1).to_dense(), ((_V,),)),
    OpSpec("sparse_sum_dims", lambda v: lib(v).sparse.sum(_coo(v), (0, 1)), ((_V,),)),
    OpSpec(
        "sparse_softmax",
        lambda v: lib(v).sparse.softmax(_coo(v), 1).to_dense(),
        ((_V,),),
    ),
    OpSpec(
        "sparse_softmax_dim0_values",
        lambda v: lib(v).sparse.softmax(_coo(v), 0).coalesce().values(),
        ((_V,),),
    ),
    OpSpec(
        "sparse_log_softmax",
        lambda v: lib(v).sparse.log_softmax(_coo(v), 1).coalesce().values(),
        ((_V,),),
    ),
]


# ------------------------------------------------ session 33: sparse breadth
# (ops/sparse_pointwise.py, ops/sparse_more.py; tests/sparse/test_sparse_breadth_session33.py
# checks the sparse results against torch.) PyTorch's backward through most sparse unary ops
# and through ``sparse * dense`` fails, so its side is the same map written with dense ops of
# the values (``torch_fn``): the op of the coalesced values, ``to_dense(s) * d``.
def _coalesced_values(v):
    return _coo(v).coalesce().values()


def _on_pattern(v, values):
    """``values`` (one per coalesced entry of ``_coo(v)``) as a dense matrix."""
    c = _coo(v).coalesce()
    return lib(v).sparse_coo_tensor(c.indices(), values, (3, 3), check_invariants=True).to_dense()


_DIAG_OFFSETS = np.array([0, -1, 2])


def _spdiags_dense_torch(d):
    """torch's spdiags has no derivative: the same matrix from a gather of ``d``."""
    import torch

    torch.sparse.spdiags(d.detach(), torch.tensor(_DIAG_OFFSETS), (3, 3))  # its errors
    rows, cols, take = [], [], []
    for i, k in enumerate(_DIAG_OFFSETS):
        for j in range(max(0, k), min(3, 3 + k, d.shape[1])):
            rows.append(j - k), cols.append(j), take.append(i * d.shape[1] + j)
    vals = d.reshape(-1)[torch.tensor(take)]
    indices = torch.tensor([rows, cols])
    return torch.sparse_coo_tensor(indices, vals, (3, 3), check_invariants=True).to_dense()


def _at_entries(v, x):
    """``x`` broadcast to 3 x 3 and zeroed off ``_coo(v)``'s entries (0 * inf stays 0)."""
    return x.expand(3, 3).sparse_mask(_coo(v).coalesce()).to_dense()


def _mask(x):
    ones = const(x, np.ones(5))
    return lib(x).sparse_coo_tensor(const(x, _IDX), ones, (3, 3), check_invariants=True)


SPECS += [
    OpSpec(
        "sparse_sin_values",
        lambda v: _coo(v).sin().values(),
        ((_V,),),
        torch_fn=lambda v: _coalesced_values(v).sin(),
    ),
    OpSpec(
        "sparse_root_tanh_to_dense",
        lambda v: lib(v).tanh(_coo(v)).to_dense(),
        ((_V,),),
        torch_fn=lambda v: _on_pattern(v, _coalesced_values(v).tanh()),
    ),
    OpSpec(
        "sparse_sqrt_to_dense",
        lambda v: _coo(v).sqrt().to_dense(),
        ((_V,),),
        domain="positive",
        torch_fn=lambda v: _on_pattern(v, _coalesced_values(v).sqrt()),
    ),
    OpSpec(
        "sparse_pow_values",
        lambda v: (_coo(v) ** 3).coalesce().values(),
        ((_V,),),
        torch_fn=lambda v: _coalesced_values(v) ** 3,
    ),
    OpSpec(
        "sparse_csr_asinh_values",
        lambda v: _csr(v).asinh().values(),
        ((_W,),),
        torch_fn=lambda v: _csr(v).values().asinh(),
    ),
    OpSpec(
        "sparse_mul_dense",
        lambda v, x: (_coo(v) * x).to_dense(),
        ((_V, (3, 3)),),
        torch_fn=lambda v, x: _coo(v).to_dense() * _at_entries(v, x),
    ),
    OpSpec(
        "sparse_dense_mul_broadcast",
        lambda v, x: (x * _coo(v)).to_dense(),
        ((_V, (3,)), (_V, (3, 1))),
        torch_fn=lambda v, x: _at_entries(v, x) * _coo(v).to_dense(),
    ),
    OpSpec(
        "sparse_mul_sparse",
        lambda v: (_coo(v) * _coo(v * v)).to_dense(),
        ((_V,),),
        torch_fn=lambda v: _coo(v).to_dense() * _coo(v * v).to_dense(),
    ),
    OpSpec("sparse_mask_to_dense", lambda x: x.sparse_mask(_mask(x)).to_dense(), (((3, 3),),)),
    OpSpec(
        "sparse_sampled_addmm",
        lambda v, a, b: lib(v).sparse.sampled_addmm(_csr(v), a, b, beta=0.5, alpha=2.0).values(),
        ((_W, (3, 2), (2, 3)),),
    ),
    OpSpec(
        "sparse_spdiags",
        lambda d: lib(d).sparse.spdiags(d, const(d, _DIAG_OFFSETS), (3, 3)).to_dense(),
        (((3, 3),),),
        torch_fn=_spdiags_dense_torch,
    ),
]
