"""ESM-2, the protein language model, as facebookresearch/esm writes it (``esm/model/esm2.py``:
``ESM2.forward``; ``esm/modules.py``: ``TransformerLayer``, ``RobertaLMHead``,
``ContactPredictionHead``, ``symmetrize``, ``apc``, ``gelu``; ``esm/rotary_embedding.py``:
``RotaryEmbedding``, ``rotate_half``, ``apply_rotary_pos_emb``; ``esm/multihead_attention.py``:
the fairseq ``MultiheadAttention``), size-reduced, trained on masked-token and contact losses.

The idioms: ``rotate_half`` (``x1, x2 = x.chunk(2, dim=-1)``, ``torch.cat((-x2, x1),
dim=-1)``); ``RotaryEmbedding`` (``inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float()
/ dim))`` registered as a float32 buffer, ``torch.arange(x.shape[seq_dimension],
device=x.device).type_as(self.inv_freq)``, ``torch.einsum("i,j->ij", t, self.inv_freq)``,
``emb.cos()[None, :, :]`` cached by sequence length, ``cos[:, : x.shape[-2], :]``); the fairseq
attention on time-major ``(T, B, E)`` input (``q *= self.scaling``, ``q.contiguous().view(
tgt_len, bsz * self.num_heads, self.head_dim).transpose(0, 1)``, ``torch.bmm(q, k.transpose(1,
2))``, ``attn_weights.masked_fill(key_padding_mask.unsqueeze(1).unsqueeze(2).to(torch.bool),
float("-inf"))``, ``F.softmax(x, dim=dim, dtype=torch.float32)`` then ``.type_as(
attn_weights)``, per-head weights ``.view(bsz, self.num_heads, tgt_len, src_len).type_as(attn)
.transpose(1, 0)``); the erf ``gelu`` (``x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))``);
``ESM2.forward`` (``padding_mask = tokens.eq(self.padding_idx)``, ``self.embed_scale *
self.embed_tokens(tokens)``, the token-dropout rescaling ``x.masked_fill_((tokens ==
self.mask_idx).unsqueeze(-1), 0.0)``, ``mask_ratio_train = 0.15 * 0.8``, ``(tokens ==
self.mask_idx).sum(-1).to(x.dtype) / src_lengths``, ``x * (1 - mask_ratio_train) / (1 -
mask_ratio_observed)[:, None, None]``, ``x * (1 - padding_mask.unsqueeze(-1).type_as(x))``,
``if not padding_mask.any(): padding_mask = None``, ``repr_layers = set(repr_layers)``,
``torch.stack(attn_weights, 1)`` and ``attention_mask.unsqueeze(1) * attention_mask.unsqueeze(
2)``); ``RobertaLMHead`` with the tied embedding weight (``F.linear(x, self.weight) +
self.bias``); ``ContactPredictionHead`` (``tokens.ne(self.eos_idx).to(attentions)``,
``attentions[..., :-1, :-1]``, ``attentions[..., 1:, 1:]``, ``attentions.size()`` unpacked,
``apc(symmetrize(attentions))`` with ``x + x.transpose(-1, -2)``, ``x.sum(-1, keepdims=True)``,
``x.sum((-1, -2), keepdims=True)``, ``avg.div_(a12)``, ``.permute(0, 2, 3, 1)``,
``self.activation(self.regression(attentions).squeeze(3))``); an MLM loss with
``F.cross_entropy(..., ignore_index=-100)``, a contact BCE over ``torch.triu(torch.ones(L, L),
diagonal=6)`` pairs, and AdamW.

Changed: 2 layers of width 16 with 4 heads, a 12-token alphabet (``<cls>`` 0, ``<pad>`` 1,
``<eos>`` 2, ``<mask>`` 11), sequences of 10 to 14 residues with NumPy masks, no dropout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL = 2e-5
VOCAB, EMBED, HEADS, LAYERS, FFN = 12, 16, 4, 2, 32
CLS, PAD, EOS, MASK = 0, 1, 2, 11
LENGTHS, STEPS = (14, 10, 12), 4


def _classes(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    def gelu(x: Any) -> Any:
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))

    def rotate_half(x: Any) -> Any:
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    def apply_rotary_pos_emb(x: Any, cos: Any, sin: Any) -> Any:
        cos = cos[:, : x.shape[-2], :]
        sin = sin[:, : x.shape[-2], :]
        return (x * cos) + (rotate_half(x) * sin)

    def symmetrize(x: Any) -> Any:
        return x + x.transpose(-1, -2)

    def apc(x: Any) -> Any:
        a1 = x.sum(-1, keepdims=True)
        a2 = x.sum(-2, keepdims=True)
        a12 = x.sum((-1, -2), keepdims=True)
        avg = a1 * a2
        avg.div_(a12)
        normalized = x - avg
        return normalized

    def utils_softmax(x: Any, dim: int, onnx_trace: bool = False) -> Any:
        if onnx_trace:
            return F.softmax(x.float(), dim=dim)
        return F.softmax(x, dim=dim, dtype=torch.float32)

    class RotaryEmbedding(nn.Module):
        def __init__(self, dim: int, *_: Any, **__: Any) -> None:
            super().__init__()
            inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
            self.register_buffer("inv_freq", inv_freq)
            self._seq_len_cached = None
            self._cos_cached = None
            self._sin_cached = None

        def _update_cos_sin_tables(self, x: Any, seq_dimension: int = 1) -> tuple[Any, Any]:
            seq_len = x.shape[seq_dimension]
            if seq_len != self._seq_len_cached or self._cos_cached.device != x.device:
                self._seq_len_cached = seq_len
                t = torch.arange(x.shape[seq_dimension], device=x.device).type_as(self.inv_freq)
                freqs = torch.einsum("i,j->ij", t, self.inv_freq)
                emb = torch.cat((freqs, freqs), dim=-1).to(x.device)
                self._cos_cached = emb.cos()[None, :, :]
                self._sin_cached = emb.sin()[None, :, :]
            return self._cos_cached, self._sin_cached

        def forward(self, q: Any, k: Any) -> tuple[Any, Any]:
            self._cos_cached, self._sin_cached = self._update_cos_sin_tables(k, seq_dimension=-2)
            return (
                apply_rotary_pos_emb(q, self._cos_cached, self._sin_cached),
                apply_rotary_pos_emb(k, self._cos_cached, self._sin_cached),
            )

    class MultiheadAttention(nn.Module):
        def __init__(self, embed_dim: int, num_heads: int, bias: bool = True,
                     use_rotary_embeddings: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.embed_dim = embed_dim
            self.num_heads = num_heads
            self.head_dim = embed_dim // num_heads
            assert self.head_dim * num_heads == self.embed_dim
            self.scaling = self.head_dim**-0.5
            self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
            self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
            self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
            self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
            self.rot_emb = None
            if use_rotary_embeddings:
                self.rot_emb = RotaryEmbedding(dim=self.head_dim)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.k_proj.weight, gain=1 / math.sqrt(2))
            nn.init.xavier_uniform_(self.v_proj.weight, gain=1 / math.sqrt(2))
            nn.init.xavier_uniform_(self.q_proj.weight, gain=1 / math.sqrt(2))
            nn.init.xavier_uniform_(self.out_proj.weight)
            if self.out_proj.bias is not None:
                nn.init.constant_(self.out_proj.bias, 0.0)

        def forward(self, query, key_padding_mask=None, need_weights=True,  # noqa: ANN001
                    need_head_weights=False):  # noqa: ANN001  # fmt: skip
            if need_head_weights:
                need_weights = True
            tgt_len, bsz, embed_dim = query.size()
            q = self.q_proj(query)
            k = self.k_proj(query)
            v = self.v_proj(query)
            q *= self.scaling
            q = q.contiguous().view(tgt_len, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            k = k.contiguous().view(-1, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            v = v.contiguous().view(-1, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            src_len = k.size(1)
            if key_padding_mask is not None and key_padding_mask.dim() == 0:
                key_padding_mask = None
            if self.rot_emb:
                q, k = self.rot_emb(q, k)
            attn_weights = torch.bmm(q, k.transpose(1, 2))
            assert list(attn_weights.size()) == [bsz * self.num_heads, tgt_len, src_len]
            if key_padding_mask is not None:
                attn_weights = attn_weights.view(bsz, self.num_heads, tgt_len, src_len)
                attn_weights = attn_weights.masked_fill(
                    key_padding_mask.unsqueeze(1).unsqueeze(2).to(torch.bool), float("-inf")
                )
                attn_weights = attn_weights.view(bsz * self.num_heads, tgt_len, src_len)
            attn_weights_float = utils_softmax(attn_weights, dim=-1)
            attn_weights = attn_weights_float.type_as(attn_weights)
            attn_probs = F.dropout(
                attn_weights_float.type_as(attn_weights), p=0.0, training=self.training
            )
            attn = torch.bmm(attn_probs, v)
            attn = attn.transpose(0, 1).contiguous().view(tgt_len, bsz, embed_dim)
            attn = self.out_proj(attn)
            attn_weights = None
            if need_weights:
                attn_weights = (
                    attn_weights_float.view(bsz, self.num_heads, tgt_len, src_len)
                    .type_as(attn)
                    .transpose(1, 0)
                )
                if not need_head_weights:
                    attn_weights = attn_weights.mean(dim=0)
            return attn, attn_weights

    class TransformerLayer(nn.Module):
        def __init__(self, embed_dim: int, ffn_embed_dim: int, attention_heads: int) -> None:
            super().__init__()
            self.embed_dim = embed_dim
            self.self_attn = MultiheadAttention(
                embed_dim, attention_heads, use_rotary_embeddings=True
            )
            self.self_attn_layer_norm = nn.LayerNorm(embed_dim)
            self.fc1 = nn.Linear(embed_dim, ffn_embed_dim)
            self.fc2 = nn.Linear(ffn_embed_dim, embed_dim)
            self.final_layer_norm = nn.LayerNorm(embed_dim)

        def forward(self, x, self_attn_padding_mask=None, need_head_weights=False):  # noqa: ANN001
            residual = x
            x = self.self_attn_layer_norm(x)
            x, attn = self.self_attn(
                query=x,
                key_padding_mask=self_attn_padding_mask,
                need_weights=True,
                need_head_weights=need_head_weights,
            )
            x = residual + x
            residual = x
            x = self.final_layer_norm(x)
            x = gelu(self.fc1(x))
            x = self.fc2(x)
            x = residual + x
            return x, attn

    class RobertaLMHead(nn.Module):
        def __init__(self, embed_dim: int, output_dim: int, weight: Any) -> None:
            super().__init__()
            self.dense = nn.Linear(embed_dim, embed_dim)
            self.layer_norm = nn.LayerNorm(embed_dim)
            self.weight = weight
            self.bias = nn.Parameter(torch.zeros(output_dim))

        def forward(self, features: Any) -> Any:
            x = self.dense(features)
            x = gelu(x)
            x = self.layer_norm(x)
            x = F.linear(x, self.weight) + self.bias
            return x

    class ContactPredictionHead(nn.Module):
        def __init__(self, in_features, prepend_bos, append_eos, bias=True, eos_idx=None):  # noqa: ANN001
            super().__init__()
            self.in_features = in_features
            self.prepend_bos = prepend_bos
            self.append_eos = append_eos
            if append_eos and eos_idx is None:
                raise ValueError(
                    "Using an alphabet with eos token, but no eos token was passed in."
                )
            self.eos_idx = eos_idx
            self.regression = nn.Linear(in_features, 1, bias)
            self.activation = nn.Sigmoid()

        def forward(self, tokens: Any, attentions: Any) -> Any:
            if self.append_eos:
                eos_mask = tokens.ne(self.eos_idx).to(attentions)
                eos_mask = eos_mask.unsqueeze(1) * eos_mask.unsqueeze(2)
                attentions = attentions * eos_mask[:, None, None, :, :]
                attentions = attentions[..., :-1, :-1]
            if self.prepend_bos:
                attentions = attentions[..., 1:, 1:]
            batch_size, layers, heads, seqlen, _ = attentions.size()
            attentions = attentions.view(batch_size, layers * heads, seqlen, seqlen)
            attentions = attentions.to(self.regression.weight.device)
            attentions = apc(symmetrize(attentions))
            attentions = attentions.permute(0, 2, 3, 1)
            return self.activation(self.regression(attentions).squeeze(3))

    class ESM2(nn.Module):
        def __init__(self, num_layers=LAYERS, embed_dim=EMBED, attention_heads=HEADS,  # noqa: ANN001
                     token_dropout=True):  # noqa: ANN001  # fmt: skip
            super().__init__()
            self.num_layers = num_layers
            self.embed_dim = embed_dim
            self.attention_heads = attention_heads
            self.alphabet_size = VOCAB
            self.padding_idx, self.mask_idx = PAD, MASK
            self.cls_idx, self.eos_idx = CLS, EOS
            self.prepend_bos, self.append_eos = True, True
            self.token_dropout = token_dropout
            self.embed_scale = 1
            self.embed_tokens = nn.Embedding(
                self.alphabet_size, self.embed_dim, padding_idx=self.padding_idx
            )
            self.layers = nn.ModuleList(
                [TransformerLayer(self.embed_dim, 2 * self.embed_dim, self.attention_heads)
                 for _ in range(self.num_layers)]
            )  # fmt: skip
            self.contact_head = ContactPredictionHead(
                self.num_layers * self.attention_heads,
                self.prepend_bos,
                self.append_eos,
                eos_idx=self.eos_idx,
            )
            self.emb_layer_norm_after = nn.LayerNorm(self.embed_dim)
            self.lm_head = RobertaLMHead(
                embed_dim=self.embed_dim,
                output_dim=self.alphabet_size,
                weight=self.embed_tokens.weight,
            )

        def forward(self, tokens, repr_layers=[], need_head_weights=False, return_contacts=False):  # noqa: ANN001, B006
            if return_contacts:
                need_head_weights = True
            assert tokens.ndim == 2
            padding_mask = tokens.eq(self.padding_idx)
            x = self.embed_scale * self.embed_tokens(tokens)
            if self.token_dropout:
                x.masked_fill_((tokens == self.mask_idx).unsqueeze(-1), 0.0)
                mask_ratio_train = 0.15 * 0.8
                src_lengths = (~padding_mask).sum(-1)
                mask_ratio_observed = (tokens == self.mask_idx).sum(-1).to(x.dtype) / src_lengths
                x = x * (1 - mask_ratio_train) / (1 - mask_ratio_observed)[:, None, None]
            if padding_mask is not None:
                x = x * (1 - padding_mask.unsqueeze(-1).type_as(x))
            repr_layers = set(repr_layers)
            hidden_representations = {}
            if 0 in repr_layers:
                hidden_representations[0] = x
            if need_head_weights:
                attn_weights = []
            x = x.transpose(0, 1)
            if not padding_mask.any():
                padding_mask = None
            for layer_idx, layer in enumerate(self.layers):
                x, attn = layer(
                    x, self_attn_padding_mask=padding_mask, need_head_weights=need_head_weights
                )
                if (layer_idx + 1) in repr_layers:
                    hidden_representations[layer_idx + 1] = x.transpose(0, 1)
                if need_head_weights:
                    attn_weights.append(attn.transpose(1, 0))
            x = self.emb_layer_norm_after(x)
            x = x.transpose(0, 1)
            if (layer_idx + 1) in repr_layers:
                hidden_representations[layer_idx + 1] = x
            x = self.lm_head(x)
            result = {"logits": x, "representations": hidden_representations}
            if need_head_weights:
                attentions = torch.stack(attn_weights, 1)
                if padding_mask is not None:
                    attention_mask = 1 - padding_mask.type_as(attentions)
                    attention_mask = attention_mask.unsqueeze(1) * attention_mask.unsqueeze(2)
                    attentions = attentions * attention_mask[:, None, None, :, :]
                result["attentions"] = attentions
                if return_contacts:
                    contacts = self.contact_head(tokens, attentions)
                    result["contacts"] = contacts
            return result

    return {"ESM2": ESM2}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["ESM2"]()


def _batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BatchConverter's layout: ``<cls> seq <eos> <pad>...``; 15% of residues masked."""
    width = max(LENGTHS) + 2
    tokens = np.full((len(LENGTHS), width), PAD, dtype=np.int64)
    labels = np.full((len(LENGTHS), width), -100, dtype=np.int64)
    contacts = np.zeros((len(LENGTHS), width - 2, width - 2))
    for i, n in enumerate(LENGTHS):
        seq = rng.integers(3, MASK, n)
        tokens[i, 0], tokens[i, 1 : n + 1], tokens[i, n + 1] = CLS, seq, EOS
        masked = 1 + rng.choice(n, max(1, int(0.15 * n)), replace=False)
        labels[i, masked] = tokens[i, masked]
        tokens[i, masked] = MASK
        c = (rng.uniform(size=(n, n)) > 0.7) * 1.0
        contacts[i, :n, :n] = np.maximum(c, c.T)
    valid = np.zeros_like(contacts)
    for i, n in enumerate(LENGTHS):
        valid[i, :n, :n] = 1.0
    return tokens, labels, contacts, valid


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    bce = torch.nn.BCELoss(reduction="none")
    rng = np.random.default_rng(11)
    values: list[float] = []
    for _ in range(STEPS):
        tokens_np, labels_np, contacts_np, valid_np = _batch(rng)
        tokens, labels = as_tensor(torch, tokens_np), as_tensor(torch, labels_np)
        out = model(tokens, repr_layers=[0, LAYERS], return_contacts=True)
        logits = out["logits"]
        mlm = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100)
        # the contact head's eos slice leaves (width - 2) positions, like the label maps
        L = contacts_np.shape[-1]
        pair_mask = torch.triu(torch.ones(L, L), diagonal=6) * as_tensor(torch, valid_np).float()
        contact_target = as_tensor(torch, contacts_np).float()
        contact_loss = (bce(out["contacts"], contact_target) * pair_mask).sum() / pair_mask.sum()
        loss = mlm + contact_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        reps = out["representations"]
        values += [loss.item(), mlm.item(), contact_loss.item()]
        values += [reps[0].abs().sum().item(), reps[LAYERS].pow(2).mean().item()]
        values.append(out["attentions"].sum().item())
    # unpadded batch (``padding_mask`` becomes None) without token dropout
    model.eval()
    model.token_dropout = False
    with torch.no_grad():
        full = as_tensor(torch, np.array([[CLS, 3, 4, 5, 6, 7, 8, 9, 10, EOS]]))
        out = model(full, return_contacts=True)
    values += [out["contacts"].sum().item(), out["logits"].std().item()]
    return values
