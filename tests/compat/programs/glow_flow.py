"""Glow as rosinality/glow-pytorch (``model.py``, ``train.py``) writes it, size-reduced, with its
SciPy set-up done in torch: ``ActNorm`` with data-dependent initialisation (a ``uint8`` buffer
``initialized`` tested with ``.item() == 0`` and set with ``.fill_(1)``, the per-channel
statistics of ``input.permute(1, 0, 2, 3).contiguous().view(C, -1)`` unsqueezed back to ``(1, C,
1, 1)`` and written with ``self.loc.data.copy_(-mean)``, ``self.scale.data.copy_(1 / (std +
1e-6))``), ``logabs = lambda x: torch.log(torch.abs(x))``, the LU-decomposed invertible 1x1
convolution ``InvConv2dLU`` (a random orthogonal matrix from ``torch.linalg.qr``, its
``torch.linalg.lu`` factors as buffers ``w_p``, ``u_mask``, ``l_mask = u_mask.T``, ``s_sign =
torch.sign(w_s)``, ``l_eye`` and parameters ``w_l``, ``w_s = logabs(w_s)``, ``w_u``; ``weight =
w_p @ (w_l * l_mask + l_eye) @ (w_u * u_mask + torch.diag(s_sign * torch.exp(w_s)))``,
``F.conv2d(input, weight.unsqueeze(2).unsqueeze(3))``, the reverse by ``weight.squeeze()
.inverse()``), the plain ``InvConv2d`` whose log-determinant is ``torch.slogdet(weight.squeeze()
.double())[1].float()`` (checked against the LU one; ``torch.linalg.lu_factor`` +
``torch.lu_unpack`` rebuild the matrix, ``torch.linalg.lu_solve`` inverts it; the squeeze is
``F.pixel_unshuffle``), ``ZeroConv2d`` (``F.pad(input, [1, 1, 1, 1], value=1)``,
zeroed ``.weight.data.zero_()``, ``out * torch.exp(self.scale * 3)``), the affine coupling
(``input.chunk(2, 1)``, ``s = F.sigmoid(log_s + 2)``, ``out_b = (in_b + t) * s``,
``torch.sum(torch.log(s).view(input.shape[0], -1), 1)``, ``.normal_(0, 0.05)`` init), the
squeeze ``input.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).contiguous().view(b,
c * 4, h // 2, w // 2)``, the learned prior ``ZeroConv2d(...)(torch.zeros_like(out)).chunk(2,
1)``, ``gaussian_log_p``, the log-determinant accumulated over the flow, ``calc_loss`` in bits
per dimension (``-log(n_bins) * n_pixel``), dequantised inputs (``torch.floor(image / 2 ** (8 -
n_bits))``, ``image / n_bins - 0.5`` plus uniform noise; the noise from NumPy), ``train.py``'s
loop (``model = nn.DataParallel(model_single)``, the first batch through ``model.module`` under
``torch.no_grad()`` to initialise ActNorm, a warm-up written into ``optimizer.param_groups[0]
["lr"]``), ``Adam`` steps and a round trip through ``model.module.reverse``.
"""

from __future__ import annotations

