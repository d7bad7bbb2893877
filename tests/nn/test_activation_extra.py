"""GLU, Hardshrink, Softshrink, RReLU and Softmax2d (functional and modules) against PyTorch.

Values and gradients are compared in float64 and float32; module reprs, bad inputs and
``inplace`` semantics follow torch. RReLU's training-mode slopes are random and cannot match
PyTorch's draws, so they are checked statistically (inside [lower, upper], spread out, mean
near (lower + upper) / 2), for reproducibility under ``cr.manual_seed`` and for the gradient
being the slope each element used. The differentiable ops are also in the op-spec table
(tests/ops/op_specs_activation_extra.py: gradcheck, gradgradcheck, forward mode).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.nn.functional import activation as activation_functional
from chainrule.nn.layers import activation as activation_layers
from chainrule.nn.modules import activation as activation_modules

from ._helpers import close, pair

# ------------------------------------------------------------------ names and signatures


def test_existing_activations_are_still_there():
    for name in ("threshold", "hardtanh", "logsigmoid", "softmin", "gumbel_softmax"):
        assert callable(getattr(F, name))
    assert issubclass(nn.Softmin, nn.Module) and issubclass(nn.Threshold, nn.Module)


@pytest.mark.parametrize("name", ["glu", "hardshrink", "softshrink", "rrelu", "rrelu_"])
def test_functional_exported(name):
    assert name in activation_functional.__all__
    assert getattr(F, name) is getattr(activation_functional, name)


@pytest.mark.parametrize("name", ["GLU", "Hardshrink", "Softshrink", "RReLU", "Softmax2d"])
def test_module_exported_on_torch_paths(name):
    assert getattr(nn, name) is getattr(activation_modules, name)
    assert name in activation_modules.__all__ and name in activation_layers.__all__


@pytest.mark.parametrize("name", ["glu", "rrelu"])
def test_functional_signature_matches_torch(name):
    got = inspect.signature(getattr(F, name))
    want = inspect.signature(getattr(torch.nn.functional, name))
    assert list(got.parameters) == list(want.parameters)
    for p in want.parameters.values():
        assert got.parameters[p.name].default == p.default, p.name


def test_builtin_signatures_match_torch_docs():
    # torch's hardshrink/softshrink/rrelu_ are builtins: their docstrings give the signature
    for fn, params in (
        (F.hardshrink, {"input": inspect.Parameter.empty, "lambd": 0.5}),
        (F.softshrink, {"input": inspect.Parameter.empty, "lambd": 0.5}),
        (
            F.rrelu_,
            {"input": inspect.Parameter.empty, "lower": 1 / 8, "upper": 1 / 3, "training": False},
        ),
    ):
        sig = inspect.signature(fn)
        assert {k: v.default for k, v in sig.parameters.items()} == params


@pytest.mark.parametrize("name", ["GLU", "Hardshrink", "Softshrink", "RReLU"])
def test_module_signature_matches_torch(name):
    got = inspect.signature(getattr(nn, name).__init__)
    want = inspect.signature(getattr(torch.nn, name).__init__)
    assert [(p.name, p.default) for p in got.parameters.values()] == [
        (p.name, p.default) for p in want.parameters.values()
    ]


# ----------------------------------------------------------------------------- values


FUNCTIONAL_CASES = [
    ("glu", (3, 4), lambda F, x: F.glu(x)),
    ("glu_dim0", (4, 3), lambda F, x: F.glu(x, 0)),
    ("glu_dim1_3d", (2, 6, 5), lambda F, x: F.glu(x, dim=1)),
    ("glu_neg_dim", (2, 4, 3), lambda F, x: F.glu(x, -2)),
    ("glu_1d", (8,), lambda F, x: F.glu(x)),
    ("glu_large", (2, 4), lambda F, x: F.glu(x * 60.0)),  # saturated gates stay finite
    ("hardshrink", (5, 7), lambda F, x: F.hardshrink(x)),
    ("hardshrink_lambd", (5, 7), lambda F, x: F.hardshrink(x, lambd=1.1)),
    ("hardshrink_neg", (5, 7), lambda F, x: F.hardshrink(x, -0.3)),
    ("softshrink", (5, 7), lambda F, x: F.softshrink(x)),
    ("softshrink_lambd", (5, 7), lambda F, x: F.softshrink(x, lambd=1.1)),
    ("softshrink_zero", (5, 7), lambda F, x: F.softshrink(x, 0.0)),
    ("rrelu_eval", (5, 7), lambda F, x: F.rrelu(x)),
    ("rrelu_eval_bounds", (5, 7), lambda F, x: F.rrelu(x, 0.05, 0.6, training=False)),
    ("rrelu_train_equal_bounds", (5, 7), lambda F, x: F.rrelu(x, 0.3, 0.3, training=True)),
    ("softmax2d_4d", (2, 3, 4, 5), lambda F, x: F.softmax(x, -3)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,shape,call", FUNCTIONAL_CASES, ids=[c[0] for c in FUNCTIONAL_CASES])
def test_functional_values_and_grads_match_torch(name, shape, call, dtype):
    arr = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    c = cr.tensor(arr, requires_grad=True)
    t = torch.tensor(arr, requires_grad=True)
    yc, yt = call(F, c), call(torch.nn.functional, t)
    assert str(yc.dtype) == str(yt.dtype)
    up = np.random.default_rng(4).standard_normal(tuple(yt.shape)).astype(dtype)
    (yc * cr.tensor(up)).sum().backward()
    (yt * torch.tensor(up)).sum().backward()
    tol = 1e-12 if dtype == "float64" else 1e-6
    close(yc.detach(), yt, tol)
    close(c.grad, t.grad, tol)


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.hardshrink(x),
        lambda F, x: F.softshrink(x),
        lambda F, x: F.softshrink(x, 0.0),
        lambda F, x: F.glu(x),
        lambda F, x: F.rrelu(x),
    ],
)
def test_nan_and_inf_propagate_like_torch(call):
    arr = np.array([[np.nan, 0.2, -np.inf, np.inf], [0.5, -0.5, 0.0, -3.0]])
    close(call(F, cr.tensor(arr)), call(torch.nn.functional, torch.tensor(arr)), 1e-15)


def test_shrink_at_the_band_edges_like_torch():
    # |x| == lambd is inside the band: value 0 and gradient 0 in both shrink functions
    arr = np.array([-0.5, 0.5, -0.25, 0.75, 0.0])
    for name in ("hardshrink", "softshrink"):
        c, t = cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
        getattr(F, name)(c).sum().backward()
        getattr(torch.nn.functional, name)(t).sum().backward()
        close(getattr(F, name)(cr.tensor(arr)), getattr(torch.nn.functional, name)(t), 0)
        close(c.grad, t.grad, 0)


def test_glu_empty_and_zero_size_halving_dim():
    for shape, dim in (((0, 4), -1), ((3, 0), 1)):
        got = F.glu(cr.zeros(*shape), dim)
        assert tuple(got.shape) == tuple(torch.nn.functional.glu(torch.zeros(*shape), dim).shape)


def test_glu_is_first_half_times_sigmoid_of_second():
    c, _ = pair(2, 6, seed=5)
    a, b = c.detach().numpy()[:, :3], c.detach().numpy()[:, 3:]
    close(F.glu(c), a / (1 + np.exp(-b)))


# ------------------------------------------------------------------------ bad inputs


def _both_raise(call, exc_cls):
    """The call raises ``exc_cls`` in torch and an instance of it naming the op in chainrule;
    returns chainrule's message."""
    arr = np.random.default_rng(0).standard_normal((3, 5))
    with pytest.raises(exc_cls):
        call(torch.nn.functional, torch.tensor(arr))
    with pytest.raises(exc_cls) as info:
        call(F, cr.tensor(arr))
    return str(info.value)


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda F, x: F.glu(x), RuntimeError, ["glu", "even", "size 5"]),
        (lambda F, x: F.glu(x, 0), RuntimeError, ["glu", "dimension 0 is size 3"]),
        (lambda F, x: F.glu(x, 2), IndexError, ["Dimension out of range", "[-2, 1]", "got 2"]),
        (lambda F, x: F.glu(x[0, 0]), RuntimeError, ["glu", "scalars"]),
        (lambda F, x: F.glu(x[:, :4].long()), NotImplementedError, ["glu", "'Long'"]),
        (lambda F, x: F.softshrink(x, -1.0), RuntimeError, ["softshrink", "lambda", "-1.0"]),
        (lambda F, x: F.softshrink(x.float(), 1e39), RuntimeError, ["softshrink", "float32"]),
        (lambda F, x: F.softshrink(x, float("nan")), RuntimeError, ["softshrink", "nan"]),
        (lambda F, x: F.softshrink(x.long()), NotImplementedError, ["softshrink", "'Long'"]),
        (lambda F, x: F.hardshrink(x.long()), NotImplementedError, ["hardshrink", "'Long'"]),
        (lambda F, x: F.rrelu(x, 0.5, 0.1), RuntimeError, ["rrelu", "Lower bound"]),
        (lambda F, x: F.rrelu(x, 0.5, 0.1, True), RuntimeError, ["rrelu", "Lower bound"]),
        (lambda F, x: F.rrelu(x.long()), NotImplementedError, ["rrelu", "'Long'"]),
        (lambda F, x: F.rrelu(x.long(), training=True), NotImplementedError, ["rrelu"]),
    ],
)
def test_bad_inputs_raise_like_torch(call, exc, words):
    msg = _both_raise(call, exc)
    for w in words:
        assert w in msg, (w, msg)


