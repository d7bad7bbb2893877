"""``register_autograd`` on custom operators against torch: gradients, double backward, the
error without a formula, wrong gradient counts, saved-tensor version checks, list inputs."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import chainrule as cr

from ._annotations import typed

torch = pytest.importorskip("torch")

_ids = itertools.count()


def _ns() -> str:
    return f"crlib_ag_{next(_ids)}"


def _numpy_sin(lib: Any, ns: str, register: bool = True) -> Any:
    """The tutorial's op: sin through NumPy, with its derivative cos registered."""
    T = lib.Tensor

    def numpy_sin(x: T) -> T:
        return lib.from_numpy(np.sin(x.numpy()))

    op = lib.library.custom_op(f"{ns}::numpy_sin", typed(numpy_sin, T=T), mutates_args=())
    if register:

        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            (x,) = inputs
            ctx.save_for_backward(x)

        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * x.cos()

        op.register_autograd(backward, setup_context=setup_context)
    return op


def test_gradient_and_double_backward_match_torch() -> None:
    ns = _ns()
    data = np.array([0.3, -1.2, 2.0])
    got = {}
    for lib in (cr, torch):
        op = _numpy_sin(lib, ns)
        x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        y = op(x)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        got[lib] = (y.detach().numpy(), g.detach().numpy(), gg.numpy(), y.grad_fn.name())
    for a, b in zip(got[cr][:3], got[torch][:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert got[cr][3] == got[torch][3] == f"GeneratedBackwardFor_{ns}_numpy_sin_defaultBackward"


def test_gradcheck_and_gradgradcheck() -> None:
    op = _numpy_sin(cr, _ns())
    x = cr.tensor([0.1, 0.7, -0.4], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(op, (x,))
    assert cr.autograd.gradgradcheck(op, (x,))


def test_backward_without_a_formula_raises_torchs_error_at_backward() -> None:
    ns = _ns()
    msgs = {}
    for lib in (cr, torch):
        op = _numpy_sin(lib, ns, register=False)
        x = lib.ones(2, requires_grad=True)
        y = op(x)  # the forward works and is recorded
        assert y.requires_grad and y.grad_fn is not None
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        msgs[lib] = str(info.value)
    assert msgs[cr] == msgs[torch]


def test_setup_context_sees_inputs_in_schema_order_and_non_tensors() -> None:
    ns = _ns()
    grads = {}
    for lib in (cr, torch):
        T = lib.Tensor

        def scaled_mul(x: T, y: T, n: int, *, s: float = 1.0) -> T:
            return x * y * (n * s)

        op = lib.library.custom_op(f"{ns}::mul", typed(scaled_mul, T=T), mutates_args=())
        seen = []

        def setup_context(ctx: Any, inputs: tuple, keyword_only_inputs: dict, output: Any) -> None:
            x, y, n = inputs  # keyword-only arguments come apart, by name, as in torch
            s = keyword_only_inputs["s"]
            seen.append((len(inputs), n, s, output.requires_grad))  # noqa: B023
            ctx.save_for_backward(x, y)
            ctx.k = n * s

        def backward(ctx: Any, grad: Any) -> tuple:
            x, y = ctx.saved_tensors
            seen.append(tuple(ctx.needs_input_grad))  # noqa: B023
            gx = grad * y * ctx.k if ctx.needs_input_grad[0] else None
            return gx, grad * x * ctx.k, None

        op.register_autograd(backward, setup_context=setup_context)
        a = lib.tensor([1.0, 2.0], dtype=lib.float64)
        b = lib.tensor([3.0, -1.0], dtype=lib.float64, requires_grad=True)
        op(a, b, 3, s=0.5).sum().backward()
        grads[lib] = (b.grad.tolist(), seen)
    assert grads[cr] == grads[torch]


def test_wrong_number_of_gradients_and_gradient_for_a_non_tensor_raise() -> None:
    ns = _ns()

    @cr.library.custom_op(f"{ns}::two", mutates_args=())
    def two(x: cr.Tensor, y: cr.Tensor, n: int) -> cr.Tensor:
        return x * y * n

    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    two.register_autograd(lambda ctx, g: (g,))
    with pytest.raises(RuntimeError, match=r"incorrect number of gradients \(expected 3, got 1\)"):
        two(a, b, 2).sum().backward()
    two.register_autograd(lambda ctx, g: (g, g, cr.ones(1)))
    with pytest.raises(RuntimeError, match="different than None at position 3"):
        two(a, b, 2).sum().backward()
    cr.library.register_autograd(f"{ns}::two", lambda ctx, g: (g * 2, None, None))
    two(a, b, 2).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0] and b.grad is None
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        cr.library.register_autograd(f"{ns}::nosuch", lambda ctx, g: g)


def test_saved_input_modified_in_place_fails_the_backward() -> None:
    op = _numpy_sin(cr, _ns())
    x = cr.ones(3, dtype=cr.float64, requires_grad=True)
    h = x * 2
    y = op(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        y.sum().backward()


def test_saved_tensor_hooks_see_what_setup_context_saves() -> None:
    op = _numpy_sin(cr, _ns())
    x = cr.tensor([0.5, 1.0], dtype=cr.float64, requires_grad=True)
    packed = []

    def pack(t: cr.Tensor) -> cr.Tensor:
        packed.append(t.shape)
        return t

    with cr.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = op(x)
    y.sum().backward()
    assert packed == [cr.Size([2])]
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.0]))


