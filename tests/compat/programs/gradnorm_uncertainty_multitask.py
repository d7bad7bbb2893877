"""Two ways to balance multi-task losses: GradNorm as brianlan/pytorch-grad-norm writes it
(``train.py``, ``model.py``) and homoscedastic-uncertainty weighting (Kendall, Gal & Cipolla) as
yaringal/multi-task-learning-example writes it (``multi-task-learning-example-pytorch.ipynb``),
size-reduced.

The idioms, GradNorm: the toy regression data (``np.random.normal(scale=10, size=...)``,
``sigmas[i] * np.tanh((B + epsilons[i]).dot(x))``); ``RegressionModel`` with task heads made by
``setattr(self, 'task_{}'.format(i), layer)``, ``torch.stack(outs, dim=1)`` and
``get_last_shared_layer``; ``RegressionTrain`` holding ``self.weights = torch.nn.Parameter(
torch.ones(model.n_tasks).float())`` and a ``torch.stack`` of per-task ``MSELoss``; the loop:
``torch.mul(model.weights, task_loss)``, ``initial_task_loss = task_loss.data.numpy()`` at
``t == 0``, ``loss.backward(retain_graph=True)``, ``model.weights.grad.data =
model.weights.grad.data * 0.0``, ``torch.autograd.grad(task_loss[i], W.parameters(),
retain_graph=True)`` over a generator, ``torch.norm(torch.mul(model.weights[i], gygw[0]))``, the
inverse training rate in NumPy (``task_loss.data.numpy() / initial_task_loss``,
``np.mean(norms.data.numpy())``), ``constant_term = torch.tensor(mean_norm * (inverse_train_rate
** args.alpha), requires_grad=False)``, ``model.weights.grad = torch.autograd.grad(
grad_norm_loss, model.weights)[0]``, then the renormalisation ``model.weights.data =
model.weights.data * normalize_coeff``. Uncertainty weighting: ``log_var_a =
torch.zeros((1,), requires_grad=True)`` leaves kept outside the module and handed to ``optim.Adam``
as ``[p for p in model.parameters()] + [log_var_a] + [log_var_b]``; the ``criterion`` loop
(``precision = torch.exp(-log_vars[i])``, ``loss += torch.sum(precision * diff + log_vars[i],
-1)``, ``torch.mean(loss)``) and the learnt ``torch.exp(log_var_a)**0.5`` deviations.

Changed: 250 -> 6 inputs, 100 -> 5 hidden units and outputs, 100 -> 12 samples, 2 tasks with
sigmas 1 and 10, 5 GradNorm iterations (alpha 0.12) and 5 uncertainty-weighting steps, data from
a seeded NumPy generator instead of the global NumPy state.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, N_HID, N_OUT, N_SAMPLES, N_TASKS = 6, 5, 5, 12, 2


def make_model(torch_like: Any) -> Any:
    torch, F = torch_like, torch_like.nn.functional

    class RegressionModel(torch.nn.Module):
        def __init__(self, n_tasks: int) -> None:
            super().__init__()
            self.n_tasks = n_tasks
            self.l1 = torch.nn.Linear(N_IN, N_HID)
            torch.nn.init.xavier_uniform_(self.l1.weight)
            self.l2 = torch.nn.Linear(N_HID, N_HID)
            torch.nn.init.xavier_uniform_(self.l2.weight)
            self.l3 = torch.nn.Linear(N_HID, N_HID)
            torch.nn.init.xavier_uniform_(self.l3.weight)
            for i in range(self.n_tasks):
                layer = torch.nn.Linear(N_HID, N_OUT)
                setattr(self, "task_{}".format(i), layer)  # noqa: UP032 (the original's form)

        def forward(self, x: Any) -> Any:
            h = F.relu(self.l1(x))
            h = F.relu(self.l2(h))
            h = F.relu(self.l3(h))
            outs = []
            for i in range(self.n_tasks):
                layer = getattr(self, "task_{}".format(i))  # noqa: UP032
                outs.append(layer(h))
            return torch.stack(outs, dim=1)

        def get_last_shared_layer(self) -> Any:
            return self.l3

    class RegressionTrain(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model
            self.weights = torch.nn.Parameter(torch.ones(model.n_tasks).float())
            self.mse_loss = torch.nn.MSELoss()

        def forward(self, x: Any, ts: Any) -> Any:
            B, n_tasks = ts.shape[:2]
            ys = self.model(x)
            assert B == ys.shape[0]
            assert n_tasks == ys.shape[1]
            task_loss = []
            for i in range(n_tasks):
                task_loss.append(self.mse_loss(ys[:, i, :], ts[:, i, :]))
            task_loss = torch.stack(task_loss)
            return task_loss

        def get_last_shared_layer(self) -> Any:
            return self.model.get_last_shared_layer()

    return RegressionTrain(RegressionModel(N_TASKS))


def _toy_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    B = rng.normal(scale=10, size=(N_OUT, N_IN))
    epsilons = rng.normal(scale=3.5, size=(N_TASKS, N_OUT, N_IN))
    sigmas = [1.0, 10.0]
    x = rng.uniform(0, 1, (N_SAMPLES, N_IN))
    ys = np.zeros((N_SAMPLES, N_TASKS, N_OUT))
    for i in range(N_TASKS):
        ys[:, i, :] = sigmas[i] * np.tanh((B + epsilons[i]).dot(x.T)).T
    return x, ys


def _gradnorm(torch_like: Any, init: dict, X: Any, ts: Any) -> list[float]:
    torch = torch_like
    args = SimpleNamespace(mode="grad_norm", alpha=0.12, lr=0.01)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    n_tasks = N_TASKS
    values: list[float] = []
    model.train()
    for t in range(5):
        task_loss = model(X, ts)
        weighted_task_loss = torch.mul(model.weights, task_loss)
        if t == 0:
            initial_task_loss = task_loss.data
            initial_task_loss = initial_task_loss.numpy()
        loss = torch.sum(weighted_task_loss)
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        model.weights.grad.data = model.weights.grad.data * 0.0
        if args.mode == "grad_norm":
            W = model.get_last_shared_layer()
            norms = []
            for i in range(len(task_loss)):
                gygw = torch.autograd.grad(task_loss[i], W.parameters(), retain_graph=True)
                norms.append(torch.norm(torch.mul(model.weights[i], gygw[0])))
            norms = torch.stack(norms)
            loss_ratio = task_loss.data.numpy() / initial_task_loss
            inverse_train_rate = loss_ratio / np.mean(loss_ratio)
            mean_norm = np.mean(norms.data.numpy())
            constant_term = torch.tensor(
                mean_norm * (inverse_train_rate**args.alpha), requires_grad=False
            )
            grad_norm_loss = torch.sum(torch.abs(norms - constant_term))
            model.weights.grad = torch.autograd.grad(grad_norm_loss, model.weights)[0]
        optimizer.step()
        normalize_coeff = n_tasks / torch.sum(model.weights.data, dim=0)
        model.weights.data = model.weights.data * normalize_coeff
        values += task_loss.data.numpy().tolist()
        values += model.weights.data.tolist()
        values += [grad_norm_loss.item(), loss.item()]
    return values


def _uncertainty(torch_like: Any, init: dict, X: Any, ts: Any) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim

    def criterion(y_pred: list, y_true: list, log_vars: list) -> Any:
        loss = 0
        for i in range(len(y_pred)):
            precision = torch.exp(-log_vars[i])
            diff = (y_pred[i] - y_true[i]) ** 2.0
            loss += torch.sum(precision * diff + log_vars[i], -1)
        return torch.mean(loss)

    model = make_model(torch_like).model
    load_numpy_state(torch_like, model, {k[6:]: v for k, v in init.items() if k != "weights"})
    log_var_a = torch.zeros((1,), requires_grad=True)
    log_var_b = torch.zeros((1,), requires_grad=True)
    params = [p for p in model.parameters()] + [log_var_a] + [log_var_b]
    optimizer = optim.Adam(params, lr=0.05)
    values: list[float] = []
    for _ in range(5):
        out = model(X)
        loss = criterion([out[:, 0], out[:, 1]], [ts[:, 0], ts[:, 1]], [log_var_a, log_var_b])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        std_1 = torch.exp(log_var_a) ** 0.5
        std_2 = torch.exp(log_var_b) ** 0.5
        values += [loss.item(), std_1.item(), std_2.item()]
    assert isinstance(log_var_a, torch.Tensor) and not isinstance(log_var_a, nn.Parameter)
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    x, ys = _toy_data(np.random.default_rng(17))
    X, ts = as_tensor(torch_like, x), as_tensor(torch_like, ys)
    return _gradnorm(torch_like, init, X, ts) + _uncertainty(torch_like, init, X, ts)