def test_hardshrink_negative_lambd_is_identity_like_torch():
    c, t = pair(4, 5, seed=1)
    close(F.hardshrink(c, -1.0), torch.nn.functional.hardshrink(t, -1.0), 0)
    close(F.hardshrink(c, -1.0), c, 0)


def test_rrelu_negative_bounds_in_training_run_like_torch():
    c, t = pair(4, 5, seed=1)
    torch.nn.functional.rrelu(t, -1.0, -0.5, True)  # torch accepts it
    y = F.rrelu(c, -1.0, -0.5, True)
    x, v = c.detach().numpy(), y.detach().numpy()
    neg = x <= 0
    assert np.all((v[neg] / x[neg] >= -1.0) & (v[neg] / x[neg] <= -0.5))


# ----------------------------------------------------------------- rrelu in training


def _slopes(lower=1 / 8, upper=1 / 3, n=4000, dtype="float64", seed=11):
    x = -np.abs(np.random.default_rng(seed).standard_normal(n)).astype(dtype) - 0.1
    c = cr.tensor(x, requires_grad=True)
    y = F.rrelu(c, lower, upper, training=True)
    y.sum().backward()
    return x, y.detach().numpy(), c.grad.numpy()


@pytest.mark.parametrize("lower,upper", [(1 / 8, 1 / 3), (0.0, 1.0), (0.4, 0.41)])
def test_rrelu_training_slopes_are_uniform_in_bounds(lower, upper):
    x, y, g = _slopes(lower, upper)
    a = y / x
    assert a.min() >= lower - 1e-15 and a.max() <= upper + 1e-15
    width = upper - lower
    assert abs(a.mean() - (lower + upper) / 2) < 0.05 * width  # 4000 draws: sd ~ 0.0046 w
    assert a.std() > 0.25 * width  # uniform: sd = w / sqrt(12) ~ 0.29 w
    assert len(np.unique(a)) > 3900  # one draw per element
    np.testing.assert_allclose(g, a, rtol=1e-12)  # the gradient is the slope that was used


