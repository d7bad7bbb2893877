"""bfloat16 (and float16) reductions and losses recorded as PyTorch records them: one node
under PyTorch's name (``VarBackward0``, ``MseLossBackward0``, ...) reading the leaves
directly, with no ``ToCopyBackward0`` casts around it; the node computes in float32 and
rounds once, so values and gradients agree with PyTorch's within the dtype's rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .test_graph_names_torch import describe

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 6)) * 3
B = RNG.standard_normal((4, 6)) * 3
G = RNG.standard_normal((4, 6))

EXPRS = {
    "var": lambda lib, a, b: a.var(),
    "var_dim_keepdim": lambda lib, a, b: a.var(1, keepdim=True),
    "var_correction0": lambda lib, a, b: lib.var(a, 0, correction=0),
    "std": lambda lib, a, b: a.std(),
    "std_dim": lambda lib, a, b: lib.std(a, (0,), keepdim=False),
    "var_mean_var": lambda lib, a, b: lib.var_mean(a)[0],
    "var_mean_mean": lambda lib, a, b: lib.var_mean(a, 1)[1],
    "std_mean_std": lambda lib, a, b: lib.std_mean(a, 1)[0],
    "std_mean_mean": lambda lib, a, b: lib.std_mean(a, unbiased=False)[1],
    "mse_loss": lambda lib, a, b: lib.nn.functional.mse_loss(a, b),
    "mse_loss_sum": lambda lib, a, b: lib.nn.functional.mse_loss(a, b, reduction="sum"),
    "mse_loss_none": lambda lib, a, b: lib.nn.functional.mse_loss(a, b, reduction="none"),
    "mse_loss_broadcast": lambda lib, a, b: lib.nn.functional.mse_loss(a, b[:1].expand(4, 6)),
    "smooth_l1_loss": lambda lib, a, b: lib.nn.functional.smooth_l1_loss(a, b),
    "smooth_l1_loss_beta": lambda lib, a, b: lib.nn.functional.smooth_l1_loss(
        a, b, reduction="sum", beta=2.5
    ),
    "smooth_l1_loss_none": lambda lib, a, b: lib.nn.functional.smooth_l1_loss(
        a, b, reduction="none"
    ),
    "huber_loss": lambda lib, a, b: lib.nn.functional.huber_loss(a, b, delta=2.0),
    "huber_loss_sum": lambda lib, a, b: lib.nn.functional.huber_loss(a, b, reduction="sum"),
    "huber_loss_none": lambda lib, a, b: lib.nn.functional.huber_loss(a, b, reduction="none"),
    "mse_loss_module": lambda lib, a, b: lib.nn.MSELoss()(a, b),
    "huber_loss_module": lambda lib, a, b: lib.nn.HuberLoss(reduction="none")(a, b),
    # reductions, softmax, norms and layer norm: one node accumulating in float32
    "sum": lambda lib, a, b: a.sum(),
    "sum_dim": lambda lib, a, b: a.sum(1),
    "sum_dims_keepdim": lambda lib, a, b: lib.sum(a, (0, 1), keepdim=True),
    "sum_transposed": lambda lib, a, b: a.t().sum(1),
    "mean": lambda lib, a, b: a.mean(),
    "mean_dim_keepdim": lambda lib, a, b: a.mean(0, keepdim=True),
    "softmax": lambda lib, a, b: a.softmax(1),
    "softmax_dim0": lambda lib, a, b: lib.softmax(a, 0),
    "log_softmax": lambda lib, a, b: lib.nn.functional.log_softmax(a, 1),
    "log_softmax_dim0": lambda lib, a, b: a.log_softmax(0),
    "logsumexp": lambda lib, a, b: a.logsumexp(1),
    "logsumexp_all": lambda lib, a, b: lib.logsumexp(a, (0, 1), keepdim=True),
    "norm": lambda lib, a, b: a.norm(),
    "norm_dim": lambda lib, a, b: lib.norm(a, dim=1, keepdim=True),
    "linalg_norm": lambda lib, a, b: lib.linalg.norm(a),
    "vector_norm_dim": lambda lib, a, b: lib.linalg.vector_norm(a, dim=0),
    "layer_norm": lambda lib, a, b: lib.nn.functional.layer_norm(a, (6,)),
    "layer_norm_affine": lambda lib, a, b: lib.nn.functional.layer_norm(a, (6,), b[0], b[1]),
    "layer_norm_2d": lambda lib, a, b: lib.nn.functional.layer_norm(a, (4, 6), b, b),
    "nll_loss": lambda lib, a, b: lib.nn.functional.nll_loss(a, lib.tensor([1, 0, 5, 3])),
    # binary_cross_entropy_with_logits: the target (b) takes a gradient too
    "bce_with_logits": lambda lib, a, b: lib.nn.functional.binary_cross_entropy_with_logits(a, b),
    # (a pos_weight per row, reduction='none': PyTorch's float16 rounds its steps in float16,
    # off by more than the table's tolerance; chainrule's float32 inside is the closer one)
    "bce_with_logits_none_weight": lambda lib, a, b: (
        lib.nn.functional.binary_cross_entropy_with_logits(
            a,
            b,
            weight=lib.tensor([0.5, 1.0, 2.0, 0.25, 1.5, 1.0], dtype=a.dtype),
            reduction="none",
        )
    ),
    "bce_with_logits_module_sum": lambda lib, a, b: lib.nn.BCEWithLogitsLoss(
        reduction="sum", pos_weight=lib.tensor(2.0, dtype=a.dtype)
    )(a, b),
}
DTYPES = ["bfloat16", "float16"]


def _leaves(lib, dtype):
    dt = getattr(lib, dtype)
    a = lib.tensor(A, dtype=dt, requires_grad=True)
    b = lib.tensor(B, dtype=dt, requires_grad=True)
    return a, b


def _run(lib, name, dtype):
    a, b = _leaves(lib, dtype)
    y = EXPRS[name](lib, a, b)
    return a, b, y


def _f32(t):
    return t.detach().float().numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(EXPRS))
def test_graph_names_match_torch(name, dtype):
    *_, t = _run(torch, name, dtype)
    *_, c = _run(cr, name, dtype)
    assert describe(c.grad_fn, 3) == describe(t.grad_fn, 3)
    assert "ToCopyBackward0" not in str(describe(c.grad_fn, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(EXPRS))
def test_values_and_gradients_match_torch(name, dtype):
    """Rounded once from float32: within a few of the dtype's ulps of PyTorch's."""
    ta, tb, t = _run(torch, name, dtype)
    ca, cb, c = _run(cr, name, dtype)
    assert c.dtype == getattr(cr, dtype) and t.dtype == getattr(torch, dtype)
    tol = 2e-2 if dtype == "bfloat16" else 3e-3
    np.testing.assert_allclose(_f32(c), _f32(t), rtol=tol, atol=tol)
    w = G[: t.shape[0], : t.shape[1]] if t.ndim == 2 else G.ravel()[: t.numel()].reshape(t.shape)
    (t * torch.tensor(w, dtype=t.dtype)).sum().backward()
    (c * cr.tensor(w, dtype=c.dtype)).sum().backward()
    for cl, tl in ((ca, ta), (cb, tb)):
        if tl.grad is None:
            assert cl.grad is None
            continue
        assert cl.grad.dtype == cl.dtype
        np.testing.assert_allclose(_f32(cl.grad), _f32(tl.grad), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_bfloat16_two_output_gradients_match_torch(name):
    """Both outputs of var_mean / std_mean reach one node's backward (gv and gm together)."""
    grads = []
    for lib in (cr, torch):
        a = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        v, m = getattr(lib, name)(a, 0, keepdim=True)
        assert (
            v.grad_fn is m.grad_fn
            and v.grad_fn.name() == f"{name.title().replace('_', '')}Backward0"
        )
        lib.autograd.backward((v, m), (lib.ones_like(v) * 3, lib.ones_like(m) * -2))
        grads.append(_f32(a.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-2, atol=2e-2)


def test_bfloat16_loss_with_float32_target_still_promotes():
    """Mixing dtypes keeps PyTorch's promotion (float32 result), unchanged by the one-node
    path, which serves all-bfloat16 arguments only."""
    for lib in (cr, torch):
        a = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        y = lib.nn.functional.mse_loss(a, lib.tensor(B, dtype=lib.float32))
        assert y.dtype == lib.float32


def test_bfloat16_double_backward_runs():
    """create_graph through the bfloat16 nodes: second derivatives as PyTorch's (within
    bfloat16 rounding)."""
    res = []
    for lib in (cr, torch):
        a = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        (g,) = lib.autograd.grad(a.var() + a.std(1).sum(), a, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), a)
        res.append(_f32(h))
    np.testing.assert_allclose(res[0], res[1], rtol=5e-2, atol=5e-2)


