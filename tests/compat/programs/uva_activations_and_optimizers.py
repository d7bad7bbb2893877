"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 3, "Activation Functions", and Tutorial 4, "Optimization and
Initialization", size-reduced.

Tutorial 3's idioms: the ``ActivationFunction(nn.Module)`` base with ``self.name =
self.__class__.__name__`` and a ``self.config`` dict, the hand-written ``Sigmoid`` (``1 / (1 +
torch.exp(-x))``), ``Tanh`` (``x_exp, neg_x_exp = torch.exp(x), torch.exp(-x)``), ``ReLU`` (``x *
(x > 0).float()``), ``LeakyReLU`` (``torch.where(x > 0, x, self.config["alpha"] * x)``), ``ELU``
and ``Swish``; ``get_grads`` (``x.clone().requires_grad_()``, ``out.sum().backward()``,
``x.grad``) over ``torch.linspace(-5, 5, 1000)``; ``BaseNetwork`` (``layers += [nn.Linear(...),
act_fn]`` sharing one activation module, ``nn.Sequential(*layers)``, ``x.view(x.size(0), -1)``);
``save_model``/``load_model`` (``json.dump`` of the config, ``torch.save(model.state_dict(),
model_file)``, ``config_dict["act_fn"].pop("name").lower()``, ``act_fn_by_name[...](
**config_dict.pop("act_fn"))``, ``net.load_state_dict(torch.load(model_file,
map_location=device))``); ``visualize_gradients`` (``{name: params.grad.data.view(-1).cpu()
.clone().numpy() for name, params in net.named_parameters() if "weight" in name}``);
``visualize_activations`` over ``enumerate(net.layers[:-1])``; ``train_model`` (``optim.SGD(...,
lr=1e-2, momentum=0.9)``, ``true_preds += (preds.argmax(dim=-1) == labels).sum()`` -- a float
turned tensor -- ``train_acc = true_preds / count``, best-epoch checkpointing with patience) and
``test_model``; ``@torch.no_grad() measure_number_dead_neurons``
(``torch.ones(layer.weight.shape[0],
device=device, dtype=torch.bool)``, ``torch.logical_and(neurons_dead[layer_index], (imgs ==
0).all(dim=0))``, ``f"{(100.0 * num_dead / tens.shape[0]):4.2f}%"``).

Tutorial 4's: the init functions over ``model.named_parameters()`` (``const_init``'s
``param.data.fill_``, ``constant_variance_init``'s ``param.data.normal_(std=std)``,
``equal_var_init``'s ``normal_(std=1.0/math.sqrt(param.shape[1]))`` after
``name.endswith(".bias")``, ``xavier_init``'s ``uniform_(-bound, bound)``, ``kaiming_init``'s
``name.startswith("layers.0")``), the activation-variance printout (``np.var``), the
``OptimizerTemplate`` (``p.grad.detach_()``, ``p.grad.zero_()``, ``@torch.no_grad() step``) with
``SGD``, ``SGDMomentum`` (a ``{p: torch.zeros_like(p.data) for p in self.params}`` dict keyed by
parameters) and ``Adam`` (``self.beta2 ** self.param_step[p]``, ``torch.sqrt(p_2nd_mom)``,
``p.add_(p_update)``), compared against ``torch.optim.Adam``; and ``train_curve`` on the
pathological curvature and the Gaussian-bumps surface (``nn.Parameter(torch.FloatTensor(init),
requires_grad=True)``, ``torch.cat([weights.data.detach(), loss.unsqueeze(dim=0).detach()],
dim=0)``, ``torch.stack(list_points, dim=0).numpy()``, ``bivar_gaussian`` with ``np.pi``).

Changed: FashionMNIST becomes fixed NumPy 6x6 "images" of 4 classes in a ``TensorDataset``
(``shuffle=False``: the two frameworks' shuffling streams differ); hidden sizes [512, 256, 256,
128] -> [12, 10, 8]; 50 epochs -> 3; curve runs 100 -> 12 updates. The random init functions
run for real, but as their draws differ between frameworks, only their statistics are checked
(inside the program); training starts from shared NumPy weights drawn with the Kaiming scales.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