def test_rrelu_training_float32_slopes_in_bounds():
    x, y, g = _slopes(0.1, 0.3, dtype="float32")
    assert y.dtype == np.float32 and g.dtype == np.float32
    a = y.astype(np.float64) / x
    assert a.min() >= np.float32(0.1) * (1 - 1e-6) and a.max() <= np.float32(0.3) * (1 + 1e-6)
    np.testing.assert_allclose(g, a, rtol=1e-6)


def test_rrelu_training_keeps_positive_inputs_with_gradient_one():
    arr = np.linspace(-2.0, 2.0, 41)
    c = cr.tensor(arr, requires_grad=True)
    y = F.rrelu(c, training=True)
    y.sum().backward()
    pos = arr > 0
    np.testing.assert_array_equal(y.detach().numpy()[pos], arr[pos])
    np.testing.assert_array_equal(c.grad.numpy()[pos], 1.0)
    assert np.all(c.grad.numpy()[~pos] < 1 / 3 + 1e-15)


def test_rrelu_training_is_reproducible_under_manual_seed():
    c, _ = pair(6, 7, seed=2)
    cr.manual_seed(123)
    y1 = F.rrelu(c, training=True).detach().numpy()
    y2 = F.rrelu(c, training=True).detach().numpy()
    cr.manual_seed(123)
    y3 = F.rrelu(c, training=True).detach().numpy()
    np.testing.assert_array_equal(y1, y3)
    assert not np.array_equal(y1, y2)  # a fresh draw each call


