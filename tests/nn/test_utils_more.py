"""nn.utils: legacy weight_norm / spectral_norm, fusion, get_total_norm and
clip_grads_with_norm_, clip_grad_norm, skip_init, memory-format converters - against torch."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.utils as U


def _copy_params(cm, tm):
    """Give the chainrule module torch's parameter and buffer values."""
    with torch.no_grad():
        for name, t in list(tm.named_parameters()) + list(tm.named_buffers()):
            c = cm
            *path, last = name.split(".")
            for part in path:
                c = getattr(c, part)
            getattr(c, last)._data[...] = t.detach().numpy()


def _close(c, t, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(c.detach().numpy()), t.detach().numpy(), rtol=rtol)


# ------------------------------------------------------------------ weight_norm (legacy)
@pytest.mark.parametrize(("dim", "g_shape"), [(0, (4, 1, 1)), (1, (1, 3, 1)), (None, ())])
def test_weight_norm_matches_torch(dim, g_shape):
    torch.manual_seed(0)  # torch's init draws from its global stream: fixed whatever ran first
    tm = torch.nn.Conv1d(3, 4, 2).double()
    cm = cr.nn.Conv1d(3, 4, 2, dtype=cr.float64)
    _copy_params(cm, tm)
    with pytest.warns(FutureWarning, match=r"`torch.nn.utils.weight_norm` is deprecated"):
        assert U.weight_norm(cm, dim=dim) is cm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(tm, dim=dim)
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(cm.state_dict()) == list(tm.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert tuple(cm.weight_g.shape) == tuple(tm.weight_g.shape) == g_shape
    x = np.random.default_rng(0).normal(size=(2, 3, 5))
    for _ in range(2):
        yc, yt = cm(cr.tensor(x)), tm(torch.tensor(x))
        _close(yc, yt)
        (yc**2).sum().backward()
        (yt**2).sum().backward()
        _close(cm.weight_g.grad, tm.weight_g.grad)
        _close(cm.weight_v.grad, tm.weight_v.grad)
        with torch.no_grad():  # the hook recomputes the weight after g changes
            tm.weight_g.mul_(1.5)
        cm.weight_g._data *= 1.5
    U.remove_weight_norm(cm)
    torch.nn.utils.remove_weight_norm(tm)
    assert list(cm.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    assert isinstance(cm.weight, cr.nn.Parameter)
    _close(cm.weight, tm.weight)


def test_weight_norm_errors():
    m = cr.nn.Linear(3, 2)
    with pytest.warns(FutureWarning):
        U.weight_norm(m)
    with pytest.warns(FutureWarning), pytest.raises(RuntimeError, match="two weight_norm hooks"):
        U.weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm of 'bias' not found"):
        U.remove_weight_norm(m, "bias")
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="no parameter named"):
        U.weight_norm(cr.nn.Linear(3, 2), name="kernel")


# --------------------------------------------------------------- spectral_norm (legacy)
@pytest.mark.parametrize(
    ("make", "n_iter", "dim"),
    [
        (lambda lib: lib.nn.Linear(5, 3), 1, None),
        (lambda lib: lib.nn.Conv2d(2, 4, 3), 3, None),
        (lambda lib: lib.nn.ConvTranspose2d(2, 4, 3), 2, None),  # dim 1 by default
        (lambda lib: lib.nn.Linear(5, 3), 2, 1),
    ],
)
def test_spectral_norm_matches_torch(make, n_iter, dim):
    torch.manual_seed(0)  # fixed weights: whatever ran before, the same power iteration
    cr.manual_seed(0)
    tm, cm = make(torch).double(), make(cr).double()
    tm = torch.nn.utils.spectral_norm(tm, n_power_iterations=n_iter, dim=dim)
    cm = U.spectral_norm(cm, n_power_iterations=n_iter, dim=dim)
    assert list(cm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in cm.named_buffers()] == ["weight_u", "weight_v"]
    _copy_params(cm, tm)  # including u, v: torch's RNG draws them
    shape = (2, 5) if isinstance(tm, torch.nn.Linear) else (2, 2, 6, 6)
    x = np.random.default_rng(1).normal(size=shape)
    for _ in range(3):  # training: power iteration each forward
        yc, yt = cm(cr.tensor(x)), tm(torch.tensor(x))
        _close(yc, yt)
        _close(cm.weight_u, tm.weight_u)
        _close(cm.weight_v, tm.weight_v)
        yc.sum().backward()
        yt.sum().backward()
        _close(cm.weight_orig.grad, tm.weight_orig.grad)
    cm.eval()
    tm.eval()
    u_before = cm.weight_u.detach().numpy().copy()
    _close(cm(cr.tensor(x)), tm(torch.tensor(x)))
    np.testing.assert_array_equal(cm.weight_u.numpy(), u_before)  # eval: no iteration
    U.remove_spectral_norm(cm)
    torch.nn.utils.remove_spectral_norm(tm)
    assert list(cm.state_dict()) == list(tm.state_dict())
    _close(cm.weight, tm.weight)


def test_spectral_norm_errors():
    m = U.spectral_norm(cr.nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        U.spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm of 'bias' not found"):
        U.remove_spectral_norm(m, "bias")
    with pytest.raises(ValueError, match="n_power_iterations"):
        U.spectral_norm(cr.nn.Linear(3, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="is None"):
        U.spectral_norm(cr.nn.Linear(3, 2, bias=False), name="bias")


# ----------------------------------------------------------------------------- fusion
@pytest.mark.parametrize(
    ("conv", "bn", "transpose", "shape"),
    [
        (
            lambda lib: lib.nn.Conv2d(3, 4, 3),
            lambda lib: lib.nn.BatchNorm2d(4),
            False,
            (2, 3, 6, 6),
        ),
        (
            lambda lib: lib.nn.Conv1d(3, 4, 2, bias=False),
            lambda lib: lib.nn.BatchNorm1d(4),
            False,
            (2, 3, 7),
        ),
        (
            lambda lib: lib.nn.ConvTranspose2d(3, 4, 3),
            lambda lib: lib.nn.BatchNorm2d(4),
            True,
            (2, 3, 5, 5),
        ),
        (
            lambda lib: lib.nn.Conv3d(2, 3, 2),
            lambda lib: lib.nn.BatchNorm3d(3),
            False,
            (1, 2, 4, 4, 4),
        ),
    ],
)
def test_fuse_conv_bn_matches_torch(conv, bn, transpose, shape):
    tc, tb = conv(torch).double().eval(), bn(torch).double().eval()
    with torch.no_grad():
        tb.running_mean.normal_()
        tb.running_var.uniform_(0.5, 2.0)
        tb.weight.normal_()
        tb.bias.normal_()
    cc, cb = conv(cr).double().eval(), bn(cr).double().eval()
    _copy_params(cc, tc)
    _copy_params(cb, tb)
    fc = U.fuse_conv_bn_eval(cc, cb, transpose)
    ft = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose)
    assert type(fc) is type(cc) and fc is not cc
    _close(fc.weight, ft.weight)
    _close(fc.bias, ft.bias)
    assert fc.bias.requires_grad == ft.bias.requires_grad
    x = np.random.default_rng(2).normal(size=shape)
    _close(fc(cr.tensor(x)), cb(cc(cr.tensor(x))), rtol=1e-10)


def test_fuse_linear_bn_matches_torch_and_weights_functions():
    tl, tb = torch.nn.Linear(5, 3).double().eval(), torch.nn.BatchNorm1d(3).double().eval()
    with torch.no_grad():
        tb.running_mean.normal_()
        tb.running_var.uniform_(0.5, 2.0)
    cl, cb = cr.nn.Linear(5, 3).double().eval(), cr.nn.BatchNorm1d(3).double().eval()
    _copy_params(cl, tl)
    _copy_params(cb, tb)
    fc, ft = U.fuse_linear_bn_eval(cl, cb), torch.nn.utils.fuse_linear_bn_eval(tl, tb)
    _close(fc.weight, ft.weight)
    _close(fc.bias, ft.bias)
    w, b = U.fuse_linear_bn_weights(
        cl.weight, None, cb.running_mean, cb.running_var, 1e-3, cb.weight, cb.bias
    )
    tw, tbias = torch.nn.utils.fuse_linear_bn_weights(
        tl.weight, None, tb.running_mean, tb.running_var, 1e-3, tb.weight, tb.bias
    )
    assert isinstance(w, cr.nn.Parameter) and isinstance(b, cr.nn.Parameter)
    _close(w, tw)
    _close(b, tbias)
    w, b = U.fuse_conv_bn_weights(
        cl.weight, cl.bias, cb.running_mean, cb.running_var, 1e-5, None, None
    )
    tw, tbias = torch.nn.utils.fuse_conv_bn_weights(
        tl.weight, tl.bias, tb.running_mean, tb.running_var, 1e-5, None, None
    )
    _close(w, tw)
    _close(b, tbias)


def test_fusion_errors():
    lin, bn = cr.nn.Linear(5, 3), cr.nn.BatchNorm1d(3)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        U.fuse_linear_bn_eval(lin, bn)
    with pytest.raises(AssertionError, match="out_features"):
        U.fuse_linear_bn_eval(lin.eval(), cr.nn.BatchNorm1d(4).eval())
    with pytest.raises(TypeError, match="convolution"):
        U.fuse_conv_bn_eval(lin.eval(), bn.eval())


# ------------------------------------------------------------------ norms and clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.0, 3.5, 0.5, math.inf, -math.inf, -1.0])
def test_get_total_norm_matches_torch(norm_type):
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(3, 4)), np.array([0.0, 2.0, -1.0]), rng.normal(size=())]
    c = U.get_total_norm([cr.tensor(a) for a in arrays], norm_type)
    t = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type)
    assert c.dtype == cr.float64 and c.ndim == 0
    np.testing.assert_allclose(c.item(), t.item(), rtol=1e-12)


