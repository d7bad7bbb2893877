"""Modify an op's output or input in place after forward, then backward (issue 9 §2).

For every spec in ``op_specs.SPECS`` and every ``nn.functional`` op below: run the op on
non-leaf inputs (``leaf * 1``, so they may be modified in place), then ``mul_(2)`` one
output or one input, then backward. PyTorch is the reference:

* where PyTorch raises (the op saved the modified tensor), chainrule must raise too;
* where PyTorch allows it, chainrule must give PyTorch's gradients (an op that read a
  modified tensor without a version check would give a wrong one).

The one documented difference: chainrule refuses an in-place change of a *view* output of a
tensor that requires grad (PyTorch rebases the view's history); it raises a clear error
naming the view, which the test accepts.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

from .op_specs import SPECS, OpSpec, make_inputs

VIEW_LIMITATION = "in-place modification of a view"

_IDX = np.array([0, 2, 1, 2])  # class targets for (4, 3) logits
_PROBS = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.3, 0.3, 0.4]])


def _ce_probs(lib, x):
    return (F.cross_entropy if lib is cr else TF.cross_entropy)(x, lib.tensor(_PROBS))


def _lib(x):
    return cr if isinstance(x, cr.Tensor) else torch


def _f(name):
    """The same nn.functional op from either library."""
    return lambda *a, **k: getattr(F if isinstance(a[0], cr.Tensor) else TF, name)(*a, **k)


def _fn(name, call, shapes, domain="real"):
    """A spec for an nn.functional op: ``call(lib_F, lib, *xs)`` is written once for both."""
    return OpSpec(name, lambda *xs: call(F, cr, *xs), lambda *xs: call(TF, torch, *xs),
                  (shapes,), domain)


FUNCTIONAL = [
    _fn("layer_norm", lambda f, L, x: f.layer_norm(x, (5,)), ((3, 5),)),
    _fn("layer_norm_affine", lambda f, L, x, w, b: f.layer_norm(x, (5,), w, b),
        ((3, 5), (5,), (5,))),
    _fn("batch_norm_train", lambda f, L, x: f.batch_norm(x, None, None, training=True),
        ((4, 3),)),
    _fn("batch_norm_affine", lambda f, L, x, w, b: f.batch_norm(x, None, None, w, b,
                                                                training=True),
        ((4, 3, 2), (3,), (3,))),
    _fn("group_norm", lambda f, L, x, w, b: f.group_norm(x, 2, w, b), ((2, 4, 3), (4,), (4,))),
    _fn("instance_norm", lambda f, L, x: f.instance_norm(x), ((2, 3, 4),)),
    _fn("rms_norm", lambda f, L, x, w: f.rms_norm(x, (4,), w), ((3, 4), (4,))),
    _fn("normalize", lambda f, L, x: f.normalize(x, dim=1), ((3, 4),)),
    _fn("softmax", lambda f, L, x: f.softmax(x, dim=1), ((3, 4),)),
    _fn("log_softmax", lambda f, L, x: f.log_softmax(x, dim=1), ((3, 4),)),
    _fn("softmin", lambda f, L, x: f.softmin(x, dim=1), ((3, 4),)),
    _fn("cross_entropy", lambda f, L, x: f.cross_entropy(x, L.tensor(_IDX)), ((4, 3),)),
    _fn("cross_entropy_none", lambda f, L, x: f.cross_entropy(x, L.tensor(_IDX),
                                                              reduction="none"), ((4, 3),)),
    _fn("cross_entropy_smooth_weight",
        lambda f, L, x: f.cross_entropy(x, L.tensor(_IDX), L.tensor(np.array([0.5, 1.0, 2.0])),
                                        label_smoothing=0.1), ((4, 3),)),
    _fn("cross_entropy_probs", lambda f, L, x: _ce_probs(L, x), ((4, 3),)),
    _fn("nll_loss", lambda f, L, x: f.nll_loss(x, L.tensor(_IDX)), ((4, 3),)),
    _fn("mse_loss", lambda f, L, x, y: f.mse_loss(x, y), ((3, 4), (3, 4))),
    _fn("l1_loss", lambda f, L, x, y: f.l1_loss(x, y), ((3, 4), (3, 4)), "distinct"),
    _fn("smooth_l1_loss", lambda f, L, x, y: f.smooth_l1_loss(x, y), ((3, 4), (3, 4)),
        "distinct"),
    _fn("huber_loss", lambda f, L, x, y: f.huber_loss(x, y), ((3, 4), (3, 4)), "distinct"),
    _fn("binary_cross_entropy", lambda f, L, x, y: f.binary_cross_entropy(x.sigmoid(),
                                                                          y.sigmoid()),
        ((3, 4), (3, 4))),
    _fn("bce_with_logits", lambda f, L, x, y: f.binary_cross_entropy_with_logits(x, y.sigmoid()),
        ((3, 4), (3, 4))),
    _fn("kl_div", lambda f, L, x, y: f.kl_div(x, y, reduction="batchmean"), ((3, 4), (3, 4)),
        "positive"),
    _fn("linear", lambda f, L, x, w, b: f.linear(x, w, b), ((3, 4), (2, 4), (2,))),
    _fn("bilinear", lambda f, L, x, y, w: f.bilinear(x, y, w), ((3, 2), (3, 4), (5, 2, 4))),
    _fn("conv1d", lambda f, L, x, w, b: f.conv1d(x, w, b, padding=1), ((2, 3, 5), (4, 3, 3),
                                                                        (4,))),
    _fn("conv2d", lambda f, L, x, w: f.conv2d(x, w, stride=2), ((1, 2, 5, 5), (3, 2, 3, 3))),
    _fn("conv_transpose2d", lambda f, L, x, w: f.conv_transpose2d(x, w),
        ((1, 2, 3, 3), (2, 3, 2, 2))),
    _fn("max_pool2d", lambda f, L, x: f.max_pool2d(x, 2), ((1, 2, 4, 4),), "distinct"),
    _fn("avg_pool2d", lambda f, L, x: f.avg_pool2d(x, 2), ((1, 2, 4, 4),)),
    _fn("adaptive_avg_pool2d", lambda f, L, x: f.adaptive_avg_pool2d(x, 2), ((1, 2, 4, 4),)),
    _fn("relu", lambda f, L, x: f.relu(x), ((3, 4),), "nokink"),
    _fn("relu6", lambda f, L, x: f.relu6(x * 4), ((3, 4),), "nokink"),
    _fn("leaky_relu", lambda f, L, x: f.leaky_relu(x, 0.1), ((3, 4),), "nokink"),
    _fn("elu", lambda f, L, x: f.elu(x), ((3, 4),), "nokink"),
    _fn("selu", lambda f, L, x: f.selu(x), ((3, 4),), "nokink"),
    _fn("celu", lambda f, L, x: f.celu(x), ((3, 4),), "nokink"),
    _fn("gelu", lambda f, L, x: f.gelu(x), ((3, 4),)),
    _fn("gelu_tanh", lambda f, L, x: f.gelu(x, approximate="tanh"), ((3, 4),)),
    _fn("silu", lambda f, L, x: f.silu(x), ((3, 4),)),
    _fn("mish", lambda f, L, x: f.mish(x), ((3, 4),)),
    _fn("softplus", lambda f, L, x: f.softplus(x), ((3, 4),)),
    _fn("logsigmoid", lambda f, L, x: f.logsigmoid(x), ((3, 4),)),
    _fn("hardtanh", lambda f, L, x: f.hardtanh(x), ((3, 4),), "nokink"),
    _fn("hardsigmoid", lambda f, L, x: f.hardsigmoid(x), ((3, 4),), "nokink"),
    _fn("hardswish", lambda f, L, x: f.hardswish(x), ((3, 4),), "nokink"),
    _fn("softsign", lambda f, L, x: f.softsign(x), ((3, 4),)),
    _fn("tanhshrink", lambda f, L, x: f.tanhshrink(x), ((3, 4),)),
    _fn("sigmoid", lambda f, L, x: f.sigmoid(x), ((3, 4),)),
    _fn("tanh", lambda f, L, x: f.tanh(x), ((3, 4),)),
    _fn("prelu", lambda f, L, x, w: f.prelu(x, w), ((2, 3), (1,)), "nokink"),
    _fn("dropout_eval", lambda f, L, x: f.dropout(x, 0.5, training=False), ((3, 4),)),
    _fn("pad", lambda f, L, x: f.pad(x, (1, 2)), ((3, 4),)),
    _fn("embedding", lambda f, L, w: f.embedding(L.tensor(_IDX), w), ((3, 4),)),
    _fn("sdpa", lambda f, L, q, k, v: f.scaled_dot_product_attention(q, k, v),
        ((2, 3, 4), (2, 5, 4), (2, 5, 4))),
    _fn("cosine_embedding_loss", lambda f, L, x, y: f.cosine_embedding_loss(
        x, y, L.tensor([1.0, -1.0, 1.0])), ((3, 4), (3, 4))),
]

# Where chainrule and PyTorch save different things, the outcome may differ -- but never by a
# silently wrong gradient (outcome() asserts that). TORCH_RAISES: PyTorch saved the modified
# tensor, chainrule's rule does not read it and gives the right gradient. CR_RAISES:
# chainrule's rule reads it (or the input is a view whose base was modified: chainrule does
# not replay view history) and raises a clear error where PyTorch runs. The table is exact,
# so an op that changes what it saves must update it.
TORCH_RAISES = "torch_raises_cr_right"
CR_RAISES = "cr_raises"
KNOWN_DIFFERENCES: dict = {
    "var": {"in0": TORCH_RAISES},
    "var_dim": {"in0": TORCH_RAISES},
    "var_biased": {"in0": TORCH_RAISES},
    "std": {"in0": TORCH_RAISES},
    "std_dim": {"in0": TORCH_RAISES},
    "logsumexp": {"in0": TORCH_RAISES},
    "logsumexp_keep": {"out0": TORCH_RAISES, "in0": TORCH_RAISES},
    "norm_p1": {"out0": TORCH_RAISES},
    "std_correction0": {"in0": TORCH_RAISES},
    "lerp": {"in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "kron": {"in0": CR_RAISES, "in1": CR_RAISES},
    "tensordot_lists": {"in0": CR_RAISES, "in1": CR_RAISES},
    "einsum_reduce": {"in0": CR_RAISES},
    "reshape": {"in0": CR_RAISES},
    "view": {"in0": CR_RAISES},
    "flatten": {"in0": CR_RAISES},
    "squeeze": {"in0": CR_RAISES},
    "squeeze_dim": {"in0": CR_RAISES},
    "unsqueeze": {"in0": CR_RAISES},
    "transpose": {"in0": CR_RAISES},
    "permute": {"in0": CR_RAISES},
    "T": {"in0": CR_RAISES},
    "mT": {"in0": CR_RAISES},
    "t": {"in0": CR_RAISES},
    "expand": {"in0": CR_RAISES},
    "expand_neg1": {"in0": CR_RAISES},
    "broadcast_to": {"in0": CR_RAISES},
    "repeat": {"in0": CR_RAISES},
    "tile": {"in0": CR_RAISES},
    "getitem_int": {"in0": CR_RAISES},
    "getitem_slice": {"in0": CR_RAISES},
    "getitem_neg": {"in0": CR_RAISES},
    "getitem_none_ellipsis": {"in0": CR_RAISES},
    "gather": {"in0": TORCH_RAISES},
    "take_along_dim": {"in0": TORCH_RAISES},
    "masked_select": {"in0": TORCH_RAISES},
    "diagonal": {"in0": CR_RAISES},
    "diagonal_neg": {"in0": CR_RAISES},
    "diag_2d": {"in0": CR_RAISES},
    "narrow": {"in0": CR_RAISES},
    "tensor_unfold": {"in0": CR_RAISES},
    "tensor_unfold_overlap": {"in0": CR_RAISES},
    "cdist_p1": {"out0": TORCH_RAISES, "in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "cdist_p3": {"out0": TORCH_RAISES, "in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "cdist_inf": {"in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "linalg_svdvals": {"out0": TORCH_RAISES, "in0": CR_RAISES},
    "linalg_pinv": {"out0": TORCH_RAISES, "in0": TORCH_RAISES},
    "linalg_lstsq": {"out0": TORCH_RAISES, "in0": TORCH_RAISES},
    "linalg_vector_norm": {"out0": TORCH_RAISES},
    "linalg_matrix_norm_fro": {"out0": TORCH_RAISES},
    "linalg_matrix_norm_nuc": {"in0": CR_RAISES},
    "linalg_matrix_norm_2": {"in0": CR_RAISES},
    "linalg_norm": {"out0": TORCH_RAISES},
    "F.layer_norm": {"out0": CR_RAISES},
    "F.layer_norm_affine": {"in2": TORCH_RAISES},
    "F.batch_norm_affine": {"in2": CR_RAISES},
    "F.instance_norm": {"out0": CR_RAISES},
    "F.nll_loss": {"in0": TORCH_RAISES},
    "F.mse_loss": {"in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "F.smooth_l1_loss": {"in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "F.huber_loss": {"in0": TORCH_RAISES, "in1": TORCH_RAISES},
    "F.max_pool2d": {"in0": TORCH_RAISES},
    "F.avg_pool2d": {"in0": TORCH_RAISES},
    "F.adaptive_avg_pool2d": {"in0": TORCH_RAISES},
    "F.leaky_relu": {"in0": TORCH_RAISES},
    "F.gelu": {"in0": TORCH_RAISES},
    "F.logsigmoid": {"in0": TORCH_RAISES},
    "F.hardsigmoid": {"in0": TORCH_RAISES},
    "F.sdpa": {"in0": CR_RAISES, "in1": CR_RAISES},
}

# The table's own nn.functional entries ("F_...") are covered here by FUNCTIONAL, whose
# differences from torch are tabulated above, so they are not run twice.
ALL_SPECS = [(s, s.shapes[0], s.id) for s in SPECS if not s.id.startswith("F_")] + [
    (s, s.shapes[0], "F." + s.id) for s in FUNCTIONAL]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _float_outputs(outs) -> list[int]:
    return [i for i, o in enumerate(outs) if o.dtype.is_floating_point and o.requires_grad] \
        if isinstance(outs[0], torch.Tensor) else \
        [i for i, o in enumerate(outs) if o.dtype.kind == "f" and o.requires_grad]


def _run(lib, fn, arrays, target, clone=False):
    """Forward on non-leaf inputs, ``mul_(2)`` the target in place, backward.

    With ``clone`` the target is cloned first, so nothing the op saved is touched: the
    gradient is then the mathematically right answer for the same computation.
    Returns ("raise", message) if any step raised, else ("ok", gradients of the leaves).
    """
    leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
    try:
        xs = [leaf * 1.0 for leaf in leaves]
        outs = list(_as_tuple(fn(*xs)))
        kind, i = target
        seq = outs if kind == "out" else xs
        if clone:
            seq[i] = seq[i].clone()
        seq[i].mul_(2.0)
        rng = np.random.default_rng(7)
        loss = None
        for k in _float_outputs(outs):
            term = (outs[k] * lib.tensor(rng.standard_normal(tuple(outs[k].shape)))).sum()
            loss = term if loss is None else loss + term
        if loss is None:
            return "ok", [None] * len(leaves)
        grads = lib.autograd.grad(loss, leaves, allow_unused=True)
    except (RuntimeError, ValueError) as err:
        return "raise", str(err)
    return "ok", [None if g is None else np.array(g.detach().numpy()) for g in grads]


def _targets(spec: OpSpec, shapes: tuple) -> list:
    arrays = make_inputs(spec, shapes)
    with torch.no_grad():
        touts = _as_tuple(spec.torch_fn(*[torch.tensor(a) for a in arrays]))
    outs = [("out", i) for i, o in enumerate(touts) if o.dtype.is_floating_point]
    return outs + [("in", i) for i in range(len(arrays))]


def _assert_same_grads(c_res, t_res, where):
    for k, (c, t) in enumerate(zip(c_res, t_res)):
        if t is None or c is None:
            assert (t is None or not t.any()) and (c is None or not c.any()), \
                f"{where}: gradient presence differs for input {k}"
            continue
        np.testing.assert_allclose(c, t, rtol=1e-7, atol=1e-9,
                                   err_msg=f"{where}: gradient of input {k}")


def outcome(spec: OpSpec, shapes: tuple, target) -> str:
    """How chainrule compares with PyTorch for one in-place target (asserting safety).

    Returns "same" (both raise, or both give the same gradient), "torch_raises_cr_right"
    (PyTorch saved the modified tensor, chainrule's rule never reads it and its gradient is
    the right one) or "cr_raises" (chainrule's rule reads the modified tensor and raises
    where PyTorch's reads something else). Any silently wrong gradient fails.
    """
    arrays = make_inputs(spec, shapes)
    where = f"{spec.id}: mul_ on {target[0]}put {target[1]}"
    t_kind, t_res = _run(torch, spec.torch_fn, arrays, target)
    c_kind, c_res = _run(cr, spec.cr_fn, arrays, target)
    if t_kind == "raise" and c_kind == "raise":
        return "same"
    if c_kind == "raise":
        assert "in-place" in c_res, f"{where}: PyTorch allows it but chainrule raised: {c_res}"
        return "same" if target[0] == "out" and VIEW_LIMITATION in c_res else "cr_raises"
    if t_kind == "raise":  # compare with the right answer: the same run on a clone
        t_kind, t_res = _run(torch, spec.torch_fn, arrays, target, clone=True)
        assert t_kind == "ok", f"{where}: reference run failed: {t_res}"
        _assert_same_grads(c_res, t_res, where + " (vs. the cloned reference)")
        return "torch_raises_cr_right"
    _assert_same_grads(c_res, t_res, where)
    return "same"


@pytest.mark.parametrize("spec,shapes", [c[:2] for c in ALL_SPECS], ids=[c[2] for c in ALL_SPECS])
def test_inplace_after_forward_raises_or_matches_torch(spec, shapes):
    got = {}
    for target in _targets(spec, shapes):
        res = outcome(spec, shapes, target)
        if res != "same":
            got[f"{target[0]}{target[1]}"] = res
    want = KNOWN_DIFFERENCES.get(spec.id if spec in SPECS else "F." + spec.id, {})
    assert got == want, (
        f"{spec.id}: in-place-after-forward differs from PyTorch in {got}, expected {want}. "
        "If the op now saves what PyTorch saves, remove it from KNOWN_DIFFERENCES; if it "
        "raises where PyTorch runs, save only what backward reads (ctx.needs_input_grad)")


def test_issue_reproducers_raise_like_torch():
    x = cr.randn(3, 5, requires_grad=True)
    y = F.layer_norm(x, (5,))
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
    y = x.amax(1)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_mul_by_constant_mask_in_place_runs_as_in_torch():
    # x*2 needs only the constant; the in-place mul by a constant mask needs only the mask:
    # nothing saved is modified, so PyTorch runs and so must chainrule.
    x = cr.randn(4, requires_grad=True)
    mask = cr.tensor([1.0, 0.0, 1.0, 0.0])
    h = x * 2
    h.mul_(mask)
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0, 0.0])


def test_needs_input_grad_is_known_inside_forward():
    seen = []

    class Probe(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a = cr.ones(2, requires_grad=True)
    Probe.apply(a, cr.ones(2))
    with cr.no_grad():
        Probe.apply(a, cr.ones(2))
    assert seen == [(True, False), (False, False)]


def test_saved_view_of_output_is_version_checked():
    class SavesView(cr.autograd.Function):
        raw = True

        @staticmethod
        def forward(ctx, x):
            y = x * 3.0
            ctx.save_for_backward(y.reshape(-1))  # a view of the output, not the output
            return y

        @staticmethod
        def backward(ctx, g):
            (flat,) = ctx.saved_tensors
            return g * flat.reshape(g.shape)

    x = cr.ones(2, 2, requires_grad=True)
    y = SavesView.apply(x)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
