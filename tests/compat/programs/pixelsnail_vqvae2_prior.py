"""rosinality/vq-vae-2-pytorch (``pixelsnail.py``, ``train_pixelsnail.py``, ``scheduler.py``,
``sample.py``), size-reduced: the PixelSNAIL priors over VQ-VAE-2's top and bottom code maps
trained a few steps with the one-cycle ``CycleScheduler``, then sampled autoregressively.

The idioms: ``wn_linear`` / ``WNConv2d`` (``nn.utils.weight_norm`` around ``nn.Linear`` /
``nn.Conv2d``, ``isinstance(kernel_size, int)``); ``shift_down`` / ``shift_right``
(``F.pad(input, [0, 0, size, 0])[:, :, : input.shape[2], :]``); ``CausalConv2d`` with
``'downright'`` / ``'down'`` / ``'causal'`` padding through ``nn.ZeroPad2d(pad)`` and, for
``'causal'``, the masked kernel rewritten before every forward by
``self.conv.conv.weight_v.data[:, :, -1, self.causal :].zero_()``; ``GatedResBlock``
(``partial(CausalConv2d, padding='causal')`` as the conv factory, ``activation=nn.ELU`` passed
as a class, an auxiliary ``WNConv2d`` input, a 1x1 ``WNConv2d`` condition added in place with
``out += condition``, ``nn.GLU(1)``, ``out += input``); ``causal_mask`` under
``@lru_cache(maxsize=64)`` (``np.triu(np.ones(shape), k=1).astype(np.uint8).T``,
``torch.from_numpy(mask).unsqueeze(0)``); ``CausalAttention`` (``input.view(batch, -1,
self.n_head, self.dim_head).transpose(1, 2)``, ``torch.matmul(query, key) /
sqrt(self.dim_head)``, ``mask.type_as(query)``, ``attn.masked_fill(mask == 0, -1e4)``,
``torch.softmax(attn, 3) * start_mask``, ``out.transpose(1, 2).reshape(batch, height, width,
...)``); ``PixelBlock``'s key/query ``GatedResBlock``s over ``torch.cat([input, out,
background], 1)``; ``PixelSNAIL`` (the coordinate ``background`` buffer from
``(torch.arange(height).float() - height / 2) / height`` and ``.view(1, 1, height,
1).expand(...)``, ``F.one_hot(input, self.n_class).permute(0, 3, 1, 2).type_as(self.background)``,
``self.background[:, :, :height, :].expand(batch, 2, height, width)``, the conditioning
``CondResNet`` upsampled by ``F.interpolate(condition, scale_factor=2)`` and kept as
``cache['condition'] = condition.detach().clone()``); ``train``'s ``model.zero_grad()``,
``nn.CrossEntropyLoss()`` on ``(B, n_class, H, W)`` logits, ``scheduler.step()`` before
``optimizer.step()``, ``_, pred = out.max(1)``, ``(pred == target).float()``; the
``CycleScheduler`` (``Phase`` objects with ``anneal_linear`` / ``anneal_cos``, writing
``group['lr']`` and ``group['betas'] = (momentum, group['betas'][1])`` of ``Adam``); and
``sample_model`` under ``@torch.no_grad()`` (``torch.zeros(batch, *size,
dtype=torch.int64)``, ``row[:, : i + 1, :]``, ``torch.softmax(out[:, :, i, j] / temperature,
1)``, ``torch.multinomial(prob, 1).squeeze(-1)``, ``row[:, i, j] = sample``).

Changed: code maps 32 x 32 / 64 x 64 -> 3 x 3 / 6 x 6 of 4 codes (512 there) from NumPy, channel
256 -> 16, res channel 8, one block of one residual block, 2 epochs of 2 steps; dropout 0.1 ->
0 (its masks would be drawn differently); ``tqdm`` left out; the float32 ``background`` buffer
makes the program float32, as the repository runs.
"""

from __future__ import annotations

import warnings
from functools import lru_cache, partial
from math import cos, pi, sqrt
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
N_CLASS = 4


