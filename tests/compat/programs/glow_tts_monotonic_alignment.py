"""Kim et al. 2020 "Glow-TTS: A Generative Flow for Text-to-Speech via Monotonic Alignment Search"
as jaywalnut310/glow-tts writes its training step (``models.py``'s ``FlowGenerator``,
``commons.py``, the NumPy ``monotonic_align`` fallback that VITS also ships), size-reduced:
``sequence_mask`` (``torch.arange(max_length, dtype=length.dtype)``, ``x.unsqueeze(0) <
length.unsqueeze(1)``) and ``attn_mask = torch.unsqueeze(x_mask, -1) * torch.unsqueeze(z_mask,
2)``; a text encoder (``nn.Embedding`` scaled by ``math.sqrt(hidden)``, ``Conv1d`` layers under
the mask, ``proj_m``/``proj_s`` for the prior's means and log-scales) and a duration predictor
on ``x.detach()``; the decoder flow as ``ActNorm`` (``logdet = torch.sum(self.logs) * x_len``),
``InvConvNear`` (a ``torch.linalg.qr`` of ``torch.FloatTensor(n, n).normal_()`` with its first
column flipped when ``torch.det(w_init) < 0``, ``F.conv2d`` over the channel groups,
``torch.logdet(self.weight)``, ``torch.inverse`` in reverse) and an affine coupling
(``torch.split(x, [c // 2, c - c // 2], 1)``, a WaveNet ``WN`` of dilated ``Conv1d``s under
``weight_norm`` with the ``@torch.jit.script`` gate ``fused_add_tanh_sigmoid_multiply`` on
``torch.IntTensor([hidden])``, ``z1 = (m + torch.exp(logs) * x1) * x_mask``); the alignment
log-likelihood under ``torch.no_grad()`` by the matmul expansion (``x_s_sq_r = torch.exp(-2 *
x_logs)``, ``logp1 = torch.sum(-0.5 * math.log(2 * math.pi) - x_logs, [1]).unsqueeze(-1)``,
``logp2 = torch.matmul(x_s_sq_r.transpose(1, 2), -0.5 * (z ** 2))``, ``logp3``, ``logp4``);
``maximum_path`` in NumPy over ``value.cpu().detach() .numpy()`` (the forward pass keeping, per
frame, whether staying beats advancing with ``np.pad`` and ``np.where``; the backtrack writing
``path[index_range, index, j] = 1``) turned back into a tensor with
``torch.from_numpy(path).to(device=device, dtype=dtype)``; the expanded prior ``z_m =
torch.matmul(attn.squeeze(1).transpose(1, 2), x_m.transpose(1, 2)).transpose(1, 2)``; the target
log durations ``logw_ = torch.log(1e-8 + torch.sum(attn, -1)) * x_mask``; ``mle_loss`` and
``duration_loss`` (``torch.sum((logw - logw_) ** 2) / torch.sum(lengths)``); Adam with
``clip_grad_value_``; and inference's ``generate_path`` (``torch.ceil`` of ``exp(logw)``,
``torch.cumsum``, ``sequence_mask`` on float lengths, ``F.pad(path, convert_pad_shape([[0, 0],
[1, 0], [0, 0]]))[:, :-1]``).

Changed: phonemes and mel frames are NumPy draws (batch 2, 4 mel channels, text lengths 5 and 3,
mel lengths 12 and 7); one conv layer in the encoder, one flow step of 2 WN layers; no squeeze
(``n_sqz = 1``); 3 optimizer steps, then one inference pass. Glow-TTS trains in float32
(``torch.FloatTensor`` for the 1x1 convolution's start), as here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5
VOCAB, HIDDEN, MEL, STEPS = 10, 8, 4, 3
MAX_NEG_VAL = -1e9


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    weight_norm = (
        torch_like.nn.utils.parametrizations.weight_norm
    )  # nn.utils.weight_norm's successor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated

        @torch.jit.script
        def fused_add_tanh_sigmoid_multiply(input_a, input_b, n_channels):  # TorchScript: Tensors
            n_channels_int = n_channels[0]
            in_act = input_a + input_b
            t_act = torch.tanh(in_act[:, :n_channels_int, :])
            s_act = torch.sigmoid(in_act[:, n_channels_int:, :])
            return t_act * s_act

    class TextEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(VOCAB, HIDDEN)
            nn.init.normal_(self.emb.weight, 0.0, HIDDEN**-0.5)
            self.conv = nn.Conv1d(HIDDEN, HIDDEN, 3, padding=1)
            self.proj_m = nn.Conv1d(HIDDEN, MEL, 1)
            self.proj_s = nn.Conv1d(HIDDEN, MEL, 1)
            self.proj_w = nn.Sequential(
                nn.Conv1d(HIDDEN, HIDDEN, 3, padding=1), nn.ReLU(), nn.Conv1d(HIDDEN, 1, 1)
            )

        def forward(self, x: Any, x_mask: Any) -> tuple[Any, Any, Any]:
            x = self.emb(x) * math.sqrt(HIDDEN)  # [b, t, h]
            x = torch.transpose(x, 1, -1)  # [b, h, t]
            x = torch.relu(self.conv(x * x_mask)) * x_mask
            x_m = self.proj_m(x) * x_mask
            x_logs = self.proj_s(x) * x_mask
            logw = self.proj_w(x.detach() * x_mask) * x_mask
            return x_m, x_logs, logw

    class ActNorm(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.logs = nn.Parameter(torch.zeros(1, channels, 1))
            self.bias = nn.Parameter(torch.zeros(1, channels, 1))

        def forward(self, x: Any, x_mask: Any, reverse: bool = False) -> tuple[Any, Any]:
            x_len = torch.sum(x_mask, [1, 2])
            if not reverse:
                z = (self.bias + torch.exp(self.logs) * x) * x_mask
                logdet = torch.sum(self.logs) * x_len
            else:
                z = (x - self.bias) * torch.exp(-self.logs) * x_mask
                logdet = None
            return z, logdet

    class InvConvNear(nn.Module):
        def __init__(self, channels: int, n_split: int = 4) -> None:
            super().__init__()
            self.channels = channels
            self.n_split = n_split
            w_init = torch.linalg.qr(torch.FloatTensor(self.n_split, self.n_split).normal_())[0]
            if torch.det(w_init) < 0:
                w_init[:, 0] = -1 * w_init[:, 0]
            self.weight = nn.Parameter(w_init)

        def forward(self, x: Any, x_mask: Any, reverse: bool = False) -> tuple[Any, Any]:
            b, c, t = x.size()
            x_len = torch.sum(x_mask, [1, 2])
            x = x.view(b, 2, c // self.n_split, self.n_split // 2, t)
            x = x.permute(0, 1, 3, 2, 4).contiguous().view(b, self.n_split, c // self.n_split, t)
            if reverse:
                weight = torch.inverse(self.weight.float()).to(dtype=self.weight.dtype)
                logdet = None
            else:
                weight = self.weight
                logdet = torch.logdet(self.weight) * (c / self.n_split) * x_len
            weight = weight.view(self.n_split, self.n_split, 1, 1)
            z = F.conv2d(x, weight)
            z = z.view(b, 2, self.n_split // 2, c // self.n_split, t)
            z = z.permute(0, 1, 3, 2, 4).contiguous().view(b, c, t) * x_mask
            return z, logdet

    class WN(nn.Module):
        def __init__(self, hidden_channels: int, kernel_size: int, n_layers: int) -> None:
            super().__init__()
            self.hidden_channels = hidden_channels
            self.n_layers = n_layers
            self.in_layers = nn.ModuleList()
            self.res_skip_layers = nn.ModuleList()
            for i in range(n_layers):
                dilation = 2**i
                padding = int((kernel_size * dilation - dilation) / 2)
                in_layer = nn.Conv1d(
                    hidden_channels,
                    2 * hidden_channels,
                    kernel_size,
                    dilation=dilation,
                    padding=padding,
                )
                self.in_layers.append(weight_norm(in_layer, name="weight"))
                res_skip_channels = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
                res_skip_layer = nn.Conv1d(hidden_channels, res_skip_channels, 1)
                self.res_skip_layers.append(weight_norm(res_skip_layer, name="weight"))

        def forward(self, x: Any, x_mask: Any) -> Any:
            output = torch.zeros_like(x)
            n_channels_tensor = torch.IntTensor([self.hidden_channels])
            for i in range(self.n_layers):
                x_in = self.in_layers[i](x)
                acts = fused_add_tanh_sigmoid_multiply(
                    x_in, torch.zeros_like(x_in), n_channels_tensor
                )
                res_skip_acts = self.res_skip_layers[i](acts)
                if i < self.n_layers - 1:
                    x = (x + res_skip_acts[:, : self.hidden_channels, :]) * x_mask
                    output = output + res_skip_acts[:, self.hidden_channels :, :]
                else:
                    output = output + res_skip_acts
            return output * x_mask

    class CouplingBlock(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.start = weight_norm(nn.Conv1d(channels // 2, HIDDEN, 1))
            self.end = nn.Conv1d(HIDDEN, channels, 1)
            self.end.weight.data.zero_()
            self.end.bias.data.zero_()
            self.wn = WN(HIDDEN, 3, 2)

        def forward(self, x: Any, x_mask: Any, reverse: bool = False) -> tuple[Any, Any]:
            b, c, t = x.size()
            x_0, x_1 = torch.split(x, [c // 2, c - c // 2], 1)
            x = self.start(x_0) * x_mask
            x = self.wn(x, x_mask)
            out = self.end(x)
            m = out[:, : c // 2, :]
            logs = out[:, c // 2 :, :]
            if not reverse:
                z_1 = (m + torch.exp(logs) * x_1) * x_mask
                logdet = torch.sum(logs * x_mask, [1, 2])
            else:
                z_1 = (x_1 - m) * torch.exp(-logs) * x_mask
                logdet = None
            return torch.cat([x_0, z_1], 1), logdet

    class FlowGenerator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = TextEncoder()
            self.flows = nn.ModuleList([ActNorm(MEL), InvConvNear(MEL), CouplingBlock(MEL)])

        def decoder(self, y: Any, y_mask: Any, reverse: bool = False) -> tuple[Any, Any]:
            flows = reversed(self.flows) if reverse else self.flows
            logdet_tot = 0
            for f in flows:
                y, logdet = f(y, y_mask, reverse=reverse)
                if logdet is not None:
                    logdet_tot = logdet_tot + logdet
            return y, logdet_tot

    return FlowGenerator()


def maximum_path(value: Any, mask: Any, torch_like: Any) -> Any:
    """Monotonic alignment search: the path through ``value`` [b, t_x, t_y] (text by frames)
    of greatest total that starts at (0, 0), ends at (len_x - 1, len_y - 1) and at each frame
    stays on a token or moves to the next one."""
    value = value * mask
    device = value.device
    dtype = value.dtype
    value = value.cpu().detach().numpy()
    mask = mask.cpu().detach().numpy().astype(bool)

    b, t_x, t_y = value.shape
    direction = np.zeros(value.shape, dtype=np.int64)
    v = np.zeros((b, t_x), dtype=np.float64)
    x_range = np.arange(t_x, dtype=np.float64).reshape(1, -1)
    for j in range(t_y):
        v0 = np.pad(v, [[0, 0], [1, 0]], mode="constant", constant_values=MAX_NEG_VAL)[:, :-1]
        v1 = v
        max_mask = v1 >= v0
        v_max = np.where(max_mask, v1, v0)
        direction[:, :, j] = max_mask
        index_mask = x_range <= j
        v = np.where(index_mask, v_max + value[:, :, j], MAX_NEG_VAL)
    direction = np.where(mask, direction, 1)

    path = np.zeros(value.shape, dtype=np.float64)
    index = mask[:, :, 0].sum(1).astype(np.int64) - 1
    index_range = np.arange(b)
    for j in reversed(range(t_y)):
        path[index_range, index, j] = 1
        index = index + direction[index_range, index, j] - 1
    path = path * mask.astype(np.float64)
    return torch_like.from_numpy(path).to(device=device, dtype=dtype)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def sequence_mask(length: Any, max_length: Any = None) -> Any:
        if max_length is None:
            max_length = length.max()
        x = torch.arange(max_length, dtype=length.dtype, device=length.device)
        return x.unsqueeze(0) < length.unsqueeze(1)

    def convert_pad_shape(pad_shape: list[list[int]]) -> list[int]:
        reversed_shape = pad_shape[::-1]
        return [item for sublist in reversed_shape for item in sublist]

    def generate_path(duration: Any, mask: Any) -> Any:
        b, t_x, t_y = mask.shape
        cum_duration = torch.cumsum(duration, 1)
        cum_duration_flat = cum_duration.view(b * t_x)
        path = sequence_mask(cum_duration_flat, t_y).to(mask.dtype)
        path = path.view(b, t_x, t_y)
        path = path - F.pad(path, convert_pad_shape([[0, 0], [1, 0], [0, 0]]))[:, :-1]
        return path * mask

    x_lengths = torch.tensor([5, 3])
    y_lengths = torch.tensor([12, 7])
    x = as_tensor(torch, rng.integers(1, VOCAB, (2, 5)))
    y = as_tensor(torch, rng.standard_normal((2, MEL, 12)).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.98), eps=1e-9)
    values: list[float] = []
    model.train()
    for _ in range(STEPS):
        x_mask = torch.unsqueeze(sequence_mask(x_lengths, x.size(1)), 1).to(y.dtype)
        x_m, x_logs, logw = model.encoder(x, x_mask)
        z_mask = torch.unsqueeze(sequence_mask(y_lengths, y.size(2)), 1).to(x_mask.dtype)
        attn_mask = torch.unsqueeze(x_mask, -1) * torch.unsqueeze(z_mask, 2)
        z, logdet = model.decoder(y, z_mask)
        with torch.no_grad():
            x_s_sq_r = torch.exp(-2 * x_logs)
            logp1 = torch.sum(-0.5 * math.log(2 * math.pi) - x_logs, [1]).unsqueeze(-1)
            logp2 = torch.matmul(x_s_sq_r.transpose(1, 2), -0.5 * (z**2))
            logp3 = torch.matmul((x_m * x_s_sq_r).transpose(1, 2), z)
            logp4 = torch.sum(-0.5 * (x_m**2) * x_s_sq_r, [1]).unsqueeze(-1)
            logp = logp1 + logp2 + logp3 + logp4  # [b, t_x, t_y]
            attn = maximum_path(logp, attn_mask.squeeze(1), torch_like).unsqueeze(1).detach()
        z_m = torch.matmul(attn.squeeze(1).transpose(1, 2), x_m.transpose(1, 2)).transpose(1, 2)
        z_logs = torch.matmul(attn.squeeze(1).transpose(1, 2), x_logs.transpose(1, 2)).transpose(
            1, 2
        )
        logw_ = torch.log(1e-8 + torch.sum(attn, -1)) * x_mask

        l_mle = 0.5 * math.log(2 * math.pi) + (
            torch.sum(z_logs)
            + 0.5 * torch.sum(torch.exp(-2 * z_logs) * (z - z_m) ** 2)
            - torch.sum(logdet)
        ) / (torch.sum(y_lengths) * MEL)
        l_length = torch.sum((logw - logw_) ** 2) / torch.sum(x_lengths)
        loss = l_mle + l_length
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 5.0)
        opt.step()
        values += [
            l_mle.item(),
            l_length.item(),
            logp.masked_fill(attn_mask.squeeze(1) == 0, 0).sum().item(),
        ]
        values += attn.sum(-1).flatten().tolist()  # durations found by the search
        values.append((attn.squeeze(1) * logp).sum().item())

    model.eval()
    with torch.no_grad():
        x_mask = torch.unsqueeze(sequence_mask(x_lengths, x.size(1)), 1).to(y.dtype)
        x_m, x_logs, logw = model.encoder(x, x_mask)
        w = torch.exp(logw) * x_mask * 1.0
        w_ceil = torch.ceil(w)
        y_lengths_out = torch.clamp_min(torch.sum(w_ceil, [1, 2]), 1).long()
        y_max_length = None
        z_mask = torch.unsqueeze(sequence_mask(y_lengths_out, y_max_length), 1).to(x_mask.dtype)
        attn_mask = torch.unsqueeze(x_mask, -1) * torch.unsqueeze(z_mask, 2)
        attn = generate_path(w_ceil.squeeze(1), attn_mask.squeeze(1)).unsqueeze(1)
        z_m = torch.matmul(attn.squeeze(1).transpose(1, 2), x_m.transpose(1, 2)).transpose(1, 2)
        z_logs = torch.matmul(attn.squeeze(1).transpose(1, 2), x_logs.transpose(1, 2)).transpose(
            1, 2
        )
        eps = as_tensor(torch, rng.standard_normal(tuple(z_m.shape)).astype(np.float32))
        z = (z_m + torch.exp(z_logs) * eps * 0.333) * z_mask
        y_gen, _ = model.decoder(z, z_mask, reverse=True)
    values += y_lengths_out.tolist() + attn.sum(-1).flatten().tolist()
    values += [y_gen.abs().sum().item(), y_gen.shape[-1]]
    return values
