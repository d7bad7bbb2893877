"""A temporal convolutional network as in locuslab's TCN (Bai, Kolter & Koltun): dilated causal
``nn.Conv1d`` layers padded on both sides and trimmed back by a ``Chomp1d`` slice, weight
normalisation (the new ``torch.nn.utils.parametrizations.weight_norm`` on one convolution, the
older ``torch.nn.utils.weight_norm`` hook on the other, as code bases mid-migration have them),
a 1x1 downsampling residual, dropout (silent in ``eval()`` mode), trained a few steps with Adam
on a sequence regression task, then evaluated under ``no_grad`` before and after folding the
weight norms back into plain weights (``remove_parametrizations``, ``remove_weight_norm``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_INPUTS, CHANNELS, KERNEL, SEQ = 2, (6, 6), 3, 12


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    weight_norm = torch_like.nn.utils.parametrizations.weight_norm
    old_weight_norm = torch_like.nn.utils.weight_norm

    class Chomp1d(nn.Module):
        def __init__(self, chomp_size: int) -> None:
            super().__init__()
            self.chomp_size = chomp_size

        def forward(self, x: Any) -> Any:
            return x[:, :, : -self.chomp_size].contiguous()

    class TemporalBlock(nn.Module):
        def __init__(
            self,
            n_inputs: int,
            n_outputs: int,
            kernel_size: int,
            stride: int,
            dilation: int,
            padding: int,
            dropout: float = 0.2,
        ) -> None:
            super().__init__()
            self.conv1 = weight_norm(
                nn.Conv1d(
                    n_inputs,
                    n_outputs,
                    kernel_size,
                    stride=stride,
                    padding=padding,
                    dilation=dilation,
                )
            )
            self.chomp1 = Chomp1d(padding)
            self.relu1 = nn.ReLU()
            self.dropout1 = nn.Dropout(dropout)
            with warnings.catch_warnings():  # the old hook is deprecated in favour of the above
                warnings.simplefilter("ignore", FutureWarning)
                self.conv2 = old_weight_norm(
                    nn.Conv1d(
                        n_outputs,
                        n_outputs,
                        kernel_size,
                        stride=stride,
                        padding=padding,
                        dilation=dilation,
                    )
                )
            self.chomp2 = Chomp1d(padding)
            self.relu2 = nn.ReLU()
            self.dropout2 = nn.Dropout(dropout)
            self.net = nn.Sequential(
                self.conv1,
                self.chomp1,
                self.relu1,
                self.dropout1,
                self.conv2,
                self.chomp2,
                self.relu2,
                self.dropout2,
            )
            self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
            self.relu = nn.ReLU()
            self.init_weights()

        def init_weights(self) -> None:
            self.conv1.weight.data.normal_(0, 0.01)  # goes nowhere: a parametrized weight
            self.conv2.weight.data.normal_(0, 0.01)
            if self.downsample is not None:
                self.downsample.weight.data.normal_(0, 0.01)

        def forward(self, x: Any) -> Any:
            out = self.net(x)
            res = x if self.downsample is None else self.downsample(x)
            return self.relu(out + res)

    class TemporalConvNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers = []
            for i, out_channels in enumerate(CHANNELS):
                dilation_size = 2**i
                in_channels = N_INPUTS if i == 0 else CHANNELS[i - 1]
                layers += [
                    TemporalBlock(
                        in_channels,
                        out_channels,
                        KERNEL,
                        stride=1,
                        dilation=dilation_size,
                        padding=(KERNEL - 1) * dilation_size,
                        dropout=0.2,
                    )
                ]
            self.network = nn.Sequential(*layers)
            self.linear = nn.Linear(CHANNELS[-1], 1)

        def forward(self, x: Any) -> Any:
            y = self.network(x)
            return self.linear(y[:, :, -1])

    return TemporalConvNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(31)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=0.01)
    criterion = torch_like.nn.MSELoss()
    x_np = rng.random((5, N_INPUTS, SEQ))
    y_np = x_np[:, 0, -4:].sum(axis=1, keepdims=True) + x_np[:, 1, :2].mean(axis=1, keepdims=True)
    x, y = as_tensor(torch_like, x_np), as_tensor(torch_like, y_np)
    values: list[float] = []
    # the dropout layers are eval-silent: train in eval() so both frameworks draw nothing
    model.eval()
    for _step in range(5):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        torch_like.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        values.append(loss.item())
    block = model.network[0]
    values.append(block.conv1.parametrizations.weight.original0.norm().item())
    values.append(block.conv1.weight.norm(dim=(1, 2)).sum().item())
    values.append(block.conv2.weight_g.sum().item())
    values.append(block.conv2.weight.norm().item())
    values.append(float(torch_like.nn.utils.parametrize.is_parametrized(block.conv1)))
    with torch_like.no_grad():
        test = as_tensor(torch_like, rng.random((2, N_INPUTS, SEQ)))
        values.extend(model(test).flatten().tolist())
    # fold the weight norms into plain weights for inference, as deployment code does
    for block in model.network:
        torch_like.nn.utils.parametrize.remove_parametrizations(block.conv1, "weight")
        torch_like.nn.utils.remove_weight_norm(block.conv2)
    values.append(float(torch_like.nn.utils.parametrize.is_parametrized(block.conv1)))
    values.append(float(sum(p.numel() for p in model.parameters())))
    values.append(float(len(model.state_dict())))
    with torch_like.no_grad():
        values.extend(model(test).flatten().tolist())
    return values
