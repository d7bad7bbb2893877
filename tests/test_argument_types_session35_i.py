"""Numbers, bools, lists in tensor-only positions against torch 2.13 live: products
(``matmul``/``mm``/``bmm``/``dot``/``cross``/``inner``/``vdot``/``outer``/``addmm``/``addmv``),
index arguments (``gather``/``index_select``/``take``/``index_add``), masks
(``masked_select``/``masked_fill``/``masked_scatter``), tensor lists (``cat``/``stack``),
``atan2``/``hypot``/``dist``/``polar``/``complex``, ``equal``/``allclose``/``isclose``,
``lerp``, ``diag_embed``, ``where``, ``bucketize``/``searchsorted`` and ``F.cosine_similarity``/
``pairwise_distance``/``linear``/``prelu``/``layer_norm``/``bilinear``/``nll_loss``: PyTorch's
argument-parser TypeError (its type and message: the position counted from after ``self`` for
a method, none for a keyword, the in-place method's own name), or its result where it takes
the argument. Function, method and in-place forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

torch = pytest.importorskip("torch")
TF = pytest.importorskip("torch.nn.functional")


def _outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cross's default-dim warning and the like
        try:
            return "ok", fn()
        except Exception as e:  # noqa: BLE001 - PyTorch's error is the expectation
            return type(e).__name__, str(e).splitlines()[0]


def _make(m):
    return m.tensor([1.0, 2.0, 3.0]), m.ones(3, 3), m.ones(2, 3, 3)


# each case: (module, functional, x (3,), A (3, 3), B (2, 3, 3)) -> result
CASES = {
    "matmul_n2": lambda m, F, x, A, B: m.matmul(x, 2.0),
    "matmul_n1": lambda m, F, x, A, B: m.matmul(2.0, x),
    "matmul_m": lambda m, F, x, A, B: x.matmul(2.0),
    "matmul_list": lambda m, F, x, A, B: m.matmul(x, [1.0, 2.0, 3.0]),
    "rmatmul_op": lambda m, F, x, A, B: x @ 2.0,
    "rmatmul_op2": lambda m, F, x, A, B: 2.0 @ x,
    "mm_n": lambda m, F, x, A, B: m.mm(A, 2.0),
    "mm_n1": lambda m, F, x, A, B: m.mm(2.0, A),
    "mm_m": lambda m, F, x, A, B: A.mm(2.0),
    "mm_kw": lambda m, F, x, A, B: m.mm(A, mat2=2.0),
    "bmm_n": lambda m, F, x, A, B: m.bmm(B, 2.0),
    "bmm_m": lambda m, F, x, A, B: B.bmm(2.0),
    "dot_n": lambda m, F, x, A, B: m.dot(x, 2.0),
    "dot_m": lambda m, F, x, A, B: x.dot(2.0),
    "dot_n1": lambda m, F, x, A, B: m.dot(2.0, x),
    "cross_n": lambda m, F, x, A, B: m.cross(x, 2.0),
    "cross_m": lambda m, F, x, A, B: x.cross(2.0),
    "lcross_n": lambda m, F, x, A, B: m.linalg.cross(x, 2.0),
    "inner_n": lambda m, F, x, A, B: m.inner(x, 2.0),
    "inner_m": lambda m, F, x, A, B: x.inner(2.0),
    "vdot_n": lambda m, F, x, A, B: m.vdot(x, 2.0),
    "vdot_m": lambda m, F, x, A, B: x.vdot(2.0),
    "outer_n": lambda m, F, x, A, B: m.outer(x, 2.0),
    "outer_m": lambda m, F, x, A, B: x.outer(2.0),
    "ger_m": lambda m, F, x, A, B: x.ger(2.0),
    "addmm_n": lambda m, F, x, A, B: m.addmm(A, A, 2.0),
    "addmm_n0": lambda m, F, x, A, B: m.addmm(2.0, A, A),
    "addmm_m": lambda m, F, x, A, B: A.addmm(A, 2.0),
    "addmm_m_": lambda m, F, x, A, B: A.clone().addmm_(2.0, A),
    "addmv_n": lambda m, F, x, A, B: m.addmv(x, A, 2.0),
    "addmv_m": lambda m, F, x, A, B: x.addmv(A, 2.0),
    "addmv_m_": lambda m, F, x, A, B: x.clone().addmv_(2.0, x),
    "gather_int": lambda m, F, x, A, B: m.gather(x, 0, 1),
    "gather_list": lambda m, F, x, A, B: m.gather(x, 0, [1, 2]),
    "gather_m": lambda m, F, x, A, B: x.gather(0, [1]),
    "gather_kw": lambda m, F, x, A, B: m.gather(x, 0, index=[1]),
    "isel_int": lambda m, F, x, A, B: m.index_select(x, 0, 1),
    "isel_list": lambda m, F, x, A, B: m.index_select(x, 0, [0, 1]),
    "isel_m": lambda m, F, x, A, B: x.index_select(0, [0, 1]),
    "take_int": lambda m, F, x, A, B: m.take(x, 1),
    "take_list": lambda m, F, x, A, B: m.take(x, [0, 1]),
    "take_m": lambda m, F, x, A, B: x.take([0, 1]),
    "msel_bool": lambda m, F, x, A, B: m.masked_select(x, True),
    "msel_m": lambda m, F, x, A, B: x.masked_select(True),
    "msel_list": lambda m, F, x, A, B: x.masked_select([True, False, True]),
    "mfill_bool": lambda m, F, x, A, B: m.masked_fill(x, True, 0.0),
    "mfill_m": lambda m, F, x, A, B: x.masked_fill(True, 0.0),
    "mfill_m_": lambda m, F, x, A, B: x.clone().masked_fill_(True, 0.0),
    "mfill_list": lambda m, F, x, A, B: x.masked_fill([True, False, True], 0.0),
    "cat_nums": lambda m, F, x, A, B: m.cat([1.0, 2.0]),
    "cat_mix": lambda m, F, x, A, B: m.cat([x, 2.0]),
    "cat_mix0": lambda m, F, x, A, B: m.cat([2.0, x]),
    "cat_tuple": lambda m, F, x, A, B: m.cat((x, 2)),
    "cat_num": lambda m, F, x, A, B: m.cat(2.0),
    "cat_tensor": lambda m, F, x, A, B: m.cat(x),
    "stack_nums": lambda m, F, x, A, B: m.stack([1.0, 2.0]),
    "stack_mix": lambda m, F, x, A, B: m.stack([x, 2.0]),
    "hstack_mix": lambda m, F, x, A, B: m.hstack([x, 2.0]),
    "vstack_mix": lambda m, F, x, A, B: m.vstack([x, 2.0]),
    "concat_mix": lambda m, F, x, A, B: m.concat([x, 2.0]),
    "atan2_n": lambda m, F, x, A, B: m.atan2(x, 2.0),
    "atan2_m": lambda m, F, x, A, B: x.atan2(2.0),
    "atan2_m_": lambda m, F, x, A, B: x.clone().atan2_(2.0),
    "arctan2_n": lambda m, F, x, A, B: m.arctan2(x, 2.0),
    "atan2_n1": lambda m, F, x, A, B: m.atan2(2.0, x),
    "hypot_n": lambda m, F, x, A, B: m.hypot(x, 2.0),
    "hypot_m": lambda m, F, x, A, B: x.hypot(2.0),
    "hypot_m_": lambda m, F, x, A, B: x.clone().hypot_(2.0),
    "dist_n": lambda m, F, x, A, B: m.dist(x, 2.0),
    "dist_m": lambda m, F, x, A, B: x.dist(2.0),
    "polar_n": lambda m, F, x, A, B: m.polar(x, 2.0),
    "polar_n1": lambda m, F, x, A, B: m.polar(2.0, x),
    "complex_n": lambda m, F, x, A, B: m.complex(x, 2.0),
    "complex_n1": lambda m, F, x, A, B: m.complex(1.0, x),
    "cos_sim": lambda m, F, x, A, B: F.cosine_similarity(x, 2.0, dim=0),
    "cos_sim1": lambda m, F, x, A, B: F.cosine_similarity(2.0, x, dim=0),
    "pdist": lambda m, F, x, A, B: F.pairwise_distance(x, 2.0),
    "pdist1": lambda m, F, x, A, B: F.pairwise_distance(1.0, x),
    "linear_bias": lambda m, F, x, A, B: F.linear(x, A, 2.0),
    "linear_w": lambda m, F, x, A, B: F.linear(x, 2.0),
    "linear_biaskw": lambda m, F, x, A, B: F.linear(x, A, bias=2.0),
    "prelu": lambda m, F, x, A, B: F.prelu(x, 0.25),
    "prelu_list": lambda m, F, x, A, B: F.prelu(x, [0.25]),
    "ln_w": lambda m, F, x, A, B: F.layer_norm(x, (3,), 2.0),
    "ln_b": lambda m, F, x, A, B: F.layer_norm(x, (3,), None, 2.0),
    "ln_wkw": lambda m, F, x, A, B: F.layer_norm(x, (3,), weight=2.0),
    "bilinear_b": lambda m, F, x, A, B: F.bilinear(x[None], x[None], A[None], 2.0),
    "bilinear_w": lambda m, F, x, A, B: F.bilinear(x[None], x[None], 2.0),
    "nll_t": lambda m, F, x, A, B: F.nll_loss(A, 1),
    "nll_tl": lambda m, F, x, A, B: F.nll_loss(A, [0, 1, 2]),
    "nll_w": lambda m, F, x, A, B: F.nll_loss(A, m.tensor([0, 1, 2]), 2.0),
    "equal": lambda m, F, x, A, B: m.equal(x, 2.0),
    "equal_m": lambda m, F, x, A, B: x.equal(2.0),
    "allclose": lambda m, F, x, A, B: m.allclose(x, 2.0),
    "allclose_m": lambda m, F, x, A, B: x.allclose(2.0),
    "isclose": lambda m, F, x, A, B: m.isclose(x, 2.0),
    "isclose_m": lambda m, F, x, A, B: x.isclose(2.0),
    "isclose_n1": lambda m, F, x, A, B: m.isclose(2.0, x),
    "lerp_end": lambda m, F, x, A, B: m.lerp(x, 1.0, x),
    "lerp_end_m": lambda m, F, x, A, B: x.lerp(1.0, x),
    "lerp_end_m_": lambda m, F, x, A, B: x.clone().lerp_(1.0, x),
    "lerp_end_num": lambda m, F, x, A, B: m.lerp(x, 1.0, 0.5),
    "lerp_in": lambda m, F, x, A, B: m.lerp(1.0, x, 0.5),
    "iadd_src": lambda m, F, x, A, B: m.index_add(x, 0, m.tensor([0]), 2.0),
    "iadd_idx": lambda m, F, x, A, B: m.index_add(x, 0, [0], x[:1]),
    "iadd_m": lambda m, F, x, A, B: x.index_add(0, m.tensor([0]), 2.0),
    "iadd_m_": lambda m, F, x, A, B: x.clone().index_add_(0, m.tensor([0]), 2.0),
    "mscat": lambda m, F, x, A, B: m.masked_scatter(x, x > 1, 2.0),
    "mscat_mask": lambda m, F, x, A, B: m.masked_scatter(x, True, x),
    "mscat_m": lambda m, F, x, A, B: x.masked_scatter(x > 1, 2.0),
    "mscat_m_": lambda m, F, x, A, B: x.clone().masked_scatter_(x > 1, 2.0),
    "diag_embed": lambda m, F, x, A, B: m.diag_embed(2.0),
    "diag_embed_l": lambda m, F, x, A, B: m.diag_embed([1.0, 2.0]),
    "where_list": lambda m, F, x, A, B: m.where([True, False, True], x, x),
    "where_bool": lambda m, F, x, A, B: m.where(True, x, x),
    "where_list1": lambda m, F, x, A, B: m.where([True, False, True]),
    "where_m": lambda m, F, x, A, B: x.where([True, False, True], x),
    "buck": lambda m, F, x, A, B: m.bucketize(x, [1.0, 2.0]),
    "buck_n": lambda m, F, x, A, B: m.bucketize(2.0, x),
    "buck_l": lambda m, F, x, A, B: m.bucketize([1.0], x),
    "ss": lambda m, F, x, A, B: m.searchsorted([1.0, 2.0], x),
    "ss_v": lambda m, F, x, A, B: m.searchsorted(x, [1.0, 2.0]),
    "ss_n": lambda m, F, x, A, B: m.searchsorted(x, 2.0),
    "ss_num": lambda m, F, x, A, B: m.searchsorted(2.0, x),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_non_tensor_arguments_as_torch(case):
    fn = CASES[case]
    ok_a, a = _outcome(lambda: fn(cr, CF, *_make(cr)))
    ok_b, b = _outcome(lambda: fn(torch, TF, *_make(torch)))
    assert ok_a == ok_b, (a, b)
    if ok_a != "ok":
        assert a == b  # the first line: the whole message, or the overloads' header
    elif isinstance(b, torch.Tensor):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
    elif isinstance(b, tuple):
        assert len(a) == len(b)
    else:
        assert a == b


def test_tensor_lists_still_join():
    a, b = cr.ones(2), cr.zeros(2)
    assert cr.cat((a, b)).tolist() == torch.cat((torch.ones(2), torch.zeros(2))).tolist()
    assert cr.stack([a, b]).shape == (2, 2)


def test_keyword_names_no_position():
    x = cr.ones(3)
    with pytest.raises(TypeError) as got:
        cr.atan2(input=x, other=2.0)
    with pytest.raises(TypeError) as want:
        torch.atan2(input=torch.ones(3), other=2.0)
    assert str(got.value) == str(want.value)
