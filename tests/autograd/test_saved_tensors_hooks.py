"""``saved_tensors_hooks``, ``save_on_cpu`` and ``disable_saved_tensors_hooks`` against
PyTorch's: which tensors are packed and when, what the backward computes with the unpacked
values, the errors, and whole models giving the same gradients with hooks as without."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
import torch
from torch.autograd import graph as tgraph

import chainrule as cr
from chainrule.autograd import saved_hooks as cgraph

RNG = np.random.default_rng(0)


def _logging_hooks(graph, log: list):
    def pack(t):
        log.append(("pack", t.requires_grad, t.grad_fn is not None))
        return t.detach()

    def unpack(t):
        log.append(("unpack",))
        return t

    return graph.saved_tensors_hooks(pack, unpack)


def test_the_documented_example_packs_and_unpacks_like_torch():
    logs = {}
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        log = logs[lib.__name__] = []
        a = lib.ones(5, requires_grad=True)
        b = lib.ones(5, requires_grad=True) * 2
        with _logging_hooks(graph, log):
            y = a * b
        n_packed = len(log)
        y.sum().backward()
        log.append(("grad", a.grad.tolist()))
        assert n_packed == 2
    # the same calls; PyTorch's MulBackward0 saves `other` before `self`, so compare as sets
    assert sorted(logs["torch"][:2]) == sorted(logs["chainrule"][:2])
    assert logs["torch"][2:] == logs["chainrule"][2:]


@pytest.mark.parametrize("leaf", [True, False])
def test_backward_computes_with_what_unpack_returns(leaf):
    grads = []
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, 4.0, -1.0], dtype=lib.float64, requires_grad=True)
        xin = x if leaf else x * 1
        with graph.saved_tensors_hooks(lambda t: t.detach() * 10, lambda t: t / 5):
            y = (xin * w).sin().sum()
        y.backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


@pytest.mark.parametrize("leaf", [True, False])
def test_double_backward_through_copied_saved_values(leaf):
    out = []
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        x = lib.tensor([1.0, 2.0, -0.5], dtype=lib.float64, requires_grad=True)
        xin = x if leaf else x * 1
        with graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            y = (xin**3 * xin.exp()).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g.sum(), x)
        out.append((g.detach().numpy(), g2.numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12)


def test_unpack_must_return_a_tensor():
    a = cr.ones(3, requires_grad=True)
    with cgraph.saved_tensors_hooks(lambda t: t, lambda t: 3):
        y = (a * a).sum()
    expected = "unpack_hook expected to be a Tensor but got result of type int"
    with pytest.raises(TypeError, match=expected):
        y.backward()


def test_unpacked_shape_or_dtype_must_match():
    a = cr.ones(3, requires_grad=True)
    with cgraph.saved_tensors_hooks(lambda t: t, lambda t: t[:2]):
        y = a.sin().sum()
    with pytest.raises(RuntimeError, match=r"unpack_hook returned a tensor of shape \(2,\)"):
        y.backward()
    with cgraph.saved_tensors_hooks(lambda t: t, lambda t: t.float()):
        y = a.double().sin().sum()
    with pytest.raises(RuntimeError, match="dtype float32, but the saved tensor had shape"):
        y.backward()


def _thread_and_nesting(lib, graph) -> list:
    a = lib.ones(3, requires_grad=True)
    packed = []
    with graph.saved_tensors_hooks(lambda t: packed.append("outer") or t, lambda t: t):
        worker = threading.Thread(target=lambda: a * a)
        worker.start()
        worker.join()
        assert packed == []  # the other thread's op was not packed
        with graph.saved_tensors_hooks(lambda t: packed.append("inner") or t, lambda t: t):
            a * a
        a * a
    return packed


def test_hooks_belong_to_their_thread_and_the_innermost_pair_applies():
    assert _thread_and_nesting(torch, tgraph) == ["inner", "inner", "outer", "outer"]
    assert _thread_and_nesting(cr, cgraph) == ["inner", "inner", "outer", "outer"]


def _packed_without_recording(lib, graph) -> list:
    a = lib.ones(3, requires_grad=True)
    packed = []
    with graph.saved_tensors_hooks(lambda t: packed.append(1) or t, lambda t: t):
        with lib.no_grad():
            a * a
        a.detach() * a.detach()
    return packed


def test_nothing_is_packed_when_nothing_is_recorded():
    assert _packed_without_recording(torch, tgraph) == []
    assert _packed_without_recording(cr, cgraph) == []


def test_the_hooks_do_not_see_what_they_compute_themselves():
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        a = lib.ones(3, requires_grad=True)
        calls = []

        def pack(t, calls=calls):
            calls.append("pack")
            return (t * t).detach()  # an op that saves: not packed again

        def unpack(t, calls=calls, lib=lib):
            calls.append("unpack")
            return lib.sqrt(t * t).sqrt()

        with graph.saved_tensors_hooks(pack, unpack):
            y = a.sin().sum()
        y.backward(create_graph=True)
        assert calls == ["pack", "unpack"], lib.__name__
        a.grad = None  # break the create_graph cycle


def test_retain_graph_unpacks_again():
    counts = []
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        a = lib.ones(3, requires_grad=True)
        b = lib.full((3,), 2.0, requires_grad=True)
        n = [0]
        with graph.saved_tensors_hooks(lambda t: t, lambda t, n=n: n.__setitem__(0, n[0] + 1) or t):
            y = (a * b).sum()
        y.backward(retain_graph=True)
        y.backward()
        counts.append(n[0])
    assert counts[0] == counts[1] == 4


def test_disable_saved_tensors_hooks():
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        with graph.disable_saved_tensors_hooks("not with this module"):
            with pytest.raises(RuntimeError, match="not with this module"):
                with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
            a = lib.ones(2, requires_grad=True)
            (a * a).sum().backward()
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with graph.disable_saved_tensors_hooks("no hooks here"):
                    pass
        # after both blocks, hooks may be set again
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass


def test_custom_function_save_for_backward_is_packed():
    seen = {}
    for lib, graph in ((torch, tgraph), (cr, cgraph)):

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                doubled = x * 2
                ctx.save_for_backward(x, doubled)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, doubled = ctx.saved_tensors
                return g * doubled

        log = seen[lib.__name__] = []
        x = lib.tensor([1.0, 3.0], dtype=lib.float64, requires_grad=True)
        with _logging_hooks(graph, log):
            y = Square.apply(x).sum()
        y.backward()
        log.append(("grad", x.grad.tolist()))
    assert seen["chainrule"] == seen["torch"]


def test_packed_values_free_the_original_memory():
    store = {}

    def pack(t):
        key = len(store)
        store[key] = t.detach().numpy().copy()
        return key

    def unpack(key):
        return cr.from_numpy(store[key])

    x = cr.tensor(RNG.standard_normal(1000), requires_grad=True)
    with cgraph.saved_tensors_hooks(pack, unpack):
        h = x.exp()  # saves its output
        y = h.sin().sum()  # saves its input h
    alive = weakref.ref(h._data)
    del h
    gc.collect()
    assert alive() is None  # only the packed copies hold the values now
    y.backward()
    xs = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.exp(xs)) * np.exp(xs))


def test_in_place_change_after_save():
    """A hook that copies makes later in-place changes harmless, as in PyTorch. A hook that
    keeps the same memory would compute with the modified values: PyTorch does so silently,
    chainrule raises the in-place error instead."""
    grads = []
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        x = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
        h = x * 1
        with graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            y = h.sin().sum()
        with lib.no_grad():
            h.add_(1)
        y.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)

    x = cr.tensor([0.5, 1.5], requires_grad=True)
    h = x * 1
    with cgraph.saved_tensors_hooks(lambda t: t.detach(), lambda t: t):
        y = h.sin().sum()
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("hook", ["identity", "copy"])
def test_in_place_op_keeps_its_old_value_under_hooks(hook):
    """``y.mul_(w)``: the in-place op needs the old ``y`` for ``w``'s gradient (``x + 1``
    saves nothing, so only the in-place op's own saved values are at stake)."""
    pack = (lambda t: t) if hook == "identity" else (lambda t: t.detach().clone())
    grads = []
    for lib, graph in ((torch, tgraph), (cr, cgraph)):
        x = lib.tensor([0.5, 1.5, -2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([2.0, -1.0, 3.0], dtype=lib.float64, requires_grad=True)
        with graph.saved_tensors_hooks(pack, lambda t: t):
            y = x + 1
            y.mul_(w)
            loss = (y * y).sum()
        loss.backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


def _copy_torch_weights(cmodel, tmodel):
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in cmodel.state_dict().items()}
    tmodel.load_state_dict(state)


def _models(lib):
    nn = lib.nn
    lib.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5),
        nn.LogSoftmax(dim=1),
    )
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    encoder = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    return cnn, lstm, encoder


