"""Unconstrained Monotonic Neural Networks (Wehenkel & Louppe 2019), AWehenkel/UMNN
(``models/UMNN/ParallelNeuralIntegral.py``: ``_flatten``, ``compute_cc_weights``,
``integrate``, ``computeIntegrand``, ``ParallelNeuralIntegral``; ``models/UMNN/
MonotonicNN.py``: ``ELUPlus``, ``IntegrandNN``, ``MonotonicNN``; ``MonotonicMLP.py``: the toy
regression), size-reduced.

The idioms kept: Clenshaw-Curtis weights built in NumPy (``lam @ lam.T``, ``W[np.arange(1,
nb_steps + 1, 2)] = 0``) and made tensors by ``torch.tensor(lam.T @ W).float()`` (float32
weights that the float64 integrand promotes), ``.to(device)`` with ``device = x0.get_device()
if x0.is_cuda else "cpu"``; the quadrature nodes ``x0_t + (xT_t - x0_t) * (steps_t + 1) / 2``
from ``unsqueeze(1).expand(-1, nb_steps + 1, -1)`` tensors made ``.contiguous().view(-1,
...)``; the custom ``torch.autograd.Function`` taking a module (``integrand``) and the
flattened parameters ``_flatten(self.integrand.parameters())`` (``torch.cat`` of
``p.contiguous().view(-1)``) as inputs, ``torch.no_grad()`` in ``forward``,
``ctx.save_for_backward(x0.clone(), x.clone(), h)`` beside plain ``ctx`` attributes, and a
``backward`` that runs the integrand again under ``torch.enable_grad()`` with
``h.requires_grad_(True)`` and takes vector-Jacobian products with
``torch.autograd.grad(f, integrand.parameters(), x_tot, create_graph=True, retain_graph=True)``
and ``torch.autograd.grad(f, h, x_tot)``, returning the Leibniz-rule gradients
``-x0_grad * grad_output``, ``x_grad * grad_output`` and ``None`` for the non-tensor inputs
(the flat-parameter gradient reaches the parameters only through ``_flatten``'s ``torch.cat``
and views); ``IntegrandNN`` built as a list of ``nn.Linear`` / ``nn.ReLU`` with
``self.net.pop()`` and ``ELUPlus`` appended; ``MonotonicNN.forward`` (``torch.zeros(x.shape)
.to(self.device)``, ``out[:, [0]]``, ``torch.exp(out[:, [1]])``); the training loop of
``MonotonicMLP.py`` (``torch.randperm`` shuffles, ``x[i:i + b_size].requires_grad_()``,
``model(x[:, [0]], x[:, 1:])[:, 0]``, ``((y_pred - y)**2).sum()``, ``Adam(..., 1e-3,
weight_decay=1e-5)``).

Changed: hidden [100, 100, 100] -> [8, 8], nb_steps 100 -> 12, 1000 training points -> 48 in
batches of 12 (the script's ``range(0, nb_train - b_size, b_size)`` kept), 1000 epochs -> 2;
the comparison MLP is dropped; monotonicity of the trained model is checked on a grid.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

NB_STEPS = 12


def _umnn(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    def _flatten(sequence):  # noqa: ANN001, ANN202
        flat = [p.contiguous().view(-1) for p in sequence]
        return torch.cat(flat) if len(flat) > 0 else torch.tensor([])

    def compute_cc_weights(nb_steps):  # noqa: ANN001, ANN202
        lam = np.arange(0, nb_steps + 1, 1).reshape(-1, 1)
        lam = np.cos((lam @ lam.T) * math.pi / nb_steps)
        lam[:, 0] = 0.5
        lam[:, -1] = 0.5 * lam[:, -1]
        lam = lam * 2 / nb_steps
        W = np.arange(0, nb_steps + 1, 1).reshape(-1, 1)
        W[np.arange(1, nb_steps + 1, 2)] = 0
        W = 2 / (1 - W**2)
        W[0] = 1
        W[np.arange(1, nb_steps + 1, 2)] = 0
        cc_weights = torch.tensor(lam.T @ W).float()
        steps = torch.tensor(
            np.cos(np.arange(0, nb_steps + 1, 1).reshape(-1, 1) * math.pi / nb_steps)
        ).float()

        return cc_weights, steps

    def integrate(x0, nb_steps, step_sizes, integrand, h, compute_grad=False, x_tot=None):  # noqa: ANN001, ANN202
        # Clenshaw-Curtis Quadrature Method
        cc_weights, steps = compute_cc_weights(nb_steps)

        device = x0.get_device() if x0.is_cuda else "cpu"
        cc_weights, steps = cc_weights.to(device), steps.to(device)

        xT = x0 + nb_steps * step_sizes
        if not compute_grad:
            x0_t = x0.unsqueeze(1).expand(-1, nb_steps + 1, -1)
            xT_t = xT.unsqueeze(1).expand(-1, nb_steps + 1, -1)
            h_steps = h.unsqueeze(1).expand(-1, nb_steps + 1, -1)
            steps_t = steps.unsqueeze(0).expand(x0_t.shape[0], -1, x0_t.shape[2])
            X_steps = x0_t + (xT_t - x0_t) * (steps_t + 1) / 2
            X_steps = X_steps.contiguous().view(-1, x0_t.shape[2])
            h_steps = h_steps.contiguous().view(-1, h.shape[1])
            dzs = integrand(X_steps, h_steps)
            dzs = dzs.view(xT_t.shape[0], nb_steps + 1, -1)
            dzs = dzs * cc_weights.unsqueeze(0).expand(dzs.shape)
            z_est = dzs.sum(1)
            return z_est * (xT - x0) / 2
        else:
            x0_t = x0.unsqueeze(1).expand(-1, nb_steps + 1, -1)
            xT_t = xT.unsqueeze(1).expand(-1, nb_steps + 1, -1)

            x_tot = x_tot * (xT - x0) / 2
            x_tot_steps = x_tot.unsqueeze(1).expand(-1, nb_steps + 1, -1) * cc_weights.unsqueeze(
                0
            ).expand(x_tot.shape[0], -1, x_tot.shape[1])
            h_steps = h.unsqueeze(1).expand(-1, nb_steps + 1, -1)
            steps_t = steps.unsqueeze(0).expand(x0_t.shape[0], -1, x0_t.shape[2])
            X_steps = x0_t + (xT_t - x0_t) * (steps_t + 1) / 2
            X_steps = X_steps.contiguous().view(-1, x0_t.shape[2])
            h_steps = h_steps.contiguous().view(-1, h.shape[1])
            x_tot_steps = x_tot_steps.contiguous().view(-1, x_tot.shape[1])

            g_param, g_h = computeIntegrand(X_steps, h_steps, integrand, x_tot_steps, nb_steps + 1)
            return g_param, g_h

    def computeIntegrand(x, h, integrand, x_tot, nb_steps):  # noqa: ANN001, ANN202, N802
        h.requires_grad_(True)
        with torch.enable_grad():
            f = integrand.forward(x, h)
            g_param = _flatten(
                torch.autograd.grad(
                    f, integrand.parameters(), x_tot, create_graph=True, retain_graph=True
                )
            )
            g_h = _flatten(torch.autograd.grad(f, h, x_tot))

        return g_param, g_h.view(int(x.shape[0] / nb_steps), nb_steps, -1).sum(1)

    class ParallelNeuralIntegral(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x0, x, integrand, flat_params, h, nb_steps=20):  # noqa: ANN001, ANN205
            with torch.no_grad():
                x_tot = integrate(x0, nb_steps, (x - x0) / nb_steps, integrand, h, False)
                # Save for backward
                ctx.integrand = integrand
                ctx.nb_steps = nb_steps
                ctx.save_for_backward(x0.clone(), x.clone(), h)
            return x_tot

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001, ANN205
            x0, x, h = ctx.saved_tensors
            integrand = ctx.integrand
            nb_steps = ctx.nb_steps
            integrand_grad, h_grad = integrate(
                x0, nb_steps, x / nb_steps, integrand, h, True, grad_output
            )
            x_grad = integrand(x, h)
            x0_grad = integrand(x0, h)
            # Leibniz formula
            return (
                -x0_grad * grad_output,
                x_grad * grad_output,
                None,
                integrand_grad,
                h_grad.view(h.shape),
                None,
            )

    class ELUPlus(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.elu = nn.ELU()

        def forward(self, x):  # noqa: ANN001, ANN201
            return self.elu(x) + 1.0

    class IntegrandNN(nn.Module):
        def __init__(self, in_d, hidden_layers):  # noqa: ANN001
            super(IntegrandNN, self).__init__()  # noqa: UP008
            self.net = []
            hs = [in_d] + hidden_layers + [1]
            for h0, h1 in zip(hs, hs[1:]):
                self.net.extend(
                    [
                        nn.Linear(h0, h1),
                        nn.ReLU(),
                    ]
                )
            self.net.pop()  # pop the last ReLU for the output layer
            self.net.append(ELUPlus())
            self.net = nn.Sequential(*self.net)

        def forward(self, x, h):  # noqa: ANN001, ANN201
            return self.net(torch.cat((x, h), 1)) + 1.0

    class MonotonicNN(nn.Module):
        def __init__(self, in_d, hidden_layers, nb_steps=50, dev="cpu"):  # noqa: ANN001
            super(MonotonicNN, self).__init__()  # noqa: UP008
            self.integrand = IntegrandNN(in_d, hidden_layers)
            self.net = []
            hs = [in_d - 1] + hidden_layers + [2]
            for h0, h1 in zip(hs, hs[1:]):
                self.net.extend(
                    [
                        nn.Linear(h0, h1),
                        nn.ReLU(),
                    ]
                )
            self.net.pop()  # pop the last ReLU for the output layer
            # It will output the scaling and offset factors.
            self.net = nn.Sequential(*self.net)
            self.device = dev
            self.nb_steps = nb_steps

        """
        The forward procedure takes as input x which is the variable for which the integration
        must be made, h is just other conditionning variables.
        """

        def forward(self, x, h):  # noqa: ANN001, ANN201
            x0 = torch.zeros(x.shape).to(self.device)
            out = self.net(h)
            offset = out[:, [0]]
            scaling = torch.exp(out[:, [1]])
            return (
                scaling
                * ParallelNeuralIntegral.apply(
                    x0, x, self.integrand, _flatten(self.integrand.parameters()), h, self.nb_steps
                )
                + offset
            )

    return MonotonicNN


def make_model(torch_like: Any) -> Any:
    return _umnn(torch_like)(3, [8, 8], nb_steps=NB_STEPS, dev="cpu")


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like

    def f(x_1, x_2, x_3):  # noqa: ANN001, ANN202
        return 0.001 * (x_1**3 + x_1) + x_2**2 + torch.sin(x_3)

    def create_dataset(n_samples):  # noqa: ANN001, ANN202
        x = torch.randn(n_samples, 3)
        y = f(x[:, 0], x[:, 1], x[:, 2])
        return x, y

    torch.manual_seed(0)
    nb_train, b_size = 48, 12
    train_x, train_y = create_dataset(nb_train)
    test_x, test_y = create_dataset(16)
    model_monotonic = make_model(torch_like)
    load_numpy_state(torch_like, model_monotonic, init)
    optim_monotonic = torch.optim.Adam(model_monotonic.parameters(), 1e-3, weight_decay=1e-5)
    values: list[float] = []
    for _epoch in range(2):
        # Shuffle
        idx = torch.randperm(nb_train)
        train_x = train_x[idx]
        train_y = train_y[idx]
        avg_loss_mon = 0.0
        for i in range(0, nb_train - b_size, b_size):
            # Monotonic
            x = train_x[i : i + b_size].requires_grad_()
            y = train_y[i : i + b_size].requires_grad_()
            y_pred = model_monotonic(x[:, [0]], x[:, 1:])[:, 0]
            loss = ((y_pred - y) ** 2).sum()
            optim_monotonic.zero_grad()
            loss.backward()
            optim_monotonic.step()
            avg_loss_mon += loss.item()
            values.append(x.grad.abs().sum().item())
        values.append(avg_loss_mon)
        with torch.no_grad():
            y_pred = model_monotonic(test_x[:, [0]], test_x[:, 1:])[:, 0]
            values.append(((y_pred - test_y) ** 2).sum().item())

    # monotone in the first input whatever the others are
    grid = torch.linspace(-3, 3, 9).view(-1, 1)
    h = test_x[:1, 1:].expand(9, -1)
    with torch.no_grad():
        out = model_monotonic(grid, h)[:, 0]
    values.append(float(bool((out[1:] > out[:-1]).all())))
    values.append(out.sum().item())
    return values


def check(values: list[float]) -> None:
    assert values[-2] == 1.0
