"""The patch and pooling-inverse layers as PyTorch's ``torch.nn`` reference pages show them
(https://pytorch.org/docs/stable/generated/torch.nn.Unfold.html, ``nn.Fold``,
``nn.MaxUnpool2d``, ``nn.LPPool2d``, ``nn.ChannelShuffle``), put into a small trained model.

The idioms kept: the Unfold page's "convolution is equivalent with Unfold + Matmul + Fold"
(``inp_unf = torch.nn.functional.unfold(inp, (4, 5))``, ``out_unf = inp_unf.transpose(1,
2).matmul(w.view(w.size(0), -1).t()).transpose(1, 2)``, ``torch.nn.functional.fold(out_unf,
(7, 8), (1, 1))``) and its ``out_unf.view(1, 2, 7, 8)`` alternative; ``nn.Unfold(kernel_size=(2,
3))`` and ``nn.Fold(output_size=(4, 5), kernel_size=(2, 2))``; overlapping patches folded back
and divided by ``fold(unfold(ones))`` (the patch-averaging idiom of image denoisers);
``nn.MaxPool2d(2, stride=2, return_indices=True)`` with ``nn.MaxUnpool2d(2, stride=2)`` and its
``output_size=input.size()`` argument; ``nn.LPPool2d(2, 3, stride=2)`` and
``nn.ChannelShuffle(2)``.

Changed: a 6-channel 8x8 input batch of 2 instead of the pages' random tensors, the pieces
chained into one network trained for four SGD steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class PatchNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 6, 3, 3) * 0.2)
            self.shuffle = nn.ChannelShuffle(2)
            self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2, stride=2)
            self.lp = nn.LPPool2d(2, 3, stride=2)
            self.unfold = nn.Unfold(kernel_size=(2, 3))
            self.head = nn.Linear(4 * 6, 3)

        def forward(self, inp: Any) -> Any:
            w = self.w
            inp_unf = torch.nn.functional.unfold(inp, (3, 3))
            out_unf = inp_unf.transpose(1, 2).matmul(w.view(w.size(0), -1).t()).transpose(1, 2)
            out = torch.nn.functional.fold(out_unf, (6, 6), (1, 1))
            out2 = out_unf.view(inp.size(0), 4, 6, 6)
            conv = torch.nn.functional.conv2d(inp, w)
            x = self.shuffle(out + out2 + conv)
            pooled, indices = self.pool(x)
            x = self.unpool(pooled, indices, output_size=x.size())
            lp = self.lp(x.relu() + 0.1)  # (B, 4, 2, 2)
            patches = self.unfold(x)  # (B, 4*2*3, L)
            return self.head(patches.mean(-1)) + lp.flatten(1)[:, :3]

    return PatchNet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(3)
    values: list[float] = []
    fold = nn.Fold(output_size=(4, 5), kernel_size=(2, 2))
    blocks = as_tensor(torch_like, rng.standard_normal((2, 3 * 2 * 2, 12)))
    values.append(fold(blocks).pow(2).sum().item())
    for _ in range(4):
        x = as_tensor(torch_like, rng.standard_normal((2, 6, 8, 8)))
        y = as_tensor(torch_like, rng.integers(0, 3, 2))
        # patch averaging: overlapping 4x4 patches with stride 2 folded back, divided by counts
        unf = torch.nn.functional.unfold(x, kernel_size=4, stride=2)
        ones = torch.ones_like(x)
        counts = torch.nn.functional.fold(
            torch.nn.functional.unfold(ones, kernel_size=4, stride=2), x.shape[-2:], 4, stride=2
        )
        smoothed = torch.nn.functional.fold(unf * 0.5, x.shape[-2:], 4, stride=2) / counts
        loss = nn.functional.cross_entropy(model(x + smoothed), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
        values.append(model.w.grad.abs().sum().item())
    return values
