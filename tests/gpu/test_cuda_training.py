"""Tensors, modules, optimizers and whole training steps on the GPU (CuPy) against the CPU.

Each model is built once on the CPU, copied to the GPU, and trained for a few steps on both
with the same batches: losses and parameters must agree (float64: to rounding; float32: to
the accuracy of a few steps of float32 arithmetic done in another order). Needs CuPy and an
NVIDIA GPU; skipped elsewhere.
"""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

pytestmark = pytest.mark.skipif(not cr.cuda.is_available(), reason="needs CuPy and an NVIDIA GPU")

CUDA = cr.device("cuda:0")


def test_moves_between_host_and_gpu():
    x = cr.randn(3, 4)
    y = x.cuda()
    assert y.device == CUDA and y.is_cuda and not x.is_cuda
    np.testing.assert_array_equal(y.cpu().numpy(), x.numpy())
    np.testing.assert_array_equal(x.to("cuda").cpu().numpy(), x.numpy())
    with pytest.raises(TypeError, match="cuda"):
        y.numpy()  # as PyTorch: copy to host memory first
    assert y.sum().item() == pytest.approx(float(x.sum()))
    assert y.tolist() == x.tolist()
    assert "device='cuda:0'" in repr(y)
    assert y.float().device == CUDA and y.double().dtype == cr.float64
    z = cr.tensor([1.0, 2.0], device="cuda")
    assert z.device == CUDA


@pytest.mark.parametrize(
    "make",
    [
        lambda d: cr.zeros(2, 3, device=d),
        lambda d: cr.ones(2, 3, dtype=cr.int64, device=d),
        lambda d: cr.full((2, 2), 7.5, device=d),
        lambda d: cr.arange(0, 10, 3, device=d),
        lambda d: cr.linspace(0, 1, 5, device=d),
        lambda d: cr.eye(3, device=d),
        lambda d: cr.empty(4, device=d).fill_(2.0),
        lambda d: cr.zeros_like(cr.ones(2, device=d)),
        lambda d: cr.tensor([[1, 2], [3, 4]], device=d),
    ],
)
def test_factories_on_gpu_equal_cpu(make):
    g, c = make("cuda"), make("cpu")
    assert g.device == CUDA and g.dtype == c.dtype
    np.testing.assert_array_equal(g.cpu().numpy(), c.numpy())


def test_seeded_random_on_gpu_is_reproducible():
    cr.manual_seed(3)
    a = cr.randn(5, device="cuda")
    cr.manual_seed(3)
    b = cr.randn(5, device="cuda")
    assert a.device == CUDA
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    r = cr.rand(1000, device="cuda")
    assert 0.0 <= float(r.min()) and float(r.max()) < 1.0
    p = cr.randperm(10, device="cuda")
    assert sorted(p.tolist()) == list(range(10))


def test_devices_must_agree_except_zero_dim_cpu_tensors():
    g = cr.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="same device"):
        g + cr.ones(3)
    out = g * cr.tensor(2.0)  # a 0-d CPU tensor is a scalar, as in PyTorch
    assert out.device == CUDA and out.tolist() == [2.0, 2.0, 2.0]


def test_cuda_queries():
    assert cr.cuda.device_count() >= 1
    assert isinstance(cr.cuda.get_device_name(0), str)
    assert cr.cuda.current_device() == 0
    cr.cuda.synchronize()
    x = cr.ones(1 << 20, device="cuda")
    assert cr.cuda.memory_allocated() >= x.numel() * 4
    free, total = cr.cuda.mem_get_info()
    assert 0 < free <= total
    assert len(cr.cuda.get_device_capability()) == 2


def test_save_on_gpu_load_on_cpu():
    model = nn.Linear(3, 2).cuda()
    buf = io.BytesIO()
    cr.save(model.state_dict(), buf)
    buf.seek(0)
    state = cr.load(buf, map_location="cpu")
    assert state["weight"].device == cr.device("cpu")
    np.testing.assert_array_equal(state["weight"].numpy(), model.weight.detach().cpu().numpy())
    buf.seek(0)
    again = cr.load(buf)  # restored where it was saved, as PyTorch does
    assert again["weight"].device == CUDA


def _train(model, batches, loss_fn, device, dtype, steps, opt="adamw"):
    model = copy.deepcopy(model).to(device=device, dtype=dtype)
    params = list(model.parameters())
    if opt == "adamw":
        optimizer = cr.optim.AdamW(params, lr=1e-2, weight_decay=0.1)
    else:
        optimizer = cr.optim.SGD(params, lr=0.1, momentum=0.9)
    losses = []
    for step in range(steps):
        inputs, target = batches[step % len(batches)]
        inputs = inputs.to(device)
        if inputs.is_floating_point():
            inputs = inputs.to(dtype)
        target = target.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model, inputs, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    for p in params:  # (cr.device("cuda") names the current GPU: p.device is cuda:0)
        assert p.device.type == p.grad.device.type == device
    return losses, [p.detach().cpu().numpy() for p in params]


