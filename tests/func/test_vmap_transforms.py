"""``grad``/``vjp``/``jvp``/``jacrev``/``jacfwd``/``hessian`` composed with ``vmap``, against
``torch.func`` in float64: per-sample gradients (with respect to unbatched parameters and to
batched inputs), per-sample Jacobians, and transforms nested around vmap."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import _dispatch

from ._helpers import assert_tree_close, compare, rand, to_lib, to_numpy, torch


def _mlp_loss(lib):
    F = lib.nn.functional

    def loss(params, x, y):
        h = F.linear(x, params["w1"], params["b1"]).tanh()
        return F.cross_entropy(F.linear(h, params["w2"]).unsqueeze(0), y.unsqueeze(0))

    return loss


PARAMS = {"w1": rand(6, 4), "b1": rand(6), "w2": rand(3, 6)}


def test_per_sample_grads_of_parameters():
    x, y = rand(5, 4), np.random.default_rng(2).integers(0, 3, 5)
    compare(lambda lib: lib.func.grad(_mlp_loss(lib)), (PARAMS, x, y), in_dims=(None, 0, 0))


def test_per_sample_grads_match_a_loop_of_backward_passes():
    x, y = rand(5, 4), np.random.default_rng(2).integers(0, 3, 5)
    per_sample = cr.func.vmap(cr.func.grad(_mlp_loss(cr)), in_dims=(None, 0, 0))(
        to_lib(cr, PARAMS), cr.tensor(x), cr.tensor(y)
    )
    for i in range(5):
        params = {k: cr.tensor(v, requires_grad=True) for k, v in PARAMS.items()}
        _mlp_loss(cr)(params, cr.tensor(x[i]), cr.tensor(y[i])).backward()
        for k in PARAMS:
            np.testing.assert_allclose(
                per_sample[k][i].numpy(), params[k].grad.numpy(), rtol=1e-10, atol=1e-14
            )


def test_grad_argnums_has_aux_and_batched_inputs():
    def body(lib):
        return lib.func.grad(
            lambda w, x: ((w * x).sin().sum(), x.sum()), argnums=(0, 1), has_aux=True
        )

    compare(body, (rand(4), rand(3, 4)), in_dims=(None, 0))
    compare(lambda lib: lib.func.grad(lambda x: (x**3).sum()), (rand(3, 4),))


def test_grad_inside_nested_vmap():
    def body(lib):
        g = lib.func.grad(lambda w, x: (w @ x).tanh().sum())
        return lib.func.vmap(g, in_dims=(None, 0))

    compare(body, (rand(2, 5), rand(3, 4, 5)), in_dims=(None, 0))


def test_vjp_and_jvp_inside_vmap():
    def vjp_body(lib):
        def f(x, v):
            out, fn = lib.func.vjp(lambda z: z.sin() * z.sum(), x)
            return out, fn(v)[0]

        return f

    compare(vjp_body, (rand(3, 4), rand(3, 4)))
    compare(vjp_body, (rand(3, 4), rand(4)), in_dims=(0, None))

    def jvp_body(lib):
        return lambda x, t: lib.func.jvp(lambda z: (z.exp() * z).cumsum(0), (x,), (t,))

    compare(jvp_body, (rand(3, 4), rand(3, 4)))
    compare(jvp_body, (rand(3, 4), rand(4)), in_dims=(0, None))
    compare(jvp_body, (rand(4), rand(3, 4)), in_dims=(None, 0))


def _jac_fn(lib):
    w = lib.tensor(rand(3, 4))
    return lambda x: (w @ x.sin()).tanh() * x.sum()


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_vmap_of_jacobians(jac):
    compare(lambda lib: getattr(lib.func, jac)(_jac_fn(lib)), (rand(5, 4),))
    compare(
        lambda lib: getattr(lib.func, jac)(lambda a, b: (a * b).exp(), argnums=1),
        (rand(4), rand(5, 4)),
        in_dims=(None, 0),
    )


def test_vmap_of_hessian():
    compare(lambda lib: lib.func.hessian(lambda x: (x.sin() * x).sum() * x.prod()), (rand(3, 4),))


def test_grad_of_vmap_and_jacrev_of_vmap():
    """Transforms outside vmap differentiate through its (physical) graph."""

    def body(lib):
        return lambda w: lib.func.vmap(lambda x: (w * x).tanh().sum())(lib.tensor(rand(3, 4)))

    got = cr.func.jacrev(body(cr))(cr.tensor(rand(4)))
    want = torch.func.jacrev(body(torch))(torch.tensor(rand(4)))
    assert_tree_close(to_numpy(got), to_numpy(want))
    gg = cr.func.grad(lambda w: body(cr)(w).sum())(cr.tensor(rand(4)))
    gt = torch.func.grad(lambda w: body(torch)(w).sum())(torch.tensor(rand(4)))
    assert_tree_close(to_numpy(gg), to_numpy(gt))


def test_per_sample_conv_grads_run_batched():
    """The CNN per-sample-gradient recipe runs each op once for the whole batch: the forward
    ops see batched weights (grouped conv) and nothing falls back to a per-sample loop."""
    params = {"w": rand(4, 1, 3, 3), "b": rand(4), "fc": rand(2, 4 * 4 * 4)}

    def body(lib):
        F = lib.nn.functional

        def loss(p, x, y):
            h = F.relu(F.conv2d(x.unsqueeze(0), p["w"], p["b"])).flatten(1)
            return F.cross_entropy(F.linear(h, p["fc"]), y.unsqueeze(0))

        return lib.func.grad(loss)

    before = _dispatch.STATS["fallback"]
    compare(body, (params, rand(6, 1, 6, 6), np.arange(6) % 2), in_dims=(None, 0, 0))
    assert _dispatch.STATS["fallback"] == before
