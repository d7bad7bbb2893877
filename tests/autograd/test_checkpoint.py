"""``cr.utils.checkpoint`` against un-checkpointed chainrule and ``torch.utils.checkpoint``:
same gradients (dropout included), recomputation in backward, both variants' rules."""

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import chainrule as cr
from chainrule.utils.checkpoint import (
    CheckpointError,
    checkpoint,
    checkpoint_sequential,
    set_checkpoint_debug_enabled,
)

BOTH = pytest.mark.parametrize("reentrant", [True, False])


def _mlp(dropout=0.0):
    return cr.nn.Sequential(
        cr.nn.Linear(4, 8),
        cr.nn.Tanh(),
        cr.nn.Dropout(dropout),
        cr.nn.Linear(8, 8),
        cr.nn.Sigmoid(),
        cr.nn.Linear(8, 3),
    )


def _torch_copy(net):
    """A torch Sequential with the same layers and weights (dropout p kept)."""
    layers = []
    for m in net:
        if isinstance(m, cr.nn.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
                lin.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
            layers.append(lin)
        elif isinstance(m, cr.nn.Dropout):
            layers.append(torch.nn.Dropout(m.p))
        else:
            layers.append(getattr(torch.nn, type(m).__name__)())
    return torch.nn.Sequential(*layers)


def _grads(params):
    return [p.grad.numpy().copy() if p.grad is not None else None for p in params]


def _reference_grads(net, x, seed):
    net.zero_grad()
    x.grad = None
    cr.manual_seed(seed)
    net(x).pow(2).sum().backward()
    return _grads([*net.parameters(), x])


@BOTH
def test_dropout_mlp_gradients_equal_uncheckpointed(reentrant):
    net = _mlp(dropout=0.5)
    x = cr.randn(6, 4, requires_grad=True)
    ref = _reference_grads(net, x, seed=7)
    net.zero_grad()
    x.grad = None
    cr.manual_seed(7)
    checkpoint(net, x, use_reentrant=reentrant).pow(2).sum().backward()
    for a, b in zip(ref, _grads([*net.parameters(), x])):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@BOTH
def test_without_preserved_rng_state_dropout_masks_differ(reentrant):
    net = _mlp(dropout=0.5)
    x = cr.randn(6, 4, requires_grad=True)
    ref = _reference_grads(net, x, seed=7)
    net.zero_grad()
    x.grad = None
    cr.manual_seed(7)
    out = checkpoint(net, x, use_reentrant=reentrant, preserve_rng_state=False)
    out.pow(2).sum().backward()
    assert not all(np.allclose(a, b) for a, b in zip(ref, _grads([*net.parameters(), x])))


@BOTH
def test_rng_state_after_backward_is_the_callers(reentrant):
    net = _mlp(dropout=0.5)
    out = checkpoint(net, cr.randn(3, 4, requires_grad=True), use_reentrant=reentrant)
    state = cr.get_rng_state()
    out.sum().backward()
    assert cr.equal(cr.get_rng_state(), state)


@BOTH
def test_gradients_equal_torch_checkpoint(reentrant):
    net = _mlp()
    tnet = _torch_copy(net)
    xn = np.random.randn(5, 4).astype(np.float32)
    x = cr.tensor(xn, requires_grad=True)
    tx = torch.tensor(xn, requires_grad=True)
    out = checkpoint(net, x, use_reentrant=reentrant)
    tout = tcp.checkpoint(tnet, tx, use_reentrant=reentrant)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.pow(2).sum().backward()
    tout.pow(2).sum().backward()
    for p, tp in zip([*net.parameters(), x], [*tnet.parameters(), tx]):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6)


@BOTH
def test_function_runs_again_in_backward_like_torch(reentrant):
    def make(lib, calls):
        def f(x):
            calls.append(lib.is_grad_enabled())
            return (x * 2).sin()

        return f

    ours, theirs = [], []
    x = cr.randn(3, requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    y = checkpoint(make(cr, ours), x, use_reentrant=reentrant)
    ty = tcp.checkpoint(make(torch, theirs), tx, use_reentrant=reentrant)
    assert ours == theirs and len(ours) == 1  # once in forward (grad mode as torch)
    y.sum().backward()
    ty.sum().backward()
    assert ours == theirs == [not reentrant, True]  # recomputed with grad on
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


@BOTH
def test_forward_keeps_no_graph_inside(reentrant):
    kept = []

    def f(x):
        h = x * 2  # sin saves h for its backward: kept alive by a recorded graph
        kept.append(weakref.ref(h))
        return h.sin().sum()

    x = cr.randn(3, requires_grad=True)
    plain = f(x)
    gc.collect()
    assert kept[-1]() is not None  # without checkpoint the graph holds it
    del plain
    out = checkpoint(f, x, use_reentrant=reentrant)
    gc.collect()
    assert kept[-1]() is None  # with checkpoint nothing holds the intermediate
    nodes = [n.name() for n in cr.autograd.graph.walk(out)]
    assert len(nodes) == 1 and "Checkpoint" in nodes[0]
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(2 * x.detach().numpy()), rtol=1e-6)