def _compare(model, batches, loss_fn, dtype, steps=3, opt="adamw"):
    rtol = 1e-8 if dtype == cr.float64 else 2e-3
    lc, pc = _train(model, batches, loss_fn, "cpu", dtype, steps, opt)
    lg, pg = _train(model, batches, loss_fn, "cuda", dtype, steps, opt)
    np.testing.assert_allclose(lg, lc, rtol=rtol, atol=rtol)
    for g, c in zip(pg, pc):
        np.testing.assert_allclose(g, c, rtol=rtol * 10, atol=rtol * 10)
    assert lg[-1] < lg[0]


def _classify(model, x, y):
    return F.cross_entropy(model(x), y)


DTYPES = pytest.mark.parametrize("dtype", [cr.float64, cr.float32], ids=["f64", "f32"])


@DTYPES
def test_mlp_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 3))
    batches = [(cr.randn(32, 8), cr.randint(0, 3, (32,)))]  # one batch: its loss must fall
    _compare(model, batches, _classify, dtype, steps=4, opt="sgd")


@DTYPES
def test_resnet20_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = cr.models.resnet20(num_classes=10)
    batches = [(cr.randn(4, 3, 32, 32), cr.randint(0, 10, (4,)))]
    _compare(model, batches, _classify, dtype, steps=2)


@DTYPES
def test_lenet_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = cr.models.lenet5()
    batches = [(cr.randn(8, 1, 28, 28), cr.randint(0, 10, (8,)))]
    _compare(model, batches, _classify, dtype, steps=3)


def _lm(model, idx, targets):
    out = model(idx)
    logits = out[0] if isinstance(out, tuple) else out
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@DTYPES
def test_gpt_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = cr.models.gpt(vocab_size=17, block_size=16, n_layer=2, n_head=2, n_embd=32)
    idx = cr.randint(0, 17, (4, 17))
    _compare(model, [(idx[:, :-1], idx[:, 1:])], _lm, dtype, steps=3)


@DTYPES
def test_char_lstm_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = cr.models.char_lstm(vocab_size=11, embedding_dim=8, hidden_size=16, num_layers=2)
    idx = cr.randint(0, 11, (3, 13))
    _compare(model, [(idx[:, :-1], idx[:, 1:])], _lm, dtype, steps=3)


@DTYPES
def test_gru_classifier_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = cr.models.gru(num_classes=4, hidden_size=16, bidirectional=True)
    batches = [(cr.randn(6, 1, 20), cr.randint(0, 4, (6,)))]
    _compare(model, batches, _classify, dtype, steps=3)


@DTYPES
def test_transformer_classifier_trains_the_same_on_gpu(dtype):
    cr.manual_seed(0)
    model = cr.models.transformer_classifier(num_classes=4, d_model=16, nhead=2)
    batches = [(cr.randn(3, 1, 12), cr.randint(0, 4, (3,)))]
    _compare(model, batches, _classify, dtype, steps=3)


def test_generate_on_gpu():
    cr.manual_seed(0)
    model = cr.models.gpt(vocab_size=17, block_size=8, n_layer=1, n_head=2, n_embd=16).cuda()
    out = model.generate(cr.zeros(1, 1, dtype=cr.int64, device="cuda"), 5, top_k=3)
    assert out.device == CUDA and out.shape == (1, 6)


def test_attention_and_recurrent_layers_on_gpu():
    cr.manual_seed(0)
    q = cr.randn(2, 3, 5, 8, dtype=cr.float64)
    want = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    got = F.scaled_dot_product_attention(q.cuda(), q.cuda(), q.cuda(), is_causal=True)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-10)
    lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True).double()
    x = cr.randn(2, 7, 4, dtype=cr.float64)
    want, (h, c) = lstm(x)
    got, (hg, cg) = copy.deepcopy(lstm).cuda()(x.cuda())
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(cg.detach().cpu().numpy(), c.detach().numpy(), rtol=1e-10)


def test_batchnorm_running_stats_on_gpu():
    bn = nn.BatchNorm2d(3).double()
    x = cr.randn(4, 3, 5, 5, dtype=cr.float64)
    gpu = copy.deepcopy(bn).cuda()
    bn(x)
    gpu(x.cuda())
    assert gpu.running_mean.device == CUDA
    np.testing.assert_allclose(gpu.running_var.cpu().numpy(), bn.running_var.numpy(), rtol=1e-12)
    assert int(gpu.num_batches_tracked) == 1


def test_autocast_cuda_refuses_clearly():
    # CUDA autocast is not implemented (only CPU autocast is): it must say so
    # rather than run in float32 as if it had taken effect
    with pytest.raises(NotImplementedError, match="autocast"):
        cr.autocast("cuda")
