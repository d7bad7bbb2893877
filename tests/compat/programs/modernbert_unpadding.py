"""ModernBERT (Warner et al. 2024) as Hugging Face ``transformers`` writes it
(``models/modernbert/modeling_modernbert.py``), size-reduced: unpadded ("varlen") execution,
alternating global / sliding-window attention with two RoPE bases, GeGLU, bias-free LayerNorm, and
the sparse masked-LM head.

The idioms: ``_unpad_modernbert_input`` (``seqlens_in_batch = attention_mask.sum(dim=-1,
dtype=torch.int32)``, ``indices = torch.nonzero(attention_mask.flatten(),
as_tuple=False).flatten()``, ``max_seqlen_in_batch = int(seqlens_in_batch.max().item())``,
``cu_seqlens = torch.nn.functional.pad(torch.cumsum(seqlens_in_batch, dim=0, dtype=torch.int32), (1,
0))``, ``inputs.flatten()[indices]``) and ``_pad_modernbert_output`` (``torch.zeros((batch * seqlen,
*rest), dtype=inputs.dtype, device=inputs.device)``, ``padded_inputs[indices] = inputs``,
``.view(batch, seqlen, *rest)``); the varlen attention as a loop over ``cu_seqlens`` (what
``flash_attn_varlen_qkvpacked_func`` computes), with ``window_size=(local_attention // 2,
local_attention // 2)`` for local layers; the padded path's ``_prepare_4d_attention_mask``
(``mask[:, None, None, :].expand(bsz, 1, tgt_len, src_len).to(dtype)``, ``inverted_mask = 1.0 -
expanded_mask``, ``inverted_mask.masked_fill(inverted_mask.to(torch.bool),
torch.finfo(dtype).min)``) and ``_update_attention_mask``'s sliding window (``rows =
torch.arange(global_attention_mask.shape[2]).unsqueeze(0)``, ``distance = torch.abs(rows -
rows.T)``, ``window_mask = (distance <= self.config.local_attention //
2).unsqueeze(0).unsqueeze(0)``, ``global_attention_mask.masked_fill(window_mask.logical_not(),
torch.finfo(self.dtype).min)``); ``layer_id % self.config.global_attn_every_n_layers != 0`` choosing
``local_rope_theta``; ``qkv.view(bs, -1, 3, self.num_heads, self.head_dim)``, ``qkv.transpose(3,
1).unbind(dim=2)``; ``ModernBertMLP``'s ``input, gate = self.Wi(hidden_states).chunk(2, dim=-1)``,
``self.Wo(self.drop(self.act(input) * gate))``; ``nn.LayerNorm(hidden, eps=norm_eps,
bias=norm_bias)`` with ``norm_bias=False``; ``attn_norm = nn.Identity()`` on layer 0;
``ModernBertForMaskedLM``'s sparse prediction (``mask_tokens = labels !=
self.sparse_pred_ignore_index``, ``last_hidden_state[mask_tokens]``, ``labels[mask_tokens]``) with a
tied decoder (``self.decoder.weight = self.model.embeddings.tok_embeddings.weight``); and the check
that the unpadded and padded paths give the same loss. AdamW with ``weight_decay`` off for norms and
biases.

Changed: hidden 768 -> 8, 3 layers (global, local, global), ``local_attention`` 128 -> 2, vocabulary
50k -> 15, 3 sequences of up to 6 tokens, 3 steps; flash-attn's varlen kernel ->
``F.scaled_dot_product_attention`` per sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# the RoPE tables are float32 as in transformers (``.float()``); float32 ``cos``/``sin`` differ by
# an ulp between NumPy and PyTorch's vectorised kernels, which moves the float64 loss by ~2e-9
RTOL = 1e-7
VOCAB, HIDDEN, HEADS, LAYERS, LOCAL, SEQ, BATCH, STEPS = 15, 8, 2, 3, 2, 6, 3, 3
GLOBAL_THETA, LOCAL_THETA, PAD, MASK_ID, IGNORE = 160000.0, 10000.0, 0, 1, -100
HEAD_DIM = HIDDEN // HEADS


def _unpad_modernbert_input(torch_like: Any, inputs: Any, attention_mask: Any) -> tuple:
    torch = torch_like
    seqlens_in_batch = attention_mask.sum(dim=-1, dtype=torch.int32)
    indices = torch.nonzero(attention_mask.flatten(), as_tuple=False).flatten()
    max_seqlen_in_batch = int(seqlens_in_batch.max().item())
    cu_seqlens = torch.nn.functional.pad(
        torch.cumsum(seqlens_in_batch, dim=0, dtype=torch.int32), (1, 0)
    )
    if inputs.dim() == 2:
        unpadded_inputs = inputs.flatten()[indices]
    else:
        batch, seqlen, *rest = inputs.shape
        shape = batch * seqlen
        unpadded_inputs = inputs.view(shape, *rest)[indices]
    return unpadded_inputs, indices, cu_seqlens, max_seqlen_in_batch


def _pad_modernbert_output(
    torch_like: Any, inputs: Any, indices: Any, batch: int, seqlen: int
) -> Any:
    torch = torch_like
    if inputs.dim() == 1:
        output = torch.zeros(batch * seqlen, dtype=inputs.dtype, device=inputs.device)
        output[indices] = inputs
        padded_inputs = output.view(batch, seqlen)
    else:
        _, *rest = inputs.shape
        output = torch.zeros(batch * seqlen, *rest, dtype=inputs.dtype, device=inputs.device)
        output[indices] = inputs
        padded_inputs = output.view(batch, seqlen, *rest)
    return padded_inputs


def rotate_half(torch_like: Any, x: Any) -> Any:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch_like.cat((-x2, x1), dim=-1)


def rope_cos_sin(torch_like: Any, theta: float, position_ids: Any, dtype: Any) -> tuple:
    torch = torch_like
    inv_freq = 1.0 / (theta ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.int64).float() / HEAD_DIM))
    freqs = position_ids[..., None].float() * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class ModernBertAttention(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.num_heads, self.head_dim = HEADS, HEAD_DIM
            self.Wqkv = nn.Linear(HIDDEN, 3 * HIDDEN, bias=False)
            if layer_id % 2 != 0:
                self.local_attention = (LOCAL // 2, LOCAL // 2)
                self.rope_theta = LOCAL_THETA
            else:
                self.local_attention = (-1, -1)
                self.rope_theta = GLOBAL_THETA
            self.Wo = nn.Linear(HIDDEN, HIDDEN, bias=False)
            self.out_drop = nn.Identity()

        def forward(
            self,
            hidden_states: Any,
            position_ids: Any,
            cu_seqlens: Any = None,
            attention_mask: Any = None,
            sliding_window_mask: Any = None,
        ) -> Any:
            qkv = self.Wqkv(hidden_states)
            if cu_seqlens is not None:  # unpadded: (total_nnz, 3 * hidden)
                qkv = qkv.view(-1, 3, self.num_heads, self.head_dim)
                q, k, v = qkv.unbind(dim=1)  # (nnz, heads, head_dim)
                cos, sin = rope_cos_sin(torch, self.rope_theta, position_ids, qkv.dtype)
                cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
                q = q * cos + rotate_half(torch, q) * sin
                k = k * cos + rotate_half(torch, k) * sin
                outs = []
                for i in range(cu_seqlens.shape[0] - 1):
                    s, e = int(cu_seqlens[i]), int(cu_seqlens[i + 1])
                    qi, ki, vi = (z[s:e].transpose(0, 1) for z in (q, k, v))
                    mask = None
                    if self.local_attention != (-1, -1):
                        rows = torch.arange(e - s).unsqueeze(0)
                        mask = torch.abs(rows - rows.T) <= self.local_attention[0]
                    outs.append(
                        F.scaled_dot_product_attention(qi, ki, vi, attn_mask=mask).transpose(0, 1)
                    )
                attn = torch.cat(outs, dim=0).reshape(-1, HIDDEN)
            else:
                bs = hidden_states.shape[0]
                qkv = qkv.view(bs, -1, 3, self.num_heads, self.head_dim)
                query, key, value = qkv.transpose(3, 1).unbind(dim=2)  # (bs, heads, seq, dim)
                cos, sin = rope_cos_sin(torch, self.rope_theta, position_ids, qkv.dtype)
                cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
                query = query * cos + rotate_half(torch, query) * sin
                key = key * cos + rotate_half(torch, key) * sin
                if self.local_attention != (-1, -1):
                    attention_mask = sliding_window_mask
                attn = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask)
                attn = attn.transpose(1, 2).contiguous().view(bs, -1, HIDDEN)
            return self.out_drop(self.Wo(attn))

    class ModernBertMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.Wi = nn.Linear(HIDDEN, 2 * 12, bias=False)
            self.act = nn.GELU()
            self.drop = nn.Dropout(0.0)
            self.Wo = nn.Linear(12, HIDDEN, bias=False)

        def forward(self, hidden_states: Any) -> Any:
            input, gate = self.Wi(hidden_states).chunk(2, dim=-1)
            return self.Wo(self.drop(self.act(input) * gate))

    class ModernBertEncoderLayer(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            if layer_id == 0:
                self.attn_norm = nn.Identity()
            else:
                self.attn_norm = nn.LayerNorm(HIDDEN, eps=1e-5, bias=False)
            self.attn = ModernBertAttention(layer_id)
            self.mlp_norm = nn.LayerNorm(HIDDEN, eps=1e-5, bias=False)
            self.mlp = ModernBertMLP()

        def forward(self, hidden_states: Any, **kwargs: Any) -> Any:
            attn_out = self.attn(self.attn_norm(hidden_states), **kwargs)
            hidden_states = hidden_states + attn_out
            return hidden_states + self.mlp(self.mlp_norm(hidden_states))

    class ModernBertForMaskedLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok_embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=PAD)
            self.emb_norm = nn.LayerNorm(HIDDEN, eps=1e-5, bias=False)
            self.layers = nn.ModuleList([ModernBertEncoderLayer(i) for i in range(LAYERS)])
            self.final_norm = nn.LayerNorm(HIDDEN, eps=1e-5, bias=False)
            self.head_dense = nn.Linear(HIDDEN, HIDDEN, bias=False)
            self.head_norm = nn.LayerNorm(HIDDEN, eps=1e-5, bias=False)
            self.decoder = nn.Linear(HIDDEN, VOCAB, bias=True)
            self.decoder.weight = self.tok_embeddings.weight
            self.sparse_pred_ignore_index = IGNORE

        def forward(self, input_ids: Any, attention_mask: Any, labels: Any, unpad: bool) -> Any:
            batch_size, seq_len = input_ids.shape
            if unpad:
                input_ids, indices, cu_seqlens, _ = _unpad_modernbert_input(
                    torch, input_ids, attention_mask
                )
                position_ids = torch.cat(
                    [
                        torch.arange(int(cu_seqlens[i + 1] - cu_seqlens[i]))
                        for i in range(batch_size)
                    ]
                )
                labels = labels.flatten()[indices]
                kwargs = dict(position_ids=position_ids, cu_seqlens=cu_seqlens)
            else:
                position_ids = torch.arange(seq_len).unsqueeze(0)
                dtype = torch.get_default_dtype()
                bsz, src_len = attention_mask.size()
                expanded_mask = (
                    attention_mask[:, None, None, :].expand(bsz, 1, seq_len, src_len).to(dtype)
                )
                inverted_mask = 1.0 - expanded_mask
                global_attention_mask = inverted_mask.masked_fill(
                    inverted_mask.to(torch.bool), torch.finfo(dtype).min
                )
                rows = torch.arange(global_attention_mask.shape[2]).unsqueeze(0)
                distance = torch.abs(rows - rows.T)
                window_mask = (distance <= LOCAL // 2).unsqueeze(0).unsqueeze(0)
                sliding_window_mask = global_attention_mask.masked_fill(
                    window_mask.logical_not(), torch.finfo(dtype).min
                )
                kwargs = dict(
                    position_ids=position_ids,
                    attention_mask=global_attention_mask,
                    sliding_window_mask=sliding_window_mask,
                )
            hidden_states = self.emb_norm(self.tok_embeddings(input_ids))
            for layer in self.layers:
                hidden_states = layer(hidden_states, **kwargs)
            last_hidden_state = self.final_norm(hidden_states)
            if unpad:
                padded = _pad_modernbert_output(
                    torch, last_hidden_state, indices, batch_size, seq_len
                )
                assert padded.shape == (batch_size, seq_len, HIDDEN)
            else:
                labels = labels.view(-1)
                last_hidden_state = last_hidden_state.view(labels.shape[0], -1)
            mask_tokens = labels != self.sparse_pred_ignore_index
            last_hidden_state = last_hidden_state[mask_tokens]
            labels = labels[mask_tokens]
            logits = self.decoder(self.head_norm(F.gelu(self.head_dense(last_hidden_state))))
            return F.cross_entropy(logits, labels)

    return ModernBertForMaskedLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    decay = [p for n, p in model.named_parameters() if "norm" not in n and "bias" not in n]
    no_decay = [p for n, p in model.named_parameters() if "norm" in n or "bias" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-2,
    )
    rng = np.random.default_rng(12)
    values: list[float] = []
    for _ in range(STEPS):
        ids = rng.integers(2, VOCAB, (BATCH, SEQ))
        lengths = [SEQ, 4, 5]
        mask = np.zeros_like(ids)
        for b, n in enumerate(lengths):
            mask[b, :n] = 1
            ids[b, n:] = PAD
        labels = np.full_like(ids, IGNORE)
        for b, pos in enumerate([1, 2, 3]):
            labels[b, pos], ids[b, pos] = ids[b, pos], MASK_ID
        labels[0, 4] = ids[0, 4]
        input_ids, attention_mask = as_tensor(torch, ids), as_tensor(torch, mask)
        labels_t = as_tensor(torch, labels)
        padded_loss = model(input_ids, attention_mask, labels_t, unpad=False)
        loss = model(input_ids, attention_mask, labels_t, unpad=True)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.extend([loss.item(), padded_loss.item()])
    return values


def check(values: list[float]) -> None:
    np.testing.assert_allclose(values[0::2], values[1::2], rtol=1e-9)  # unpadded == padded
