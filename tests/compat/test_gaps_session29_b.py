"""Gaps found by the session-29 (batch b) drop-in programs (``hf_gpt_neox_pythia``,
``timm_resmlp_ema_agc``, ``keras_style_tabular_fit``), each checked against PyTorch.

- ``Tensor.stride()`` of a size-1 dim made by ``None`` indexing or ``expand``/``broadcast_to``
  (Hugging Face's ``mask[None, None, :, :].expand(bsz, 1, q, k)``) read 0, NumPy's stride;
  PyTorch gives such a dim the unsqueeze rule's ``size * stride`` of the next dim (1 for the
  last). Strides set explicitly (``as_strided``, ``empty_strided``) are still reported as set.
- ``binary_cross_entropy_with_logits`` of logits and targets of two floating dtypes (float64
  logits with a ``y.float()`` target, the Keras-style loop's) computed the loss wholly in
  the wider dtype and rounded once, a ``ToCopyBackward0`` node after it; PyTorch's one
  ``BinaryCrossEntropyWithLogitsBackward0`` node rounds as its composition does
  (``log_sigmoid`` in the logits' dtype, ``(1 - t).mul_(x).sub_(...)`` stored in the
  target's): the element losses differed by ~5e-6 (float32) and ~0.1 (bfloat16) relative.
  With a float32 ``pos_weight`` its gradient ``(pos_weight * t + 1 - t) * sigmoid(x) -
  pos_weight * t`` is computed in float32 and differed by ~4e-5 relative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]

STRIDE_CASES = {
    "none_none": lambda m: m.zeros(3, 7)[None, None],
    "none_mid": lambda m: m.zeros(3, 4)[:, None, :],
    "none_last": lambda m: m.zeros(3, 4)[..., None],
    "none_transposed": lambda m: m.zeros(4, 3).t()[None],
    "hf_mask_expand": lambda m: m.zeros(3, 7)[None, None, :, :].expand(2, 1, 3, 7),
    "hf_mask_expand_minus1": lambda m: m.zeros(3, 7)[None, None, :, :].expand(2, 1, -1, -1),
    "expand_new_size1": lambda m: m.zeros(3).expand(1, 3),
    "expand_new_dims": lambda m: m.zeros(3).expand(2, 1, 3),
    "expand_kept_size1": lambda m: m.zeros(1, 3).expand(1, 3),
    "expand_as": lambda m: m.zeros(1, 4).expand_as(m.zeros(3, 4)),
    "broadcast_to": lambda m: m.broadcast_to(m.zeros(3), (1, 3)),
    "expanded_then_none": lambda m: m.zeros(3).expand(2, 3)[:, None],
    "unsqueeze": lambda m: m.zeros(3, 7).unsqueeze(1),
    "scalar_none": lambda m: m.tensor(1.0)[None, None],
    "empty_strided_zero": lambda m: m.empty_strided((1, 2), (0, 1)),
    "as_strided_zero": lambda m: m.zeros(4).as_strided((1, 2), (0, 1)),
}


@pytest.mark.parametrize("case", sorted(STRIDE_CASES))
def test_size_one_dims_have_torchs_strides(case: str) -> None:
    make = STRIDE_CASES[case]
    assert make(chainrule).stride() == make(torch).stride()


def test_hf_causal_mask_stride_and_contiguity() -> None:
    for m in BOTH:
        mask = m.full((3, 3), m.finfo(m.float32).min).triu(1)
        mask = m.cat([m.zeros(3, 2), mask], dim=-1)[None, None, :, :].expand(2, 1, 3, 5)
        assert mask.stride() == (0, 15, 5, 1)
        assert mask.stride(1) == 15 and not mask.is_contiguous()
        assert mask.clone().stride() == (15, 15, 5, 1)


def _bce(m: Any, xd: str, td: str, red: str, pw: str | None = None, w: str | None = None):
    rng = np.random.default_rng(0)
    xn, tn = rng.standard_normal(64) * 3, rng.random(64)
    x = m.tensor(xn, dtype=getattr(m, xd), requires_grad=True)
    t = m.tensor(tn, dtype=getattr(m, td))
    kw = {}
    if pw is not None:
        kw["pos_weight"] = m.tensor(rng.random(64) * 2, dtype=getattr(m, pw))
    if w is not None:
        kw["weight"] = m.tensor(rng.random(64), dtype=getattr(m, w))
    out = m.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=red, **kw)
    out.backward(m.ones_like(out) if red == "none" else None)
    return out, x.grad


@pytest.mark.parametrize("red", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    ("xd", "td"),
    [
        ("float64", "float32"),
        ("float64", "bfloat16"),
        ("float32", "bfloat16"),
        ("float32", "float16"),
        ("bfloat16", "float32"),
        ("float16", "float64"),
    ],
)
def test_bce_with_logits_two_dtypes_rounds_as_torch(xd: str, td: str, red: str) -> None:
    (want, want_g), (got, got_g) = (_bce(m, xd, td, red) for m in BOTH)
    assert str(got.dtype) == str(want.dtype) == f"torch.{td}"
    assert got.grad_fn.name() == want.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    assert got.grad_fn.next_functions[0][0].name() == "torch::autograd::AccumulateGrad"
    if red == "none":  # the element losses round exactly as PyTorch's
        np.testing.assert_array_equal(got.detach().double().numpy(), want.detach().double())
    else:  # (a float32 reduction's last bit may differ: chainrule rounds the exact sum)
        np.testing.assert_allclose(got.item(), want.item(), rtol=2e-7 if "16" not in td else 1e-2)
    assert str(got_g.dtype) == str(want_g.dtype) == f"torch.{xd}"
    tol = 1e-12 if xd == "float64" else 1e-5
    if xd == "float64":
        np.testing.assert_allclose(got_g.numpy(), want_g.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("red", ["none", "mean"])
@pytest.mark.parametrize(
    ("pw", "w"), [("float32", None), ("float64", None), ("float32", "float32")]
)
def test_bce_with_logits_two_dtypes_with_pos_weight(pw: str, w: str | None, red: str) -> None:
    (want, want_g), (got, got_g) = (_bce(m, "float64", "float32", red, pw, w) for m in BOTH)
    assert str(got.dtype) == str(want.dtype) == "torch.float32"
    if red == "none":
        np.testing.assert_array_equal(got.detach().double().numpy(), want.detach().double())
    np.testing.assert_allclose(got_g.numpy(), want_g.numpy(), rtol=1e-12, atol=1e-15)


def test_bce_with_logits_two_dtypes_target_gradient_and_infinities() -> None:
    for_both = []
    for m in BOTH:
        x = m.tensor([float("inf"), float("-inf"), 40.0, -3.0], dtype=m.float64)
        t = m.tensor([0.0, 1.0, 0.5, 0.25], dtype=m.float32, requires_grad=True)
        out = m.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
        (gt,) = m.autograd.grad(out[2:].sum(), t)
        for_both.append((out.detach().double().numpy(), str(gt.dtype), gt.double().numpy()))
    (a, adt, ag), (b, bdt, bg) = for_both
    np.testing.assert_array_equal(b, a)  # inf, nan (0 * -inf), then finite values
    assert bdt == adt == "torch.float32"
    np.testing.assert_array_equal(bg, ag)


def test_bce_with_logits_module_with_float_targets_and_pos_weight() -> None:
    """The Keras-style loop: float64 logits, ``y.float().unsqueeze(1)`` targets and a (1,)
    float32 ``pos_weight``; the loss and the gradient it sends back agree."""
    rng = np.random.default_rng(7)
    xn, yn = rng.standard_normal((8, 1)), (rng.random(8) > 0.5).astype(np.int64)
    grads = []
    for m in BOTH:
        lin = m.nn.Linear(1, 1).double()
        with m.no_grad():
            lin.weight.fill_(0.7)
            lin.bias.fill_(-0.2)
        crit = m.nn.BCEWithLogitsLoss(pos_weight=m.tensor([1.2222222]).float())
        loss = crit(lin(m.tensor(xn)), m.tensor(yn).float().unsqueeze(1))
        loss.backward()
        grads.append((loss.dtype, lin.weight.grad.item(), lin.bias.grad.item()))
    (ad, aw, ab), (bd, bw, bb) = grads
    assert str(ad) == str(bd) == "torch.float32"
    np.testing.assert_allclose([bw, bb], [aw, ab], rtol=1e-7)
