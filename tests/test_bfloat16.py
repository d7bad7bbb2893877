"""``cr.bfloat16`` (ml_dtypes' NumPy dtype) against PyTorch's ``torch.bfloat16``: the dtype
object, casts, promotion, op values, autograd, finfo, printing, save/load and CPU autocast.

Values are compared exactly where chainrule rounds as PyTorch does (one rounding of a float32
result); ops whose composition rounds in between are allowed 1 bfloat16 ulp (``_ULP1``).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from safetensors.torch import save_file

import chainrule as cr
import chainrule.nn.functional as F

B = cr.bfloat16
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
C = RNG.standard_normal((3, 4)).astype(np.float32)
M = RNG.standard_normal((4, 5)).astype(np.float32)
_ULP1 = {"log_softmax", "logsumexp", "silu", "std"}  # composed: one extra rounding


def _bf(a):
    return cr.tensor(a).to(B), torch.tensor(a).to(torch.bfloat16)


def _same(c: cr.Tensor, t: torch.Tensor, ulps: int = 0) -> None:
    """bfloat16 results equal (or within ``ulps`` bfloat16 ulps of) torch's."""
    assert c.dtype == B and t.dtype == torch.bfloat16
    got = c.detach().float().numpy()
    want = t.detach().float().numpy()
    if ulps == 0:
        np.testing.assert_array_equal(got, want)
    else:  # one ulp of a bfloat16 value v is 2^(floor(log2|v|) - 7)
        ulp = np.exp2(np.floor(np.log2(np.maximum(np.abs(want), 1e-30))) - 7)
        assert np.all(np.abs(got - want) <= ulps * ulp), (got, want)


def test_dtype_object_names_and_queries():
    assert isinstance(B, cr.dtype) and B is cr.bfloat16 and B.itemsize == 2
    assert cr.dtypes.as_dtype("torch.bfloat16") == B and cr.dtypes.as_dtype(torch.bfloat16) == B
    x = cr.tensor([1.0, 2.0], dtype=B)
    t = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    assert x.dtype == B and x.element_size() == t.element_size() == 2
    assert x.is_floating_point() and cr.is_floating_point(x) and not cr.is_floating_point(x.long())
    assert x.type() == t.type() == "torch.BFloat16Tensor"
    assert cr.ones(2).type("torch.BFloat16Tensor").dtype == B
    assert cr.BFloat16Tensor([1.5]).dtype == B and isinstance(x, cr.BFloat16Tensor)
    assert repr(x) == repr(t)
    y = cr.tensor([[1.5, -2.25], [3.0, float("nan")]]).bfloat16()
    ty = torch.tensor([[1.5, -2.25], [3.0, float("nan")]]).bfloat16()
    assert repr(y) == repr(ty)


def test_import_of_chainrule_does_not_import_ml_dtypes():
    code = "import sys, chainrule; assert 'ml_dtypes' not in sys.modules; chainrule.bfloat16"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_casts_both_ways_round_as_torch():
    vals = np.array([1.1, -2.7, 3.0e38, 1e-40, np.nan, np.inf, 0.3, 65504.0], np.float32)
    c, t = _bf(vals)
    np.testing.assert_array_equal(c.float().numpy(), t.float().numpy())
    np.testing.assert_array_equal(c.double().numpy(), t.double().numpy())
    np.testing.assert_array_equal(c.half().numpy(), t.half().numpy())
    ints = cr.tensor([3, -7, 300]).bfloat16()
    _same(ints, torch.tensor([3, -7, 300]).bfloat16())
    assert ints.long().tolist() == torch.tensor([3, -7, 300]).bfloat16().long().tolist()
    assert cr.tensor([1.5, 0.0], dtype=B).bool().tolist() == [True, False]
    assert cr.zeros(2, dtype=B).dtype == cr.arange(3, dtype=B).dtype == B
    _same(cr.full((2,), 0.1, dtype=B), torch.full((2,), 0.1, dtype=torch.bfloat16))
    assert cr.tensor([2.5], dtype=B).item() == 2.5 and cr.tensor([2.5], dtype=B).tolist() == [2.5]


def test_numpy_raises_type_error_like_torch():
    with pytest.raises(TypeError, match="BFloat16"):
        torch.ones(1, dtype=torch.bfloat16).numpy()
    with pytest.raises(TypeError, match="unsupported ScalarType BFloat16"):
        cr.ones(1, dtype=B).numpy()