def test_rrelu_training_gradcheck_with_fixed_slopes():
    def fn(x):
        cr.manual_seed(7)  # the same slopes at every evaluation
        return F.rrelu(x, 0.1, 0.5, training=True)

    arr = np.array([[-1.3, 0.4, -0.2], [0.9, -2.1, -0.6]])
    assert cr.autograd.gradcheck(fn, (cr.tensor(arr, requires_grad=True),))
    assert cr.autograd.gradgradcheck(fn, (cr.tensor(arr, requires_grad=True),))


def test_rrelu_eval_is_leaky_relu_with_mean_slope():
    c, t = pair(5, 4, seed=9)
    close(F.rrelu(c, 0.1, 0.5), torch.nn.functional.leaky_relu(t, 0.3), 1e-15)


def test_rrelu_under_vmap_randomness_modes():
    x = cr.tensor(-np.abs(np.random.default_rng(0).standard_normal((4, 6))) - 0.1)
    same = cr.func.vmap(lambda t: F.rrelu(t, training=True), randomness="same")(x)
    diff = cr.func.vmap(lambda t: F.rrelu(t, training=True), randomness="different")(x)
    a_same = same.numpy() / x.numpy()
    a_diff = diff.numpy() / x.numpy()
    np.testing.assert_allclose(a_same, np.broadcast_to(a_same[0], a_same.shape), rtol=1e-12)
    assert not np.allclose(a_diff, a_diff[0])
    assert a_diff.min() >= 1 / 8 and a_diff.max() <= 1 / 3
    with pytest.raises(RuntimeError, match="randomness"):
        cr.func.vmap(lambda t: F.rrelu(t, training=True))(x)


# ----------------------------------------------------------------- rrelu in place


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(
    "call",
    [
        lambda F, x, tr: F.rrelu(x, 0.1, 0.3, tr, inplace=True),
        lambda F, x, tr: F.rrelu_(x, 0.1, 0.3, tr),
        lambda F, x, tr: F.rrelu_(x, 0.1, 0.3, training=tr),
    ],
)
def test_rrelu_inplace_writes_into_the_input(call, training):
    arr = np.linspace(-3.0, 3.0, 12).reshape(3, 4)
    a = cr.tensor(arr, requires_grad=True)
    x = a * 1.0
    version = x._version
    out = call(F, x, training)
    assert out is x and x._version > version
    v = x.detach().numpy()
    neg = arr < 0
    np.testing.assert_array_equal(v[~neg], arr[~neg])
    slopes = v[neg] / arr[neg]
    assert slopes.min() >= 0.1 - 1e-15 and slopes.max() <= 0.3 + 1e-15
    if not training:
        np.testing.assert_allclose(slopes, 0.2, rtol=1e-15)
    (g,) = cr.autograd.grad((x * 1.0).sum(), [a])
    np.testing.assert_allclose(g.numpy()[neg], slopes, rtol=1e-12)  # gradient = slope used
    np.testing.assert_array_equal(g.numpy()[~neg], 1.0)


def test_rrelu_eval_inplace_gradient_matches_torch():
    def run(lib):
        a = lib.tensor(np.linspace(-3.0, 3.0, 12).reshape(3, 4), requires_grad=True)
        x = a * 1.5
        lib.nn.functional.rrelu(x, 0.1, 0.4, False, True)
        (g,) = lib.autograd.grad((x * x).sum(), [a])
        return x.detach().numpy().copy(), g.numpy().copy()

    (cv, cg), (tv, tg) = run(cr), run(torch)
    np.testing.assert_allclose(cv, tv, rtol=1e-12)
    np.testing.assert_allclose(cg, tg, rtol=1e-12)


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_inplace_on_leaf_requiring_grad_raises_like_torch(training):
    with pytest.raises(RuntimeError):
        torch.nn.functional.rrelu(
            torch.ones(3, requires_grad=True), training=training, inplace=True
        )
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):  # torch's
        F.rrelu(cr.ones(3, requires_grad=True), training=training, inplace=True)


def test_rrelu_inplace_without_grad_changes_data():
    x = cr.tensor([-1.0, 2.0, -4.0])
    F.rrelu_(x)
    np.testing.assert_allclose(x.numpy(), [-(1 / 8 + 1 / 3) / 2, 2.0, -4 * (1 / 8 + 1 / 3) / 2])


# ----------------------------------------------------------------------------- modules


