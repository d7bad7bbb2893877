"""Session 38's first-order backward paths (sum/mean, matmul, log_softmax computed on the
arrays, recording nothing), cat's argument fast path and the cheaper ``quiet_fp``: the same
results bit for bit as the recorded Tensor-op path (``create_graph=True``), the same view
relations for hooks, and the same values and errors as torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd.ieee import fp_ignoring, quiet_fp, quiet_off, quiet_on

_OPS = {
    "sum": lambda x, w: x.sum(),
    "sum_dim": lambda x, w: x.sum(1),
    "sum_dim_keepdim": lambda x, w: x.sum(0, keepdim=True),
    "sum_dims": lambda x, w: x.sum((0, 2)),
    "mean": lambda x, w: x.mean(),
    "mean_dim": lambda x, w: x.mean(-1),
    "mean_dims_keepdim": lambda x, w: x.mean((1, 2), keepdim=True),
    "mean_of_transposed": lambda x, w: x.transpose(0, 2).mean(0),
    "matmul": lambda x, w: x @ w.transpose(1, 2),
    "matmul_2d": lambda x, w: x[0] @ w[0].T,
    "matmul_broadcast": lambda x, w: x @ w[0].T,
    "matmul_constant_left": lambda x, w: x.detach() @ w.transpose(1, 2),
    "log_softmax": lambda x, w: cr.nn.functional.log_softmax(x, -1),
    "log_softmax_dim0": lambda x, w: x.log_softmax(0),
    "log_softmax_transposed": lambda x, w: x.transpose(1, 2).log_softmax(1),
    "cat": lambda x, w: cr.cat([x, w], 0),
    "cat_negative_dim": lambda x, w: cr.cat((w, x, w), -1),
}


def _grads(name: str, dtype: type, create_graph: bool, grad_layout: str) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((3, 5, 4)).astype(dtype), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, 5, 4)).astype(dtype), requires_grad=True)
    y = _OPS[name](x, w)
    ga = rng.standard_normal(y.shape[::-1]).astype(dtype)
    g = cr.tensor(ga.T if grad_layout == "transposed" else ga.T.copy())
    gx, gw = cr.autograd.grad(y, (x, w), g, create_graph=create_graph, allow_unused=True)
    return [t.detach().numpy() for t in (gx, gw) if t is not None]


@pytest.mark.parametrize("grad_layout", ["row_major", "transposed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(_OPS))
def test_first_order_equals_recorded_path(name, dtype, grad_layout):
    fast = _grads(name, dtype, False, grad_layout)
    recorded = _grads(name, dtype, True, grad_layout)
    assert len(fast) == len(recorded) > 0
    for a, b in zip(fast, recorded):
        assert a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["matmul", "matmul_2d", "matmul_broadcast", "sum_dim", "mean"])
def test_first_order_equals_recorded_path_in_float16(name):
    fast = _grads(name, np.float16, False, "row_major")
    recorded = _grads(name, np.float16, True, "row_major")
    for a, b in zip(fast, recorded, strict=True):
        assert a.dtype == b.dtype == np.float16 and a.strides == b.strides
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(_OPS))
def test_gradients_match_torch(name):
    rng = np.random.default_rng(1)
    xa, wa = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 5, 4))
    out = {}
    for m in (cr, torch):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        fn = _OPS[name] if m is cr else _torch_op(name)
        y = fn(x, w)
        y.backward(m.tensor(np.linspace(-1.0, 2.0, y.numel()).reshape(tuple(y.shape))))
        out[m.__name__] = [None if t.grad is None else t.grad.numpy() for t in (x, w)]
    for a, b in zip(out["chainrule"], out["torch"]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _torch_op(name: str):
    """The same op with torch's spelling where it differs."""
    special = {
        "log_softmax": lambda x, w: torch.nn.functional.log_softmax(x, -1),
        "cat": lambda x, w: torch.cat([x, w], 0),
        "cat_negative_dim": lambda x, w: torch.cat((w, x, w), -1),
    }
    return special.get(name, _OPS[name])


def test_sum_gradient_seen_by_a_hook_is_a_read_only_expanded_view_as_in_torch():
    seen = {}
    for m in (cr, torch):
        x = m.ones(2, 3, requires_grad=True)
        root = m.tensor(2.0)

        def hook(g, m=m, root=root):
            seen[m.__name__] = (g._is_view(), g._base is root, tuple(g.stride()))
            try:
                g.add_(1)
            except RuntimeError as err:
                seen[m.__name__ + "_error"] = str(err)

        x.register_hook(hook)
        x.sum().backward(root)
        seen[m.__name__ + "_grad"] = x.grad.numpy().copy()
    assert seen["chainrule"] == seen["torch"] == (True, True, (0, 0))
    assert "more than one element of the written-to tensor" in seen["torch_error"]
    assert "more than one element of the written-to tensor" in seen["chainrule_error"]
    np.testing.assert_array_equal(seen["chainrule_grad"], seen["torch_grad"])


