"""Mixed precision: cr.amp.GradScaler against torch.amp.GradScaler, and autocast's rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    w, x, y = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    ours = cr.nn.Parameter(cr.tensor(w, dtype=cr.float64))
    ref = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
    return ours, ref, x, y


def _loss(lib, w, x, y):
    out = lib.tensor(x) @ w.T
    return ((out - lib.tensor(y)) ** 2).mean()


def test_grad_scaler_matches_torch_step_by_step():
    ours_w, ref_w, x, y = _pair()
    kw = dict(init_scale=2.0**10, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    s_ours, s_ref = cr.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    o_ours = cr.optim.SGD([ours_w], lr=0.1)
    o_ref = torch.optim.SGD([ref_w], lr=0.1)
    poison = {2, 5}  # steps whose gradient gets an inf: skipped and the scale backs off
    for step in range(8):
        for lib, w, s, o in ((cr, ours_w, s_ours, o_ours), (torch, ref_w, s_ref, o_ref)):
            o.zero_grad()
            s.scale(_loss(lib, w, x, y)).backward()
            if step in poison:
                with lib.no_grad():
                    w.grad[0, 0] = float("inf")
            s.step(o)
            s.update()
        assert s_ours.get_scale() == s_ref.get_scale(), step
        assert s_ours.state_dict() == s_ref.state_dict(), step
        np.testing.assert_allclose(
            ours_w.detach().numpy(), ref_w.detach().numpy(), rtol=1e-12, atol=1e-12
        )


def test_unscale_then_clip_matches_torch():
    ours_w, ref_w, x, y = _pair(1)
    s_ours, s_ref = cr.amp.GradScaler("cpu"), torch.amp.GradScaler("cpu")
    for lib, w, s in ((cr, ours_w, s_ours), (torch, ref_w, s_ref)):
        opt = (cr if lib is cr else torch).optim.SGD([w], lr=0.1)
        s.scale(_loss(lib, w, x, y)).backward()
        s.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called"):
            s.unscale_(opt)
        s.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            s.step(opt)
        s.update()
    np.testing.assert_allclose(ours_w.grad.numpy(), ref_w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_w.detach().numpy(), ref_w.detach().numpy(), rtol=1e-12)


def test_scale_nested_outputs_and_state_dict_roundtrip():
    s = cr.amp.GradScaler("cpu", init_scale=8.0)
    a, b = cr.tensor([1.0]), cr.tensor([2.0])
    out = s.scale([a, (b,)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    assert float(out[0]) == 8.0 and float(out[1][0]) == 16.0
    ref = torch.amp.GradScaler("cpu", init_scale=8.0)
    t = cr.amp.GradScaler("cpu")
    t.load_state_dict(ref.state_dict())
    assert t.get_scale() == 8.0 and t.state_dict() == ref.state_dict()
    with pytest.raises(RuntimeError, match="empty"):
        t.load_state_dict({})


def test_update_and_step_need_scale_first_as_torch():
    s = cr.amp.GradScaler("cpu")
    opt = cr.optim.SGD([cr.nn.Parameter(cr.ones(2))], lr=0.1)
    for call in (lambda: s.unscale_(opt), s.update, lambda: s.step(opt)):
        with pytest.raises(AssertionError):
            call()
    s.scale(cr.ones(1))
    with pytest.raises(AssertionError, match="No inf checks"):
        s.update()
    with pytest.raises(RuntimeError, match="Closure"):
        s.step(opt, closure=lambda: 0.0)


def test_cuda_scaler_without_gpu_disables_itself_like_torch():
    if cr.cuda.is_available():  # pragma: no cover
        pytest.skip("a GPU is present: the scaler stays enabled")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = cr.amp.GradScaler()
    with pytest.warns(UserWarning):
        ref = torch.amp.GradScaler()
    assert s.is_enabled() is ref.is_enabled() is False
    assert s.get_scale() == ref.get_scale() == 1.0
    assert s.state_dict() == ref.state_dict() == {}
    w = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([w], lr=0.5)
    loss = s.scale((w * 2).sum())
    loss.backward()
    s.step(opt)
    s.update()
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])


def test_disabled_scaler_passes_through():
    s = cr.amp.GradScaler("cpu", enabled=False)
    t = cr.tensor([3.0])
    assert s.scale(t) is t and s.get_scale() == 1.0


def test_scaler_rejects_bad_factors():
    with pytest.raises(ValueError, match="growth_factor"):
        cr.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff_factor"):
        cr.amp.GradScaler("cpu", backoff_factor=1.5)


def test_autocast_disabled_forms_run_unchanged():
    with cr.autocast("cpu", enabled=False):
        assert cr.is_autocast_enabled("cpu") is False
        y = cr.ones(2) @ cr.ones(2)
    assert float(y) == 2.0
    with cr.amp.autocast(device_type="cpu", enabled=False):
        pass

    @cr.autocast("cpu", enabled=False)
    def f(x):
        return x * 2

    assert float(f(cr.ones(1))) == 2.0


def test_autocast_cuda_without_gpu_warns_and_disables_like_torch():
    if cr.cuda.is_available():  # pragma: no cover
        pytest.skip("a GPU is present")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ctx = cr.autocast("cuda")
    with ctx:
        assert cr.is_autocast_enabled("cuda") is False
    with pytest.warns(UserWarning, match="Disabling"):
        torch.autocast("cuda")


def test_autocast_unsupported_dtype_disables_with_warning():
    with pytest.warns(UserWarning, match="Disabling autocast"):
        ctx = cr.autocast("cpu", dtype=cr.float32)
    with ctx:
        assert not cr.is_autocast_enabled("cpu")


def test_autocast_cpu_float16_takes_effect_like_torch():
    # (it raised NotImplementedError until float16 products ran on float32 BLAS)
    for lib in (cr, torch):
        with lib.autocast("cpu", dtype=lib.float16):
            assert lib.is_autocast_enabled("cpu")
            assert str(lib.get_autocast_dtype("cpu")).endswith("float16")
            y = lib.nn.functional.linear(lib.ones(2, 3), lib.ones(4, 3))
            assert str(y.dtype).endswith("float16")
        assert not lib.is_autocast_enabled("cpu")


def test_autocast_bad_device_type():
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        cr.autocast("tpu")
    with pytest.raises(ValueError, match="str"):
        cr.autocast(0)


def test_deprecated_cuda_amp_spellings_warn_like_torch():
    with pytest.warns(FutureWarning, match="cr.amp.autocast\\('cuda'"):
        ctx = cr.cuda.amp.autocast(enabled=False)
    with ctx:
        assert not cr.is_autocast_enabled("cuda")
    with pytest.warns(FutureWarning, match="deprecated"):
        torch.cuda.amp.autocast(enabled=False)
    if not cr.cuda.is_available():
        with pytest.warns((FutureWarning, UserWarning)):
            s = cr.cuda.amp.GradScaler()
        assert not s.is_enabled()
    from chainrule.cuda.amp import GradScaler

    with pytest.warns(FutureWarning):
        assert GradScaler(enabled=False).get_scale() == 1.0
