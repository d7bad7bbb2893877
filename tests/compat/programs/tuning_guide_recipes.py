"""PyTorch's "Performance Tuning Guide" (``recipes/recipes/tuning_guide``) and "Zeroing out
gradients in PyTorch" (``recipes/recipes/zeroing_out_gradients``) recipes, size-reduced and run
on the CPU.

The idioms: the zeroing-out recipe's ``Net`` and loop (``optimizer.zero_grad()``, ``running_loss
+= loss.item()``, the ``if i % 2000 == 1999`` report); the tuning guide's
``torch.backends.cudnn.benchmark = True``; ``for param in model.parameters(): param.grad =
None`` instead of ``model.zero_grad()``, and ``optimizer.zero_grad(set_to_none=True)``; the fused
pointwise ``@torch.jit.script def fused_gelu(x): return x * 0.5 * (1.0 + torch.erf(x /
1.41421))``; "disable bias for convolutions directly followed by a batch norm"
(``nn.Conv2d(..., bias=False)`` + ``nn.BatchNorm2d``); the channels-last inputs and model
(``x.to(memory_format=torch.channels_last)``, ``model.to(memory_format=torch.channels_last)``);
"disable debugging APIs" (``torch.autograd.set_detect_anomaly(False)``,
``torch.autograd.profiler.profile(enabled=False)``, ``torch.autograd.profiler.emit_nvtx(
enabled=False)``); ``torch.set_num_threads`` / ``torch.get_num_threads``; activation
checkpointing with ``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)``; inference
under ``torch.inference_mode()``.

Changed: ``torch.jit.script``'s DeprecationWarning (PyTorch 2.13) is silenced, and the scripted
``fused_gelu`` stays outside the checkpointed conv/batch-norm block (under torch 2.13 a scripted
function recomputed inside ``checkpoint(use_reentrant=False)`` gives gradients that differ from
its eager ones by ~1e-3, a TorchScript effect; chainrule runs it eagerly); CIFAR-10 32x32
images and widths 6/16/120/84 -> 3x12x12 and 3/4/12/8; two epochs of
12500 batches -> two of 3; the report every 2000 batches -> every 2; lr 0.001 -> 0.05.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated

        @torch.jit.script
        def fused_gelu(x):  # noqa: ANN001, ANN202
            return x * 0.5 * (1.0 + torch.erf(x / 1.41421))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 3, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(3)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(3, 4, 2)
            self.fc1 = nn.Linear(4 * 2 * 2, 12)
            self.fc2 = nn.Linear(12, 8)
            self.fc3 = nn.Linear(8, 10)

        def block(self, x: Any) -> Any:
            return self.bn1(self.conv1(x))

        def forward(self, x: Any) -> Any:
            if self.training:
                x = torch.utils.checkpoint.checkpoint(self.block, x, use_reentrant=False)
            else:
                x = self.block(x)
            x = self.pool(fused_gelu(x))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.reshape(-1, 4 * 2 * 2)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return Net()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    torch.backends.cudnn.benchmark = True
    torch.autograd.set_detect_anomaly(False)
    threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    net = net.to(memory_format=torch.channels_last)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(11)
    trainloader = [
        (as_tensor(torch_like, rng.standard_normal((4, 3, 12, 12))),
         as_tensor(torch_like, rng.integers(0, 10, 4)))
        for _ in range(3)
    ]  # fmt: skip
    values: list[float] = []
    with (
        torch.autograd.profiler.profile(enabled=False),
        torch.autograd.profiler.emit_nvtx(enabled=False),
    ):
        for epoch in range(2):
            running_loss = 0.0
            for i, data in enumerate(trainloader, 0):
                inputs, labels = data
                inputs = inputs.to(memory_format=torch.channels_last)
                if epoch == 0:
                    optimizer.zero_grad()
                elif i % 2 == 0:
                    for param in net.parameters():
                        param.grad = None
                else:
                    optimizer.zero_grad(set_to_none=True)
                outputs = net(inputs)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                values.append(loss.item())
                if i % 2 == 1:
                    values.append(running_loss / 2)
                    running_loss = 0.0
            values.append(float(net.conv1.weight.grad is None))
    net.eval()
    with torch.inference_mode():
        out = net(trainloader[0][0].to(memory_format=torch.channels_last))
    assert not out.requires_grad
    values += out.flatten().tolist()
    values.append(float(net.conv1.weight.is_contiguous(memory_format=torch.channels_last)))
    torch.backends.cudnn.benchmark = False
    return values
