"""``F.embedding_bag`` and ``nn.EmbeddingBag`` against PyTorch 2.13.

Values and gradients (weight and per-sample weights) in float64 over every mode, 2-d and
1-d + offsets inputs, include_last_offset, empty bags, padding_idx and max_norm; the cases
where PyTorch's own kernels disagree with its documentation (scale_grad_by_freq, a last
offset short of the input) against the documented rule; the module's constructor, repr,
state_dict, reset_parameters and from_pretrained; double backward (which PyTorch lacks)
against PyTorch's composite of ``F.embedding`` and ``index_add``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd.graph import walk

RNG = np.random.default_rng(0)
W = RNG.standard_normal((7, 4))
IDX1 = np.array([0, 2, 5, 1, 2, 3, 4, 6, 6, 2])
UPSTREAM_SEED = 1


def _run(lib, idx, weight, offsets=None, psw=None, **kw):
    """Forward and backward with a fixed random upstream gradient; returns the output,
    the weight after the call (max_norm renormalises it), and the two gradients."""
    w = lib.tensor(weight.copy(), requires_grad=True)
    p = None if psw is None else lib.tensor(psw.copy(), requires_grad=True)
    off = None if offsets is None else lib.tensor(offsets)
    out = lib.nn.functional.embedding_bag(lib.tensor(idx), w, off, per_sample_weights=p, **kw)
    up = np.random.default_rng(UPSTREAM_SEED).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(up))
    return (
        out.detach().numpy(),
        w.detach().numpy(),
        w.grad.numpy(),
        None if p is None else p.grad.numpy(),
    )


def _assert_like_torch(idx, offsets=None, psw=None, weight=W, **kw):
    got = _run(cr, idx, weight, offsets, psw, **kw)
    want = _run(torch, idx, weight, offsets, psw, **kw)
    for name, g, t in zip(("output", "weight after", "weight grad", "psw grad"), got, want):
        if t is None:
            assert g is None
            continue
        assert g.shape == t.shape and g.dtype == t.dtype, name
        np.testing.assert_allclose(g, t, rtol=1e-12, atol=1e-12, err_msg=f"{name}: {kw}")


LAYOUTS = [
    pytest.param(np.array([[0, 2, 2], [4, 1, 0], [6, 6, 3]]), None, {}, id="2d"),
    pytest.param(IDX1, np.array([0, 3, 3, 5]), {}, id="offsets_empty_bag"),
    pytest.param(IDX1, np.array([0, 0, 4, 10]), {}, id="offsets_empty_first_and_last"),
    pytest.param(
        IDX1, np.array([0, 3, 3, 5, 10]), {"include_last_offset": True}, id="include_last"
    ),
    pytest.param(np.array([], dtype=np.int64), np.array([0, 0]), {}, id="no_indices"),
    pytest.param(IDX1.astype(np.int32), np.array([0, 4], dtype=np.int32), {}, id="int32"),
]
OPTIONS = [
    pytest.param({}, id="plain"),
    pytest.param({"padding_idx": 2}, id="padding"),
    pytest.param({"padding_idx": -1}, id="padding_negative"),
    pytest.param({"max_norm": 1.2}, id="max_norm"),
    pytest.param({"max_norm": 2.0, "norm_type": 1.0, "padding_idx": 6}, id="max_norm_p1_padding"),
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("idx,offsets,layout", LAYOUTS)
def test_values_and_weight_gradient_match_torch(idx, offsets, layout, options, mode):
    _assert_like_torch(idx, offsets, mode=mode, **layout, **options)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("idx,offsets,layout", LAYOUTS)
def test_per_sample_weights_gradients_match_torch(idx, offsets, layout, options):
    psw = RNG.standard_normal(idx.shape)
    _assert_like_torch(idx, offsets, psw, mode="sum", **layout, **options)


def test_max_mode_ties_nan_and_signed_zero_follow_torch():
    """First of equal maxima wins (strict >); a NaN first in its bag wins, a later one is
    skipped; -0.0 before 0.0 stays -0.0."""
    w = np.array([[1.0, 2.0], [1.0, 2.0], [0.5, 3.0], [np.nan, -0.0], [0.0, 0.0]])
    for idx in ([[0, 1, 2]], [[1, 0, 2]], [[3, 4, 0]], [[4, 3, 1]], [[3, 3, 3]]):
        got = _run(cr, np.array(idx), w, mode="max")
        want = _run(torch, np.array(idx), w, mode="max")
        for g, t in zip(got[:3], want[:3]):
            np.testing.assert_array_equal(g, t)
            np.testing.assert_array_equal(np.signbit(g), np.signbit(t))


def test_all_padding_bag_and_all_empty_bags_give_zeros_with_zero_gradient():
    for mode in ("sum", "mean", "max"):
        _assert_like_torch(np.array([[2, 2], [2, 1]]), mode=mode, padding_idx=2)
        _assert_like_torch(np.array([], dtype=np.int64), np.array([0, 0, 0]), mode=mode)
    out = cr.nn.functional.embedding_bag(
        cr.tensor([], dtype=cr.int64), cr.tensor(W), cr.tensor([0, 0]), mode="max"
    )
    assert out.shape == (2, 4) and not out.numpy().any()


def _embedding_reference(idx, weight, offsets, mode, **kw):
    """PyTorch's F.embedding (whose scale_grad_by_freq follows the documentation) summed per
    bag with index_add: the documented meaning of embedding_bag."""
    w = torch.tensor(weight.copy(), requires_grad=True)
    rows = torch.nn.functional.embedding(torch.tensor(idx), w, **kw)
    bag = np.repeat(np.arange(len(offsets)), np.diff(offsets, append=len(idx)))
    out = torch.zeros(len(offsets), weight.shape[1], dtype=w.dtype).index_add(
        0, torch.tensor(bag), rows
    )
    if mode == "mean":
        out = out / torch.tensor(np.maximum(np.bincount(bag, minlength=len(offsets)), 1))[:, None]
    up = np.random.default_rng(UPSTREAM_SEED).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(up))
    return out.detach().numpy(), w.grad.numpy()


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_by_the_index_count_as_f_embedding(mode):
    """PyTorch 2.13's CPU embedding_bag kernel scales some rows by another index's count
    (e.g. input [0, 1, 1, 2, 3, 3]: row 2 halved, row 3 not); chainrule follows the documented
    rule, which PyTorch's F.embedding implements."""
    offsets = np.array([0, 2, 4])
    got = _run(cr, IDX1, W, offsets, mode=mode, scale_grad_by_freq=True)
    out, grad = _embedding_reference(IDX1, W, offsets, mode, scale_grad_by_freq=True)
    np.testing.assert_allclose(got[0], out, rtol=1e-12)
    np.testing.assert_allclose(got[2], grad, rtol=1e-12)
    plain = _run(cr, IDX1, W, offsets, mode=mode)
    assert not np.allclose(got[2], plain[2])  # the option did something


