"""cr.nn.attention.flex_attention against torch.nn.attention.flex_attention (float64).

PyTorch 2.13 runs FlexAttention eagerly on the CPU but refuses its backward there, so
gradients are compared with the same score_mod/mask_mod composed densely from torch ops
(whose forward is first checked against torch's flex_attention).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.attention.flex_attention as tfa

import chainrule as cr
import chainrule.nn.attention.flex_attention as cfa

pytestmark = pytest.mark.filterwarnings(
    "ignore:flex_attention called without torch.compile:UserWarning"
)

_BLOCK_FIELDS = (
    "kv_num_blocks",
    "kv_indices",
    "full_kv_num_blocks",
    "full_kv_indices",
    "q_num_blocks",
    "q_indices",
    "full_q_num_blocks",
    "full_q_indices",
)


def _arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _close(c, t, tol=1e-10):
    np.testing.assert_allclose(np.asarray(c.detach().numpy()), t.detach().numpy(), atol=tol)


def _torch_dense(q, k, v, score_mod, mask_mod, scale=None):
    """The reference with autograd: scores, score_mod, mask, softmax composed from torch."""
    B, H, L, E = q.shape
    if k.shape[1] != H:
        k = k.repeat_interleave(H // k.shape[1], dim=1)
        v = v.repeat_interleave(H // v.shape[1], dim=1)
    s = q @ k.transpose(-1, -2) * (E**-0.5 if scale is None else scale)
    idx = [
        torch.arange(n, dtype=torch.int32).view(*[n if i == d else 1 for i in range(4)])
        for d, n in enumerate((B, H, L, k.shape[2]))
    ]
    if score_mod is not None:
        s = score_mod(s, *idx).expand(s.shape)
    alive = torch.ones(s.shape[:-1] + (1,), dtype=torch.bool)
    if mask_mod is not None:
        allowed = mask_mod(*idx).expand(s.shape)
        s = s.masked_fill(~allowed, float("-inf"))
        alive = allowed.any(-1, keepdim=True)
    # rows with no allowed key are 0 (masked_fill's backward zeroes their NaN gradients)
    p = torch.where(alive, torch.softmax(s, -1), 0.0)
    return p @ v, torch.logsumexp(s, -1)


def _compare(shapes, mods, gqa=False, scale=None, captured=(), tol=1e-10, bs=4):
    """mods(lib, *captured) -> (score_mod, mask_mod) for lib torch or cr; compares forward
    and lse with torch's flex_attention, gradients with the dense torch composition."""
    arrays = _arrays(*shapes) + [np.asarray(c) for c in captured]
    cts = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    tts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    L, S = shapes[0][2], shapes[1][2]
    out = {}
    for lib, fa, ts in ((cr, cfa, cts), (torch, tfa, tts)):
        score_mod, mask_mod = mods(lib, *ts[3:])
        bm = None
        if mask_mod is not None:
            bm = fa.create_block_mask(mask_mod, None, None, L, S, device="cpu", BLOCK_SIZE=bs)
        detached = ts[:3] if lib is cr else [t.detach() for t in ts[:3]]
        out[lib] = fa.flex_attention(
            *detached,
            score_mod=score_mod,
            block_mask=bm,
            scale=scale,
            enable_gqa=gqa,
            return_aux=fa.AuxRequest(lse=True),
        )
    (co, caux), (to, taux) = out[cr], out[torch]
    _close(co, to, tol)
    _close(caux.lse, taux.lse, tol)
    ref, ref_lse = _torch_dense(*tts[:3], *mods(torch, *tts[3:]), scale=scale)
    _close(ref, to, tol)
    g = np.random.default_rng(5).standard_normal(to.shape)
    co.backward(cr.tensor(g))
    ref.backward(torch.tensor(g))
    for c, t in zip(cts, tts, strict=True):
        if t.requires_grad:
            _close(c.grad, t.grad, tol)
    return co, caux


