"""The Byte Latent Transformer (Pagnoni et al. 2024, "Byte Latent Transformer: Patches Scale Better
Than Tokens") as facebookresearch/blt writes it (``bytelatent/data/patcher.py``,
``bytelatent/model/blt.py``, ``bytelatent/model/local_models.py``), size-reduced: a small byte LM's
entropies cut the bytes into patches, hashed byte n-gram embeddings feed a local encoder, patches
are pooled for a latent transformer, and a local decoder cross-attends back.

The idioms: ``entropy`` (``F.log_softmax(scores, dim=-1)``, ``-(log_probs * probs).sum(dim=-1)``);
``patch_start_mask_from_entropy_with_monotonicity`` (``torch.zeros_like(entropies,
dtype=torch.bool)``, ``mask[:, 0] = True``, ``differences = entropies[:, 1:] - entropies[:, :-1]``,
``mask[:, 1:] = differences > t``); ``patch_start_ids_from_patch_start_mask`` (``max_patches =
patch_start_mask.sum(dim=1).max()``, ``torch.arange(trunc_seq_len).unsqueeze(0).repeat(bs, 1)``,
``torch.cat((patch_start_mask, ~patch_start_mask), dim=1)``,
``all_patch_ids[patch_start_mask_padded] .reshape(bs, trunc_seq_len)[:, :max_patches]``);
``patch_lengths_from_start_ids`` (``torch.full_like(patch_start_ids[:, :1], seq_len - 1)``);
``patch_ids_from_lengths`` (``cum_d = torch.cat([torch.zeros(bs, 1, dtype=patch_lengths.dtype),
patch_lengths.cumsum(dim=-1)], dim=-1)``, ``(cum_d.unsqueeze(-1) <=
torch.arange(seq_len)).sum(dim=-2) - 1``); ``rolling_polynomial_hash`` (``prime =
torch.tensor(primes[hash_func_nb], dtype=torch.int64)``, ``torch.stack([prime ** i for i in
range(t.shape[-1])])`` (int64 powers that wrap around), ``torch.sum(t * prime_powers, dim=-1)``) and
``byte_group_hash_function`` (``with torch.no_grad()``, the zero prefix, ``x.unfold(1, group_size,
1)``, ``hashes % max_hash``, ``hash_values_range.requires_grad = False``) summed into the byte
embeddings by ``compute_hash_embeddings`` over an ``nn.ModuleList`` of ``nn.Embedding``s;
``patch_reduce`` (``patch_ids.unsqueeze(-1).expand(-1, -1, h.shape[-1])``,
``torch.zeros(...).scatter_reduce(src=h, dim=1, index=patch_ids, reduce=reduction,
include_self=False)`` with ``"amax"``); ``cross_attn_mask``'s block mask (``q_patch_ids ==
kv_patch_ids`` turned into ``torch.where(cross_mask, torch.tensor(0.0),
torch.tensor(float("-inf"))).unsqueeze(1)``) for the encoder's patches-as-queries cross attention;
and the decoder's byte queries attending to the patch before them. Trained with ``AdamW`` on
next-byte cross-entropy, the entropy model trained alongside.

Changed: bytes -> a 20-symbol alphabet, model widths 8, one layer per stage, 2 sequences of 8, hash
vocabulary 31 with group sizes (2, 3) and 2 hash functions, the entropy threshold relative
(monotonicity mode, 0.005: 3-5 patches of 8 bytes), 3 steps; a padding patch of the shorter row
reads all bytes (instead of an all-masked row); ``xformers``/``flex_attention`` block masks -> dense
additive masks in SDPA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, SEQ, BATCH, STEPS, MAX_HASH, THRESHOLD = 20, 8, 8, 2, 3, 31, 0.005
GROUP_SIZES, N_HASH_FUNCS = (2, 3), 2
PRIMES = [1000000007, 5915587277, 1500450271, 3267000013, 5754853343, 4093082899]


def entropy(torch_like: Any, scores: Any) -> Any:
    F = torch_like.nn.functional
    log_probs = F.log_softmax(scores, dim=-1)
    probs = torch_like.exp(log_probs)
    p_log_p = log_probs * probs
    return -p_log_p.sum(dim=-1)


def patch_start_mask_from_entropy_with_monotonicity(
    torch_like: Any, entropies: Any, t: float
) -> Any:
    bs, seq_len = entropies.shape
    mask = torch_like.zeros_like(entropies, dtype=torch_like.bool)
    mask[:, 0] = True
    differences = entropies[:, 1:] - entropies[:, :-1]
    condition = differences > t
    mask[:, 1:] = condition
    return mask


def patch_start_ids_from_patch_start_mask(torch_like: Any, patch_start_mask: Any) -> Any:
    torch = torch_like
    bs, trunc_seq_len = patch_start_mask.shape
    max_patches = patch_start_mask.sum(dim=1).max()
    patch_ids = torch.arange(trunc_seq_len).unsqueeze(0).repeat(bs, 1)
    extra_patch_ids = torch.full((bs, trunc_seq_len), trunc_seq_len, dtype=torch.long)
    all_patch_ids = torch.cat((patch_ids, extra_patch_ids), dim=1)
    patch_start_mask_padded = torch.cat((patch_start_mask, ~patch_start_mask), dim=1)
    return all_patch_ids[patch_start_mask_padded].reshape(bs, trunc_seq_len)[:, :max_patches]


def patch_lengths_from_start_ids(torch_like: Any, patch_start_ids: Any, seq_len: int) -> Any:
    torch = torch_like
    last_ids = torch.full_like(patch_start_ids[:, :1], seq_len - 1)
    patch_end_ids = torch.cat((patch_start_ids[:, 1:] - 1, last_ids), dim=1)
    patch_lengths = patch_end_ids - patch_start_ids + 1
    assert torch.all(patch_lengths >= 0), f"{patch_lengths}"
    return patch_lengths


def patch_ids_from_lengths(torch_like: Any, patch_lengths: Any, seq_len: int) -> Any:
    torch = torch_like
    bs, num_patches = patch_lengths.shape
    cum_d = torch.cat(
        [torch.zeros(bs, 1, dtype=patch_lengths.dtype), patch_lengths.cumsum(dim=-1)], dim=-1
    )
    patch_ids = (cum_d.unsqueeze(-1) <= torch.arange(seq_len)).sum(dim=-2) - 1
    assert not (torch.max(patch_ids) > patch_lengths.shape[-1] or torch.min(patch_ids) < 0)
    return patch_ids


def rolling_polynomial_hash(torch_like: Any, t: Any, hash_func_nb: int = 0) -> Any:
    torch = torch_like
    prime = torch.tensor(PRIMES[hash_func_nb], dtype=torch.int64, device=t.device)
    prime_powers = torch.stack([prime**i for i in range(t.shape[-1])])
    return torch.sum(t * prime_powers, dim=-1)


def byte_group_hash_function(
    torch_like: Any, x: Any, group_size: int = 2, hash_func_nb: int = 0, max_hash: int = 30000
) -> Any:
    torch = torch_like
    with torch.no_grad():
        bs, seq_len = x.shape
        prefix = torch.zeros(bs, group_size - 1, dtype=torch.int64, device=x.device)
        x = torch.cat([prefix, x], dim=1)
        windows = x.unfold(1, group_size, 1)
        hashes = rolling_polynomial_hash(torch, windows, hash_func_nb)
        hash_values_range = hashes % max_hash
    hash_values_range.requires_grad = False
    return hash_values_range


def patch_reduce(
    torch_like: Any, h: Any, max_num_patches: int, reduction: str, patch_ids: Any
) -> Any:
    bs, seq_len, emb_dim = h.shape
    patch_ids = patch_ids.unsqueeze(-1).expand(-1, -1, h.shape[-1])
    reduced_embs = torch_like.zeros((bs, max_num_patches, emb_dim), dtype=h.dtype, device=h.device)
    reduced_embs = reduced_embs.scatter_reduce(
        src=h, dim=1, index=patch_ids, reduce=reduction, include_self=False
    )
    return reduced_embs[:, :max_num_patches, :]


def cross_attn_mask(
    torch_like: Any, patch_ids: Any, num_patches: int, N: int, patches_as_queries: bool
) -> Any:
    torch = torch_like
    bs = patch_ids.shape[0]
    with torch.no_grad():
        q_len = num_patches if patches_as_queries else N
        kv_len = N if patches_as_queries else num_patches
        if patches_as_queries:
            q_patch_ids = (
                torch.arange(num_patches).unsqueeze(0).unsqueeze(-1).expand(bs, -1, kv_len)
            )
            kv_patch_ids = patch_ids.unsqueeze(1).expand(-1, q_len, -1)
            cross_mask = q_patch_ids == kv_patch_ids
            # a padding patch (no bytes) would be an all -inf row: let it read every byte
            cross_mask = cross_mask | ~cross_mask.any(dim=-1, keepdim=True)
        else:  # a byte reads the patches before its own one (and the first patch)
            q_patch_ids = patch_ids.unsqueeze(-1).expand(-1, -1, kv_len)
            kv_patch_ids = torch.arange(num_patches).unsqueeze(0).unsqueeze(0).expand(bs, q_len, -1)
            cross_mask = (kv_patch_ids < q_patch_ids) | (kv_patch_ids == 0)
        return torch.where(cross_mask, torch.tensor(0.0), torch.tensor(float("-inf"))).unsqueeze(1)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class CrossAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cross_attn_norm_q = nn.RMSNorm(DIM, eps=1e-5)
            self.cross_attn_norm_kv = nn.RMSNorm(DIM, eps=1e-5)
            self.wq = nn.Linear(DIM, DIM, bias=False)
            self.wk = nn.Linear(DIM, DIM, bias=False)
            self.wv = nn.Linear(DIM, DIM, bias=False)
            self.wo = nn.Linear(DIM, DIM, bias=False)

        def forward(self, x: Any, kv: Any, mask: Any) -> Any:
            x_norm = self.cross_attn_norm_q(x)
            kv = self.cross_attn_norm_kv(kv)
            xq, xk, xv = self.wq(x_norm), self.wk(kv), self.wv(kv)
            bsz, seq_len, _ = x.shape
            xq = xq.view(bsz, seq_len, 2, DIM // 2).transpose(1, 2)
            xk = xk.view(bsz, -1, 2, DIM // 2).transpose(1, 2)
            xv = xv.view(bsz, -1, 2, DIM // 2).transpose(1, 2)
            output = F.scaled_dot_product_attention(xq, xk, xv, attn_mask=mask)
            output = output.transpose(1, 2).reshape(bsz, seq_len, DIM)
            return x + self.wo(output)

    class BLT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.entropy_model = nn.Sequential(
                nn.Embedding(VOCAB, DIM), nn.Linear(DIM, DIM), nn.GELU(), nn.Linear(DIM, VOCAB)
            )
            self.tok_embeddings = nn.Embedding(VOCAB, DIM)
            self.encoder_hash_tok_embedding = nn.ModuleList(
                [nn.Embedding(MAX_HASH, DIM) for _ in range(N_HASH_FUNCS * len(GROUP_SIZES))]
            )
            self.encoder_layer = nn.TransformerEncoderLayer(
                DIM, 2, 16, dropout=0.0, batch_first=True, norm_first=True
            )
            self.patch_embedding_projection = nn.Linear(DIM, DIM, bias=False)
            self.encoder_cross = CrossAttention()
            self.global_transformer = nn.TransformerEncoderLayer(
                DIM, 2, 16, dropout=0.0, batch_first=True, norm_first=True
            )
            self.decoder_cross = CrossAttention()
            self.norm = nn.RMSNorm(DIM, eps=1e-5)
            self.output = nn.Linear(DIM, VOCAB, bias=False)

        def compute_hash_embeddings(self, tokens: Any) -> Any:
            embeds = self.tok_embeddings(tokens)
            i = 0
            for func_nb in range(N_HASH_FUNCS):
                for byte_group_size in GROUP_SIZES:
                    hash_ids = byte_group_hash_function(
                        torch, tokens, byte_group_size, hash_func_nb=func_nb, max_hash=MAX_HASH
                    )
                    hash_tok_embedding = self.encoder_hash_tok_embedding[i]
                    embeds = embeds + hash_tok_embedding(hash_ids)
                    i += 1
            return embeds

        def forward(self, tokens: Any, patch_ids: Any, num_patches: int) -> Any:
            bs, N = tokens.shape
            causal = nn.Transformer.generate_square_subsequent_mask(N)
            h = self.encoder_layer(
                self.compute_hash_embeddings(tokens), src_mask=causal, is_causal=True
            )
            patch_embeds = patch_reduce(torch, h, num_patches, "amax", patch_ids)
            patch_embeds = self.patch_embedding_projection(patch_embeds)
            enc_mask = cross_attn_mask(torch, patch_ids, num_patches, N, patches_as_queries=True)
            patch_embeds = self.encoder_cross(patch_embeds, h, enc_mask)
            p_causal = nn.Transformer.generate_square_subsequent_mask(num_patches)
            h_patches = self.global_transformer(patch_embeds, src_mask=p_causal, is_causal=True)
            dec_mask = cross_attn_mask(torch, patch_ids, num_patches, N, patches_as_queries=False)
            h_bytes = self.decoder_cross(h, h_patches, dec_mask)
            return self.output(self.norm(h_bytes))

    return BLT()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    rng = np.random.default_rng(17)
    values: list[float] = []
    for _ in range(STEPS):
        data = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        tokens, targets = data[:, :-1], data[:, 1:]
        ent_logits = model.entropy_model(tokens)
        ent_loss = F.cross_entropy(ent_logits.reshape(-1, VOCAB), targets.reshape(-1))
        with torch.no_grad():
            entropies = entropy(torch, ent_logits)
        mask = patch_start_mask_from_entropy_with_monotonicity(torch, entropies, THRESHOLD)
        patch_start_ids = patch_start_ids_from_patch_start_mask(torch, mask)
        patch_lengths = patch_lengths_from_start_ids(torch, patch_start_ids, SEQ)
        patch_lengths = torch.where(patch_start_ids >= SEQ, 0, patch_lengths)
        patch_ids = patch_ids_from_lengths(torch, patch_lengths, SEQ)
        num_patches = patch_lengths.shape[1]
        logits = model(tokens, patch_ids, num_patches)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        optimizer.zero_grad()
        (loss + ent_loss).backward()
        optimizer.step()
        values.extend([loss.item(), ent_loss.item(), num_patches, patch_ids.sum().item()])
    return values
