"""erichson/koopmanAE (``model.py``, ``train.py``, ``tools.py``, ``driver.py``), the
consistent Koopman autoencoder, size-reduced: ``gaussian_init_`` (``torch.distributions.
Normal(torch.Tensor([0]), torch.Tensor([std/n_units]))``, ``sampler.sample((n_units,
n_units))[..., 0]``); ``dynamics`` assigning ``self.dynamics.weight.data`` then making it
orthogonal with ``U, _, V = torch.svd(self.dynamics.weight.data)`` and ``torch.mm(U, V.t()) *
init_scale``; ``dynamics_back`` initialised by ``torch.pinverse(omega.dynamics.weight.data
.t())``; ``encoderNet``/``decoderNet`` on ``x.view(-1, 1, self.N)`` (linear layers on 3-d
inputs), ``nn.init.xavier_normal_`` over ``self.modules()``, ``x.view(-1, 1, self.m,
self.n)``; ``koopmanAE.forward`` unrolling ``self.steps`` forward and ``self.steps_back``
backward predictions (``mode='forward'``/``'backward'``) from ``z.contiguous()``;
``train.py``'s shifted ``TensorDataset(*trainDat)`` of trajectories in a shuffling
``DataLoader``, ``loss_fwd += criterion(out[k], data_list[k+1])``, ``loss_identity = criterion(
out[-1], data_list[0]) * steps``, the backward loss on ``data_list[::-1][k+1]``, the
consistency penalty over leading blocks (``A[:,:k]``, ``B[:k,:]``, ``Ik = torch.eye(k).float()
.to(device)``, ``torch.sum((torch.mm(Bs1, As1) - Ik)**2)``), ``torch.optim.AdamW(...,
weight_decay=...)``, ``torch.nn.utils.clip_grad_norm_(model.parameters(), gradclip)`` and
``tools.lr_scheduler`` multiplying ``param_group['lr'] *= lr_decay_rate`` at decay epochs; the
final ``np.linalg.eig(model.dynamics.dynamics.weight.data.cpu().numpy())`` spectrum.

Changed: the flow-past-cylinder snapshots -> a NumPy rotation of a 4x3 field with noise,
bottleneck 6 -> 3, 16*ALPHA hidden -> 8, steps 8 -> 3, 600 epochs -> 2 with two batches each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
M, N, B, STEPS, STEPS_BACK = 4, 3, 3, 3, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def gaussian_init_(n_units: int, std: float = 1) -> Any:
        sampler = torch.distributions.Normal(torch.Tensor([0]), torch.Tensor([std / n_units]))
        Omega = sampler.sample((n_units, n_units))[..., 0]
        return Omega

    class encoderNet(nn.Module):  # noqa: N801 (as in the repository)
        def __init__(self, m: int, n: int, b: int, ALPHA: int = 1) -> None:
            super(encoderNet, self).__init__()  # noqa: UP008
            self.N = m * n
            self.tanh = nn.Tanh()

            self.fc1 = nn.Linear(self.N, 8 * ALPHA)
            self.fc2 = nn.Linear(8 * ALPHA, 8 * ALPHA)
            self.fc3 = nn.Linear(8 * ALPHA, b)

            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight)
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0.0)

        def forward(self, x: Any) -> Any:
            x = x.view(-1, 1, self.N)
            x = self.tanh(self.fc1(x))
            x = self.tanh(self.fc2(x))
            x = self.fc3(x)

            return x

    class decoderNet(nn.Module):  # noqa: N801
        def __init__(self, m: int, n: int, b: int, ALPHA: int = 1) -> None:
            super(decoderNet, self).__init__()  # noqa: UP008

            self.m = m
            self.n = n
            self.b = b

            self.tanh = nn.Tanh()

            self.fc1 = nn.Linear(b, 8 * ALPHA)
            self.fc2 = nn.Linear(8 * ALPHA, 8 * ALPHA)
            self.fc3 = nn.Linear(8 * ALPHA, m * n)

            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight)
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0.0)

        def forward(self, x: Any) -> Any:
            x = x.view(-1, 1, self.b)
            x = self.tanh(self.fc1(x))
            x = self.tanh(self.fc2(x))
            x = self.tanh(self.fc3(x))
            x = x.view(-1, 1, self.m, self.n)
            return x

    class dynamics(nn.Module):  # noqa: N801
        def __init__(self, b: int, init_scale: float) -> None:
            super(dynamics, self).__init__()  # noqa: UP008
            self.dynamics = nn.Linear(b, b, bias=False)
            self.dynamics.weight.data = gaussian_init_(b, std=1)
            U, _, V = torch.svd(self.dynamics.weight.data)
            self.dynamics.weight.data = torch.mm(U, V.t()) * init_scale

        def forward(self, x: Any) -> Any:
            x = self.dynamics(x)
            return x

    class dynamics_back(nn.Module):  # noqa: N801
        def __init__(self, b: int, omega: Any) -> None:
            super(dynamics_back, self).__init__()  # noqa: UP008
            self.dynamics = nn.Linear(b, b, bias=False)
            self.dynamics.weight.data = torch.pinverse(omega.dynamics.weight.data.t())

        def forward(self, x: Any) -> Any:
            x = self.dynamics(x)
            return x

    class koopmanAE(nn.Module):  # noqa: N801
        def __init__(self, m: int, n: int, b: int, steps: int, steps_back: int,
                     alpha: int = 1, init_scale: float = 1) -> None:  # fmt: skip
            super(koopmanAE, self).__init__()  # noqa: UP008
            self.steps = steps
            self.steps_back = steps_back

            self.encoder = encoderNet(m, n, b, ALPHA=alpha)
            self.dynamics = dynamics(b, init_scale)
            self.backdynamics = dynamics_back(b, self.dynamics)
            self.decoder = decoderNet(m, n, b, ALPHA=alpha)

        def forward(self, x: Any, mode: str = "forward") -> tuple:
            out = []
            out_back = []
            z = self.encoder(x.contiguous())
            q = z.contiguous()

            if mode == "forward":
                for _ in range(self.steps):
                    q = self.dynamics(q)
                    out.append(self.decoder(q))

                out.append(self.decoder(z.contiguous()))
                return out, out_back

            if mode == "backward":
                for _ in range(self.steps_back):
                    q = self.backdynamics(q)
                    out_back.append(self.decoder(q))

                out_back.append(self.decoder(z.contiguous()))
                return out, out_back
            return out, out_back

    return koopmanAE(M, N, B, STEPS, STEPS_BACK, alpha=1, init_scale=0.99)


def lr_scheduler(optimizer: Any, epoch: int, lr_decay_rate: float = 0.8,
                 decayEpoch: Any = ()) -> Any:  # fmt: skip
    """Decay learning rate by a factor of lr_decay_rate every lr_decay_epoch epochs"""
    if epoch in decayEpoch:
        for param_group in optimizer.param_groups:
            param_group["lr"] *= lr_decay_rate
        return optimizer
    else:
        return optimizer


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(6)
    torch.manual_seed(2)
    device = torch.device("cpu")
    theta = 0.3
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    state = rng.normal(size=(2, 12))
    frames = []
    for _ in range(12):
        frames.append(state[0] + 0.5 * state[1] + 0.01 * rng.normal(size=12))
        state = rot @ state
    Xtrain = as_tensor(torch, np.stack(frames).reshape(12, 1, M, N).astype(np.float32))

    steps, steps_back, batch_size = STEPS, STEPS_BACK, 4
    trainDat = []
    start = 0
    for _i in np.arange(steps, -1, -1):
        if start == 0:
            trainDat.append(Xtrain[start:-_i].float())
        else:
            trainDat.append(Xtrain[start : len(Xtrain) - _i].float())
        start += 1
    train_data = torch.utils.data.TensorDataset(*trainDat)
    train_loader = torch.utils.data.DataLoader(dataset=train_data, batch_size=batch_size,
                                               shuffle=True)  # fmt: skip

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    criterion = nn.MSELoss().to(device)
    lamb, nu, eta, gradclip = 1.0, 1e-1, 1e-2, 0.05
    values: list[float] = []
    for epoch in range(2):
        for _batch_idx, data_list in enumerate(train_loader):
            model.train()
            out, out_back = model(data_list[0].to(device), mode="forward")

            for k in range(steps):
                if k == 0:
                    loss_fwd = criterion(out[k], data_list[k + 1].to(device))
                else:
                    loss_fwd += criterion(out[k], data_list[k + 1].to(device))

            loss_identity = criterion(out[-1], data_list[0].to(device)) * steps

            out, out_back = model(data_list[-1].to(device), mode="backward")
            for k in range(steps_back):
                if k == 0:
                    loss_bwd = criterion(out_back[k], data_list[::-1][k + 1].to(device))
                else:
                    loss_bwd += criterion(out_back[k], data_list[::-1][k + 1].to(device))

            A = model.dynamics.dynamics.weight
            B_ = model.backdynamics.dynamics.weight

            K = A.shape[-1]

            for k in range(1, K + 1):
                As1 = A[:, :k]
                Bs1 = B_[:k, :]
                As2 = A[:k, :]
                Bs2 = B_[:, :k]

                Ik = torch.eye(k).float().to(device)

                if k == 1:
                    loss_consist = (
                        torch.sum((torch.mm(Bs1, As1) - Ik) ** 2)
                        + torch.sum((torch.mm(As2, Bs2) - Ik) ** 2)
                    ) / (2.0 * k)
                else:
                    loss_consist += (
                        torch.sum((torch.mm(Bs1, As1) - Ik) ** 2)
                        + torch.sum((torch.mm(As2, Bs2) - Ik) ** 2)
                    ) / (2.0 * k)

            loss = loss_fwd + lamb * loss_identity + nu * loss_bwd + eta * loss_consist

            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), gradclip)  # gradient clip
            optimizer.step()
            values += [loss.item(), loss_consist.item()]

        lr_scheduler(optimizer, epoch, lr_decay_rate=0.2, decayEpoch=[0])
    w, _ = np.linalg.eig(model.dynamics.dynamics.weight.data.cpu().numpy())
    values += [float(np.abs(w).max()), optimizer.param_groups[0]["lr"]]
    return values
