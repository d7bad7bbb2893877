"""Gaps found by the session-21 drop-in programs (``ntk_torch_func``,
``conv_bn_fusion_function``, ``cyclegan_step``, ``moco_queue``, ``hf_gpt2_conv1d``), each
checked against PyTorch.

- ``torch.func.vjp``'s ``vjp_fn``, made inside a vmap and called inside a deeper one (the NTK
  tutorial's NTK-vector products: ``vmap(get_ntk_slice)(basis)`` inside ``vmap(vmap(get_ntk,
  (None, 0)), (0, None))``, ``get_ntk_slice`` calling the ``vjp_fn`` of ``get_ntk``), returned
  its gradients batched at the outer level *around* the deeper one; a ``jvp`` given them as
  tangents then failed with "vmap: an operation computed on the raw array of a batched
  tensor ('reshape')". The deeper levels now stay outermost (cotangents and results).
- ``torch.func.vjp``'s output required grad (and had a ``grad_fn``) when no primal did;
  torch.func's does not (``vjp_fn(out * s)`` then built a double-backward graph for nothing).
- ``torch.nn.grad`` was missing: ``conv1d_input`` / ``conv1d_weight`` / ``conv2d_input`` /
  ``conv2d_weight`` / ``conv3d_input`` / ``conv3d_weight`` (the conv + batch-norm fusion
  tutorial's custom backward).
- A user Function's ``@once_differentiable`` backward, run with ``create_graph=True`` on
  incoming gradients that need no grad (``autograd.grad(y.sum(), x, create_graph=True)``), gave
  results with a ``grad_fn`` (an error node); PyTorch gives plain tensors (``requires_grad``
  False). When an incoming gradient does require grad, differentiating again now raises
  PyTorch's "trying to differentiate twice a function that was marked with
  @once_differentiable".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(21)
W = RNG.standard_normal((2, 3, 3, 3))
X1 = RNG.standard_normal((3, 3, 5, 5))
X2 = RNG.standard_normal((2, 3, 5, 5))


def _ntk_vps(lib: Any) -> np.ndarray:
    vmap, jvp, vjp = lib.func.vmap, lib.func.jvp, lib.func.vjp
    F = lib.nn.functional
    w, x1, x2 = lib.tensor(W), lib.tensor(X1), lib.tensor(X2)

    def f(w: Any, x: Any) -> Any:
        return F.conv2d(x.unsqueeze(0), w).flatten()[:3].sin()

    def get_ntk(x1: Any, x2: Any) -> Any:
        _, vjp_fn = vjp(lambda w: f(w, x1), w)

        def get_ntk_slice(vec: Any) -> Any:
            (ct,) = vjp_fn(vec)
            return jvp(lambda w: f(w, x2), (w,), (ct,))[1]

        return vmap(get_ntk_slice)(lib.eye(3))

    return vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2).numpy()


def test_vjp_fn_called_inside_a_deeper_vmap_then_jvp() -> None:
    want = _ntk_vps(torch)
    got = _ntk_vps(chainrule)
    assert got.shape == want.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _vjp_in_deeper_vmap(lib: Any) -> np.ndarray:
    vmap, vjp = lib.func.vmap, lib.func.vjp
    w = lib.tensor(W[0, 0])

    def outer(x: Any) -> Any:
        out, vjp_fn = vjp(lambda w: (w * x).sin(), w)
        return vmap(lambda s: vjp_fn(out * s)[0])(lib.tensor([1.0, -2.0, 0.5]))

    return vmap(outer)(lib.tensor(X1[:, 0, :3, :3])).numpy()


def test_vjp_fn_cotangent_batched_at_both_levels() -> None:
    want = _vjp_in_deeper_vmap(torch)
    got = _vjp_in_deeper_vmap(chainrule)
    assert got.shape == want.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("needs_grad", [False, True])
def test_func_vjp_output_requires_grad_only_with_its_primal(needs_grad: bool) -> None:
    for lib in (torch, chainrule):
        w = lib.tensor(W[0, 0, 0], requires_grad=needs_grad)
        out, vjp_fn = lib.func.vjp(lambda w: w.sin() * 2, w)
        (g,) = vjp_fn(lib.ones(3))
        assert out.requires_grad is needs_grad, lib.__name__
        assert (out.grad_fn is None) is not needs_grad, lib.__name__
        assert g.requires_grad is needs_grad, lib.__name__
        np.testing.assert_allclose(g.detach().numpy(), 2 * np.cos(W[0, 0, 0]), rtol=1e-12)


def _nn_grad_cases() -> list[tuple[str, tuple, tuple, dict]]:
    return [
        ("conv1d", (2, 4, 9), (6, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
        ("conv1d", (1, 3, 8), (2, 3, 2), {"dilation": 2}),
        ("conv2d", (2, 3, 7, 6), (4, 3, 3, 2), {"stride": (2, 1), "padding": 1}),
        ("conv2d", (1, 4, 8, 8), (4, 2, 3, 3), {"dilation": 2, "groups": 2, "padding": 2}),
        ("conv2d", (2, 3, 5, 5), (2, 3, 3, 3), {}),
        ("conv3d", (1, 2, 5, 4, 6), (3, 2, 2, 3, 2), {"stride": 2, "padding": (1, 0, 1)}),
    ]


def _nn_grad(lib: Any, kind: str, x_shape: tuple, w_shape: tuple, kw: dict) -> list:
    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal(x_shape))
    w = lib.tensor(rng.standard_normal(w_shape))
    out_shape = getattr(lib.nn.functional, kind)(x, w, **kw).shape
    go = lib.tensor(rng.standard_normal(tuple(out_shape)))
    gi = getattr(lib.nn.grad, f"{kind}_input")(x.shape, w, go, **kw)
    gw = getattr(lib.nn.grad, f"{kind}_weight")(x, w.shape, go, **kw)
    return [gi.numpy(), gw.numpy()]


@pytest.mark.parametrize(("kind", "x_shape", "w_shape", "kw"), _nn_grad_cases())
def test_nn_grad_conv_input_and_weight(kind: str, x_shape: tuple, w_shape: tuple, kw: dict):
    want = _nn_grad(torch, kind, x_shape, w_shape, kw)
    got = _nn_grad(chainrule, kind, x_shape, w_shape, kw)
    for g, t in zip(got, want):
        assert g.shape == t.shape
        np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-12)


def test_nn_grad_differentiable_and_refuses_a_wrong_grad_output() -> None:
    for lib in (torch, chainrule):
        x = lib.tensor(X1[:1])
        w = lib.tensor(W, requires_grad=True)
        go = lib.ones(1, 2, 3, 3, dtype=lib.float64)
        gi = lib.nn.grad.conv2d_input(x.shape, w, go)
        assert gi.requires_grad, lib.__name__  # through the weight
        gi.sum().backward()
        assert w.grad is not None and w.grad.shape == w.shape
        gw = lib.nn.grad.conv2d_weight(x, w.shape, go)
        assert not gw.requires_grad, lib.__name__
        with pytest.raises(RuntimeError):
            lib.nn.grad.conv2d_input(x.shape, w, lib.ones(1, 2, 4, 4, dtype=lib.float64))
        with pytest.raises(RuntimeError):  # no dtype promotion
            lib.nn.grad.conv2d_weight(x, w.shape, go.float())
        with pytest.raises(RuntimeError):
            lib.nn.grad.conv2d_input(x.shape, w, go.float())
    from chainrule.nn import grad as cr_grad  # the module imports as torch.nn.grad does

    assert cr_grad.conv2d_input is chainrule.nn.grad.conv2d_input


def _square_once(lib: Any) -> type:
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    return Square


def test_once_differentiable_results_plain_without_grad_requiring_inputs() -> None:
    for lib in (torch, chainrule):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad(_square_once(lib).apply(x).sum(), x, create_graph=True)
        assert not g.requires_grad and g.grad_fn is None, lib.__name__
        np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
        with pytest.raises(RuntimeError, match="does not require grad"):
            g.sum().backward()


def test_once_differentiable_double_backward_message() -> None:
    for lib in (torch, chainrule):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        v = lib.tensor([1.0, 3.0], requires_grad=True)
        (g,) = lib.autograd.grad(_square_once(lib).apply(x), x, v, create_graph=True)
        assert g.requires_grad, lib.__name__
        np.testing.assert_allclose(g.detach().numpy(), [2.0, 12.0])
        with pytest.raises(RuntimeError, match="trying to differentiate twice a function"):
            g.sum().backward()