_DTYPES = ["bfloat16", "float16", "float32", "float64", "int64", "int32", "uint8", "bool"]


def test_promotion_table_matches_torch():
    for a in _DTYPES:
        for b in _DTYPES:
            want = str(torch.promote_types(getattr(torch, a), getattr(torch, b)))
            assert str(cr.promote_types(getattr(cr, a), getattr(cr, b))) == want
            assert cr.can_cast(getattr(cr, a), getattr(cr, b)) == torch.can_cast(
                getattr(torch, a), getattr(torch, b)
            )
    assert cr.promote_types(B, cr.complex64) == cr.complex64


@pytest.mark.parametrize("other", [2, 2.5, True, 1j, "0d32", "0d64", "f16", "f32", "i64"])
def test_result_dtype_with_scalars_and_tensors_matches_torch(other):
    x, t = cr.ones(2, dtype=B), torch.ones(2, dtype=torch.bfloat16)
    make = {
        "0d32": (cr.tensor(2.0), torch.tensor(2.0)),
        "0d64": (cr.tensor(2.0, dtype=cr.float64), torch.tensor(2.0, dtype=torch.float64)),
        "f16": (cr.ones(2, dtype=cr.float16), torch.ones(2, dtype=torch.float16)),
        "f32": (cr.ones(2), torch.ones(2)),
        "i64": (cr.ones(2, dtype=cr.int64), torch.ones(2, dtype=torch.int64)),
    }
    oc, ot = make.get(other, (other, other))
    assert str((x + oc).dtype) == str((t + ot).dtype)
    assert str(cr.result_type(x, oc)) == str(torch.result_type(t, ot))


_OPS = {
    "add": (lambda m, x, y: x + y, 2),
    "mul_scalar": (lambda m, x: x * 2.5, 1),
    "div": (lambda m, x, y: x / y, 2),
    "exp": (lambda m, x: x.exp(), 1),
    "tanh": (lambda m, x: x.tanh(), 1),
    "sqrt_abs": (lambda m, x: x.abs().sqrt(), 1),
    "sum": (lambda m, x: x.sum(), 1),
    "mean": (lambda m, x: x.mean(1), 1),
    "std": (lambda m, x: x.std(1), 1),
    "max": (lambda m, x: x.max(1).values, 1),
    "cumsum": (lambda m, x: x.cumsum(1), 1),
    "matmul": (lambda m, x, y: x @ y.reshape(4, 3), 2),
    "softmax": (lambda m, x: m.softmax(x, -1), 1),
    "log_softmax": (lambda m, x: m.log_softmax(x, -1), 1),
    "layer_norm": (lambda m, x: m.layer_norm(x, (4,)), 1),
    "gelu": (lambda m, x: m.gelu(x), 1),
    "silu": (lambda m, x: m.silu(x), 1),
    "logsumexp": (lambda m, x: x.logsumexp(1), 1),
    "norm": (lambda m, x: x.norm(), 1),
    "where": (lambda m, x, y: m_where(m, x, y), 2),
    "slice_cat": (lambda m, x, y: m_cat(m, x[1:, ::2], y.t()), 2),
}


def m_where(m, x, y):
    return (cr if m is F else torch).where(x > 0, x, y)


def m_cat(m, x, y):
    return (cr if m is F else torch).cat([x.reshape(-1), y.reshape(-1)])


@pytest.mark.parametrize("name", sorted(_OPS))
def test_op_values_match_torch(name):
    fn, n = _OPS[name]
    (xc, xt), (yc, yt) = _bf(A), _bf(C)
    args_c, args_t = (xc, yc)[:n], (xt, yt)[:n]
    _same(fn(F, *args_c), fn(TF, *args_t), 1 if name in _ULP1 else 0)


def test_ops_without_a_bfloat16_kernel_refuse_like_torch():
    x = cr.eye(3, dtype=B)
    with pytest.raises(RuntimeError, match="Unsupported dtype (torch.)?bfloat16"):
        cr.fft.fft(x)
    with pytest.raises(RuntimeError, match="bfloat16"):
        cr.linalg.inv(x)
    with pytest.raises(RuntimeError, match="inv"):
        torch.linalg.inv(torch.eye(3, dtype=torch.bfloat16))
    with pytest.raises(RuntimeError, match="same dtype"):  # mixed matmul, as torch
        x @ cr.eye(3)


