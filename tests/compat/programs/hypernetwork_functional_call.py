"""A hypernetwork that writes a target MLP's weights, as the ``torch.func`` hypernetwork and
meta-learning examples (and the "HyperNetworks" ports built on ``functional_call``) write it,
size-reduced.

A task embedding (``nn.Embedding(n_tasks, z_dim)``) goes through an MLP whose last
``nn.Linear`` emits one flat vector per task; it is cut into the target's parameters by walking
``target.named_parameters()`` (``p.numel()``, ``flat[offset:offset + n].view_as(p)``) into a
dict, and the target runs as ``torch.func.functional_call(target, params, (x,))``, with the
weights the hypernetwork wrote, never its own. Adam trains the hypernetwork on a regression
task per embedding. Around it: ``torch.func.grad`` of a loss written over the params dict (a
dict of gradients back), ``torch.func.vmap`` of that loss and of its gradient over a batch of
tasks (stacked params with ``in_dims=(0, 0, 0)``), ``torch.func.stack_module_state`` of a few
target copies, ``functional_call`` with a ``(params, buffers)`` tuple and ``strict=True``, and
``torch.nn.utils.parameters_to_vector`` / ``vector_to_parameters`` to copy a generated weight
vector into the real target (whose plain forward must then match the functional call). The
empirical neural tangent kernel of a generated target, as torch.func's NTK tutorial writes it
(``vmap(jacrev(fnet_single), (None, 0))(params, x1)`` over the params dict, ``einsum('Naf,Mbf->
NMab', ...)``), also by ``jacfwd``, one entry again by ``vjp`` then ``jvp``, and ``jacrev`` with
``argnums=(0, 1)`` and ``has_aux=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN, HIDDEN, OUT, TASKS, Z_DIM, HYPER_HIDDEN, BATCH, STEPS = 3, 5, 2, 4, 3, 8, 6, 4


def make_target(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, OUT))


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class HyperNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.target = make_target(torch_like)
            self.n_target = sum(p.numel() for p in self.target.parameters())
            self.task_embedding = nn.Embedding(TASKS, Z_DIM)
            self.net = nn.Sequential(
                nn.Linear(Z_DIM, HYPER_HIDDEN),
                nn.ReLU(),
                nn.Linear(HYPER_HIDDEN, self.n_target),
            )

        def generate(self, task: Any) -> Any:
            """Flat target weights for each task index (scaled down, as hypernets do)."""
            return 0.5 * self.net(self.task_embedding(task))

        def unflatten(self, flat: Any) -> dict[str, Any]:
            params = {}
            offset = 0
            for name, p in self.target.named_parameters():
                n = p.numel()
                params[name] = flat[offset : offset + n].view_as(p)
                offset += n
            return params

        def forward(self, task: int, x: Any) -> Any:
            flat = self.generate(torch_like.tensor([task]))[0]
            params = self.unflatten(flat)
            return torch_like.func.functional_call(self.target, params, (x,))

    return HyperNetwork()


def empirical_ntk(torch_like: Any, net: Any, params: dict, x1: Any, x2: Any) -> list[float]:
    """The neural tangent kernel as torch.func's NTK tutorial computes it: per-sample
    Jacobians over the params dict by ``vmap(jacrev(fnet_single), (None, 0))``, contracted
    with ``einsum('Naf,Mbf->NMab')`` and summed over parameters; checked against
    ``jacfwd`` and against the Jacobian-free form built from ``vjp`` and ``jvp``."""
    func = torch_like.func
    params = {k: v.detach() for k, v in params.items()}

    def fnet_single(params: dict, x: Any) -> Any:
        return func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    def ntk(jacobian: Any) -> Any:
        jac1 = func.vmap(jacobian(fnet_single), (None, 0))(params, x1)
        jac1 = [j.flatten(2) for j in jac1.values()]
        jac2 = func.vmap(jacobian(fnet_single), (None, 0))(params, x2)
        jac2 = [j.flatten(2) for j in jac2.values()]
        terms = [torch_like.einsum("Naf,Mbf->NMab", j1, j2) for j1, j2 in zip(jac1, jac2)]
        return torch_like.stack(terms).sum(0)

    rev, fwd = ntk(func.jacrev), ntk(func.jacfwd)
    # one entry again without Jacobians: J(x1[0]) J(x2[0])^T e_0 by a vjp then a jvp
    _, vjp_fn = func.vjp(lambda p: fnet_single(p, x2[0]), params)
    (cotangent,) = vjp_fn(torch_like.eye(OUT, dtype=x1.dtype)[0])
    _, column = func.jvp(lambda p: fnet_single(p, x1[0]), (params,), (cotangent,))
    jac, aux = func.jacrev(lambda p, x: (fnet_single(p, x), x.sum()), argnums=(0, 1), has_aux=True)(
        params, x1[0]
    )
    values = [float(d) for d in rev.shape] + rev.flatten().tolist()
    values += [(rev - fwd).abs().max().item(), (column - rev[0, 0, :, 0]).abs().max().item()]
    return values + [jac[1].sum().item(), jac[0]["2.weight"].sum().item(), aux.item()]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    func = torch.func
    rng = np.random.default_rng(19)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    # the target's own parameters are never trained: only the generated ones are used
    for p in model.target.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(
        [p for n, p in model.named_parameters() if not n.startswith("target.")], lr=1e-2
    )
    xs = as_tensor(torch, rng.standard_normal((TASKS, BATCH, IN)))
    true_w = rng.standard_normal((TASKS, IN, OUT))
    ys = as_tensor(torch, np.einsum("tbi,tio->tbo", xs.numpy(), true_w))

    values: list[float] = []
    for _step in range(STEPS):
        optimizer.zero_grad()
        loss = sum(F.mse_loss(model(t, xs[t]), ys[t]) for t in range(TASKS)) / TASKS
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.task_embedding.weight.grad.abs().sum().item()]

    def loss_fn(params: dict[str, Any], x: Any, y: Any) -> Any:
        return F.mse_loss(func.functional_call(model.target, params, (x,)), y)

    with torch.no_grad():
        flats = model.generate(torch.arange(TASKS))
    params0 = model.unflatten(flats[0])
    grads = func.grad(loss_fn)(params0, xs[0], ys[0])
    values += [float(len(grads))] + [grads[k].sum().item() for k in sorted(grads)]
    # the same gradient through autograd on leaf copies
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params0.items()}
    loss_fn(leaves, xs[0], ys[0]).backward()
    values += [max((leaves[k].grad - grads[k]).abs().max().item() for k in grads)]

    batched = {}
    offset = 0
    for name, p in model.target.named_parameters():
        n = p.numel()
        batched[name] = flats[:, offset : offset + n].reshape(TASKS, *p.shape)
        offset += n
    per_task = func.vmap(loss_fn, in_dims=(0, 0, 0))(batched, xs, ys)
    per_task_grads = func.vmap(func.grad(loss_fn))(batched, xs, ys)
    values += per_task.tolist() + [per_task_grads["0.weight"][2].sum().item()]
    values += [per_task_grads["2.bias"].flatten().tolist()[i] for i in range(TASKS * OUT)]

    copies = [make_target(torch) for _ in range(3)]
    for i, copy in enumerate(copies):
        torch.nn.utils.vector_to_parameters(flats[i], copy.parameters())
    stacked, buffers = func.stack_module_state(copies)
    ensemble = func.vmap(lambda p, b, x: func.functional_call(copies[0], (p, b), (x,), strict=True))
    ens_out = ensemble(stacked, buffers, xs[:3])
    values += [ens_out.sum().item(), float(stacked["0.weight"].shape[0])]

    values += empirical_ntk(torch, model.target, model.unflatten(flats[2]), xs[2], xs[3, :3])

    vec = torch.nn.utils.parameters_to_vector(model.target.parameters())
    values += [float(vec.numel()), vec.sum().item()]
    torch.nn.utils.vector_to_parameters(flats[1], model.target.parameters())
    with torch.no_grad():
        direct = model.target(xs[1])
        functional = func.functional_call(model.target, model.unflatten(flats[1]), (xs[1],))
    back = torch.nn.utils.parameters_to_vector(model.target.parameters())
    values += [(direct - functional).abs().max().item(), (back - flats[1]).abs().max().item()]
    return values + direct.flatten().tolist()
