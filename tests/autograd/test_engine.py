"""Engine semantics: accumulation, retain_grad, freed graphs, hooks, grad modes, versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

# PyTorch's message for an in-place op on a leaf that requires grad, word for word
LEAF_MESSAGE = r"^a leaf Variable that requires grad is being used in an in-place operation\.$"


def _leaf(*vals, dtype=np.float64):
    return cr.tensor(np.array(vals, dtype=dtype), requires_grad=True)


def test_grad_accumulates_across_backward_calls():
    x = _leaf(1.0, 2.0)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_grad_is_not_aliased_with_upstream_gradient():
    x = _leaf(1.0, 2.0)
    g = cr.tensor(np.array([1.0, 1.0]))
    (x + 0).backward(g)
    x.grad.data += 5  # an optimizer updating .grad in place must not change g
    np.testing.assert_allclose(g.numpy(), [1, 1])


def test_non_leaf_grad_only_with_retain_grad():
    x = _leaf(1.0, 2.0)
    y = x * 2
    z = y * 3
    z.retain_grad()
    assert z.retains_grad and not y.retains_grad
    (z * z).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):  # as PyTorch: never filled
        assert y.grad is None
    np.testing.assert_allclose(z.grad.numpy(), 2 * z.detach().numpy())
    assert not y.is_leaf and x.is_leaf


def test_second_backward_through_freed_graph_raises_clearly():
    x = _leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = _leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_on_non_scalar_without_gradient_raises():
    x = _leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=r"(?s)^grad can be .* scalar outputs\n.*shape \(2,\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(cr.ones(3, dtype=cr.float64))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.ones(2).sum().backward()


@pytest.mark.parametrize("dtype", [cr.int64, cr.int32, cr.bool])
def test_requires_grad_on_int_dtype_raises_type_error(dtype):
    with pytest.raises(TypeError, match="floating"):
        cr.tensor([1, 2], dtype=dtype, requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        cr.zeros(2, dtype=dtype).requires_grad_()


def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y = y * 2
    y.backward()
    assert x.grad.item() == pytest.approx(2.0)


def test_no_grad_context_and_decorator_and_enable_grad():
    x = _leaf(1.0)
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            z = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @cr.no_grad()
    def f(t):
        assert not cr.is_grad_enabled()
        return t * 2

    assert not f(x).requires_grad
    assert cr.is_grad_enabled()

    @cr.enable_grad()
    def g(t):
        return t * 2

    with cr.no_grad():
        assert g(x).requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 1).requires_grad
    assert cr.is_grad_enabled()


def test_no_grad_restores_state_after_exception():
    with pytest.raises(ValueError), cr.no_grad():
        raise ValueError("boom")
    assert cr.is_grad_enabled()


def test_hooks_read_and_replace_gradients_on_leaf_and_non_leaf():
    x = _leaf(1.0, 2.0)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)  # replaces y's gradient
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_leaf_hook_can_replace_grad_and_be_removed():
    x = _leaf(1.0, 2.0)
    h = x.register_hook(lambda g: g * 0 + 7)
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.ones(2).register_hook(lambda g: g)


def test_inplace_on_leaf_requiring_grad_raises():
    x = _leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf"):
        x += 1
    with cr.no_grad():
        x.add_(1)  # fine: a manual update
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])


def test_modifying_saved_tensor_in_place_then_backward_raises():
    x = _leaf(1.0, 2.0)
    y = x * 2
    z = y * y  # saves y
    y.mul_(3)
    with pytest.raises(
        RuntimeError, match=r"modified by an inplace operation: .*, which is output 0 of Mul"
    ):
        z.sum().backward()


def test_modifying_saved_output_in_place_raises():
    x = _leaf(0.5, 1.0)
    y = x.exp()  # saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="version"):
        y.sum().backward()


def test_inplace_on_non_leaf_is_recorded():
    x = _leaf(1.0, 2.0)
    y = x * 2
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    assert y._version == 1


def test_inplace_through_view_bumps_shared_version():
    x = _leaf(1.0, 2.0, 3.0, 4.0)
    y = x * 1
    v = y.view(2, 2)
    z = (y * y).sum()
    with cr.no_grad():
        v.mul_(2)
    with pytest.raises(RuntimeError, match="inplace operation"):
        z.backward()


def test_autograd_grad_allow_unused_and_create_graph():
    x = _leaf(2.0)
    w = _leaf(3.0)
    y = (x**3).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        cr.autograd.grad(y, [x, w], retain_graph=True)
    gx, gw = cr.autograd.grad(y, [x, w], create_graph=True, allow_unused=True)
    assert gw is None
    assert gx.item() == pytest.approx(12.0) and gx.requires_grad
    (g2,) = cr.autograd.grad(gx.sum(), x)
    assert g2.item() == pytest.approx(12.0)  # 6x
    assert x.grad is None  # autograd.grad never touches .grad


def test_autograd_grad_without_create_graph_returns_constants():
    x = _leaf(2.0)
    (g,) = cr.autograd.grad((x * x).sum(), x)
    assert not g.requires_grad


def test_multiple_outputs_backward_and_paths_summed():
    x = _leaf(1.0, 2.0)
    a = x * 2
    b = x * x
    cr.autograd.backward([a.sum(), b.sum()])
    np.testing.assert_allclose(x.grad.numpy(), [2 + 2, 2 + 4])


def test_backward_inputs_argument_limits_accumulation():
    x, w = _leaf(1.0), _leaf(2.0)
    (x * w).sum().backward(inputs=[x])
    assert x.grad.item() == 2.0 and w.grad is None


def test_detach_shares_data_and_cuts_graph():
    x = _leaf(1.0, 2.0)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = x * 1
    yd = y.detach()
    yd.data[0] = 9.0
    assert y.data[0] == 9.0


def test_requires_grad_false_on_non_leaf_raises():
    x = _leaf(1.0)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)


def test_grad_fn_names_and_next_functions():
    x = _leaf(1.0)
    y = x * 2 + 1
    assert y.grad_fn.name() == "AddBackward0"
    assert y.grad_fn.next_functions[1] == (None, 0)  # the scalar 1, as in PyTorch
    (mul_edge, _) = y.grad_fn.next_functions[0]
    assert mul_edge.name() == "MulBackward0"
    assert mul_edge.next_functions[0][0].variable is x  # the leaf's AccumulateGrad node


def test_integer_promotion_in_graph_keeps_float_grad():
    x = _leaf(1.0, 2.0, dtype=np.float32)
    i = cr.tensor([1, 2])
    y = (x * i).sum()
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [1, 2])


def test_float64_input_into_float32_graph_grad_dtypes():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_hook_runs_once_on_gradient_summed_over_paths():
    x = _leaf(1.0, 2.0)
    y = x * 2
    calls = []
    y.register_hook(lambda g: calls.append(g.numpy().copy()))
    (y * y + y).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [5.0, 9.0])  # 2y + 1, both paths summed first
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 18.0])


def test_retain_grad_with_create_graph_gives_differentiable_grad():
    x = _leaf(3.0)
    y = x * x
    y.retain_grad()
    z = y * y
    z.backward(create_graph=True)
    assert y.grad.item() == pytest.approx(18.0)  # 2y
    assert x.grad.requires_grad
    (gg,) = cr.autograd.grad(x.grad, x)
    assert gg.item() == pytest.approx(108.0)  # d/dx 4x^3 = 12x^2


def test_integer_index_gives_a_view_like_pytorch():
    t = cr.zeros(3)
    t[1].add_(5)
    assert t.tolist() == [0.0, 5.0, 0.0]
    m = cr.zeros(2, 2)
    m[0, 1].fill_(3)
    assert m.tolist() == [[0.0, 3.0], [0.0, 0.0]]


def test_inplace_through_index_view_invalidates_saved_base():
    x = _leaf(1.0, 2.0)
    y = x.exp()  # saves y
    with cr.no_grad():
        y[0].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_view_of_grad_tensor_rebases_the_base():
    # PyTorch's CopySlices: writing through a view changes the base's history too
    # (the full table against torch is tests/autograd/test_view_inplace.py).
    x = _leaf(1.0, 2.0, 3.0, 4.0)
    y = x * 1
    y[0].mul_(2)
    y.view(2, 2).add_(1)
    assert "CopySlices" in y.grad_fn.name()
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 * 3 * 2, 2 * 3, 2 * 4, 2 * 5])


def test_backward_from_leaf_and_grad_wrt_intermediate():
    x = cr.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0
    (g,) = cr.autograd.grad(x * 1, x)
    assert g.item() == 1.0
    v = _leaf(1.0, 2.0)
    h = v * 3
    gh, gv = cr.autograd.grad((h * h).sum(), [h, v])
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gv.numpy(), [18.0, 36.0])


def _spy_pruning(lib):
    calls = []

    class Spy(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            calls.append(tuple(ctx.needs_input_grad))
            return g, g

    x = lib.ones(3, requires_grad=True)
    w = lib.ones(3, requires_grad=True)
    side = lib.ones(3, requires_grad=True)
    unrelated = (Spy.apply(side, w) * 2).sum()  # no path to x
    y = (Spy.apply(x, w) * 3).sum() + unrelated
    (gx,) = lib.autograd.grad(y, x)
    return calls, gx.tolist()


def test_grad_runs_only_what_leads_to_the_inputs():
    """autograd.grad(y, x) runs only the nodes on a path to x, and chainrule's own rules are
    asked only for those inputs' gradients (PyTorch prunes the same way); a user Function
    still sees needs_input_grad as set in forward, as in PyTorch."""
    seen = {lib.__name__: _spy_pruning(lib) for lib in (torch, cr)}
    assert seen["chainrule"] == seen["torch"] == ([(True, True)], [3.0, 3.0, 3.0])


def test_grad_prunes_builtin_rules():
    asked = []
    x = cr.randn(2, 3, requires_grad=True)
    w = cr.randn(3, 4, requires_grad=True)
    y = (x @ w).sum()
    node = y.grad_fn.next_functions[0][0]  # the matmul
    rule = node._forward_cls.backward

    def spy(ctx, g):
        asked.append(tuple(ctx.needs_input_grad))
        return rule(ctx, g)

    node._forward_cls = type("SpyMatMul", (node._forward_cls,), {"backward": staticmethod(spy)})
    node._forward_cls.__module__ = "chainrule.ops.linalg"
    (gx,) = cr.autograd.grad(y, x)
    assert asked == [(True, False)] and node.needs_input_grad == (True, True)
    np.testing.assert_allclose(gx.numpy(), np.ones((2, 4)) @ w.detach().numpy().T, rtol=1e-6)


def test_grad_accumulates_in_place_as_torch():
    """A second backward adds into the same .grad tensor (views of it see the sum, its
    version moves); with create_graph a new .grad tensor is made, as in PyTorch."""
    seen = []
    for lib in (torch, cr):
        w = lib.ones(3, requires_grad=True)
        (w * 2).sum().backward()
        g = w.grad
        alias = g.view(3)
        (w * 3).sum().backward()
        row = [g is w.grad, alias.tolist(), g._version > 0]
        w2 = lib.ones(3, requires_grad=True)
        (w2 * 2).sum().backward()
        g2 = w2.grad
        grads = lib.autograd.grad((w2 * 3).sum(), w2, create_graph=True)
        w2.grad = w2.grad + grads[0]
        row.append(g2.tolist())
        seen.append(row)
    assert seen[1] == seen[0] == [True, [5.0, 5.0, 5.0], True, [2.0, 2.0, 2.0]]
