"""The PyTorch "Pruning Tutorial" (``intermediate/pruning_tutorial``), size-reduced: the tutorial's
``LeNet`` (``conv1``/``conv2``/``fc1``/``fc2``/``fc3``, ``F.max_pool2d(F.relu(...), (2, 2))``,
``x.view(-1, int(x.nelement() / x.shape[0]))``); ``import torch.nn.utils.prune as prune``;
``prune.random_unstructured(module, name="weight", amount=0.3)`` (checked through the number of
pruned entries only: which ones is a random draw) and the re-parametrisation it leaves
(``named_parameters()`` holding ``weight_orig``, ``named_buffers()`` holding ``weight_mask``,
``module.weight`` recomputed by a ``_forward_pre_hooks`` entry); ``prune.l1_unstructured(module,
name="bias", amount=3)`` (2 here, of 3 biases); iterative pruning with
``prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)`` and the
``PruningContainer`` history read from ``module._forward_pre_hooks``;
``model.state_dict().keys()``; ``prune.remove(module, 'weight')``; pruning many parameters in a
loop over ``model.named_modules()`` with ``isinstance(module, torch.nn.Conv2d)``;
``prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
amount=0.2)`` and the tutorial's sparsity report (``100. * float(torch.sum(model.conv1.weight ==
0)) / float(model.conv1.weight.nelement())``); the custom
``FooBarPruningMethod(prune.BasePruningMethod)`` (``PRUNING_TYPE = 'unstructured'``,
``compute_mask`` with ``default_mask.clone()`` and ``mask.view(-1)[::2] = 0``,
``FooBarPruningMethod.apply(module, name)``). Then, as pruning recipes continue, a few
fine-tuning steps of the pruned network with SGD, which must keep the pruned weights at zero.
The tutorial reads the pruning container from ``module._forward_pre_hooks.values()`` (an
OrderedDict keyed by handle id in both frameworks).

Changed: the 1x32x32 input -> 1x12x12 (``fc1`` sized to match), 6/16 channels -> 3/4, fully
connected 120/84 -> 10/8; the fine-tuning data are seeded NumPy arrays.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class LeNet(nn.Module):
        def __init__(self) -> None:
            super(LeNet, self).__init__()  # noqa: UP008 (as in the tutorial)
            # 1 input image channel, 3 output channels, 3x3 square conv kernel
            self.conv1 = nn.Conv2d(1, 3, 3)
            self.conv2 = nn.Conv2d(3, 4, 3)
            self.fc1 = nn.Linear(4 * 1 * 1, 10)  # 1x1 image dimension
            self.fc2 = nn.Linear(10, 8)
            self.fc3 = nn.Linear(8, 10)

        def forward(self, x: Any) -> Any:
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return LeNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    prune = importlib.import_module(f"{torch_like.__name__}.nn.utils.prune")
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = []

    module = model.conv1
    values.append(float(len(list(module.named_parameters()))))
    prune.random_unstructured(module, name="weight", amount=0.3)
    names = sorted(n for n, _ in module.named_parameters())
    values += [float(names == ["bias", "weight_orig"]), float(len(list(module.named_buffers())))]
    values.append(float(torch.sum(module.weight_mask == 0)))  # round(0.3 * 27) = 8
    values.append(float(len(module._forward_pre_hooks)))
    values.append(float((module.weight == module.weight_orig * module.weight_mask).all()))

    prune.l1_unstructured(module, name="bias", amount=2)
    values += module.bias_mask.tolist() + module.bias.tolist()

    # iterative pruning
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    values.append(float(torch.sum(module.weight_mask.sum(dim=(1, 2, 3)) == 0)))
    for hook in module._forward_pre_hooks.values():
        if hook._tensor_name == "weight":  # select out the correct hook
            break
    values.append(float(len(list(hook))))  # pruning history in the container
    values.append(float(len(model.state_dict().keys())))

    # remove pruning re-parametrization
    prune.remove(module, "weight")
    values.append(float(len(list(module.named_buffers()))))
    values.append(float(prune.is_pruned(model)))

    # pruning multiple parameters in a model
    new_model = make_model(torch_like)
    if init is not None:
        new_model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    for name, module in new_model.named_modules():  # noqa: B007 (as in the tutorial)
        # prune 20% of connections in all 2D-conv layers
        if isinstance(module, torch.nn.Conv2d):
            prune.l1_unstructured(module, name="weight", amount=0.2)
        # prune 40% of connections in all linear layers
        elif isinstance(module, torch.nn.Linear):
            prune.l1_unstructured(module, name="weight", amount=0.4)
    values.append(float(len(dict(new_model.named_buffers()).keys())))

    # global pruning
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    parameters_to_prune = (
        (model.conv1, "weight"),
        (model.conv2, "weight"),
        (model.fc1, "weight"),
        (model.fc2, "weight"),
        (model.fc3, "weight"),
    )
    prune.global_unstructured(
        parameters_to_prune,
        pruning_method=prune.L1Unstructured,
        amount=0.2,
    )
    for layer in (model.conv1, model.conv2, model.fc1, model.fc2, model.fc3):
        values.append(100.0 * float(torch.sum(layer.weight == 0)) / float(layer.weight.nelement()))

    # extending torch.nn.utils.prune with custom pruning functions
    class FooBarPruningMethod(prune.BasePruningMethod):
        """Prune every other entry in a tensor"""

        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t: Any, default_mask: Any) -> Any:
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    def foobar_unstructured(module: Any, name: str) -> Any:
        FooBarPruningMethod.apply(module, name)
        return module

    foobar_unstructured(model.fc3, name="bias")
    values += model.fc3.bias_mask.tolist()

    # fine-tune the globally pruned network: pruned weights stay at zero
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.random((6, 1, 12, 12)))
    y = torch.tensor(rng.integers(0, 10, size=6))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _step in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values.append(float(torch.sum(model.fc1.weight == 0)))
    values.append(float(torch.sum(model.fc1.weight_orig.grad * (1 - model.fc1.weight_mask)).abs()))
    return values