TARGET = [1, 0, 5, 3]
FUSED = {  # chainrule's own graph differs from PyTorch's in every dtype (a fused op, a view)
    "cross_entropy": lambda lib, a, w: lib.nn.functional.cross_entropy(a, lib.tensor(TARGET)),
    "cross_entropy_weight_smoothing": lambda lib, a, w: lib.nn.functional.cross_entropy(
        a, lib.tensor(TARGET), weight=w, label_smoothing=0.1, reduction="sum"
    ),
    "cross_entropy_none_ignore": lambda lib, a, w: lib.nn.functional.cross_entropy(
        a, lib.tensor([1, -100, 5, 3]), reduction="none"
    ),
    "nll_loss_none": lambda lib, a, w: lib.nn.functional.nll_loss(
        a, lib.tensor(TARGET), reduction="none"
    ),
    "nll_loss_weight": lambda lib, a, w: lib.nn.functional.nll_loss(a, lib.tensor(TARGET), w),
}


@pytest.mark.parametrize("name", list(FUSED))
def test_bfloat16_fused_loss_is_float32_graph_without_casts(name):
    """Class-index cross_entropy / nll_loss on bfloat16: the float32 graph (one fused node),
    no casts; values and gradients (bfloat16, as PyTorch's) within bfloat16 rounding."""
    w = np.linspace(0.5, 2.0, 6)
    graphs, vals, grads = {}, [], []
    for lib, dt in ((cr, "float32"), (cr, "bfloat16"), (torch, "bfloat16")):
        a = lib.tensor(A, dtype=getattr(lib, dt), requires_grad=True)
        y = FUSED[name](lib, a, lib.tensor(w, dtype=getattr(lib, dt)))
        graphs[lib.__name__, dt] = describe(y.grad_fn, 3)
        assert y.dtype == getattr(lib, dt)
        (y * lib.tensor(G.ravel()[: y.numel()].reshape(y.shape), dtype=y.dtype)).sum().backward()
        assert a.grad.dtype == a.dtype
        if dt == "bfloat16":
            vals.append(_f32(y))
            grads.append(_f32(a.grad))
    assert graphs["chainrule", "bfloat16"] == graphs["chainrule", "float32"]
    assert "ToCopyBackward0" not in str(graphs["chainrule", "bfloat16"])
    np.testing.assert_allclose(vals[0], vals[1], rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-2, atol=2e-2)


