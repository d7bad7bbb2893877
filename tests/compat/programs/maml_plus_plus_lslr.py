"""MAML++ as AntreasAntoniou/HowToTrainYourMAMLPytorch writes it
(``few_shot_learning_system.py``'s ``MAMLFewShotClassifier``, ``inner_loop_optimizers.py``'s
``LSLRGradientDescentLearningRule``, ``meta_neural_network_architectures.py``'s
``MetaLinearLayer``/``MetaBatchNormLayer``/``extract_top_level_dict``), size-reduced.

The idioms kept: per-layer, per-step learnable inner learning rates in an ``nn.ParameterDict``
keyed ``key.replace(".", "-")`` (``torch.ones(total_num_inner_loop_steps + 1) *
init_learning_rate``) and ``update_params``'s ``names_weights_dict[key] -
self.names_learning_rates_dict[key.replace(".", "-")][num_step] * grads[key]``; the multi-step
loss importance vector (``np.maximum``/``np.minimum`` annealing, ``torch.Tensor(loss_weights)``)
and ``task_losses.append(per_step_loss_importance_vectors[num_step] * target_loss)``;
``get_inner_loop_parameter_dict`` (``"norm_layer" not in name``); the fast weights
``value.unsqueeze(0).repeat([num_devices] + [1 for i in range(len(value.shape))])`` and back
``value[0]`` (in ``apply_inner_loop_update`` and ``forward``), ``torch.autograd.grad(loss,
names_weights_copy.values(), create_graph=use_second_order, allow_unused=True)`` and
``.sum(dim=0)`` of each gradient; first order before ``first_order_to_second_order_epoch``;
the model's ``zero_grad(params=...)`` override; ``extract_top_level_dict``;
``MetaLinearLayer`` (``nn.init.xavier_uniform_``, ``F.linear(input=x, weight=weight,
bias=bias)``); ``MetaBatchNormLayer`` with per-step
statistics (``nn.Parameter(torch.zeros(num_steps, num_features), requires_grad=False)`` read as
``self.running_mean[num_step]`` by ``F.batch_norm(..., training=True, momentum=...)``, per-step
``weight[num_step]``/``bias[num_step]``, the backup ``self.backup_running_mean.data =
copy(self.running_mean.data)`` and ``restore_backup_stats``' ``nn.Parameter(
self.backup_running_mean.to(device=device), requires_grad=False)``); ``torch.max(
target_preds.data, 1)``, ``predicted.float().eq(y.data.float())``,
``torch.sum(torch.stack(task_losses))``, ``torch.mean(torch.stack(total_losses))``; Adam over
``trainable_parameters()`` (``if param.requires_grad: yield param``) with
``CosineAnnealingLR(optimizer=..., T_max=..., eta_min=...)``.

Changed: the VGG of four meta conv blocks is two meta linear blocks (linear -> per-step batch
norm -> ReLU) and a meta linear head on 6-number NumPy features; 5-way 1-shot -> 3-way 2-shot
with 3 targets per class, 2 tasks per batch, 5 inner steps -> 2; an "epoch" is one iteration
(4 iterations: multi-step loss in the first 3, second order from the 2nd); the model's
``zero_grad(params=...)`` reads ``.grad`` of non-leaf fast weights, which warns (PyTorch's
non-leaf ``.grad`` UserWarning): the call is made under ``warnings.catch_warnings(record=
True)`` and the number of warnings is returned with the losses; its ``print(param.grad)`` is
dropped.
"""

from __future__ import annotations

import warnings
from copy import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

WAY, SHOT, TARGET, TASKS, FEATS, HID, STEPS = 3, 2, 3, 2, 6, 5, 2


