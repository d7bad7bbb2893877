"""Synaptic Intelligence and Memory Aware Synapses, the parameter-importance regularisers of
continual learning, as GMvandeVen/continual-learning writes SI (``models/cl/continual_learner.py``:
``register_starting_param_values``, ``prepare_importance_estimates_dicts``,
``update_importance_estimates``, ``update_omega``, ``surrogate_loss``; the training loop of
``train/train_task_based.py``) and ContinualAI/avalanche writes MAS
(``avalanche/training/plugins/mas.py``: ``_get_importance``, ``before_backward``,
``after_training_exp``), size-reduced to an MLP on three domain-incremental tasks.

The idioms: a ``ContinualLearner(nn.Module, metaclass=abc.ABCMeta)`` base with ``self.param_list
= [self.named_parameters]``; buffers registered (and re-registered under the same name) at run
time, ``self.register_buffer('{}_SI_prev_task'.format(n), p.detach().clone())`` (an f-string
here) with ``n =
n.replace('.', '__')``, read back with ``getattr`` and the ``except AttributeError`` fallbacks
(``omega = p.detach().clone().zero_()``, ``torch.tensor(0., device=self._device())``);
``W[n] = p.data.clone().zero_()``, ``W[n].add_(-p.grad*(p.detach()-p_old[n]))`` after every
optimizer step, ``omega_add = W[n]/(p_change**2 + epsilon)``; the ``surrogate_loss`` ``sum`` of
``(omega * (p-prev_values)**2).sum()``, ``self._device()`` as ``next(self.parameters()).device``;
the model's ``state_dict`` carrying those buffers into a fresh model. MAS:
``torch.norm(out, p="fro", dim=1).pow(2).mean()`` backpropagated for the importance,
``importance[name].data += param.grad.abs()`` and the ``/ len(dataloader)`` average over a
``DataLoader``, the ``torch.sum(self.importance[name] * (param -
self.params[name].expand(param.shape)).pow(2))`` penalty added to the loss, and the ``self.alpha
* self.importance[name].expand(new_shape) + (1 - self.alpha) * curr_importance[name].data``
running update.

Changed: permuted/split MNIST -> three 6-feature NumPy tasks (a fixed input permutation each),
``fc_units`` 400 -> 8, 2000 iterations -> 3 per task; Avalanche's ``ParamData`` holders are
plain tensors and its strategy callbacks are called from a small loop.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, HIDDEN, CLASSES, TASKS, ITERS, BATCH = 6, 8, 3, 3, 3, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ContinualLearner(nn.Module, metaclass=abc.ABCMeta):
        """Abstract module to add continual learning capabilities to a classifier."""

        def __init__(self) -> None:
            super().__init__()
            # SI:
            # -> hyperparam: how strong to weigh SI-loss ("regularisation strength")
            self.si_c = 0.1
            # -> dampening parameter: bounds 'omega' when squared parameter-change goes to 0
            self.epsilon = 0.1

        def _device(self) -> Any:
            return next(self.parameters()).device

        def register_starting_param_values(self) -> None:
            """Register the starting parameter values into the model as a buffer."""
            for gen_params in self.param_list:
                for n, p in gen_params():
                    if p.requires_grad:
                        n = n.replace(".", "__")
                        self.register_buffer(f"{n}_SI_prev_task", p.detach().clone())

        def prepare_importance_estimates_dicts(self) -> tuple[dict, dict]:
            """Prepare <dicts> to store running importance estimates and param-values before
            update."""
            W = {}
            p_old = {}
            for gen_params in self.param_list:
                for n, p in gen_params():
                    if p.requires_grad:
                        n = n.replace(".", "__")
                        W[n] = p.data.clone().zero_()
                        p_old[n] = p.data.clone()
            return W, p_old

        def update_importance_estimates(self, W: dict, p_old: dict) -> None:
            """Update the running parameter importance estimates in W."""
            for gen_params in self.param_list:
                for n, p in gen_params():
                    if p.requires_grad:
                        n = n.replace(".", "__")
                        if p.grad is not None:
                            W[n].add_(-p.grad * (p.detach() - p_old[n]))
                        p_old[n] = p.detach().clone()

        def update_omega(self, W: dict, epsilon: float) -> None:
            """After completing training on a context, update the per-parameter regularization
            strength."""
            for gen_params in self.param_list:
                for n, p in gen_params():
                    if p.requires_grad:
                        n = n.replace(".", "__")
                        # Find/calculate new values for quadratic penalty on parameters
                        p_prev = getattr(self, f"{n}_SI_prev_task")
                        p_current = p.detach().clone()
                        p_change = p_current - p_prev
                        omega_add = W[n] / (p_change**2 + epsilon)
                        try:
                            omega = getattr(self, f"{n}_SI_omega")
                        except AttributeError:
                            omega = p.detach().clone().zero_()
                        omega_new = omega + omega_add
                        # Store these new values in the model
                        self.register_buffer(f"{n}_SI_prev_task", p_current)
                        self.register_buffer(f"{n}_SI_omega", omega_new)

        def surrogate_loss(self) -> Any:
            """Calculate SI's surrogate loss."""
            try:
                losses = []
                for gen_params in self.param_list:
                    for n, p in gen_params():
                        if p.requires_grad:
                            # Retrieve previous parameter values and their normalized path
                            # integral (i.e., omega)
                            n = n.replace(".", "__")
                            prev_values = getattr(self, f"{n}_SI_prev_task")
                            omega = getattr(self, f"{n}_SI_omega")
                            # Calculate SI's surrogate loss, sum over all parameters
                            losses.append((omega * (p - prev_values) ** 2).sum())
                return sum(losses)
            except AttributeError:
                # SI-loss is 0 if there is no stored omega yet
                return torch.tensor(0.0, device=self._device())

    class Classifier(ContinualLearner):
        def __init__(self) -> None:
            super().__init__()
            self.fcE = nn.Sequential(nn.Linear(N_IN, HIDDEN), nn.ReLU())
            self.classifier = nn.Linear(HIDDEN, CLASSES)
            self.param_list = [self.named_parameters]

        def forward(self, x: Any) -> Any:
            return self.classifier(self.fcE(x))

    return Classifier()