QKV = ((2, 2, 6, 4), (2, 2, 7, 4), (2, 2, 7, 3))
SQ = ((2, 2, 8, 4), (2, 2, 8, 4), (2, 2, 8, 3))


def test_no_mods_is_sdpa():
    q, k, v = (cr.tensor(a) for a in _arrays(*QKV))
    out = cfa.flex_attention(q, k, v)
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in _arrays(*QKV))
    )
    _close(out, ref, 1e-12)
    _compare(QKV, lambda lib: (None, None))
    _compare(QKV, lambda lib: (None, None), scale=0.3)


def test_causal_and_sliding_window():
    _compare(SQ, lambda lib: (None, lambda b, h, q, kv: q >= kv))
    _compare(SQ, lambda lib: (None, lambda b, h, q, kv: (q >= kv) & (q - kv <= 2)), bs=3)


def test_prefix_lm_with_or_masks():
    def mods(lib):
        return None, lib.nn.attention.flex_attention.or_masks(
            lambda b, h, q, kv: q >= kv, lambda b, h, q, kv: kv < 3
        )

    _compare(SQ, lambda lib: mods(lib))


def test_document_mask_with_captured_ids():
    docs = np.array([[0, 0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 1, 1, 2, 2]])

    def mods(lib, doc):
        and_masks = lib.nn.attention.flex_attention.and_masks
        return None, and_masks(
            lambda b, h, q, kv: doc[b, q] == doc[b, kv], lambda b, h, q, kv: q >= kv
        )

    _compare(SQ, mods, captured=(docs,))


def test_alibi_with_learnable_slopes():
    slopes = np.array([0.5, 0.25])

    def mods(lib, sl):
        return (lambda s, b, h, q, kv: s + sl[h] * (kv - q)), None

    _compare(QKV, mods, captured=(slopes,))


def test_relative_bias_table_with_causal_mask():
    table = np.random.default_rng(3).standard_normal((2, 15))

    def mods(lib, bias):
        return (lambda s, b, h, q, kv: s + bias[h, q - kv + 7]), (lambda b, h, q, kv: q >= kv)

    _compare(SQ, mods, captured=(table,))


def test_soft_capping_and_where():
    def mods(lib):
        def score_mod(s, b, h, q, kv):
            capped = 2.0 * (s / 2.0).tanh()
            return lib.where((b == 1) & (h == 0), capped * 0.5, capped)

        return score_mod, None

    _compare(QKV, mods)


def test_gqa():
    shapes = ((1, 4, 5, 4), (1, 2, 6, 4), (1, 2, 6, 3))
    _compare(
        shapes,
        lambda lib: (lambda s, b, h, q, kv: s * (h + 1), lambda b, h, q, kv: q >= kv - h),
        gqa=True,
    )


def test_index_tensors_are_int32_like_torch():
    seen = {}

    def score_mod(s, b, h, q, kv):
        seen["dtypes"] = {t.dtype for t in (b, h, q, kv)}
        return s

    q = cr.tensor(_arrays((1, 1, 3, 2))[0])
    cfa.flex_attention(q, q, q, score_mod=score_mod)
    assert seen["dtypes"] == {cr.int32}
    # torch's eager flex_attention passes int32 too: float(q.dtype == int32) adds 1 per index
    tq = torch.tensor(_arrays((1, 1, 3, 2))[0])
    flag = tfa.flex_attention(
        tq,
        tq,
        tq,
        score_mod=lambda s, b, h, q, kv: s + float(q.dtype == torch.int32),
        return_aux=tfa.AuxRequest(lse=True),
    )[1].lse
    plain = tfa.flex_attention(tq, tq, tq, return_aux=tfa.AuxRequest(lse=True))[1].lse
    torch.testing.assert_close(flag - plain, torch.ones_like(plain))


def test_fully_masked_rows_give_zero_output_and_minus_inf_lse():
    def mods(lib):
        return None, lambda b, h, q, kv: (q >= kv) & (q != 2) & ((b == 0) | (q != 5))

    co, caux = _compare(SQ, mods)
    assert np.all(co.detach().numpy()[:, :, 2] == 0)
    assert np.all(caux.lse.detach().numpy()[:, :, 2] == -np.inf)
    assert np.all(caux.lse.detach().numpy()[1, :, 5] == -np.inf)