def test_bfloat16_layer_norm_with_float32_parameters():
    """A bfloat16 input with float32 γ, β: one node (PyTorch's mixed-dtype kernel), the
    result and the input's gradient bfloat16, the parameters' gradients float32."""
    res = []
    for lib in (cr, torch):
        x = lib.tensor(A, dtype=lib.bfloat16, requires_grad=True)
        w = lib.tensor(B[0], dtype=lib.float32, requires_grad=True)
        b = lib.tensor(B[1], dtype=lib.float32, requires_grad=True)
        y = lib.nn.functional.layer_norm(x, (6,), w, b)
        (y * lib.tensor(G, dtype=y.dtype)).sum().backward()
        assert (y.dtype, x.grad.dtype, w.grad.dtype, b.grad.dtype) == (
            lib.bfloat16,
            lib.bfloat16,
            lib.float32,
            lib.float32,
        )
        res.append((describe(y.grad_fn, 2), *(_f32(t) for t in (y, x.grad, w.grad, b.grad))))
    assert res[0][0] == res[1][0]
    for c, t in zip(res[0][1:], res[1][1:]):
        np.testing.assert_allclose(c, t, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("name", ["sum", "mean", "softmax", "log_softmax", "logsumexp", "norm"])
def test_bfloat16_forward_ad_matches_torch(name):
    """Forward-mode tangents of the one-node ops: bfloat16, as PyTorch's, computed in
    float32 (within bfloat16 rounding)."""
    ops = {
        "sum": lambda lib, x: x.sum(1),
        "mean": lambda lib, x: x.mean(0),
        "softmax": lambda lib, x: x.softmax(1),
        "log_softmax": lambda lib, x: x.log_softmax(0),
        "logsumexp": lambda lib, x: x.logsumexp(1),
        "norm": lambda lib, x: x.norm(),
    }
    res = []
    for lib in (cr, torch):
        x = lib.tensor(A, dtype=lib.bfloat16)
        t = lib.tensor(G, dtype=lib.bfloat16)
        with lib.autograd.forward_ad.dual_level():
            y = ops[name](lib, lib.autograd.forward_ad.make_dual(x, t))
            tan = lib.autograd.forward_ad.unpack_dual(y).tangent
        assert tan.dtype == lib.bfloat16
        res.append(_f32(tan))
    np.testing.assert_allclose(res[0], res[1], rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "layer_norm", "cross_entropy"])