DTYPE = "float32"
RTOL, ATOL = 2e-5, 1e-6
INPUT, HIDDEN, CLASSES = 36, [12, 10, 8], 4


def init_state(tmp_path: Path) -> dict:
    rng = np.random.default_rng(3)
    sizes = [INPUT] + HIDDEN + [CLASSES]
    state = {}
    for i in range(len(sizes) - 1):
        fan_in = sizes[i]
        gain = 1.0 if i == 0 else math.sqrt(2)
        state[f"layers.{2 * i}.weight"] = (
            rng.standard_normal((sizes[i + 1], fan_in)) * gain / math.sqrt(fan_in)
        ).astype(np.float32)
        state[f"layers.{2 * i}.bias"] = np.zeros(sizes[i + 1], np.float32)
    labels = rng.integers(0, CLASSES, 48)
    imgs = 0.3 * rng.standard_normal((48, 1, 6, 6))
    for k, c in enumerate(labels):
        imgs[k, 0, c, :] += 1.0  # the class is a bright row
    imgs = ((imgs - 0.5) / 0.5).astype(np.float32)  # transforms.Normalize((0.5,), (0.5,))
    return {
        "state": state,
        "imgs": imgs,
        "labels": labels,
        "checkpoint_path": str(tmp_path / "saved_models" / "tutorial3"),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    data = torch_like.utils.data
    device = torch.device("cpu")
    CHECKPOINT_PATH = init["checkpoint_path"]
    values: list[float] = []

    # ---------------------------------------------------------------- Tutorial 3
    class ActivationFunction(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.name = self.__class__.__name__
            self.config = {"name": self.name}

    class Sigmoid(ActivationFunction):
        def forward(self, x: Any) -> Any:
            return 1 / (1 + torch.exp(-x))

    class Tanh(ActivationFunction):
        def forward(self, x: Any) -> Any:
            x_exp, neg_x_exp = torch.exp(x), torch.exp(-x)
            return (x_exp - neg_x_exp) / (x_exp + neg_x_exp)

    class ReLU(ActivationFunction):
        def forward(self, x: Any) -> Any:
            return x * (x > 0).float()

    class LeakyReLU(ActivationFunction):
        def __init__(self, alpha: float = 0.1) -> None:
            super().__init__()
            self.config["alpha"] = alpha

        def forward(self, x: Any) -> Any:
            return torch.where(x > 0, x, self.config["alpha"] * x)

    class ELU(ActivationFunction):
        def forward(self, x: Any) -> Any:
            return torch.where(x > 0, x, torch.exp(x) - 1)

    class Swish(ActivationFunction):
        def forward(self, x: Any) -> Any:
            return x * torch.sigmoid(x)

    act_fn_by_name = {
        "sigmoid": Sigmoid,
        "tanh": Tanh,
        "relu": ReLU,
        "leakyrelu": LeakyReLU,
        "elu": ELU,
        "swish": Swish,
    }

    def get_grads(act_fn: Any, x: Any) -> Any:
        x = (
            x.clone().requires_grad_()
        )  # Mark the input as tensor for which we want to store gradients
        out = act_fn(x)
        out.sum().backward()  # Summing results in an equal gradient flow to each element in x
        return x.grad  # Accessing the gradients of x by "x.grad"

    x = torch.linspace(-5, 5, 1000)  # Range on which we want to visualize the activation functions
    for name in act_fn_by_name:
        act_fn = act_fn_by_name[name]()
        y = act_fn(x)
        y_grads = get_grads(act_fn, x)
        x_np, y_np, y_grads_np = x.cpu().numpy(), y.cpu().numpy(), y_grads.cpu().numpy()
        values.extend([float(y_np[::250].sum()), float(y_grads_np[[0, 499, 500, 999]].sum())])
        values.append(float(x_np[1] - x_np[0]))

    class BaseNetwork(nn.Module):
        def __init__(
            self,
            act_fn: Any,
            input_size: int = 784,
            num_classes: int = 10,
            hidden_sizes: list[int] = [512, 256, 256, 128],  # noqa: B006 (as in the tutorial)
        ) -> None:
            """
            Args:
                act_fn: Object of the activation function that should be used as non-linearity
                    in the network.
                input_size: Size of the input images in pixels
                num_classes: Number of classes we want to predict
                hidden_sizes: A list of integers specifying the hidden layer sizes in the NN
            """
            super().__init__()

            # Create the network based on the specified hidden sizes
            layers = []
            layer_sizes = [input_size] + hidden_sizes
            for layer_index in range(1, len(layer_sizes)):
                layers += [
                    nn.Linear(layer_sizes[layer_index - 1], layer_sizes[layer_index]),
                    act_fn,
                ]
            layers += [nn.Linear(layer_sizes[-1], num_classes)]
            # A module list registers a list of modules as submodules (e.g. for parameters)
            self.layers = nn.Sequential(*layers)

            self.config = {
                "act_fn": act_fn.config,
                "input_size": input_size,
                "num_classes": num_classes,
                "hidden_sizes": hidden_sizes,
            }

        def forward(self, x: Any) -> Any:
            x = x.view(x.size(0), -1)
            out = self.layers(x)
            return out

    def _get_config_file(model_path: str, model_name: str) -> str:
        # Name of the file for storing hyperparameter details
        return os.path.join(model_path, model_name + ".config")

    def _get_model_file(model_path: str, model_name: str) -> str:
        # Name of the file for storing network parameters
        return os.path.join(model_path, model_name + ".tar")

    def load_model(model_path: str, model_name: str, net: Any = None) -> Any:
        config_file, model_file = (
            _get_config_file(model_path, model_name),
            _get_model_file(model_path, model_name),
        )
        assert os.path.isfile(config_file), f'Could not find the config file "{config_file}".'
        assert os.path.isfile(model_file), f'Could not find the model file "{model_file}".'
        with open(config_file) as f:
            config_dict = json.load(f)
        if net is None:
            act_fn_name = config_dict["act_fn"].pop("name").lower()
            act_fn = act_fn_by_name[act_fn_name](**config_dict.pop("act_fn"))
            net = BaseNetwork(act_fn=act_fn, **config_dict)
        net.load_state_dict(torch.load(model_file, map_location=device))
        return net

    def save_model(model: Any, model_path: str, model_name: str) -> None:
        config_dict = model.config
        os.makedirs(model_path, exist_ok=True)
        config_file, model_file = (
            _get_config_file(model_path, model_name),
            _get_model_file(model_path, model_name),
        )
        with open(config_file, "w") as f:
            json.dump(config_dict, f)
        torch.save(model.state_dict(), model_file)

    imgs_all = torch.from_numpy(init["imgs"])
    labels_all = torch.from_numpy(init["labels"])
    train_set = data.TensorDataset(imgs_all[:32], labels_all[:32])
    val_set = data.TensorDataset(imgs_all[32:40], labels_all[32:40])
    test_set = data.TensorDataset(imgs_all[40:], labels_all[40:])
    train_loader = data.DataLoader(train_set, batch_size=8, shuffle=False, drop_last=False)
    val_loader = data.DataLoader(val_set, batch_size=8, shuffle=False, drop_last=False)
    test_loader = data.DataLoader(test_set, batch_size=8, shuffle=False, drop_last=False)

    def new_net(act_fn: Any) -> Any:
        net = BaseNetwork(
            act_fn=act_fn, input_size=INPUT, num_classes=CLASSES, hidden_sizes=list(HIDDEN)
        ).to(device)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in init["state"].items()})
        return net

    def visualize_gradients(net: Any) -> dict:
        net.eval()
        small_loader = data.DataLoader(train_set, batch_size=16, shuffle=False)
        imgs, labels = next(iter(small_loader))
        imgs, labels = imgs.to(device), labels.to(device)

        # Pass one batch through the network, and calculate the gradients for the weights
        net.zero_grad()
        preds = net(imgs)
        loss = F.cross_entropy(preds, labels)
        loss.backward()
        # We limit our visualization to the weight parameters and exclude the bias to reduce the
        # number of plots
        grads = {
            name: params.grad.data.view(-1).cpu().clone().numpy()
            for name, params in net.named_parameters()
            if "weight" in name
        }
        net.zero_grad()
        return grads

    def visualize_activations(net: Any) -> dict:
        activations = {}

        net.eval()
        small_loader = data.DataLoader(train_set, batch_size=32)
        imgs, labels = next(iter(small_loader))
        with torch.no_grad():
            layer_index = 0
            imgs = imgs.to(device)
            imgs = imgs.view(imgs.size(0), -1)
            # We need to manually loop through the layers to save all activations
            for layer_index, layer in enumerate(net.layers[:-1]):
                imgs = layer(imgs)
                activations[layer_index] = imgs.view(-1).cpu().numpy()
        return activations

    def test_model(net: Any, data_loader: Any) -> float:
        net.eval()
        true_preds, count = 0.0, 0
        for imgs, labels in data_loader:
            imgs, labels = imgs.to(device), labels.to(device)
            with torch.no_grad():
                preds = net(imgs).argmax(dim=-1)
                true_preds += (preds == labels).sum().item()
                count += labels.shape[0]
        test_acc = true_preds / count
        return test_acc

    def train_model(net: Any, model_name: str, max_epochs: int = 3, patience: int = 7) -> float:
        # Defining optimizer, loss and data loader
        optimizer = optim.SGD(
            net.parameters(), lr=1e-2, momentum=0.9
        )  # Default parameters, feel free to change
        loss_module = nn.CrossEntropyLoss()

        val_scores = []
        best_val_epoch = -1
        for epoch in range(max_epochs):
            ############
            # Training #
            ############
            net.train()
            true_preds, count = 0.0, 0
            for imgs, labels in train_loader:
                imgs, labels = imgs.to(device), labels.to(device)  # To GPU
                optimizer.zero_grad()  # Zero-grad can be placed anywhere before "loss.backward()"
                preds = net(imgs)
                loss = loss_module(preds, labels)
                loss.backward()
                optimizer.step()
                # Record statistics during training
                true_preds += (preds.argmax(dim=-1) == labels).sum()
                count += labels.shape[0]
                values.append(loss.item())
            train_acc = true_preds / count
            values.append(train_acc.item())

            ##############
            # Validation #
            ##############
            val_acc = test_model(net, val_loader)
            val_scores.append(val_acc)
            line = (
                f"[Epoch {epoch + 1:2d}] Training accuracy: {train_acc * 100.0:05.2f}%, "
                f"Validation accuracy: {val_acc * 100.0:05.2f}%"
            )
            assert line.startswith(f"[Epoch {epoch + 1:2d}] Training accuracy: ")

            if len(val_scores) == 1 or val_acc > val_scores[best_val_epoch]:
                save_model(net, CHECKPOINT_PATH, model_name)
                best_val_epoch = epoch
            elif best_val_epoch <= epoch - patience:
                break

        # Load best model after training
        load_model(CHECKPOINT_PATH, model_name, net=net)
        test_acc = test_model(net, test_loader)
        return test_acc

    @torch.no_grad()
    def measure_number_dead_neurons(net: Any) -> list[float]:
        # For each neuron, we create a boolean variable initially set to 1. If it has an activation
        # unequals 0 at any time,
        # we set this variable to 0. After running through the whole training set, only dead neurons
        # will have a 1.
        neurons_dead = [
            torch.ones(layer.weight.shape[0], device=device, dtype=torch.bool)
            for layer in net.layers[:-1]
            if isinstance(layer, nn.Linear)
        ]  # Same shapes as hidden size in BaseNetwork

        net.eval()
        for imgs, _labels in train_loader:  # Run through whole training set
            layer_index = 0
            imgs = imgs.to(device)
            imgs = imgs.view(imgs.size(0), -1)
            for layer in net.layers[:-1]:
                imgs = layer(imgs)
                if isinstance(layer, ActivationFunction):
                    # Are all activations == 0 in the batch, and we did not record the opposite in
                    # the last batches?
                    neurons_dead[layer_index] = torch.logical_and(
                        neurons_dead[layer_index], (imgs == 0).all(dim=0)
                    )
                    layer_index += 1
        number_neurons_dead = [t.sum().item() for t in neurons_dead]
        printed = [
            f"{(100.0 * num_dead / tens.shape[0]):4.2f}%"
            for tens, num_dead in zip(neurons_dead, number_neurons_dead, strict=True)
        ]
        assert all(p.endswith("%") for p in printed)
        return number_neurons_dead

    for act_fn_name in ["sigmoid", "relu", "leakyrelu", "swish"]:
        act_fn = act_fn_by_name[act_fn_name]()
        net_actfn = new_net(act_fn)
        grads = visualize_gradients(net_actfn)
        values.extend(float(np.abs(g).mean()) for g in grads.values())
        activations = visualize_activations(net_actfn)
        values.extend(float(np.var(a)) for a in activations.values())
        values.append(train_model(net_actfn, f"FashionMNIST_{act_fn_name}"))
        values.extend(measure_number_dead_neurons(net_actfn))

    # load a saved model from its config alone (the act_fn is rebuilt from the JSON)
    restored = load_model(CHECKPOINT_PATH, "FashionMNIST_leakyrelu")
    assert isinstance(restored.layers[1], LeakyReLU) and restored.layers[1].config["alpha"] == 0.1
    assert restored.layers[1] is restored.layers[3]  # one activation module, shared
    values.append(test_model(restored, test_loader))

    # ---------------------------------------------------------------- Tutorial 4
    model = BaseNetwork(
        act_fn=Tanh(), input_size=INPUT, num_classes=CLASSES, hidden_sizes=[64, 64]
    ).to(device)

    def const_init(model: Any, fill: float = 0.0) -> None:
        for _name, param in model.named_parameters():
            param.data.fill_(fill)

    def constant_variance_init(model: Any, std: float = 0.01) -> None:
        for _name, param in model.named_parameters():
            param.data.normal_(std=std)

    def equal_var_init(model: Any) -> None:
        for name, param in model.named_parameters():
            if name.endswith(".bias"):
                param.data.fill_(0)
            else:
                param.data.normal_(std=1.0 / math.sqrt(param.shape[1]))

    def xavier_init(model: Any) -> None:
        for name, param in model.named_parameters():
            if name.endswith(".bias"):
                param.data.fill_(0)
            else:
                bound = math.sqrt(6) / math.sqrt(param.shape[0] + param.shape[1])
                param.data.uniform_(-bound, bound)

    def kaiming_init(model: Any) -> None:
        for name, param in model.named_parameters():
            if name.endswith(".bias"):
                param.data.fill_(0)
            elif name.startswith(
                "layers.0"
            ):  # The first layer does not have ReLU applied on its input
                param.data.normal_(0, 1 / math.sqrt(param.shape[1]))
            else:
                param.data.normal_(0, math.sqrt(2) / math.sqrt(param.shape[1]))

    const_init(model, fill=0.005)
    values.append(model.layers[2].weight.sum().item())
    for init_fn, expected_std in [
        (lambda m: constant_variance_init(m, std=0.01), 0.01),
        (equal_var_init, 1 / 8),
        (xavier_init, math.sqrt(2 / 128)),
        (kaiming_init, math.sqrt(2) / 8),
    ]:
        init_fn(model)
        std = model.layers[2].weight.std().item()  # 4096 draws: within a few percent
        assert abs(std / expected_std - 1) < 0.1, (std, expected_std)

    # the activation variances on shared weights (the Kaiming draws of init_state)
    net = new_net(ReLU())
    imgs, _labels = next(iter(data.DataLoader(train_set, batch_size=32)))
    feats = imgs.view(imgs.shape[0], -1)
    activations = {}
    with torch.no_grad():
        for layer_index, layer in enumerate(net.layers):
            feats = layer(feats)
            if isinstance(layer, nn.Linear):
                activations[f"Layer {layer_index}"] = feats.view(-1).detach().cpu().numpy()
    for key in sorted(activations.keys()):
        line = f"{key} - Variance: {np.var(activations[key])}"
        values.append(float(np.var(activations[key])))
        assert line.startswith(key)

    class OptimizerTemplate:
        def __init__(self, params: Any, lr: float) -> None:
            self.params = list(params)
            self.lr = lr

        def zero_grad(self) -> None:
            # Set gradients of all parameters to zero
            for p in self.params:
                if p.grad is not None:
                    p.grad.detach_()  # For second-order optimizers important
                    p.grad.zero_()

        @torch.no_grad()
        def step(self) -> None:
            # Apply update step to all parameters
            for p in self.params:
                if p.grad is None:  # We skip parameters without any gradients
                    continue
                self.update_param(p)

        def update_param(self, p: Any) -> None:
            # To be implemented in optimizer-specific classes
            raise NotImplementedError

    class SGD(OptimizerTemplate):
        def __init__(self, params: Any, lr: float) -> None:
            super().__init__(params, lr)

        def update_param(self, p: Any) -> None:
            p_update = -self.lr * p.grad
            p.add_(
                p_update
            )  # In-place update => saves memory and does not create computation graph

    class SGDMomentum(OptimizerTemplate):
        def __init__(self, params: Any, lr: float, momentum: float = 0.0) -> None:
            super().__init__(params, lr)
            self.momentum = momentum  # Corresponds to beta_1 in the equations above
            self.param_momentum = {
                p: torch.zeros_like(p.data) for p in self.params
            }  # Dict to store m_t

        def update_param(self, p: Any) -> None:
            self.param_momentum[p] = (1 - self.momentum) * p.grad + self.momentum * (
                self.param_momentum[p]
            )
            p_update = -self.lr * self.param_momentum[p]
            p.add_(p_update)

    class Adam(OptimizerTemplate):
        def __init__(
            self,
            params: Any,
            lr: float,
            beta1: float = 0.9,
            beta2: float = 0.999,
            eps: float = 1e-8,
        ) -> None:
            super().__init__(params, lr)
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.param_step = {
                p: 0 for p in self.params
            }  # Remembers "t" for each parameter for bias correction
            self.param_momentum = {p: torch.zeros_like(p.data) for p in self.params}
            self.param_2nd_momentum = {p: torch.zeros_like(p.data) for p in self.params}

        def update_param(self, p: Any) -> None:
            self.param_step[p] += 1

            self.param_momentum[p] = (1 - self.beta1) * p.grad + self.beta1 * self.param_momentum[p]
            self.param_2nd_momentum[p] = (1 - self.beta2) * (p.grad) ** 2 + self.beta2 * (
                self.param_2nd_momentum[p]
            )

            bias_correction_1 = 1 - self.beta1 ** self.param_step[p]
            bias_correction_2 = 1 - self.beta2 ** self.param_step[p]

            p_2nd_mom = self.param_2nd_momentum[p] / bias_correction_2
            p_mom = self.param_momentum[p] / bias_correction_1
            p_lr = self.lr / (torch.sqrt(p_2nd_mom) + self.eps)
            p_update = -p_lr * p_mom

            p.add_(p_update)

    # the hand-written Adam against torch.optim.Adam on the same network and batches
    nets = [new_net(ReLU()), new_net(ReLU())]
    optimizers = [Adam(nets[0].parameters(), lr=1e-2), optim.Adam(nets[1].parameters(), lr=1e-2)]
    for imgs, labels in train_loader:
        for net, optimizer in zip(nets, optimizers, strict=True):
            optimizer.zero_grad()
            loss = F.cross_entropy(net(imgs), labels)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
    for p_own, p_ref in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.allclose(p_own, p_ref, rtol=1e-4, atol=1e-6)

    def pathological_curve_loss(w1: Any, w2: Any) -> Any:
        # Example of a pathological curvature. There are many more possible, feel free to experiment
        # here!
        x1_loss = torch.tanh(w1) ** 2 + 0.01 * torch.abs(w1)
        x2_loss = torch.sigmoid(w2)
        return x1_loss + x2_loss

    def train_curve(
        optimizer_func: Any,
        curve_func: Any = pathological_curve_loss,
        num_updates: int = 12,
        init: list[float] = [5, 5],  # noqa: B006 (as in the tutorial)
    ) -> np.ndarray:
        """
        Inputs:
            optimizer_func - Constructor of the optimizer to use. Should only take a parameter list
            curve_func - Loss function (e.g. pathological curvature)
            num_updates - Number of updates/steps to take when optimizing
            init - Initial values of parameters. Must be a list/tuple with two elements
                   representing w_1 and w_2
        Outputs:
            Numpy array of shape [num_updates, 3] with [t,:2] being the parameter values
            at step t, and [t,2] the loss at t.
        """
        weights = nn.Parameter(torch.FloatTensor(init), requires_grad=True)
        optimizer = optimizer_func([weights])

        list_points = []
        for _ in range(num_updates):
            loss = curve_func(weights[0], weights[1])
            list_points.append(
                torch.cat([weights.data.detach(), loss.unsqueeze(dim=0).detach()], dim=0)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        points = torch.stack(list_points, dim=0).numpy()
        return points

    SGD_points = train_curve(lambda params: SGD(params, lr=10))
    SGDMom_points = train_curve(lambda params: SGDMomentum(params, lr=10, momentum=0.9))
    Adam_points = train_curve(lambda params: Adam(params, lr=1))
    for points in (SGD_points, SGDMom_points, Adam_points):
        values.extend(points[-1].tolist())
        values.append(float(points[:, 2].min()))

    def bivar_gaussian(
        w1: Any,
        w2: Any,
        x_mean: float = 0.0,
        y_mean: float = 0.0,
        x_sig: float = 1.0,
        y_sig: float = 1.0,
    ) -> Any:
        norm = 1 / (2 * np.pi * x_sig * y_sig)
        x_exp = (-1 * (w1 - x_mean) ** 2) / (2 * x_sig**2)
        y_exp = (-1 * (w2 - y_mean) ** 2) / (2 * y_sig**2)
        return norm * torch.exp(x_exp + y_exp)

    def comb_func(w1: Any, w2: Any) -> Any:
        z = -bivar_gaussian(w1, w2, x_mean=1.0, y_mean=-0.5, x_sig=0.2, y_sig=0.2)
        z -= bivar_gaussian(w1, w2, x_mean=-1.0, y_mean=0.5, x_sig=0.2, y_sig=0.2)
        z -= bivar_gaussian(w1, w2, x_mean=-0.5, y_mean=-0.8, x_sig=0.2, y_sig=0.2)
        return z

    for points in (
        train_curve(lambda params: SGD(params, lr=0.5), comb_func, init=[0, 0]),
        train_curve(
            lambda params: SGDMomentum(params, lr=0.5, momentum=0.9), comb_func, init=[0, 0]
        ),
        train_curve(lambda params: Adam(params, lr=0.2), comb_func, init=[0, 0]),
    ):
        values.extend(points[-1].tolist())
    return values
