"""``inplace=True`` on activations and dropout, and the ``F.relu_``-style functions, as PyTorch.

Each case runs on chainrule and on torch from the same float64 values: the result must be
the input object itself, the input's values must change, and the gradient of a loss through
the in-place call must equal torch's (an in-place activation of a non-leaf is recorded,
of a leaf that requires grad raises, of a view rebases the view's base).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

VALUES = np.linspace(-3.0, 3.0, 12).reshape(3, 4)

# (name, call(F, x)) with the same spelling in both libraries
CASES = [
    ("relu", lambda F, x: F.relu(x, inplace=True)),
    ("relu_", lambda F, x: F.relu_(x)),
    ("relu6", lambda F, x: F.relu6(x, inplace=True)),
    ("hardtanh", lambda F, x: F.hardtanh(x, -0.5, 2.0, inplace=True)),
    ("hardtanh_", lambda F, x: F.hardtanh_(x, -0.5, 2.0)),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.2, inplace=True)),
    ("leaky_relu_", lambda F, x: F.leaky_relu_(x, 0.2)),
    ("elu", lambda F, x: F.elu(x, 1.5, inplace=True)),
    ("elu_", lambda F, x: F.elu_(x, 1.5)),
    ("selu", lambda F, x: F.selu(x, inplace=True)),
    ("selu_", lambda F, x: F.selu_(x)),
    ("celu", lambda F, x: F.celu(x, 0.7, inplace=True)),
    ("celu_", lambda F, x: F.celu_(x, 0.7)),
    ("silu", lambda F, x: F.silu(x, inplace=True)),
    ("mish", lambda F, x: F.mish(x, inplace=True)),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x, inplace=True)),
    ("hardswish", lambda F, x: F.hardswish(x, inplace=True)),
    ("threshold", lambda F, x: F.threshold(x, 0.5, -1.0, inplace=True)),
    ("threshold_", lambda F, x: F.threshold_(x, 0.5, -1.0)),
]


def _through_inplace(lib, call):
    """Values, gradient, and whether the call returned its input, for a non-leaf input."""
    a = lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)
    x = a * 1.5
    out = call(lib.nn.functional, x)
    returned_input = out is x
    loss = (x * x * lib.tensor(VALUES, dtype=lib.float64)).sum()
    (g,) = lib.autograd.grad(loss, [a])
    return x.detach().numpy().copy(), g.numpy().copy(), returned_input


@pytest.mark.parametrize("name,call", CASES, ids=[c[0] for c in CASES])
def test_inplace_activation_matches_torch(name, call):
    cv, cg, c_same = _through_inplace(cr, call)
    tv, tg, t_same = _through_inplace(torch, call)
    assert c_same and t_same
    np.testing.assert_allclose(cv, tv, rtol=1e-12, atol=1e-12)
    # rtol 1e-7: torch's own kernels round a constant to float32 in celu_ (1/alpha) and in
    # hardsigmoid's backward (1/6), so torch's float64 gradients carry ~3e-8 relative error
    # there (its out-of-place celu and chainrule agree to 1e-15).
    np.testing.assert_allclose(cg, tg, rtol=1e-7, atol=1e-12)
    assert not np.allclose(cv, VALUES * 1.5)  # the input really changed


@pytest.mark.parametrize("name,call", CASES, ids=[c[0] for c in CASES])
def test_inplace_activation_on_a_leaf_that_requires_grad_raises(name, call):
    for lib in (cr, torch):
        a = lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            call(lib.nn.functional, a)


def test_inplace_activation_bumps_the_version_and_guards_saved_values():
    for lib in (cr, torch):
        a = lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)
        x = a * 1.0
        y = x * x  # saves x
        lib.nn.functional.relu(x, inplace=True)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()


def test_inplace_activation_of_a_view_rebases_its_base():
    grads = []
    for lib in (cr, torch):
        a = lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)
        x = a * 1.0
        lib.nn.functional.leaky_relu(x[:, 1:3], 0.1, inplace=True)
        (g,) = lib.autograd.grad((x * x).sum(), [a])
        grads.append(g.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_modules_with_inplace_true_write_into_their_input():
    for make in (
        lambda nn: nn.ReLU(inplace=True),
        lambda nn: nn.LeakyReLU(0.3, inplace=True),
        lambda nn: nn.ELU(inplace=True),
        lambda nn: nn.Hardtanh(-1.0, 1.0, inplace=True),
        lambda nn: nn.Threshold(0.1, 20.0, inplace=True),
        lambda nn: nn.SiLU(inplace=True),
    ):
        results = []
        for lib in (cr, torch):
            x = lib.tensor(VALUES, dtype=lib.float64)
            out = make(lib.nn)(x)
            assert out is x
            results.append(x.numpy().copy())
        np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_a_sequential_with_inplace_relu_trains_like_torch():
    w = np.random.default_rng(0).standard_normal((4, 5)) / 2
    grads = []
    for lib in (cr, torch):
        lin = lib.nn.Linear(4, 5, bias=False).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(w.T.copy()))
        model = lib.nn.Sequential(lin, lib.nn.ReLU(inplace=True), lib.nn.Dropout(0.0, inplace=True))
        model(lib.tensor(VALUES, dtype=lib.float64)).pow(2).sum().backward()
        grads.append(lin.weight.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


@pytest.mark.parametrize("fn", ["dropout", "dropout1d", "dropout2d", "alpha_dropout"])
def test_inplace_dropout_writes_the_same_mask_into_the_input(fn):
    F = cr.nn.functional
    shape = (2, 3, 4, 2) if fn == "dropout2d" else (2, 3, 4)  # dropout2d warns on 3-D input
    cr.manual_seed(7)
    expected = getattr(F, fn)(cr.ones(*shape, dtype=cr.float64), 0.4, True).numpy()
    cr.manual_seed(7)
    a = cr.ones(*shape, dtype=cr.float64, requires_grad=True)
    x = a * 1.0
    out = getattr(F, fn)(x, 0.4, True, True)
    assert out is x
    np.testing.assert_array_equal(x.detach().numpy(), expected)
    (g,) = cr.autograd.grad(x.sum(), [a])
    if fn != "alpha_dropout":  # inverted dropout: the gradient is the mask itself
        np.testing.assert_array_equal(g.numpy(), expected)


def test_inplace_dropout_of_a_leaf_that_requires_grad_raises_as_torch():
    for lib in (cr, torch):
        a = lib.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.nn.functional.dropout(a, 0.5, True, True)


def test_group_norm_without_bias_and_hardtanh_deprecated_names_as_torch():
    gn = cr.nn.GroupNorm(2, 4, bias=False)
    tgn = torch.nn.GroupNorm(2, 4, bias=False)
    assert gn.bias is None and tgn.bias is None
    assert [n for n, _ in gn.named_parameters()] == [n for n, _ in tgn.named_parameters()]
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    np.testing.assert_allclose(
        gn(cr.tensor(x, dtype=cr.float32)).detach().numpy(),
        tgn(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.warns(FutureWarning) as record:
        h = cr.nn.Hardtanh(min_value=-2.0, max_value=3.0)
    assert ["min_value" in str(w.message) for w in record] == [True, False]
    assert (h.min_val, h.max_val) == (-2.0, 3.0)
