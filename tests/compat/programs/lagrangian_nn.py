"""Lagrangian Neural Networks (Cranmer, Greydanus et al., 2020) as the PyTorch
re-implementations of MilesCranmer/lagrangian_nns write them (the JAX original's
``lnn.py``: ``lagrangian_eom``, ``unconstrained_eom``, ``raw_lagrangian_eom``; its
``experiment_dblpend/physics.py`` for the double pendulum), size-reduced.

The idioms: the learned Lagrangian ``L(q, q_t)`` as an MLP with ``nn.Softplus`` on the
concatenated state (``torch.cat([q, q_t], dim=-1)``); the Euler-Lagrange equation solved for
the accelerations ``q_tt = (d2L/dq_t2)^-1 [dL/dq - (d2L/dq_t dq) q_t]`` written three ways:
(1) per sample with ``torch.autograd.functional.hessian(lagrangian, (q, q_t),
create_graph=True)`` (the tuple-of-tuples blocks ``H[1][1]`` and ``H[1][0]``) and
``torch.autograd.functional.jacobian(lagrangian, (q, q_t), create_graph=True)[0]``,
``torch.linalg.pinv`` of the velocity Hessian as the JAX original's ``jnp.linalg.pinv``;
(2) batched with ``torch.func``: ``vmap(hessian(L, argnums=1))``, ``vmap(jacrev(jacrev(L,
argnums=1), argnums=0))``, ``vmap(grad(L, argnums=0))``, ``torch.func.functional_call`` on
the module's parameters, ``torch.linalg.solve`` in place of the inverse; (3) the
``torch.autograd.grad(..., create_graph=True)`` loop that builds the Hessian row by row. The
loss is the MSE on the accelerations and trains through the second derivatives
(``loss.backward()`` on a graph made with ``create_graph=True``), with Adam and
``clip_grad_norm_``. The analytic double-pendulum accelerations (``f_analytical``) give the
targets; an RK4 rollout of the learned dynamics closes the run.

Changed: JAX -> PyTorch throughout; 128/500 hidden units -> 12; 150000 steps -> 2; the random
states come from NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DOF, HIDDEN, BATCH, STEPS, LR = 2, 12, 5, 2, 1e-3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class LagrangianMLP(nn.Module):
        """L(q, q_t) -> scalar; softplus keeps the second derivatives non-zero."""

        def __init__(self, dof: int, hidden: int) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(2 * dof, hidden),
                nn.Softplus(),
                nn.Linear(hidden, hidden),
                nn.Softplus(),
                nn.Linear(hidden, 1),
            )

        def forward(self, q, q_t):
            state = torch.cat([q, q_t], dim=-1)
            return self.net(state).squeeze(-1)

    return LagrangianMLP(DOF, HIDDEN)


def f_analytical(state: np.ndarray, m1=1.0, m2=1.0, l1=1.0, l2=1.0, g=9.8) -> np.ndarray:
    """The double pendulum's accelerations (the original's ``physics.f_analytical``)."""
    t1, t2, w1, w2 = state.T
    a1 = (l2 / l1) * (m2 / (m1 + m2)) * np.cos(t1 - t2)
    a2 = (l1 / l2) * np.cos(t1 - t2)
    f1 = -(l2 / l1) * (m2 / (m1 + m2)) * (w2**2) * np.sin(t1 - t2) - (g / l1) * np.sin(t1)
    f2 = (l1 / l2) * (w1**2) * np.sin(t1 - t2) - (g / l2) * np.sin(t2)
    g1 = (f1 - a1 * f2) / (1 - a1 * a2)
    g2 = (f2 - a2 * f1) / (1 - a1 * a2)
    return np.stack([g1, g2], axis=-1)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(11)
    state = rng.uniform(-1.0, 1.0, size=(BATCH, 2 * DOF))
    q_all = as_tensor(torch, state[:, :DOF])
    qt_all = as_tensor(torch, state[:, DOF:])
    target = as_tensor(torch, f_analytical(state))
    values: list[float] = []

    # (1) one sample at a time, torch.autograd.functional
    def lagrangian_eom(q, q_t):
        def lagrangian(q, q_t):
            return model(q, q_t)

        H = torch.autograd.functional.hessian(lagrangian, (q, q_t), create_graph=True)
        dL_dq = torch.autograd.functional.jacobian(lagrangian, (q, q_t), create_graph=True)[0]
        q_tt = torch.linalg.pinv(H[1][1]) @ (dL_dq - H[1][0] @ q_t)
        return q_tt

    # (2) the whole batch with torch.func
    def L_func(p, q, q_t):
        return torch.func.functional_call(model, p, (q, q_t))

    def eom_func(p, q, q_t):
        hess_vv = torch.func.hessian(L_func, argnums=2)(p, q, q_t)
        mixed = torch.func.jacrev(torch.func.jacrev(L_func, argnums=2), argnums=1)(p, q, q_t)
        dL_dq = torch.func.grad(L_func, argnums=1)(p, q, q_t)
        return torch.linalg.solve(hess_vv, dL_dq - mixed @ q_t)

    batched_eom = torch.func.vmap(eom_func, in_dims=(None, 0, 0))

    # (3) the row-by-row Hessian with autograd.grad
    def eom_autograd(q, q_t):
        q = q.clone().requires_grad_(True)
        q_t = q_t.clone().requires_grad_(True)
        L = model(q, q_t).sum()
        dL_dq, dL_dqt = torch.autograd.grad(L, (q, q_t), create_graph=True)
        rows_vv, rows_vq = [], []
        for i in range(DOF):
            d_vv, d_vq = torch.autograd.grad(dL_dqt[:, i].sum(), (q_t, q), create_graph=True)
            rows_vv.append(d_vv)
            rows_vq.append(d_vq)
        M = torch.stack(rows_vv, dim=1)  # [B, dof, dof]
        C = torch.stack(rows_vq, dim=1)
        rhs = dL_dq - torch.einsum("bij,bj->bi", C, q_t)
        return torch.linalg.solve(M, rhs.unsqueeze(-1)).squeeze(-1)

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(STEPS):
        preds = torch.stack([lagrangian_eom(q_all[i], qt_all[i]) for i in range(BATCH)])
        loss = torch.mean((preds - target) ** 2)
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), norm.item()]

    # the three forms agree, and the autograd form trains too
    params = {k: v.detach() for k, v in model.named_parameters()}
    with torch.no_grad():
        vm = batched_eom(params, q_all, qt_all)
    per = torch.stack([lagrangian_eom(q_all[i], qt_all[i]) for i in range(BATCH)]).detach()
    rows = eom_autograd(q_all, qt_all)
    values += vm.flatten().tolist()
    values.append((vm - per).abs().max().item())
    values.append((rows.detach() - per).abs().max().item())
    loss = torch.nn.functional.mse_loss(rows, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    values.append(loss.item())
    values.append(model.net[0].weight.grad.norm().item())

    # an RK4 rollout of the learned dynamics
    def dynamics(s):
        q, q_t = s[:, :DOF], s[:, DOF:]
        return torch.cat([q_t, eom_autograd(q, q_t).detach()], dim=-1)

    s = as_tensor(torch, state[:2])
    dt = 0.05
    for _ in range(2):
        k1 = dynamics(s)
        k2 = dynamics(s + dt / 2 * k1)
        k3 = dynamics(s + dt / 2 * k2)
        k4 = dynamics(s + dt * k3)
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    values += s.flatten().tolist()
    return values
