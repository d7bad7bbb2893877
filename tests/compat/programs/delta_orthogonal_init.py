"""Initialisation schemes of ``torch.nn.init`` used by identity- and isometry-preserving deep
nets: ``nn.init.dirac_(w)`` and ``dirac_(w, groups=2)`` (the "ISONet" / "Deep Isometric
Learning" and ``RepVGG``-style identity conv), the delta-orthogonal initialiser of Xiao et al.
2018 (``w.zero_(); nn.init.orthogonal_(w[:, :, k // 2, k // 2], gain)`` as the reference
implementations write it), ``nn.init.eye_`` for a linear identity,
``nn.init.calculate_gain("leaky_relu", 0.2)`` / ``calculate_gain("tanh")``,
``nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")`` and the torchvision
ResNet ``zero_init_residual`` idiom ``nn.init.constant_(m.bn2.weight, 0)``,
``nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)``, ``nn.init.xavier_uniform_(w,
gain=...)``, ``nn.init.uniform_`` / ``normal_`` on biases; all under ``torch.no_grad()``-free
init functions called from ``model.apply(init_fn)`` after ``torch.manual_seed(0)``, so the
random draws themselves are compared.

Changed: a three-block 8-channel conv net on 6x6 inputs (batch of 2), three SGD steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Block(nn.Module):
        def __init__(self, c: int, groups: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False, groups=groups)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x: Any) -> Any:
            out = nn.functional.leaky_relu(self.bn1(self.conv1(x)), 0.2)
            return nn.functional.relu(x + self.bn2(self.conv2(out)))

    class IsoNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.blocks = nn.Sequential(Block(8, 1), Block(8, 2), Block(8, 1))
            self.proj = nn.Linear(8, 8)
            self.fc = nn.Linear(8, 4)

        def forward(self, x: Any) -> Any:
            x = self.blocks(self.stem(x)).mean((2, 3))
            return self.fc(nn.functional.tanh(self.proj(x)))

    return IsoNet()


def init_weights(torch_like: Any, model: Any) -> None:
    nn = torch_like.nn

    def delta_orthogonal_(w: Any, gain: float) -> None:
        k = w.size(-1)
        with torch_like.no_grad():
            w.zero_()
            nn.init.orthogonal_(w[:, :, k // 2, k // 2], gain)

    nn.init.kaiming_normal_(model.stem.weight, mode="fan_out", nonlinearity="relu")
    nn.init.uniform_(model.stem.bias, -0.1, 0.1)
    for i, block in enumerate(model.blocks):
        if block.conv1.groups > 1:
            nn.init.dirac_(block.conv1.weight, groups=block.conv1.groups)
        else:
            delta_orthogonal_(block.conv1.weight, nn.init.calculate_gain("leaky_relu", 0.2))
        if i == 0:
            nn.init.dirac_(block.conv2.weight)
        else:
            nn.init.xavier_uniform_(block.conv2.weight, gain=nn.init.calculate_gain("relu"))
        if i == 2:
            nn.init.constant_(block.bn2.weight, 0)
    nn.init.eye_(model.proj.weight)
    nn.init.normal_(model.proj.bias, std=0.01)
    nn.init.trunc_normal_(model.fc.weight, std=0.02, a=-0.04, b=0.04)
    nn.init.zeros_(model.fc.bias)
    model.fc.weight.data.mul_(nn.init.calculate_gain("tanh"))


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    model = make_model(torch_like)
    init_weights(torch_like, model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    rng = np.random.default_rng(12)
    values = [p.sum().item() for p in model.parameters()]
    for _ in range(3):
        x = as_tensor(torch_like, rng.standard_normal((2, 3, 6, 6)))
        y = as_tensor(torch_like, rng.integers(0, 4, 2))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    return values
