"""``view`` on results that PyTorch lays out contiguously but chainrule does not.

A convolution's output is a transposed view of chainrule's ``(O, N, H, W)`` GEMM result (and
ReLU and pooling keep that memory order), while PyTorch's is contiguous, so the classic
``x.view(x.size(0), -1)`` after conv layers must work. ``view`` lays such a tensor out
contiguously once and views that, unless the user can reach its memory or it is a view of
another tensor; then it refuses as PyTorch refuses non-viewable strides.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _classic_mnist_net(lib, x, w1, w2, w3):
    F = lib.nn.functional
    h = F.relu(F.max_pool2d(F.conv2d(x, w1), 2))
    h = F.relu(F.max_pool2d(F.conv2d(h, w2), 2))
    h = h.view(-1, 2 * 4 * 4)  # the PyTorch MNIST example's x.view(-1, 320), scaled down
    return F.linear(h, w3)


def test_view_after_conv_relu_pool_matches_torch() -> None:
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal((5, 1, 22, 22)),
        rng.standard_normal((3, 1, 3, 3)),
        rng.standard_normal((2, 3, 3, 3)),
        rng.standard_normal((4, 32)),
    ]
    results = []
    for lib in (cr, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = _classic_mnist_net(lib, *ts)
        out.pow(2).sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_the_view_aliases_its_base_both_ways() -> None:
    x = cr.randn(3, 1, 6, 6, dtype=cr.float64)
    w = cr.randn(4, 1, 3, 3, dtype=cr.float64)
    y = cr.nn.functional.conv2d(x, w)
    z = y.view(3, -1)
    y.add_(1.0)
    np.testing.assert_array_equal(z.numpy(), y.reshape(3, -1).numpy())
    z.mul_(2.0)
    np.testing.assert_array_equal(z.numpy(), y.reshape(3, -1).numpy())
    assert y.is_contiguous()


def test_memory_the_user_can_reach_is_never_swapped() -> None:
    a = np.arange(12.0).reshape(3, 4)
    with pytest.raises(RuntimeError, match="view size"):
        cr.from_numpy(a.T).view(-1)  # as PyTorch: transposed strides cannot be flattened
    y = cr.nn.functional.conv2d(cr.randn(3, 1, 5, 5), cr.randn(2, 1, 3, 3))
    handle = y.numpy()  # the user now holds y's memory, laid out row-major first (as torch's)
    z = y.view(3, -1)  # so the view needs no relayout, as in PyTorch
    y.add_(1.0)
    np.testing.assert_array_equal(handle, y.numpy())
    np.testing.assert_array_equal(z.numpy(), handle.reshape(3, -1))
    part = y[:, :1]  # a view of y, then its memory handed out: never swapped
    handle = part.numpy()
    assert np.shares_memory(handle, y.numpy())


def test_a_view_of_another_tensor_still_refuses() -> None:
    x = cr.randn(3, 4)
    with pytest.raises(RuntimeError, match="view size"):
        x.t().view(-1)
    with pytest.raises(RuntimeError, match="view size"):
        torch.randn(3, 4).t().view(-1)


@pytest.mark.parametrize("make_view", ["unfold", "slice", "transpose"])
def test_a_tensor_with_a_view_is_relaid_with_the_view(make_view: str) -> None:
    """A view taken earlier (``y.unfold``, ``y[:, :2]``) shares the old memory: re-laying
    ``y`` alone would cut it off (a write through it would not reach ``y``, found by the
    fuzzer). Since session 42 the view is re-taken on the re-laid memory
    (``_layout_relay.py``), so ``view`` works as PyTorch's and the view still reaches ``y``."""
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((2, 3, 6, 6)))
    w = cr.tensor(rng.standard_normal((4, 3, 3, 3)))
    y = cr.nn.functional.conv2d(x, w)
    assert not y._data.flags.c_contiguous  # chainrule's own layout (the test's premise;
    # y.is_contiguous() is True, as PyTorch's)
    early = {
        "unfold": lambda: y.unfold(3, 2, 2),
        "slice": lambda: y[:, :2],
        "transpose": lambda: y.transpose(0, 1),
    }[make_view]()
    flat = y.view(-1)
    assert y._data.flags.c_contiguous and np.shares_memory(early._data, y._data)
    before = y.numpy().copy()
    early.mul_(2.0)  # still y's memory: the write shows in y and in its flat view
    assert np.shares_memory(early.numpy(), y.numpy())
    assert not np.array_equal(y.numpy(), before)
    np.testing.assert_array_equal(flat.numpy(), y.numpy().ravel())
    z = cr.nn.functional.conv2d(x, w)  # without an earlier view: re-laid and viewed
    np.testing.assert_array_equal(z.view(-1).numpy(), z.numpy().ravel())