def test_scale_grad_by_freq_leaves_padding_out_of_the_counts():
    idx, offsets = np.array([1, 1, 2, 3, 3, 3]), np.array([0, 3])
    got = _run(cr, idx, W, offsets, mode="sum", scale_grad_by_freq=True, padding_idx=1)
    _, grad = _embedding_reference(idx, W, offsets, "sum", scale_grad_by_freq=True)
    grad[1] = 0.0
    np.testing.assert_allclose(got[2], grad, rtol=1e-12)


def test_last_offset_short_of_the_input_ends_the_last_bag():
    """include_last_offset with offsets[-1] < len(input): the last bag ends at offsets[-1]
    (CSR, as PyTorch's float32 'sum' kernel; its float64 and 'max' kernels run the last bag
    to the end of the input instead)."""
    idx, offsets = np.array([0, 1, 2, 3, 4, 5]), np.array([0, 2, 3])
    w32 = W.astype(np.float32)
    got = cr.nn.functional.embedding_bag(
        cr.tensor(idx), cr.tensor(w32), cr.tensor(offsets), mode="sum", include_last_offset=True
    )
    want = torch.nn.functional.embedding_bag(
        torch.tensor(idx),
        torch.tensor(w32),
        torch.tensor(offsets),
        mode="sum",
        include_last_offset=True,
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got.numpy(), np.stack([w32[0] + w32[1], w32[2]]), rtol=1e-6)
    # an index after the last offset is not in a bag, so it is not range-checked
    out = cr.nn.functional.embedding_bag(
        cr.tensor([0, 1, 99]), cr.tensor(W), cr.tensor([0, 1, 2]), include_last_offset=True
    )
    np.testing.assert_allclose(out.numpy(), W[:2])