def test_full_rows_masked_by_score_mod_gradient_is_finite():
    q = cr.tensor(_arrays((1, 1, 4, 3))[0], requires_grad=True)
    bm = cfa.create_block_mask(lambda b, h, qi, kv: qi != 1, 1, 1, 4, 4, BLOCK_SIZE=2)
    out, aux = cfa.flex_attention(q, q, q, block_mask=bm, return_aux=cfa.AuxRequest(lse=True))
    (out.sum() + cr.where(cr.isfinite(aux.lse), aux.lse, 0.0).sum()).backward()
    assert np.isfinite(q.grad.numpy()).all()


def test_return_lse_deprecated_and_aux_rules():
    q = cr.tensor(_arrays((1, 1, 3, 2))[0])
    with pytest.warns(FutureWarning, match="return_aux"):
        out, lse = cfa.flex_attention(q, q, q, return_lse=True)
    assert tuple(lse.shape) == (1, 1, 3)
    assert cfa.flex_attention(q, q, q, return_aux=cfa.AuxRequest())[1] == cfa.AuxOutput()
    assert cfa.AuxRequest._fields == tfa.AuxRequest._fields
    assert cfa.AuxOutput._fields == tfa.AuxOutput._fields
    tq = torch.tensor(_arrays((1, 1, 3, 2))[0])
    cases = [
        dict(return_lse=True, return_aux=cfa.AuxRequest(lse=True)),
        dict(return_aux=cfa.AuxRequest(max_scores=True)),
        dict(kernel_options={"BACKEND": "XX"}),
    ]
    for kw in cases:
        tkw = {n: tfa.AuxRequest(*a) if isinstance(a, cfa.AuxRequest) else a for n, a in kw.items()}
        with pytest.raises(Exception) as t_err:
            tfa.flex_attention(tq, tq, tq, **tkw)
        with pytest.raises(t_err.type):
            cfa.flex_attention(q, q, q, **kw)
    # unknown keys are accepted (hints for compiled kernels), as in torch
    cfa.flex_attention(q, q, q, kernel_options={"BLOCK_M": 16, "foo": 1})


@pytest.mark.parametrize(
    "shapes,kw",
    [
        (((2, 4, 6, 4), (2, 2, 6, 4), (2, 2, 6, 3)), {}),
        (((2, 3, 6, 4), (2, 2, 6, 4), (2, 2, 6, 3)), {"enable_gqa": True}),
        (((4, 6, 4), (4, 6, 4), (4, 6, 4)), {}),
        (((2, 2, 6, 4), (2, 2, 6, 5), (2, 2, 6, 3)), {}),
        (((2, 2, 6, 4), (2, 2, 6, 4), (2, 2, 7, 3)), {}),
        (((2, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 3)), {}),
    ],
)
def test_errors_match_torch(shapes, kw):
    arrays = _arrays(*shapes)
    with pytest.raises(Exception) as t_err:
        tfa.flex_attention(*(torch.tensor(a) for a in arrays), **kw)
    with pytest.raises(t_err.type):
        cfa.flex_attention(*(cr.tensor(a) for a in arrays), **kw)


@pytest.mark.parametrize("lengths", [(8, 6), (4, 4)])
def test_block_mask_length_mismatch(lengths):
    q = _arrays((1, 1, 6, 2))[0]
    with pytest.raises(ValueError, match="block_mask was created for"):
        bm = tfa.create_block_mask(lambda b, h, i, j: i >= j, 1, 1, *lengths, device="cpu")
        tfa.flex_attention(*[torch.tensor(q)] * 3, block_mask=bm)
    bm = cfa.create_block_mask(lambda b, h, i, j: i >= j, 1, 1, *lengths, device="cpu")
    with pytest.raises(ValueError, match="block_mask was created for"):
        cfa.flex_attention(*[cr.tensor(q)] * 3, block_mask=bm)


