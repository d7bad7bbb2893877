"""Soft mixture of experts, as lucidrains/soft-moe-pytorch writes it (``soft_moe_pytorch/
soft_moe.py``'s ``SoftMoE``, ``RMSNorm``, ``FeedForward``, ``GEGLU``/``GLUFeedForward`` and
``Experts``; ``soft_moe_with_dynamic_slots.py``'s ``DynamicSlotsSoftMoE`` and
``pad_to_multiple``), size-reduced to a token classifier and an image model.

The idioms: ``l2norm(x) * self.scale * self.gamma`` RMSNorm (``F.normalize(t, dim = -1)``);
learned ``slot_embeds`` normalised and matched by ``einsum('b n d, e s d -> b n e s', x,
slot_embeds)``; the key-padding mask ``logits.masked_fill(~mask, -torch.finfo(logits.dtype).max)``;
``dispatch_weights = logits.softmax(dim = 1)`` (over tokens) and the combine softmax over the
flattened ``(e s)`` slots; ``einsum('b n d, b n e s -> b e s d', x, dispatch_weights)``, the
experts run on their slots and ``torch.stack``-ed back, ``einsum('b s d, b n s -> b n d', out,
combine_weights)``; the image branch's channels-last flatten and unflatten and the single-token
branch; ``GEGLU``'s ``x.chunk(2, dim = -1)`` and ``x * F.gelu(gate)``. Dynamic slots:
``pad_to_multiple``'s ``m.is_integer()``, ``pad_offset = (0,) * (-1 - dim) * 2`` and ``F.pad(tensor,
(*pad_offset, 0, remainder), value = value)`` (also on the boolean mask with ``value = False``),
``x_segmented.masked_fill(~segmented_mask[..., None], 0.)``, the masked mean ``num / den`` with
``.clamp(min = 1e-5)``, ``slots_mask = segmented_mask.any(dim = -1)``, a ``Linear`` to ``dim *
num_experts`` split per expert into slot embeddings, the second mask on the slots,
``einsum('b n d, b n e s -> e b s d', ...)`` iterated with ``zip(slots, self.experts)`` and
``out[:, :seq_len]``.

Changed: ``einops.rearrange``/``reduce``/``pack``/``unpack`` (and the ``Rearrange`` layer) ->
the equivalent ``reshape``/``permute``/``sum``/``mean``; the distributed ``Experts`` wrapper
(``all_gather``, CPU offload) -> its single-process path; dim 8, 4 experts of 2 slots,
sequence 7 (padded to 8 for dynamic slots), 3 Adam steps for each model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, EXPERTS, SLOTS, SEQ, CLASSES, BATCH, STEPS, IMG = 8, 4, 2, 7, 3, 2, 3, 3


def exists(val: Any) -> bool:
    return val is not None


def default(val: Any, d: Any) -> Any:
    return val if exists(val) else d


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    einsum = torch.einsum

    def l2norm(t: Any) -> Any:
        return F.normalize(t, dim=-1)

    def pad_to_multiple(tensor: Any, multiple: int, dim: int = -1, value: Any = 0) -> tuple:
        seqlen = tensor.shape[dim]
        m = seqlen / multiple
        if m.is_integer():
            return False, tensor
        remainder = math.ceil(m) * multiple - seqlen
        pad_offset = (0,) * (-1 - dim) * 2
        return True, F.pad(tensor, (*pad_offset, 0, remainder), value=value)

    class RMSNorm(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.scale = dim**0.5
            self.gamma = nn.Parameter(torch.ones(dim))

        def forward(self, x: Any) -> Any:
            return l2norm(x) * self.scale * self.gamma

    def FeedForward(dim: int, mult: int = 4, dropout: float = 0.0) -> Any:  # noqa: N802
        dim_hidden = int(dim * mult)
        return nn.Sequential(
            nn.Linear(dim, dim_hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim_hidden, dim)
        )

    class GEGLU(nn.Module):
        def forward(self, x: Any) -> Any:
            x, gate = x.chunk(2, dim=-1)
            return x * F.gelu(gate)

    def GLUFeedForward(dim: int, mult: int = 4, dropout: float = 0.0) -> Any:  # noqa: N802
        dim_hidden = int(dim * mult * 2 / 3)
        return nn.Sequential(
            nn.Linear(dim, dim_hidden * 2),
            GEGLU(),
            nn.Dropout(dropout),
            nn.Linear(dim_hidden, dim),
        )

    class Experts(nn.Module):
        def __init__(self, experts: list) -> None:
            super().__init__()
            self.num_experts = len(experts)
            self.experts = nn.ModuleList(experts)

        def forward(self, x: Any) -> Any:
            # b e n d -> e b n d
            x = x.permute(1, 0, 2, 3)
            outs = []
            for expert, expert_input in zip(self.experts, x):
                out = expert(expert_input)
                outs.append(out)
            if len(outs) > 0:
                outs = torch.stack(outs)
            else:
                outs = torch.empty_like(x).requires_grad_()
            return outs.permute(1, 0, 2, 3)  # e b n d -> b e n d

    class SoftMoE(nn.Module):
        def __init__(self, dim: int, *, seq_len: int | None = None, num_experts: int = 4,
                     num_slots: int | None = None, expert_mult: int = 4, dropout: float = 0.0,
                     geglu: bool = False) -> None:  # fmt: skip
            super().__init__()
            assert exists(seq_len) ^ exists(num_slots), (
                "either seq_len, or num_slots must be passed into SoftMoE"
            )
            if exists(seq_len):
                num_slots = default(num_slots, seq_len // num_experts)
            elif exists(num_slots):
                seq_len = num_slots * num_experts
            self.norm = RMSNorm(dim)
            self.slot_norm = RMSNorm(dim)
            self.slot_embeds = nn.Parameter(torch.randn(num_experts, num_slots, dim))
            expert_klass = GLUFeedForward if geglu else FeedForward
            self.experts = Experts(
                experts=[
                    expert_klass(dim=dim, mult=expert_mult, dropout=dropout)
                    for _ in range(num_experts)
                ]
            )

        def forward(self, x: Any, mask: Any = None) -> Any:
            is_single_token = x.ndim == 2
            is_image = x.ndim == 4
            if is_image:
                x = x.permute(0, 2, 3, 1)  # b d h w -> b h w d
                ps = x.shape[1:3]
                x = x.reshape(x.shape[0], -1, x.shape[-1])  # pack([x], 'b * d')
            elif is_single_token:
                x = x[:, None, :]  # b d -> b 1 d

            # following Algorithm 1, with the normalization they proposed, but with scaling of
            # both (the now popular rmsnorm + gamma)
            x = self.norm(x)
            slot_embeds = self.slot_norm(self.slot_embeds)
            logits = einsum("b n d, e s d -> b n e s", x, slot_embeds)

            # account for key padding mask
            if exists(mask):
                mask = mask[:, :, None, None]  # b n -> b n 1 1
                logits = logits.masked_fill(~mask, -torch.finfo(logits.dtype).max)

            # get dispatch and combine weights (softmax across right dimensions)
            dispatch_weights = logits.softmax(dim=1)
            combine_weights = logits.reshape(*logits.shape[:2], -1)  # b n e s -> b n (e s)
            combine_weights = combine_weights.softmax(dim=-1)

            # derive slots by weighted average of input tokens using the dispatch weights
            slots = einsum("b n d, b n e s -> b e s d", x, dispatch_weights)

            # route the slots per expert to each expert
            out = self.experts(slots)

            # combine back out
            out = out.reshape(out.shape[0], -1, out.shape[-1])  # b e s d -> b (e s) d
            out = einsum("b s d, b n s -> b n d", out, combine_weights)

            if is_image:
                out = out.reshape(out.shape[0], *ps, out.shape[-1])  # unpack
                out = out.permute(0, 3, 1, 2)  # b h w d -> b d h w
            elif is_single_token:
                out = out[:, 0]  # b 1 d -> b d
            return out

    class DynamicSlotsSoftMoE(nn.Module):
        def __init__(self, dim: int, *, num_experts: int = 4, expert_mult: int = 4,
                     dropout: float = 0.0, geglu: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.norm = RMSNorm(dim)
            self.num_experts = num_experts
            self.to_slot_embeds_proj = nn.Linear(dim, dim * num_experts, bias=False)
            self.to_slot_embeds_norm = RMSNorm(dim)
            expert_klass = GLUFeedForward if geglu else FeedForward
            self.experts = nn.ModuleList(
                [
                    expert_klass(dim=dim, mult=expert_mult, dropout=dropout)
                    for _ in range(num_experts)
                ]
            )

        def to_slot_embeds(self, x: Any) -> Any:
            x = self.to_slot_embeds_proj(x)
            b, n, _ = x.shape
            x = x.reshape(b, n, self.num_experts, -1).transpose(1, 2)  # b n (e d) -> b e n d
            return self.to_slot_embeds_norm(x)

        def forward(self, x: Any, mask: Any = None) -> Any:
            seq_len, num_experts = x.shape[-2], self.num_experts
            x = self.norm(x)

            # dynamic slot embeds
            # first average consecutive tokens, by number of experts
            # then, for each position, project out to that number of expert slot tokens
            # there should be # slots ~= sequence length, like in a usual MoE with 1 expert
            is_padded, x = pad_to_multiple(x, num_experts, dim=-2)
            if is_padded:
                if not exists(mask):
                    mask = torch.ones(x.shape[:2], device=x.device, dtype=torch.bool)
                _, mask = pad_to_multiple(mask, num_experts, dim=-1, value=False)

            b, n, d = x.shape
            x_segmented = x.reshape(b, n // num_experts, num_experts, d)  # b (n e) d -> b n e d

            if exists(mask):
                segmented_mask = mask.reshape(b, n // num_experts, num_experts)
                x_segmented = x_segmented.masked_fill(~segmented_mask[..., None], 0.0)

            # perform a masked mean
            if exists(mask):
                num = x_segmented.sum(dim=2)
                den = segmented_mask.float().sum(dim=2, keepdim=True).clamp(min=1e-5)
                x_consecutive_mean = num / den
                slots_mask = segmented_mask.any(dim=-1)
            else:
                x_consecutive_mean = x_segmented.mean(dim=2)

            # project to get dynamic slots embeddings
            slot_embeds = self.to_slot_embeds(x_consecutive_mean)

            logits = einsum("b n d, b e s d -> b n e s", x, slot_embeds)

            # account for key padding mask
            if exists(mask):
                mask = mask[:, :, None, None]  # b n -> b n 1 1
                slots_mask = slots_mask[:, None, None, :]  # b s -> b 1 1 s
                logits = logits.masked_fill(~mask, -torch.finfo(logits.dtype).max)
                logits = logits.masked_fill(~slots_mask, -torch.finfo(logits.dtype).max)

            # get dispatch and combine weights (softmax across right dimensions)
            dispatch_weights = logits.softmax(dim=1)
            combine_weights = logits.reshape(*logits.shape[:2], -1)  # b n e s -> b n (e s)
            combine_weights = combine_weights.softmax(dim=-1)

            # derive slots by weighted average of input tokens using the dispatch weights
            slots = einsum("b n d, b n e s -> e b s d", x, dispatch_weights)

            # route the slots per expert to each expert
            out = []
            for slots_per_expert, expert in zip(slots, self.experts):
                out.append(expert(slots_per_expert))
            out = torch.stack(out)

            # combine back out
            out = out.permute(1, 0, 2, 3).reshape(b, -1, d)  # e b s d -> b (e s) d
            out = einsum("b s d, b n s -> b n d", out, combine_weights)
            return out[:, :seq_len]

    class Models(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(DIM, DIM)
            self.soft = SoftMoE(DIM, num_slots=SLOTS, num_experts=EXPERTS, expert_mult=2)
            self.soft_glu = SoftMoE(DIM, seq_len=8, num_experts=EXPERTS, expert_mult=2, geglu=True)
            self.dynamic = DynamicSlotsSoftMoE(DIM, num_experts=EXPERTS, expert_mult=2)
            self.head = nn.Linear(DIM, CLASSES)

    return Models()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(41)
    tokens = rng.normal(size=(BATCH, SEQ, DIM))
    images = rng.normal(size=(BATCH, DIM, IMG, IMG))
    labels = rng.integers(0, CLASSES, (BATCH, SEQ))
    key_mask = np.ones((BATCH, SEQ), dtype=bool)
    key_mask[1, -2:] = False
    values: list[float] = []
    for variant in ("soft_tokens", "soft_masked", "soft_image", "soft_single", "dyn", "dyn_mask"):
        models = make_model(torch_like)
        load_numpy_state(torch_like, models, init)
        opt = torch.optim.Adam(models.parameters(), lr=1e-2)
        x, y = as_tensor(torch, tokens), as_tensor(torch, labels)
        mask = as_tensor(torch, key_mask)
        for _ in range(STEPS):
            h = models.embed(x)
            if variant == "soft_tokens":
                out = models.soft_glu(h)
            elif variant == "soft_masked":
                out = models.soft(h, mask=mask)
            elif variant == "soft_image":
                img = models.soft(as_tensor(torch, images))
                out = img.flatten(2).transpose(1, 2)[:, :SEQ] + h
            elif variant == "soft_single":
                out = models.soft(h[:, 0])[:, None, :] + h
            elif variant == "dyn":
                out = models.dynamic(h)
            else:
                out = models.dynamic(h, mask=mask)
            logits = models.head(out + h)
            loss = F.cross_entropy(logits.reshape(-1, CLASSES), y.reshape(-1), reduction="none")
            loss = (loss * mask.reshape(-1)).sum() / mask.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(loss.item())
        values.append(
            sum(p.grad.abs().sum().item() for p in models.parameters() if p.grad is not None)
        )
    return values