def _losses(lib, cnn, lstm, encoder, data):
    img, seq, tokens = (lib.from_numpy(d.copy()) for d in data)
    return (
        cnn(img).sum()
        + lstm(seq)[0].pow(2).sum()
        + lib.nn.functional.gelu(encoder(tokens), approximate="tanh").sum()
    )


@pytest.mark.parametrize("hooks", ["save_on_cpu", "numpy_copies"])
def test_models_train_the_same_with_hooks(hooks):
    """A CNN (conv, batch norm, in-place ReLU, pooling, linear, log-softmax), a two-layer LSTM
    and a Transformer encoder layer give the same gradients with the hooks as without, and as
    PyTorch with the same weights."""
    data = (
        RNG.standard_normal((2, 2, 6, 6)),
        RNG.standard_normal((2, 5, 3)),
        RNG.standard_normal((2, 4, 8)),
    )
    if hooks == "save_on_cpu":
        make = {torch: lambda: tgraph.save_on_cpu(pin_memory=False), cr: cgraph.save_on_cpu}
    else:
        make = {
            torch: lambda: tgraph.saved_tensors_hooks(
                lambda t: t.detach().numpy().copy(), torch.from_numpy
            ),
            cr: lambda: cgraph.saved_tensors_hooks(
                lambda t: t.detach().numpy().copy(), cr.from_numpy
            ),
        }
    results = {}
    cmodels = _models(cr)
    for c in cmodels:
        c.double()
    tmodels = _models(torch)
    for c, t in zip(cmodels, tmodels):
        t.double()
        _copy_torch_weights(c, t)
    for name, lib, models, use_hooks in (
        ("plain", cr, cmodels, False),
        ("hooks", cr, cmodels, True),
        ("torch", torch, tmodels, True),
    ):
        for m in models:
            m.zero_grad()
        if use_hooks:
            with make[lib]():
                loss = _losses(lib, *models, data)
        else:
            loss = _losses(lib, *models, data)
        loss.backward()
        results[name] = [p.grad.numpy().copy() for m in models for p in m.parameters()]
    for plain, hooked, ref in zip(results["plain"], results["hooks"], results["torch"]):
        np.testing.assert_array_equal(hooked, plain)
        np.testing.assert_allclose(hooked, ref, rtol=1e-9, atol=1e-12)


def test_forward_mode_inside_hooks():
    x = cr.tensor(RNG.standard_normal((3, 4)))
    t = cr.tensor(RNG.standard_normal((3, 4)))
    w = cr.tensor(RNG.standard_normal(4), requires_grad=True)

    def f(x):
        return cr.nn.functional.layer_norm(x, (4,), w).tanh()

    plain = cr.func.jvp(f, (x,), (t,))
    with cgraph.saved_tensors_hooks(lambda v: v.detach().numpy().copy(), cr.from_numpy):
        hooked = cr.func.jvp(f, (x,), (t,))
    for p, h in zip(plain, hooked):
        np.testing.assert_array_equal(h.detach().numpy(), p.detach().numpy())


def test_save_on_cpu_arguments():
    with pytest.raises(TypeError, match="device_type must be a string"):
        cgraph.save_on_cpu(device_type=0)
    hooks = cgraph.save_on_cpu(pin_memory=True)
    assert hooks.pin_memory is True and hooks.device_type == "cuda"
    with pytest.raises(TypeError, match="pack_hook must be callable"):
        cgraph.saved_tensors_hooks(None, lambda t: t)
