"""In-place activations and dropouts record PyTorch's single in-place nodes (session 33).

``F.relu(x, inplace=True)``, ``F.elu_``, ``torch.rrelu_``, ``nn.Hardswish(inplace=True)``,
``F.dropout(inplace=True)``, ... on a non-leaf ``x`` record one node written into ``x`` (no
``CloneBackward0`` in front), as PyTorch 2.13: ``relu_``, ``leaky_relu_`` (``*Backward1``),
``elu_`` / ``selu_`` / ``celu_`` and ``rrelu_with_noise_`` save their result (``x`` itself,
so changing ``x`` again makes backward raise), the others a copy of the old input. Each is
compared with torch live: graph names, ``_saved_*`` attributes, values, first and second
gradients, ``x._version``, the errors, forward mode; gradcheck / gradgradcheck in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

S = (2, 3, 4)


def _f(lib):
    return lib.nn.functional


CASES = {
    "F.relu": lambda L, x: _f(L).relu(x, inplace=True),
    "torch.relu_": lambda L, x: L.relu_(x),
    "nn.ReLU": lambda L, x: L.nn.ReLU(True)(x),
    "F.relu6": lambda L, x: _f(L).relu6(x, inplace=True),
    "nn.ReLU6": lambda L, x: L.nn.ReLU6(True)(x),
    "F.leaky_relu": lambda L, x: _f(L).leaky_relu(x, 0.1, inplace=True),
    "F.leaky_relu_": lambda L, x: _f(L).leaky_relu_(x),
    "nn.LeakyReLU": lambda L, x: L.nn.LeakyReLU(0.1, True)(x),
    "F.elu": lambda L, x: _f(L).elu(x, 1.3, inplace=True),
    "F.elu_": lambda L, x: _f(L).elu_(x, 1.3),
    "nn.ELU": lambda L, x: L.nn.ELU(1.3, True)(x),
    "F.selu": lambda L, x: _f(L).selu(x, inplace=True),
    "torch.selu_": lambda L, x: L.selu_(x),
    "F.celu": lambda L, x: _f(L).celu(x, 1.5, inplace=True),
    "torch.celu_": lambda L, x: L.celu_(x, 1.5),
    "nn.CELU": lambda L, x: L.nn.CELU(1.5, True)(x),
    "F.hardtanh": lambda L, x: _f(L).hardtanh(x, -0.5, 0.7, inplace=True),
    "F.hardtanh_": lambda L, x: _f(L).hardtanh_(x, -0.5, 0.7),
    "F.hardswish": lambda L, x: _f(L).hardswish(x, inplace=True),
    "nn.Hardswish": lambda L, x: L.nn.Hardswish(True)(x),
    "F.hardsigmoid": lambda L, x: _f(L).hardsigmoid(x, inplace=True),
    "F.silu": lambda L, x: _f(L).silu(x, inplace=True),
    "nn.SiLU": lambda L, x: L.nn.SiLU(True)(x),
    "F.mish": lambda L, x: _f(L).mish(x, inplace=True),
    "F.threshold": lambda L, x: _f(L).threshold(x, 0.1, 2.0, inplace=True),
    "torch.threshold_": lambda L, x: L.threshold_(x, 0.1, 2.0),
    "nn.Threshold": lambda L, x: L.nn.Threshold(0.1, 2.0, True)(x),
    "F.rrelu-train": lambda L, x: _f(L).rrelu(x, training=True, inplace=True),
    "F.rrelu-eval": lambda L, x: _f(L).rrelu(x, training=False, inplace=True),
    "torch.rrelu_": lambda L, x: L.rrelu_(x, training=True),
    "nn.RReLU": lambda L, x: L.nn.RReLU(inplace=True)(x),
}
DROPOUTS = {
    "F.dropout": (lambda L, x: _f(L).dropout(x, 0.3, True, inplace=True), S),
    "torch.dropout_": (lambda L, x: L.dropout_(x, 0.3, True), S),
    "nn.Dropout": (lambda L, x: L.nn.Dropout(0.3, True)(x), S),
    "F.dropout-p1": (lambda L, x: _f(L).dropout(x, 1.0, True, inplace=True), S),
    "F.alpha_dropout": (lambda L, x: _f(L).alpha_dropout(x, 0.3, True, inplace=True), S),
    "torch.alpha_dropout_": (lambda L, x: L.alpha_dropout_(x, 0.3, True), S),
    "F.feature_alpha_dropout": (
        lambda L, x: _f(L).feature_alpha_dropout(x, 0.3, True, inplace=True),
        S,
    ),
    "F.dropout1d": (lambda L, x: _f(L).dropout1d(x, 0.3, True, inplace=True), S),
    "F.dropout2d": (lambda L, x: _f(L).dropout2d(x, 0.3, True, inplace=True), (2, 3, 2, 2)),
    "F.dropout3d": (lambda L, x: _f(L).dropout3d(x, 0.3, True, inplace=True), (2, 2, 1, 2, 2)),
}
# saving the result (x itself): changing x again makes backward raise
RESULT_SAVERS = {"F.relu", "torch.relu_", "nn.ReLU", "F.leaky_relu", "F.leaky_relu_"}
RESULT_SAVERS |= {"nn.LeakyReLU", "F.elu", "F.elu_", "nn.ELU", "F.selu", "torch.selu_"}
RESULT_SAVERS |= {"F.celu", "torch.celu_", "nn.CELU", "F.rrelu-train", "F.rrelu-eval"}
RESULT_SAVERS |= {"torch.rrelu_", "nn.RReLU"}


def _data(shape=S, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.standard_normal(shape) * 2
    d.flat[0] = 0.0  # a kink
    return d


def _names(node, depth=5):
    out = []

    def walk(n, d):
        if n is None or d == 0:
            return
        out.append(n.name())
        for m, _ in n.next_functions:
            walk(m, d - 1)

    walk(node, depth)
    return out


def _saved(node, x):
    out = {}
    for k in sorted(k for k in dir(node) if k.startswith("_saved_")):
        v = getattr(node, k)
        if isinstance(v, torch.Tensor):
            out[k] = ("T", tuple(v.shape), v.data_ptr() == x.data_ptr())
        elif isinstance(v, cr.Tensor):
            out[k] = ("T", tuple(v.shape), bool(np.shares_memory(v._data, x._data)))
        else:
            out[k] = round(v, 12) if isinstance(v, float) else v
    return out


def _run(lib, fn, data, seed=3):
    lib.manual_seed(seed)
    a = lib.tensor(data, requires_grad=True)
    x = a * 1
    y = fn(lib, x)
    w = lib.tensor(np.cos(np.arange(data.size)).reshape(data.shape))
    (g1,) = lib.autograd.grad((y * w).sum(), a, create_graph=True)
    r = {
        "same": y is x,
        "version": x._version,
        "graph": _names(y.grad_fn),
        "saved": _saved(y.grad_fn, x),
        "value": y.detach().numpy().copy(),
        "g1": g1.detach().numpy().copy(),
    }
    if g1.requires_grad:
        try:
            r["g2"] = lib.autograd.grad((g1 * w).sum(), a)[0].numpy()
        except RuntimeError as e:  # hardsigmoid's gradient has no derivative (torch too)
            r["g2"] = str(e)
    return r


def _compare(t, c):
    assert c["same"] and t["same"]
    assert c["version"] == t["version"]
    assert c["graph"] == t["graph"]
    assert c["saved"] == t["saved"]
    np.testing.assert_allclose(c["value"], t["value"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c["g1"], t["g1"], rtol=1e-12, atol=1e-12)
    assert ("g2" in c) == ("g2" in t)
    if isinstance(t.get("g2"), str):
        assert c["g2"] == t["g2"]
    elif "g2" in t:
        np.testing.assert_allclose(c["g2"], t["g2"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_activation_matches_torch(name):
    data = _data()
    t, c = _run(torch, CASES[name], data), _run(cr, CASES[name], data)
    assert "CloneBackward0" not in c["graph"]
    _compare(t, c)


@pytest.mark.parametrize("name", list(DROPOUTS))
def test_dropout_matches_torch(name):
    fn, shape = DROPOUTS[name]
    data = _data(shape)
    t, c = _run(torch, fn, data), _run(cr, fn, data)
    _compare(t, c)


def _outcome(lib, fn, data, after):
    lib.manual_seed(3)
    x = lib.tensor(data, requires_grad=True) * 1
    y = fn(lib, x)
    after(x)
    try:
        y.sum().backward()
    except RuntimeError as e:
        assert "one of the variables needed for gradient computation" in str(e)
        return "raised"
    return "ok"


@pytest.mark.parametrize("name", list(CASES) + list(DROPOUTS))
def test_modified_again_before_backward(name):
    fn = CASES.get(name) or DROPOUTS[name][0]
    data = _data(DROPOUTS[name][1] if name in DROPOUTS else S)
    t = _outcome(torch, fn, data, lambda x: x.add_(1))
    c = _outcome(cr, fn, data, lambda x: x.add_(1))
    assert c == t
    assert (c == "raised") == (name in RESULT_SAVERS)


@pytest.mark.parametrize("name", list(CASES) + list(DROPOUTS))
def test_leaf_requiring_grad_raises(name):
    fn = CASES.get(name) or DROPOUTS[name][0]
    shape = DROPOUTS[name][1] if name in DROPOUTS else S
    with pytest.raises(RuntimeError, match="leaf"):
        fn(torch, torch.ones(shape, requires_grad=True))
    with pytest.raises(RuntimeError, match="leaf"):
        fn(cr, cr.ones(shape, requires_grad=True))


@pytest.mark.parametrize(
    "name", [n for n in CASES if not any(k in n for k in ("hardsigmoid", "rrelu", "RReLU"))]
)
def test_gradcheck_gradgradcheck(name):
    fn = CASES[name]
    data = _data((3, 4), seed=5)
    data[np.abs(data) < 0.05] = 0.3  # away from the kinks
    data[np.abs(np.abs(data) - 3) < 0.05] = 1.1
    data[np.abs(data - 0.7) < 0.05] = 1.1
    data[np.abs(data + 0.5) < 0.05] = -1.1
    data[np.abs(data - 0.1) < 0.05] = 0.4
    a = cr.tensor(data, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: fn(cr, t * 1), (a,))
    assert cr.autograd.gradgradcheck(lambda t: fn(cr, t * 1), (a,))


def test_rrelu_train_gradcheck_with_fixed_noise():
    data = _data((3, 4), seed=6)
    data[np.abs(data) < 0.05] = 0.3  # no element crosses 0 (the noise is drawn for x <= 0)
    a = cr.tensor(data, requires_grad=True)

    def fn(t):
        cr.manual_seed(11)
        return cr.nn.functional.rrelu(t * 1, training=True, inplace=True)

    assert cr.autograd.gradcheck(fn, (a,))
    assert cr.autograd.gradgradcheck(fn, (a,))


@pytest.mark.parametrize("name", [n for n in CASES if "rrelu" not in n and "RReLU" not in n])
def test_forward_mode_matches_torch(name):
    fn = CASES[name]
    data, tangent = _data(), np.cos(np.arange(24.0)).reshape(S)
    out = {}
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            d = fwad.make_dual(lib.tensor(data), lib.tensor(tangent))
            x = d * 1
            y = fn(lib, x)
            assert y is x
            out[lib] = fwad.unpack_dual(y).tangent.numpy().copy()
    np.testing.assert_allclose(out[cr], out[torch], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda L, x: _f(L).leaky_relu(x, -0.2, inplace=True), "In-place leakyReLu backward"),
        (lambda L, x: _f(L).elu(x, -0.5, inplace=True), "In-place elu backward"),
        (lambda L, x: _f(L).celu(x, -0.5, inplace=True), "In-place elu backward"),
        (
            lambda L, x: _f(L).rrelu(x, -0.5, -0.1, training=False, inplace=True),
            "In-place leakyReLu backward",
        ),
    ],
)
def test_negative_slope_backward_raises_like_torch(call, message):
    for lib in (torch, cr):
        x = lib.tensor(_data(), requires_grad=True) * 1
        y = call(lib, x)
        with pytest.raises(RuntimeError, match=message):
            y.sum().backward()


def test_negative_slope_in_training_rrelu_differentiates():
    data = _data()
    out = {}
    for lib in (torch, cr):
        lib.manual_seed(3)
        a = lib.tensor(data, requires_grad=True)
        y = _f(lib).rrelu(a * 1, -0.2, -0.2, training=True, inplace=True)
        y.sum().backward()
        out[lib] = a.grad.numpy()
    np.testing.assert_allclose(out[cr], out[torch])


@pytest.mark.parametrize("name", ["F.relu", "F.elu", "F.leaky_relu", "F.rrelu-eval", "F.silu"])
def test_on_a_view_matches_torch(name):
    fn, data = CASES[name], _data((3, 4))
    out = {}
    for lib in (torch, cr):
        a = lib.tensor(data, requires_grad=True)
        base = a * 1
        v = base[1]
        fn(lib, v)
        (base * lib.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        node = base.grad_fn  # CopySlices over the base's old node (chainrule lists the op too)
        out[lib] = ([node.name(), node.next_functions[0][0].name()], a.grad.numpy(), base._version)
    assert out[cr][0] == out[torch][0]
    np.testing.assert_allclose(out[cr][1], out[torch][1])
    assert out[cr][2] == out[torch][2]


def test_saved_result_is_the_written_tensor():
    x = cr.tensor(_data(), requires_grad=True) * 1
    y = cr.nn.functional.elu(x, inplace=True)
    assert np.shares_memory(y.grad_fn._saved_result._data, x._data)
    (g,) = cr.autograd.grad(y.sum(), x)
    assert g.shape == x.shape


def test_saved_tensor_hooks_see_one_value():
    packed = []
    a = cr.tensor(_data(), requires_grad=True)
    with cr.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        x = a * 1
        y = cr.nn.functional.leaky_relu(x, 0.2, inplace=True)
    y.sum().backward()
    ref = torch.tensor(_data(), requires_grad=True)
    torch.nn.functional.leaky_relu(ref * 1, 0.2, inplace=True).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ref.grad.numpy())
    assert len(packed) >= 1


def test_no_grad_and_plain_tensor_unchanged():
    data = _data()
    for name, fn in CASES.items():
        if "rrelu" in name or "RReLU" in name:
            continue
        x = cr.tensor(data)
        with cr.no_grad():
            y = fn(cr, x)
        assert y is x and x.grad_fn is None
        ref = fn(torch, torch.tensor(data))
        np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: _f(L).elu(x, 1.3, inplace=True),
        lambda L, x: _f(L).celu(x, 1.7, inplace=True),
        lambda L, x: _f(L).selu(x, inplace=True),
        lambda L, x: _f(L).leaky_relu(x, 0.1, inplace=True),
    ],
)
def test_bfloat16_result_gradient_rounds_once_like_torch(call):
    d = np.linspace(-3, 3, 101)
    grads = {}
    for lib in (torch, cr):
        a = lib.tensor(d, dtype=lib.bfloat16, requires_grad=True)
        y = call(lib, a * 1)
        y.backward(lib.tensor(np.cos(d), dtype=lib.bfloat16))
        grads[lib] = (y.detach().float().numpy(), a.grad.float().numpy())
    np.testing.assert_array_equal(grads[cr][0], grads[torch][0])
    np.testing.assert_array_equal(grads[cr][1], grads[torch][1])
