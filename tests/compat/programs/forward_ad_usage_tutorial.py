"""PyTorch's "Forward-mode Automatic Differentiation (Beta)" tutorial
(``intermediate/forward_ad_usage``) as written, section by section, size-reduced.

The idioms: ``import torch.autograd.forward_ad as fwAD``; ``with fwAD.dual_level():``,
``dual_input = fwAD.make_dual(primal, tangent)`` and ``assert fwAD.unpack_dual(
dual_input).tangent is tangent`` (the tangent kept as the same object when its layout matches),
``fwAD.make_dual(primal, tangent.T)`` (a transposed tangent, copied into the primal's layout),
a plain tensor in ``fn(dual_input, plain_tensor)`` counting as a zero tangent,
``fwAD.unpack_dual(dual_output).tangent`` (the ``namedtuple``'s ``primal``/``tangent``) and
``is None`` once the level has exited; "Usage with Modules": ``params = {name: p for name, p in
model.named_parameters()}``, ``torch.rand_like(p)`` tangents, ``delattr(model, name)`` then
``setattr(model, name, fwAD.make_dual(p, tangents[name]))`` inside the level; "Using the
functional Module API": ``from torch.func import functional_call`` on a fresh ``nn.Linear``
with the dual parameters, ``assert torch.allclose(jvp, jvp2)``; "Custom autograd Function":
``Fn`` storing ``ctx.result = result`` (not saved) for its ``jvp`` and ``del ctx.result``,
``fn = Fn.apply`` on a double primal with a float tangent, and ``torch.autograd.gradcheck(
Fn.apply, (primal,), check_forward_ad=True, check_backward_ad=False,
check_undefined_grad=False, check_batched_grad=False)``; "Functional API": ``torch.func.jvp(fn,
(primal0, primal1), (tangent0, tangent1))``, ``functools.partial(fn, y=y)`` for inputs without
tangents, and the module form ``jvp(func_params_only, (params,), (tangents,))`` over
``functional_call``; then the same model's forward-mode directional derivatives checked against
reverse mode (``torch.autograd.grad`` dotted with the tangents) and used for a few forward-
gradient descent steps (the tangent-times-JVP estimate of the gradient).

Changed: 10x10 primals -> 4x5; ``nn.Linear(5, 5)`` on a 16x5 input -> ``nn.Linear(5, 3)`` on
6x5; the forward-gradient steps are added.
"""

from __future__ import annotations

import functools
from typing import Any

DTYPE = "float32"


def init_state(tmp_path: Any) -> None:
    """No shared state: the tutorial draws everything from ``torch.manual_seed``."""
    return None


