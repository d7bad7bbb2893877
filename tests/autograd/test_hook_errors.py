"""A hook or custom Function that returns a gradient of the wrong shape, dtype or type
(issue 9 §5): chainrule raises PyTorch's error class, naming the hook (its ``__qualname__``)
or the Function and both shapes, instead of summing the gradient back to shape, casting it,
or failing later in an unrelated op."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr


def _lib(name: str):
    return torch if name == "torch" else cr


def _shrink(g):
    return g[:1]


def _grow(g):
    return g.expand(2, 3)


def _widen(g):
    return g.double()


def _number(g):
    return 5.0


def _run_tensor_hook(lib, hook, leaf: bool) -> None:
    x = lib.ones(3, requires_grad=True)
    y = x if leaf else x * 2
    y.register_hook(hook)
    (y * 2).sum().backward()


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non_leaf"])
@pytest.mark.parametrize(
    "hook,err,words",
    [
        (_shrink, RuntimeError, ["_shrink", "changed the size", "(1,)", "(3,)"]),
        (_grow, RuntimeError, ["_grow", "changed the size", "(2, 3)", "(3,)"]),
        (_widen, RuntimeError, ["_widen", "changed the type", "float64", "float32"]),
        (_number, TypeError, ["_number", "float"]),
    ],
)
def test_tensor_hook_result_is_checked_like_torch(hook, err, words, leaf):
    with pytest.raises(err):
        _run_tensor_hook(torch, hook, leaf)
    with pytest.raises(err) as info:
        _run_tensor_hook(cr, hook, leaf)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_hook_is_named_by_its_qualname():
    class Scaler:
        @staticmethod
        def halve(g):
            return g[:2]

    x = cr.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(Scaler.halve)
    with pytest.raises(RuntimeError, match=r"Scaler\.halve.*\(2,\).*\(3,\)"):
        y.sum().backward()


def test_hook_keeping_shape_and_dtype_still_replaces_the_gradient():
    for lib in (torch, cr):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: g * 10)
        y.sum().backward()
        assert x.grad.tolist() == [20.0, 20.0, 20.0]


def _function(lib, backward):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            return x * w

        @staticmethod
        def backward(ctx, g):
            return backward(g)

    return Bad


@pytest.mark.parametrize(
    "backward,words",
    [
        (lambda g: (g[:1], None), ["Function BadBackward", "index 0 - got [1]", "with [3]"]),
        (lambda g: (g,), ["BadBackward", "expected 2", "got 1"]),
        (lambda g: (g, g, g), ["BadBackward", "expected 2", "got 3"]),
        (lambda g: (3, None), ["BadBackward", "int", "input 0"]),
    ],
)
def test_custom_function_bad_gradients_raise_like_torch(backward, words):
    for name in ("torch", "cr"):
        lib = _lib(name)
        x = lib.ones(3, requires_grad=True)
        w = lib.ones(3)
        with pytest.raises(RuntimeError) as info:
            _function(lib, backward).apply(x, w).sum().backward()
        if name == "cr":
            for word in words:
                assert word in str(info.value), (word, str(info.value))


def test_custom_function_extra_none_gradients_are_allowed():
    for lib in (torch, cr):
        x = lib.ones(3, requires_grad=True)
        _function(lib, lambda g: (g, None, None)).apply(x, lib.ones(3)).sum().backward()
        assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_custom_function_broadcastable_gradient_is_summed_like_torch():
    grads = []
    for lib in (torch, cr):
        x = lib.ones(3, requires_grad=True)
        _function(lib, lambda g: (g.expand(2, 3), None)).apply(x, lib.ones(3)).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [2.0, 2.0, 2.0]


def _node_graph(lib):
    x = lib.ones(3, requires_grad=True)
    w = lib.full((3,), 2.0, requires_grad=True)
    return x, w, x * w


@pytest.mark.parametrize("kind", ["prehook", "hook"])
def test_node_hooks_replace_gradients_like_torch(kind):
    grads = []
    for lib in (torch, cr):
        x, w, y = _node_graph(lib)
        if kind == "prehook":
            handle = y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
        else:
            handle = y.grad_fn.register_hook(lambda gi, go: (gi[0] * 3, None))
        y.sum().backward()
        grads.append((x.grad.tolist(), None if w.grad is None else w.grad.tolist()))
        handle.remove()
        x.grad = None
        y = x * w
        y.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]  # removed: no longer applied
    assert grads[0] == grads[1]


@pytest.mark.parametrize(
    "kind,hook,words",
    [
        (
            "prehook",
            lambda go: (go[0][:1],),
            ["on MulBackward", "changed the size", "(1,)", "(3,)"],
        ),
        ("prehook", lambda go: (go[0], go[0]), ["on MulBackward", "incorrect number", "got 2"]),
        ("hook", lambda gi, go: (gi[0][:2], gi[1]), ["on MulBackward", "input 0", "(2,)", "(3,)"]),
        ("hook", lambda gi, go: (gi[0],), ["on MulBackward", "incorrect number", "got 1"]),
        ("hook", lambda gi, go: (gi[0].double(), gi[1]), ["changed the type", "float64"]),
    ],
)
def test_node_hook_bad_results_raise_like_torch(kind, hook, words):
    for name in ("torch", "cr"):
        _, _, y = _node_graph(_lib(name))
        register = y.grad_fn.register_prehook if kind == "prehook" else y.grad_fn.register_hook
        register(hook)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        if name == "cr":
            assert "<lambda>" in str(info.value)
            for word in words:
                assert word in str(info.value), (word, str(info.value))