def _pixelsnail(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def weight_norm(module: Any) -> Any:
        with warnings.catch_warnings():  # the hook is deprecated for parametrizations.weight_norm
            warnings.simplefilter("ignore", FutureWarning)
            return nn.utils.weight_norm(module)

    def wn_linear(in_dim, out_dim):  # noqa: ANN001, ANN202
        return weight_norm(nn.Linear(in_dim, out_dim))

    class WNConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, stride=1, padding=0, bias=True,
                     activation=None):  # noqa: ANN001 # fmt: skip
            super().__init__()

            self.conv = weight_norm(
                nn.Conv2d(
                    in_channel, out_channel, kernel_size, stride=stride, padding=padding, bias=bias
                )  # fmt: skip
            )

            self.out_channel = out_channel

            if isinstance(kernel_size, int):
                kernel_size = [kernel_size, kernel_size]

            self.kernel_size = kernel_size

            self.activation = activation

        def forward(self, input: Any) -> Any:
            out = self.conv(input)

            if self.activation is not None:
                out = self.activation(out)

            return out

    def shift_down(input, size=1):  # noqa: ANN001, ANN202
        return F.pad(input, [0, 0, size, 0])[:, :, : input.shape[2], :]

    def shift_right(input, size=1):  # noqa: ANN001, ANN202
        return F.pad(input, [size, 0, 0, 0])[:, :, :, : input.shape[3]]

    class CausalConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, stride=1, padding="downright",
                     activation=None):  # noqa: ANN001 # fmt: skip
            super().__init__()

            if isinstance(kernel_size, int):
                kernel_size = [kernel_size] * 2

            self.kernel_size = kernel_size

            if padding == "downright":
                pad = [kernel_size[1] - 1, 0, kernel_size[0] - 1, 0]

            elif padding == "down" or padding == "causal":  # noqa: PLR1714
                pad = kernel_size[1] // 2

                pad = [pad, pad, kernel_size[0] - 1, 0]

            self.causal = 0
            if padding == "causal":
                self.causal = kernel_size[1] // 2

            self.pad = nn.ZeroPad2d(pad)

            self.conv = WNConv2d(in_channel, out_channel, kernel_size, stride=stride, padding=0,
                                 activation=activation)  # fmt: skip

        def forward(self, input: Any) -> Any:
            out = self.pad(input)

            if self.causal > 0:
                self.conv.conv.weight_v.data[:, :, -1, self.causal :].zero_()

            out = self.conv(out)

            return out

    class GatedResBlock(nn.Module):
        def __init__(self, in_channel, channel, kernel_size, conv="wnconv2d", activation=nn.ELU,
                     dropout=0.1, auxiliary_channel=0, condition_dim=0):  # noqa: ANN001 # fmt: skip
            super().__init__()

            if conv == "wnconv2d":
                conv_module = partial(WNConv2d, padding=kernel_size // 2)

            elif conv == "causal_downright":
                conv_module = partial(CausalConv2d, padding="downright")

            elif conv == "causal":
                conv_module = partial(CausalConv2d, padding="causal")

            self.activation = activation()
            self.conv1 = conv_module(in_channel, channel, kernel_size)

            if auxiliary_channel > 0:
                self.aux_conv = WNConv2d(auxiliary_channel, channel, 1)

            self.dropout = nn.Dropout(dropout)

            self.conv2 = conv_module(channel, in_channel * 2, kernel_size)

            if condition_dim > 0:
                # self.condition = nn.Linear(condition_dim, in_channel * 2, bias=False)
                self.condition = WNConv2d(condition_dim, in_channel * 2, 1, bias=False)

            self.gate = nn.GLU(1)

        def forward(self, input: Any, aux_input: Any = None, condition: Any = None) -> Any:
            out = self.conv1(self.activation(input))

            if aux_input is not None:
                out = out + self.aux_conv(self.activation(aux_input))

            out = self.activation(out)
            out = self.dropout(out)
            out = self.conv2(out)

            if condition is not None:
                condition = self.condition(condition)
                out += condition
                # out = out + condition.view(condition.shape[0], 1, 1, condition.shape[1])

            out = self.gate(out)
            out += input

            return out

    @lru_cache(maxsize=64)
    def causal_mask(size):  # noqa: ANN001, ANN202
        shape = [size, size]
        mask = np.triu(np.ones(shape), k=1).astype(np.uint8).T
        start_mask = np.ones(size).astype(np.float32)
        start_mask[0] = 0

        return (
            torch.from_numpy(mask).unsqueeze(0),
            torch.from_numpy(start_mask).unsqueeze(1),
        )

    class CausalAttention(nn.Module):
        def __init__(self, query_channel, key_channel, channel, n_head=8, dropout=0.1):  # noqa: ANN001
            super().__init__()

            self.query = wn_linear(query_channel, channel)
            self.key = wn_linear(key_channel, channel)
            self.value = wn_linear(key_channel, channel)

            self.dim_head = channel // n_head
            self.n_head = n_head

            self.dropout = nn.Dropout(dropout)

        def forward(self, query: Any, key: Any) -> Any:
            batch, _, height, width = key.shape

            def reshape(input):  # noqa: ANN001, ANN202
                return input.view(batch, -1, self.n_head, self.dim_head).transpose(1, 2)

            query_flat = query.view(batch, query.shape[1], -1).transpose(1, 2)
            key_flat = key.view(batch, key.shape[1], -1).transpose(1, 2)
            query = reshape(self.query(query_flat))
            key = reshape(self.key(key_flat)).transpose(2, 3)
            value = reshape(self.value(key_flat))

            attn = torch.matmul(query, key) / sqrt(self.dim_head)
            mask, start_mask = causal_mask(height * width)
            mask = mask.type_as(query)
            start_mask = start_mask.type_as(query)
            attn = attn.masked_fill(mask == 0, -1e4)
            attn = torch.softmax(attn, 3) * start_mask
            attn = self.dropout(attn)

            out = attn @ value
            out = out.transpose(1, 2).reshape(batch, height, width, self.dim_head * self.n_head)
            out = out.permute(0, 3, 1, 2)

            return out

    class PixelBlock(nn.Module):
        def __init__(self, in_channel, channel, kernel_size, n_res_block, attention=True,
                     dropout=0.1, condition_dim=0):  # noqa: ANN001 # fmt: skip
            super().__init__()

            resblocks = []
            for _i in range(n_res_block):
                resblocks.append(
                    GatedResBlock(
                        in_channel,
                        channel,
                        kernel_size,
                        conv="causal",
                        dropout=dropout,
                        condition_dim=condition_dim,
                    )  # fmt: skip
                )

            self.resblocks = nn.ModuleList(resblocks)

            self.attention = attention

            if attention:
                self.key_resblock = GatedResBlock(in_channel * 2 + 2, in_channel, 1,
                                                  dropout=dropout)  # fmt: skip
                self.query_resblock = GatedResBlock(in_channel + 2, in_channel, 1,
                                                    dropout=dropout)  # fmt: skip

                self.causal_attention = CausalAttention(
                    in_channel + 2, in_channel * 2 + 2, in_channel // 2, dropout=dropout
                )

                self.out_resblock = GatedResBlock(in_channel, in_channel, 1,
                                                  auxiliary_channel=in_channel // 2,
                                                  dropout=dropout)  # fmt: skip

            else:
                self.out = WNConv2d(in_channel + 2, in_channel, 1)

        def forward(self, input: Any, background: Any, condition: Any = None) -> Any:
            out = input

            for resblock in self.resblocks:
                out = resblock(out, condition=condition)

            if self.attention:
                key_cat = torch.cat([input, out, background], 1)
                key = self.key_resblock(key_cat)
                query_cat = torch.cat([out, background], 1)
                query = self.query_resblock(query_cat)
                attn_out = self.causal_attention(query, key)
                out = self.out_resblock(out, attn_out)

            else:
                bg_cat = torch.cat([out, background], 1)
                out = self.out(bg_cat)

            return out

    class CondResNet(nn.Module):
        def __init__(self, in_channel, channel, kernel_size, n_res_block):  # noqa: ANN001
            super().__init__()

            blocks = [WNConv2d(in_channel, channel, kernel_size, padding=kernel_size // 2)]

            for _i in range(n_res_block):
                blocks.append(GatedResBlock(channel, channel, kernel_size, dropout=0.0))

            self.blocks = nn.Sequential(*blocks)

        def forward(self, input: Any) -> Any:
            return self.blocks(input)

    class PixelSNAIL(nn.Module):
        def __init__(self, shape, n_class, channel, kernel_size, n_block, n_res_block,
                     res_channel, attention=True, dropout=0.1, n_cond_res_block=0,
                     cond_res_channel=0, cond_res_kernel=3, n_out_res_block=0):  # noqa: ANN001 # fmt: skip
            super().__init__()

            height, width = shape

            self.n_class = n_class

            if kernel_size % 2 == 0:
                kernel = kernel_size + 1

            else:
                kernel = kernel_size

            self.horizontal = CausalConv2d(n_class, channel, [kernel // 2, kernel], padding="down")
            self.vertical = CausalConv2d(n_class, channel, [(kernel + 1) // 2, kernel // 2],
                                         padding="downright")  # fmt: skip

            coord_x = (torch.arange(height).float() - height / 2) / height
            coord_x = coord_x.view(1, 1, height, 1).expand(1, 1, height, width)
            coord_y = (torch.arange(width).float() - width / 2) / width
            coord_y = coord_y.view(1, 1, 1, width).expand(1, 1, height, width)
            self.register_buffer("background", torch.cat([coord_x, coord_y], 1))

            self.blocks = nn.ModuleList()

            for _i in range(n_block):
                self.blocks.append(
                    PixelBlock(
                        channel,
                        res_channel,
                        kernel_size,
                        n_res_block,
                        attention=attention,
                        dropout=dropout,
                        condition_dim=cond_res_channel,
                    )  # fmt: skip
                )

            if n_cond_res_block > 0:
                self.cond_resnet = CondResNet(n_class, cond_res_channel, cond_res_kernel,
                                              n_cond_res_block)  # fmt: skip

            out = []

            for _i in range(n_out_res_block):
                out.append(GatedResBlock(channel, res_channel, 1, dropout=dropout))

            out.extend([nn.ELU(inplace=True), WNConv2d(channel, n_class, 1)])

            self.out = nn.Sequential(*out)

        def forward(self, input: Any, condition: Any = None, cache: Any = None) -> Any:
            if cache is None:
                cache = {}
            batch, height, width = input.shape
            input = F.one_hot(input, self.n_class).permute(0, 3, 1, 2).type_as(self.background)
            horizontal = shift_down(self.horizontal(input))
            vertical = shift_right(self.vertical(input))
            out = horizontal + vertical

            background = self.background[:, :, :height, :].expand(batch, 2, height, width)

            if condition is not None:
                if "condition" in cache:
                    condition = cache["condition"]
                    condition = condition[:, :, :height, :]

                else:
                    condition = (
                        F.one_hot(condition, self.n_class)
                        .permute(0, 3, 1, 2)
                        .type_as(self.background)
                    )
                    condition = self.cond_resnet(condition)
                    condition = F.interpolate(condition, scale_factor=2)
                    cache["condition"] = condition.detach().clone()
                    condition = condition[:, :, :height, :]

            for block in self.blocks:
                out = block(out, background, condition=condition)

            out = self.out(out)

            return out, cache

    return PixelSNAIL


def _cycle_scheduler() -> Any:
    def anneal_linear(start, end, proportion):  # noqa: ANN001, ANN202
        return start + proportion * (end - start)

    def anneal_cos(start, end, proportion):  # noqa: ANN001, ANN202
        cos_val = cos(pi * proportion) + 1

        return end + (start - end) / 2 * cos_val

    class Phase:
        def __init__(self, start, end, n_iter, anneal_fn):  # noqa: ANN001
            self.start, self.end = start, end
            self.n_iter = n_iter
            self.anneal_fn = anneal_fn
            self.n = 0

        def step(self) -> float:
            self.n += 1

            return self.anneal_fn(self.start, self.end, self.n / self.n_iter)

        def reset(self) -> None:
            self.n = 0

        @property
        def is_done(self) -> bool:
            return self.n >= self.n_iter

    class CycleScheduler:
        def __init__(self, optimizer, lr_max, n_iter, momentum=(0.95, 0.85), divider=25,
                     warmup_proportion=0.3, phase=("linear", "cos")):  # noqa: ANN001 # fmt: skip
            self.optimizer = optimizer

            phase1 = int(n_iter * warmup_proportion)
            phase2 = n_iter - phase1
            lr_min = lr_max / divider

            phase_map = {"linear": anneal_linear, "cos": anneal_cos}

            self.lr_phase = [
                Phase(lr_min, lr_max, phase1, phase_map[phase[0]]),
                Phase(lr_max, lr_min / 1e4, phase2, phase_map[phase[1]]),
            ]

            self.momentum = momentum

            if momentum is not None:
                mom1, mom2 = momentum
                self.momentum_phase = [
                    Phase(mom1, mom2, phase1, phase_map[phase[0]]),
                    Phase(mom2, mom1, phase2, phase_map[phase[1]]),
                ]

            else:
                self.momentum_phase = []

            self.phase = 0

        def step(self) -> tuple[float, float | None]:
            lr = self.lr_phase[self.phase].step()

            if self.momentum is not None:
                momentum = self.momentum_phase[self.phase].step()

            else:
                momentum = None

            for group in self.optimizer.param_groups:
                group["lr"] = lr

                if self.momentum is not None:
                    if "betas" in group:
                        group["betas"] = (momentum, group["betas"][1])

                    else:
                        group["momentum"] = momentum

            if self.lr_phase[self.phase].is_done:
                self.phase += 1

            if self.phase >= len(self.lr_phase):
                for phase in self.lr_phase:
                    phase.reset()

                for phase in self.momentum_phase:
                    phase.reset()

                self.phase = 0

            return lr, momentum

    return CycleScheduler


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    PixelSNAIL = _pixelsnail(torch_like)

    class Priors(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.top = PixelSNAIL([3, 3], N_CLASS, 16, 5, 1, 1, 8, attention=True, dropout=0.0)
            self.bottom = PixelSNAIL(
                [6, 6], N_CLASS, 16, 5, 1, 1, 8, attention=False, dropout=0.0,
                n_cond_res_block=1, cond_res_channel=8,
            )  # fmt: skip

    return Priors()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    priors = make_model(torch_like)
    load_numpy_state(torch_like, priors, init)
    rng = np.random.default_rng(5)
    CycleScheduler = _cycle_scheduler()
    values: list[float] = []
    criterion = nn.CrossEntropyLoss()
    for hier, model in (("top", priors.top), ("bottom", priors.bottom)):
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        scheduler = CycleScheduler(optimizer, 3e-3, n_iter=4, momentum=None)
        if hier == "top":
            scheduler = CycleScheduler(optimizer, 3e-3, n_iter=4)
        for _epoch in range(2):
            for _i in range(2):
                top = torch.from_numpy(rng.integers(0, N_CLASS, (2, 3, 3)))
                bottom = torch.from_numpy(rng.integers(0, N_CLASS, (2, 6, 6)))
                model.zero_grad()
                if hier == "top":
                    target = top
                    out, _ = model(top)
                elif hier == "bottom":
                    target = bottom
                    out, _ = model(bottom, condition=top)
                loss = criterion(out, target)
                loss.backward()

                if scheduler is not None:
                    scheduler.step()
                optimizer.step()

                _, pred = out.max(1)
                correct = (pred == target).float()
                accuracy = correct.sum() / target.numel()

                lr = optimizer.param_groups[0]["lr"]
                values += [loss.item(), accuracy.item(), lr, optimizer.param_groups[0]["betas"][0]]

    @torch.no_grad()
    def sample_model(model, batch, size, temperature, condition=None):  # noqa: ANN001, ANN202
        row = torch.zeros(batch, *size, dtype=torch.int64)
        cache = {}

        for i in range(size[0]):
            for j in range(size[1]):
                out, cache = model(row[:, : i + 1, :], condition=condition, cache=cache)
                prob = torch.softmax(out[:, :, i, j] / temperature, 1)
                sample = torch.multinomial(prob, 1).squeeze(-1)
                row[:, i, j] = sample

        return row

    torch.manual_seed(0)
    priors.eval()
    top_sample = sample_model(priors.top, 2, [3, 3], 1.0)
    bottom_sample = sample_model(priors.bottom, 2, [6, 6], 1.0, condition=top_sample)
    values += [float(top_sample.sum()), float(bottom_sample.sum()),
               float((bottom_sample * torch.arange(6)).sum())]  # fmt: skip
    return values