def extract_top_level_dict(current_dict):
    output_dict = dict()
    for key in current_dict.keys():
        name = key.replace("layer_dict.", "")
        top_level = name.split(".")[0]
        sub_level = ".".join(name.split(".")[1:])
        if top_level not in output_dict:
            if sub_level == "":
                output_dict[top_level] = current_dict[key]
            else:
                output_dict[top_level] = {sub_level: current_dict[key]}
        else:
            new_item = {key: value for key, value in output_dict[top_level].items()}
            new_item[sub_level] = current_dict[key]
            output_dict[top_level] = new_item
    return output_dict


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class MetaLinearLayer(nn.Module):
        def __init__(self, in_features, num_filters, use_bias=True):
            super().__init__()
            self.use_bias = use_bias
            self.weights = nn.Parameter(torch.ones(num_filters, in_features))
            nn.init.xavier_uniform_(self.weights)
            if self.use_bias:
                self.bias = nn.Parameter(torch.zeros(num_filters))

        def forward(self, x, params=None):
            if params is not None:
                params = extract_top_level_dict(current_dict=params)
                (weight, bias) = params["weights"], params["bias"]
            else:
                weight, bias = self.weights, self.bias
            out = F.linear(input=x, weight=weight, bias=bias)
            return out

    class MetaBatchNormLayer(nn.Module):
        def __init__(self, num_features, eps=1e-5, momentum=0.1):
            super().__init__()
            self.num_features, self.eps, self.momentum = num_features, eps, momentum
            self.running_mean = nn.Parameter(torch.zeros(STEPS, num_features), requires_grad=False)
            self.running_var = nn.Parameter(torch.ones(STEPS, num_features), requires_grad=False)
            self.bias = nn.Parameter(torch.zeros(STEPS, num_features), requires_grad=True)
            self.weight = nn.Parameter(torch.ones(STEPS, num_features), requires_grad=True)
            self.backup_running_mean = torch.zeros(self.running_mean.shape)
            self.backup_running_var = torch.ones(self.running_var.shape)

        def forward(self, input, num_step, params=None, training=False,
                    backup_running_statistics=False):  # fmt: skip
            if params is not None:
                params = extract_top_level_dict(current_dict=params)
                (weight, bias) = params["weight"], params["bias"]
            else:
                weight, bias = self.weight, self.bias
            running_mean = self.running_mean[num_step]
            running_var = self.running_var[num_step]
            if params is None:
                bias = self.bias[num_step]
                weight = self.weight[num_step]
            momentum = self.momentum
            if backup_running_statistics:
                self.backup_running_mean.data = copy(self.running_mean.data)
                self.backup_running_var.data = copy(self.running_var.data)
            output = F.batch_norm(input, running_mean, running_var, weight, bias,
                                  training=True, momentum=momentum, eps=self.eps)  # fmt: skip
            return output

        def restore_backup_stats(self):
            device = self.running_mean.device
            self.running_mean = nn.Parameter(
                self.backup_running_mean.to(device=device), requires_grad=False
            )
            self.running_var = nn.Parameter(
                self.backup_running_var.to(device=device), requires_grad=False
            )

    class MetaMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer_dict = nn.ModuleDict()
            in_f = FEATS
            for i in range(2):
                self.layer_dict[f"linear{i}"] = MetaLinearLayer(in_f, HID)
                self.layer_dict[f"norm_layer{i}"] = MetaBatchNormLayer(HID)
                in_f = HID
            self.layer_dict["linear"] = MetaLinearLayer(HID, WAY)

        def forward(self, x, num_step, params=None, training=False,
                    backup_running_statistics=False):  # fmt: skip
            param_dict = dict()
            if params is not None:
                params = {key: value[0] for key, value in params.items()}
                param_dict = extract_top_level_dict(current_dict=params)
            for name in self.layer_dict.keys():
                if name not in param_dict:
                    param_dict[name] = None
            out = x
            for i in range(2):
                out = self.layer_dict[f"linear{i}"](out, params=param_dict[f"linear{i}"])
                out = self.layer_dict[f"norm_layer{i}"](
                    out, num_step=num_step, params=None, training=training,
                    backup_running_statistics=backup_running_statistics,
                )  # fmt: skip
                out = F.relu(out)
            return self.layer_dict["linear"](out, param_dict["linear"])

        def zero_grad(self, params=None):
            if params is None:
                for param in self.parameters():
                    if param.requires_grad == True:  # noqa: E712
                        if param.grad is not None:
                            if torch.sum(param.grad) > 0:
                                param.grad.zero_()
            else:
                for name, param in params.items():
                    if param.requires_grad == True:  # noqa: E712
                        if param.grad is not None:
                            if torch.sum(param.grad) > 0:
                                param.grad.zero_()
                                params[name].grad = None

        def restore_backup_stats(self):
            for i in range(2):
                self.layer_dict[f"norm_layer{i}"].restore_backup_stats()

    class LSLRGradientDescentLearningRule(nn.Module):
        def __init__(self, total_num_inner_loop_steps, init_learning_rate=1e-1):
            super().__init__()
            self.init_learning_rate = torch.ones(1) * init_learning_rate
            self.total_num_inner_loop_steps = total_num_inner_loop_steps

        def initialise(self, names_weights_dict):
            self.names_learning_rates_dict = nn.ParameterDict()
            for key, _param in names_weights_dict.items():
                self.names_learning_rates_dict[key.replace(".", "-")] = nn.Parameter(
                    data=torch.ones(self.total_num_inner_loop_steps + 1) * self.init_learning_rate,
                    requires_grad=True,
                )

        def update_params(self, names_weights_dict, names_grads_wrt_params_dict, num_step):
            return {
                key: names_weights_dict[key]
                - self.names_learning_rates_dict[key.replace(".", "-")][num_step]
                * names_grads_wrt_params_dict[key]
                for key in names_grads_wrt_params_dict.keys()
            }

    class MAMLFewShotClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = MetaMLP()
            self.inner_loop_optimizer = LSLRGradientDescentLearningRule(STEPS, 0.4)
            names_weights_copy = self.get_inner_loop_parameter_dict(
                self.classifier.named_parameters()
            )
            self.inner_loop_optimizer.initialise(names_weights_dict=names_weights_copy)

        def get_inner_loop_parameter_dict(self, params):
            param_dict = dict()
            for name, param in params:
                if param.requires_grad:
                    if "norm_layer" not in name:
                        param_dict[name] = param
            return param_dict

        def trainable_parameters(self):
            for param in self.parameters():
                if param.requires_grad:
                    yield param

    return MAMLFewShotClassifier()