def test_mean_of_an_empty_tensor_keeps_torch_gradient():
    for m in (cr, torch):
        x = m.zeros(0, 3, requires_grad=True)
        x.mean().backward()
        assert tuple(x.grad.shape) == (0, 3)
    x = cr.zeros(2, 0, requires_grad=True)
    xt = torch.zeros(2, 0, requires_grad=True)
    x.mean(1).backward(cr.ones(2))
    xt.mean(1).backward(torch.ones(2))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_retain_graph_and_anomaly_mode_take_the_same_paths():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = cr.tensor(np.arange(12.0).reshape(3, 4) / 7, requires_grad=True)
    y = cr.cat([(x @ w).log_softmax(1), x.mean(0, keepdim=True) @ w], 0).sum()
    y.backward(retain_graph=True)
    first = (x.grad.numpy().copy(), w.grad.numpy().copy())
    with cr.autograd.detect_anomaly():
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first[0])
    np.testing.assert_array_equal(w.grad.numpy(), 2 * first[1])


def test_cat_fast_arguments_keep_saved_dim_promotion_and_errors():
    for dim in (1, -1):
        y = cr.cat([cr.ones(2, 3, requires_grad=True), cr.ones(2, 1)], dim)
        yt = torch.cat([torch.ones(2, 3, requires_grad=True), torch.ones(2, 1)], dim)
        assert y.grad_fn._saved_dim == yt.grad_fn._saved_dim
    mixed = cr.cat([cr.ones(2, dtype=cr.float32), cr.ones(1, dtype=cr.float64)])
    assert mixed.dtype == cr.float64
    legacy = cr.cat([cr.ones(2, 2), cr.empty(0)], 1)  # the legacy empty tensor joins anything
    assert tuple(legacy.shape) == (2, 2)
    with pytest.raises(IndexError):
        cr.cat([cr.ones(2, 2), cr.ones(2, 2)], 2)
    with pytest.raises(RuntimeError, match="sizes must match except in dimension 0"):
        cr.cat([cr.ones(2, 2), cr.ones(2, 3)], 0)
    with pytest.raises(RuntimeError, match="zero-dimensional"):
        cr.cat([cr.ones(()), cr.ones(())])


def test_quiet_fp_restores_the_callers_setting_and_follows_its_changes():
    with np.errstate(all="raise"):
        with quiet_fp():
            assert set(np.geterr().values()) == {"ignore"}
            with quiet_fp():  # nested
                assert np.float64(1.0) / np.float64(0.0) == np.inf
            assert set(np.geterr().values()) == {"ignore"}
        assert set(np.geterr().values()) == {"raise"}
        token = quiet_on()
        assert np.geterr()["invalid"] == "ignore"
        quiet_off(token)
        assert np.geterr()["invalid"] == "raise"
    old = np.getbufsize()
    try:
        np.setbufsize(16384)  # a new setting: quiet_fp keeps its buffer size
        with quiet_fp():
            assert np.getbufsize() == 16384
    finally:
        np.setbufsize(old)
    with quiet_fp():
        assert np.getbufsize() == old


def test_fp_ignoring_ignores_its_events_only_and_follows_the_callers_changes():
    ignore_over = fp_ignoring("over")
    for divide in ("raise", "warn", "raise"):  # a new caller's setting each time
        with np.errstate(divide=divide, over="raise", invalid="call"):
            with ignore_over():
                assert np.geterr() == {
                    "divide": divide,
                    "over": "ignore",
                    "under": "ignore",
                    "invalid": "call",
                }
                assert np.float32(3e38) * np.float32(10) == np.inf  # no FloatingPointError
            assert np.geterr()["over"] == "raise"


def test_backward_is_quiet_whatever_the_callers_numpy_setting():
    x = cr.tensor([1.0, 0.0, -1.0], requires_grad=True)
    y = (x.log() * 0.0).sum()
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        y.backward()  # 0 * 1/0: nan, silently, as in torch
    xt = torch.tensor([1.0, 0.0, -1.0], requires_grad=True)
    (xt.log() * 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
