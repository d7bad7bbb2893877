"""HSTU, Meta's generative recommender (facebookresearch/generative-recommenders,
``modeling/sequential/hstu.py``, ``modeling/sequential/autoregressive_losses.py``,
``modeling/sequential/embedding_modules.py``), size-reduced to its padded (non-jagged) path.

The idioms kept: ``RelativeBucketedTimeAndPositionBasedBias`` (``F.pad(self._pos_w[: 2 * N -
1], [0, N]).repeat(N)``, ``t[..., :-N].reshape(1, N, 3 * N - 2)`` sliced ``[:, :, r:-r]``,
``ext_timestamps = torch.cat([all_timestamps, all_timestamps[:, N - 1 : N]], dim=1)``, the
bucketisation ``(torch.log(torch.abs(x).clamp(min=1)) / 0.301).long()`` under
``torch.clamp(..., min=0, max=num_buckets).detach()``, ``torch.index_select(self._ts_w,
dim=0, index=bucketed.view(-1)).view(B, N, N)``); the ``SequentialTransductionUnit``
(``F.layer_norm(x, normalized_shape=[D], eps=...)``, one ``torch.mm(normed_x, self._uvqk)`` with
``_uvqk = nn.Parameter(torch.empty(...).normal_(mean=0, std=0.02))``, ``F.silu``,
``torch.split(..., [...], dim=1)``, ``torch.einsum("bnhd,bmhd->bhnm", q, k)`` plus the
relative bias, ``F.silu(qk_attn) / n`` times the causal ``1.0 - triu(ones, diagonal=1)``
buffer, ``torch.einsum("bhnm,bmhd->bnhd", ...)``, ``torch.cat([u, a, u * a], dim=-1)`` or ``u
* norm(a)``, ``self._o(self._dropout(o_input)) + x``); ``LocalEmbeddingModule``'s
``nn.Embedding(..., padding_idx=0)`` with ``truncated_normal`` init (``x.new_empty(size + (4,))
.normal_()``, ``valid.max(-1, keepdim=True)[1]``, ``tmp.gather(-1, ind)``); the input preprocessor's
``* (self._embedding_dim**0.5)`` and ``(past_ids != 0).unsqueeze(-1).float()`` mask; the output
``L2NormEmbeddingPostprocessor``'s ``x / torch.clamp(torch.linalg.norm(x, ord=None, dim=-1,
keepdim=True), min=eps)``; ``LocalNegativesSampler`` (``torch.randint(low=0, high=num_items,
size=..., dtype=positive_ids.dtype)``, ``self._all_item_ids[sampled_offsets.view(-1)]
.reshape(output_shape)``); ``SampledSoftmaxLoss`` (``torch.where(supervision_ids.unsqueeze(1)
== sampled_ids, -5e4, logits / temperature)``, ``-F.log_softmax(torch.cat([positive_logits,
sampled_negatives_logits], dim=1), dim=1)[:, 0]`` weighted by the supervision mask);
``torch.optim.AdamW(betas=(0.9, 0.98))``; top-k retrieval with ``torch.topk`` for HR@k.

Changed: the jagged ``fbgemm`` kernels are their padded equivalents (the repository's
reference path), 50 -> 4 dims per head, 2 heads, the two blocks one with ``concat_ua`` and
one without, embedding 50 -> 8, 3706
items -> 12, sequences of 6, 4 steps, 5 sampled negatives; timestamps are seeded NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

ITEMS, D, HEADS, LIN, ATT, N, BATCH, NEG, BUCKETS = 12, 8, 2, 4, 4, 6, 3, 5, 8


def truncated_normal(torch: Any, x: Any, mean: float, std: float) -> Any:
    with torch.no_grad():
        size = x.shape
        tmp = x.new_empty(size + (4,)).normal_()
        valid = (tmp < 2) & (tmp > -2)
        ind = valid.max(-1, keepdim=True)[1]
        x.data.copy_(tmp.gather(-1, ind).squeeze(-1))
        x.data.mul_(std).add_(mean)
        return x


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class RelativeBucketedTimeAndPositionBasedBias(nn.Module):
        def __init__(self, max_seq_len: int, num_buckets: int, bucketization_fn: Any) -> None:
            super().__init__()
            self._max_seq_len = max_seq_len
            self._ts_w = nn.Parameter(torch.empty(num_buckets + 1).normal_(mean=0, std=0.02))
            self._pos_w = nn.Parameter(torch.empty(2 * max_seq_len - 1).normal_(mean=0, std=0.02))
            self._num_buckets = num_buckets
            self._bucketization_fn = bucketization_fn

        def forward(self, all_timestamps: Any) -> Any:
            B = all_timestamps.size(0)
            N = self._max_seq_len
            t = F.pad(self._pos_w[: 2 * N - 1], [0, N]).repeat(N)
            t = t[..., :-N].reshape(1, N, 3 * N - 2)
            r = (2 * N - 1) // 2
            ext_timestamps = torch.cat([all_timestamps, all_timestamps[:, N - 1 : N]], dim=1)
            bucketed_timestamps = torch.clamp(
                self._bucketization_fn(
                    ext_timestamps[:, 1:].unsqueeze(2) - ext_timestamps[:, :-1].unsqueeze(1)
                ),
                min=0,
                max=self._num_buckets,
            ).detach()
            rel_pos_bias = t[:, :, r:-r]
            rel_ts_bias = torch.index_select(
                self._ts_w, dim=0, index=bucketed_timestamps.view(-1)
            ).view(B, N, N)
            return rel_pos_bias + rel_ts_bias

    class SequentialTransductionUnit(nn.Module):
        def __init__(self, embedding_dim: int, linear_hidden_dim: int, attention_dim: int,
                     num_heads: int, relative_attention_bias_module: Any,
                     concat_ua: bool = False, epsilon: float = 1e-6) -> None:  # fmt: skip
            super().__init__()
            self._embedding_dim = embedding_dim
            self._linear_dim = linear_hidden_dim
            self._attention_dim = attention_dim
            self._num_heads = num_heads
            self._rel_attn_bias = relative_attention_bias_module
            self._concat_ua = concat_ua
            self._eps = epsilon
            self._uvqk = nn.Parameter(
                torch.empty(
                    (embedding_dim,
                     linear_hidden_dim * 2 * num_heads + attention_dim * num_heads * 2)
                ).normal_(mean=0, std=0.02)
            )  # fmt: skip
            self._o = nn.Linear(
                in_features=linear_hidden_dim * num_heads * (3 if concat_ua else 1),
                out_features=embedding_dim,
            )
            nn.init.xavier_uniform_(self._o.weight)
            self._dropout = nn.Dropout(0.0)

        def _norm_input(self, x: Any) -> Any:
            return F.layer_norm(x, normalized_shape=[self._embedding_dim], eps=self._eps)

        def _norm_attn_output(self, x: Any) -> Any:
            return F.layer_norm(x, normalized_shape=[self._linear_dim * self._num_heads],
                                eps=self._eps)  # fmt: skip

        def forward(self, x: Any, all_timestamps: Any, invalid_attn_mask: Any) -> Any:
            B, n, _ = x.shape
            normed_x = self._norm_input(x).reshape(B * n, -1)
            batched_mm_output = torch.mm(normed_x, self._uvqk)
            batched_mm_output = F.silu(batched_mm_output)
            u, v, q, k = torch.split(
                batched_mm_output,
                [self._linear_dim * self._num_heads, self._linear_dim * self._num_heads,
                 self._attention_dim * self._num_heads, self._attention_dim * self._num_heads],
                dim=1,
            )  # fmt: skip
            qk_attn = torch.einsum(
                "bnhd,bmhd->bhnm",
                q.view(B, n, self._num_heads, self._attention_dim),
                k.view(B, n, self._num_heads, self._attention_dim),
            )
            if all_timestamps is not None:
                qk_attn = qk_attn + self._rel_attn_bias(all_timestamps).unsqueeze(1)
            qk_attn = F.silu(qk_attn) / n
            qk_attn = qk_attn * invalid_attn_mask.unsqueeze(0).unsqueeze(0)
            attn_output = torch.einsum(
                "bhnm,bmhd->bnhd",
                qk_attn,
                v.reshape(B, n, self._num_heads, self._linear_dim),
            ).reshape(B, n, self._num_heads * self._linear_dim)
            u = u.view(B, n, -1)
            if self._concat_ua:
                a = self._norm_attn_output(attn_output)
                o_input = torch.cat([u, a, u * a], dim=-1)
            else:
                o_input = u * self._norm_attn_output(attn_output)
            new_outputs = self._o(self._dropout(o_input)) + x
            return new_outputs

    class HSTU(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._item_emb = nn.Embedding(ITEMS + 1, D, padding_idx=0)
            self._embedding_dim = D
            self._attention_layers = nn.ModuleList([
                SequentialTransductionUnit(
                    D, LIN, ATT, HEADS,
                    RelativeBucketedTimeAndPositionBasedBias(
                        N, BUCKETS,
                        lambda x: (torch.log(torch.abs(x).clamp(min=1)) / 0.301).long(),
                    ),
                    concat_ua=concat_ua,
                )
                for concat_ua in (True, False)
            ])  # fmt: skip
            self.register_buffer(
                "_attn_mask",
                torch.triu(torch.ones((N, N), dtype=torch.bool), diagonal=1),
            )
            for name, params in self.named_parameters():
                if "_item_emb" in name:
                    truncated_normal(torch, params.data, mean=0.0, std=0.02)

        def get_item_embeddings(self, item_ids: Any) -> Any:
            return self._item_emb(item_ids)

        def forward(self, past_ids: Any, past_timestamps: Any) -> Any:
            past_embeddings = self.get_item_embeddings(past_ids)
            user_embeddings = past_embeddings * (self._embedding_dim**0.5)
            valid_mask = (past_ids != 0).unsqueeze(-1).float()
            user_embeddings *= valid_mask
            invalid_attn_mask = 1.0 - self._attn_mask.to(user_embeddings.dtype)
            for layer in self._attention_layers:
                user_embeddings = layer(user_embeddings, past_timestamps, invalid_attn_mask)
                user_embeddings *= valid_mask
            user_embeddings = F.layer_norm(user_embeddings, [D], eps=1e-6)
            return self.normalize_embeddings(user_embeddings)

        def normalize_embeddings(self, x: Any) -> Any:
            return x / torch.clamp(torch.linalg.norm(x, ord=None, dim=-1, keepdim=True),
                                   min=1e-6)  # fmt: skip

    return HSTU()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.98),
                                  weight_decay=0)  # fmt: skip
    all_item_ids = torch.arange(1, ITEMS + 1)
    temperature = 0.05
    torch.manual_seed(5)
    rng = np.random.default_rng(50)
    values: list[float] = []
    for _step in range(4):
        seq = rng.integers(1, ITEMS + 1, (BATCH, N + 1))
        for b in range(BATCH):
            seq[b, : rng.integers(0, 3)] = 0  # left-padded histories
        ts = np.cumsum(rng.integers(1, 200, (BATCH, N + 1)), axis=1)
        past_ids = as_tensor(torch, seq[:, :-1])
        supervision_ids_all = as_tensor(torch, seq[:, 1:])
        past_timestamps = as_tensor(torch, ts[:, :-1])
        output_embeddings = model(past_ids, past_timestamps)
        supervision_weights = (supervision_ids_all != 0).float().view(-1)
        output_embeddings = output_embeddings.reshape(-1, D)
        supervision_ids = supervision_ids_all.reshape(-1)
        positive_embeddings = model.normalize_embeddings(model.get_item_embeddings(supervision_ids))
        positive_logits = (output_embeddings * positive_embeddings).sum(-1, keepdim=True)
        positive_logits = positive_logits / temperature
        output_shape = supervision_ids.size() + (NEG,)
        sampled_offsets = torch.randint(low=0, high=ITEMS, size=output_shape,
                                        dtype=supervision_ids.dtype)  # fmt: skip
        sampled_ids = all_item_ids[sampled_offsets.view(-1)].reshape(output_shape)
        sampled_negative_embeddings = model.normalize_embeddings(
            model.get_item_embeddings(sampled_ids)
        )
        sampled_negatives_logits = torch.einsum(
            "bd,bxd->bx", output_embeddings, sampled_negative_embeddings
        )
        sampled_negatives_logits = torch.where(
            supervision_ids.unsqueeze(1) == sampled_ids,
            -5e4,
            sampled_negatives_logits / temperature,
        )
        jagged_loss = -F.log_softmax(
            torch.cat([positive_logits, sampled_negatives_logits], dim=1), dim=1
        )[:, 0]
        loss = (jagged_loss * supervision_weights).sum() / supervision_weights.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        query = model(past_ids, past_timestamps)[:, -1, :]
        item_embeddings = model.normalize_embeddings(model.get_item_embeddings(all_item_ids))
        scores = query @ item_embeddings.t()
        _, top_idx = torch.topk(scores, k=3, dim=1)
        top_ids = all_item_ids[top_idx]
        hits = (top_ids == supervision_ids_all[:, -1:]).any(dim=1).float().mean()
    values += [float(hits), float(scores.sum())]
    return values