@pytest.mark.parametrize(
    "build",
    [
        lambda nn: nn.GLU(),
        lambda nn: nn.GLU(1),
        lambda nn: nn.GLU(dim=0),
        lambda nn: nn.Hardshrink(),
        lambda nn: nn.Hardshrink(0.3),
        lambda nn: nn.Hardshrink(lambd=2),
        lambda nn: nn.Softshrink(),
        lambda nn: nn.Softshrink(1.25),
        lambda nn: nn.RReLU(),
        lambda nn: nn.RReLU(0.1, 0.3),
        lambda nn: nn.RReLU(0.1, 0.3, True),
        lambda nn: nn.RReLU(lower=0.0, upper=1.0, inplace=False),
        lambda nn: nn.Softmax2d(),
    ],
)
def test_module_repr_and_state_match_torch(build):
    c, t = build(nn), build(torch.nn)
    assert repr(c) == repr(t)
    assert c.extra_repr() == t.extra_repr()
    assert list(c.state_dict()) == list(t.state_dict()) == []
    for attr in ("dim", "lambd", "lower", "upper", "inplace"):
        assert getattr(c, attr, None) == getattr(t, attr, None), attr


MODULE_CASES = [
    ("GLU", lambda nn: nn.GLU(), (3, 4)),
    ("GLU_dim1", lambda nn: nn.GLU(1), (2, 6, 3)),
    ("Hardshrink", lambda nn: nn.Hardshrink(0.7), (4, 5)),
    ("Softshrink", lambda nn: nn.Softshrink(0.7), (4, 5)),
    ("RReLU_eval", lambda nn: nn.RReLU(0.1, 0.6).eval(), (4, 5)),
    ("Softmax2d_4d", lambda nn: nn.Softmax2d(), (2, 3, 4, 5)),
    ("Softmax2d_3d", lambda nn: nn.Softmax2d(), (3, 4, 5)),
]


@pytest.mark.parametrize("name,build,shape", MODULE_CASES, ids=[m[0] for m in MODULE_CASES])
def test_module_outputs_and_grads_match_torch(name, build, shape):
    c, t = pair(*shape, seed=4)
    yc, yt = build(nn)(c), build(torch.nn)(t)
    close(yc, yt, 1e-12)
    up = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    (yc * cr.tensor(up)).sum().backward()
    (yt * torch.tensor(up)).sum().backward()
    close(c.grad, t.grad, 1e-12)


def test_softmax2d_sums_to_one_over_channels():
    c, _ = pair(2, 3, 4, 5, seed=6)
    np.testing.assert_allclose(nn.Softmax2d()(c).sum(1).detach().numpy(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (1, 2, 3, 4, 5)])
def test_softmax2d_rejects_other_ranks_like_torch(shape):
    with pytest.raises(ValueError) as want:
        torch.nn.Softmax2d()(torch.zeros(shape))
    with pytest.raises(ValueError) as got:
        nn.Softmax2d()(cr.zeros(*shape))
    assert str(got.value) == str(want.value)


def test_softmax2d_integer_input_raises_like_torch():
    with pytest.raises(NotImplementedError):
        torch.nn.Softmax2d()(torch.ones(2, 3, 4, dtype=torch.int64))
    with pytest.raises(NotImplementedError, match="Softmax2d"):
        nn.Softmax2d()(cr.ones(2, 3, 4, dtype=cr.int64))


def test_rrelu_module_train_draws_and_eval_is_fixed():
    m = nn.RReLU(0.1, 0.3)
    x = cr.tensor(-np.linspace(0.5, 3.0, 200))
    assert m.training
    a_train = m(x).numpy() / x.numpy()
    assert a_train.min() >= 0.1 and a_train.max() <= 0.3 and a_train.std() > 0.03
    m.eval()
    np.testing.assert_allclose(m(x).numpy() / x.numpy(), 0.2, rtol=1e-12)
    close(m(x), torch.nn.RReLU(0.1, 0.3).eval()(torch.tensor(x.numpy())), 1e-15)


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_module_inplace_returns_the_input(training):
    m = nn.RReLU(0.1, 0.3, inplace=True).train(training)
    x = cr.tensor([-1.0, 2.0, -3.0])
    out = m(x)
    assert out is x
    assert x.numpy()[1] == 2.0 and -0.3 <= x.numpy()[0] <= -0.1
    m2 = nn.RReLU(0.1, 0.3).train(training)
    y = cr.tensor([-1.0, 2.0, -3.0])
    assert m2(y) is not y and y.numpy()[0] == -1.0