def test_view_of_bfloat16_tensor_stays_a_view():
    x = cr.zeros(2, 3, dtype=B)
    v = x[0]
    v.add_(1.5)
    x.t()[1, 1] = 2.0
    assert x.tolist() == [[1.5, 1.5, 1.5], [0.0, 2.0, 0.0]]


def _mlp(lib, fn, dtype):
    ps = [lib.tensor(a).to(dtype).requires_grad_() for a in RNG_W]
    x = lib.tensor(A).to(dtype)
    h = fn.gelu(fn.linear(fn.layer_norm(x, (4,)), ps[0], ps[1]))
    loss = fn.cross_entropy(fn.linear(h, ps[2], ps[3]), lib.tensor([0, 2, 1]))
    loss.backward()
    return loss, [p.grad for p in ps]


_R = np.random.default_rng(1)
RNG_W = [
    (_R.standard_normal((8, 4)) * 0.4).astype(np.float32),
    (_R.standard_normal(8) * 0.1).astype(np.float32),
    (_R.standard_normal((3, 8)) * 0.4).astype(np.float32),
    np.zeros(3, np.float32),
]


def test_mlp_forward_backward_in_bfloat16_matches_torch():
    loss_c, grads_c = _mlp(cr, F, B)
    loss_t, grads_t = _mlp(torch, TF, torch.bfloat16)
    _same(loss_c, loss_t)
    for gc, gt in zip(grads_c, grads_t):
        # PyTorch's fused backward kernels (layer_norm, gelu) round once; chainrule's
        # composed backward rounds each step to bfloat16: a few ulps of the largest entry
        want = gt.float().numpy()
        tol = 4 * torch.finfo(torch.bfloat16).eps * np.abs(want).max()
        assert gc.dtype == B
        np.testing.assert_allclose(gc.float().numpy(), want, rtol=0, atol=tol)


def test_module_to_bfloat16_and_optimizer_step():
    m = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.ReLU(), cr.nn.Linear(3, 2)).bfloat16()
    assert all(p.dtype == B for p in m.parameters())
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    m(cr.tensor(A).bfloat16()).sum().backward()
    before = m[0].weight.detach().float().numpy().copy()
    grad = m[0].weight.grad
    assert grad.dtype == B
    opt.step()
    tp = torch.tensor(before).bfloat16().requires_grad_()
    tp.grad = torch.tensor(grad.float().numpy()).bfloat16()
    torch.optim.SGD([tp], lr=0.1).step()
    _same(m[0].weight, tp)
    assert m.float()[0].weight.dtype == cr.float32


def test_finfo_matches_torch():
    c, t = cr.finfo(B), torch.finfo(torch.bfloat16)
    for name in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(c, name) == getattr(t, name), name
    assert c.dtype == t.dtype == "bfloat16"


def test_default_dtype_can_be_bfloat16_as_in_torch():
    try:
        cr.set_default_dtype(B)
        torch.set_default_dtype(torch.bfloat16)
        assert cr.get_default_dtype() == B
        assert cr.tensor([1.0]).dtype == B and cr.tensor([1, 2]).dtype == cr.int64
        assert (cr.tensor([1, 2]) / 3).dtype == B
        _same(cr.tensor([1, 2]) / 3, torch.tensor([1, 2]) / 3)
    finally:
        cr.set_default_dtype(cr.float32)
        torch.set_default_dtype(torch.float32)


def test_save_load_roundtrip_and_a_torch_safetensors_file(tmp_path):
    x = cr.tensor([1.5, -2.25, 3.0e30, 0.3]).bfloat16()
    for name in ("a.safetensors", "a.pt"):
        cr.save({"x": x}, tmp_path / name)
        y = cr.load(tmp_path / name)["x"]
        assert y.dtype == B and y.tolist() == x.tolist()
    w = torch.tensor([1.5, -0.3, 7.0, 1e-3]).bfloat16()
    save_file({"w": w}, str(tmp_path / "t.safetensors"))
    got = cr.load(tmp_path / "t.safetensors")["w"]
    assert got.dtype == B and got.tolist() == w.tolist()