def test_bfloat16_one_node_double_backward(name):
    """create_graph through the one-node bfloat16 ops: second derivatives as PyTorch's
    (within bfloat16 rounding)."""
    ops = {
        "softmax": lambda lib, x: (x.softmax(1) * lib.tensor(G, dtype=x.dtype)).sum(),
        "log_softmax": lambda lib, x: (x.log_softmax(1) * lib.tensor(G, dtype=x.dtype)).sum(),
        "layer_norm": lambda lib, x: (
            lib.nn.functional.layer_norm(x, (6,)) * lib.tensor(G, dtype=x.dtype)
        ).sum(),
        "cross_entropy": lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(TARGET)),
    }
    res = []
    for lib in (cr, torch):
        x = lib.tensor(A / 3, dtype=lib.bfloat16, requires_grad=True)
        (g,) = lib.autograd.grad(ops[name](lib, x), x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        assert g.dtype == h.dtype == lib.bfloat16
        res.append(_f32(h))
    np.testing.assert_allclose(res[0], res[1], rtol=8e-2, atol=8e-2)


def test_bfloat16_reductions_of_empty_and_0d_tensors():
    """Edge shapes keep PyTorch's results: a sum over nothing is 0, a mean NaN, and a full
    reduction is 0-d."""
    for lib in (cr, torch):
        e = lib.zeros(0, 3, dtype=lib.bfloat16)
        assert _f32(e.sum(0)).tolist() == [0.0, 0.0, 0.0]
        assert np.isnan(_f32(e.mean())).all()
        s = lib.tensor(A, dtype=lib.bfloat16).sum()
        assert s.shape == () and s.dtype == lib.bfloat16
        assert lib.tensor(2.0, dtype=lib.bfloat16).softmax(0).item() == 1.0


def test_bfloat16_sum_accumulates_in_float32():
    """4096 ones: a bfloat16 running sum stalls at 256; PyTorch (and chainrule) accumulate in
    float32 and round once."""
    for lib in (cr, torch):
        assert lib.ones(4096, dtype=lib.bfloat16).sum().item() == 4096.0
        assert lib.full((4096,), 0.1, dtype=lib.bfloat16).mean().float().item() == pytest.approx(
            0.1, rel=4e-3
        )
