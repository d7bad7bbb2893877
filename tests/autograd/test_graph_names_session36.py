"""Autograd graph names and saved fields as PyTorch's, session 36 (batch 5), compared live.

For each case the whole graph along ``next_functions`` must be PyTorch's: every node's name,
the inputs it lists (None where PyTorch lists none) and its declared ``_saved_*`` values
(tensors by shape and dtype, numbers as they are). Values, first and second derivatives and
forward-mode tangents must agree too (where PyTorch has them). Covered: ``frobenius_norm``
(one ``NormBackward1``), ``norm_except_dim`` (PyTorch's views / transposes around
``NormBackward1``, ``NormBackward0`` for ``dim=-1``), ``matrix_norm`` / ``nuclear_norm`` of
order 2 / -2 / 'nuc' with ``keepdim`` (a keepdim reduction, ``unsqueeze(-1)``, the permute
back), ``linalg.cond(A, 'nuc')`` (``ReciprocalBackward0``), ``renorm`` (one
``RenormBackward0``), ``addr`` (one ``AddrBackward0``), ``linalg.lstsq`` (one
``LinalgLstsqBackward0``), ``linalg.solve`` of a batch of vectors (one
``LinalgSolveExBackward0`` taking them as they are), ``tensorinv`` / ``tensorsolve``
(``ReshapeAliasBackward0``), ``F.embedding_bag`` (one ``EmbeddingBagBackward0``), the
trapezoid rules (PyTorch's C++ numbers: ``MulBackward1`` / ``DivBackward1``, its slices'
fields), ``masked.var`` / ``std`` without a mask (no ``where``) and ``index_put``'s
``_saved_accumulate`` / ``_saved_indices``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._graph_compare import describe, float64_leaves, jvp_tangents, names, real_part, to_numpy

RNG = np.random.default_rng(36)
A3 = RNG.standard_normal((3, 4, 2))
M34 = RNG.standard_normal((3, 4))
SQ = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
BSQ = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
T2336 = RNG.standard_normal((2, 3, 6)) + np.eye(6).reshape(2, 3, 6) * 3
T4683 = RNG.standard_normal((4, 6, 8, 3)) + np.eye(24).reshape(4, 6, 8, 3) * 4
IDX2 = np.array([[0, 2, 2], [4, 1, 0], [5, 5, 3]])
IDX1 = np.array([1, 0, 4, 4, 2, 5, 1, 3])
OFF = np.array([0, 3, 3, 5])
OFF_LAST = np.array([0, 2, 2, 6, 8])
W63 = RNG.standard_normal((6, 3))
XS = np.array([0.0, 0.5, 1.75, 3.0])


def _bag(L, w, idx, offsets=None, **kw):
    off = None if offsets is None else L.tensor(offsets)
    return L.nn.functional.embedding_bag(L.tensor(idx), w, off, **kw)


def _setitem(L, a, v):
    y = a * 1
    y[:, L.tensor([1, 3])] = v
    return y


# name -> (inputs (arrays), fn(L, *tensors))
CASES = {
    "frobenius_norm": ((A3,), lambda L, a: L.frobenius_norm(a, (1, 2))),
    "frobenius_norm_keepdim": ((M34,), lambda L, a: L.frobenius_norm(a, 0, True)),
    "frobenius_norm_negative": ((A3,), lambda L, a: L.frobenius_norm(a, (-1, 0))),
    "frobenius_norm_all": ((M34,), lambda L, a: L.frobenius_norm(a, ())),
    "norm_except_dim_0": ((A3,), lambda L, a: L.norm_except_dim(a, 2, 0)),
    "norm_except_dim_1": ((A3,), lambda L, a: L.norm_except_dim(a, 2, 1)),
    "norm_except_dim_last_p3": ((A3,), lambda L, a: L.norm_except_dim(a, 3, 2)),
    "norm_except_dim_all": ((A3,), lambda L, a: L.norm_except_dim(a, 2, -1)),
    "norm_except_dim_all_p1": ((A3,), lambda L, a: L.norm_except_dim(a, 1, -1)),
    "norm_except_dim_neg2": ((M34,), lambda L, a: L.norm_except_dim(a, 2, -2)),
    "norm_except_dim_neg2_3d": ((A3,), lambda L, a: L.norm_except_dim(a, 2, -2)),
    "norm_except_dim_transposed": ((M34,), lambda L, a: L.norm_except_dim(a.t(), 2, 0)),
    "nuclear_norm_keepdim": ((A3,), lambda L, a: L.nuclear_norm(a, (0, 2), True)),
    "nuclear_norm_reversed_dims": ((A3,), lambda L, a: L.nuclear_norm(a, (2, 0), True)),
    "matrix_norm_2_keepdim": ((M34,), lambda L, a: L.linalg.matrix_norm(a, 2, keepdim=True)),
    "matrix_norm_m2_keepdim": ((A3,), lambda L, a: L.linalg.matrix_norm(a, -2, (0, 1), True)),
    "matrix_norm_nuc_keepdim": ((M34,), lambda L, a: L.linalg.matrix_norm(a, "nuc", keepdim=True)),
    "cond_nuc": ((BSQ,), lambda L, a: L.linalg.cond(a, "nuc")),
    "renorm": ((M34,), lambda L, a: L.renorm(a, 2, 0, 1.5)),
    "renorm_p1_dim1": ((M34,), lambda L, a: a.renorm(1, 1, 1.0)),
    "renorm_p3_negative_dim": ((A3,), lambda L, a: L.renorm(a, 3, -1, 1)),
    "renorm_in_place": ((M34,), lambda L, a: (a * 1).renorm_(2, 0, 1.5)),
    "addr": ((M34[:, :2], M34[0, :3], M34[1, :2]), lambda L, m, u, v: L.addr(m, u, v)),
    "addr_scaled": (
        (M34[:, :2], M34[0, :3], M34[1, :2]),
        lambda L, m, u, v: L.addr(m, u, v, beta=0.5, alpha=2.0),
    ),
    "addr_int_scales": (
        (M34[:, :2], M34[0, :3], M34[1, :2]),
        lambda L, m, u, v: m.addr(u, v, beta=2, alpha=3),
    ),
    "addr_beta0_broadcast": (
        (M34[0, :2], M34[0, :3], M34[1, :2]),
        lambda L, m, u, v: L.addr(m, u, v, beta=0),
    ),
    "lstsq": ((M34.T, M34.T[:, :2] * 2), lambda L, a, b: L.linalg.lstsq(a, b).solution),
    "lstsq_vector": ((M34.T, M34[0]), lambda L, a, b: L.linalg.lstsq(a, b)[0]),
    "lstsq_batched": (
        (A3.transpose(0, 1, 2), A3[:, :, :1] + 1),
        lambda L, a, b: L.linalg.lstsq(a, b).solution,
    ),
    "solve_vector": ((SQ, M34[0, :3]), lambda L, a, b: L.linalg.solve(a, b)),
    "solve_batched_vectors": ((BSQ, M34[:2, :3]), lambda L, a, b: L.linalg.solve(a, b)),
    "tensorinv": ((T4683,), lambda L, a: L.linalg.tensorinv(a, ind=2)),
    "tensorinv_ind1": ((T2336.reshape(6, 2, 3),), lambda L, a: L.linalg.tensorinv(a, ind=1)),
    "tensorsolve": ((T2336, M34[:2, :3]), lambda L, a, b: L.linalg.tensorsolve(a, b)),
    "tensorsolve_dims": (
        (T2336.transpose(2, 0, 1), M34[:2, :3]),
        lambda L, a, b: L.linalg.tensorsolve(a, b, dims=(0,)),
    ),
    "trapezoid": ((M34,), lambda L, y: L.trapezoid(y)),
    "trapezoid_dx_dim0": ((M34,), lambda L, y: L.trapezoid(y, dx=0.75, dim=0)),
    "trapezoid_x": ((M34, XS), lambda L, y, x: L.trapezoid(y, x)),
    "trapz_dx_int": ((M34,), lambda L, y: L.trapz(y, dx=3)),
    "trapz_x_dim0": ((M34, XS[:3]), lambda L, y, x: L.trapz(y, x, dim=0)),
    "cumulative_trapezoid": ((M34,), lambda L, y: L.cumulative_trapezoid(y, dim=-2)),
    "cumulative_trapezoid_dx": ((M34,), lambda L, y: L.cumulative_trapezoid(y, dx=2.0)),
    "cumulative_trapezoid_x": ((M34, XS), lambda L, y, x: L.cumulative_trapezoid(y, x)),
    "masked_var_no_mask": ((M34,), lambda L, a: L.masked.var(a, 0)),
    "masked_std_no_mask": ((A3,), lambda L, a: L.masked.std(a, (0, 2), keepdim=True)),
    "index_put": ((M34, M34[:2] * 2), lambda L, a, v: L.index_put(a, (L.tensor([2, 0]),), v)),
    "index_put_pairs": (
        (M34, M34[0, :2]),
        lambda L, a, v: (a * 1).index_put_((L.tensor([2, 0]), L.tensor([1, 3])), v),
    ),
    "setitem_advanced": ((M34, M34[:, :2]), lambda L, a, v: _setitem(L, a, v)),
}
# PyTorch 2.13 has neither double backward nor forward mode for embedding_bag
BAGS = {
    "bag_sum_2d": ((W63,), lambda L, w: _bag(L, w, IDX2, mode="sum")),
    "bag_mean_offsets": ((W63,), lambda L, w: _bag(L, w, IDX1, OFF, mode="mean")),
    "bag_max_offsets": ((W63,), lambda L, w: _bag(L, w, IDX1, OFF, mode="max")),
    "bag_max_padding_2d": ((W63,), lambda L, w: _bag(L, w, IDX2, mode="max", padding_idx=5)),
    "bag_mean_padding": ((W63,), lambda L, w: _bag(L, w, IDX1, OFF, padding_idx=4)),
    "bag_sum_padding": ((W63,), lambda L, w: _bag(L, w, IDX1, OFF, mode="sum", padding_idx=1)),
    "bag_psw_last_offset": (
        (W63, IDX1 * 0.25 + 0.5),
        lambda L, w, p: _bag(
            L, w, IDX1, OFF_LAST, mode="sum", per_sample_weights=p, include_last_offset=True
        ),
    ),
    "bag_psw_padding_2d": (
        (W63, IDX2 * 0.5 - 1),
        lambda L, w, p: _bag(L, w, IDX2, mode="sum", per_sample_weights=p, padding_idx=-1),
    ),
    "bag_psw_1d": (
        (W63, IDX1 * 0.5 - 1),
        lambda L, w, p: _bag(L, w, IDX1, OFF, mode="sum", per_sample_weights=p),
    ),
}
# graph only (float32 values): PyTorch's float32 sum keeps no offset2bag (_saved_result1)
GRAPH_ONLY = {
    "bag_sum_float32": ((W63,), lambda L, w: _bag(L, w.float(), IDX1, OFF, mode="sum")),
    "bag_sum_2d_float32": ((W63,), lambda L, w: _bag(L, w.float(), IDX2, mode="sum")),
    "bag_mean_float32": ((W63,), lambda L, w: _bag(L, w.float(), IDX1, OFF, mode="mean")),
}
# names only: PyTorch's DivBackward0 saves the int64 count it divides by, chainrule's the
# count promoted to the quotient's dtype
NAMES_ONLY = {"masked_var_no_mask", "masked_std_no_mask"}
# PyTorch has no forward-mode rule for these (norm_except_dim(v, p, -1): its tangent has the
# wrong shape and PyTorch raises)
NO_FORWARD = {"renorm_in_place", "norm_except_dim_all", "norm_except_dim_all_p1"}


def _run(lib, table, name):
    arrays, fn = table[name]
    xs = float64_leaves(lib, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # frobenius_norm / nuclear_norm are deprecated
        return fn(lib, *xs), xs


@pytest.mark.parametrize("name", sorted(CASES) + sorted(BAGS) + sorted(GRAPH_ONLY))
def test_graph_and_saved_fields_as_torch(name):
    table = CASES if name in CASES else BAGS if name in BAGS else GRAPH_ONLY
    t, c = _run(torch, table, name)[0], _run(cr, table, name)[0]
    if name in NAMES_ONLY:
        assert names(c.grad_fn) == names(t.grad_fn)
        return
    assert describe(c.grad_fn, cr) == describe(t.grad_fn, torch)


def _gradients(lib, table, name, second):
    y, xs = _run(lib, table, name)
    grads = lib.autograd.grad((real_part(y) ** 2).sum(), xs, create_graph=second)
    out = [y.detach(), *grads]
    if second:
        total = sum((g**2).sum() for g in grads)
        out += list(lib.autograd.grad(total, xs, allow_unused=True))
    return out


@pytest.mark.parametrize("name", sorted(CASES) + sorted(BAGS))
def test_values_and_gradients_as_torch(name):
    table = CASES if name in CASES else BAGS
    second = name in CASES
    want = _gradients(torch, table, name, second)
    got = _gradients(cr, table, name, second)
    assert len(got) == len(want)
    for t_v, c_v in zip(want, got):
        t_v, c_v = to_numpy(t_v), to_numpy(c_v)
        assert (t_v is None) == (c_v is None)
        if t_v is not None:
            np.testing.assert_allclose(c_v, t_v, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_FORWARD))
def test_forward_mode_as_torch(name):
    arrays, fn = CASES[name]
    outs = jvp_tangents(fn, arrays, (torch, cr))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BAGS))
def test_embedding_bag_forward_mode_is_the_reverse_jacobian(name):
    """PyTorch has no forward mode for embedding_bag: chainrule's tangent is ``J t`` with
    ``J`` PyTorch's reverse-mode Jacobian."""
    arrays, fn = BAGS[name]
    xs = [torch.tensor(np.ascontiguousarray(a)) for a in arrays]
    tangents = [torch.ones_like(x) * (0.3 - 0.1 * i) for i, x in enumerate(xs)]
    jac = torch.autograd.functional.jacobian(lambda *a: fn(torch, *a), tuple(xs))
    want = sum((j * t).sum(tuple(range(-t.ndim, 0))) for j, t in zip(jac, tangents))
    cxs = [cr.tensor(x.numpy()) for x in xs]
    _, tan = cr.func.jvp(
        lambda *a: fn(cr, *a), tuple(cxs), tuple(cr.tensor(t.numpy()) for t in tangents)
    )
    np.testing.assert_allclose(tan.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["renorm", "renorm_p3_negative_dim", "addr_scaled", "lstsq"])
