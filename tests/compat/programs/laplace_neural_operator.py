"""Laplace Neural Operator (Cao, Goswami & Karniadakis 2024), qianyingcao/Laplace-Neural-Operator
(the 1-d Duffing / forced-oscillator script ``main.py``: ``PR``, ``LNO1d``; ``utilities3.py``:
``LpLoss``), size-reduced.

The idioms kept: complex parameters ``nn.Parameter(self.scale * torch.rand(in_channels,
out_channels, modes, dtype=torch.cfloat))`` for the poles and residues, trained by
``torch.optim.Adam(..., weight_decay=1e-4)`` (complex Adam, weight decay on a complex
parameter); the input's poles by ``alpha = torch.fft.fft(x)`` and
``torch.fft.fftfreq(t.shape[0], dt) * 2 * np.pi * 1j`` with ``dt = (t[1] - t[0]).item()``,
``lambda1.unsqueeze(-1).unsqueeze(-1).unsqueeze(-1)``; ``output_PR`` with
``torch.zeros(..., dtype=torch.cfloat)`` overwritten, ``torch.div(1, torch.sub(lambda1,
weights_pole))``, ``weights_residue * term1`` and the complex einsums ``"bix,xiok->box"`` and
``"bix,xiok->bok"`` (on ``-Hw``); the transient part ``torch.real(torch.fft.ifft(
output_residue1, n=x.size(-1)))``; the steady-state part ``torch.exp(torch.einsum(
"bix,kz->bixz", self.weights_pole, t.type(torch.complex64).reshape(1, -1)))`` contracted by
``"bix,ioxz->boz"`` and divided by ``x.size(-1)``; ``LNO1d`` (``fc0``, ``permute(0, 2, 1)``, the
``PR`` branch plus a ``Conv1d(width, width, 1)`` branch, ``torch.sin`` activations); the
training loop with ``LpLoss(size_average=False)`` (``torch.norm(x.reshape(n, -1) -
y.reshape(n, -1), self.p, 1)`` over ``torch.norm(y..., self.p, 1)``), ``F.mse_loss(out.view(-1,
1), y.view(-1, 1), reduction='mean')`` logged, ``StepLR``, and ``torch.no_grad()`` testing.

Changed: the Duffing data (``.mat`` files) -> 12 forced damped oscillator responses from NumPy
on 32 time steps; width 4 -> 3, modes 16 -> 4, 1000 epochs -> 4 of 3 batches; the global
``grid_x_train.cuda()`` read inside ``PR.forward`` is a closure variable on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_T, WIDTH, MODES, BATCH = 32, 3, 4, 4
T_END = 4.0


def _lno(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    grid_x_train = torch.linspace(0, T_END, N_T)

    class PR(nn.Module):
        def __init__(self, in_channels, out_channels, modes1):  # noqa: ANN001
            super(PR, self).__init__()  # noqa: UP008

            self.in_channels = in_channels
            self.out_channels = out_channels
            self.modes1 = modes1
            self.scale = 1 / (in_channels * out_channels)
            self.weights_pole = nn.Parameter(
                self.scale * torch.rand(in_channels, out_channels, self.modes1, dtype=torch.cfloat)
            )
            self.weights_residue = nn.Parameter(
                self.scale * torch.rand(in_channels, out_channels, self.modes1, dtype=torch.cfloat)
            )

        def output_PR(self, lambda1, alpha, weights_pole, weights_residue):  # noqa: ANN001, ANN201, N802
            Hw = torch.zeros(
                weights_residue.shape[0],
                weights_residue.shape[0],
                weights_residue.shape[2],
                lambda1.shape[0],
                device=alpha.device,
                dtype=torch.cfloat,
            )
            term1 = torch.div(1, torch.sub(lambda1, weights_pole))
            Hw = weights_residue * term1
            output_residue1 = torch.einsum("bix,xiok->box", alpha, Hw)
            output_residue2 = torch.einsum("bix,xiok->bok", alpha, -Hw)
            return output_residue1, output_residue2

        def forward(self, x):  # noqa: ANN001, ANN201
            t = grid_x_train
            # Compute input poles and resudes by FFT
            dt = (t[1] - t[0]).item()
            alpha = torch.fft.fft(x)
            lambda0 = torch.fft.fftfreq(t.shape[0], dt) * 2 * np.pi * 1j
            lambda1 = lambda0
            lambda1 = lambda1.unsqueeze(-1).unsqueeze(-1).unsqueeze(-1)

            # Obtain output poles and residues for transient part and steady-state part
            output_residue1, output_residue2 = self.output_PR(
                lambda1, alpha, self.weights_pole, self.weights_residue
            )

            # Obtain time histories of transient response and steady-state response
            x1 = torch.fft.ifft(output_residue1, n=x.size(-1))
            x1 = torch.real(x1)
            x2 = torch.zeros(
                output_residue2.shape[0],
                output_residue2.shape[1],
                t.shape[0],
                device=alpha.device,
                dtype=torch.cfloat,
            )
            term1 = torch.einsum(
                "bix,kz->bixz", self.weights_pole, t.type(torch.complex64).reshape(1, -1)
            )
            term2 = torch.exp(term1)
            x2 = torch.einsum("bix,ioxz->boz", output_residue2, term2)
            x2 = torch.real(x2)
            x2 = x2 / x.size(-1)
            return x1 + x2

    class LNO1d(nn.Module):
        def __init__(self, width, modes):  # noqa: ANN001
            super(LNO1d, self).__init__()  # noqa: UP008

            self.width = width
            self.modes1 = modes
            self.fc0 = nn.Linear(1, self.width)

            self.conv0 = PR(self.width, self.width, self.modes1)
            self.w0 = nn.Conv1d(self.width, self.width, 1)

            self.fc1 = nn.Linear(self.width, 8)
            self.fc2 = nn.Linear(8, 1)

        def forward(self, x):  # noqa: ANN001, ANN201
            x = self.fc0(x)
            x = x.permute(0, 2, 1)

            x1 = self.conv0(x)
            x2 = self.w0(x)
            x = x1 + x2

            x = torch.sin(x)
            x = x.permute(0, 2, 1)
            x = self.fc1(x)
            x = torch.sin(x)
            x = self.fc2(x)
            return x

    return LNO1d


def make_model(torch_like: Any) -> Any:
    return _lno(torch_like)(WIDTH, MODES)


def _oscillator(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random forcings f(t) and the responses of x'' + 0.4 x' + 4 x = f (semi-implicit Euler)."""
    t = np.linspace(0, T_END, N_T)
    amp = rng.normal(size=(n, 3))
    freq = rng.uniform(0.5, 3.0, size=(n, 3))
    f = (amp[:, :, None] * np.sin(freq[:, :, None] * t[None, None, :])).sum(1)
    x, v = np.zeros(n), np.zeros(n)
    out, h, sub = [], t[1] - t[0], 20
    for k in range(N_T):
        out.append(x.copy())
        for _ in range(sub):
            v = v + h / sub * (f[:, k] - 0.4 * v - 4 * x)
            x = x + h / sub * v
    return f.astype(np.float32)[..., None], np.stack(out, 1).astype(np.float32)[..., None]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional

    # loss function with rel/abs Lp loss
    class LpLoss:
        def __init__(self, d=2, p=2, size_average=True, reduction=True):  # noqa: ANN001
            super(LpLoss, self).__init__()  # noqa: UP008

            # Dimension and Lp-norm type are postive
            assert d > 0 and p > 0

            self.d = d
            self.p = p
            self.reduction = reduction
            self.size_average = size_average

        def rel(self, x, y):  # noqa: ANN001, ANN201
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

        def __call__(self, x, y):  # noqa: ANN001, ANN204
            return self.rel(x, y)

    rng = np.random.default_rng(1)
    x_np, y_np = _oscillator(16, rng)
    x_train, y_train = torch.from_numpy(x_np[:12]), torch.from_numpy(y_np[:12])
    x_test, y_test = torch.from_numpy(x_np[12:]), torch.from_numpy(y_np[12:])
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=BATCH, shuffle=False
    )
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_test, y_test), batch_size=BATCH, shuffle=False
    )

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.002, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    myloss = LpLoss(size_average=False)
    values: list[float] = []
    for _ep in range(4):
        model.train()
        train_mse = 0
        train_l2 = 0
        for x, y in train_loader:
            optimizer.zero_grad()
            out = model(x)

            mse = F.mse_loss(out.view(-1, 1), y.view(-1, 1), reduction="mean")
            l2 = myloss(out.view(BATCH, -1), y.view(BATCH, -1))
            l2.backward()

            optimizer.step()
            train_mse += mse.item()
            train_l2 += l2.item()

        scheduler.step()
        model.eval()
        test_l2 = 0.0
        with torch.no_grad():
            for x, y in test_loader:
                out = model(x)
                test_l2 += myloss(out.view(BATCH, -1), y.view(BATCH, -1)).item()
        values += [train_mse, train_l2, test_l2]
    pole = model.conv0.weights_pole
    values += [pole.real.sum().item(), pole.imag.sum().item(), pole.grad.abs().sum().item()]
    return values
