"""The public graph walk, ctx attributes the engine sets, once_differentiable on backward,
and the single accumulation path (issue 10 items 1 and 6, issue 9 section 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import Function, once_differentiable
from chainrule.autograd.graph import (
    Edge,
    SavedConstant,
    SavedInput,
    SavedOutput,
    input_edges,
    topological_order,
    walk,
)


class _CubeOnce(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert not cr.is_grad_enabled()  # runs unrecorded
        return g * 3 * x**2


def test_once_differentiable_on_backward_staticmethod():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    _CubeOnce.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    assert _CubeOnce.differentiable_backward is False


def test_once_differentiable_double_backward_raises_clearly():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    v = cr.ones(2, requires_grad=True)  # an incoming gradient that requires grad
    (g,) = cr.autograd.grad(_CubeOnce.apply(x), x, v, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
    with pytest.raises(RuntimeError, match="differentiate twice .*_CubeOnceBackward"):
        g.sum().backward()


def test_once_differentiable_rejects_wrong_decorator_order():
    with pytest.raises(TypeError, match="staticmethod"):
        once_differentiable(staticmethod(lambda ctx, g: g))


def test_ctx_create_graph_is_set_by_the_engine():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.create_graph)
            return g * 2

    x = cr.ones(2, requires_grad=True)
    Probe.apply(x).sum().backward()
    cr.autograd.grad(Probe.apply(x).sum(), x, create_graph=True)
    assert seen == [False, True]


def test_walk_gives_the_engines_order_edges_and_saved_values():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    y = h.exp().sum()
    nodes = list(walk(y))
    assert [n.name() for n in nodes] == ["SumBackward0", "ExpBackward0", "MulBackward0"]
    assert nodes == topological_order([y.grad_fn])
    mul = nodes[2]
    edges = input_edges(mul)
    assert all(isinstance(e, Edge) for e in edges)
    assert [e.leaf for e in edges] == [x, w] and all(e.node is None for e in edges)
    assert input_edges(nodes[1])[0].node is mul
    assert {type(v) for v in mul.saved_values} <= {SavedInput, type(None)}
    assert any(isinstance(v, SavedOutput) for v in nodes[1].saved_values)  # exp saves y
    assert mul.num_outputs == 1 and not mul.is_freed
    y.backward()
    assert mul.is_freed and mul.saved_values == ()


def test_saved_intermediate_is_a_constant():
    class Sq(Function):
        raw = True

        @staticmethod
        def forward(ctx, x):
            tmp = x + 1.0
            ctx.save_for_backward(tmp)
            return tmp * tmp

        @staticmethod
        def backward(ctx, g):
            (tmp,) = ctx.saved_tensors
            return g * 2 * tmp

    x = cr.tensor([1.0], requires_grad=True)
    y = Sq.apply(x)
    (entry,) = y.grad_fn.saved_values
    assert isinstance(entry, SavedConstant) and entry.version_counter is None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_backward_inputs_accumulates_like_torch():
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        h = x * w
        (h * h).sum().backward(inputs=[w], retain_graph=True)
        (h * h).sum().backward(inputs=[w, h])
        if lib is cr:
            got = (x.grad, w.grad.numpy(), h.grad.numpy())
        else:
            want = (x.grad, w.grad.numpy(), h.grad.numpy())
    assert got[0] is None and want[0] is None
    np.testing.assert_allclose(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2])


def test_wrong_gradient_shape_from_a_custom_function_names_it():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return cr.ones(5)

    x = cr.ones(3, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"Function BadBackward returned an invalid gradient at "
        r"index 0 - got \[5\] but expected shape compatible with \[3\]",
    ):
        Bad.apply(x).sum().backward()


def test_broadcast_gradients_are_summed_to_the_input_shape():
    for create_graph in (False, True):
        a = cr.ones(3, 1, requires_grad=True)
        b = cr.ones(4, requires_grad=True)
        (g_a, g_b) = cr.autograd.grad((a * b).sum(), (a, b), create_graph=create_graph)
        assert g_a.shape == (3, 1) and g_b.shape == (4,)
        np.testing.assert_allclose(g_a.detach().numpy(), np.full((3, 1), 4.0))
        np.testing.assert_allclose(g_b.detach().numpy(), np.full(4, 3.0))


def test_view_used_after_its_base_was_modified_is_replayed():
    # PyTorch's view replay: v is re-taken from h's new history (h = 2x), so dv/dx = 2.
    x = cr.randn(3, 4, requires_grad=True)
    h = x * 1.0
    v = h.reshape(12)
    h.mul_(2.0)
    (v * 2).sum().backward()
    assert v.grad_fn.name().startswith("AsStridedBackward")
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 4.0))


def test_in_place_through_a_view_invalidates_the_bases_saved_value():
    x = cr.randn(3, 4, requires_grad=True)
    h = x * 1.0
    y = h.exp() * h  # mul saves h
    with cr.no_grad():
        h[0].mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_forward_over_reverse_through_fused_rules_matches_torch():
    """ctx.create_graph is also set under forward mode, so fused rules (layer norm, attention)
    take their differentiable path and jacfwd(jacrev(f)) is exact."""
    x = np.random.default_rng(0).standard_normal((2, 5))
    h = cr.func.hessian(lambda a: (F.layer_norm(a, (5,)) ** 3).sum())(cr.tensor(x))
    ref = torch.autograd.functional.hessian(
        lambda a: (torch.nn.functional.layer_norm(a, (5,)) ** 3).sum(), torch.tensor(x)
    )
    np.testing.assert_allclose(h.numpy(), ref.numpy(), atol=1e-10)


def _attribute_keeper(framework):
    """A custom Function that keeps its own ``ctx.create_graph``/``ctx.out``/``ctx.primals``
    (names the chainrule engine also uses on its nodes) and reports what its rules read."""
    seen = []

    class Keeper(framework.autograd.Function):
        @staticmethod
        def forward(ctx, x, flag):
            ctx.create_graph = flag
            ctx.out = "mine"
            ctx.primals = ("p",)
            ctx.save_for_forward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(("backward", ctx.create_graph, ctx.out, ctx.primals))
            return g * 2, None

        @staticmethod
        def jvp(ctx, t, _):
            seen.append(("jvp", ctx.create_graph, ctx.out, ctx.primals))
            return t * 2

    return Keeper, seen


def _exercise_keeper(framework):
    keeper, seen = _attribute_keeper(framework)
    fwad = framework.autograd.forward_ad
    x = framework.ones(2, requires_grad=True)
    keeper.apply(x, "first").sum().backward()
    y = keeper.apply(x, "second")
    y.sum().backward(retain_graph=True)
    after = (y.grad_fn.create_graph, y.grad_fn.out, y.grad_fn.primals)
    with fwad.dual_level():
        d = fwad.make_dual(x * 1, framework.ones(2))
        z = keeper.apply(d, "dual")
        tangent = fwad.unpack_dual(z).tangent.tolist()
        cr_grad = framework.autograd.grad(z.sum(), x, create_graph=True)[0].tolist()
    return seen, after, tangent, cr_grad


def test_a_custom_functions_own_ctx_attributes_are_kept_as_in_torch():
    """The engine's ``ctx.create_graph`` and forward mode's ``ctx.primals``/``ctx.out`` used
    to overwrite what a user's ``forward`` stored under those names (and the engine cleared
    them after backward); PyTorch's ctx has none of them, so the user's values are kept."""
    assert _exercise_keeper(cr) == _exercise_keeper(torch)