def run(torch_like: Any, init: None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    fwAD = torch.autograd.forward_ad
    functional_call, jvp = torch.func.functional_call, torch.func.jvp
    out: list[float] = []
    torch.manual_seed(0)

    primal = torch.randn(4, 5)
    tangent = torch.randn(4, 5)

    def fn(x, y):  # noqa: ANN001,ANN202
        return x ** 2 + y ** 2  # fmt: skip

    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        assert fwAD.unpack_dual(dual_input).tangent is tangent
        square = torch.randn(5, 5)
        dual_input_alt = fwAD.make_dual(square, square.T)
        assert fwAD.unpack_dual(dual_input_alt).tangent is not square
        out += fwAD.unpack_dual(dual_input_alt).tangent.reshape(-1).tolist()
        plain_tensor = torch.randn(4, 5)
        dual_output = fn(dual_input, plain_tensor)
        # Unpacking the dual returns a ``namedtuple`` with ``primal`` and ``tangent``
        # as attributes
        unpacked = fwAD.unpack_dual(dual_output)
        jvp_ = unpacked.tangent
        out += unpacked.primal.reshape(-1).tolist() + jvp_.reshape(-1).tolist()
        out += [float(unpacked[0] is unpacked.primal), float(len(unpacked))]
    assert fwAD.unpack_dual(dual_output).tangent is None

    model = nn.Linear(5, 3)
    input = torch.randn(6, 5)  # noqa: A001
    params = {name: p for name, p in model.named_parameters()}
    tangents = {name: torch.rand_like(p) for name, p in params.items()}
    with fwAD.dual_level():
        for name, p in params.items():
            delattr(model, name)
            setattr(model, name, fwAD.make_dual(p, tangents[name]))
        out_ = model(input)
        jvp_ = fwAD.unpack_dual(out_).tangent
    out += jvp_.reshape(-1).tolist()

    # We need a fresh module because the functional call requires the
    # the model to have parameters registered.
    model = nn.Linear(5, 3)
    dual_params = {}
    with fwAD.dual_level():
        for name, p in params.items():
            # Using the same ``tangents`` from the above section
            dual_params[name] = fwAD.make_dual(p, tangents[name])
        out_ = functional_call(model, dual_params, input)
        jvp2 = fwAD.unpack_dual(out_).tangent
    # Check our results
    assert torch.allclose(jvp_, jvp2)

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, foo):  # noqa: ANN001,ANN205
            result = torch.exp(foo)
            # Tensors stored in ``ctx`` can be used in the subsequent forward grad
            # computation.
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):  # noqa: ANN001,ANN205
            gO = gI * ctx.result
            # If the tensor stored in`` ctx`` will not also be used in the backward pass,
            # one can manually free it using ``del``
            del ctx.result
            return gO

    fn_ = Fn.apply
    primal = torch.randn(4, 5, dtype=torch.double, requires_grad=True)
    tangent = torch.randn(4, 5)
    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        dual_output = fn_(dual_input)
        jvp_ = fwAD.unpack_dual(dual_output).tangent
    out += [str(jvp_.dtype) == "torch.float64"] + jvp_.reshape(-1).tolist()
    ok = torch.autograd.gradcheck(Fn.apply, (primal,), check_forward_ad=True,
                                  check_backward_ad=False, check_undefined_grad=False,
                                  check_batched_grad=False)  # fmt: skip
    out.append(float(ok))

    primal0 = torch.randn(4, 5)
    tangent0 = torch.randn(4, 5)
    primal1 = torch.randn(4, 5)
    tangent1 = torch.randn(4, 5)
    primal_out, tangent_out = jvp(fn, (primal0, primal1), (tangent0, tangent1))
    out += primal_out.reshape(-1).tolist() + tangent_out.reshape(-1).tolist()
    primal = torch.randn(4, 5)
    tangent = torch.randn(4, 5)
    y = torch.randn(4, 5)
    new_fn = functools.partial(fn, y=y)
    primal_out, tangent_out = jvp(new_fn, (primal,), (tangent,))
    out += tangent_out.reshape(-1).tolist()

    model = nn.Linear(5, 3)
    input = torch.randn(6, 5)  # noqa: A001
    params = dict(model.named_parameters())
    tangents = {name: torch.rand_like(p) for name, p in params.items()}

    def func_params_only(params):  # noqa: ANN001,ANN202
        return functional_call(model, params, (input,))

    model_output, jvp_out = jvp(func_params_only, (params,), (tangents,))
    out += model_output.reshape(-1).tolist() + jvp_out.reshape(-1).tolist()

    # forward-mode directional derivative of a loss, checked against reverse mode, then used
    # for forward-gradient descent (the gradient estimated as the tangent times the JVP)
    target = torch.randn(6, 3)
    params = {k: v.detach().clone() for k, v in model.named_parameters()}

    def loss_fn(params):  # noqa: ANN001,ANN202
        return nn.functional.mse_loss(functional_call(model, params, (input,)), target)

    for _step in range(4):
        v = {k: torch.randn_like(p) for k, p in params.items()}
        loss, dir_deriv = jvp(loss_fn, (params,), (v,))
        leaves = {k: p.clone().requires_grad_() for k, p in params.items()}
        grads = torch.autograd.grad(loss_fn(leaves), list(leaves.values()))
        reverse = sum((g * v[k]).sum() for g, k in zip(grads, leaves, strict=True))
        assert torch.allclose(dir_deriv, reverse, atol=1e-5)
        params = {k: p - 0.1 * dir_deriv * v[k] for k, p in params.items()}
        out += [loss.item(), dir_deriv.item()]
    return [float(v) for v in out]