def test_list_of_tensors_input_and_multiple_outputs() -> None:
    ns = _ns()
    res = {}
    for lib in (cr, torch):
        T = lib.Tensor

        def stack_sum(xs: list[T], w: T) -> tuple[T, T]:
            total = sum(x * w for x in xs)
            return total, total * 2

        op = lib.library.custom_op(f"{ns}::ss", typed(stack_sum, T=T), mutates_args=())

        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            xs, w = inputs
            ctx.save_for_backward(w, *xs)

        def backward(ctx: Any, g1: Any, g2: Any) -> tuple:
            w, *xs = ctx.saved_tensors
            g = g1 + 2 * g2
            return [g * w for _ in xs], sum(g * x for x in xs)

        op.register_autograd(backward, setup_context=setup_context)
        xs = [lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True) for _ in range(2)]
        w = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
        u, v = op(xs, w)
        (u + v * 3).sum().backward()
        res[lib] = (u.tolist(), xs[0].grad.tolist(), xs[1].grad.tolist(), w.grad.tolist())
    assert res[cr] == res[torch]


def test_integer_outputs_do_not_require_grad() -> None:
    @cr.library.custom_op(f"{_ns()}::mixed", mutates_args=())
    def mixed(x: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        return x.sin(), (x > 0).long()

    a, b = mixed(cr.ones(2, requires_grad=True))
    assert a.requires_grad and a.grad_fn is not None
    assert not b.requires_grad and b.grad_fn is None


def test_vmap_runs_the_op_per_sample_like_torch() -> None:
    ns = _ns()
    got = {}
    x_np = np.arange(12.0).reshape(3, 2, 2) / 10
    for lib in (cr, torch):
        T = lib.Tensor

        def colsum(x: T) -> T:  # a reduction: wrong if run on the whole batch at once
            return x.sum(0, keepdim=True).clone()

        op = lib.library.custom_op(f"{ns}::colsum", typed(colsum, T=T), mutates_args=())
        got[lib] = lib.func.vmap(op)(lib.tensor(x_np, dtype=lib.float64)).tolist()
    np.testing.assert_allclose(got[cr], got[torch], rtol=1e-12)
    # torch refuses grad transforms through a custom op ("must override the setup_context
    # staticmethod"); here the op's Function runs per sample under them
    sin = _numpy_sin(cr, ns)
    x = cr.tensor(x_np, dtype=cr.float64)
    grads = cr.func.vmap(cr.func.grad(lambda t: sin(t).sum()))(x)
    np.testing.assert_allclose(grads.numpy(), np.cos(x_np), rtol=1e-12)
