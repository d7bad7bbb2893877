"""A physics-informed network for the 1-D heat equation u_t = alpha u_xx written the way DeepXDE's
PyTorch backend and its hand-written ports do it (``deepxde/gradients`` ``jacobian``/``hessian``
as ``torch.autograd.grad(y[:, i:i+1], x, grad_outputs=torch.ones_like(...), create_graph=True)``,
``deepxde/nn/pytorch/fnn.py``'s ``FNN``, ``model.compile("adam", lr=..., loss_weights=...,
decay=("inverse time", ...))`` then ``model.compile("L-BFGS")``), size-reduced; the parts
``pinn_burgers`` does not cover.

The idioms: collocation grids from ``torch.meshgrid(x, t, indexing='xy')`` (checked against
``indexing='ij'`` transposed) flattened with ``torch.stack([X.ravel(), T.ravel()], dim=-1)``,
initial/boundary points with ``torch.cat`` and ``torch.full_like``; ``FNN`` as an
``nn.ModuleList`` of ``nn.Linear`` initialised by ``nn.init.xavier_uniform_`` / ``zeros_``,
``torch.tanh`` activations and an ``apply_output_transform`` hard constraint (``u = x * (1 - x)
* t * net + torch.sin(np.pi * x)``) next to the soft-constraint loss; the residual ``dy_t =
jacobian(y, x, i=0, j=1)``, ``dy_xx = hessian(y, x, i=0, j=0)`` (a second
``torch.autograd.grad`` of the first derivative, ``create_graph=True``) with
``x.requires_grad_()``; the loss ``sum(w * torch.mean(torch.square(r)) for w, r in
zip(loss_weights, ...))``; Adam with DeepXDE's "inverse time" decay ``LambdaLR(opt, lambda step:
1 / (1 + decay_rate * (step // decay_steps)))`` (staircase); L-BFGS as DeepXDE configures it
(``torch.optim.LBFGS(params, lr=1, max_iter=..., max_eval=..., tolerance_grad=...,
tolerance_change=..., history_size=100, line_search_fn=None)``) driven by ``closure()`` that
zero-grads, back-propagates and returns the loss, the L-BFGS ``state`` read back (``n_iter``,
``func_evals``); residual-based adaptive refinement (``torch.topk(residual.abs().flatten(),
k).indices``, the chosen points appended with ``torch.cat``); and the test metric
``torch.linalg.vector_norm(u - u_exact) / torch.linalg.vector_norm(u_exact)`` against the exact
solution ``torch.exp(-alpha * np.pi ** 2 * t) * torch.sin(np.pi * x)``, with the residual on
test points computed under ``torch.enable_grad()`` inside ``torch.no_grad()``.

Changed: [2, 8, 8, 1] instead of [2, 32, 32, 32, 1], a 5x4 grid plus 6 boundary points instead
of thousands of random ones, 5 Adam steps and two L-BFGS calls of a few iterations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

ALPHA = 0.4
DECAY_STEPS, DECAY_RATE = 2, 0.5  # decay=("inverse time", 2, 0.5)
LAYERS = [2, 8, 8, 1]


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class FNN(nn.Module):
        def __init__(self, layer_sizes: list[int], hard: bool) -> None:
            super().__init__()
            self.activation = torch.tanh
            self.linears = nn.ModuleList()
            for i in range(1, len(layer_sizes)):
                self.linears.append(nn.Linear(layer_sizes[i - 1], layer_sizes[i]))
                nn.init.xavier_uniform_(self.linears[-1].weight)
                nn.init.zeros_(self.linears[-1].bias)
            self._output_transform = None
            if hard:
                self.apply_output_transform(
                    lambda x, y: (
                        x[:, 0:1] * (1 - x[:, 0:1]) * x[:, 1:2] * y + torch.sin(np.pi * x[:, 0:1])
                    )
                )

        def apply_output_transform(self, transform: Any) -> None:
            self._output_transform = transform

        def forward(self, inputs: Any) -> Any:
            x = inputs
            for linear in self.linears[:-1]:
                x = self.activation(linear(x))
            x = self.linears[-1](x)
            if self._output_transform is not None:
                x = self._output_transform(inputs, x)
            return x

    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.soft = FNN(LAYERS, hard=False)
            self.hard = FNN(LAYERS, hard=True)

    return Pair()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    pair = make_model(torch_like)
    load_numpy_state(torch_like, pair, init)
    values: list[float] = []

    def jacobian(ys: Any, xs: Any, i: int = 0, j: int | None = None) -> Any:
        y = ys[:, i : i + 1]
        grads = torch.autograd.grad(y, xs, grad_outputs=torch.ones_like(y), create_graph=True)[0]
        return grads if j is None else grads[:, j : j + 1]

    def hessian(ys: Any, xs: Any, component: int = 0, i: int = 0, j: int = 0) -> Any:
        dy_x = jacobian(ys, xs, i=component)
        return jacobian(dy_x, xs, i=i, j=j)

    def pde(x: Any, y: Any) -> Any:
        dy_t = jacobian(y, x, i=0, j=1)
        dy_xx = hessian(y, x, i=0, j=0)
        return dy_t - ALPHA * dy_xx

    # collocation points
    xs = torch.linspace(0, 1, 5)
    ts = torch.linspace(0, 1, 6)[1:5]
    X, T = torch.meshgrid(xs, ts, indexing="xy")
    Xij, Tij = torch.meshgrid(xs, ts, indexing="ij")
    values += [float(X.shape[0]), float(X.shape[1]), float(torch.equal(X, Xij.T))]
    values.append(float(torch.equal(T, Tij.transpose(0, 1))))
    pts = torch.stack([X.ravel(), T.ravel()], dim=-1)
    x_ic = torch.linspace(0, 1, 6)[1:-1, None]
    ic = torch.cat([x_ic, torch.zeros_like(x_ic)], dim=1)
    t_bc = torch.tensor([[0.25], [0.5], [0.75]])
    bc = torch.cat(
        [
            torch.cat([torch.zeros_like(t_bc), t_bc], dim=1),
            torch.cat([torch.full_like(t_bc, 1.0), t_bc], dim=1),
        ]
    )
    loss_weights = [1.0, 10.0, 10.0]

    def losses(net: Any, pts: Any) -> Any:
        x = pts.clone().requires_grad_()
        y = net(x)
        r_pde = pde(x, y)
        r_ic = net(ic) - torch.sin(np.pi * ic[:, 0:1])
        r_bc = net(bc)
        terms = [r_pde, r_ic, r_bc]
        return sum(w * torch.mean(torch.square(r)) for w, r in zip(loss_weights, terms))

    for net in (pair.soft, pair.hard):
        train_pts = pts
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 1 / (1 + DECAY_RATE * (step // DECAY_STEPS))
        )
        for _ in range(5):
            opt.zero_grad()
            loss = losses(net, train_pts)
            loss.backward()
            opt.step()
            scheduler.step()
            values += [loss.item(), scheduler.get_last_lr()[0]]

        # residual-based adaptive refinement on a finer candidate set
        cx, ct = torch.meshgrid(torch.linspace(0, 1, 7), torch.linspace(0.1, 0.9, 5), indexing="xy")
        cand = torch.stack([cx.ravel(), ct.ravel()], dim=-1).requires_grad_()
        residual = pde(cand, net(cand)).detach()
        idx = torch.topk(residual.abs().flatten(), 3).indices
        train_pts = torch.cat([train_pts, cand.detach()[idx]], dim=0)
        values += [float(residual.abs().mean()), float(train_pts.shape[0])]

        lbfgs = torch.optim.LBFGS(
            net.parameters(),
            lr=1,
            max_iter=6,
            max_eval=8,
            tolerance_grad=1e-8,
            tolerance_change=0,
            history_size=100,
            line_search_fn=None,
        )

        def closure() -> Any:
            lbfgs.zero_grad()  # noqa: B023 - the closure runs within its own iteration
            loss = losses(net, train_pts)  # noqa: B023
            loss.backward()
            return loss

        for _ in range(2):
            loss = lbfgs.step(closure)
            values.append(loss.item())
        state = lbfgs.state[lbfgs._params[0]]
        values += [float(state["n_iter"]), float(state["func_evals"])]

        with torch.no_grad():
            tx, tt = torch.meshgrid(torch.linspace(0, 1, 9), torch.linspace(0, 1, 5), indexing="xy")
            test = torch.stack([tx.ravel(), tt.ravel()], dim=-1)
            u = net(test)
            u_exact = torch.exp(-ALPHA * np.pi**2 * test[:, 1:2]) * torch.sin(np.pi * test[:, 0:1])
            err = torch.linalg.vector_norm(u - u_exact) / torch.linalg.vector_norm(u_exact)
            values.append(float(err))
            with torch.enable_grad():
                tg = test.clone().requires_grad_()
                res = pde(tg, net(tg))
            values.append(float(res.detach().square().mean()))
    return values