def test_saved_values_as_torch(name):
    """The saved tensors and numbers themselves, not only their shapes."""
    t, c = _run(torch, CASES, name)[0].grad_fn, _run(cr, CASES, name)[0].grad_fn
    for key in sorted(k for k in dir(t) if k.startswith("_saved_")):
        tv, cv = getattr(t, key), getattr(c, key)
        if isinstance(tv, torch.Tensor):
            np.testing.assert_allclose(cv.detach().numpy(), tv.detach().numpy(), 1e-12, 1e-15)
        else:
            assert cv == tv and type(cv) is type(tv), key


def test_embedding_bag_saved_layout_as_torch():
    """``offset2bag``, ``bag_size`` and ``max_indices`` (``_saved_result1..3``) hold PyTorch's
    values (the offsets of a 2-d input too)."""
    for name in ("bag_max_offsets", "bag_mean_padding", "bag_sum_2d", "bag_max_padding_2d"):
        t, c = _run(torch, BAGS, name)[0].grad_fn, _run(cr, BAGS, name)[0].grad_fn
        for key in ("_saved_offsets", "_saved_result1", "_saved_result2", "_saved_result3"):
            np.testing.assert_array_equal(getattr(c, key).numpy(), getattr(t, key).numpy())


def test_renorm_in_place_then_modified_raises_as_torch():
    """``renorm`` saves its input: modifying it in place afterwards raises at backward."""
    for lib in (torch, cr):
        x = lib.tensor(M34, requires_grad=True) * 1
        y = lib.renorm(x, 2, 0, 1.0)
        x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()