def _mask_mods(lib):
    doc = lib.tensor([0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3])
    return {
        "causal": lambda b, h, q, kv: q >= kv,
        "window": lambda b, h, q, kv: (q - kv).abs() <= 2,
        "doc": lambda b, h, q, kv: doc[q] == doc[kv],
        "heads": lambda b, h, q, kv: (q + h >= kv) & (b == 0),
    }


@pytest.mark.parametrize("name", ["causal", "window", "doc", "heads"])
@pytest.mark.parametrize("block_size", [2, 3, (2, 4), 128])
def test_block_mask_structure_matches_torch(name, block_size):
    c = cfa.create_block_mask(_mask_mods(cr)[name], 2, 2, 11, 10, "cpu", BLOCK_SIZE=block_size)
    t = tfa.create_block_mask(_mask_mods(torch)[name], 2, 2, 11, 10, "cpu", BLOCK_SIZE=block_size)
    for field in _BLOCK_FIELDS:
        assert getattr(c, field).dtype == cr.int32
        np.testing.assert_array_equal(getattr(c, field).numpy(), getattr(t, field).numpy())
    np.testing.assert_array_equal(c.to_dense().numpy(), t.to_dense().numpy())
    assert c.shape == t.shape and c.numel() == t.numel() and c.BLOCK_SIZE == t.BLOCK_SIZE
    assert c.sparsity() == pytest.approx(t.sparsity())
    assert repr(c).replace("torch.Size", "") == repr(t).replace("torch.Size", "")
    assert str(c) == str(t)
    cm = cfa.create_mask(_mask_mods(cr)[name], 2, 2, 11, 10, "cpu")
    tm = tfa.create_mask(_mask_mods(torch)[name], 2, 2, 11, 10, "cpu")
    np.testing.assert_array_equal(cm.numpy(), tm.numpy())


def test_block_mask_options_indexing_and_drawing():
    mods = _mask_mods(cr), _mask_mods(torch)
    c, t = (
        fa.create_block_mask(m["window"], 3, 2, 90, 90, "cpu", BLOCK_SIZE=2)
        for fa, m in ((cfa, mods[0]), (tfa, mods[1]))
    )
    for kw in [{}, {"grid_size": (5, 10), "limit": 1}, {"grid_size": 7}, {"grid_size": -1}]:
        assert c.to_string(**kw) == t.to_string(**kw)
    for index in [0, (1, 1), (slice(0, 2), 1), (1, 1, slice(3, 9)), -1]:
        ci, ti = c[index], t[index]
        assert ci.shape == ti.shape
        for field in _BLOCK_FIELDS:
            np.testing.assert_array_equal(getattr(ci, field).numpy(), getattr(ti, field).numpy())
        with pytest.raises(RuntimeError, match="sliced BlockMask"):
            ci.mask_mod(*(cr.tensor(0),) * 4)
    c, t = (
        fa.create_block_mask(m["causal"], 1, 1, 8, 8, BLOCK_SIZE=4, separate_full_blocks=False)
        for fa, m in ((cfa, mods[0]), (tfa, mods[1]))
    )
    assert c.full_kv_num_blocks is None and repr(c).replace("torch.Size", "") == repr(t).replace(
        "torch.Size", ""
    )
    assert len(c.as_tuple()) == len(t.as_tuple()) and c.to("cpu").shape == c.shape


