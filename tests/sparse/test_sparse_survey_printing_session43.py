"""The sparse survey against torch 2.13, continued (session 43): the autograd node each
sparse op's result shows (``grad_fn.name()``) and the printing (``repr``) of every layout,
hybrid tensors, dtypes and autograd suffixes. The inputs are the survey's
(:mod:`tests.sparse.test_sparse_survey_session43`)."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from .test_sparse_survey_session43 import _coo, _csr, _dense, _hybrid, _idx

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse .* tensor support is in beta"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]


# printing: each layout, hybrid, dtypes, autograd suffixes, empty
REPRS = {
    "coo": lambda m: _coo(m)[0],
    "coo_coalesced": lambda m: _coo(m)[0].coalesce(),
    "coo_float64": lambda m: _coo(m, m.float64)[0],
    "coo_int": lambda m: m.sparse_coo_tensor(_idx(m), m.tensor([1, 2, 3, 4]), (2, 3)),
    "coo_bool": lambda m: m.sparse_coo_tensor(_idx(m), m.tensor([True, False, True, True]), (2, 3)),
    "coo_requires_grad_values": lambda m: _coo(m, requires_grad=True)[0],
    "coo_grad_fn": lambda m: _coo(m, requires_grad=True)[0].coalesce() * 2,
    "coo_empty": lambda m: m.sparse_coo_tensor(m.zeros(2, 0, dtype=m.long), m.zeros(0), (2, 2)),
    "hybrid": lambda m: _hybrid(m)[0],
    "to_sparse_grad_fn": lambda m: _dense(m, requires_grad=True).to_sparse(),
    "csr": lambda m: _csr(m),
    "csr_grad_fn": lambda m: _dense(m, requires_grad=True).to_sparse_csr(),
    "csc": lambda m: _dense(m).to_sparse_csc(),
    "bsr": lambda m: _dense(m).to_sparse_bsr((2, 2)),
    "bsc": lambda m: _dense(m).to_sparse_bsc((2, 1)),
    "batched_csr": lambda m: m.stack([_dense(m), _dense(m) * 2]).to_sparse_csr(),
    "softmax_result": lambda m: m.sparse.softmax(_coo(m, requires_grad=True)[0], 1),
}


@pytest.mark.parametrize("name", list(REPRS))
def test_sparse_repr_as_torch(name):
    assert repr(REPRS[name](cr)) == repr(REPRS[name](torch))


# the autograd node each op's result shows (grad_fn.name())
NODES = {
    "to_dense": lambda m, s, x: s.to_dense(),
    "coalesce": lambda m, s, x: s.coalesce(),
    "to_sparse": lambda m, s, x: x.to_sparse(),
    "to_sparse_dim": lambda m, s, x: x.to_sparse(1),
    "to_sparse_csr": lambda m, s, x: x.to_sparse_csr(),
    "to_sparse_bsr": lambda m, s, x: x.to_sparse_bsr((2, 2)),
    "sparse_sum_dim": lambda m, s, x: m.sparse.sum(s, 1),
    "sparse_sum": lambda m, s, x: m.sparse.sum(s),
    "softmax": lambda m, s, x: m.sparse.softmax(s, 1),
    "log_softmax": lambda m, s, x: m.sparse.log_softmax(s, 1),
    "sparse_mm": lambda m, s, x: m.sparse.mm(s, x[:3, :2]),
    "mm": lambda m, s, x: m.mm(s, x[:3, :2]),
    "mm_of_to_sparse": lambda m, s, x: m.mm(x.to_sparse(), x),
    "sparse_addmm": lambda m, s, x: m.sparse.addmm(x[:2, :2], s, x[:3, :2]),
    "index_select": lambda m, s, x: s.index_select(0, m.tensor([1, 0])),
    "narrow_copy": lambda m, s, x: s.narrow_copy(1, 0, 2),
    "transpose": lambda m, s, x: s.transpose(0, 1),
    "t": lambda m, s, x: s.t(),
    "mul_scalar": lambda m, s, x: s * 2,
    "mul_dense": lambda m, s, x: s * x[:2, :3],
    "sqrt": lambda m, s, x: s.sqrt(),
    "neg": lambda m, s, x: -s,
    "pow": lambda m, s, x: s.pow(2),
    "add": lambda m, s, x: s + s,
    "values": lambda m, s, x: s.coalesce().values(),
    "sparse_mask": lambda m, s, x: x[:2, :3].sparse_mask(s.detach().coalesce()),
    "csr_values": lambda m, s, x: x.to_sparse_csr().values(),
    "dense_first_mm": lambda m, s, x: x[:2, :2] @ s,
    "mv": lambda m, s, x: m.mv(s, x[0, :3]),
    "bmm": lambda m, s, x: m.bmm(
        m.sparse_coo_tensor(
            m.tensor([[0, 1], [0, 1], [1, 0]]), s.coalesce().values()[:2], (2, 2, 2)
        ),
        x[:2, :2].expand(2, 2, 2),
    ),
}

# session 44 closed sparse_addmm, dense_first_mm, mv and bmm (ops/sparse_product_nodes.py)
_NODE_GAPS: dict[str, str] = {}


def _node_param(name):
    if name in _NODE_GAPS:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=_NODE_GAPS[name]))
    return name


@pytest.mark.parametrize("name", [_node_param(n) for n in NODES])
def test_sparse_grad_fn_names_as_torch(name):
    def run(m):
        s, _ = _coo(m, requires_grad=True)
        return NODES[name](m, s, _dense(m, requires_grad=True)).grad_fn.name()

    assert run(cr) == run(torch)
