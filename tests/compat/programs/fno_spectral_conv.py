"""Zongyi Li's Fourier Neural Operator, ``fourier_1d.py`` of the reference repository
(zongyili/fourier_neural_operator, also the starting point of neuraloperator), size-reduced:
``SpectralConv1d`` with complex weights ``nn.Parameter(self.scale * torch.rand(in_channels,
out_channels, self.modes1, dtype=torch.cfloat))``, ``compl_mul1d`` as ``torch.einsum("bix,iox->box",
input, weights)`` on complex tensors, ``torch.fft.rfft(x)``, ``out_ft = torch.zeros(batchsize,
self.out_channels, x.size(-1)//2 + 1, device=x.device, dtype=torch.cfloat)`` filled by slice
assignment of the low modes, ``torch.fft.irfft(out_ft, n=x.size(-1))``; ``FNO1d`` (``get_grid``
with ``torch.linspace`` / ``reshape`` / ``repeat``, ``torch.cat((x, grid), dim=-1)``, ``fc0``,
``x.permute(0, 2, 1)``, ``nn.Conv1d(width, width, 1)`` skip paths, ``F.gelu``); ``LpLoss`` from
``utilities3.py`` (``torch.norm(x.reshape(num_examples, -1) - y.reshape(num_examples, -1),
self.p, 1)``, relative error, ``torch.mean``); and the training loop (``Adam(...,
weight_decay=1e-4)``, ``torch.optim.lr_scheduler.StepLR``, ``myloss(out.view(batch_size, -1),
y.view(batch_size, -1), ...)``, ``model.eval()`` with ``torch.no_grad()`` for the test loss).

Burgers' equation data is replaced by a smooth NumPy map (``u0`` -> a filtered, shifted ``u0``);
sizes: 8192 -> 32 grid points, modes 16 -> 5, width 64 -> 6, 4 Fourier layers -> 2, 1000 train
samples -> 8 (batch 4), 500 epochs -> 3. The complex weights come from the torch model
(``state_dict`` holds complex tensors).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
MODES = 5
WIDTH = 6
S = 32
BATCH_SIZE = 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SpectralConv1d(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, modes1: int) -> None:
            super(SpectralConv1d, self).__init__()  # noqa: UP008 (as in the original)

            """
            1D Fourier layer. It does FFT, linear transform, and Inverse FFT.
            """

            self.in_channels = in_channels
            self.out_channels = out_channels
            # Number of Fourier modes to multiply, at most floor(N/2) + 1
            self.modes1 = modes1

            self.scale = 1 / (in_channels * out_channels)
            self.weights1 = nn.Parameter(
                self.scale * torch.rand(in_channels, out_channels, self.modes1, dtype=torch.cfloat)
            )

        # Complex multiplication
        def compl_mul1d(self, input: Any, weights: Any) -> Any:
            # (batch, in_channel, x ), (in_channel, out_channel, x) -> (batch, out_channel, x)
            return torch.einsum("bix,iox->box", input, weights)

        def forward(self, x: Any) -> Any:
            batchsize = x.shape[0]
            # Compute Fourier coeffcients up to factor of e^(- something constant)
            x_ft = torch.fft.rfft(x)

            # Multiply relevant Fourier modes
            out_ft = torch.zeros(
                batchsize,
                self.out_channels,
                x.size(-1) // 2 + 1,
                device=x.device,
                dtype=torch.cfloat,
            )
            out_ft[:, :, : self.modes1] = self.compl_mul1d(x_ft[:, :, : self.modes1], self.weights1)

            # Return to physical space
            x = torch.fft.irfft(out_ft, n=x.size(-1))
            return x

    class FNO1d(nn.Module):
        def __init__(self, modes: int, width: int) -> None:
            super(FNO1d, self).__init__()  # noqa: UP008 (as in the original)

            self.modes1 = modes
            self.width = width
            self.padding = 2  # pad the domain if input is non-periodic
            self.fc0 = nn.Linear(2, self.width)  # input channel is 2: (a(x), x)

            self.conv0 = SpectralConv1d(self.width, self.width, self.modes1)
            self.conv1 = SpectralConv1d(self.width, self.width, self.modes1)
            self.w0 = nn.Conv1d(self.width, self.width, 1)
            self.w1 = nn.Conv1d(self.width, self.width, 1)

            self.fc1 = nn.Linear(self.width, 16)
            self.fc2 = nn.Linear(16, 1)

        def forward(self, x: Any) -> Any:
            grid = self.get_grid(x.shape, x.device)
            x = torch.cat((x, grid), dim=-1)
            x = self.fc0(x)
            x = x.permute(0, 2, 1)
            # x = F.pad(x, [0,self.padding]) # pad the domain if input is non-periodic

            x1 = self.conv0(x)
            x2 = self.w0(x)
            x = x1 + x2
            x = F.gelu(x)

            x1 = self.conv1(x)
            x2 = self.w1(x)
            x = x1 + x2

            # x = x[..., :-self.padding] # pad the domain if input is non-periodic
            x = x.permute(0, 2, 1)
            x = self.fc1(x)
            x = F.gelu(x)
            x = self.fc2(x)
            return x

        def get_grid(self, shape: Any, device: Any) -> Any:
            batchsize, size_x = shape[0], shape[1]
            gridx = torch.tensor(np.linspace(0, 1, size_x), dtype=torch.float)
            gridx = gridx.reshape(1, size_x, 1).repeat([batchsize, 1, 1])
            return gridx.to(device)

    return FNO1d(MODES, WIDTH)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like

    # loss function with rel/abs Lp loss
    class LpLoss:
        def __init__(
            self, d: int = 2, p: int = 2, size_average: bool = True, reduction: bool = True
        ) -> None:
            super(LpLoss, self).__init__()  # noqa: UP008 (as in the original)

            # Dimension and Lp-norm type are postive
            assert d > 0 and p > 0

            self.d = d
            self.p = p
            self.reduction = reduction
            self.size_average = size_average

        def rel(self, x: Any, y: Any) -> Any:
            num_examples = x.size()[0]

            diff_norms = torch.norm(
                x.reshape(num_examples, -1) - y.reshape(num_examples, -1), self.p, 1
            )
            y_norms = torch.norm(y.reshape(num_examples, -1), self.p, 1)

            if self.reduction:
                if self.size_average:
                    return torch.mean(diff_norms / y_norms)
                else:
                    return torch.sum(diff_norms / y_norms)

            return diff_norms / y_norms

        def __call__(self, x: Any, y: Any) -> Any:
            return self.rel(x, y)

    rng = np.random.default_rng(5)
    grid = np.linspace(0, 2 * np.pi, S, endpoint=False)
    k = np.arange(1, 4)
    coef = rng.standard_normal((12, 3))
    u0 = (coef[:, :, None] * np.sin(k[None, :, None] * grid[None, None, :])).sum(1)
    u1 = (coef[:, :, None] / k[None, :, None] ** 2 * np.sin(k[None, :, None] * (grid - 0.3))).sum(1)
    x_train = torch.tensor(u0[:8, :, None].astype(np.float32))
    y_train = torch.tensor(u1[:8].astype(np.float32))
    x_test = torch.tensor(u0[8:, :, None].astype(np.float32))
    y_test = torch.tensor(u1[8:].astype(np.float32))
    train_loader = [(x_train[i : i + BATCH_SIZE], y_train[i : i + BATCH_SIZE]) for i in (0, 4)]
    test_loader = [(x_test, y_test)]
    ntrain, ntest = 8, 4

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    myloss = LpLoss(size_average=False)
    values: list[float] = []
    for _ep in range(3):
        model.train()
        train_mse = 0
        train_l2 = 0
        for x, y in train_loader:
            optimizer.zero_grad()
            out = model(x)

            mse = torch.nn.functional.mse_loss(out.view(BATCH_SIZE, -1), y, reduction="mean")
            l2 = myloss(out.view(BATCH_SIZE, -1), y.view(BATCH_SIZE, -1))
            l2.backward()  # use the l2 relative loss

            optimizer.step()
            train_mse += mse.item()
            train_l2 += l2.item()

        scheduler.step()
        model.eval()
        test_l2 = 0.0
        with torch.no_grad():
            for x, y in test_loader:
                out = model(x)
                test_l2 += myloss(out.view(ntest, -1), y.view(ntest, -1)).item()

        train_mse /= len(train_loader)
        train_l2 /= ntrain
        test_l2 /= ntest
        values += [train_mse, train_l2, test_l2]
    w = model.conv0.weights1.detach()
    values += [w.real.sum().item(), w.imag.sum().item(), w.abs().sum().item()]
    return values
