"""Perceiver as lucidrains/perceiver-pytorch (``perceiver_pytorch/perceiver_pytorch.py``) writes
it, size-reduced and with its ``einops`` calls spelled in plain PyTorch.

The idioms: the helpers ``exists`` / ``default`` and ``cache_fn`` (``@wraps(f)``, a ``_cache``
keyword and a ``key`` so that ``weight_tie_layers=True`` hands the same module to every layer
after the first); ``fourier_encode`` (``x.unsqueeze(-1)``, ``torch.linspace(1., max_freq / 2,
num_bands, device=device, dtype=dtype)``, ``scales[(*((None,) * (len(x.shape) - 1)),
Ellipsis)]``, ``x * scales * pi``, ``torch.cat([x.sin(), x.cos()], dim=-1)`` and the raw
coordinate appended); ``PreNorm`` with ``context_dim`` and ``forward(self, x, **kwargs)`` that
normalises ``kwargs['context']`` and calls ``kwargs.update(context=normed_context)``; ``GEGLU``
(``x, gates = x.chunk(2, dim=-1)``, ``x * F.gelu(gates)``) inside ``FeedForward``'s
``nn.Sequential``; ``Attention`` (``self.scale = dim_head ** -0.5``, bias-free ``to_q`` /
``to_kv``, ``k, v = self.to_kv(context).chunk(2, dim=-1)``, heads folded into the batch,
``einsum('b i d, b j d -> b i j', q, k) * self.scale``, ``max_neg_value = -torch.finfo(
sim.dtype).max``, the mask repeated per head and ``sim.masked_fill_(~mask, max_neg_value)``,
``sim.softmax(dim=-1)``, ``einsum('b i j, b j d -> b i d', attn, v)``); ``Perceiver.forward``
(``b, *axis, _, device, dtype = *data.shape, data.device, data.dtype``, ``axis_pos = list(
map(lambda size: torch.linspace(-1., 1., steps=size, device=device, dtype=dtype), axis))``,
``torch.stack(torch.meshgrid(*axis_pos, indexing='ij'), dim=-1)``, the encoding repeated over
the batch and concatenated to the data, the flattened input ``'b ... d -> b (...) d'``, the
learned latents ``nn.Parameter(torch.randn(num_latents, latent_dim))`` repeated over the batch,
the residual cross-attention / self-attention blocks, ``return_embeddings``) and the
``to_logits`` head (mean over latents, ``nn.LayerNorm``, ``nn.Linear``).

Changed: ``rearrange`` / ``repeat`` / ``Reduce`` -> ``reshape`` / ``permute`` / ``expand`` /
``repeat_interleave`` / a ``MeanReduce`` module; 224 x 224 images, 512 latents of width 512 ->
4 x 4 images, 4 latents of width 8, depth 3 (layers 2 and 3 tied); dropout 0 (random masks cannot
agree between the two frameworks); a short Adam training loop added (the repository has none).
"""

from __future__ import annotations

from functools import wraps
from math import pi
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BATCH, SIDE, CHANNELS, N_CLASSES, STEPS, LR = 3, 4, 3, 3, 4, 0.01


def exists(val: Any) -> bool:
    return val is not None


def default(val: Any, d: Any) -> Any:
    return val if exists(val) else d


def cache_fn(f: Any) -> Any:
    cache = {}

    @wraps(f)
    def cached_fn(*args: Any, _cache: bool = True, key: Any = None, **kwargs: Any) -> Any:
        if not _cache:
            return f(*args, **kwargs)
        nonlocal cache
        if key in cache:
            return cache[key]
        result = f(*args, **kwargs)
        cache[key] = result
        return result

    return cached_fn


def fourier_encode(torch_like: Any, x: Any, max_freq: float, num_bands: int = 4) -> Any:
    torch = torch_like
    x = x.unsqueeze(-1)
    device, dtype, orig_x = x.device, x.dtype, x
    scales = torch.linspace(1.0, max_freq / 2, num_bands, device=device, dtype=dtype)
    scales = scales[(*((None,) * (len(x.shape) - 1)), Ellipsis)]
    x = x * scales * pi
    x = torch.cat([x.sin(), x.cos()], dim=-1)
    x = torch.cat((x, orig_x), dim=-1)
    return x