def test_get_total_norm_dtypes_empty_and_errors():
    mixed = [cr.ones(3), cr.ones(2, dtype=cr.float64)]
    tmixed = [torch.ones(3), torch.ones(2, dtype=torch.float64)]
    assert torch.nn.utils.get_total_norm(tmixed).dtype == torch.float64
    assert U.get_total_norm(mixed).dtype == cr.float64
    assert U.get_total_norm(cr.ones(4)).item() == 2.0  # one tensor
    empty = U.get_total_norm([])
    assert empty.item() == 0.0 and empty.dtype == cr.float32
    with pytest.raises(RuntimeError, match="non-finite"):
        U.get_total_norm([cr.tensor([1.0, math.inf])], error_if_nonfinite=True)
    assert math.isinf(U.get_total_norm([cr.tensor([1.0, math.inf])]).item())
    with pytest.raises(RuntimeError, match="empty tensor"):
        U.get_total_norm([cr.ones(0)], math.inf)
    with pytest.raises(TypeError, match="Tensor"):
        U.get_total_norm([1.0, 2.0])
    x = cr.ones(3, requires_grad=True)
    assert not U.get_total_norm([x * 2]).requires_grad  # no graph, as torch


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grads_with_norm_matches_torch(max_norm):
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=(4,))]
    cps = [cr.zeros(*g.shape, dtype=cr.float64, requires_grad=True) for g in grads]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for cp, tp, g in zip(cps, tps, grads):
        cp.grad, tp.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
    total_c = U.get_total_norm([p.grad for p in cps])
    total_t = torch.nn.utils.get_total_norm([p.grad for p in tps])
    assert U.clip_grads_with_norm_(cps, max_norm, total_c) is None
    torch.nn.utils.clip_grads_with_norm_(tps, max_norm, total_t)
    for cp, tp in zip(cps, tps):
        np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    # a NaN norm makes the gradients NaN, as in torch
    U.clip_grads_with_norm_(cps[0], 1.0, cr.tensor(math.nan))
    assert np.isnan(cps[0].grad.numpy()).all()
    with pytest.raises(TypeError, match="total_norm must be a Tensor"):
        U.clip_grads_with_norm_(cps, 1.0, 3.0)


