"""F.ctc_loss and nn.CTCLoss against PyTorch: values and gradients (float64), target
formats, reductions, impossible alignments, unbatched input, the module, bad inputs, and
what PyTorch does not support (double backward, forward mode)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck
from chainrule.nn.modules.loss import CTCLoss as CTCLossPath

TF = torch.nn.functional

T, N, C = 7, 3, 5
TARGETS = np.array([[1, 2, 2, 3], [4, 4, 0, 0], [1, 3, 1, 0]])  # repeated labels, padding
CONCAT = np.array([1, 2, 2, 3, 4, 4, 1, 3, 1])
IN_LEN = np.array([7, 6, 5])
TGT_LEN = np.array([4, 2, 3])


def _input(shape=(T, N, C), seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _arg(lib, v):
    """A NumPy array as ``lib``'s tensor; lists/tuples/ints stay as they are."""
    return lib.tensor(v) if isinstance(v, np.ndarray) else v


def _both(x, targets, il, tl, normalise=True, dtype=np.float64, **kw):
    """Loss and gradient w.r.t. ``x`` in both libraries, for the same upstream gradient.
    ``x`` is passed through log_softmax over its last dim unless ``normalise`` is False."""
    x = x.astype(dtype)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    clp = cx.log_softmax(-1) if normalise else cx
    tlp = tx.log_softmax(-1) if normalise else tx
    out = F.ctc_loss(clp, _arg(cr, targets), _arg(cr, il), _arg(cr, tl), **kw)
    tout = TF.ctc_loss(tlp, _arg(torch, targets), _arg(torch, il), _arg(torch, tl), **kw)
    up = np.random.default_rng(5).standard_normal(tuple(tout.shape)).astype(dtype)
    out.backward(cr.tensor(up))
    tout.backward(torch.tensor(up))
    return out.detach(), tout, cx.grad.numpy(), tx.grad.numpy()


def _assert_matches(x, targets, il, tl, tol=1e-10, **kw):
    out, tout, g, tg = _both(x, targets, il, tl, **kw)
    assert out.shape == tuple(tout.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(g, tg, rtol=tol, atol=tol)
    return out, g


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_padded_targets_match_torch(reduction):
    _assert_matches(_input(), TARGETS, IN_LEN, TGT_LEN, reduction=reduction)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_concatenated_targets_match_torch_and_padded(reduction):
    out, g = _assert_matches(_input(), CONCAT, IN_LEN, TGT_LEN, reduction=reduction)
    out_p, g_p = _assert_matches(_input(), TARGETS, IN_LEN, TGT_LEN, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), out_p.numpy(), rtol=1e-13)
    np.testing.assert_allclose(g, g_p, rtol=1e-13, atol=1e-15)


def test_lengths_as_lists_and_tuples_match_tensors():
    ref, _ = _assert_matches(_input(), TARGETS, IN_LEN, TGT_LEN, reduction="none")
    out_l, _ = _assert_matches(_input(), TARGETS, [7, 6, 5], [4, 2, 3], reduction="none")
    out_t, _ = _assert_matches(_input(), TARGETS, (7, 6, 5), (4, 2, 3), reduction="none")
    np.testing.assert_array_equal(out_l.numpy(), ref.numpy())
    np.testing.assert_array_equal(out_t.numpy(), ref.numpy())
    # list elements may be 0-d integer tensors, as in PyTorch
    out = F.ctc_loss(
        cr.tensor(_input()).log_softmax(2),
        cr.tensor(TARGETS),
        [cr.tensor(7), 6, 5],
        [4, cr.tensor(2), 3],
        reduction="none",
    )
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-14)


def test_repeated_labels_need_a_blank_between_them():
    # "1 1" fits in 3 frames (1 _ 1) but not in 2; "1 2" fits in 2.
    x = _input((3, 2, 4))
    out, _ = _assert_matches(
        x, np.array([[1, 1], [1, 2]]), np.array([2, 2]), np.array([2, 2]), reduction="none"
    )
    assert np.isinf(out.numpy()[0]) and np.isfinite(out.numpy()[1])
    out3, _ = _assert_matches(x[:, :1], np.array([[1, 1]]), [3], [2], reduction="none")
    assert np.isfinite(out3.numpy()).all()


