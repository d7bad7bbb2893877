"""Linear/Bilinear/Embedding/normalisation/dropout layers vs torch with copied weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn.functional.normalization import _composite_normalize, normalize_axes

from ._helpers import close, copy_params, pair


def _grads_match(m, tm, tol=1e-10):
    tgrads = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        close(p.grad, tgrads[name].grad, tol)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(bias):
    tm = torch.nn.Linear(5, 3, bias=bias).double()
    m = cr.nn.Linear(5, 3, bias=bias).double()
    copy_params(m, tm)
    x, tx = pair(2, 4, 5)
    y, ty = m(x), tm(tx)
    close(y, ty)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(x.grad, tx.grad)
    _grads_match(m, tm)
    assert repr(m) == repr(tm)
    assert m.num_parameters() == 15 + 3 * bias


def test_linear_default_init_bounds_and_gradcheck():
    m = cr.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (m.weight, m.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.95 * bound
    assert abs(m.weight.data.std() - bound / math.sqrt(3)) < 0.02 * bound
    m = cr.nn.Linear(3, 2).double()
    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda a, w, b: F.linear(a, w, b), (x, m.weight, m.bias))
    assert gradgradcheck(lambda a, w, b: F.linear(a, w, b), (x, m.weight, m.bias))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied"):
        m(cr.randn(4, 5, dtype=cr.float64))


def test_bilinear_flatten_unflatten_identity():
    tm = torch.nn.Bilinear(3, 4, 2).double()
    m = cr.nn.Bilinear(3, 4, 2).double()
    copy_params(m, tm)
    a, ta = pair(5, 3, seed=1)
    b, tb = pair(5, 4, seed=2)
    y, ty = m(a, b), tm(ta, tb)
    close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    close(a.grad, ta.grad)
    _grads_match(m, tm)
    x = cr.randn(2, 3, 4, 5)
    assert cr.nn.Flatten()(x).shape == (2, 60)
    assert cr.nn.Flatten(0, 2)(x).shape == (24, 5)
    assert cr.nn.Unflatten(1, (3, 20))(cr.nn.Flatten()(x)).shape == (2, 3, 20)
    assert cr.nn.Identity(54, unused="x")(x) is x


def test_embedding_padding_and_pretrained():
    tm = torch.nn.Embedding(6, 3, padding_idx=2).double()
    m = cr.nn.Embedding(6, 3, padding_idx=2).double()
    assert (m.weight.data[2] == 0).all()
    copy_params(m, tm)
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    y, ty = m(cr.tensor(idx)), tm(torch.tensor(idx))
    close(y, ty)
    g = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    close(m.weight.grad, tm.weight.grad)
    assert (m.weight.grad.data[2] == 0).all()
    pre = cr.nn.Embedding.from_pretrained(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not pre.weight.requires_grad
    close(pre(cr.tensor([1, 0])), np.array([[3.0, 4.0], [1.0, 2.0]], dtype=np.float32))
    with pytest.raises(IndexError, match="out of range"):
        m(cr.tensor([6]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        m(cr.tensor([0.0]))


@pytest.mark.parametrize(
    "cls,shape",
    [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (6, 3, 4)), ("BatchNorm2d", (4, 3, 5, 5))],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_training_running_stats_and_eval(cls, shape, momentum):
    m = getattr(cr.nn, cls)(3, momentum=momentum).double()
    tm = getattr(torch.nn, cls)(3, momentum=momentum).double()
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-0.5, 0.5)
    copy_params(m, tm)
    for step in range(4):
        x, tx = pair(*shape, seed=10 + step, scale=2.0)
        x.data += step  # shifting statistics
        tx.data += step
        y, ty = m(x), tm(tx)
        close(y, ty)
        (y**3).sum().backward()
        (ty**3).sum().backward()
        close(x.grad, tx.grad, 1e-9)
        _grads_match(m, tm, 1e-9)
    close(m.running_mean, tm.running_mean)
    close(m.running_var, tm.running_var)
    assert int(m.num_batches_tracked.item()) == 4
    m.eval()
    tm.eval()
    x, tx = pair(*shape, seed=99)
    y, ty = m(x), tm(tx)
    close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad)
    assert repr(m) == repr(tm)


def test_batchnorm_no_affine_no_tracking():
    m = cr.nn.BatchNorm2d(2, affine=False, track_running_stats=False).double()
    tm = torch.nn.BatchNorm2d(2, affine=False, track_running_stats=False).double()
    assert list(m.parameters()) == [] and list(m.buffers()) == []
    m.eval()
    tm.eval()
    x, tx = pair(3, 2, 2, 2)
    close(m(x), tm(tx))
    # with no running statistics and no weight PyTorch normalises any channel count
    x5, tx5 = pair(3, 5, 2, 2)
    close(m(x5), tm(tx5))


def test_batchnorm_state_dict_keys_match_torch():
    assert list(cr.nn.BatchNorm2d(3).state_dict()) == list(torch.nn.BatchNorm2d(3).state_dict())


def test_layernorm_and_groupnorm_vs_torch():
    tm = torch.nn.LayerNorm((3, 4)).double()
    m = cr.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        tm.weight.normal_()
        tm.bias.normal_()
    copy_params(m, tm)
    x, tx = pair(2, 3, 4, scale=3.0)
    y, ty = m(x), tm(tx)
    close(y, ty)
    (y**2).sum().backward()
    (ty**2).sum().backward()
    close(x.grad, tx.grad)
    _grads_match(m, tm)
    assert repr(m) == repr(tm)
    m2 = cr.nn.LayerNorm(4, bias=False)
    assert m2.bias is None and m2.weight.shape == (4,)
    tg = torch.nn.GroupNorm(2, 4).double()
    g = cr.nn.GroupNorm(2, 4).double()
    with torch.no_grad():
        tg.weight.normal_()
        tg.bias.normal_()
    copy_params(g, tg)
    x, tx = pair(3, 4, 2, 3, seed=5)
    y, ty = g(x), tg(tx)
    close(y, ty)
    (y**2).sum().backward()
    (ty**2).sum().backward()
    close(x.grad, tx.grad)
    _grads_match(g, tg)
    with pytest.raises(ValueError, match="divisible"):
        cr.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="normalized_shape"):
        m(cr.randn(2, 4, 3, dtype=cr.float64))


def test_fused_normalize_matches_composite_incl_double_backward():
    x = cr.tensor(np.random.default_rng(6).standard_normal((3, 4, 2)), requires_grad=True)
    for axes in ((0, 2), (2,), (1, 2)):
        close(normalize_axes(x, axes, 1e-5), _composite_normalize(x, axes, 1e-5).data)
        g = cr.tensor(np.random.default_rng(7).standard_normal(x.shape))
        a = cr.autograd.grad(normalize_axes(x, axes, 1e-5), [x], g)[0]
        b = cr.autograd.grad(_composite_normalize(x, axes, 1e-5), [x], g)[0]
        close(a, b.data)
        assert gradgradcheck(lambda t, ax=axes: normalize_axes(t, ax, 1e-5) ** 2, (x,))


def test_dropout_train_eval_scaling_and_seed():
    m = cr.nn.Dropout(0.3)
    x = cr.ones(200, 100, requires_grad=True)
    cr.manual_seed(1)
    y = m(x)
    vals = np.unique(y.data)
    np.testing.assert_allclose(vals, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((y.detach().numpy() == 0).mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # gradient uses the same mask
    cr.manual_seed(1)
    np.testing.assert_array_equal(m(x).data, y.data)
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        cr.nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels():
    cr.manual_seed(2)
    y = cr.nn.Dropout2d(0.5)(cr.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        cr.nn.Dropout2d()(cr.ones(2, 3))  # deprecated but accepted, as PyTorch 2.13


def test_alpha_dropout_keeps_mean_and_variance():
    cr.manual_seed(3)
    x = cr.randn(400, 500, dtype=cr.float64)
    y = cr.nn.AlphaDropout(0.2)(x).data
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    m = cr.nn.AlphaDropout(0.2)
    m.eval()
    assert m(x) is x


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 2, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_fused_batch_norm_against_torch_gradcheck_and_double_backward(shape, affine):
    rng = np.random.default_rng(11)
    xa = rng.standard_normal(shape) * 3 + 1
    w = cr.tensor(rng.uniform(0.5, 1.5, shape[1]), requires_grad=True) if affine else None
    b = cr.tensor(rng.standard_normal(shape[1]), requires_grad=True) if affine else None
    x = cr.tensor(xa, requires_grad=True)
    g = rng.standard_normal(shape)
    y = F.batch_norm(x, None, None, w, b, training=True)
    tx = torch.tensor(xa, requires_grad=True)
    tw = torch.tensor(w.data, requires_grad=True) if affine else None
    tb = torch.tensor(b.data, requires_grad=True) if affine else None
    ty = torch.nn.functional.batch_norm(tx, None, None, tw, tb, training=True)
    close(y, ty)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    close(x.grad, tx.grad, 1e-9)
    inputs = (x,)
    if affine:
        close(w.grad, tw.grad, 1e-9)
        close(b.grad, tb.grad, 1e-9)
        inputs = (x, w, b)

    def fn(*args):
        return (
            F.batch_norm(
                args[0], None, None, *(args[1:] if affine else (None, None)), training=True
            )
            ** 2
        )

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_fused_batch_norm_channel_major_memory_and_partial_grads():
    # conv outputs are (N, C, H, W) views of (C, N, H, W) memory: same numbers either way
    rng = np.random.default_rng(12)
    base = rng.standard_normal((3, 4, 5, 5)).astype(np.float32)
    x_cm = cr.tensor(base).permute(1, 0, 2, 3).requires_grad_()
    x_c = cr.tensor(np.ascontiguousarray(base.transpose(1, 0, 2, 3)), requires_grad=True)
    w = cr.tensor(rng.uniform(0.5, 1.5, 3).astype(np.float32))  # no grad wanted
    b = cr.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    g = cr.tensor(rng.standard_normal((4, 3, 5, 5)).astype(np.float32))
    for x in (x_cm, x_c):
        F.batch_norm(x, None, None, w, b, training=True).backward(g)
    close(x_cm.grad, x_c.grad.data, 1e-5)
    assert w.grad is None and b.grad is not None
    tb = torch.tensor(b.data.numpy().copy(), requires_grad=True)
    torch.nn.functional.batch_norm(
        torch.tensor(x_c.data), None, None, torch.tensor(w.data), tb, training=True
    ).backward(torch.tensor(g.data))
    close(b.grad, 2 * tb.grad, 1e-4)  # accumulated over the two backward calls
