"""The frame tokenizer of a VQ world model (the IRIS / VQ-VAE-2 lineage) with the EMA codebook
as rosinality/vq-vae-2-pytorch writes it (``vqvae.py``'s ``Quantize``, ``ResBlock``,
``Encoder``/``Decoder``, ``train_vqvae.py``'s loss), size-reduced.

The idioms: the codebook as a ``(dim, n_embed)`` buffer (``embed = torch.randn(dim, n_embed)``,
``self.register_buffer("embed", embed)``, ``register_buffer("cluster_size",
torch.zeros(n_embed))``, ``register_buffer("embed_avg", embed.clone())``); the squared
distances ``flatten.pow(2).sum(1, keepdim=True) - 2 * flatten @ self.embed +
self.embed.pow(2).sum(0, keepdim=True)``, ``_, embed_ind = (-dist).max(1)``,
``F.one_hot(embed_ind, self.n_embed).type(flatten.dtype)``, ``embed_ind.view(
*input.shape[:-1])``, the lookup ``F.embedding(embed_id, self.embed.transpose(0, 1))``; the EMA
update under ``if self.training:`` and ``torch.no_grad()`` (``embed_onehot.sum(0)``,
``flatten.transpose(0, 1) @ embed_onehot``, ``self.cluster_size.data.mul_(self.decay).add_(
embed_onehot_sum, alpha=1 - self.decay)``, ``self.embed_avg.data.mul_(self.decay).add_(
embed_sum, alpha=1 - self.decay)``, the Laplace smoothing ``(self.cluster_size + self.eps) /
(n + self.n_embed * self.eps) * n``, ``self.embed_avg / cluster_size.unsqueeze(0)``,
``self.embed.data.copy_(embed_normalized)``); ``diff = (quantize.detach() -
input).pow(2).mean()``, the straight-through ``quantize = input + (quantize -
input).detach()``; the channels-last round trip ``self.quantize_conv(enc).permute(0, 2, 3,
1)`` / ``quant.permute(0, 3, 1, 2)``; ``ResBlock`` (``nn.ReLU(inplace=True)`` inside the
residual, ``out += input``); ``nn.ConvTranspose2d(..., 4, stride=2, padding=1)`` in the
decoder; ``decode_code`` from indices; the code-usage perplexity ``torch.exp(-torch.sum(
avg_probs * torch.log(avg_probs + 1e-10)))``; ``recon_loss = criterion(out, img)``,
``latent_loss.mean()``, ``loss = recon_loss + latent_loss_weight * latent_loss``, ``Adam``;
the buffers in ``state_dict()`` and their round trip through ``load_state_dict``.

Changed: the two-level VQ-VAE-2 -> one level; 256x256 frames -> 3x8x8 NumPy frames;
channel 128 -> 6, n_embed 512 -> 5, embed_dim 64 -> 3; 560 epochs -> 4 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

CHANNEL, EMBED_DIM, N_EMBED, BATCH, STEPS, LATENT_LOSS_WEIGHT = 6, 3, 5, 4, 4, 0.25


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Quantize(nn.Module):
        def __init__(self, dim: int, n_embed: int, decay: float = 0.99, eps: float = 1e-5):
            super().__init__()
            self.dim = dim
            self.n_embed = n_embed
            self.decay = decay
            self.eps = eps
            embed = torch.randn(dim, n_embed)
            self.register_buffer("embed", embed)
            self.register_buffer("cluster_size", torch.zeros(n_embed))
            self.register_buffer("embed_avg", embed.clone())

        def forward(self, input: Any) -> tuple[Any, Any, Any, Any]:
            flatten = input.reshape(-1, self.dim)
            dist = (
                flatten.pow(2).sum(1, keepdim=True)
                - 2 * flatten @ self.embed
                + self.embed.pow(2).sum(0, keepdim=True)
            )
            _, embed_ind = (-dist).max(1)
            embed_onehot = F.one_hot(embed_ind, self.n_embed).type(flatten.dtype)
            embed_ind = embed_ind.view(*input.shape[:-1])
            quantize = self.embed_code(embed_ind)

            if self.training:
                with torch.no_grad():
                    embed_onehot_sum = embed_onehot.sum(0)
                    embed_sum = flatten.transpose(0, 1) @ embed_onehot
                    self.cluster_size.data.mul_(self.decay).add_(
                        embed_onehot_sum, alpha=1 - self.decay
                    )
                    self.embed_avg.data.mul_(self.decay).add_(embed_sum, alpha=1 - self.decay)
                    n = self.cluster_size.sum()
                    cluster_size = (
                        (self.cluster_size + self.eps) / (n + self.n_embed * self.eps) * n
                    )
                    embed_normalized = self.embed_avg / cluster_size.unsqueeze(0)
                    self.embed.data.copy_(embed_normalized)

            diff = (quantize.detach() - input).pow(2).mean()
            quantize = input + (quantize - input).detach()
            avg_probs = torch.mean(embed_onehot, dim=0)
            perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
            return quantize, diff, embed_ind, perplexity

        def embed_code(self, embed_id: Any) -> Any:
            return F.embedding(embed_id, self.embed.transpose(0, 1))

    class ResBlock(nn.Module):
        def __init__(self, in_channel: int, channel: int) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                nn.ReLU(),
                nn.Conv2d(in_channel, channel, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(channel, in_channel, 1),
            )

        def forward(self, input: Any) -> Any:
            out = self.conv(input)
            out += input
            return out

    class VQVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(
                nn.Conv2d(3, CHANNEL, 4, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(CHANNEL, CHANNEL, 3, padding=1),
                ResBlock(CHANNEL, 4),
                nn.ReLU(inplace=True),
            )
            self.quantize_conv = nn.Conv2d(CHANNEL, EMBED_DIM, 1)
            self.quantize = Quantize(EMBED_DIM, N_EMBED)
            self.dec = nn.Sequential(
                nn.Conv2d(EMBED_DIM, CHANNEL, 3, padding=1),
                ResBlock(CHANNEL, 4),
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(CHANNEL, 3, 4, stride=2, padding=1),
            )

        def encode(self, input: Any) -> tuple[Any, Any, Any, Any]:
            enc = self.enc(input)
            quant = self.quantize_conv(enc).permute(0, 2, 3, 1)
            quant, diff, id, perplexity = self.quantize(quant)
            quant = quant.permute(0, 3, 1, 2)
            diff = diff.unsqueeze(0)
            return quant, diff, id, perplexity

        def decode_code(self, code: Any) -> Any:
            quant = self.quantize.embed_code(code).permute(0, 3, 1, 2)
            return self.dec(quant)

        def forward(self, input: Any) -> tuple[Any, Any, Any]:
            quant, diff, _, perplexity = self.encode(input)
            return self.dec(quant), diff, perplexity

    return VQVAE()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(11)
    frames = torch.tensor(np.tanh(rng.standard_normal((BATCH, 3, 8, 8))))
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    values: list[float] = [float(len(list(model.parameters()))), float(len(model.state_dict()))]
    model.train()
    for _ in range(STEPS):
        model.zero_grad()
        out, latent_loss, perplexity = model(frames)
        recon_loss = criterion(out, frames)
        latent_loss = latent_loss.mean()
        loss = recon_loss + LATENT_LOSS_WEIGHT * latent_loss
        loss.backward()
        optimizer.step()
        values += [recon_loss.item(), latent_loss.item(), perplexity.item()]
    values += model.quantize.cluster_size.tolist()
    values += model.quantize.embed.flatten().tolist()
    # the encoder trained through the straight-through estimator; the codebook did not
    values.append(float(model.quantize.embed.grad is None))

    # eval: the codebook stays put; tokens -> frames through decode_code
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        _, _, ids, _ = model.encode(frames)
        recon = model.decode_code(ids)
        values += ids.flatten().float().tolist()
        values.append(recon.pow(2).mean().item())
        values.append(float(torch.equal(state["quantize.embed"], model.quantize.embed)))
    reloaded = make_model(torch_like)
    reloaded.load_state_dict(state)
    values.append(float(torch.equal(reloaded.quantize.embed_avg, model.quantize.embed_avg)))
    return values
