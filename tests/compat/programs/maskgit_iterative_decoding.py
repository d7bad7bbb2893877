"""Chang et al. 2022 "MaskGIT: Masked Generative Image Transformer" as its PyTorch ports
(dome272/MaskGIT-pytorch's ``transformer.py``, valeoai/Maskgit-pytorch's ``Trainer/vit.py``)
write the second stage, size-reduced: a bidirectional transformer over VQ token ids with an
extra ``[MASK]`` id (``nn.Embedding(num_codes + 1, dim)``, a learned ``pos_emb``
``nn.Parameter``, ``nn.TransformerEncoder`` of ``norm_first`` GELU layers with no causal mask,
logits tied to the token embedding as ``torch.matmul(h, self.tok_emb.weight.T) + self.bias``);
the cosine mask schedule ``gamma(r) = cos(r * pi / 2)``; training with a random masking ratio
(``r = math.floor(gamma(u) * N)``, random scores ``argsort``ed to choose the ``r`` masked
positions, ``mask.scatter_(dim=1, index=..., value=True)``, ``torch.where(mask, mask_token_id,
z_indices)``, the cross-entropy with ``label_smoothing=0.1`` on the masked positions only via
``ignore_index=-100`` targets); and ``sample_good``'s iterative decoding: sampled ids by the
Gumbel-max trick (``argmax(logits + gumbel)``, the categorical sample without
``torch.multinomial``), ``torch.where(unknown_map, sampled_ids, cur_ids)``, the confidence of
each sampled id ``torch.gather``ed from ``F.softmax(logits, -1)``, known tokens given
``_CONFIDENCE_OF_KNOWN_TOKENS = torch.Tensor([torch.inf])``, ``mask_len = torch.floor(
unknown_number_in_the_beginning * mask_ratio)`` clamped between 0 and ``unknown - 1`` with
``torch.maximum``/``torch.minimum``, ``mask_by_random_topk`` (``confidence = torch.log(probs) +
temperature * gumbel``, ``torch.sort``, ``cut_off = sorted_confidence.gather(-1, mask_len)``,
``confidence < cut_off``) with the temperature annealed as ``choice_temperature * (1 - ratio)``,
and the low-confidence ids re-masked with ``masked_fill``.

Changed: the VQGAN tokenizer is replaced by NumPy token grids (16 tokens from 12 codes with a
repeating pattern); dim 16, 2 layers, 2 heads; every random draw (masking ratios, scores,
Gumbel noise) is a NumPy uniform turned into a tensor (the frameworks' generators differ);
4 training steps of batch 4 with AdamW, 6 decoding steps on 3 fully masked sequences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

CODES, N_TOKENS, DIM, HEADS, LAYERS = 12, 16, 16, 2, 2
BATCH, STEPS, T_DECODE, CHOICE_TEMPERATURE = 4, 4, 6, 4.5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class BidirectionalTransformer(nn.Module):
        def __init__(self, num_codes: int, num_tokens: int, dim: int) -> None:
            super().__init__()
            self.mask_token_id = num_codes
            self.tok_emb = nn.Embedding(num_codes + 1, dim)
            self.pos_emb = nn.Parameter(torch.zeros(1, num_tokens, dim).normal_(0, 0.02))
            layer = nn.TransformerEncoderLayer(
                d_model=dim,
                nhead=HEADS,
                dim_feedforward=4 * dim,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.encoder = nn.TransformerEncoder(
                layer, num_layers=LAYERS, enable_nested_tensor=False
            )
            self.ln = nn.LayerNorm(dim, eps=1e-12)
            self.bias = nn.Parameter(torch.zeros(num_tokens, num_codes + 1))

        def forward(self, x: Any) -> Any:
            token_embeddings = self.tok_emb(x)
            t = token_embeddings.shape[1]
            position_embeddings = self.pos_emb[:, :t, :]
            h = self.encoder(token_embeddings + position_embeddings)
            h = self.ln(h)
            return torch.matmul(h, self.tok_emb.weight.T) + self.bias

    return BidirectionalTransformer(CODES, N_TOKENS, DIM)


def gamma_func(mode: str = "cosine") -> Any:
    if mode == "linear":
        return lambda r: 1 - r
    if mode == "cosine":
        return lambda r: np.cos(r * np.pi / 2)
    raise NotImplementedError(mode)


def _tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    base = np.arange(N_TOKENS) % 4 + 4 * rng.integers(0, 3, (n, 1))
    noise = rng.random((n, N_TOKENS)) < 0.1
    return np.where(noise, rng.integers(0, CODES, (n, N_TOKENS)), base).astype(np.int64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    mask_token_id = model.mask_token_id
    gamma = gamma_func("cosine")

    def rand(*shape: int) -> Any:
        return torch.from_numpy(rng.random(shape))

    def gumbel(shape: Any) -> Any:
        u = rand(*shape).clamp(1e-20, 1.0)
        return -torch.log(-torch.log(u))

    data = torch.from_numpy(_tokens(rng, 32))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.96), weight_decay=0.01)
    values: list[float] = []
    model.train()
    for _ in range(STEPS):
        z_indices = data[torch.from_numpy(rng.integers(0, 32, BATCH))]
        r = math.floor(gamma(rng.uniform()) * z_indices.shape[1])
        r = max(r, 1)
        sample = torch.argsort(rand(*z_indices.shape), dim=1)[:, :r]
        mask = torch.zeros(z_indices.shape, dtype=torch.bool)
        mask.scatter_(dim=1, index=sample, value=True)
        a_indices = torch.where(mask, mask_token_id, z_indices)
        target = z_indices.masked_fill(~mask, -100)
        logits = model(a_indices)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            target.reshape(-1),
            ignore_index=-100,
            label_smoothing=0.1,
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        values += [loss.item(), float(r), mask.sum().item()]

    _CONFIDENCE_OF_KNOWN_TOKENS = torch.Tensor([torch.inf])

    def mask_by_random_topk(mask_len: Any, probs: Any, temperature: float = 1.0) -> Any:
        confidence = torch.log(probs) + temperature * gumbel(probs.shape)
        sorted_confidence, _ = torch.sort(confidence, dim=-1)
        cut_off = sorted_confidence.gather(-1, mask_len.to(torch.long))
        return confidence < cut_off

    @torch.no_grad()
    def sample_good(inputs: Any, T: int = T_DECODE) -> tuple[Any, list[float]]:
        trace: list[float] = []
        unknown_number_in_the_beginning = torch.sum(inputs == mask_token_id, dim=-1)
        cur_ids = inputs
        for t in range(T):
            logits = model(cur_ids)[..., :CODES]  # never sample the [MASK] id itself
            sampled_ids = torch.argmax(logits + gumbel(logits.shape), dim=-1)
            unknown_map = cur_ids == mask_token_id
            sampled_ids = torch.where(unknown_map, sampled_ids, cur_ids)
            ratio = 1.0 * (t + 1) / T
            mask_ratio = gamma(ratio)
            probs = F.softmax(logits, dim=-1)
            selected_probs = torch.gather(probs, -1, sampled_ids.unsqueeze(-1)).squeeze(-1)
            selected_probs = torch.where(unknown_map, selected_probs, _CONFIDENCE_OF_KNOWN_TOKENS)
            mask_len = torch.unsqueeze(torch.floor(unknown_number_in_the_beginning * mask_ratio), 1)
            mask_len = torch.maximum(
                torch.zeros_like(mask_len),
                torch.minimum(torch.sum(unknown_map, dim=-1, keepdim=True) - 1, mask_len),
            )
            masking = mask_by_random_topk(
                mask_len, selected_probs, temperature=CHOICE_TEMPERATURE * (1.0 - ratio)
            )
            cur_ids = sampled_ids.masked_fill(masking, mask_token_id)
            trace += [
                float(mask_len.sum().item()),
                (cur_ids == mask_token_id).sum().item(),
                selected_probs[unknown_map].mean().item(),
            ]
        return cur_ids, trace

    model.eval()
    start = torch.full((3, N_TOKENS), mask_token_id, dtype=torch.long)
    ids, trace = sample_good(start)
    values += trace
    values += ids.flatten().tolist()
    values += [float((ids == mask_token_id).any())]
    return values
