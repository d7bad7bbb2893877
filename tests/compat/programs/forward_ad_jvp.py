"""Forward-mode AD the way PyTorch's forward-mode tutorial teaches it, in our own words:
dual tensors made and unpacked inside ``forward_ad.dual_level()``; a model's parameters
replaced by dual tensors through ``functional_call`` (the directional derivative of the
output along a parameter perturbation); a custom ``autograd.Function`` with its own ``jvp``
reading ``ctx.save_for_forward`` (written in PyTorch 2's ``setup_context`` style, which
``func.jvp`` requires); and the Jacobian of the same model with respect to its
input by ``autograd.grad(..., is_grads_batched=True)``. ``check`` asserts that the
dual-tensor tangents equal ``func.jvp``'s, and the harness compares every value with
PyTorch's run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3), nn.LogSoftmax(dim=-1))


def _scaled_softplus(torch_like: Any) -> Any:
    class ScaledSoftplus(torch_like.autograd.Function):
        """y = softplus(x) * k, with hand-written backward and jvp rules."""

        @staticmethod
        def forward(x: Any, k: float = 1.0) -> Any:
            return torch_like.nn.functional.softplus(x) * k

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            x, k = inputs
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.k = k

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple:
            (x,) = ctx.saved_tensors
            return grad * torch_like.sigmoid(x) * ctx.k, None

        @staticmethod
        def jvp(ctx: Any, x_t: Any, k_t: Any) -> Any:
            (x,) = ctx.saved_tensors
            return x_t * torch_like.sigmoid(x) * ctx.k

    return ScaledSoftplus


def run(torch_like: Any, init: dict | None) -> list[float]:
    fwad = torch_like.autograd.forward_ad
    rng = np.random.default_rng(5)
    x = as_tensor(torch_like, rng.standard_normal((2, 4)))
    v = as_tensor(torch_like, rng.standard_normal((2, 4)))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    # 1. the tangent of the model's output along an input direction
    with fwad.dual_level():
        out = model(fwad.make_dual(x, v))
        primal, tangent = fwad.unpack_dual(out)
    values += primal.detach().flatten().tolist() + tangent.detach().flatten().tolist()
    assert fwad.unpack_dual(out).tangent is None  # gone with the level

    # 2. along a parameter direction: parameters as dual tensors through functional_call
    directions = {
        k: as_tensor(torch_like, rng.standard_normal(tuple(p.shape)))
        for k, p in model.named_parameters()
    }
    with fwad.dual_level():
        duals = {k: fwad.make_dual(p.detach(), directions[k]) for k, p in model.named_parameters()}
        out = torch_like.func.functional_call(model, duals, (x,))
        values += fwad.unpack_dual(out).tangent.detach().flatten().tolist()

    # 3. a custom Function's jvp rule, and the same derivative from func.jvp
    fn = _scaled_softplus(torch_like)
    with fwad.dual_level():
        y = fn.apply(fwad.make_dual(x, v), 1.5)
        values += fwad.unpack_dual(y).tangent.detach().flatten().tolist()
    _, jvp_out = torch_like.func.jvp(lambda a: fn.apply(a, k=1.5), (x,), (v,))
    values += jvp_out.detach().flatten().tolist()

    # 4. the model's Jacobian for one sample by batched vector-Jacobian products
    xr = x[:1].detach().requires_grad_()
    out = model(xr)
    basis = torch_like.eye(3, dtype=out.dtype).reshape(3, 1, 3)
    (jac,) = torch_like.autograd.grad(out, xr, basis, is_grads_batched=True)
    values += jac.flatten().tolist()
    return values


def check(values: list[float]) -> None:
    n = 2 * 3  # elements of the model output on the (2, 4) input
    tangent_custom = values[3 * n : 3 * n + 8]
    tangent_jvp = values[3 * n + 8 : 3 * n + 16]
    np.testing.assert_allclose(tangent_custom, tangent_jvp, rtol=1e-12)