def test_double_backward_matches_torch_composite():
    """PyTorch has no double backward for embedding_bag; chainrule's gradient is itself
    differentiable. Second derivatives against torch's F.embedding * psw + index_add."""
    idx, offsets = IDX1, np.array([0, 3, 3, 5])
    psw = RNG.standard_normal(idx.shape)
    bag = torch.tensor(np.repeat(np.arange(4), np.diff(offsets, append=len(idx))))

    def grads(lib):
        w = lib.tensor(W.copy(), requires_grad=True)
        p = lib.tensor(psw.copy(), requires_grad=True)
        if lib is torch:
            rows = torch.nn.functional.embedding(torch.tensor(idx), w) * p[:, None]
            out = torch.zeros(4, 4, dtype=w.dtype).index_add(0, bag, rows)
        else:
            out = cr.nn.functional.embedding_bag(
                cr.tensor(idx), w, cr.tensor(offsets), mode="sum", per_sample_weights=p
            )
        loss = (out**2).sum()
        gw, gp = lib.autograd.grad(loss, (w, p), create_graph=True)
        (gw.sum() + (gp**3).sum()).backward()
        return w.grad.numpy(), p.grad.numpy()

    for g, t in zip(grads(cr), grads(torch)):
        np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-12)
    with pytest.raises(NotImplementedError):  # what chainrule goes beyond
        w = torch.tensor(W, requires_grad=True)
        out = torch.nn.functional.embedding_bag(torch.tensor(idx), w, torch.tensor(offsets))
        (g,) = torch.autograd.grad(out.pow(2).sum(), w, create_graph=True)
        g.sum().backward()


def test_graph_size_does_not_grow_with_the_number_of_bags():
    """One gather and one segment reduction, not a node per bag."""
    w = cr.tensor(W, requires_grad=True)

    def nodes(nbags, mode):
        idx = cr.tensor(RNG.integers(0, 7, size=(nbags, 5)))
        return len(list(walk(cr.nn.functional.embedding_bag(idx, w, mode=mode))))

    for mode in ("sum", "mean", "max"):
        assert nodes(2, mode) == nodes(500, mode) <= 3


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda w: _bag(w, [0, 2, 1], [0, 2, 1]), RuntimeError, "non-decreasing"),
        (lambda w: _bag(w, [0, 2, 1], []), RuntimeError, "at least 1"),
        (lambda w: _bag(w, [[0, 1]], mode="max", sparse=True), ValueError, "sparse"),
        (lambda w: _bag(w, [[0, 9]], max_norm=1.0), IndexError, "index out of range"),
        (lambda w: _bag(w, [[0, 1]], weight_dtype=cr.int64), RuntimeError, "floating"),
        (lambda w: cr.nn.functional.embedding_bag(cr.tensor([[0]]), W), TypeError, "Tensor"),
    ],
    ids=["decreasing", "empty_offsets", "sparse", "max_norm_oob", "int_weight", "numpy_w"],
)
def test_bad_arguments_raise_clearly(call, error, match):
    with pytest.raises(error, match=match) as info:
        call(cr.tensor(W))
    assert "embedding_bag" in str(info.value)


def _bag(w, idx, offsets=None, weight_dtype=None, **kw):
    weight = w if weight_dtype is None else w.to(weight_dtype)
    off = None if offsets is None else cr.tensor(offsets, dtype=cr.int64)
    return cr.nn.functional.embedding_bag(cr.tensor(idx, dtype=cr.int64), weight, off, **kw)


def test_old_argument_order_warns_and_works_as_torch():
    with pytest.warns(UserWarning, match="Argument order"):
        got = cr.nn.functional.embedding_bag(cr.tensor(W), cr.tensor([[0, 3]]))
    with pytest.warns(UserWarning, match="Argument order"):
        want = torch.nn.functional.embedding_bag(torch.tensor(W), torch.tensor([[0, 3]]))
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_weight_without_grad_gives_constant_output_but_psw_gradient_flows():
    out = cr.nn.functional.embedding_bag(cr.tensor([[0, 1]]), cr.tensor(W))
    assert not out.requires_grad
    p = cr.tensor([[0.5, 2.0]], dtype=cr.float64, requires_grad=True)
    out = cr.nn.functional.embedding_bag(
        cr.tensor([[0, 1]]), cr.tensor(W), mode="sum", per_sample_weights=p
    )
    out.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), W[[0, 1]].sum(1)[None])


