"""Autograd graph names and saved fields as PyTorch's, session 34 (batch 3), compared live.

For each case the whole graph along ``next_functions`` must be PyTorch's: every node's name,
the inputs it lists (None where PyTorch lists a constant) and its declared ``_saved_*``
values (tensors by shape and dtype, numbers as they are). Values, first and second
derivatives and forward-mode tangents must agree too. Covered: ``clamp_min`` /
``clamp_max`` (``ClampMin/MaxBackward0/1``), ``lerp``'s and ``addmv`` / ``addbmm``'s saved
fields, ``rot90`` (one ``Rot90Backward0``), ``dist`` (one ``DistBackward0`` for every p),
complex ``sgn`` (one ``SgnBackward0``), ``diag`` / ``diag_embed`` / ``diagflat``
(``DiagEmbedBackward0``, ``DiagonalBackward0_copy``), ``F.unfold`` (one ``Im2ColBackward0``),
``F.fold``'s, ``avg_pool2d``'s and ``grid_sample``'s saved arguments, ``nansum`` (one
``NansumBackward0``), the ``*_scatter`` ops', ``slice_inverse``'s and ``as_strided``'s saved
arguments, ``x[None]``'s ``_saved_dim``, ``masked_scatter``'s source sizes,
``det`` / ``slogdet`` / ``solve``'s ``_saved_LU`` / ``_saved_pivots``, ``cholesky(upper=True)``
(one ``LinalgCholeskyExBackward0``), ``vdot`` (``VdotBackward0``), ``aminmax`` (one
``AminmaxBackward0``), ``eig``'s and ``fake_quantize``'s saved names and the
special functions' ``Special*Backward0`` names.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._graph_compare import describe  # names, saved fields, inputs
from ._graph_compare import names as _names
from ._graph_compare import real_part as _real
from ._graph_compare import to_numpy as _numpy

REAL = np.array([[0.3, -1.5, 2.2, 0.8], [-0.7, 0.9, -1.1, 1.6], [1.2, -0.4, 0.5, -2.0]])
POS = np.abs(REAL) + 0.2
SQUARE = np.array([[2.0, 0.5, -1.0], [0.3, 1.5, 0.2], [-0.4, 0.1, 3.0]])
NANS = np.array([[1.0, np.nan, 3.0, -0.5], [4.0, 5.0, np.nan, 0.25], [0.5, -1.0, 2.0, 1.5]])
GRID = np.array([[[[-0.9, 0.3], [0.2, -0.6]], [[0.7, 0.8], [-0.1, 1.2]]]])


def _t(L, values):
    return L.tensor(values, dtype=L.float64, requires_grad=True)


def F(L):
    return L.nn.functional


# name -> (domain of a, fn(L, a, b)); b is REAL's last row (4,), requiring grad
CASES = {
    "clamp_min_number": (REAL, lambda L, a, b: a.clamp_min(0.1)),
    "clamp_max_number": (REAL, lambda L, a, b: L.clamp_max(a, -0.1)),
    "clamp_min_tensor": (REAL, lambda L, a, b: L.clamp_min(a, b)),
    "clamp_max_tensor": (REAL, lambda L, a, b: a.clamp_max(b)),
    "lerp_tensor": (REAL, lambda L, a, b: L.lerp(a, b, a.sigmoid())),
    "lerp_constant_weight": (REAL, lambda L, a, b: L.lerp(a, b, L.full((4,), 0.3).double())),
    "addmv": (REAL, lambda L, a, b: L.addmv(a[:, 0], a, b, beta=2.0, alpha=-1.0)),
    "addbmm": (
        REAL,
        lambda L, a, b: L.addbmm(b[:2], a.reshape(3, 2, 2), a.reshape(3, 2, 2), beta=0.5),
    ),
    "rot90": (REAL, lambda L, a, b: L.rot90(a)),
    "rot90_k3": (REAL, lambda L, a, b: L.rot90(a, 3, [1, 0])),
    "rot90_neg": (REAL, lambda L, a, b: L.rot90(a, -2, (0, -1))),
    "rot90_k0": (REAL, lambda L, a, b: L.rot90(a, 4)),
    "dist": (REAL, lambda L, a, b: L.dist(a, b)),
    "dist_p1": (REAL, lambda L, a, b: L.dist(a, b, 1)),
    "dist_p3": (REAL, lambda L, a, b: L.dist(a, b, p=3)),
    "dist_inf": (REAL, lambda L, a, b: L.dist(a, b, float("inf"))),
    "dist_neginf": (REAL, lambda L, a, b: L.dist(a, b, -float("inf"))),
    "dist_constant": (REAL, lambda L, a, b: L.dist(a, b.detach(), 2.5)),
    "sgn_complex": (REAL, lambda L, a, b: L.sgn(L.complex(a, a.flip(0)))),
    "diag_1d": (REAL, lambda L, a, b: L.diag(b, 1)),
    "diag_2d": (REAL, lambda L, a, b: L.diag(a, -1)),
    "diag_embed": (REAL, lambda L, a, b: L.diag_embed(a, 1, 0, 2)),
    "diag_embed_default": (REAL, lambda L, a, b: L.diag_embed(a)),
    "diagflat": (REAL, lambda L, a, b: L.diagflat(a, -2)),
    "unfold": (REAL, lambda L, a, b: F(L).unfold(a.reshape(1, 1, 3, 4), (2, 3), padding=1)),
    "unfold_unbatched": (REAL, lambda L, a, b: F(L).unfold(a.reshape(1, 3, 4), 2, stride=(1, 2))),
    "fold": (REAL, lambda L, a, b: F(L).fold(a.reshape(1, 2, 6), (3, 3), (2, 1))),
    "fold_padded": (
        REAL,
        lambda L, a, b: F(L).fold(a.reshape(1, 1, 12), (1, 4), 1, padding=(1, 0)),
    ),
    "avg_pool2d": (REAL, lambda L, a, b: F(L).avg_pool2d(a.reshape(1, 1, 3, 4), 2, 1, 1)),
    "avg_pool2d_options": (
        REAL,
        lambda L, a, b: F(L).avg_pool2d(
            a.reshape(1, 3, 4), (2, 3), ceil_mode=True, count_include_pad=False, divisor_override=2
        ),
    ),
    "avg_pool1d": (REAL, lambda L, a, b: F(L).avg_pool1d(a.reshape(1, 3, 4), 2)),
    "grid_sample": (
        REAL,
        lambda L, a, b: F(L).grid_sample(
            a.reshape(1, 1, 3, 4), _t(L, GRID), padding_mode="border", align_corners=True
        ),
    ),
    "grid_sample_bicubic": (
        REAL,
        lambda L, a, b: F(L).grid_sample(
            a.reshape(1, 1, 3, 4), _t(L, GRID), mode="bicubic", padding_mode="reflection"
        ),
    ),
    "nansum": (NANS, lambda L, a, b: L.nansum(a, 1)),
    "nansum_all": (NANS, lambda L, a, b: a.nansum()),
    "nansum_dims": (NANS, lambda L, a, b: L.nansum(a, (0, -1), keepdim=True)),
    "nanmean": (NANS, lambda L, a, b: L.nanmean(a, 0)),
    "select_scatter": (REAL, lambda L, a, b: L.select_scatter(a, b, 0, -1)),
    "slice_scatter": (REAL, lambda L, a, b: L.slice_scatter(a, a[:, 1:3] * 2, -1, -3, step=2)),
    "slice_scatter_default": (REAL, lambda L, a, b: L.slice_scatter(a, a * 2)),
    "diagonal_scatter": (REAL, lambda L, a, b: L.diagonal_scatter(a, b[:3], -1, -1, 0)),
    "slice_inverse": (REAL, lambda L, a, b: (lambda s: L.slice_inverse(s[1:], s, 0, 1))(a * 1)),
    "as_strided": (REAL, lambda L, a, b: a.as_strided((2, 2), (1, 2))),
    "as_strided_offset": (REAL, lambda L, a, b: L.as_strided(a, [2, 3], [4, 1], 3)),
    "getitem_none": (REAL, lambda L, a, b: a[None]),
    "getitem_none_middle": (REAL, lambda L, a, b: a[:, None]),
    "getitem_none_ellipsis": (REAL, lambda L, a, b: a[..., None]),
    "masked_scatter": (REAL, lambda L, a, b: a.masked_scatter(a.detach() > 0, b.repeat(3))),
    "det": (SQUARE, lambda L, a, b: L.linalg.det(a)),
    "slogdet": (SQUARE, lambda L, a, b: L.linalg.slogdet(a)[1]),
    "solve": (SQUARE, lambda L, a, b: L.linalg.solve(a, a.flip(1))),
    "cholesky_upper": (SQUARE, lambda L, a, b: L.linalg.cholesky(a @ a.mT, upper=True)),
    "cholesky_lower": (SQUARE, lambda L, a, b: L.linalg.cholesky(a @ a.mT)),
    "cholesky_ex_upper": (SQUARE, lambda L, a, b: L.linalg.cholesky_ex(a @ a.mT, upper=True)[0]),
    "eig": (SQUARE, lambda L, a, b: L.linalg.eigvals(a.to(L.complex128)).abs()),
    "fake_quantize": (REAL, lambda L, a, b: L.fake_quantize_per_tensor_affine(a, 0.5, 1, 0, 7)),
    "vdot": (REAL, lambda L, a, b: L.vdot(a[0], b)),
    "vdot_constant": (REAL, lambda L, a, b: L.vdot(a[0], b.detach())),
    "aminmax_min": (REAL, lambda L, a, b: L.aminmax(a)[0]),
    "aminmax_dim": (REAL, lambda L, a, b: (lambda r: r[0] * 2 + r[1])(L.aminmax(a, dim=-1))),
    "aminmax_keepdim": (REAL, lambda L, a, b: L.aminmax(a, dim=0, keepdim=True).max),
    "log_ndtr": (REAL, lambda L, a, b: L.special.log_ndtr(a)),
    "ndtri": (POS, lambda L, a, b: L.special.ndtri(a / 3)),
    "i0e": (REAL, lambda L, a, b: L.special.i0e(a)),
    "i1": (REAL, lambda L, a, b: L.special.i1(a)),
    "i1e": (REAL, lambda L, a, b: L.special.i1e(a)),
    "entr": (POS, lambda L, a, b: L.special.entr(a)),
}
# derivatives PyTorch leaves out or defines apart: graph checks only
NO_SECOND = {"sgn_complex", "dist_inf", "dist_neginf", "dist_p1", "dist_constant", "nanmean"}
# torch has no forward-mode rule for these
NO_FORWARD = {"slice_inverse", "grid_sample", "grid_sample_bicubic", "eig", "fake_quantize"}
GRAPH_ONLY_NAMES = {"nanmean"}  # (names only: chainrule's DivBackward0 saves the count as float)


def _inputs(lib, domain):
    return _t(lib, domain), _t(lib, REAL[-1].copy())


def _run(lib, name, a=None, b=None):
    domain, fn = CASES[name]
    if a is None:
        a, b = _inputs(lib, domain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(lib, a, b), a, b


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_and_saved_fields_as_torch(name):
    t, c = _run(torch, name)[0], _run(cr, name)[0]
    if name in GRAPH_ONLY_NAMES:
        assert _names(c.grad_fn) == _names(t.grad_fn)
        return
    assert describe(c.grad_fn, cr) == describe(t.grad_fn, torch)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_two_orders_of_gradients_as_torch(name):
    outs = []
    for lib in (torch, cr):
        y, a, b = _run(lib, name)
        leaves = [a, b]
        loss = (_real(y) ** 2).nansum() if name.startswith("nan") else (_real(y) ** 2).sum()
        grads = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        pairs = [(t, g) for t, g in zip(leaves, grads) if g is not None and g.requires_grad]
        second = ()
        if pairs and name not in NO_SECOND:
            total = sum((g.nan_to_num() ** 2).sum() for _, g in pairs)
            second = lib.autograd.grad(total, [t for t, _ in pairs], allow_unused=True)
        outs.append(([y.detach()], list(grads), list(second)))
    for t_part, c_part in zip(*outs):
        assert len(t_part) == len(c_part)
        for t_v, c_v in zip(t_part, c_part):
            t_v, c_v = _numpy(t_v), _numpy(c_v)
            assert (t_v is None) == (c_v is None)
            if t_v is not None:
                np.testing.assert_allclose(c_v, t_v, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_FORWARD))
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


@pytest.mark.parametrize("name", ["det", "slogdet", "solve", "as_strided_offset", "rot90_neg"])
def test_saved_values_as_torch(name):
    """The saved tensors and numbers themselves, not only their shapes."""
    t, c = _run(torch, name)[0].grad_fn, _run(cr, name)[0].grad_fn
    for key in sorted(k for k in dir(t) if k.startswith("_saved_")):
        tv, cv = getattr(t, key), getattr(c, key)
        if isinstance(tv, torch.Tensor):
            np.testing.assert_allclose(cv.detach().numpy(), tv.detach().numpy(), 1e-12, 1e-15)
        else:
            assert cv == tv, key


def test_rot90_and_unfold_layout_and_fresh_memory():
    """rot90's strides are PyTorch's (a transposed copy); unfold's columns are new memory."""
    for k in range(4):
        t = torch.rot90(torch.tensor(REAL, requires_grad=True), k)
        c = cr.rot90(cr.tensor(REAL, requires_grad=True), k)
        assert c.stride() == t.stride()
        np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy())
    x = cr.tensor(REAL.reshape(1, 1, 3, 4), requires_grad=True)
    cols = cr.nn.functional.unfold(x, 1)
    cols.mul_(2)  # new memory: x keeps its values, the gradient goes through Im2Col
    cols.sum().backward()
    np.testing.assert_array_equal(x.detach().numpy(), REAL.reshape(1, 1, 3, 4))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 3, 4), 2.0))


def test_dist_and_nansum_save_their_input_as_torch():
    """Modifying the input in place after forward raises at backward, as PyTorch's (both
    save ``self``)."""
    for lib in (torch, cr):
        for fn in (lambda L, x: L.dist(x, x.detach() * 0), lambda L, x: L.nansum(x, 1)):
            x = _t(lib, REAL) * 1
            y = fn(lib, x)
            x.mul_(2)
            with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
                y.sum().backward()
