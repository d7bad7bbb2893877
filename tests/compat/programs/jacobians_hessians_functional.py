"""Jacobians, Hessians, hvp/vhp and jvp/vjp of a small MLP, the two ways PyTorch's docs teach
them: the ``torch.autograd.functional`` API (its reference page's examples, applied to an MLP's
loss as a function of a tuple of parameter tensors) and the torch.func tutorial "Jacobians,
Hessians, hvp, vhp, and more: composing function transforms"
(``intermediate/jacobians_hessians``), size-reduced.

``torch.autograd.functional``: ``jacobian(f, (W1, b1, W2, b2))`` returning one block per
input (and a tuple of tuples for a two-output function), with ``vectorize=True``,
``strategy="forward-mode"`` and ``create_graph=True``; ``hessian(loss, params)`` as nested
blocks ``H[i][j]``, also ``vectorize=True, outer_jacobian_strategy="forward-mode"``;
``hvp(loss, params, v)`` and ``vhp(loss, params, v)`` (each returns ``(func_output, result)``,
equal for a symmetric Hessian); ``jvp(f, inputs, v)`` and ``vjp(f, inputs, v)`` (``v=None`` for
a scalar output), with ``create_graph=True`` so a Jacobian-norm penalty is backpropagated into
the parameters during training; ``strict=True`` raising ``RuntimeError`` for an output that
does not depend on an input (and zeros without it).

The tutorial: ``predict(weight, bias, x) = F.linear(x, weight, bias).tanh()``; the Jacobian
row by row with ``torch.autograd.grad(predict(weight, bias, xp), xp, vec)`` over
``torch.eye(D)`` and ``torch.stack``; ``vjp(partial(predict, weight, bias), x)`` then
``vmap(vjp_fn)(unit_vectors)``; ``jacrev(predict, argnums=2)``, ``jacrev(predict, argnums=(0,
1))``, ``jacfwd``; ``hessian(predict, argnums=2)`` against ``jacfwd(jacrev(...))`` and
``jacrev(jacrev(...))``; batched Jacobians ``vmap(jacrev(predict, argnums=2), in_dims=(None,
None, 0))`` against ``jacrev(predict_with_output_summed, argnums=2)(...).movedim(1, 0)``;
batched Hessians ``vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))``; and
``hvp(f, primals, tangents) = jvp(grad(f), primals, tangents)[1]`` against the reverse-over-
reverse ``vjp(grad(f), *primals)``.

Changed: the tutorial's ``jacfwd(jacfwd(predict, argnums=2), argnums=2)`` is
``jacfwd(jacrev(...))`` here (chainrule does not nest forward mode); D 16 -> 5, Din/Dout
31/33 -> 4/3, batch 64 -> 3, the hvp vector 2048 -> 6; the MLP (3 -> 4 -> 2, tanh) and its
data are seeded NumPy arrays.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ._common import as_tensor


def _flat(values: list[float], t: Any) -> None:
    if isinstance(t, (tuple, list)):
        for item in t:
            _flat(values, item)
    else:
        values.extend(t.detach().flatten().tolist())


def _autograd_functional(torch: Any, rng: np.random.Generator, values: list[float]) -> None:
    AF = torch.autograd.functional
    F = torch.nn.functional
    X = as_tensor(torch, rng.standard_normal((5, 3)))
    Y = as_tensor(torch, rng.standard_normal((5, 2)))
    params = (
        as_tensor(torch, rng.standard_normal((4, 3)) * 0.5),
        as_tensor(torch, rng.standard_normal(4) * 0.1),
        as_tensor(torch, rng.standard_normal((2, 4)) * 0.5),
        as_tensor(torch, rng.standard_normal(2) * 0.1),
    )

    def mlp(W1: Any, b1: Any, W2: Any, b2: Any, x: Any = X) -> Any:
        return F.linear(torch.tanh(F.linear(x, W1, b1)), W2, b2)

    def loss(W1: Any, b1: Any, W2: Any, b2: Any) -> Any:
        # written out: PyTorch's forward-over-reverse Hessian fails inside F.mse_loss's backward
        # ("ZeroTensors are immutable", torch 2.x)
        return ((mlp(W1, b1, W2, b2) - Y) ** 2).mean()

    # first derivatives: one block per input
    J = AF.jacobian(loss, params)
    assert isinstance(J, tuple) and len(J) == 4
    assert [tuple(j.shape) for j in J] == [(4, 3), (4,), (2, 4), (2,)]
    _flat(values, J)
    Jv = AF.jacobian(loss, params, vectorize=True)
    Jf = AF.jacobian(loss, params, vectorize=True, strategy="forward-mode")
    values.append(max((a - b).abs().max().item() for a, b in zip(J, Jv)))
    values.append(max((a - b).abs().max().item() for a, b in zip(J, Jf)))

    # a two-output function of two inputs: a tuple (per output) of tuples (per input)
    def two_outputs(x: Any, W1: Any) -> tuple[Any, Any]:
        h = torch.tanh(x @ W1.t())
        return h.sum(dim=1), (h**2).mean()

    x0 = X[:2].clone()
    J2 = AF.jacobian(two_outputs, (x0, params[0]))
    assert len(J2) == 2 and len(J2[0]) == 2
    assert tuple(J2[0][0].shape) == (2, 2, 3) and tuple(J2[0][1].shape) == (2, 4, 3)
    assert tuple(J2[1][0].shape) == (2, 3) and tuple(J2[1][1].shape) == (4, 3)
    _flat(values, J2)
    J2f = AF.jacobian(two_outputs, (x0, params[0]), vectorize=True, strategy="forward-mode")
    values.append(max((a - b).abs().max().item() for r, s in zip(J2, J2f) for a, b in zip(r, s)))

    # the Hessian of the loss in the parameters: H[i][j] of shape p_i.shape + p_j.shape
    H = AF.hessian(loss, params)
    assert tuple(H[0][2].shape) == (4, 3, 2, 4) and tuple(H[3][1].shape) == (2, 4)
    _flat(values, H)
    Hf = AF.hessian(loss, params, vectorize=True, outer_jacobian_strategy="forward-mode")
    values.append(max((a - b).abs().max().item() for r, s in zip(H, Hf) for a, b in zip(r, s)))

    # hvp / vhp: (loss value, H v) and (loss value, v^T H), equal for a symmetric Hessian
    v = tuple(as_tensor(torch, rng.standard_normal(tuple(p.shape))) for p in params)
    out, Hv = AF.hvp(loss, params, v)
    out2, vH = AF.vhp(loss, params, v)
    values.append(out.item())
    assert out.item() == out2.item()
    _flat(values, Hv)
    values.append(max((a - b).abs().max().item() for a, b in zip(Hv, vH)))
    # H v built from the blocks
    Hv_blocks = [sum((H[i][j] * v[j]).flatten(p.dim()).sum(-1) for j in range(4)) for i, p in
                 enumerate(params)]  # fmt: skip
    values.append(max((a - b).abs().max().item() for a, b in zip(Hv, Hv_blocks)))

    # jvp / vjp of the network's output in its input
    def net_of_input(x: Any) -> Any:
        return mlp(*params, x=x)

    u = as_tensor(torch, rng.standard_normal((5, 3)))
    w = as_tensor(torch, rng.standard_normal((5, 2)))
    out, jvp_u = AF.jvp(net_of_input, X, u)
    out, vjp_w = AF.vjp(net_of_input, X, w)
    _flat(values, (jvp_u, vjp_w))
    values.append((jvp_u * w).sum().item() - (u * vjp_w).sum().item())  # <J u, w> = <u, J^T w>
    loss_value, grads = AF.vjp(loss, params)  # v=None: a scalar output
    values.append(loss_value.item())
    values.append(max((a - b).abs().max().item() for a, b in zip(grads, J)))

    # strict=True: an output independent of an input raises; without it, zeros
    def ignores_b(a: Any, b: Any) -> Any:
        return a * 2

    a = as_tensor(torch, rng.standard_normal(3))
    try:
        AF.jacobian(ignores_b, (a, a.clone()), strict=True)
        raised = 0.0
    except RuntimeError:
        raised = 1.0
    values.append(raised)
    _, zero_block = AF.jacobian(ignores_b, (a, a.clone()))
    values.append(zero_block.abs().sum().item())

    # training with a create_graph=True Jacobian penalty (input sensitivity) on the parameters
    trainable = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.Adam(trainable, lr=0.02)
    for _step in range(4):
        optimizer.zero_grad()
        pred = mlp(*trainable)
        _, jvp_pen = AF.jvp(lambda x: mlp(*trainable, x=x), X, u, create_graph=True)
        hess_x = AF.hessian(
            lambda x: mlp(*trainable, x=x).pow(2).sum(), X[0].clone(), create_graph=True
        )
        objective = F.mse_loss(pred, Y) + 0.01 * jvp_pen.pow(2).mean() + 1e-3 * hess_x.trace()
        objective.backward()
        optimizer.step()
        values.extend([objective.item(), trainable[0].grad.norm().item()])


def _torch_func_tutorial(torch: Any, rng: np.random.Generator, values: list[float]) -> None:
    F = torch.nn.functional
    from_np = partial(as_tensor, torch)
    vmap, vjp, jvp = torch.func.vmap, torch.func.vjp, torch.func.jvp
    jacrev, jacfwd, hessian, grad = (
        torch.func.jacrev,
        torch.func.jacfwd,
        torch.func.hessian,
        torch.func.grad,
    )

    def predict(weight: Any, bias: Any, x: Any) -> Any:
        return F.linear(x, weight, bias).tanh()

    D = 5
    weight = from_np(rng.standard_normal((D, D)))
    bias = from_np(rng.standard_normal(D))
    x = from_np(rng.standard_normal(D))  # feature vector

    def compute_jac(xp: Any) -> Any:
        jacobian_rows = [
            torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0] for vec in unit_vectors
        ]
        return torch.stack(jacobian_rows)

    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D)

    jacobian = compute_jac(xp)
    assert tuple(jacobian.shape) == (D, D)
    _flat(values, jacobian[0])

    _, vjp_fn = vjp(partial(predict, weight, bias), x)
    (ft_jacobian,) = vmap(vjp_fn)(unit_vectors)
    # let's confirm both methods compute the same result
    assert torch.allclose(ft_jacobian, jacobian)

    ft_jacobian = jacrev(predict, argnums=2)(weight, bias, x)
    # confirm
    assert torch.allclose(ft_jacobian, jacobian)

    # note the change in input via ``argnums`` parameters of 0,1 to map to weight and bias
    ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    assert tuple(ft_jac_weight.shape) == (D, D, D)
    _flat(values, (ft_jac_weight[1], ft_jac_bias))

    jacfwd_jacobian = jacfwd(predict, argnums=2)(weight, bias, x)
    assert torch.allclose(jacfwd_jacobian, jacobian)

    hess0 = hessian(predict, argnums=2)(weight, bias, x)
    # the tutorial's third form, jacfwd(jacfwd(...)), nests forward mode (not in chainrule)
    hess1 = jacfwd(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    hess2 = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    assert tuple(hess0.shape) == (D, D, D)
    assert torch.allclose(hess1, hess0) and torch.allclose(hess2, hess0)
    _flat(values, hess0[2])

    batch_size = 3
    Din = 4
    Dout = 3
    weight = from_np(rng.standard_normal((Dout, Din)))
    bias = from_np(rng.standard_normal(Dout))
    x = from_np(rng.standard_normal((batch_size, Din)))

    compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
    batch_jacobian0 = compute_batch_jacobian(weight, bias, x)
    assert tuple(batch_jacobian0.shape) == (batch_size, Dout, Din)

    def predict_with_output_summed(weight: Any, bias: Any, x: Any) -> Any:
        return predict(weight, bias, x).sum(0)

    batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, x).movedim(1, 0)
    assert torch.allclose(batch_jacobian0, batch_jacobian1)
    _flat(values, batch_jacobian0)

    compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))
    batch_hess = compute_batch_hessian(weight, bias, x)
    assert tuple(batch_hess.shape) == (batch_size, Dout, Din, Din)
    _flat(values, batch_hess[1])

    def hvp(f: Any, primals: Any, tangents: Any) -> Any:
        return jvp(grad(f), primals, tangents)[1]

    def f(x: Any) -> Any:
        return x.sin().sum()

    x = from_np(rng.standard_normal(6))
    tangent = from_np(rng.standard_normal(6))
    result = hvp(f, (x,), (tangent,))
    _flat(values, result)

    def hvp_revrev(f: Any, primals: Any, tangents: Any) -> Any:
        _, vjp_fn = vjp(grad(f), *primals)
        return vjp_fn(*tangents)

    result_hvp_revrev = hvp_revrev(f, (x,), (tangent,))
    assert torch.allclose(result, result_hvp_revrev[0])
    # and torch.autograd.functional's hvp agrees
    _, af_hvp = torch.autograd.functional.hvp(f, x, tangent)
    values.append((af_hvp - result).abs().max().item())


def run(torch_like: Any, init: Any) -> list[float]:
    rng = np.random.default_rng(290)
    values: list[float] = []
    _autograd_functional(torch_like, rng, values)
    _torch_func_tutorial(torch_like, rng, values)
    return values