# ------------------------------------------------------------------ nn.EmbeddingBag


def _pair(**kw):
    cr.manual_seed(0)
    m = cr.nn.EmbeddingBag(7, 4, **kw)
    t = torch.nn.EmbeddingBag(7, 4, **kw)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(m.weight.detach().numpy()))
    return m, t


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mode": "sum"},
        {"mode": "max", "padding_idx": 3},
        {"mode": "sum", "include_last_offset": True, "max_norm": 1.0},
        {"scale_grad_by_freq": True, "norm_type": 3.0, "padding_idx": -2},
    ],
)
def test_module_matches_torch_in_float32(kw):
    m, t = _pair(**kw)
    assert m.weight.dtype == np.float32 and repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict()) == ["weight"]
    idx, offsets = np.array([1, 2, 4, 5, 4, 3, 2, 6]), np.array([0, 2, 2, 5, 8])
    if not kw.get("include_last_offset"):
        offsets = offsets[:-1]
    got = m(cr.tensor(idx), cr.tensor(offsets))
    want = t(torch.tensor(idx), torch.tensor(offsets))
    assert got.dtype == np.float32 and got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(m.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)


def test_module_per_sample_weights_and_2d_input():
    m, t = _pair(mode="sum")
    idx = np.array([[0, 1, 1], [6, 5, 0]])
    psw = RNG.standard_normal(idx.shape).astype(np.float32)
    got = m(cr.tensor(idx), per_sample_weights=cr.tensor(psw))
    want = t(torch.tensor(idx), per_sample_weights=torch.tensor(psw))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-6)


def test_module_constructor_defaults_and_init():
    m = cr.nn.EmbeddingBag(50, 8, padding_idx=-1)
    assert (m.num_embeddings, m.embedding_dim, m.mode, m.padding_idx) == (50, 8, "mean", 49)
    assert m.max_norm is None and m.norm_type == 2.0 and m.scale_grad_by_freq is False
    assert m.sparse is False and m.include_last_offset is False
    assert not m.weight.detach().numpy()[49].any()
    assert 0.7 < m.weight.detach().numpy()[:49].std() < 1.3  # N(0, 1)
    m.weight.detach().numpy()[49] = 5.0
    m.reset_parameters()
    assert not m.weight.detach().numpy()[49].any()
    assert cr.nn.EmbeddingBag(3, 2, dtype=cr.float64).weight.dtype == np.float64
    assert cr.nn.modules.sparse.EmbeddingBag is cr.nn.EmbeddingBag
    assert "EmbeddingBag" in cr.nn.layers.__all__ and "embedding_bag" in cr.nn.functional.__all__
    assert repr(cr.nn.EmbeddingBag(5, 3)) == repr(torch.nn.EmbeddingBag(5, 3))


def test_module_weight_argument_and_from_pretrained():
    w = cr.tensor(W)
    m = cr.nn.EmbeddingBag(7, 4, _weight=w, padding_idx=0)
    np.testing.assert_array_equal(m.weight.detach().numpy(), W)  # not re-initialised
    assert m.weight.requires_grad
    pre = cr.nn.EmbeddingBag.from_pretrained(cr.tensor(W), mode="max", padding_idx=1)
    tpre = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(W), mode="max", padding_idx=1)
    assert not pre.weight.requires_grad and repr(pre) == repr(tpre)
    np.testing.assert_array_equal(pre.weight.detach().numpy(), W)
    idx = np.array([[1, 2], [3, 1]])
    np.testing.assert_allclose(pre(cr.tensor(idx)).numpy(), tpre(torch.tensor(idx)).numpy())
    unfrozen = cr.nn.EmbeddingBag.from_pretrained(cr.tensor(W), freeze=False)
    assert unfrozen.weight.requires_grad
    with pytest.raises(ValueError, match="2-d"):
        cr.nn.EmbeddingBag.from_pretrained(cr.tensor(W[0]))