@BOTH
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_matches_torch(reentrant, segments):
    net = _mlp()
    tnet = _torch_copy(net)
    xn = np.random.randn(5, 4).astype(np.float32)
    x = cr.tensor(xn, requires_grad=True)
    tx = torch.tensor(xn, requires_grad=True)
    out = checkpoint_sequential(net, segments, x, use_reentrant=reentrant)
    tout = tcp.checkpoint_sequential(tnet, segments, tx, use_reentrant=reentrant)
    out.pow(2).sum().backward()
    tout.pow(2).sum().backward()
    for p, tp in zip([*net.parameters(), x], [*tnet.parameters(), tx]):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_checkpoint_sequential_list_and_dropout():
    net = _mlp(dropout=0.3)
    x = cr.randn(4, 4, requires_grad=True)
    ref = _reference_grads(net, x, seed=3)
    net.zero_grad()
    x.grad = None
    cr.manual_seed(3)
    checkpoint_sequential(list(net), 3, x, use_reentrant=False).pow(2).sum().backward()
    for a, b in zip(ref, _grads([*net.parameters(), x])):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint_sequential(net, 2, x, use_reentrant=False, foo=1)


@pytest.mark.parametrize("outer", [True, False])
@pytest.mark.parametrize("inner", [True, False])
def test_nested_checkpoints(outer, inner):
    lin1, lin2 = cr.nn.Linear(3, 3), cr.nn.Linear(3, 2)
    x = cr.randn(4, 3, requires_grad=True)
    calls = []

    def inner_fn(h):
        calls.append("inner")
        return lin1(h).tanh()

    def outer_fn(h):
        return lin2(checkpoint(inner_fn, h, use_reentrant=inner)).sigmoid()

    lin2(lin1(x).tanh()).sigmoid().sum().backward()
    ref = _grads([*lin1.parameters(), *lin2.parameters(), x])
    for p in [*lin1.parameters(), *lin2.parameters(), x]:
        p.grad = None
    with warnings.catch_warnings():
        # the outer reentrant forward runs under no_grad, so the inner one sees no input
        # requiring grad and warns (as in torch)
        warnings.simplefilter("ignore", UserWarning)
        checkpoint(outer_fn, x, use_reentrant=outer).sum().backward()
    for a, b in zip(ref, _grads([*lin1.parameters(), *lin2.parameters(), x])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert len(calls) == 3  # forward, outer recomputation, inner recomputation


def test_non_reentrant_with_autograd_grad_matches_torch():
    net = _mlp()
    tnet = _torch_copy(net)
    xn = np.random.randn(5, 4).astype(np.float32)
    x = cr.tensor(xn, requires_grad=True)
    tx = torch.tensor(xn, requires_grad=True)
    gs = cr.autograd.grad(checkpoint(net, x, use_reentrant=False).sum(), [x, *net.parameters()])
    tgs = torch.autograd.grad(
        tcp.checkpoint(tnet, tx, use_reentrant=False).sum(), [tx, *tnet.parameters()]
    )
    for g, tg in zip(gs, tgs):
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in net.parameters())  # grad() leaves .grad alone


def test_reentrant_rejects_grad_and_backward_inputs_like_torch():
    x = cr.randn(3, requires_grad=True)
    tx = torch.randn(3, requires_grad=True)
    for call in (
        lambda y, x: cr.autograd.grad(y, [x]),
        lambda y, x: y.backward(inputs=[x]),
    ):
        with pytest.raises(RuntimeError, match="use_reentrant=True.*incompatible with .grad"):
            call(checkpoint(_sin, x, use_reentrant=True).sum(), x)
    with pytest.raises(RuntimeError, match="incompatible with .grad"):
        torch.autograd.grad(tcp.checkpoint(torch.sin, tx, use_reentrant=True).sum(), [tx])


def _sin(x):
    return x.sin()


def test_inputs_without_grad():
    lin = cr.nn.Linear(3, 2)
    x = cr.randn(4, 3)  # does not require grad
    out = checkpoint(lin, x, use_reentrant=False)  # non-reentrant: params still get grads
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(lin.bias.grad.numpy(), [4.0, 4.0])
    tlin = torch.nn.Linear(3, 2)
    assert tcp.checkpoint(tlin, torch.randn(4, 3), use_reentrant=False).requires_grad
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(lin, x, use_reentrant=True)  # reentrant: no gradient at all
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        tout = tcp.checkpoint(tlin, torch.randn(4, 3), use_reentrant=True)
    assert out.requires_grad is tout.requires_grad is False


