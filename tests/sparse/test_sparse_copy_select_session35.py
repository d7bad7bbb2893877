"""copy_ into sparse tensors, select on compressed layouts and zero_ of block layouts against
PyTorch 2.13 (ops/sparse_copy.py, ops/sparse_structural.py, ops/sparse_inplace.py)."""

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

warnings.filterwarnings("ignore", message="Sparse invariant checks")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")

D = [[0, 0, 1.0, 0], [2, 0, 3, 0], [0, 4, 0, 0], [0, 0, 0, 5]]
P = [[1.0, 0, 0, 0], [2, 0, 3, 0], [0, 4, 0, 0], [0, 0, 0, 5]]  # same nnz, another pattern


def _make(lib, layout, rows=D, scale=1.0, dtype=None):
    d = lib.tensor(rows) * scale
    d = d if dtype is None else d.to(getattr(lib, dtype))
    return {
        "coo": d.to_sparse,
        "csr": d.to_sparse_csr,
        "csc": d.to_sparse_csc,
        "bsr": lambda: d.to_sparse_bsr((2, 2)),
        "bsc": lambda: d.to_sparse_bsc((2, 2)),
    }[layout]()


def _state(t):
    """What a sparse tensor holds, comparable across the libraries."""
    out = {"layout": str(t.layout), "shape": tuple(t.shape), "dtype": str(t.dtype)}
    if t.layout == torch.sparse_coo or t.layout == cr.sparse_coo:
        out.update(
            indices=t._indices().tolist(), values=t._values().tolist(), coalesced=t.is_coalesced()
        )
    else:
        out.update(dense=np.asarray(t.to_dense().tolist()).tolist(), nnz=t._nnz())
    return out


@pytest.mark.parametrize("layout", ["coo", "csr", "csc", "bsr", "bsc"])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_copy_between_sparse_tensors(layout, dtype):
    results = []
    for lib in (torch, cr):
        x = _make(lib, layout).clone()
        before = x._version
        x.copy_(_make(lib, layout, P if layout in ("coo", "csr", "csc") else D, 3.0, dtype))
        assert x._version == before + 1
        results.append(_state(x))
    assert results[0] == results[1]


def test_copy_keeps_the_graph_of_the_source():
    for lib in (torch, cr):
        base = _make(lib, "coo", dtype="float64")
        v = base._values().clone().requires_grad_()
        src = lib.sparse_coo_tensor(base._indices(), v, base.shape)
        x = _make(lib, "coo", dtype="float64").clone()
        x.copy_(src)
        assert x.requires_grad and x.grad_fn.name() == "torch::autograd::CopyBackwards"


ERRORS = {
    "coo_from_dense": lambda L: _make(L, "coo").copy_(L.ones(4, 4)),
    "coo_shrinks": lambda L: _make(L, "coo").clone().copy_(L.ones(3, 4).to_sparse()),
    "csr_nnz": lambda L: _make(L, "csr").clone().copy_(L.ones(4, 4).to_sparse_csr()),
    "csr_from_csc": lambda L: _make(L, "csr").clone().copy_(_make(L, "csc")),
    "csr_from_dense": lambda L: _make(L, "csr").clone().copy_(L.ones(4, 4)),
    "bsr_other_blocks": lambda L: _make(L, "bsr").clone().copy_(L.tensor(D).to_sparse_bsr((1, 1))),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_copy_errors_match_torch(name):
    caught = []
    for lib in (torch, cr):
        with pytest.raises(RuntimeError) as info:
            ERRORS[name](lib)
        caught.append(str(info.value))
    assert caught[1] == caught[0]


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
@pytest.mark.parametrize("dim,index", [(0, 1), (1, 2), (0, -1), (1, 0)])
def test_select_of_compressed_layouts_is_coo(layout, dim, index):
    def make(lib):
        d = lib.tensor(D)
        return getattr(d, f"to_sparse_{layout}")(*(((1, 1),) if layout[0] == "b" else ()))

    results = [_state(make(lib).select(dim, index)) for lib in (torch, cr)]
    assert results[0] == results[1]


def test_select_of_larger_blocks_as_torch():
    """Session 36: torch's select of a BSR/BSC matrix (its view rule) is matched; the
    cases are in test_sparse_batched_session36.py."""
    want, got = (_make(lib, "bsr") for lib in (torch, cr))
    for dim in (0, 1):
        for i in range(want.shape[dim]):
            try:
                w = want.select(dim, i)
            except RuntimeError as e:
                with pytest.raises(RuntimeError, match="no view exists"):
                    got.select(dim, i)
                assert "no view exists" in str(e)
                continue
            g = got.select(dim, i)
            assert g._indices().tolist() == w._indices().tolist()
            assert g._values().tolist() == w._values().tolist()


@pytest.mark.parametrize("layout", ["bsr", "bsc"])
def test_zero_of_block_layouts(layout):
    results = []
    for lib in (torch, cr):
        z = _make(lib, layout).clone().zero_()
        results.append((_state(z), tuple(z.values().shape)))
    assert results[0] == results[1]
