"""Flamingo, as lucidrains/flamingo-pytorch writes it (``PerceiverResampler``,
``PerceiverAttention``, ``MaskedCrossAttention``, ``GatedCrossAttentionBlock``) and as the
Flamingo paper trains it (a frozen language model, only the resampler and the gated layers
learn), size-reduced; the ``einops`` rearranges are written out with ``reshape``/``permute``.

The idioms: ``nn.Parameter(torch.randn(num_latents, dim))`` latents and
``nn.Parameter(torch.randn(num_media_embeds, 1, dim))`` media-time embeddings added with
``self.media_pos_emb[:times]``; the Perceiver attention whose keys are ``torch.cat((x, latents),
dim=-2)``, ``self.to_kv(kv_input).chunk(2, dim=-1)``, the ellipsis einsums ``torch.einsum('...
i d, ... j d -> ... i j', q, k)`` and ``'... i j, ... j d -> ... i d'``, the stabilised softmax
``sim - sim.amax(dim=-1, keepdim=True).detach()``; the latents broadcast with ``expand``;
the tanh gates ``nn.Parameter(torch.tensor([0.]))`` (zero at the start, so the frozen model's
output is untouched) applied as ``x = self.attn(x, media, media_locations) *
self.attn_gate.tanh() + x``; the media-location masking ``text_time =
media_locations.cumsum(dim=-1)``, ``torch.eq`` / ``torch.ge`` against ``torch.arange(t) + 1``
repeated over the media tokens (``repeat_interleave``), ``sim.masked_fill(~mask,
-torch.finfo(sim.dtype).max)`` and ``attn.masked_fill(text_without_media_mask, 0.)``; the
frozen LM (``requires_grad_(False)``, ``filter(lambda p: p.requires_grad, ...)`` for AdamW);
and the ``FeedForward`` ``nn.Sequential(LayerNorm, Linear(bias=False), GELU, Linear)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, HEADS, DIM_HEAD, LATENTS, VOCAB, SEQ, MEDIA, TOKENS, STEPS = 8, 2, 4, 3, 11, 7, 2, 5, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def FeedForward(dim: int, mult: int = 2) -> Any:
        inner_dim = int(dim * mult)
        return nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, inner_dim, bias=False),
            nn.GELU(),
            nn.Linear(inner_dim, dim, bias=False),
        )

    class PerceiverAttention(nn.Module):
        def __init__(self, *, dim: int, dim_head: int = 64, heads: int = 8) -> None:
            super().__init__()
            self.scale = dim_head**-0.5
            self.heads = heads
            inner_dim = dim_head * heads
            self.norm_media = nn.LayerNorm(dim)
            self.norm_latents = nn.LayerNorm(dim)
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_kv = nn.Linear(dim, inner_dim * 2, bias=False)
            self.to_out = nn.Linear(inner_dim, dim, bias=False)

        def forward(self, x: Any, latents: Any) -> Any:
            x = self.norm_media(x)
            latents = self.norm_latents(latents)
            b, m, h = *x.shape[:2], self.heads  # noqa: F841 (as in the source)
            q = self.to_q(latents)
            kv_input = torch.cat((x, latents), dim=-2)
            k, v = self.to_kv(kv_input).chunk(2, dim=-1)
            # rearrange_many((q, k, v), 'b t n (h d) -> b h t n d', h=h)
            q, k, v = (t.reshape(*t.shape[:3], h, -1).permute(0, 3, 1, 2, 4) for t in (q, k, v))
            q = q * self.scale
            sim = torch.einsum("... i d, ... j d  -> ... i j", q, k)
            sim = sim - sim.amax(dim=-1, keepdim=True).detach()
            attn = sim.softmax(dim=-1)
            out = torch.einsum("... i j, ... j d -> ... i d", attn, v)
            out = out.permute(0, 2, 3, 1, 4).flatten(-2)  # 'b h t n d -> b t n (h d)'
            return self.to_out(out)

    class PerceiverResampler(nn.Module):
        def __init__(self, *, dim: int, depth: int, num_latents: int, num_media_embeds: int):
            super().__init__()
            self.latents = nn.Parameter(torch.randn(num_latents, dim))
            self.media_pos_emb = nn.Parameter(torch.randn(num_media_embeds, 1, dim))
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(
                    nn.ModuleList(
                        [
                            PerceiverAttention(dim=dim, dim_head=DIM_HEAD, heads=HEADS),
                            FeedForward(dim=dim),
                        ]
                    )
                )
            self.norm = nn.LayerNorm(dim)

        def forward(self, x: Any) -> Any:
            if x.ndim == 3:
                x = x.unsqueeze(1)  # 'b n d -> b 1 n d'
            times = x.shape[1]
            x = x + self.media_pos_emb[:times]
            latents = self.latents.expand(x.shape[0], x.shape[1], -1, -1)
            for attn, ff in self.layers:
                latents = attn(x, latents) + latents
                latents = ff(latents) + latents
            return self.norm(latents)

    class MaskedCrossAttention(nn.Module):
        def __init__(self, *, dim: int, only_attend_immediate_media: bool = True) -> None:
            super().__init__()
            self.scale = DIM_HEAD**-0.5
            self.heads = HEADS
            inner_dim = DIM_HEAD * HEADS
            self.norm = nn.LayerNorm(dim)
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_kv = nn.Linear(dim, inner_dim * 2, bias=False)
            self.to_out = nn.Linear(inner_dim, dim, bias=False)
            self.only_attend_immediate_media = only_attend_immediate_media

        def forward(self, x: Any, media: Any, media_locations: Any = None) -> Any:
            b, t, m = media.shape[:3]
            h = self.heads
            x = self.norm(x)
            q = self.to_q(x)
            media = media.reshape(b, t * m, -1)  # 'b t n d -> b (t n) d'
            k, v = self.to_kv(media).chunk(2, dim=-1)
            q, k, v = (z.view(b, z.shape[1], h, -1).transpose(1, 2) for z in (q, k, v))
            q = q * self.scale
            sim = torch.einsum("... i d, ... j d -> ... i j", q, k)
            if media_locations is not None:
                text_time = media_locations.cumsum(dim=-1)
                media_time = torch.arange(t, device=x.device) + 1
                mask_op = torch.eq if self.only_attend_immediate_media else torch.ge
                text_to_media_mask = mask_op(
                    text_time[:, None, :, None],
                    media_time.repeat_interleave(m)[None, None, None, :],
                )
                sim = sim.masked_fill(~text_to_media_mask, -torch.finfo(sim.dtype).max)
            sim = sim - sim.amax(dim=-1, keepdim=True).detach()
            attn = sim.softmax(dim=-1)
            if media_locations is not None and self.only_attend_immediate_media:
                text_without_media_mask = text_time == 0
                text_without_media_mask = text_without_media_mask[:, None, :, None]
                attn = attn.masked_fill(text_without_media_mask, 0.0)
            out = torch.einsum("... i j, ... j d -> ... i d", attn, v)
            out = out.transpose(1, 2).reshape(b, -1, h * DIM_HEAD)
            return self.to_out(out)

    class GatedCrossAttentionBlock(nn.Module):
        def __init__(self, *, dim: int, only_attend_immediate_media: bool = True) -> None:
            super().__init__()
            self.attn = MaskedCrossAttention(
                dim=dim, only_attend_immediate_media=only_attend_immediate_media
            )
            self.attn_gate = nn.Parameter(torch.tensor([0.0]))
            self.ff = FeedForward(dim)
            self.ff_gate = nn.Parameter(torch.tensor([0.0]))

        def forward(self, x: Any, media: Any, media_locations: Any = None) -> Any:
            x = self.attn(x, media, media_locations=media_locations) * self.attn_gate.tanh() + x
            x = self.ff(x) * self.ff_gate.tanh() + x
            return x

    class FlamingoLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_emb = nn.Embedding(VOCAB, DIM)
            self.perceiver_resampler = PerceiverResampler(
                dim=DIM, depth=1, num_latents=LATENTS, num_media_embeds=MEDIA
            )
            self.lm_layers = nn.ModuleList([FeedForward(DIM) for _ in range(2)])
            self.gated_attns = nn.ModuleList(
                [
                    GatedCrossAttentionBlock(dim=DIM),
                    GatedCrossAttentionBlock(dim=DIM, only_attend_immediate_media=False),
                ]
            )
            self.norm = nn.LayerNorm(DIM)
            self.to_logits = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, text: Any, image_embeds: Any, media_locations: Any) -> Any:
            x = self.token_emb(text)
            media = self.perceiver_resampler(image_embeds)
            for ff, xattn in zip(self.lm_layers, self.gated_attns):
                x = xattn(x, media, media_locations=media_locations)
                x = ff(x) + x
            return self.to_logits(self.norm(x))

    return FlamingoLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    for module in (model.token_emb, model.lm_layers, model.norm, model.to_logits):
        module.requires_grad_(False)  # the pretrained LM stays frozen
    params = list(filter(lambda p: p.requires_grad, model.parameters()))
    optimizer = torch.optim.AdamW(params, lr=5e-2, weight_decay=0.0)
    rng = np.random.default_rng(3)
    values: list[float] = [float(len(params))]
    for _step in range(STEPS):
        text = as_tensor(torch_like, rng.integers(1, VOCAB, (2, SEQ)))
        images = as_tensor(torch_like, rng.standard_normal((2, MEDIA, TOKENS, DIM)))
        media_locations = torch.zeros(2, SEQ, dtype=torch.bool)
        media_locations[0, [1, 4]] = True
        media_locations[1, 0] = True
        media_locations[1, 5] = True
        logits = model(text, images, media_locations)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), text[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        gates = [g.attn_gate.item() for g in model.gated_attns]
        values.extend([loss.item(), *gates])
    return values