def test_impossible_alignment_is_inf_with_nan_gradient_as_torch():
    targets = np.array([[1, 1, 1, 0], [4, 4, 0, 0], [1, 3, 1, 0]])
    il = np.array([4, 6, 5])  # sample 0 needs 5 frames for 1 _ 1 _ 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy overflow / invalid-value warnings
        out, tout, g, tg = _both(_input(), targets, il, TGT_LEN, reduction="none")
    assert np.isinf(out.numpy()[0]) and np.isfinite(out.numpy()[1:]).all()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    # PyTorch: NaN for frames t < input_length of the impossible sample, 0 after.
    np.testing.assert_array_equal(np.isnan(g), np.isnan(tg))
    assert np.isnan(g[:4, 0]).all() and (g[4:, 0] == 0).all()
    np.testing.assert_allclose(g[:, 1:], tg[:, 1:], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_zero_infinity_zeroes_loss_and_gradient(reduction):
    targets = np.array([[1, 1, 1, 0], [4, 4, 0, 0], [1, 3, 1, 0]])
    il = np.array([4, 6, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, g = _assert_matches(
            _input(), targets, il, TGT_LEN, reduction=reduction, zero_infinity=True
        )
    assert np.isfinite(out.numpy()).all()
    assert (g[:, 0] == 0).all() and np.abs(g[:, 1:]).max() > 0


def test_zero_lengths_match_torch():
    # an empty target (tl = 0) is the all-blank path; mean divides by max(tl, 1)
    _assert_matches(_input(), TARGETS, IN_LEN, np.array([0, 2, 0]), reduction="mean")
    # no frames: loss 0 for an empty target, inf otherwise
    out, _ = _assert_matches(
        _input(), TARGETS, np.array([0, 6, 0]), np.array([0, 2, 1]), reduction="none"
    )
    assert out.numpy()[0] == 0 and np.isinf(out.numpy()[2])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_unbatched_input_matches_torch(reduction):
    x = _input((T, C))
    out, _ = _assert_matches(x, CONCAT[:4], np.array(7), np.array(4), reduction=reduction)
    assert out.shape == ()
    # padded (1, S) targets and length lists give the same
    out_p, _ = _assert_matches(x, TARGETS[:1], [7], [4], reduction=reduction)
    np.testing.assert_allclose(out_p.numpy(), out.numpy(), rtol=1e-13)


def test_nonzero_blank_matches_torch():
    targets = np.array([[0, 1, 1, 2], [3, 3, 0, 0], [0, 2, 0, 0]])
    _assert_matches(_input(), targets, IN_LEN, TGT_LEN, blank=4, reduction="sum")
    _assert_matches(_input(), targets + (targets >= 2), IN_LEN, TGT_LEN, blank=2)


def test_long_peaked_sequence_is_stable():
    # sharply peaked log-probabilities over many frames: no overflow, no warning
    x = _input((120, 4, 6), seed=3, scale=30.0)
    targets = np.random.default_rng(4).integers(1, 6, (4, 25))
    il, tl = np.array([120, 100, 80, 60]), np.array([25, 20, 10, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, g = _assert_matches(x, targets, il, tl, tol=1e-8, reduction="none")
    assert np.isfinite(out.numpy()).all() and np.isfinite(g).all()


def test_gradcheck_through_log_softmax():
    x = cr.tensor(_input((5, 2, 4)), requires_grad=True)
    tg, il, tl = cr.tensor([[1, 2, 2], [3, 1, 0]]), cr.tensor([5, 4]), cr.tensor([3, 2])
    for kw in ({}, {"reduction": "none"}, {"reduction": "sum", "blank": 3}):
        targets = tg if "blank" not in kw else cr.tensor([[1, 2, 2], [0, 1, 0]])

        def fn(a, targets=targets, kw=kw):
            return F.ctc_loss(a.log_softmax(2), targets, il, tl, **kw)

        assert gradcheck(fn, [x])


def test_unnormalised_input_gradient_is_torchs():
    """PyTorch's gradient is exp(lp) - occupancy: the derivative through log_softmax, not of
    the loss w.r.t. unnormalised log_probs. chainrule returns the same; the difference from
    the true derivative is exactly exp(lp) on each sample's frames."""
    x = _input()
    out, tout, g, tg = _both(x, TARGETS, IN_LEN, TGT_LEN, normalise=False, reduction="sum")
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12)
    up = np.random.default_rng(5).standard_normal(())
    # the true derivative, by central differences on the forward
    lp, eps = x.copy(), 1e-6
    true = np.zeros_like(lp)
    tg_c, il_c, tl_c = cr.tensor(TARGETS), cr.tensor(IN_LEN), cr.tensor(TGT_LEN)
    for i in np.ndindex(lp.shape):
        hi, lo = lp.copy(), lp.copy()
        hi[i] += eps
        lo[i] -= eps
        f_hi = F.ctc_loss(cr.tensor(hi), tg_c, il_c, tl_c, reduction="sum").item()
        f_lo = F.ctc_loss(cr.tensor(lo), tg_c, il_c, tl_c, reduction="sum").item()
        true[i] = up * (f_hi - f_lo) / (2 * eps)
    in_time = (np.arange(T)[:, None] < IN_LEN[None, :])[..., None]
    np.testing.assert_allclose(g - true, up * np.exp(lp) * in_time, atol=1e-6)


def test_float32_module_call_matches_torch():
    x = _input(seed=2).astype(np.float32)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = cr.nn.CTCLoss()(
        cx.log_softmax(2), cr.tensor(TARGETS), cr.tensor(IN_LEN), cr.tensor([4, 2, 3])
    )
    tloss = torch.nn.CTCLoss()(
        tx.log_softmax(2), torch.tensor(TARGETS), torch.tensor(IN_LEN), torch.tensor([4, 2, 3])
    )
    assert loss.dtype == np.float32 and loss.shape == ()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    loss.backward()
    tloss.backward()
    assert cx.grad.dtype == np.float32
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "kw", [{}, {"blank": 4, "reduction": "sum"}, {"reduction": "none", "zero_infinity": True}]
)
def test_module_matches_functional_and_torch(kw):
    m, tm = cr.nn.CTCLoss(**kw), torch.nn.CTCLoss(**kw)
    assert (m.blank, m.reduction, m.zero_infinity) == (tm.blank, tm.reduction, tm.zero_infinity)
    targets = TARGETS if kw.get("blank") != 4 else np.array([[0, 1, 1, 2], [3, 3, 0, 0], [0] * 4])
    x = _input(seed=1)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args = (cr.tensor(targets), cr.tensor(IN_LEN), cr.tensor(TGT_LEN))
    targs = (torch.tensor(targets), torch.tensor(IN_LEN), torch.tensor(TGT_LEN))
    out, tout = m(cx.log_softmax(2), *args), tm(tx.log_softmax(2), *targs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10)
    np.testing.assert_array_equal(
        out.detach().numpy(), F.ctc_loss(cx.log_softmax(2), *args, **kw).detach().numpy()
    )
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_module_defaults_repr_state_and_path():
    m = cr.nn.CTCLoss()
    assert (m.blank, m.reduction, m.zero_infinity) == (0, "mean", False)
    assert repr(m) == "CTCLoss()"
    assert m.state_dict() == {} and list(m.parameters()) == []
    assert CTCLossPath is cr.nn.CTCLoss
    assert "ctc_loss" in F.__all__
    m = cr.nn.CTCLoss(reduction="avg")  # PyTorch checks ``reduction`` when called
    lp, tg = cr.randn(5, 1, 4).log_softmax(2), cr.tensor([[1, 2]])
    with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
        m(lp, tg, cr.tensor([5]), cr.tensor([2]))


def test_double_backward_raises_as_torch():
    x = cr.tensor(_input((5, 2, 4)), requires_grad=True)
    loss = F.ctc_loss(x.log_softmax(2), cr.tensor([[1, 2], [3, 1]]), [5, 4], [2, 2])
    (g,) = cr.autograd.grad(loss, [x], create_graph=True)
    tx = torch.tensor(_input((5, 2, 4)), requires_grad=True)
    tloss = TF.ctc_loss(tx.log_softmax(2), torch.tensor([[1, 2], [3, 1]]), [5, 4], [2, 2])
    (tg,) = torch.autograd.grad(tloss, [tx], create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(tg.sum(), [tx])
    with pytest.raises(RuntimeError, match="CtcLoss.*double backward"):
        cr.autograd.grad(g.sum(), [x])


def test_forward_mode_raises_as_torch():
    x = _input((5, 2, 4))
    fn = lambda a: F.ctc_loss(a.log_softmax(2), cr.tensor([[1, 2], [3, 1]]), [5, 4], [2, 2])  # noqa: E731
    with pytest.raises(NotImplementedError, match="CtcLoss"):
        cr.func.jvp(fn, (cr.tensor(x),), (cr.ones(5, 2, 4, dtype=cr.float64),))
    import torch.autograd.forward_ad as fwAD  # noqa: PLC0415 - torch's forward mode, here only

    with pytest.raises(NotImplementedError), fwAD.dual_level():
        d = fwAD.make_dual(torch.tensor(x), torch.ones(5, 2, 4, dtype=torch.float64))
        TF.ctc_loss(d.log_softmax(2), torch.tensor([[1, 2], [3, 1]]), [5, 4], [2, 2])


def test_modifying_the_output_in_place_raises():
    x = cr.tensor(_input(), requires_grad=True)
    out = F.ctc_loss(
        x.log_softmax(2), cr.tensor(TARGETS), IN_LEN.tolist(), TGT_LEN.tolist(), reduction="none"
    )
    out.mul_(2)
    with pytest.raises(RuntimeError, match="inplace operation"):
        out.sum().backward()


def _lp(lib, shape=(T, N, C)):
    return lib.tensor(_input(shape)).log_softmax(-1)


BAD_CALLS = {
    "python_int_lengths": lambda lib: (_lp(lib), lib.tensor(TARGETS), 7, 4),
    "mixed_length_kinds": lambda lib: (
        _lp(lib),
        lib.tensor(TARGETS),
        lib.tensor(IN_LEN),
        [4, 2, 3],
    ),
    "float_list_lengths": lambda lib: (_lp(lib), lib.tensor(TARGETS), [7.0, 6.0, 5.0], [4, 2, 3]),
    "bool_lengths": lambda lib: (
        _lp(lib),
        lib.tensor(TARGETS),
        lib.tensor(IN_LEN) > 0,
        lib.tensor(TGT_LEN),
    ),
    "float16": lambda lib: (
        _lp(lib).half(),
        lib.tensor(TARGETS),
        lib.tensor(IN_LEN),
        lib.tensor(TGT_LEN),
    ),
    "empty_batch": lambda lib: (
        _lp(lib, (T, 0, C)),
        lib.tensor(TARGETS[:0]),
        lib.tensor(IN_LEN[:0]),
        lib.tensor(TGT_LEN[:0]),
    ),
    "one_dim_log_probs": lambda lib: (_lp(lib, (T,)), lib.tensor(TARGETS[0]), [7], [4]),
    "zero_dim_targets": lambda lib: (_lp(lib, (T, C)), lib.tensor(1), lib.tensor(7), lib.tensor(1)),
    "unbatched_length_list_too_long": lambda lib: (
        _lp(lib, (T, C)),
        lib.tensor(CONCAT[:4]),
        [7, 7],
        [4, 4],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_inputs_raise_like_torch(case):
    with pytest.raises(Exception) as terr:
        TF.ctc_loss(*BAD_CALLS[case](torch))
    with pytest.raises(type(terr.value), match="ctc_loss"):
        F.ctc_loss(*BAD_CALLS[case](cr))


@pytest.mark.parametrize("bad", [5, -1, 9])
def test_out_of_range_target_labels_raise(bad):
    """PyTorch's CPU kernel reads out of bounds (undefined values) for labels outside
    [0, C); chainrule refuses them clearly."""
    targets = TARGETS.copy()
    targets[1, 0] = bad
    with pytest.raises(RuntimeError, match=r"ctc_loss: target labels .*\[0, 5\)"):
        F.ctc_loss(_lp(cr), cr.tensor(targets), cr.tensor(IN_LEN), cr.tensor(TGT_LEN))
    # labels beyond a sample's target length are padding and never read
    targets = TARGETS.copy()
    targets[1, 3] = bad
    _assert_matches(_input(), targets, IN_LEN, TGT_LEN, reduction="none")


def test_blank_inside_targets_scores_as_torch():
    """A label equal to blank (invalid per PyTorch's docs, but not refused) gives PyTorch's
    loss. PyTorch's gradient at the last frame then drops a term (its kernel assumes the last
    label differs from blank); chainrule's stays the exact derivative (gradcheck holds)."""
    targets = np.array([[1, 0, 2, 3], [4, 4, 0, 0], [1, 3, 0, 0]])
    out, tout, _, _ = _both(_input(), targets, IN_LEN, TGT_LEN, reduction="none")
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    x = cr.tensor(_input((5, 2, 4)), requires_grad=True)
    tg = cr.tensor([[1, 0], [3, 0]])
    assert gradcheck(lambda a: F.ctc_loss(a.log_softmax(2), tg, [5, 4], [2, 2]), [x])


def test_minus_inf_log_prob_gets_zero_gradient():
    """A class with log-probability -inf (an underflowed log_softmax) that no alignment uses:
    PyTorch's gradient there is NaN (-inf + inf); chainrule's is 0 (occupancy and exp(lp)
    are both 0). Elsewhere the two agree."""
    x = _input((5, 1, 4))
    lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    lp[:, :, 3] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, tout, g, tg = _both(lp, np.array([[1, 2]]), [5], [2], normalise=False)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    assert np.isnan(tg[..., 3]).all() and (g[..., 3] == 0).all()
    np.testing.assert_allclose(g[..., :3], tg[..., :3], rtol=1e-10, atol=1e-12)
