"""Two gradient-based meta-learners for sine regression: CAVIA's context parameters
(lmzintgraf/cavia, ``regression/cavia_model.py``: ``CaviaModel``; ``regression/cavia.py``:
``run``) and Meta-SGD's learned per-parameter step sizes as learnables/learn2learn writes it
(``learn2learn/algorithms/meta_sgd.py``: ``meta_sgd_update``, ``MetaSGD``;
``algorithms/base_learner.py``: ``BaseLearner``; ``utils/__init__.py``: ``clone_module``,
``clone_parameters``), size-reduced.

Kept verbatim: ``CaviaModel``'s context parameters that are not registered
(``self.context_params = torch.zeros(self.num_context_params).to(self.device)`` then
``self.context_params.requires_grad = True``), ``torch.cat((x, self.context_params.expand(
x.shape[0], -1)), dim=1)``, the inner update ``torch.autograd.grad(task_loss,
model.context_params, create_graph=not args.first_order)[0]`` and ``model.context_params =
model.context_params - args.lr_inner * task_gradients``, the meta-gradient
``meta_gradient = [0 for _ in range(len(model.state_dict()))]`` accumulated from
``torch.autograd.grad(loss_meta, model.parameters())`` with ``task_grad[i].detach().clamp_(-10,
10)`` and assigned as ``param.grad = meta_gradient[i] / args.tasks_per_metaupdate`` before
``meta_optimiser.step()``; learn2learn's ``clone_module`` (``module.__new__(type(module))``,
``clone.__dict__ = module.__dict__.copy()``, copies of ``_parameters``/``_buffers``/
``_modules``, parameters re-written with ``param.clone()`` memoised by ``param.data_ptr``, the
``hasattr(clone, 'flatten_parameters')`` check), ``meta_sgd_update`` (``p.grad = g``, ``p._lr =
lr`` on cloned tensors, then ``model._parameters[param_key] = p - p._lr * p.grad``, recursing
through ``model._modules``), ``MetaSGD``'s ``nn.ParameterList([nn.Parameter(lr) for lr in
lrs])`` of ``th.ones_like(p) * lr``, ``clone()``/``adapt()`` with ``grad(loss,
self.module.parameters(), retain_graph=second_order, create_graph=second_order)``, and
``BaseLearner.__getattr__`` falling back to ``self.__dict__['_modules']['module']``; the
learn2learn sine loop's ``learner = meta.clone()``, ``eval_error.backward()`` per task and
``p.grad.data.mul_(1.0 / tasks_per_batch)``.

Changed: hidden layers 40x40 -> 8x8, 5 context parameters -> 2, 25 tasks per meta-update ->
3, 10 points per task -> 5, 3 meta-iterations of each method instead of 50000; the sine tasks
(amplitude 0.1-5, phase 0-pi) drawn with a seeded NumPy generator.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def _cavia_model(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class CaviaModel(nn.Module):
        """
        Feed-forward neural network with context parameters.
        """

        def __init__(self, n_in, n_out, num_context_params, n_hidden, device):  # noqa: ANN001
            super(CaviaModel, self).__init__()  # noqa: UP008

            self.device = device

            # fully connected layers
            self.fc_layers = nn.ModuleList()
            self.fc_layers.append(nn.Linear(n_in + num_context_params, n_hidden[0]))
            for k in range(len(n_hidden) - 1):
                self.fc_layers.append(nn.Linear(n_hidden[k], n_hidden[k + 1]))
            self.fc_layers.append(nn.Linear(n_hidden[-1], n_out))

            # context parameters (note that these are *not* registered parameters of the model!)
            self.num_context_params = num_context_params
            self.context_params = None
            self.reset_context_params()

        def reset_context_params(self):  # noqa: ANN201
            self.context_params = torch.zeros(self.num_context_params).to(self.device)
            self.context_params.requires_grad = True

        def forward(self, x):  # noqa: ANN001, ANN201
            # concatenate input with context parameters
            x = torch.cat((x, self.context_params.expand(x.shape[0], -1)), dim=1)

            for k in range(len(self.fc_layers) - 1):
                x = F.relu(self.fc_layers[k](x))
            y = self.fc_layers[-1](x)

            return y

    return CaviaModel


def make_model(torch_like: Any) -> Any:
    return _cavia_model(torch_like)(1, 1, 2, [8, 8], "cpu")


def _learn2learn(torch_like: Any) -> dict:
    torch = th = torch_like
    nn = torch.nn
    grad = torch.autograd.grad

    def clone_module(module, memo=None):  # noqa: ANN001, ANN202
        if memo is None:
            # Maps original data_ptr to the cloned tensor.
            # Useful when a Module uses parameters from another Module; see:
            # https://github.com/learnables/learn2learn/issues/174
            memo = {}

        # First, create a copy of the module.
        if not isinstance(module, torch.nn.Module):
            return module
        clone = module.__new__(type(module))
        clone.__dict__ = module.__dict__.copy()
        clone._parameters = clone._parameters.copy()
        clone._buffers = clone._buffers.copy()
        clone._modules = clone._modules.copy()

        # Second, re-write all parameters
        if hasattr(clone, "_parameters"):
            for param_key in module._parameters:
                if module._parameters[param_key] is not None:
                    param = module._parameters[param_key]
                    param_ptr = param.data_ptr
                    if param_ptr in memo:
                        clone._parameters[param_key] = memo[param_ptr]
                    else:
                        cloned = param.clone()
                        clone._parameters[param_key] = cloned
                        memo[param_ptr] = cloned

        # Third, handle the buffers if necessary
        if hasattr(clone, "_buffers"):
            for buffer_key in module._buffers:
                if (clone._buffers[buffer_key] is not None
                        and clone._buffers[buffer_key].requires_grad):  # fmt: skip
                    buff = module._buffers[buffer_key]
                    buff_ptr = buff.data_ptr
                    if buff_ptr in memo:
                        clone._buffers[buffer_key] = memo[buff_ptr]
                    else:
                        cloned = buff.clone()
                        clone._buffers[buffer_key] = cloned
                        memo[buff_ptr] = cloned

        # Then, recurse for each submodule
        if hasattr(clone, "_modules"):
            for module_key in clone._modules:
                clone._modules[module_key] = clone_module(
                    module._modules[module_key],
                    memo=memo,
                )

        # Finally, rebuild the flattened parameters for RNNs
        # See this issue for more details:
        # https://github.com/learnables/learn2learn/issues/139
        if hasattr(clone, "flatten_parameters"):
            clone = clone._apply(lambda x: x)
        return clone

    def clone_parameters(param_list):  # noqa: ANN001, ANN202
        return [p.clone() for p in param_list]

    def meta_sgd_update(model, lrs=None, grads=None):  # noqa: ANN001, ANN202
        if grads is not None and lrs is not None:
            for p, lr, g in zip(model.parameters(), lrs, grads):
                p.grad = g
                p._lr = lr

        # Update the params
        for param_key in model._parameters:
            p = model._parameters[param_key]
            if p is not None and p.grad is not None:
                model._parameters[param_key] = p - p._lr * p.grad
                p.grad = None
                p._lr = None

        # Second, handle the buffers if necessary
        for buffer_key in model._buffers:
            buff = model._buffers[buffer_key]
            if buff is not None and buff.grad is not None and buff._lr is not None:
                model._buffers[buffer_key] = buff - buff._lr * buff.grad
                buff.grad = None
                buff._lr = None

        # Then, recurse for each submodule
        for module_key in model._modules:
            model._modules[module_key] = meta_sgd_update(model._modules[module_key])
        return model

    class BaseLearner(nn.Module):
        def __init__(self, module=None):  # noqa: ANN001
            super(BaseLearner, self).__init__()  # noqa: UP008
            self.module = module

        def __getattr__(self, attr):  # noqa: ANN001, ANN204
            try:
                return super(BaseLearner, self).__getattr__(attr)  # noqa: UP008
            except AttributeError:
                return getattr(self.__dict__["_modules"]["module"], attr)

        def forward(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            return self.module(*args, **kwargs)

    class MetaSGD(BaseLearner):
        def __init__(self, model, lr=1.0, first_order=False, lrs=None):  # noqa: ANN001
            super(MetaSGD, self).__init__()  # noqa: UP008
            self.module = model
            if lrs is None:
                lrs = [th.ones_like(p) * lr for p in model.parameters()]
                lrs = nn.ParameterList([nn.Parameter(lr) for lr in lrs])
            self.lrs = lrs
            self.first_order = first_order

        def forward(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            return self.module(*args, **kwargs)

        def clone(self):  # noqa: ANN201
            return MetaSGD(clone_module(self.module),
                           lrs=clone_parameters(self.lrs),
                           first_order=self.first_order)  # fmt: skip

        def adapt(self, loss, first_order=None):  # noqa: ANN001, ANN201
            if first_order is None:
                first_order = self.first_order
            second_order = not first_order
            gradients = grad(loss,
                             self.module.parameters(),
                             retain_graph=second_order,
                             create_graph=second_order)  # fmt: skip
            self.module = meta_sgd_update(self.module, self.lrs, gradients)

    return locals()


def _tasks(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    return [(rng.uniform(0.1, 5.0), rng.uniform(0, np.pi)) for _ in range(n)]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    args = SimpleNamespace(n_iter=3, tasks_per_metaupdate=3, k_meta_train=5, k_meta_test=5,
                           num_inner_updates=2, lr_inner=1.0, lr_meta=0.001,
                           first_order=False)  # fmt: skip

    def sample_inputs(k):  # noqa: ANN001, ANN202
        return as_tensor(torch, rng.uniform(-5, 5, (k, 1)))

    def target(amplitude, phase):  # noqa: ANN001, ANN202
        return lambda x: amplitude * torch.sin(x - phase)

    # ---- CAVIA ----
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    meta_optimiser = optim.Adam(model.parameters(), args.lr_meta)
    values: list[float] = []
    for _i_iter in range(args.n_iter):
        # initialise meta-gradient
        meta_gradient = [0 for _ in range(len(model.state_dict()))]

        # sample tasks
        target_functions = [target(a, p) for a, p in _tasks(rng, args.tasks_per_metaupdate)]

        # --- inner loop ---
        meta_losses = []
        for t in range(args.tasks_per_metaupdate):
            # reset private network weights
            model.reset_context_params()

            # get data for current task
            train_inputs = sample_inputs(args.k_meta_train)

            for _ in range(args.num_inner_updates):
                # forward through model
                train_outputs = model(train_inputs)

                # get targets
                train_targets = target_functions[t](train_inputs)

                # ------------ update on current task ------------

                # compute loss for current task
                task_loss = F.mse_loss(train_outputs, train_targets)

                # compute gradient wrt context params
                task_gradients = torch.autograd.grad(
                    task_loss, model.context_params, create_graph=not args.first_order
                )[0]

                # update context params (this will set up the computation graph correctly)
                model.context_params = model.context_params - args.lr_inner * task_gradients

            # ------------ compute meta-gradient on test loss of current task ------------

            # get test data
            test_inputs = sample_inputs(args.k_meta_test)

            # get outputs after update
            test_outputs = model(test_inputs)

            # get the correct targets
            test_targets = target_functions[t](test_inputs)

            # compute loss after updating context (will backprop through inner loop)
            loss_meta = F.mse_loss(test_outputs, test_targets)
            meta_losses.append(loss_meta.item())

            # compute gradient + save for current task
            task_grad = torch.autograd.grad(loss_meta, model.parameters())

            for i in range(len(task_grad)):
                # clip the gradient
                meta_gradient[i] += task_grad[i].detach().clamp_(-10, 10)

        # ------------ meta update ------------

        # assign meta-gradient
        for i, param in enumerate(model.parameters()):
            param.grad = meta_gradient[i] / args.tasks_per_metaupdate

        # do update step on shared model
        meta_optimiser.step()

        # reset context params
        model.reset_context_params()
        values.append(float(np.mean(meta_losses)))

    # ---- Meta-SGD (learn2learn) ----
    l2l = _learn2learn(torch_like)
    torch.manual_seed(2)
    sine = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                               torch.nn.ReLU(), torch.nn.Linear(8, 1))  # fmt: skip
    meta = l2l["MetaSGD"](sine, lr=0.01, first_order=False)
    opt = optim.Adam(meta.parameters(), 0.005)
    lossfn = torch.nn.MSELoss(reduction="mean")
    tasks_per_batch, adaptation_steps = 3, 1
    for _iteration in range(3):
        iteration_error = 0.0
        opt.zero_grad()
        for amplitude, phase in _tasks(rng, tasks_per_batch):
            learner = meta.clone()
            X_adapt = sample_inputs(5)
            X_eval = sample_inputs(5)
            y_adapt = target(amplitude, phase)(X_adapt)
            y_eval = target(amplitude, phase)(X_eval)
            for _ in range(adaptation_steps):
                error = lossfn(learner(X_adapt), y_adapt)
                learner.adapt(error)
            eval_error = lossfn(learner(X_eval), y_eval)
            eval_error.backward()
            iteration_error += eval_error.item()
        # Average the accumulated gradients and optimize
        for p in meta.parameters():
            p.grad.data.mul_(1.0 / tasks_per_batch)
        opt.step()
        values.append(iteration_error / tasks_per_batch)
    values.append(float(sum(lr.detach().sum() for lr in meta.lrs)))
    values.append(float(len(list(meta.parameters()))))
    values.append(float(meta.first_order is False and meta.training))  # BaseLearner.__getattr__
    return values