def test_clip_grad_norm_matches_torch_and_deprecated_alias_warns():
    rng = np.random.default_rng(5)
    g = rng.normal(size=(5,))
    cp = cr.zeros(5, dtype=cr.float64, requires_grad=True)
    tp = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    cp.grad, tp.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
    with pytest.warns(FutureWarning, match=r"`torch.nn.utils.clip_grad_norm` is now deprecated"):
        nc = U.clip_grad_norm([cp], 0.3, norm_type=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nt = torch.nn.utils.clip_grad_norm([tp], 0.3, norm_type=1.0)
    np.testing.assert_allclose(nc.item(), nt.item(), rtol=1e-12)
    np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    assert U.clip_grad_norm_([], 1.0).item() == 0.0


def test_signatures_match_torch():
    names = [
        "weight_norm",
        "remove_weight_norm",
        "spectral_norm",
        "remove_spectral_norm",
        "fuse_conv_bn_eval",
        "fuse_conv_bn_weights",
        "fuse_linear_bn_eval",
        "fuse_linear_bn_weights",
        "get_total_norm",
        "clip_grads_with_norm_",
        "clip_grad_norm",
        "clip_grad_norm_",
        "skip_init",
        "convert_conv2d_weight_memory_format",
        "convert_conv3d_weight_memory_format",
    ]
    for name in names:
        cs = inspect.signature(getattr(U, name)).parameters
        ts = inspect.signature(getattr(torch.nn.utils, name)).parameters
        assert [(p.name, p.kind, p.default) for p in cs.values()] == [
            (p.name, p.kind, p.default) for p in ts.values()
        ], name


# -------------------------------------------------------------------------- skip_init
def test_skip_init_builds_without_initialising_or_drawing():
    cr.manual_seed(0)
    expected = cr.nn.Linear(4, 3).weight.detach().numpy().copy()
    cr.manual_seed(0)
    m = U.skip_init(cr.nn.Linear, 4, 3, bias=False)
    assert type(m) is cr.nn.Linear and m.bias is None
    assert m.weight.shape == (3, 4) and m.weight.dtype == cr.float32
    assert isinstance(m.weight, cr.nn.Parameter) and m.weight.requires_grad
    # no random numbers consumed: the next module is the one the seed alone gives
    np.testing.assert_array_equal(cr.nn.Linear(4, 3).weight.detach().numpy(), expected)
    m2 = U.skip_init(cr.nn.Conv2d, 2, 5, kernel_size=3, dtype=cr.float64)
    assert m2.weight.shape == (5, 2, 3, 3) and m2.weight.dtype == cr.float64
    assert m2(cr.ones(1, 2, 4, 4, dtype=cr.float64)).shape == (1, 5, 2, 2)


def test_skip_init_errors_like_torch():
    with pytest.raises(RuntimeError, match="Expected a Module"):
        U.skip_init(int)

    class NoDevice(cr.nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(RuntimeError, match="'device' arg"):
        U.skip_init(NoDevice, 3)


def test_memory_format_converters_check_their_arguments():
    """(Their effect is compared with torch in tests/test_memory_format.py.)"""
    with pytest.raises(TypeError, match="memory_format"):
        U.convert_conv2d_weight_memory_format(cr.nn.Conv2d(1, 1, 1), "channels_last")
    for fn in (U.convert_conv2d_weight_memory_format, U.convert_conv3d_weight_memory_format):
        with pytest.raises(TypeError, match="nn.Module"):
            fn(3, cr.channels_last)


# ------------------------------------------------------------ parametrizations.orthogonal
@pytest.mark.parametrize(
    ("shape", "orthogonal_map"),
    [
        ((4, 4), None),  # matrix_exp
        ((3, 5), None),  # householder (wide: transposed)
        ((5, 3), "householder"),
        ((5, 3), "cayley"),
        ((4, 4), "cayley"),
        ((3, 5), "matrix_exp"),
    ],
)
def test_orthogonal_matches_torch(shape, orthogonal_map):
    from torch.nn.utils import parametrizations as TP

    from chainrule.nn.utils import parametrizations as CP

    out_f, in_f = shape
    tm = torch.nn.Linear(in_f, out_f).double()
    cm = cr.nn.Linear(in_f, out_f, dtype=cr.float64)
    _copy_params(cm, tm)
    TP.orthogonal(tm, orthogonal_map=orthogonal_map)
    assert CP.orthogonal(cm, orthogonal_map=orthogonal_map) is cm
    assert list(cm.state_dict()) == list(tm.state_dict())
    # base: deterministic for square weights; torch pads wide/tall ones with its own noise
    _copy_params(cm, tm)
    _close(cm.weight, tm.weight)
    small = min(shape)
    w = cm.weight.detach().numpy()
    np.testing.assert_allclose(w @ w.T if out_f == small else w.T @ w, np.eye(small), atol=1e-12)
    # move the unconstrained original: still orthogonal, same values and gradients as torch
    rng = np.random.default_rng(7)
    new = rng.normal(size=shape) * 0.3
    with torch.no_grad():
        tm.parametrizations.weight.original.copy_(torch.tensor(new))
    cm.parametrizations.weight.original._data[...] = new
    _close(cm.weight, tm.weight, rtol=1e-10)
    x = rng.normal(size=(2, in_f))
    (cm(cr.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    np.testing.assert_allclose(
        cm.parametrizations.weight.original.grad.numpy(),
        tm.parametrizations.weight.original.grad.numpy(),
        rtol=1e-9,
        atol=1e-12,
    )


def test_orthogonal_errors():
    from chainrule.nn.utils import parametrizations as CP

    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        CP.orthogonal(cr.nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="matrix or batch of matrices"):
        CP.orthogonal(cr.nn.Linear(3, 3), name="bias")
    with pytest.raises(ValueError, match="no parameter or buffer"):
        CP.orthogonal(cr.nn.Linear(3, 3), name="kernel")
    layer = CP.orthogonal(cr.nn.Linear(3, 3), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        layer.weight = cr.eye(3)


def test_parametrized_spectral_norm_default_dim_for_conv_transpose3d():
    from chainrule.nn.utils import parametrizations as CP

    m = CP.spectral_norm(cr.nn.ConvTranspose3d(2, 5, 2))
    # dim 1 (the output channels of a transposed conv): u has one entry per output channel
    assert m.parametrizations.weight[0]._u.shape == (5,)


# ----------------------------------------------------------- parametrize extra helpers
class _Symmetric(cr.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT


class _TorchSymmetric(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT


def test_type_before_parametrizations_and_transfer_match_torch():
    from torch.nn.utils import parametrize as TPz

    from chainrule.nn.utils import parametrize as CPz

    results = []
    for lib, P, sym in ((cr, CPz, _Symmetric), (torch, TPz, _TorchSymmetric)):
        src, dst = lib.nn.Linear(3, 3), lib.nn.Linear(3, 3)
        assert P.type_before_parametrizations(src) is lib.nn.Linear
        P.register_parametrization(src, "weight", sym())
        assert type(src) is not lib.nn.Linear
        assert P.type_before_parametrizations(src) is lib.nn.Linear
        out = P.transfer_parametrizations_and_params(src, dst)
        assert out is dst and P.is_parametrized(dst, "weight")
        # dst now shares src's original: a change to one is seen by the other
        assert dst.parametrizations.weight.original is src.parametrizations.weight.original
        results.append(sorted(dst.state_dict()))
        # a tensor that the target lacks is created there first
        lone = lib.nn.Module()
        P.transfer_parametrizations_and_params(src, lone, "weight")
        assert P.is_parametrized(lone, "weight")
        assert P.transfer_parametrizations_and_params(lib.nn.Linear(2, 2), dst) is dst
    assert results[0] == results[1]