def make_model(torch_like: Any, weight_tie_layers: bool = True) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class PreNorm(nn.Module):
        def __init__(self, dim: int, fn: Any, context_dim: int | None = None) -> None:
            super().__init__()
            self.fn = fn
            self.norm = nn.LayerNorm(dim)
            self.norm_context = nn.LayerNorm(context_dim) if exists(context_dim) else None

        def forward(self, x: Any, **kwargs: Any) -> Any:
            x = self.norm(x)
            if exists(self.norm_context):
                context = kwargs["context"]
                normed_context = self.norm_context(context)
                kwargs.update(context=normed_context)
            return self.fn(x, **kwargs)

    class GEGLU(nn.Module):
        def forward(self, x: Any) -> Any:
            x, gates = x.chunk(2, dim=-1)
            return x * F.gelu(gates)

    class FeedForward(nn.Module):
        def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, dim * mult * 2),
                GEGLU(),
                nn.Linear(dim * mult, dim),
                nn.Dropout(dropout),
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class Attention(nn.Module):
        def __init__(
            self,
            query_dim: int,
            context_dim: int | None = None,
            heads: int = 8,
            dim_head: int = 64,
            dropout: float = 0.0,
        ) -> None:
            super().__init__()
            inner_dim = dim_head * heads
            context_dim = default(context_dim, query_dim)
            self.scale = dim_head**-0.5
            self.heads = heads
            self.to_q = nn.Linear(query_dim, inner_dim, bias=False)
            self.to_kv = nn.Linear(context_dim, inner_dim * 2, bias=False)
            self.dropout = nn.Dropout(dropout)
            self.to_out = nn.Linear(inner_dim, query_dim)

        def forward(self, x: Any, context: Any = None, mask: Any = None) -> Any:
            h = self.heads
            q = self.to_q(x)
            context = default(context, x)
            k, v = self.to_kv(context).chunk(2, dim=-1)

            def split_heads(t: Any) -> Any:  # 'b n (h d) -> (b h) n d'
                b, n, hd = t.shape
                return t.reshape(b, n, h, hd // h).permute(0, 2, 1, 3).reshape(b * h, n, hd // h)

            q, k, v = map(split_heads, (q, k, v))
            sim = torch.einsum("b i d, b j d -> b i j", q, k) * self.scale
            if exists(mask):
                mask = mask.reshape(mask.shape[0], -1)  # 'b ... -> b (...)'
                max_neg_value = -torch.finfo(sim.dtype).max
                mask = mask[:, None, :].repeat_interleave(h, dim=0)  # 'b j -> (b h) () j'
                sim.masked_fill_(~mask, max_neg_value)
            attn = sim.softmax(dim=-1)
            attn = self.dropout(attn)
            out = torch.einsum("b i j, b j d -> b i d", attn, v)
            bh, n, d = out.shape  # '(b h) n d -> b n (h d)'
            out = out.reshape(bh // h, h, n, d).permute(0, 2, 1, 3).reshape(bh // h, n, h * d)
            return self.to_out(out)

    class MeanReduce(nn.Module):
        """einops' ``Reduce('b n d -> b d', 'mean')``."""

        def forward(self, x: Any) -> Any:
            return x.mean(dim=1)

    class Perceiver(nn.Module):
        def __init__(
            self,
            *,
            num_freq_bands: int,
            depth: int,
            max_freq: float,
            input_channels: int = 3,
            input_axis: int = 2,
            num_latents: int = 512,
            latent_dim: int = 512,
            cross_heads: int = 1,
            latent_heads: int = 8,
            cross_dim_head: int = 64,
            latent_dim_head: int = 64,
            num_classes: int = 1000,
            attn_dropout: float = 0.0,
            ff_dropout: float = 0.0,
            weight_tie_layers: bool = False,
            fourier_encode_data: bool = True,
            self_per_cross_attn: int = 1,
            final_classifier_head: bool = True,
        ) -> None:
            super().__init__()
            self.input_axis = input_axis
            self.max_freq = max_freq
            self.num_freq_bands = num_freq_bands
            self.fourier_encode_data = fourier_encode_data
            fourier_channels = (
                (input_axis * ((num_freq_bands * 2) + 1)) if fourier_encode_data else 0
            )
            input_dim = fourier_channels + input_channels
            self.latents = nn.Parameter(torch.randn(num_latents, latent_dim))

            def get_cross_attn() -> Any:
                attn = Attention(latent_dim, input_dim, cross_heads, cross_dim_head, attn_dropout)
                return PreNorm(latent_dim, attn, context_dim=input_dim)

            def get_cross_ff() -> Any:
                return PreNorm(latent_dim, FeedForward(latent_dim, dropout=ff_dropout))

            def get_latent_attn() -> Any:
                attn = Attention(
                    latent_dim, heads=latent_heads, dim_head=latent_dim_head, dropout=attn_dropout
                )
                return PreNorm(latent_dim, attn)

            def get_latent_ff() -> Any:
                return PreNorm(latent_dim, FeedForward(latent_dim, dropout=ff_dropout))

            get_cross_attn, get_cross_ff, get_latent_attn, get_latent_ff = map(
                cache_fn, (get_cross_attn, get_cross_ff, get_latent_attn, get_latent_ff)
            )
            self.layers = nn.ModuleList([])
            for i in range(depth):
                should_cache = i > 0 and weight_tie_layers
                cache_args = {"_cache": should_cache}
                self_attns = nn.ModuleList([])
                for block_ind in range(self_per_cross_attn):
                    self_attns.append(
                        nn.ModuleList(
                            [
                                get_latent_attn(**cache_args, key=block_ind),
                                get_latent_ff(**cache_args, key=block_ind),
                            ]
                        )
                    )
                self.layers.append(
                    nn.ModuleList(
                        [get_cross_attn(**cache_args), get_cross_ff(**cache_args), self_attns]
                    )
                )
            self.to_logits = (
                nn.Sequential(
                    MeanReduce(), nn.LayerNorm(latent_dim), nn.Linear(latent_dim, num_classes)
                )
                if final_classifier_head
                else nn.Identity()
            )

        def forward(self, data: Any, mask: Any = None, return_embeddings: bool = False) -> Any:
            b, *axis, _, device, dtype = *data.shape, data.device, data.dtype
            assert len(axis) == self.input_axis, "input data must have the right number of axis"
            if self.fourier_encode_data:
                axis_pos = list(
                    map(
                        lambda size: torch.linspace(
                            -1.0, 1.0, steps=size, device=device, dtype=dtype
                        ),
                        axis,
                    )
                )
                pos = torch.stack(torch.meshgrid(*axis_pos, indexing="ij"), dim=-1)
                enc_pos = fourier_encode(torch_like, pos, self.max_freq, self.num_freq_bands)
                enc_pos = enc_pos.flatten(-2)  # '... n d -> ... (n d)'
                enc_pos = enc_pos.unsqueeze(0).expand(b, *enc_pos.shape)  # '... -> b ...'
                data = torch.cat((data, enc_pos), dim=-1)
            data = data.reshape(b, -1, data.shape[-1])  # 'b ... d -> b (...) d'
            x = self.latents.unsqueeze(0).expand(b, -1, -1)  # 'n d -> b n d'
            for cross_attn, cross_ff, self_attns in self.layers:
                x = cross_attn(x, context=data, mask=mask) + x
                x = cross_ff(x) + x
                for self_attn, self_ff in self_attns:
                    x = self_attn(x) + x
                    x = self_ff(x) + x
            if return_embeddings:
                return x
            return self.to_logits(x)

    return Perceiver(
        num_freq_bands=2,
        depth=3,
        max_freq=5.0,
        input_channels=CHANNELS,
        input_axis=2,
        num_latents=4,
        latent_dim=8,
        cross_heads=1,
        latent_heads=2,
        cross_dim_head=4,
        latent_dim_head=4,
        num_classes=N_CLASSES,
        weight_tie_layers=weight_tie_layers,
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    tied = model.layers[2][0] is model.layers[1][0] and model.layers[1][0] is not model.layers[0][0]
    n_params = sum(p.numel() for p in model.parameters())
    values: list[float] = [float(tied), float(n_params), float(len(model.state_dict()))]
    pos = torch.stack(
        torch.meshgrid(torch.linspace(-1.0, 1.0, 3), torch.linspace(0.0, 1.0, 2), indexing="ij"),
        dim=-1,
    )
    values += fourier_encode(torch, pos, 5.0, 2).flatten().tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for step in range(STEPS):
        data = as_tensor(torch, rng.normal(size=(BATCH, SIDE, SIDE, CHANNELS)))
        labels = as_tensor(torch, rng.integers(0, N_CLASSES, BATCH))
        mask = as_tensor(torch, rng.random((BATCH, SIDE, SIDE)) > 0.3) if step % 2 else None
        logits = model(data, mask=mask)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.latents.grad.norm().item()]
    values += model.latents.detach().flatten().tolist()

    model.eval()
    with torch.no_grad():
        data = as_tensor(torch, rng.normal(size=(2, SIDE, SIDE, CHANNELS)))
        mask = torch.zeros(2, SIDE, SIDE, dtype=torch.bool)
        mask[:, :2] = True
        emb = model(data, mask=mask, return_embeddings=True)
        changed = data.clone()
        changed[:, 2:] += 10.0  # masked-out pixels cannot move the latents
        emb2 = model(changed, mask=mask, return_embeddings=True)
    values += list(emb.shape) + emb.flatten().tolist() + [(emb - emb2).abs().max().item()]
    return values
