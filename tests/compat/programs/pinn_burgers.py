"""Physics-informed neural networks for Burgers' equation u_t + u u_x - nu u_xx = 0, as the
"PINNs in PyTorch" ports of Raissi's code write them (omniscientoctopus/Physics-Informed-Neural-
Networks' ``Sequentialmodel`` for the forward problem, jayroxis/PINNs' ``DNN`` +
``PhysicsInformedNN`` for the inverse one), size-reduced.

The idioms: the forward model's ``nn.ModuleList([nn.Linear(layers[i], layers[i+1]) for i in
range(len(layers)-1)])`` with ``nn.init.xavier_normal_(self.linears[i].weight.data, gain=1.0)``
and ``nn.init.zeros_(self.linears[i].bias.data)``, ``self.activation = nn.Tanh()`` and
``self.loss_function = nn.MSELoss(reduction='mean')`` as attributes, ``if torch.is_tensor(x) !=
True: x = torch.from_numpy(x)`` and the input scaling ``(x - l_b)/(u_b - l_b)``; the residual
``g = x_to_train_f.clone(); g.requires_grad = True``, ``autograd.grad(u, g, torch.ones([N,
1]), retain_graph=True, create_graph=True)[0]`` then the second derivative with
``torch.ones(x.shape)`` and the columns ``u_x_t[:, [0]]``; the inverse model's
``torch.nn.Sequential(OrderedDict(layer_list))`` of ``('layer_%d' % i, torch.nn.Linear(...))``
and ``('activation_%d' % i, torch.nn.Tanh())``, the unknown coefficients ``self.lambda_1 =
torch.tensor([0.0], requires_grad=True)``, ``torch.nn.Parameter(self.lambda_1)``,
``self.dnn.register_parameter('lambda_1', self.lambda_1)``, ``torch.tensor(X[:, 0:1],
requires_grad=True).float()`` inputs (here ``.double()``), ``self.net_u(torch.cat([x, t],
dim=1))``, ``torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), retain_graph=True,
create_graph=True)[0]``, ``torch.exp(self.lambda_2)``, ``torch.mean((self.u - u_pred) ** 2) +
torch.mean(f_pred ** 2)``; training ``torch.optim.Adam(self.dnn.parameters())`` first and then
``torch.optim.LBFGS(self.dnn.parameters(), lr=1.0, max_iter=..., max_eval=..., history_size=50,
tolerance_grad=1e-5, tolerance_change=1.0 * np.finfo(float).eps, line_search_fn="strong_wolfe")``
driven by ``self.optimizer.step(self.loss_func)`` with a closure that counts ``self.iter``; the
L-BFGS state read back (``optimizer.state[optimizer._params[0]]['n_iter']`` and
``['func_evals']``); collocation points built with ``torch.linspace``, ``torch.meshgrid(...,
indexing='ij')``, ``torch.hstack((X.flatten()[:, None], T.flatten()[:, None]))`` and the
boundary ``torch.vstack``; and the test error ``torch.linalg.norm((u - u_pred), 2) /
torch.linalg.norm(u, 2)`` on ``u_pred.detach().cpu().numpy()``.

Changed: the 20x9 networks with 10,000 collocation points and ~50,000 L-BFGS iterations -> a
2-8-8-1 network, 30 collocation points and a handful of steps; float64 throughout (the ports'
``.float()`` would make both runs float32 without changing the idioms).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

LAYERS = [2, 8, 8, 1]
NU = 0.01 / np.pi
LB, UB = np.array([-1.0, 0.0]), np.array([1.0, 1.0])
N_F, N_U, ADAM_STEPS, LBFGS_STEPS = 30, 12, 4, 2


def make_model(torch_like: Any) -> Any:
    """The forward-problem network (omniscientoctopus' ``Sequentialmodel``)."""
    torch = torch_like
    nn = torch_like.nn
    autograd = torch_like.autograd

    class Sequentialmodel(nn.Module):
        def __init__(self, layers: list[int]) -> None:
            super().__init__()
            self.layers = layers
            self.activation = nn.Tanh()
            self.loss_function = nn.MSELoss(reduction="mean")
            self.linears = nn.ModuleList(
                [nn.Linear(layers[i], layers[i + 1]) for i in range(len(layers) - 1)]
            )
            self.iter = 0
            for i in range(len(layers) - 1):
                nn.init.xavier_normal_(self.linears[i].weight.data, gain=1.0)
                nn.init.zeros_(self.linears[i].bias.data)

        def forward(self, x: Any) -> Any:
            if torch.is_tensor(x) != True:  # noqa: E712 - the port's own test
                x = torch.from_numpy(x)
            u_b = torch.from_numpy(UB)
            l_b = torch.from_numpy(LB)
            x = (x - l_b) / (u_b - l_b)
            a = x.double()
            for i in range(len(self.layers) - 2):
                z = self.linears[i](a)
                a = self.activation(z)
            return self.linears[-1](a)

        def loss_BC(self, x: Any, y: Any) -> Any:
            return self.loss_function(self.forward(x), y)

        def loss_PDE(self, x_to_train_f: Any) -> Any:
            g = x_to_train_f.clone()
            g.requires_grad = True
            u = self.forward(g)
            ones = torch.ones([x_to_train_f.shape[0], 1])
            u_x_t = autograd.grad(u, g, ones, retain_graph=True, create_graph=True)[0]
            u_xx_tt = autograd.grad(u_x_t, g, torch.ones(x_to_train_f.shape), create_graph=True)[0]
            u_x = u_x_t[:, [0]]
            u_t = u_x_t[:, [1]]
            u_xx = u_xx_tt[:, [0]]
            f = u_t + (self.forward(g)) * (u_x) - (NU) * u_xx
            f_hat = torch.zeros(x_to_train_f.shape[0], 1)
            return self.loss_function(f, f_hat)

        def loss(self, x: Any, y: Any, x_to_train_f: Any) -> Any:
            return self.loss_BC(x, y) + self.loss_PDE(x_to_train_f)

    return Sequentialmodel(LAYERS)


def make_dnn(torch_like: Any, layers: list[int]) -> Any:
    """jayroxis' ``DNN``: an ``OrderedDict`` of named Linear/Tanh layers in a Sequential."""
    torch = torch_like

    class DNN(torch.nn.Module):
        def __init__(self, layers: list[int]) -> None:
            super().__init__()
            self.depth = len(layers) - 1
            self.activation = torch.nn.Tanh
            layer_list = list()
            for i in range(self.depth - 1):
                layer_list.append(
                    ("layer_%d" % i, torch.nn.Linear(layers[i], layers[i + 1]))  # noqa: UP031
                )
                layer_list.append(("activation_%d" % i, self.activation()))  # noqa: UP031
            layer_list.append(
                ("layer_%d" % (self.depth - 1), torch.nn.Linear(layers[-2], layers[-1]))  # noqa: UP031
            )
            layerDict = OrderedDict(layer_list)
            self.layers = torch.nn.Sequential(layerDict)

        def forward(self, x: Any) -> Any:
            return self.layers(x)

    return DNN(layers)


class PhysicsInformedNN:
    """jayroxis' inverse problem: learn u and the coefficients lambda_1, exp(lambda_2)."""

    def __init__(self, torch_like: Any, X: np.ndarray, u: np.ndarray, init: dict) -> None:
        torch = self.torch = torch_like
        self.lb = torch.tensor(LB)
        self.ub = torch.tensor(UB)
        self.x = torch.tensor(X[:, 0:1], requires_grad=True).double()
        self.t = torch.tensor(X[:, 1:2], requires_grad=True).double()
        self.u = torch.tensor(u).double()
        self.lambda_1 = torch.tensor([0.0], requires_grad=True)
        self.lambda_2 = torch.tensor([-6.0], requires_grad=True)
        self.lambda_1 = torch.nn.Parameter(self.lambda_1)
        self.lambda_2 = torch.nn.Parameter(self.lambda_2)
        self.dnn = make_dnn(torch_like, LAYERS)
        # warm start from the forward model's weights (``linears.i`` -> ``layers.layer_i``)
        renamed = {k.replace("linears.", "layers.layer_"): v for k, v in init.items()}
        load_numpy_state(torch_like, self.dnn, renamed)
        self.dnn.register_parameter("lambda_1", self.lambda_1)
        self.dnn.register_parameter("lambda_2", self.lambda_2)
        self.optimizer = torch.optim.LBFGS(
            self.dnn.parameters(),
            lr=1.0,
            max_iter=6,
            max_eval=8,
            history_size=50,
            tolerance_grad=1e-5,
            tolerance_change=1.0 * np.finfo(float).eps,
            line_search_fn="strong_wolfe",
        )
        self.optimizer_Adam = torch.optim.Adam(self.dnn.parameters(), lr=1e-2)
        self.iter = 0
        self.losses: list[float] = []

    def net_u(self, x: Any, t: Any) -> Any:
        return self.dnn(self.torch.cat([x, t], dim=1))

    def net_f(self, x: Any, t: Any) -> Any:
        torch = self.torch
        lambda_1 = self.lambda_1
        lambda_2 = torch.exp(self.lambda_2)
        u = self.net_u(x, t)
        u_t = torch.autograd.grad(
            u, t, grad_outputs=torch.ones_like(u), retain_graph=True, create_graph=True
        )[0]
        u_x = torch.autograd.grad(
            u, x, grad_outputs=torch.ones_like(u), retain_graph=True, create_graph=True
        )[0]
        u_xx = torch.autograd.grad(
            u_x, x, grad_outputs=torch.ones_like(u_x), retain_graph=True, create_graph=True
        )[0]
        return u_t + lambda_1 * u * u_x - lambda_2 * u_xx

    def loss_func(self) -> Any:
        self.optimizer.zero_grad()
        u_pred = self.net_u(self.x, self.t)
        f_pred = self.net_f(self.x, self.t)
        loss = self.torch.mean((self.u - u_pred) ** 2) + self.torch.mean(f_pred**2)
        loss.backward()
        self.iter += 1
        self.losses += [loss.item(), self.lambda_1.item(), self.torch.exp(self.lambda_2).item()]
        return loss

    def train(self, nIter: int) -> list[float]:
        self.dnn.train()
        for _epoch in range(nIter):
            u_pred = self.net_u(self.x, self.t)
            f_pred = self.net_f(self.x, self.t)
            loss = self.torch.mean((self.u - u_pred) ** 2) + self.torch.mean(f_pred**2)
            self.optimizer_Adam.zero_grad()
            loss.backward()
            self.optimizer_Adam.step()
            self.losses += [loss.item(), self.lambda_1.item()]
        self.optimizer.step(self.loss_func)
        state = self.optimizer.state[self.optimizer._params[0]]
        return self.losses + [float(state["n_iter"]), float(state["func_evals"]), self.iter]


def collocation(torch_like: Any) -> tuple[Any, Any, Any]:
    """Boundary/initial points with their values and interior collocation points."""
    torch = torch_like
    x = torch.linspace(-1, 1, 5)
    t = torch.linspace(0, 1, 4)
    X, T = torch.meshgrid(x, t, indexing="ij")
    grid = torch.hstack((X.flatten()[:, None], T.flatten()[:, None]))
    initial = torch.hstack((x[:, None], torch.zeros_like(x)[:, None]))
    left = torch.hstack((-torch.ones_like(t)[:, None], t[:, None]))
    right = torch.hstack((torch.ones_like(t)[:, None], t[:, None]))
    X_u = torch.vstack([initial, left, right])[:N_U]
    U = -torch.sin(np.pi * X_u[:, [0]])
    rng = np.random.default_rng(20)
    X_f = LB + (UB - LB) * rng.uniform(size=(N_F - grid.shape[0], 2))
    X_f = torch.vstack((as_tensor(torch_like, X_f), grid))
    return X_u, U, X_f


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    X_u, U, X_f = collocation(torch_like)
    values: list[float] = [float(X_f.shape[0]), float(X_u.shape[0])]
    values.append(model(X_u.numpy()).sum().item())  # a NumPy input goes through from_numpy

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, amsgrad=False)
    for _step in range(ADAM_STEPS):
        optimizer.zero_grad()
        loss = model.loss(X_u, U, X_f)
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    lbfgs = torch.optim.LBFGS(
        model.parameters(),
        lr=0.1,
        max_iter=5,
        max_eval=None,
        tolerance_grad=1e-05,
        tolerance_change=1e-09,
        history_size=100,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Any:
        lbfgs.zero_grad()
        loss = model.loss(X_u, U, X_f)
        loss.backward()
        model.iter += 1
        return loss

    for _step in range(LBFGS_STEPS):
        values.append(lbfgs.step(closure).item())
    values.append(float(model.iter))

    u_pred = model(X_f)
    u_star = -torch.sin(np.pi * X_f[:, [0]]) * torch.exp(-X_f[:, [1]])
    error_vec = torch.linalg.norm((u_star - u_pred), 2) / torch.linalg.norm(u_star, 2)
    values += [error_vec.item(), float(np.abs(u_pred.detach().cpu().numpy()).max())]

    rng = np.random.default_rng(21)
    X = LB + (UB - LB) * rng.uniform(size=(10, 2))
    u = -np.sin(np.pi * X[:, 0:1]) * (1 - X[:, 1:2])
    pinn = PhysicsInformedNN(torch_like, X, u, init)
    values += pinn.train(3)
    return values
