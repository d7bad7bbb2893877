"""Autograd graph names and saved fields as PyTorch's, session 35 (batch 4), compared live.

For each case the whole graph along ``next_functions`` must be PyTorch's: every node's name,
the inputs it lists and its declared ``_saved_*`` values (tensors by shape and dtype,
numbers as they are). Values, first and second derivatives and forward-mode tangents must
agree too. Covered: ``scatter_reduce`` (one ``ScatterReduceBackward0`` for every reduction,
with and without ``include_self``), ``index_reduce`` (one ``IndexReduceBackward0``),
``rsub`` with ``alpha`` (one ``RsubBackward1``), ``linalg.solve_triangular`` (one
``LinalgSolveTriangularBackward0``: left / right, upper / lower, unit diagonal, complex),
``triangular_solve`` (one two-output ``TriangularSolveBackward0``), ``linalg.solve`` /
``solve_ex`` with ``left=False`` (one ``LinalgSolveExBackward0`` listing ``A`` and ``B``),
``cholesky_solve`` and ``cholesky_inverse`` (``CholeskySolveBackward0``,
``CholeskyInverseBackward0``),
``linalg.lu`` (one three-output ``LinalgLuBackward0``), ``lu_unpack`` (one
``LuUnpackBackward0``) and ``linalg.lu_solve`` (one ``LinalgLuSolveBackward0``: left / right,
adjoint, complex) and ``quantile`` / ``nanquantile`` (PyTorch's composition: the reduced dim
moved last, ``Sort``, ``View``, ``Gather``, ``Lerp``, in-place ``Squeeze``), ``outer`` /
``ger`` (a ``ViewBackward0`` column times the row), ``kron`` (``UnsafeViewBackward0``
reshapes), ``linalg.multi_dot`` / ``chain_matmul`` (the product viewed as the result) and
``F.ctc_loss``'s ``CtcLossBackward0`` saved fields, ``linalg.matrix_norm`` of order +-1 / +-inf
(a ``LinalgVectorNormBackward0`` then ``AmaxBackward0`` / ``AminBackward0``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._graph_compare import describe  # names, saved fields, inputs
from ._graph_compare import real_part as _real
from ._graph_compare import to_numpy as _numpy

REAL = np.array([[0.3, -1.5, 2.2, 0.8], [-0.7, 0.9, -1.1, 1.6], [1.2, -0.4, 0.5, -2.0]])
POS = np.abs(REAL) + 0.2
SQUARE = np.array([[2.0, 0.5, -1.0], [0.3, 1.5, 0.2], [-0.4, 0.1, 3.0]])
# amax / amin ties: src repeats self's entries and its own
TIES = np.array([[1.0, 2.0, 2.0, 0.5], [3.0, 1.0, 1.0, 0.5], [2.0, 2.0, 0.0, 1.5]])
INDEX = [[0, 1, 0, 2], [2, 2, 0, 2]]
INF = float("inf")


def _t(L, values):
    return L.tensor(values, dtype=L.float64, requires_grad=True)


def _sr(reduce, include_self=True, dim=0, domain_src=lambda a, b: b.repeat(2, 1) * 1.5):
    def fn(L, a, b):
        idx = L.tensor(INDEX if dim in (0, -2) else [[0, 3], [1, 1], [2, 0]])
        src = domain_src(a, b) if dim in (0, -2) else a[:, :2] * 0.5
        return a.scatter_reduce(dim, idx, src, reduce, include_self=include_self)

    return fn


def _ir(reduce, include_self=True):
    def fn(L, a, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's beta warning
            return a.index_reduce(
                0, L.tensor([2, 0]), b.repeat(2, 1) * 0.75, reduce, include_self=include_self
            )

    return fn


def _tri(**kw):
    return lambda L, a, b: L.linalg.solve_triangular(a, a.flip(0)[:, :2] + 1, **kw)


def _tri_right(**kw):
    return lambda L, a, b: L.linalg.solve_triangular(a, a.flip(1)[:2] - 1, left=False, **kw)


def _trs(**kw):
    def fn(L, a, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in PyTorch
            x, copy = L.triangular_solve(a.flip(1)[:, :2] * 2, a, **kw)
        return x * 2 + copy[:, :2]

    return fn


def _ctc(L, a, targets, **kw):
    lp = L.cat([a, a.flip(0)]).reshape(6, 2, 2).repeat(1, 1, 2).log_softmax(-1)
    return L.nn.functional.ctc_loss(lp, targets, [6, 5], [2, 1], reduction="none", **kw)


def _q(L, qs):
    return L.tensor(qs, dtype=L.float64)


def _lu(L, a):
    return L.linalg.lu_factor(a)


def _complex_tri(L, a, b):
    z = L.complex(a, a.flip(0) * 0.5)
    return L.linalg.solve_triangular(z, z[:, :2] * 1j + 1, upper=False)


# name -> (domain of a, fn(L, a, b)); b is POS's first row (4,), requiring grad
CASES = {
    "scatter_reduce_sum": (REAL, _sr("sum")),
    "scatter_reduce_sum_noself": (REAL, _sr("sum", False)),
    "scatter_reduce_mean": (REAL, _sr("mean")),
    "scatter_reduce_mean_noself_dim1": (REAL, _sr("mean", False, 1)),
    "scatter_reduce_amax": (TIES, _sr("amax", domain_src=lambda a, b: a[:2] * 1)),
    "scatter_reduce_amax_noself": (TIES, _sr("amax", False, domain_src=lambda a, b: a[1:] * 1)),
    "scatter_reduce_amin_negdim": (TIES, _sr("amin", dim=-2, domain_src=lambda a, b: a[:2] * 1)),
    "scatter_reduce_prod": (POS, _sr("prod")),
    "scatter_reduce_prod_noself": (POS, _sr("prod", False)),
    "index_reduce_prod": (POS, _ir("prod")),
    "index_reduce_mean_noself": (REAL, _ir("mean", False)),
    "index_reduce_amax": (REAL, _ir("amax")),
    "index_reduce_amin_noself": (REAL, _ir("amin", False)),
    "rsub_alpha": (REAL, lambda L, a, b: L.rsub(a, 2.0, alpha=3)),
    "rsub_alpha_float": (REAL, lambda L, a, b: L.rsub(a, -1, alpha=0.25)),
    "solve_triangular_upper": (SQUARE, _tri(upper=True)),
    "solve_triangular_lower": (SQUARE, _tri(upper=False)),
    "solve_triangular_unit": (SQUARE, _tri(upper=False, unitriangular=True)),
    "solve_triangular_right": (SQUARE, _tri_right(upper=True)),
    "solve_triangular_right_unit": (SQUARE, _tri_right(upper=False, unitriangular=True)),
    "solve_right": (SQUARE, lambda L, a, b: L.linalg.solve(a, a.flip(1)[:2] * 2, left=False)),
    "solve_ex_right": (SQUARE, lambda L, a, b: L.linalg.solve_ex(a, a[1:] + 1, left=False)[0]),
    "triangular_solve": (SQUARE, _trs()),
    "triangular_solve_lower_t": (SQUARE, _trs(upper=False, transpose=True)),
    "triangular_solve_unit_t": (SQUARE, _trs(transpose=True, unitriangular=True)),
    "solve_triangular_complex": (SQUARE, _complex_tri),
    "cholesky_solve": (SQUARE, lambda L, a, b: L.cholesky_solve(a.flip(0)[:, :2], a.tril())),
    "cholesky_solve_upper": (
        SQUARE,
        lambda L, a, b: L.cholesky_solve(a[:, 1:] * 2, a.triu(), upper=True),
    ),
    "cholesky_inverse": (SQUARE, lambda L, a, b: L.cholesky_inverse(a.tril())),
    "cholesky_inverse_upper": (SQUARE, lambda L, a, b: L.cholesky_inverse(a.triu(), True)),
    "linalg_lu": (SQUARE, lambda L, a, b: (lambda p, lo, u: lo * 2 + u)(*L.linalg.lu(a))),
    "linalg_lu_tall": (REAL, lambda L, a, b: (lambda p, lo, u: lo @ u)(*L.linalg.lu(a.mT))),
    "linalg_lu_wide": (REAL, lambda L, a, b: (lambda p, lo, u: lo.sum() + u)(*L.linalg.lu(a))),
    "lu_unpack": (SQUARE, lambda L, a, b: (lambda p, lo, u: lo - u)(*L.lu_unpack(*_lu(L, a)))),
    "lu_unpack_wide": (REAL, lambda L, a, b: L.lu_unpack(*_lu(L, a))[2]),
    "lu_unpack_data_only": (
        REAL,
        lambda L, a, b: L.lu_unpack(*_lu(L, a.mT), unpack_pivots=False)[1],
    ),
    "lu_solve": (SQUARE, lambda L, a, b: L.linalg.lu_solve(*_lu(L, a), a.flip(0)[:, :2])),
    "lu_solve_adjoint": (
        SQUARE,
        lambda L, a, b: L.linalg.lu_solve(*_lu(L, a), a[:, 1:] * 2, adjoint=True),
    ),
    "lu_solve_right": (
        SQUARE,
        lambda L, a, b: L.linalg.lu_solve(*_lu(L, a), a.flip(1)[:2], left=False),
    ),
    "lu_solve_right_adjoint": (
        SQUARE,
        lambda L, a, b: L.linalg.lu_solve(*_lu(L, a), b[:3].expand(2, 3), left=False, adjoint=True),
    ),
    "lu_solve_legacy": (SQUARE, lambda L, a, b: L.lu_solve(a.flip(0)[:, :2], *_lu(L, a))),
    "lu_solve_complex": (
        SQUARE,
        lambda L, a, b: L.linalg.lu_solve(*_lu(L, L.complex(a, a.mT)), L.complex(a, a * 2)),
    ),
    "quantile": (REAL, lambda L, a, b: a.quantile(0.3, 1)),
    "quantile_dim0_keepdim": (REAL, lambda L, a, b: L.quantile(a, 0.6, 0, keepdim=True)),
    "quantile_vector": (REAL, lambda L, a, b: a.quantile(_q(L, [0.0, 0.25, 1.0]), dim=-2)),
    "quantile_all": (REAL, lambda L, a, b: a.quantile(0.7)),
    "quantile_all_keep_vector": (REAL, lambda L, a, b: a.quantile(_q(L, [0.2, 0.9]), keepdim=True)),
    "quantile_lower": (REAL, lambda L, a, b: a.quantile(0.3, 1, interpolation="lower")),
    "quantile_nearest_vector": (
        REAL,
        lambda L, a, b: a.quantile(_q(L, [0.2, 0.9]), 1, interpolation="nearest"),
    ),
    "quantile_midpoint_3d": (
        REAL,
        lambda L, a, b: a.reshape(3, 2, 2).quantile(0.4, 1, interpolation="midpoint"),
    ),
    "quantile_0d": (REAL, lambda L, a, b: a.sum().quantile(0.3, 0)),
    "quantile_1d": (REAL, lambda L, a, b: b.quantile(0.5, 0)),
    "nanquantile": (REAL, lambda L, a, b: a.log().nanquantile(0.4, 1)),  # NaN: log of < 0
    "outer": (REAL, lambda L, a, b: L.outer(a[0], b)),
    "ger": (REAL, lambda L, a, b: L.ger(b, a[:, 1])),
    "kron": (REAL, lambda L, a, b: L.kron(a[:2], b[:2].reshape(2, 1))),
    "kron_ranks": (REAL, lambda L, a, b: L.kron(b, a.reshape(3, 1, 4))),
    "multi_dot": (REAL, lambda L, a, b: L.linalg.multi_dot([a, a.mT, a])),
    "multi_dot_vectors": (REAL, lambda L, a, b: L.linalg.multi_dot([a[:, 0], a, b])),
    "chain_matmul": (REAL, lambda L, a, b: L.chain_matmul(a.mT, a, a.mT)),
    "ctc_loss": (REAL, lambda L, a, b: _ctc(L, a, L.tensor([[1, 2], [2, 2]]))),
    "ctc_loss_concatenated": (REAL, lambda L, a, b: _ctc(L, a, L.tensor([1, 2, 2]), blank=3)),
    "matrix_norm_1": (REAL, lambda L, a, b: L.linalg.matrix_norm(a, 1)),
    "matrix_norm_neginf_keepdim": (
        REAL,
        lambda L, a, b: L.linalg.matrix_norm(a, -INF, keepdim=True),
    ),
    "matrix_norm_inf_dims": (REAL, lambda L, a, b: L.linalg.matrix_norm(a[None], INF, dim=(-1, 0))),
    "cholesky_solve_complex": (
        SQUARE,
        lambda L, a, b: L.cholesky_solve(L.complex(a, a.flip(1)), L.complex(a, a * 0.5).tril()),
    ),
}
# PyTorch has no forward-mode rule for index_reduce, its scatter_reduce(prod) tangent is zero
# and its cholesky_inverse and triangular_solve tangents are not the derivative (finite
# differences disagree; triangular_solve's takes all of A's tangent, not the triangle read):
# chainrule's tangents there are checked against PyTorch's reverse-mode Jacobian
NO_FORWARD = {
    name
    for name in CASES
    if name.startswith(("index_reduce", "cholesky_inverse", "triangular_solve")) or "prod" in name
}
# PyTorch has no double backward and no forward mode for ctc_loss (neither has chainrule)
FIRST_ORDER_ONLY = {"ctc_loss", "ctc_loss_concatenated"}


def _inputs(lib, domain):
    return _t(lib, domain), _t(lib, POS[0].copy())


def _run(lib, name):
    domain, fn = CASES[name]
    a, b = _inputs(lib, domain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(lib, a, b), a, b


def _without_gather_self(d):
    """``describe``'s tuple with ``GatherBackward0``'s ``_saved_self`` left out: chainrule's
    gather keeps only what its rule reads (the index and sizes), so its ``_saved_self`` reads
    None where no other node keeps that input (here: quantile's view of the sorted values)."""
    if d is None:
        return None
    name, saved, inputs = d
    if name == "GatherBackward0":
        saved = {k: v for k, v in saved.items() if k != "_saved_self"}
    return name, saved, tuple((_without_gather_self(n), i) for n, i in inputs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_and_saved_fields_as_torch(name):
    t, c = _run(torch, name)[0], _run(cr, name)[0]
    want = _without_gather_self(describe(t.grad_fn, torch))
    assert _without_gather_self(describe(c.grad_fn, cr)) == want


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_two_orders_of_gradients_as_torch(name):
    outs = []
    for lib in (torch, cr):
        y, a, b = _run(lib, name)
        leaves = [a, b]
        loss = (_real(y) ** 2).sum()
        grads = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        pairs = [(t, g) for t, g in zip(leaves, grads) if g is not None and g.requires_grad]
        second = ()
        if name not in FIRST_ORDER_ONLY:
            total = sum((g**2).sum() for _, g in pairs)
            second = lib.autograd.grad(total, [t for t, _ in pairs], allow_unused=True)
        outs.append(([y.detach()], list(grads), list(second)))
    for t_part, c_part in zip(*outs):
        assert len(t_part) == len(c_part)
        for t_v, c_v in zip(t_part, c_part):
            t_v, c_v = _numpy(t_v), _numpy(c_v)
            assert (t_v is None) == (c_v is None)
            if t_v is not None:
                np.testing.assert_allclose(c_v, t_v, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_FORWARD - FIRST_ORDER_ONLY))
def test_forward_mode_as_torch(name):
    domain, fn = CASES[name]
    outs = []
    for lib in (torch, cr):
        a, b = (t.detach() for t in _inputs(lib, domain))
        tangents = (lib.ones_like(a) * 0.3 - lib.eye(*a.shape) * 0.1, lib.ones_like(b) * -0.2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, tan = lib.func.jvp(lambda x, y, lib=lib: fn(lib, x, y), (a, b), tangents)
        outs.append(tan.numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NO_FORWARD))
def test_forward_mode_as_torch_reverse_jacobian(name):
    """Where PyTorch's forward mode fails: chainrule's tangent is ``J t`` with ``J`` PyTorch's
    reverse-mode Jacobian."""
    domain, fn = CASES[name]
    a, b = (t.detach() for t in _inputs(torch, domain))
    ta, tb = torch.ones_like(a) * 0.3 - torch.eye(*a.shape) * 0.1, torch.ones_like(b) * -0.2
    ja, jb = torch.autograd.functional.jacobian(lambda x, y: fn(torch, x, y), (a, b))
    want = (ja * ta).sum((-2, -1)) + (jb * tb).sum(-1)
    x, y = (t.detach() for t in _inputs(cr, domain))
    tangents = (cr.tensor(ta.numpy()), cr.tensor(tb.numpy()))
    _, tan = cr.func.jvp(lambda x, y: fn(cr, x, y), (x, y), tangents)
    np.testing.assert_allclose(tan.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name", ["scatter_reduce_amax_noself", "index_reduce_mean_noself", "triangular_solve_lower_t"]
)
def test_saved_values_as_torch(name):
    """The saved tensors and numbers themselves, not only their shapes."""
    t, c = _run(torch, name)[0].grad_fn, _run(cr, name)[0].grad_fn
    while t.name() not in (
        "ScatterReduceBackward0",
        "IndexReduceBackward0",
        "TriangularSolveBackward0",
    ):
        t, c = t.next_functions[0][0], c.next_functions[0][0]
    for key in sorted(k for k in dir(t) if k.startswith("_saved_")):
        tv, cv = getattr(t, key), getattr(c, key)
        if isinstance(tv, torch.Tensor):
            np.testing.assert_allclose(cv.detach().numpy(), tv.detach().numpy(), 1e-12, 1e-15)
        else:
            assert cv == tv, key


@pytest.mark.parametrize("reduce", ["sum", "amax", "prod"])
def test_scatter_reduce_in_place_as_torch(reduce):
    """``scatter_reduce_`` on a non-leaf: the node's gradients reach the old self and src, and
    modifying the result in place afterwards raises at backward, as PyTorch's (its node saves
    the result)."""
    outs = []
    for lib in (torch, cr):
        a, b = _inputs(lib, POS)
        y = a * 1
        y.scatter_reduce_(0, lib.tensor(INDEX), b.repeat(2, 1), reduce)
        assert y.grad_fn.name() == "ScatterReduceBackward0"
        (y**2).sum().backward()
        outs.append((a.grad.numpy(), b.grad.numpy()))
        z = a * 1
        z.scatter_reduce_(0, lib.tensor(INDEX), b.repeat(2, 1), reduce)
        w = z * 1
        z.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            w.sum().backward()
    for t_v, c_v in zip(*outs):
        np.testing.assert_allclose(c_v, t_v, rtol=1e-12)


def test_triangular_solve_outputs_share_one_node():
    """``triangular_solve``'s solution and copy of ``A`` come from one node, as PyTorch's."""
    for lib in (torch, cr):
        a = _t(lib, SQUARE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, copy = lib.triangular_solve(a[:, :2] * 1, a)
        assert x.grad_fn is copy.grad_fn
        assert (x.grad_fn.name(), copy.output_nr if lib is torch else copy._output_nr) == (
            "TriangularSolveBackward0",
            1,
        )