from math import log, pi
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IN_CHANNEL, IMG, N_FLOW, FILTER, BATCH, STEPS, N_BITS, LR = 3, 4, 2, 8, 4, 4, 5, 1e-3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def logabs(x: Any) -> Any:
        return torch.log(torch.abs(x))

    class ActNorm(nn.Module):
        def __init__(self, in_channel: int, logdet: bool = True) -> None:
            super().__init__()
            self.loc = nn.Parameter(torch.zeros(1, in_channel, 1, 1))
            self.scale = nn.Parameter(torch.ones(1, in_channel, 1, 1))
            self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))
            self.logdet = logdet

        def initialize(self, input: Any) -> None:
            with torch.no_grad():
                flatten = input.permute(1, 0, 2, 3).contiguous().view(input.shape[1], -1)
                mean = flatten.mean(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3)
                std = flatten.std(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3)
                self.loc.data.copy_(-mean)
                self.scale.data.copy_(1 / (std + 1e-6))

        def forward(self, input: Any) -> Any:
            _, _, height, width = input.shape
            if self.initialized.item() == 0:
                self.initialize(input)
                self.initialized.fill_(1)
            log_abs = logabs(self.scale)
            logdet = height * width * torch.sum(log_abs)
            if self.logdet:
                return self.scale * (input + self.loc), logdet
            return self.scale * (input + self.loc)

        def reverse(self, output: Any) -> Any:
            return output / self.scale - self.loc

    class InvConv2d(nn.Module):
        def __init__(self, in_channel: int) -> None:
            super().__init__()
            weight = torch.randn(in_channel, in_channel)
            q, _ = torch.linalg.qr(weight)
            weight = q.unsqueeze(2).unsqueeze(3)
            self.weight = nn.Parameter(weight)

        def forward(self, input: Any) -> Any:
            _, _, height, width = input.shape
            out = F.conv2d(input, self.weight)
            logdet = height * width * torch.slogdet(self.weight.squeeze().double())[1].float()
            return out, logdet

        def reverse(self, output: Any) -> Any:
            return F.conv2d(output, self.weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))

    class InvConv2dLU(nn.Module):
        def __init__(self, in_channel: int) -> None:
            super().__init__()
            weight = torch.randn(in_channel, in_channel)
            q, _ = torch.linalg.qr(weight)
            w_p, w_l, w_u = torch.linalg.lu(q)
            w_s = torch.diag(w_u)
            w_u = torch.triu(w_u, 1)
            u_mask = torch.triu(torch.ones_like(w_u), 1)
            l_mask = u_mask.T
            self.register_buffer("w_p", w_p)
            self.register_buffer("u_mask", u_mask)
            self.register_buffer("l_mask", l_mask)
            self.register_buffer("s_sign", torch.sign(w_s))
            self.register_buffer("l_eye", torch.eye(l_mask.shape[0]))
            self.w_l = nn.Parameter(w_l)
            self.w_s = nn.Parameter(logabs(w_s))
            self.w_u = nn.Parameter(w_u)

        def forward(self, input: Any) -> Any:
            _, _, height, width = input.shape
            weight = self.calc_weight()
            out = F.conv2d(input, weight)
            logdet = height * width * torch.sum(self.w_s)
            return out, logdet

        def calc_weight(self) -> Any:
            weight = (
                self.w_p
                @ (self.w_l * self.l_mask + self.l_eye)
                @ ((self.w_u * self.u_mask) + torch.diag(self.s_sign * torch.exp(self.w_s)))
            )
            return weight.unsqueeze(2).unsqueeze(3)

        def reverse(self, output: Any) -> Any:
            weight = self.calc_weight()
            return F.conv2d(output, weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))

    class ZeroConv2d(nn.Module):
        def __init__(self, in_channel: int, out_channel: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(in_channel, out_channel, 3, padding=0)
            self.conv.weight.data.zero_()
            self.conv.bias.data.zero_()
            self.scale = nn.Parameter(torch.zeros(1, out_channel, 1, 1))

        def forward(self, input: Any) -> Any:
            out = F.pad(input, [1, 1, 1, 1], value=1)
            out = self.conv(out)
            return out * torch.exp(self.scale * 3)

    class AffineCoupling(nn.Module):
        def __init__(self, in_channel: int, filter_size: int = 512) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(in_channel // 2, filter_size, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(filter_size, filter_size, 1),
                nn.ReLU(inplace=True),
                ZeroConv2d(filter_size, in_channel),
            )
            self.net[0].weight.data.normal_(0, 0.05)
            self.net[0].bias.data.zero_()
            self.net[2].weight.data.normal_(0, 0.05)
            self.net[2].bias.data.zero_()

        def forward(self, input: Any) -> Any:
            in_a, in_b = input.chunk(2, 1)
            log_s, t = self.net(in_a).chunk(2, 1)
            s = F.sigmoid(log_s + 2)
            out_b = (in_b + t) * s
            logdet = torch.sum(torch.log(s).view(input.shape[0], -1), 1)
            return torch.cat([in_a, out_b], 1), logdet

        def reverse(self, output: Any) -> Any:
            out_a, out_b = output.chunk(2, 1)
            log_s, t = self.net(out_a).chunk(2, 1)
            s = F.sigmoid(log_s + 2)
            in_b = out_b / s - t
            return torch.cat([out_a, in_b], 1)

    class Flow(nn.Module):
        def __init__(self, in_channel: int, conv_lu: bool = True) -> None:
            super().__init__()
            self.actnorm = ActNorm(in_channel)
            self.invconv = InvConv2dLU(in_channel) if conv_lu else InvConv2d(in_channel)
            self.coupling = AffineCoupling(in_channel, filter_size=FILTER)

        def forward(self, input: Any) -> tuple[Any, Any]:
            out, logdet = self.actnorm(input)
            out, det1 = self.invconv(out)
            out, det2 = self.coupling(out)
            logdet = logdet + det1
            if det2 is not None:
                logdet = logdet + det2
            return out, logdet

        def reverse(self, output: Any) -> Any:
            input = self.coupling.reverse(output)
            input = self.invconv.reverse(input)
            return self.actnorm.reverse(input)

    def gaussian_log_p(x: Any, mean: Any, log_sd: Any) -> Any:
        return -0.5 * log(2 * pi) - log_sd - 0.5 * (x - mean) ** 2 / torch.exp(2 * log_sd)

    class Block(nn.Module):
        def __init__(self, in_channel: int, n_flow: int, conv_lu: bool = True) -> None:
            super().__init__()
            squeeze_dim = in_channel * 4
            self.flows = nn.ModuleList([Flow(squeeze_dim, conv_lu=conv_lu) for _ in range(n_flow)])
            self.prior = ZeroConv2d(in_channel * 4, in_channel * 8)

        def forward(self, input: Any) -> tuple[Any, Any, Any]:
            b_size, n_channel, height, width = input.shape
            squeezed = input.view(b_size, n_channel, height // 2, 2, width // 2, 2)
            squeezed = squeezed.permute(0, 1, 3, 5, 2, 4)
            out = squeezed.contiguous().view(b_size, n_channel * 4, height // 2, width // 2)
            logdet = 0
            for flow in self.flows:
                out, det = flow(out)
                logdet = logdet + det
            zero = torch.zeros_like(out)
            mean, log_sd = self.prior(zero).chunk(2, 1)
            log_p = gaussian_log_p(out, mean, log_sd)
            log_p = log_p.view(b_size, -1).sum(1)
            return out, logdet, log_p

        def reverse(self, z: Any) -> Any:
            input = z
            for flow in self.flows[::-1]:
                input = flow.reverse(input)
            b_size, n_channel, height, width = input.shape
            unsqueezed = input.view(b_size, n_channel // 4, 2, 2, height, width)
            unsqueezed = unsqueezed.permute(0, 1, 4, 2, 5, 3)
            return unsqueezed.contiguous().view(b_size, n_channel // 4, height * 2, width * 2)

    class Glow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block(IN_CHANNEL, N_FLOW)
            self.plain = InvConv2d(IN_CHANNEL * 4)

        def forward(self, input: Any) -> tuple[Any, Any, Any]:
            out, logdet, log_p = self.block(input)
            return log_p, logdet, out

        def reverse(self, z: Any) -> Any:
            return self.block.reverse(z)

    return Glow()


def calc_loss(log_p: Any, logdet: Any, image_size: int, n_bins: int) -> tuple[Any, Any, Any]:
    n_pixel = image_size * image_size * 3
    loss = -log(n_bins) * n_pixel
    loss = loss + logdet + log_p
    return (
        (-loss / (log(2) * n_pixel)).mean(),
        (log_p / (log(2) * n_pixel)).mean(),
        (logdet / (log(2) * n_pixel)).mean(),
    )


def lu_checks(torch_like: Any, model: Any) -> list[float]:
    """The LU weight is invertible with log|det| = sum(w_s); both LU APIs rebuild it."""
    torch = torch_like
    invconv = model.block.flows[0].invconv
    with torch.no_grad():
        weight = invconv.calc_weight().squeeze()
        sign, logabsdet = torch.linalg.slogdet(weight)
        LU, pivots = torch.linalg.lu_factor(weight)
        P, L, U = torch.lu_unpack(LU, pivots)
        P2, L2, U2 = torch.linalg.lu(weight)
        plain = model.plain.weight.squeeze()
        plain_logdet = torch.slogdet(plain.double())[1].float()
        eye = torch.eye(weight.shape[0])
        solved = torch.linalg.lu_solve(LU, pivots, eye) - weight.inverse()
        x = torch.arange(2 * 3 * 4 * 4.0).view(2, 3, 4, 4)
        squeezed = x.view(2, 3, 2, 2, 2, 2).permute(0, 1, 3, 5, 2, 4).contiguous().view(2, 12, 2, 2)
        unshuffled = torch.nn.functional.pixel_unshuffle(x, 2)
    return [
        solved.abs().max().item(),
        (squeezed - unshuffled).abs().max().item(),
        (logabsdet - invconv.w_s.sum()).abs().item(),
        (P @ L @ U - weight).abs().max().item(),
        (P2 @ L2 @ U2 - weight).abs().max().item(),
        (L - L2).abs().max().item(),
        sign.item(),
        plain_logdet.item(),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    model_single = make_model(torch_like)
    load_numpy_state(torch_like, model_single, init)
    model = torch.nn.DataParallel(model_single)
    n_bins = 2.0**N_BITS
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    image = as_tensor(torch_like, rng.random((BATCH, IN_CHANNEL, IMG, IMG)))
    image = image * 255
    if N_BITS < 8:
        image = torch.floor(image / 2 ** (8 - N_BITS))
    image = image / n_bins - 0.5
    actnorm = model.module.block.flows[0].actnorm
    values: list[float] = [float(actnorm.initialized.item())]
    for i in range(STEPS + 1):
        noise = as_tensor(torch_like, rng.random((BATCH, IN_CHANNEL, IMG, IMG)))
        if i == 0:
            with torch.no_grad():  # ActNorm's data-dependent initialisation
                log_p, logdet, _ = model.module(image + noise / n_bins)
                values += [float(actnorm.initialized.item()), logdet.mean().item()]
                continue
        log_p, logdet, _ = model(image + noise / n_bins)
        logdet = logdet.mean()
        loss, log_p, log_det = calc_loss(log_p, logdet, IMG, n_bins)
        model.zero_grad()
        loss.backward()
        warmup_lr = LR * min(1, i * BATCH / (STEPS * BATCH))
        optimizer.param_groups[0]["lr"] = warmup_lr
        optimizer.step()
        values += [loss.item(), log_p.item(), log_det.item(), warmup_lr]
        values += [model.module.block.flows[1].invconv.w_s.grad.abs().sum().item()]
    values += actnorm.loc.flatten().tolist()
    with torch.no_grad():
        _, _, z = model(image)
        back = model.module.reverse(z)
    values += [(back - image).abs().max().item()]
    return values + lu_checks(torch_like, model_single)


def check(values: list[float]) -> None:
    assert values[0] == 0.0 and values[1] == 1.0  # ActNorm initialises on its first batch
    assert values[-9] < 1e-9  # reverse inverts forward
    assert max(values[-8:-2]) < 1e-9  # LU log-determinant and factorisations agree
