"""PyTorch's checkpoint recipes, size-reduced: "Saving and loading a general checkpoint in
PyTorch" (``recipes/recipes/saving_and_loading_a_general_checkpoint``), "Saving and loading
multiple models in one file" (``saving_multiple_models_in_one_file``), "Warmstarting model
using parameters from a different model" (``warmstarting_model_using_parameters_from_a_
different_model``) and the ``map_location`` idioms of "Saving and loading models across
devices".

The idioms: the recipes' ``Net`` (``conv1``/``pool``/``conv2``/``fc1..fc3``, ``x.view(-1, ...)``)
trained with ``optim.SGD(net.parameters(), lr=0.001, momentum=0.9)``; ``torch.save({'epoch':
EPOCH, 'model_state_dict': net.state_dict(), 'optimizer_state_dict': optimizer.state_dict(),
'loss': LOSS}, PATH)`` and ``checkpoint = torch.load(PATH, weights_only=True)`` into a fresh
model and optimizer (``model.load_state_dict``, ``optimizer.load_state_dict``,
``checkpoint['epoch']``, ``model.train()``), training continued exactly as the uninterrupted
run; two models and their optimizers in one file (``'modelA_state_dict'``,
``'optimizerB_state_dict'``, ...) read back and set to ``eval()``; warm-starting a ``NetB``
with an extra layer and a differently sized head from ``NetA``'s weights: ``load_state_dict(
..., strict=False)`` returning ``missing_keys``/``unexpected_keys`` (an ``_IncompatibleKeys``
named tuple), the ``RuntimeError`` ("size mismatch for fc3.weight") even with
``strict=False``, the usual workaround of filtering the pretrained dict by key and shape
(``model_dict.update(pretrained_dict)``), freezing the loaded layers
(``requires_grad_(False)``) and fine-tuning the rest; ``map_location=torch.device('cpu')``,
``map_location='cpu'``, ``map_location={'cuda:0': 'cpu'}`` and a callable; a state dict
saved to a ``io.BytesIO`` buffer; the momentum buffers in ``optimizer.state_dict()['state']``
and ``param_groups``' hyperparameters after loading; ``strict=True`` errors for missing and
unexpected keys.

Changed: 32x32 CIFAR images and widths 6/16/120/84 -> 3x12x12 images and widths 3/4/12/8; a
few steps on seeded NumPy batches instead of an epoch of CIFAR-10; lr 0.001 -> 0.05.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

STEPS = 6


def _nets(torch_like: Any) -> tuple[Any, Any]:
    nn, F = torch_like.nn, torch_like.nn.functional

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
            x = x.view(-1, 4 * 2 * 2)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    class NetB(Net):
        """The warm-started model: one more hidden layer and a 5-class head."""

        def __init__(self) -> None:
            super().__init__()
            self.fc3 = nn.Linear(8, 5)
            self.fc4 = nn.Linear(5, 5)

        def forward(self, x: Any) -> Any:
            return self.fc4(F.relu(super().forward(x)))

    return Net, NetB


def make_model(torch_like: Any) -> Any:
    return _nets(torch_like)[0]()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    Net, NetB = _nets(torch_like)
    rng = np.random.default_rng(2929)
    images = [as_tensor(torch, rng.standard_normal((4, 3, 12, 12))) for _ in range(STEPS)]
    labels = [torch.from_numpy(rng.integers(0, 10, 4)) for _ in range(STEPS)]
    criterion = nn.CrossEntropyLoss()
    values: list[float] = []

    def fresh() -> tuple[Any, Any]:
        net = Net()
        load_numpy_state(torch, net, init)
        return net, optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

    def new_net_b() -> Any:
        """A ``NetB`` whose (random) weights are set from seeded NumPy arrays."""
        net = NetB()
        init_rng = np.random.default_rng(5)
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(as_tensor(torch, 0.3 * init_rng.standard_normal(tuple(p.shape))))
        return net

    def train(net: Any, optimizer: Any, steps: range) -> list[float]:
        net.train()
        losses = []
        for i in steps:
            optimizer.zero_grad()
            loss = criterion(net(images[i]), labels[i])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    straight = train(*fresh(), range(STEPS))
    values += straight

    with tempfile.TemporaryDirectory() as tmp:
        # --- a general checkpoint, half-way
        net, optimizer = fresh()
        first = train(net, optimizer, range(STEPS // 2))
        EPOCH = STEPS // 2
        PATH = os.path.join(tmp, "model.pt")
        LOSS = first[-1]
        torch.save(
            {
                "epoch": EPOCH,
                "model_state_dict": net.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "loss": LOSS,
            },
            PATH,
        )

        model = Net()
        optimizer = optim.SGD(model.parameters(), lr=0.001, momentum=0.5)  # overwritten below
        checkpoint = torch.load(PATH, weights_only=True)
        model.load_state_dict(checkpoint["model_state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        epoch = checkpoint["epoch"]
        loss = checkpoint["loss"]
        values += [float(epoch), loss]
        group = optimizer.param_groups[0]
        values += [group["lr"], group["momentum"], float(group["nesterov"])]
        state = optimizer.state_dict()["state"]
        values += [float(len(state)), state[0]["momentum_buffer"].abs().sum().item()]

        model.train()
        resumed = train(model, optimizer, range(epoch, STEPS))
        values += [a - b for a, b in zip(first + resumed, straight)]

        # --- eval() after loading: the same outputs as the saved model's
        model.eval()
        with torch.no_grad():
            values += model(images[0])[0].tolist()

        # --- several models in one file
        netA, optimizerA = fresh()
        netB = Net()
        load_numpy_state(torch, netB, init)
        optimizerB = optim.SGD(netB.parameters(), lr=0.01, momentum=0.9)
        train(netA, optimizerA, range(2))
        train(netB, optimizerB, range(2, 4))
        torch.save(
            {
                "modelA_state_dict": netA.state_dict(),
                "modelB_state_dict": netB.state_dict(),
                "optimizerA_state_dict": optimizerA.state_dict(),
                "optimizerB_state_dict": optimizerB.state_dict(),
            },
            PATH,
        )
        modelA = Net()
        modelB = Net()
        optimModelA = optim.SGD(modelA.parameters(), lr=0.001, momentum=0.9)
        optimModelB = optim.SGD(modelB.parameters(), lr=0.001, momentum=0.9)

        checkpoint = torch.load(PATH, weights_only=True)
        modelA.load_state_dict(checkpoint["modelA_state_dict"])
        modelB.load_state_dict(checkpoint["modelB_state_dict"])
        optimModelA.load_state_dict(checkpoint["optimizerA_state_dict"])
        optimModelB.load_state_dict(checkpoint["optimizerB_state_dict"])

        modelA.eval()
        modelB.eval()
        values += [optimModelA.param_groups[0]["lr"], optimModelB.param_groups[0]["lr"]]
        with torch.no_grad():
            values += [modelA(images[5]).sum().item(), modelB(images[5]).sum().item()]
        values += [float(modelA.training), float(modelB.fc1.training)]

        # --- map_location forms
        for where in (
            torch.device("cpu"),
            "cpu",
            {"cuda:0": "cpu"},
            lambda storage, loc: storage,
        ):
            sd = torch.load(PATH, map_location=where, weights_only=True)["modelA_state_dict"]
            values.append(sd["fc2.bias"].sum().item())
            values.append(float(sd["fc2.bias"].device.type == "cpu"))

        # --- warm-starting a different model
        netA, _ = fresh()
        torch.save(netA.state_dict(), PATH)
        netB = new_net_b()
        try:
            netB.load_state_dict(torch.load(PATH, weights_only=True), strict=False)
            values.append(0.0)
        except RuntimeError as err:
            values.append(float("size mismatch for fc3.weight" in str(err)))

        pretrained_dict = torch.load(PATH, weights_only=True)
        model_dict = netB.state_dict()
        # 1. filter out unnecessary keys (and the head whose shape changed)
        pretrained_dict = {
            k: v
            for k, v in pretrained_dict.items()
            if k in model_dict and v.shape == model_dict[k].shape
        }
        values.append(float(len(pretrained_dict)))
        # 2. overwrite entries in the existing state dict
        model_dict.update(pretrained_dict)
        # 3. load the new state dict
        result = netB.load_state_dict(model_dict)
        values += [float(len(result.missing_keys)), float(len(result.unexpected_keys))]

        partial = {k: v for k, v in pretrained_dict.items() if not k.startswith("fc2")}
        partial["extra.weight"] = torch.zeros(1)
        missing, unexpected = NetB().load_state_dict(partial, strict=False)
        values += [float(len(missing)), float(len(unexpected))]
        expected_missing = ["fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight", "fc4.bias"]
        values.append(float(sorted(missing) == [*expected_missing, "fc4.weight"]))
        values.append(float(unexpected == ["extra.weight"]))
        for bad in (partial, {**model_dict, "extra.weight": torch.zeros(1)}):
            try:
                NetB().load_state_dict(bad)
                values.append(0.0)
            except RuntimeError as err:
                text = str(err)
                values.append(float("Missing key(s)" in text) + 2 * float("Unexpected key" in text))

        # fine-tune only the new layers of the warm-started model
        for name, p in netB.named_parameters():
            if name in pretrained_dict:
                p.requires_grad_(False)
        trainable = [p for p in netB.parameters() if p.requires_grad]
        values.append(float(len(trainable)))
        ft_opt = optim.SGD(trainable, lr=0.05, momentum=0.9)
        frozen_before = netB.conv1.weight.clone()
        for i in range(3):
            ft_opt.zero_grad()
            loss = criterion(netB(images[i]), labels[i] % 5)
            loss.backward()
            ft_opt.step()
            values.append(loss.item())
        values.append(float(netB.conv1.weight.grad is None))
        values.append((netB.conv1.weight - frozen_before).abs().max().item())

        # --- a state dict through an in-memory buffer
        buffer = io.BytesIO()
        torch.save(netB.state_dict(), buffer)
        buffer.seek(0)
        copy = NetB()
        copy.load_state_dict(torch.load(buffer, weights_only=True))
        with torch.no_grad():
            values.append((copy(images[1]) - netB(images[1])).abs().max().item())
    return values


def check(values: list[float]) -> None:
    resumed = values[STEPS + 7 : STEPS + 7 + STEPS]
    assert max(abs(v) for v in resumed) == 0.0, resumed