def test_from_kv_blocks_and_dense_masking_semantics():
    # the eager path evaluates mask_mod densely: the block lists never change the result
    kv_num, kv_idx = [[[1, 1]]], [[[[0, 1], [1, 0]]]]
    full_num, full_idx = [[[0, 1]]], [[[[0, 1], [0, 1]]]]
    bms = [
        fa.BlockMask.from_kv_blocks(
            *(lib.tensor(x, dtype=lib.int32) for x in (kv_num, kv_idx, full_num, full_idx)),
            BLOCK_SIZE=4,
            mask_mod=lambda b, h, q, kv: q <= kv,
        )
        for fa, lib in ((cfa, cr), (tfa, torch))
    ]
    assert bms[0].seq_lengths == bms[1].seq_lengths == (8, 8)
    for field in _BLOCK_FIELDS:
        np.testing.assert_array_equal(
            getattr(bms[0], field).numpy(), getattr(bms[1], field).numpy()
        )
    q = _arrays((1, 1, 8, 3))[0]
    out = cfa.flex_attention(*[cr.tensor(q)] * 3, block_mask=bms[0])
    _close(out, tfa.flex_attention(*[torch.tensor(q)] * 3, block_mask=bms[1]), 1e-12)


def test_mask_combinators_and_mod_checks():
    args = [cr.tensor(0), cr.tensor(0), cr.tensor(1), cr.tensor(2)]
    assert bool(cfa.and_masks()(*args)) and not bool(cfa.or_masks()(*args))
    assert bool(cfa.noop_mask(*args))
    with pytest.raises(RuntimeError, match="callable"):
        cfa.and_masks(3)
    with pytest.raises(RuntimeError, match="callable"):
        tfa.and_masks(3)
    for fa in (cfa, tfa):
        with pytest.raises(AssertionError):
            fa.create_block_mask(lambda b, h, q, kv: q - kv, 1, 1, 4, 4, device="cpu")
        with pytest.raises(AssertionError):
            fa.create_block_mask(lambda s, b, h, q, kv: s, 1, 1, 4, 4, device="cpu")

    # a score_mod given to create_mask: True where it does not give -inf
    def capped(lib):
        return lambda s, b, h, q, kv: lib.where(q >= kv, s + 1, float("-inf"))

    mods = [capped(cr), capped(torch)]
    np.testing.assert_array_equal(
        cfa.create_mask(mods[0], None, 2, 3, 4, "cpu").numpy(),
        tfa.create_mask(mods[1], None, 2, 3, 4, "cpu").numpy(),
    )


def test_gradcheck_tiny():
    table = cr.tensor(np.random.default_rng(1).standard_normal(5), requires_grad=True)
    q, k, v = (
        cr.tensor(a, requires_grad=True) for a in _arrays((1, 1, 3, 2), (1, 1, 3, 2), (1, 1, 3, 2))
    )
    bm = cfa.create_block_mask(lambda b, h, i, j: i + 1 >= j, 1, 1, 3, 3, BLOCK_SIZE=2)

    def fn(q, k, v, table):
        return cfa.flex_attention(
            q, k, v, score_mod=lambda s, b, h, i, j: s + table[i - j + 2], block_mask=bm
        )

    assert cr.autograd.gradcheck(fn, (q, k, v, table))


def test_dtypes_follow_torch():
    for c_dt, t_dt, tol in ((cr.float32, torch.float32, 1e-5), (cr.float16, torch.float16, 2e-3)):
        q = _arrays((1, 2, 5, 4))[0]
        c_out, c_aux = cfa.flex_attention(
            *[cr.tensor(q, dtype=c_dt)] * 3, return_aux=cfa.AuxRequest(lse=True)
        )
        t_out, t_aux = tfa.flex_attention(
            *[torch.tensor(q, dtype=t_dt)] * 3, return_aux=tfa.AuxRequest(lse=True)
        )
        assert str(c_out.dtype) == str(t_out.dtype)
        assert str(c_aux.lse.dtype) == str(t_aux.lse.dtype)
        _close(c_out.to(cr.float64), t_out.double(), tol)
        _close(c_aux.lse, t_aux.lse, tol)


@pytest.mark.skipif(cr.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_cuda_device_without_gpu_raises():
    # torch without CUDA raises AssertionError; chainrule raises its own device error
    with pytest.raises(AssertionError):
        tfa.create_block_mask(lambda b, h, q, kv: q >= kv, 1, 1, 4, 4, device="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        cfa.create_block_mask(lambda b, h, q, kv: q >= kv, 1, 1, 4, 4, device="cuda")
