"""PyTorch's meta-device recipes, size-reduced: "Reasoning about Shapes in PyTorch"
(``recipes/recipes/reasoning_about_shapes``), "Tips for Loading an nn.Module from a Checkpoint"
(``recipes/recipes/module_load_state_dict_tips``) and "Changing default device"
(``recipes/recipes/changing_default_device``), then a few training steps on the loaded model.

The idioms: ``torch.rand(2, 3, 10, 10, device="meta")`` through ``torch.nn.Conv2d(3, 5, 2,
device="meta")`` (an output with a shape and no data); the recipe's CIFAR ``Net`` built inside
``with torch.device("meta"):`` together with ``inp = torch.randn((1024, 3, 32, 32))``, and
``fw_hook(module, input, output)`` registered on every ``net.named_modules()`` layer to read
``output.shape``; ``torch.save(m.state_dict(), 'checkpoint.pth')``, ``torch.load(
'checkpoint.pth', mmap=True, weights_only=True)``, ``with torch.device('meta'): meta_m =
SomeModule(1000)`` and ``meta_m.load_state_dict(state_dict, assign=True)`` (parameters replaced
by the loaded tensors, ``is_meta`` gone); ``module.to_empty(device="cpu")`` followed by a
``load_state_dict``; ``torch.set_default_device('cpu')`` / ``torch.get_default_device()`` and
``with torch.device('cpu'):`` (and ``set_default_device(None)`` to undo it); ``optim.SGD``
steps on the assigned parameters.

Changed: 32x32 images and widths 6/16/120/84 -> 12x12 and 3/4/12/8; ``SomeModule(1000)`` ->
``SomeModule(6)``; a 1024 batch -> 4; the checkpoint goes to ``tmp_path``; three SGD steps
added so the loaded weights are used.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 3, 3)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(3, 4, 2)
            self.fc1 = nn.Linear(4 * 2 * 2, 12)
            self.fc2 = nn.Linear(12, 8)
            self.fc3 = nn.Linear(8, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    class SomeModule(torch.nn.Module):
        def __init__(self, size: int) -> None:
            super().__init__()
            self.linears = nn.ModuleList([nn.Linear(size, size) for i in range(10)])

        def forward(self, x: Any) -> Any:
            return self.linears(x)

    return Net, SomeModule


def init_state(tmp_path: Any) -> dict:
    import torch

    torch.manual_seed(0)
    Net, SomeModule = _classes(torch)
    out = {"dir": str(tmp_path)}
    out.update({f"net.{k}": v.numpy().copy() for k, v in Net().state_dict().items()})
    out.update({f"some.{k}": v.numpy().copy() for k, v in SomeModule(6).state_dict().items()})
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    Net, SomeModule = _classes(torch_like)
    values: list[float] = []

    # Reasoning about shapes
    t = torch.rand(2, 3, 10, 10, device="meta")
    conv = torch.nn.Conv2d(3, 5, 2, device="meta")
    out = conv(t)
    assert out.is_meta and out.device.type == "meta"
    values += [float(s) for s in out.shape]

    shapes: list[Any] = []

    def fw_hook(module: Any, input: Any, output: Any) -> None:
        shapes.append(output.shape)

    with torch.device("meta"):
        net = Net()
        inp = torch.randn((4, 3, 12, 12))
    for name, layer in net.named_modules():  # noqa: B007
        layer.register_forward_hook(fw_hook)
    out = net(inp)
    values += [float(d) for s in shapes for d in s]

    # Tips for loading an nn.Module from a checkpoint
    m = SomeModule(6)
    m.load_state_dict({k[5:]: torch.tensor(v) for k, v in init.items() if k.startswith("some.")})
    path = os.path.join(init["dir"], f"checkpoint_{torch_like.__name__}.pth")
    torch.save(m.state_dict(), path)
    state_dict = torch.load(path, mmap=True, weights_only=True)
    with torch.device("meta"):
        meta_m = SomeModule(6)
    assert all(p.is_meta for p in meta_m.parameters())
    meta_m.load_state_dict(state_dict, assign=True)
    assert not any(p.is_meta for p in meta_m.parameters())

    # materialising a meta model with to_empty, then loading real weights
    with torch.device("meta"):
        net = Net()
    net.to_empty(device="cpu")
    net.load_state_dict({k[4:]: torch.tensor(v) for k, v in init.items() if k.startswith("net.")})

    # Changing default device
    torch.set_default_device("cpu")
    assert str(torch.get_default_device()) == "cpu"
    with torch.device("cpu"):
        mod = torch.nn.Linear(6, 10)
    assert mod.weight.device.type == "cpu"
    torch.set_default_device(None)  # undo the global setting for the rest of the process
    mod.load_state_dict({"weight": meta_m.linears[0].weight.detach().repeat(2, 1)[:10],
                         "bias": meta_m.linears[0].bias.detach().repeat(2)[:10]})  # fmt: skip

    params = list(net.parameters()) + list(meta_m.parameters()) + list(mod.parameters())
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = as_tensor(torch_like, rng.standard_normal((4, 3, 12, 12)))
        y = as_tensor(torch_like, rng.integers(0, 10, 4))
        h = as_tensor(torch_like, rng.standard_normal((4, 6)))
        for lin in meta_m.linears:
            h = torch.tanh(lin(h))
        loss = F.cross_entropy(net(x) + mod(h), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return values
