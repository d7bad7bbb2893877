"""Glow as y0ast/Glow-PyTorch and the OpenAI-port repositories write its pieces (``modules.py``'s
``ActNorm2d``, ``InvertibleConv1x1``, ``Conv2dZeros``, ``squeeze2d``/``unsqueeze2d``,
``split_feature``, ``gaussian_likelihood``; ``model.py``'s ``FlowStep``; ``train.py``'s loop),
size-reduced. Unlike ``glow_flow`` (rosinality's, torch-side LU), the LU factors come from
``scipy.linalg.lu`` on a NumPy orthogonal matrix, and the reverse pass goes through
``torch.inverse`` of each factor.

The idioms: ``ActNorm`` with the data-dependent initialisation flag as a ``uint8`` buffer
(``register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))``, tested with
``if not self.initialized:``, set with ``.fill_(1)``), the statistics ``torch.mean(input.clone(),
dim=[0, 2, 3], keepdim=True)`` and ``torch.log(scale / (torch.sqrt(vars) + 1e-6))`` written
with ``self.bias.data.copy_(bias.data)``, the log-det ``torch.sum(self.logs) * h * w``;
``InvertibleConv1x1`` (``np.linalg.qr(np.random.randn(...))[0]``, ``scipy.linalg.lu(w_init)``,
``np.diag(np_u)``, ``np.sign``, ``np.log(np.abs(...))``, ``np.triu(np_u, k=1)``, ``np.tril(
np.ones(w_shape), -1)``, buffers from ``torch.Tensor(np_p.astype(np.float32))`` cast back with
``.to(torch.get_default_dtype())``, parameters ``nn.Parameter(torch.from_numpy(...))``, ``lower =
self.lower * self.l_mask + self.eye``, ``u = torch.triu(self.upper, 1)`` (the mask as
``torch.triu``), ``u = u + torch.diag(self.sign_s * torch.exp(self.log_s))``, ``weight =
torch.matmul(self.p, torch.matmul(lower, u))``, the reverse ``torch.matmul(u_inv,
torch.matmul(l_inv, p_inv))``, ``F.conv2d(input, weight.unsqueeze(2).unsqueeze(3))``, the
log-det ``h * w * torch.sum(self.log_s)``), the unfactored conv whose log-det is
``torch.slogdet(self.weight)[1] * h * w`` (compared with the LU one); ``Conv2dZeros``
(``self.logs = nn.Parameter(torch.zeros(out_channels, 1, 1))``, ``output * torch.exp(self.logs
* self.logscale_factor)``); the affine coupling (``split_feature(h, "cross")`` with ``h[:,
0::2, ...]``/``h[:, 1::2, ...]``, ``scale = torch.sigmoid(scale + 2.0)``, ``z2 = (z2 + shift)
* scale``, ``torch.sum(torch.log(scale), dim=[1, 2, 3])``, the reverse ``z2 / scale - shift``);
``squeeze2d`` / ``unsqueeze2d`` by ``view``/``permute``; ``gaussian_likelihood`` summed over
``dim=[1, 2, 3]``; the bits-per-dimension objective ``(-objective) / (math.log(2.0) * c * h
* w)`` with the dequantisation offset ``-math.log(n_bins) * c * h * w``; ``optim.Adamax(...,
weight_decay=5e-5)``, ``torch.nn.utils.clip_grad_value_`` and ``clip_grad_norm_``; and the
inverse pass checked to reconstruct the input.

Changed: CIFAR-10 -> 3x4x4 NumPy images dequantised with NumPy noise; L=3, K=32 -> one level of
two flow steps; hidden 512 -> 8; 250 epochs -> 4 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg

from ._common import load_numpy_state

__all__ = ["check", "make_model", "run"]

IN_CHANNELS, IMG, HIDDEN, K, BATCH, STEPS, N_BITS = 3, 4, 8, 2, 4, 4, 5


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class ActNorm2d(nn.Module):
        def __init__(self, num_features: int, scale: float = 1.0) -> None:
            super().__init__()
            size = [1, num_features, 1, 1]
            self.bias = nn.Parameter(torch.zeros(*size))
            self.logs = nn.Parameter(torch.zeros(*size))
            self.scale = scale
            self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

        def initialize_parameters(self, input: Any) -> None:
            if not self.training:
                raise ValueError("In Eval mode, but ActNorm not inited")
            with torch.no_grad():
                bias = -torch.mean(input.clone(), dim=[0, 2, 3], keepdim=True)
                vars = torch.mean((input.clone() + bias) ** 2, dim=[0, 2, 3], keepdim=True)
                logs = torch.log(self.scale / (torch.sqrt(vars) + 1e-6))
                self.bias.data.copy_(bias.data)
                self.logs.data.copy_(logs.data)
                self.initialized.fill_(1)

        def forward(self, input: Any, logdet: Any = None, reverse: bool = False):
            if not self.initialized:
                self.initialize_parameters(input)
            h, w = input.shape[2], input.shape[3]
            dlogdet = torch.sum(self.logs) * h * w
            if reverse:
                input = input * torch.exp(-self.logs) - self.bias
                dlogdet = -dlogdet
            else:
                input = (input + self.bias) * torch.exp(self.logs)
            if logdet is not None:
                logdet = logdet + dlogdet
            return input, logdet

    class InvertibleConv1x1(nn.Module):
        def __init__(self, num_channels: int, LU_decomposed: bool) -> None:
            super().__init__()
            w_shape = [num_channels, num_channels]
            w_init = np.linalg.qr(np.random.randn(*w_shape))[0]
            if not LU_decomposed:
                self.weight = nn.Parameter(torch.Tensor(w_init).to(torch.get_default_dtype()))
            else:
                np_p, np_l, np_u = scipy.linalg.lu(w_init)
                np_s = np.diag(np_u)
                np_sign_s = np.sign(np_s)
                np_log_s = np.log(np.abs(np_s))
                np_u = np.triu(np_u, k=1)
                l_mask = np.tril(np.ones(w_shape, dtype=np.float32), -1)
                eye = np.eye(*w_shape, dtype=np.float32)
                dtype = torch.get_default_dtype()
                self.register_buffer("p", torch.Tensor(np_p.astype(np.float32)).to(dtype))
                self.register_buffer("sign_s", torch.Tensor(np_sign_s.astype(np.float32)))
                self.lower = nn.Parameter(torch.from_numpy(np_l.astype(np.float32)).to(dtype))
                self.log_s = nn.Parameter(torch.from_numpy(np_log_s).to(dtype))
                self.upper = nn.Parameter(torch.from_numpy(np_u).to(dtype))
                self.l_mask = torch.Tensor(l_mask).to(dtype)
                self.eye = torch.Tensor(eye).to(dtype)
            self.w_shape = w_shape
            self.LU_decomposed = LU_decomposed

        def get_weight(self, input: Any, reverse: bool) -> tuple[Any, Any]:
            h, w = input.shape[2], input.shape[3]
            if not self.LU_decomposed:
                dlogdet = torch.slogdet(self.weight)[1] * h * w
                weight = torch.inverse(self.weight) if reverse else self.weight
            else:
                lower = self.lower * self.l_mask + self.eye
                u = torch.triu(self.upper, 1)
                u = u + torch.diag(self.sign_s * torch.exp(self.log_s))
                dlogdet = h * w * torch.sum(self.log_s)
                if reverse:
                    u_inv = torch.inverse(u)
                    l_inv = torch.inverse(lower)
                    p_inv = torch.inverse(self.p)
                    weight = torch.matmul(u_inv, torch.matmul(l_inv, p_inv))
                else:
                    weight = torch.matmul(self.p, torch.matmul(lower, u))
            return weight.unsqueeze(2).unsqueeze(3), dlogdet

        def forward(self, input: Any, logdet: Any = None, reverse: bool = False):
            weight, dlogdet = self.get_weight(input, reverse)
            z = F.conv2d(input, weight)
            if logdet is not None:
                logdet = logdet - dlogdet if reverse else logdet + dlogdet
            return z, logdet

    class Conv2dZeros(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, logscale_factor: float = 3):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
            self.conv.weight.data.zero_()
            self.conv.bias.data.zero_()
            self.logscale_factor = logscale_factor
            self.logs = nn.Parameter(torch.zeros(out_channels, 1, 1))

        def forward(self, input: Any) -> Any:
            output = self.conv(input)
            return output * torch.exp(self.logs * self.logscale_factor)

    def split_feature(tensor: Any, type: str = "split") -> tuple[Any, Any]:
        C = tensor.size(1)
        if type == "split":
            return tensor[:, : C // 2, ...], tensor[:, C // 2 :, ...]
        elif type == "cross":
            return tensor[:, 0::2, ...], tensor[:, 1::2, ...]
        raise ValueError(type)

    class FlowStep(nn.Module):
        def __init__(self, in_channels: int, hidden_channels: int, LU_decomposed: bool):
            super().__init__()
            self.actnorm = ActNorm2d(in_channels)
            self.invconv = InvertibleConv1x1(in_channels, LU_decomposed=LU_decomposed)
            self.block = nn.Sequential(
                nn.Conv2d(in_channels // 2, hidden_channels, 3, padding=1),
                nn.ReLU(inplace=False),
                nn.Conv2d(hidden_channels, hidden_channels, 1),
                nn.ReLU(inplace=False),
                Conv2dZeros(hidden_channels, in_channels),
            )

        def forward(self, input: Any, logdet: Any = None, reverse: bool = False):
            if not reverse:
                z, logdet = self.actnorm(input, logdet=logdet, reverse=False)
                z, logdet = self.invconv(z, logdet, False)
                z1, z2 = split_feature(z, "split")
                h = self.block(z1)
                shift, scale = split_feature(h, "cross")
                scale = torch.sigmoid(scale + 2.0)
                z2 = z2 + shift
                z2 = z2 * scale
                logdet = torch.sum(torch.log(scale), dim=[1, 2, 3]) + logdet
                return torch.cat((z1, z2), dim=1), logdet
            z1, z2 = split_feature(input, "split")
            h = self.block(z1)
            shift, scale = split_feature(h, "cross")
            scale = torch.sigmoid(scale + 2.0)
            z2 = z2 / scale
            z2 = z2 - shift
            logdet = -torch.sum(torch.log(scale), dim=[1, 2, 3]) + logdet
            z = torch.cat((z1, z2), dim=1)
            z, logdet = self.invconv(z, logdet, True)
            z, logdet = self.actnorm(z, logdet=logdet, reverse=True)
            return z, logdet

    class Glow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = IN_CHANNELS * 4
            self.flows = nn.ModuleList(
                [FlowStep(c, HIDDEN, LU_decomposed=(k % 2 == 0)) for k in range(K)]
            )
            self.learn_top_fn = Conv2dZeros(c * 2, c * 2)
            self.register_buffer("prior_h", torch.zeros([1, c * 2, IMG // 2, IMG // 2]))

        def prior(self, batch: int) -> tuple[Any, Any]:
            h = self.prior_h.repeat(batch, 1, 1, 1)
            h = self.learn_top_fn(h)
            return split_feature(h, "split")

        def forward(self, x: Any, reverse: bool = False) -> Any:
            if reverse:
                return self.reverse_flow(x)
            b, c, h, w = x.shape
            logdet = torch.zeros_like(x[:, 0, 0, 0])
            z = squeeze2d(x, 2)
            for flow in self.flows:
                z, logdet = flow(z, logdet, reverse=False)
            mean, logs = self.prior(b)
            objective = logdet + gaussian_likelihood(mean, logs, z)
            objective = objective - math.log(2**N_BITS) * c * h * w
            bpd = (-objective) / (math.log(2.0) * c * h * w)
            return z, bpd

        def reverse_flow(self, z: Any) -> Any:
            logdet = torch.zeros_like(z[:, 0, 0, 0])
            for flow in reversed(self.flows):
                z, logdet = flow(z, logdet, reverse=True)
            return unsqueeze2d(z, 2), logdet

    def squeeze2d(input: Any, factor: int) -> Any:
        B, C, H, W = input.size()
        x = input.view(B, C, H // factor, factor, W // factor, factor)
        x = x.permute(0, 1, 3, 5, 2, 4).contiguous()
        return x.view(B, C * factor * factor, H // factor, W // factor)

    def unsqueeze2d(input: Any, factor: int) -> Any:
        factor2 = factor**2
        B, C, H, W = input.size()
        x = input.view(B, C // factor2, factor, factor, H, W)
        x = x.permute(0, 1, 4, 2, 5, 3).contiguous()
        return x.view(B, C // factor2, H * factor, W * factor)

    def gaussian_p(mean: Any, logs: Any, x: Any) -> Any:
        c = math.log(2 * math.pi)
        return -0.5 * (logs * 2.0 + ((x - mean) ** 2) / torch.exp(logs * 2.0) + c)

    def gaussian_likelihood(mean: Any, logs: Any, x: Any) -> Any:
        p = gaussian_p(mean, logs, x)
        return torch.sum(p, dim=[1, 2, 3])

    np.random.seed(0)  # the orthogonal initial weights come from NumPy
    return Glow()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(5)
    n_bins = 2.0**N_BITS
    raw = rng.integers(0, 256, size=(BATCH, IN_CHANNELS, IMG, IMG)).astype(np.float64)
    x_np = np.floor(raw / 2 ** (8 - N_BITS)) / n_bins - 0.5
    values: list[float] = []
    flows = model.flows
    values.append(float(sum(int(f.actnorm.initialized) for f in flows)))

    # the LU and the plain parametrisations give the same log-determinant for the same matrix
    lu_conv, plain_conv = flows[0].invconv, flows[1].invconv
    probe = torch.zeros(1, IN_CHANNELS * 4, 2, 2)
    w_lu, d_lu = lu_conv.get_weight(probe, reverse=False)
    with torch.no_grad():
        plain_conv.weight.copy_(w_lu.squeeze())
    values += [d_lu.item(), plain_conv.get_weight(probe, reverse=False)[1].item()]

    optimizer = torch.optim.Adamax(model.parameters(), lr=1e-3, weight_decay=5e-5)
    model.train()
    for _ in range(STEPS):
        x = torch.tensor(x_np + rng.random(x_np.shape) / n_bins)
        optimizer.zero_grad()
        _, nll = model(x)
        loss = torch.mean(nll)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 5)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()
        values += [loss.item(), float(norm)]
    values.append(float(sum(int(f.actnorm.initialized) for f in flows)))
    values += flows[0].actnorm.logs.flatten().tolist()

    # the inverse pass reconstructs the input
    model.eval()
    with torch.no_grad():
        x = torch.tensor(x_np)
        z, _ = model(x)
        x_rec, _ = model(z, reverse=True)
        values.append((x_rec - x).abs().max().item())
        values += z.flatten()[:8].tolist()
    return values


def check(values: list[float]) -> None:
    assert values[0] == 0, "ActNorm starts uninitialised"
    assert abs(values[1] - values[2]) < 1e-9, values[1:3]
    assert values[3 + 2 * STEPS] == K
    rec_err = values[3 + 2 * STEPS + 1 + IN_CHANNELS * 4]
    assert rec_err < 1e-9, rec_err