def test_module_loads_a_torch_state_dict():
    t = torch.nn.EmbeddingBag(7, 4, mode="sum").double()
    m = cr.nn.EmbeddingBag(7, 4, mode="sum", dtype=cr.float64)
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    idx = np.array([[1, 2, 3]])
    np.testing.assert_allclose(m(cr.tensor(idx)).detach().numpy(), t(torch.tensor(idx)).detach())


@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"padding_idx": 7}, ValueError, "padding_idx"),
        ({"padding_idx": -8}, ValueError, "padding_idx"),
        ({"_weight": cr.tensor(W[:3])}, ValueError, "_weight"),
    ],
)
def test_module_bad_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        cr.nn.EmbeddingBag(7, 4, **kw)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_changing_the_indices_after_forward_leaves_the_gradient_right(mode):
    """The op keeps its own copy of the indices (PyTorch saves ``input`` and raises)."""
    idx = np.array([[0, 2, 2], [4, 1, 0]])
    cidx = cr.tensor(idx)
    w = cr.tensor(W, requires_grad=True)
    out = cr.nn.functional.embedding_bag(cidx, w, mode=mode)
    cidx.zero_()
    out.sum().backward()
    tw = torch.tensor(W, requires_grad=True)
    torch.nn.functional.embedding_bag(torch.tensor(idx), tw, mode=mode).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


SPARSE_CASES = [
    pytest.param({"mode": "sum"}, False, id="sum_1d"),
    pytest.param({"mode": "mean"}, False, id="mean_1d"),
    pytest.param({"mode": "sum", "psw": True}, False, id="sum_weights"),
    pytest.param({"mode": "mean", "padding_idx": 2}, False, id="mean_padding"),
    pytest.param({"mode": "sum", "padding_idx": 5}, True, id="sum_2d_padding"),
    pytest.param({"mode": "mean"}, True, id="mean_2d"),
]


@pytest.mark.parametrize(("kw", "two_d"), SPARSE_CASES)
def test_sparse_gradient_is_torchs(kw, two_d):
    """``sparse=True``: the weight's gradient is PyTorch's uncoalesced sparse tensor, one
    entry per looked-up index in input order (padding left out), its value that lookup's
    share of its bag's gradient (times its per-sample weight; over the bag size for 'mean')."""
    kw = dict(kw)
    psw = kw.pop("psw", False)
    got = []
    for lib in (cr, torch):
        w = lib.tensor(W, requires_grad=True)
        if two_d:
            idx, off = lib.tensor([[1, 2, 2], [5, 0, 1]]), None
        else:
            idx, off = lib.tensor([1, 2, 2, 5, 0, 1, 3]), lib.tensor([0, 2, 2, 5])
        weights = lib.tensor(np.linspace(0.5, 2, idx.numel()).reshape(idx.shape)) if psw else None
        out = lib.nn.functional.embedding_bag(
            idx, w, off, per_sample_weights=weights, sparse=True, **kw
        )
        scale = lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape) + 1)
        (out * scale).sum().backward()
        g = w.grad
        assert g.is_sparse and not g.is_coalesced()
        got.append((g._indices().numpy(), g._values().numpy(), g.to_dense().numpy()))
    for mine, theirs in zip(got[0], got[1]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)


def test_sparse_module_trains_like_torch():
    """``nn.EmbeddingBag(sparse=True)`` (the fastText-style classifier of PyTorch's text
    tutorial) with SGD, Adagrad and SparseAdam: the same weights as PyTorch after 3 steps."""
    for opt_name, kw in (("SGD", {"lr": 0.5}), ("Adagrad", {"lr": 0.3}), ("SparseAdam", {})):
        finals = []
        for lib in (cr, torch):
            bag = lib.nn.EmbeddingBag(7, 4, mode="mean", sparse=True, dtype=lib.float64)
            with lib.no_grad():
                bag.weight.copy_(lib.tensor(W))
            opt = getattr(lib.optim, opt_name)(bag.parameters(), **kw)
            for step in range(3):
                opt.zero_grad()
                idx = lib.tensor([step, 2, 4, 6, step + 1, 2])
                out = bag(idx, lib.tensor([0, 3]))
                (out**2).sum().backward()
                opt.step()
            finals.append(bag.weight.detach().numpy())
        np.testing.assert_allclose(finals[0], finals[1], rtol=1e-10, err_msg=opt_name)
