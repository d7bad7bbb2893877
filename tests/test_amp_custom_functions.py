"""``amp.custom_fwd`` / ``amp.custom_bwd`` against PyTorch's: the dtypes and autocast state
a custom Function's forward and backward see, results and gradients, and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))


def _functions(lib, log):
    """Two matmul Functions: one casting its inputs to float32, one following autocast."""
    amp = lib.amp

    class FullPrecisionMM(lib.autograd.Function):
        @staticmethod
        @amp.custom_fwd(device_type="cpu", cast_inputs=lib.float32)
        def forward(ctx, a, b):
            log.append(("fwd", str(a.dtype).split(".")[-1], lib.is_autocast_enabled("cpu")))
            ctx.save_for_backward(a, b)
            return a.mm(b)

        @staticmethod
        @amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            log.append(("bwd", lib.is_autocast_enabled("cpu")))
            return g.mm(b.t()), a.t().mm(g)

    class FollowingMM(lib.autograd.Function):
        @staticmethod
        @amp.custom_fwd(device_type="cpu")
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            out = a.mm(b)
            log.append(("fwd2", str(out.dtype).split(".")[-1], lib.is_autocast_enabled("cpu")))
            return out

        @staticmethod
        @amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            ga = g.mm(b.t())
            log.append(("bwd2", str(ga.dtype).split(".")[-1], lib.is_autocast_enabled("cpu")))
            return ga, a.t().mm(g)

    return FullPrecisionMM, FollowingMM


def _run(lib):
    log = []
    full, follow = _functions(lib, log)
    a = lib.tensor(A, dtype=lib.float32, requires_grad=True)
    b = lib.tensor(B, dtype=lib.float32, requires_grad=True)
    with lib.autocast("cpu", dtype=lib.bfloat16):
        y1 = full.apply(a.to(lib.bfloat16), b)
        y2 = follow.apply(a, b)
    log.append(("dtypes", str(y1.dtype).split(".")[-1], str(y2.dtype).split(".")[-1]))
    (y1.sum() + y2.float().sum()).backward()
    outside = full.apply(a, b)  # outside autocast: a no-op decorator
    outside.sum().backward()
    return log, y1.detach().numpy(), a.grad.numpy(), b.grad.numpy()


def test_custom_fwd_bwd_follow_torch():
    t_log, t_y, t_ga, t_gb = _run(torch)
    c_log, c_y, c_ga, c_gb = _run(cr)
    assert c_log == t_log
    np.testing.assert_allclose(c_y, t_y, rtol=1e-6)
    # bfloat16 products in the second Function's forward and backward: bfloat16 tolerance
    np.testing.assert_allclose(c_ga, t_ga, rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(c_gb, t_gb, rtol=2e-2, atol=2e-2)


def test_errors_and_decorator_forms():
    for lib in (torch, cr):
        with pytest.raises(TypeError, match="device_type"):
            lib.amp.custom_fwd(lambda ctx: 1)
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.amp.custom_fwd(device_type=3)
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.amp.custom_bwd(device_type=None)

        def forward(ctx, x):
            return x

        assert lib.amp.custom_fwd(forward, device_type="cpu").__name__ == "forward"
        assert callable(lib.amp.custom_fwd(device_type="cpu"))


def test_cuda_amp_spellings_warn_as_torch():
    for lib in (torch, cr):
        for name in ("custom_fwd", "custom_bwd"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                getattr(lib.cuda.amp, name)(lambda ctx, x: x)
            assert [w.category for w in caught] == [FutureWarning]
            assert "device_type='cuda'" in str(caught[0].message)