def test_autocast_cpu_bfloat16_mlp_matches_torch():
    def run(lib, fn):
        ps = [lib.tensor(a, requires_grad=True) for a in RNG_W]
        with lib.autocast("cpu", dtype=lib.bfloat16):
            assert lib.is_autocast_enabled("cpu")
            h = fn.relu(fn.linear(lib.tensor(A), ps[0], ps[1]))
            out = fn.linear(h, ps[2], ps[3])
            mm = lib.tensor(A) @ lib.tensor(M)
            loss = (out.float() ** 2).mean()
        assert not lib.is_autocast_enabled("cpu")
        loss.backward()
        return out, mm, loss, [p.grad for p in ps]

    oc, mc, lc, gc = run(cr, F)
    ot, mt, lt, gt = run(torch, TF)
    _same(oc, ot)
    _same(mc, mt)
    assert lc.item() == lt.item()
    for a, b in zip(gc, gt):  # float32 gradients of the float32 parameters
        assert a.dtype == cr.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_autocast_small_cnn_forward_backward_matches_torch():
    def net(lib):
        nn = lib.nn
        return nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3), nn.Flatten(), nn.Linear(8, 3)
        )

    mc, mt = net(cr), net(torch)
    mt.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mc.state_dict().items()})
    x = np.linspace(-1, 1, 216, dtype=np.float32).reshape(2, 3, 6, 6)
    with cr.autocast("cpu", dtype=B):  # the second conv gets bfloat16 input, float32 weight
        yc = mc(cr.tensor(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        yt = mt(torch.tensor(x))
    _same(yc, yt)
    yc.float().sum().backward()
    yt.float().sum().backward()
    # PyTorch's bfloat16 convolution backward rounds partial sums on some CPUs (an AVX2 EPYC:
    # a third of the input gradient 1 ulp off the exactly rounded value; exact on AVX-512
    # Xeons), so the gradients agree to bfloat16 accuracy; chainrule's exactness is
    # test_bfloat16_conv_backward_is_rounded_once's.
    for pc, pt in zip(mc.parameters(), mt.parameters()):
        np.testing.assert_allclose(pc.grad.numpy(), pt.grad.numpy(), rtol=2**-6, atol=2**-7)


def test_bfloat16_conv_backward_is_rounded_once():
    """The bfloat16 gradients of a convolution under autocast are the float64 gradients of the
    same bfloat16 values, rounded once (what PyTorch's kernels compute on AVX-512 CPUs)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    x = rng.standard_normal((2, 4, 4, 4)).astype(np.float32)
    gy = rng.standard_normal((2, 2, 2, 2)).astype(np.float32)
    xc = cr.tensor(x).to(B).requires_grad_(True)
    wc = cr.tensor(w, requires_grad=True)
    with cr.autocast("cpu", dtype=B):
        y = F.conv2d(xc, wc)
    y.backward(cr.tensor(gy).to(B))
    x64, w64 = (torch.tensor(v).bfloat16().double().requires_grad_(True) for v in (x, w))
    TF.conv2d(x64, w64).backward(torch.tensor(gy).bfloat16().double())
    for got, exact in ((xc.grad, x64.grad), (wc.grad, w64.grad)):
        want = exact.float().bfloat16().float().numpy()  # via float32, as chainrule computes
        np.testing.assert_array_equal(got.float().numpy(), want)


def test_autocast_state_and_unsupported_forms():
    assert cr.amp.is_autocast_available("cpu") and torch.amp.is_autocast_available("cpu")
    assert str(torch.get_autocast_dtype("cpu")) == str(cr.get_autocast_dtype("cpu"))
    with cr.autocast("cpu", dtype=cr.float16):  # float16 takes effect too, as in PyTorch
        assert (cr.ones(2, 3) @ cr.ones(3)).dtype == cr.float16
    with cr.autocast("cpu"):  # PyTorch's CPU default: bfloat16
        assert (cr.ones(2, 3) @ cr.ones(3)).dtype == B
        with cr.autocast("cpu", enabled=False):
            assert (cr.ones(2, 3) @ cr.ones(3)).dtype == cr.float32
        x64 = cr.ones(2, 3, dtype=cr.float64)  # float64 is not cast, as in PyTorch
        assert (x64 @ x64.t()).dtype == cr.float64
    assert (cr.ones(2, 3) @ cr.ones(3)).dtype == cr.float32