def _tasks(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    base_x = rng.normal(size=(ITERS * BATCH, N_IN))
    base_y = (base_x[:, 0] > 0).astype(np.int64) + (base_x[:, 1] > 0.5)
    return [(base_x[:, rng.permutation(N_IN)], base_y) for _ in range(TASKS)]


class MASPlugin:
    def __init__(self, torch: Any, lambda_reg: float = 1.0, alpha: float = 0.5) -> None:
        self.torch, self._lambda, self.alpha = torch, lambda_reg, alpha
        self.params: dict | None = None
        self.importance: dict | None = None

    def _get_importance(self, model: Any, optimizer: Any, dataset: Any) -> dict:
        torch = self.torch
        # Initialize importance matrix
        importance = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
        # Do forward and backward pass to accumulate L2-loss gradients
        model.train()
        dataloader = torch.utils.data.DataLoader(dataset, batch_size=BATCH)
        for _, batch in enumerate(dataloader):
            # Get batch
            x = batch[0]
            # Forward pass
            optimizer.zero_grad()
            out = model(x)
            # Average L2-Norm of the output
            loss = torch.norm(out, p="fro", dim=1).pow(2).mean()
            loss.backward()
            # Accumulate importance
            for name, param in model.named_parameters():
                if param.requires_grad:
                    # In multi-head architectures, the gradient is going
                    # to be None for all the heads different from the
                    # current one.
                    if param.grad is not None:
                        importance[name].data += param.grad.abs()
        # Normalize importance
        importance = {name: importance[name] / len(dataloader) for name in importance.keys()}
        return importance

    def before_backward(self, model: Any, exp_counter: int) -> Any:
        if exp_counter == 0:
            return 0.0
        loss_reg = 0.0
        for name, param in model.named_parameters():
            if name in self.importance.keys():
                loss_reg += self.torch.sum(
                    self.importance[name] * (param - self.params[name].expand(param.shape)).pow(2)
                )
        return self._lambda * loss_reg

    def after_training_exp(self, model: Any, optimizer: Any, dataset: Any) -> None:
        self.params = {n: p.detach().clone() for n, p in model.named_parameters()}
        if self.importance is None:
            self.importance = self._get_importance(model, optimizer, dataset)
            return
        curr_importance = self._get_importance(model, optimizer, dataset)
        for name in self.importance.keys():
            new_shape = curr_importance[name].data.shape
            self.importance[name] = (
                self.alpha * self.importance[name].expand(new_shape)
                + (1 - self.alpha) * curr_importance[name].data
            )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    tasks = _tasks(np.random.default_rng(11))
    values: list[float] = []

    # SI, GMvandeVen's train loop
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.999))
    model.register_starting_param_values()
    for task_x, task_y in tasks:
        W, p_old = model.prepare_importance_estimates_dicts()
        for it in range(ITERS):
            x = as_tensor(torch, task_x[it * BATCH : (it + 1) * BATCH])
            y = as_tensor(torch, task_y[it * BATCH : (it + 1) * BATCH])
            model.train()
            optimizer.zero_grad()
            y_hat = model(x)
            loss_cur = F.cross_entropy(input=y_hat, target=y, reduction="mean")
            loss_si = model.surrogate_loss()
            loss_total = loss_cur + model.si_c * loss_si
            loss_total.backward()
            optimizer.step()
            model.update_importance_estimates(W, p_old)
            values += [loss_total.item(), loss_si.item()]
        model.update_omega(W, model.epsilon)
    # the buffers travel with the state dict
    state = model.state_dict()
    values.append(float(len(state)))
    fresh = make_model(torch_like)
    fresh.register_starting_param_values()
    fresh.update_omega(
        {n.replace(".", "__"): torch.zeros_like(p) for n, p in fresh.named_parameters()}, 1.0
    )
    fresh.load_state_dict(state)
    values.append(fresh.surrogate_loss().item())
    values.append(sum(b.sum().item() for n, b in fresh.named_buffers() if "omega" in n))

    # MAS, Avalanche's plugin callbacks
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    plugin = MASPlugin(torch_like, lambda_reg=1.0, alpha=0.5)
    for exp_counter, (task_x, task_y) in enumerate(tasks):
        dataset = torch.utils.data.TensorDataset(as_tensor(torch, task_x), as_tensor(torch, task_y))
        for x, y in torch.utils.data.DataLoader(dataset, batch_size=BATCH):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss = loss + plugin.before_backward(model, exp_counter)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        plugin.after_training_exp(model, optimizer, dataset)
        values.append(sum(v.sum().item() for v in plugin.importance.values()))
    return values
