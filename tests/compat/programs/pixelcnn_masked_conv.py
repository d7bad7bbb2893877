"""PixelCNN (van den Oord et al.) as the popular PyTorch re-implementations write it: a
``MaskedConv2d`` subclass of ``nn.Conv2d`` that registers its causal mask (type ``'A'`` for the
first layer, ``'B'`` after) as a buffer and applies it with ``self.weight.data *= self.mask``
before calling ``super().forward`` (and a variant that masks inside the graph through
``Conv2d._conv_forward``), a stack of such layers with ``BatchNorm2d`` and ``ReLU``,
256-way logits of shape ``(N, 256, H, W)`` trained with ``F.cross_entropy`` on integer pixel
targets and Adam, then a negative log-likelihood in bits per dimension and one row of greedy
autoregressive sampling under ``no_grad``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

H = W = 5
FEATURES = 8


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            assert mask_type in {"A", "B"}
            self.register_buffer("mask", self.weight.data.clone())
            _, _, kh, kw = self.weight.size()
            self.mask.fill_(1)
            self.mask[:, :, kh // 2, kw // 2 + (mask_type == "B") :] = 0
            self.mask[:, :, kh // 2 + 1 :] = 0

        def forward(self, x: Any) -> Any:
            self.weight.data *= self.mask
            return super().forward(x)

    class GradMaskedConv2d(MaskedConv2d):
        """The other common form: mask inside the graph, through ``Conv2d._conv_forward``."""

        def forward(self, x: Any) -> Any:
            return self._conv_forward(x, self.weight * self.mask, self.bias)

    def block(conv: Any, mask_type: str, c_in: int) -> list[Any]:
        return [
            conv(mask_type, c_in, FEATURES, 3, 1, 1, bias=False),
            nn.BatchNorm2d(FEATURES),
            nn.ReLU(True),
        ]

    return nn.Sequential(
        *block(MaskedConv2d, "A", 1),
        *block(MaskedConv2d, "B", FEATURES),
        *block(GradMaskedConv2d, "B", FEATURES),
        nn.Conv2d(FEATURES, 256, 1),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(41)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    optimizer = torch_like.optim.Adam(net.parameters(), lr=1e-3)
    values: list[float] = []
    net.train()
    for _step in range(3):
        pixels = rng.integers(0, 256, (4, 1, H, W))
        inp = as_tensor(torch_like, pixels / 255.0)
        target = as_tensor(torch_like, pixels[:, 0]).long()
        out = net(inp)
        loss = F.cross_entropy(out, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    net.eval()
    with torch_like.no_grad():
        pixels = rng.integers(0, 256, (2, 1, H, W))
        logits = net(as_tensor(torch_like, pixels / 255.0))
        nll = F.cross_entropy(logits, as_tensor(torch_like, pixels[:, 0]), reduction="none")
        bits_per_dim = nll.mean(dim=(1, 2)) / np.log(2.0)
        values.extend(bits_per_dim.tolist())
        # the first row, pixel by pixel, sampled greedily
        sample = torch_like.zeros(1, 1, H, W)
        for j in range(W):
            out = net(sample)
            probs = F.softmax(out[:, :, 0, j], dim=1)
            sample[:, :, 0, j] = torch_like.argmax(probs, dim=1, keepdim=True).float() / 255.0
        values.extend((sample[0, 0, 0] * 255).round().tolist())
    values.append(float(net[0].mask.sum()))
    values.append(float(net[3].mask.sum()))
    values.append(float((net[6].weight * (1 - net[6].mask)).abs().sum() > 0))  # unmasked storage
    return values