def test_keyword_arguments():
    def f(x, *, scale):
        return (x * scale).exp()

    x = cr.randn(3, requires_grad=True)
    checkpoint(f, x, scale=3.0, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp(3 * x.detach().numpy()), rtol=1e-5)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(f, x, scale=3.0, use_reentrant=True)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        tcp.checkpoint(f, torch.randn(3), scale=3.0, use_reentrant=True)


def test_use_reentrant_must_be_passed_warns_like_torch():
    x = cr.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        y = checkpoint(_sin, x)
    assert y.grad_fn.name() == "CheckpointFunctionBackward"  # the reentrant default
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        tcp.checkpoint(torch.sin, torch.randn(3, requires_grad=True))
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint_sequential([cr.nn.Tanh(), cr.nn.Tanh()], 2, x)


def test_double_backward_non_reentrant():
    x = cr.randn(4, dtype=cr.float64, requires_grad=True)
    y = checkpoint(lambda v: v.sin() * v, x, use_reentrant=False)
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    v = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), np.cos(v) * v + np.sin(v), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), 2 * np.cos(v) - v * np.sin(v), rtol=1e-12)


def test_outputs_tuple_and_structures():
    x = cr.randn(3, requires_grad=True)

    def f(v):
        return {"a": v.exp(), "n": 3, "idx": v.argmax(), "b": [v * 2]}

    out = checkpoint(f, x, use_reentrant=False)
    assert out["n"] == 3 and not out["idx"].requires_grad
    (out["a"].sum() + out["b"][0].sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()) + 2, rtol=1e-6)
    x.grad = None
    a, b = checkpoint(lambda v: (v.exp(), v * 2), x, use_reentrant=True)
    a.sum().backward()  # b unused: its gradient is zero
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()), rtol=1e-6)


def test_under_no_grad():
    x = cr.randn(3, requires_grad=True)
    with cr.no_grad():
        assert not checkpoint(_sin, x, use_reentrant=False).requires_grad
        assert not checkpoint(_sin, x, use_reentrant=True).requires_grad


def test_unsupported_and_invalid_arguments():
    x = cr.randn(3, requires_grad=True)

    def ctx():
        return cr.no_grad(), cr.no_grad()

    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(_sin, x, use_reentrant=True, context_fn=ctx)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(_sin, x, use_reentrant=True, debug=True)
    with pytest.raises(NotImplementedError, match="debug"):
        checkpoint(_sin, x, use_reentrant=False, debug=True)
    with set_checkpoint_debug_enabled(True), pytest.raises(NotImplementedError, match="debug"):
        checkpoint(_sin, x, use_reentrant=False)
    with set_checkpoint_debug_enabled(False):  # overrides the flag
        checkpoint(_sin, x, use_reentrant=False, debug=True)
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(_sin, x, use_reentrant=False, determinism_check="bogus")
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        tcp.checkpoint(torch.sin, torch.randn(2), use_reentrant=False, determinism_check="x")


def test_determinism_check():
    sizes = iter([3, 2])

    def f(v):
        return v[: next(sizes)] * 2

    x = cr.randn(3, requires_grad=True)
    y = checkpoint(f, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="different metadata"):
        y.sum().backward()
    assert issubclass(CheckpointError, RuntimeError)


def test_in_place_change_of_input_is_detected():
    x = cr.randn(3, requires_grad=True)
    h = x * 1
    y = checkpoint(_sin, h, use_reentrant=False)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_tensor_read_from_outside():
    w = cr.randn(3, requires_grad=True)
    x = cr.randn(3, requires_grad=True)
    t = w * 2  # a non-leaf computed outside the checkpointed function
    # read through the closure and used only there: its graph is differentiated inside
    checkpoint(lambda v: (v * t).sin(), x, use_reentrant=False).sum().backward()
    xv, tv = x.detach().numpy(), t.detach().numpy()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.cos(xv * tv) * xv, rtol=1e-5)
    # also used outside: passed as an argument its graph is shared normally
    w.grad = None
    y = checkpoint(lambda v, s: (v * s).sin(), x, t, use_reentrant=False)
    (y.sum() + t.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.cos(xv * tv) * xv + 2, rtol=1e-5)
    # read through the closure and used outside: its graph may be freed first: clear error
    t = w * 2
    y = checkpoint(lambda v: (v * t).sin(), x, use_reentrant=False)
    with pytest.raises(RuntimeError, match="pass that tensor to checkpoint\\(\\) as an argument"):
        (y.sum() + t.sum()).backward()


def test_public_names():
    assert set(cr.utils.checkpoint.__all__) >= {
        "checkpoint",
        "checkpoint_sequential",
        "set_checkpoint_debug_enabled",
    }
    for name in cr.utils.checkpoint.__all__:
        assert hasattr(tcp, name), name