def get_per_step_loss_importance_vector(torch: Any, current_epoch: int, msl_epochs: int) -> Any:
    loss_weights = np.ones(shape=(STEPS)) * (1.0 / STEPS)
    decay_rate = 1.0 / STEPS / msl_epochs
    min_value_for_non_final_losses = 0.03 / STEPS
    for i in range(len(loss_weights) - 1):
        curr_value = np.maximum(
            loss_weights[i] - (current_epoch * decay_rate), min_value_for_non_final_losses
        )
        loss_weights[i] = curr_value
    curr_value = np.minimum(
        loss_weights[-1] + (current_epoch * (STEPS - 1) * decay_rate),
        1.0 - ((STEPS - 1) * min_value_for_non_final_losses),
    )
    loss_weights[-1] = curr_value
    loss_weights = torch.Tensor(loss_weights)
    return loss_weights


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    system = make_model(torch_like)
    load_numpy_state(torch_like, system, init)
    classifier = system.classifier
    optimizer = torch.optim.Adam(system.trainable_parameters(), lr=1e-2, amsgrad=False)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer=optimizer, T_max=4,
                                                           eta_min=1e-4)  # fmt: skip
    msl_epochs, first_order_to_second_order_epoch = 3, 0
    rng = np.random.default_rng(31)
    centers = rng.normal(size=(6, FEATS))
    out: list[float] = []

    def apply_inner_loop_update(loss, names_weights_copy, use_second_order, current_step_idx):
        with warnings.catch_warnings(record=True) as caught:  # see Changed
            warnings.simplefilter("always")
            classifier.zero_grad(params=names_weights_copy)
        out.append(len(caught))
        grads = torch.autograd.grad(loss, names_weights_copy.values(),
                                    create_graph=use_second_order, allow_unused=True)  # fmt: skip
        names_grads_copy = dict(zip(names_weights_copy.keys(), grads))
        names_weights_copy = {key: value[0] for key, value in names_weights_copy.items()}
        for key, _grad in names_grads_copy.items():
            names_grads_copy[key] = names_grads_copy[key].sum(dim=0)
        names_weights_copy = system.inner_loop_optimizer.update_params(
            names_weights_dict=names_weights_copy,
            names_grads_wrt_params_dict=names_grads_copy,
            num_step=current_step_idx,
        )
        num_devices = 1
        names_weights_copy = {
            name.replace("module.", ""): value.unsqueeze(0).repeat(
                [num_devices] + [1 for i in range(len(value.shape))]
            )
            for name, value in names_weights_copy.items()
        }
        return names_weights_copy

    for epoch in range(4):
        use_second_order = epoch > first_order_to_second_order_epoch
        per_step_loss_importance_vectors = get_per_step_loss_importance_vector(
            torch, epoch, msl_epochs
        )
        total_losses, total_accuracies = [], []
        for _task_id in range(TASKS):
            classes = rng.choice(6, WAY, replace=False)
            ys, yt = np.repeat(np.arange(WAY), SHOT), np.repeat(np.arange(WAY), TARGET)
            xs = centers[classes[ys]] + 0.6 * rng.normal(size=(len(ys), FEATS))
            xt = centers[classes[yt]] + 0.6 * rng.normal(size=(len(yt), FEATS))
            x_support_set_task, y_support_set_task = as_tensor(torch, xs), as_tensor(torch, ys)
            x_target_set_task, y_target_set_task = as_tensor(torch, xt), as_tensor(torch, yt)
            task_losses = []
            names_weights_copy = system.get_inner_loop_parameter_dict(classifier.named_parameters())
            num_devices = 1
            names_weights_copy = {
                name.replace("module.", ""): value.unsqueeze(0).repeat(
                    [num_devices] + [1 for i in range(len(value.shape))]
                )
                for name, value in names_weights_copy.items()
            }
            for num_step in range(STEPS):
                support_preds = classifier(
                    x_support_set_task, num_step, params=names_weights_copy, training=True,
                    backup_running_statistics=num_step == 0,
                )  # fmt: skip
                support_loss = F.cross_entropy(input=support_preds, target=y_support_set_task)
                names_weights_copy = apply_inner_loop_update(
                    support_loss, names_weights_copy, use_second_order, num_step
                )
                if epoch < msl_epochs:
                    target_preds = classifier(x_target_set_task, num_step,
                                              params=names_weights_copy, training=True)  # fmt: skip
                    target_loss = F.cross_entropy(input=target_preds, target=y_target_set_task)
                    task_losses.append(per_step_loss_importance_vectors[num_step] * target_loss)
                elif num_step == (STEPS - 1):
                    target_preds = classifier(x_target_set_task, num_step,
                                              params=names_weights_copy, training=True)  # fmt: skip
                    target_loss = F.cross_entropy(input=target_preds, target=y_target_set_task)
                    task_losses.append(target_loss)
            _, predicted = torch.max(target_preds.data, 1)
            accuracy = predicted.float().eq(y_target_set_task.data.float()).cpu().float()
            task_losses = torch.sum(torch.stack(task_losses))
            total_losses.append(task_losses)
            total_accuracies.extend(accuracy)
            classifier.restore_backup_stats()
        loss = torch.mean(torch.stack(total_losses))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        lrs = system.inner_loop_optimizer.names_learning_rates_dict
        out += [loss.item(), float(np.mean([a.item() for a in total_accuracies]))]
        out += [lrs["layer_dict-linear-weights"].sum().item()]
        out += [classifier.layer_dict["norm_layer0"].running_mean.sum().item()]
    return out
