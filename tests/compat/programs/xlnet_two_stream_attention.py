"""XLNet's two-stream self-attention, as Hugging Face ``modeling_xlnet.py``
(``XLNetRelativeAttention``, ``rel_attn_core``, ``post_attention``, ``rel_shift_bnij``) and the
permutation-LM data collator (``DataCollatorForPermutationLanguageModeling``) write it,
size-reduced to one layer and a tiny vocab.

The idioms: the projection parameters ``nn.Parameter(torch.FloatTensor(d_model, n_head, d_head))``
initialised with ``nn.init.normal_``; the heads projected with ``torch.einsum("ibh,hnd->ibnd", h,
self.q)``; the content score ``torch.einsum("ibnd,jbnd->bnij", q_head + self.r_w_bias, k_head_h)``,
the position score against sinusoidal relative embeddings (``torch.arange(klen, -qlen, -1.0)``,
``torch.einsum("i,d->id", pos_seq, inv_freq)``, ``torch.cat([sin_inp.sin(), sin_inp.cos()],
dim=-1)``) shifted with ``rel_shift_bnij`` (``reshape`` / slice / ``torch.index_select(x, 3,
torch.arange(klen, device=x.device, dtype=torch.long))``); the mask applied with
``attn_score - 1e30 * torch.einsum("ijbn->bnij", attn_mask)``; the two streams (content ``h`` sees
itself, query ``g`` only its permutation predecessors); ``target_mapping`` used twice
(``torch.einsum("mbnd,mlb->lbnd", q_head_g, target_mapping)`` then ``torch.einsum("lbnd,mlb->mbnd",
attn_vec_g, target_mapping)``); and the collator's permutation mask: ``torch.randperm(max_len //
2)``-style ``torch.arange(max_len).reshape((-1, max_len // 2)).transpose(0, 1)`` with
``perm_index[torch.randperm(max_len // 2)]``, ``torch.flatten(torch.transpose(perm_index, 0, 1))``,
``perm_index.masked_fill_(~masked_indices[i] & non_func_mask[i], -1)``, ``(perm_index.reshape((
labels.size(1), 1)) <= perm_index.reshape((1, labels.size(1)))) & masked_indices[i]``, span masking
with ``torch.randint`` and ``torch.full``, ``target_mapping[i] = torch.eye(labels.size(1))``.
The loss is ``nn.CrossEntropyLoss`` over the query stream's predictions for the masked targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D_MODEL, N_HEAD, D_HEAD, SEQ, BATCH, STEPS = 13, 8, 2, 4, 8, 2, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class XLNetRelativeAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n_head, self.d_head, self.d_model = N_HEAD, D_HEAD, D_MODEL
            self.scale = 1 / (D_HEAD**0.5)
            self.q = nn.Parameter(torch.FloatTensor(D_MODEL, N_HEAD, D_HEAD))
            self.k = nn.Parameter(torch.FloatTensor(D_MODEL, N_HEAD, D_HEAD))
            self.v = nn.Parameter(torch.FloatTensor(D_MODEL, N_HEAD, D_HEAD))
            self.o = nn.Parameter(torch.FloatTensor(D_MODEL, N_HEAD, D_HEAD))
            self.r = nn.Parameter(torch.FloatTensor(D_MODEL, N_HEAD, D_HEAD))
            self.r_r_bias = nn.Parameter(torch.FloatTensor(N_HEAD, D_HEAD))
            self.r_w_bias = nn.Parameter(torch.FloatTensor(N_HEAD, D_HEAD))
            self.layer_norm = nn.LayerNorm(D_MODEL, eps=1e-12)
            self.dropout = nn.Dropout(0.0)

        @staticmethod
        def rel_shift_bnij(x: Any, klen: int = -1) -> Any:
            x_size = x.shape
            x = x.reshape(x_size[0], x_size[1], x_size[3], x_size[2])
            x = x[:, :, 1:, :]
            x = x.reshape(x_size[0], x_size[1], x_size[2], x_size[3] - 1)
            x = torch.index_select(x, 3, torch.arange(klen, device=x.device, dtype=torch.long))
            return x

        def rel_attn_core(
            self, q_head: Any, k_head_h: Any, v_head_h: Any, k_head_r: Any, attn_mask: Any = None
        ) -> Any:
            ac = torch.einsum("ibnd,jbnd->bnij", q_head + self.r_w_bias, k_head_h)
            bd = torch.einsum("ibnd,jbnd->bnij", q_head + self.r_r_bias, k_head_r)
            bd = self.rel_shift_bnij(bd, klen=ac.shape[3])
            attn_score = (ac + bd) * self.scale
            if attn_mask is not None:
                if attn_mask.dtype == torch.float16:
                    attn_score = attn_score - 65500 * torch.einsum("ijbn->bnij", attn_mask)
                else:
                    attn_score = attn_score - 1e30 * torch.einsum("ijbn->bnij", attn_mask)
            attn_prob = nn.functional.softmax(attn_score, dim=3)
            attn_prob = self.dropout(attn_prob)
            return torch.einsum("bnij,jbnd->ibnd", attn_prob, v_head_h)

        def post_attention(self, h: Any, attn_vec: Any, residual: bool = True) -> Any:
            attn_out = torch.einsum("ibnd,hnd->ibh", attn_vec, self.o)
            attn_out = self.dropout(attn_out)
            if residual:
                attn_out = attn_out + h
            return self.layer_norm(attn_out)

        def forward(
            self, h: Any, g: Any, attn_mask_h: Any, attn_mask_g: Any, r: Any, target_mapping: Any
        ) -> tuple[Any, Any]:
            cat = h
            k_head_h = torch.einsum("ibh,hnd->ibnd", cat, self.k)
            v_head_h = torch.einsum("ibh,hnd->ibnd", cat, self.v)
            k_head_r = torch.einsum("ibh,hnd->ibnd", r.type(self.r.dtype), self.r)
            q_head_h = torch.einsum("ibh,hnd->ibnd", h, self.q)
            attn_vec_h = self.rel_attn_core(q_head_h, k_head_h, v_head_h, k_head_r, attn_mask_h)
            output_h = self.post_attention(h, attn_vec_h)
            q_head_g = torch.einsum("ibh,hnd->ibnd", g, self.q)
            q_head_g = torch.einsum("mbnd,mlb->lbnd", q_head_g, target_mapping)
            attn_vec_g = self.rel_attn_core(q_head_g, k_head_h, v_head_h, k_head_r, attn_mask_g)
            attn_vec_g = torch.einsum("lbnd,mlb->mbnd", attn_vec_g, target_mapping)
            output_g = self.post_attention(g, attn_vec_g)
            return output_h, output_g

    class TinyXLNetLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embedding = nn.Embedding(VOCAB, D_MODEL)
            self.mask_emb = nn.Parameter(torch.FloatTensor(1, 1, D_MODEL))
            self.rel_attn = XLNetRelativeAttention()
            self.lm_loss = nn.Linear(D_MODEL, VOCAB, bias=True)
            for p in (
                self.rel_attn.q,
                self.rel_attn.k,
                self.rel_attn.v,
                self.rel_attn.o,
                self.rel_attn.r,
                self.rel_attn.r_r_bias,
                self.rel_attn.r_w_bias,
                self.mask_emb,
            ):
                nn.init.normal_(p, mean=0.0, std=0.3)

        def relative_positional_encoding(self, qlen: int, klen: int, bsz: int) -> Any:
            freq_seq = torch.arange(0, D_MODEL, 2.0, dtype=torch.int64).float()
            inv_freq = 1 / torch.pow(10000, (freq_seq / D_MODEL))
            fwd_pos_seq = torch.arange(klen, -qlen, -1.0)
            sinusoid_inp = torch.einsum("i,d->id", fwd_pos_seq, inv_freq)
            pos_emb = torch.cat([torch.sin(sinusoid_inp), torch.cos(sinusoid_inp)], dim=-1)
            pos_emb = pos_emb[:, None, :]
            return pos_emb.expand(-1, bsz, -1)

        def forward(self, input_ids: Any, perm_mask: Any, target_mapping: Any) -> Any:
            input_ids = input_ids.transpose(0, 1).contiguous()
            qlen, bsz = input_ids.shape[0], input_ids.shape[1]
            perm_mask = perm_mask.permute(1, 2, 0).contiguous()
            target_mapping = target_mapping.permute(1, 2, 0).contiguous()
            data_mask = perm_mask
            attn_mask = (data_mask > 0).to(self.mask_emb.dtype)[:, :, :, None]
            non_tgt_mask = -torch.eye(qlen).to(attn_mask)
            non_tgt_mask = ((attn_mask + non_tgt_mask[:, :, None, None]) > 0).to(attn_mask)
            word_emb_k = self.word_embedding(input_ids)
            word_emb_q = self.mask_emb.expand(target_mapping.shape[0], bsz, -1)
            pos_emb = self.relative_positional_encoding(qlen, qlen, bsz)
            h, g = self.rel_attn(
                word_emb_k, word_emb_q, non_tgt_mask, attn_mask, pos_emb, target_mapping
            )
            return self.lm_loss(g).permute(1, 0, 2).contiguous()

    return TinyXLNetLM()


def mask_tokens(
    torch_like: Any,
    inputs: Any,
    max_span_length: int = 3,
    plm_probability: float = 1 / 4,
    mask_token_id: int = 0,
) -> tuple:
    """``DataCollatorForPermutationLanguageModeling.torch_mask_tokens`` (special tokens aside)."""
    torch = torch_like
    labels = inputs.clone()
    masked_indices = torch.full(labels.shape, 0, dtype=torch.bool)
    target_mapping = torch.zeros(
        (labels.size(0), labels.size(1), labels.size(1)), dtype=torch.float32
    )
    for i in range(labels.size(0)):
        cur_len = 0
        max_len = labels.size(1)
        while cur_len < max_len:
            span_length = torch.randint(1, max_span_length + 1, (1,)).item()
            context_length = int(span_length / plm_probability)
            start_index = cur_len + torch.randint(context_length - span_length + 1, (1,)).item()
            masked_indices[i, start_index : start_index + span_length] = 1
            cur_len += context_length
        target_mapping[i] = torch.eye(labels.size(1))
    non_func_mask = torch.ones_like(labels, dtype=torch.bool)
    inputs[masked_indices] = mask_token_id
    labels[~masked_indices] = -100
    perm_mask = torch.zeros((labels.size(0), labels.size(1), labels.size(1)), dtype=torch.float32)
    for i in range(labels.size(0)):
        perm_index = torch.arange(labels.size(1))
        perm_index = perm_index.reshape((-1, labels.size(1) // 2)).transpose(0, 1)
        perm_index = perm_index[torch.randperm(labels.size(1) // 2)]
        perm_index = torch.flatten(perm_index.transpose(0, 1))
        perm_index.masked_fill_(~masked_indices[i] & non_func_mask[i], -1)
        perm_mask[i] = (
            perm_index.reshape((labels.size(1), 1)) <= perm_index.reshape((1, labels.size(1)))
        ) & masked_indices[i]
    return inputs.long(), perm_mask, target_mapping, labels.long()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.to(torch.float64)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fct = nn.CrossEntropyLoss()
    rng = np.random.default_rng(7)
    values: list[float] = []
    for _step in range(STEPS):
        ids = as_tensor(torch_like, rng.integers(1, VOCAB, (BATCH, SEQ)))
        inputs, perm_mask, target_mapping, labels = mask_tokens(torch_like, ids)
        values.extend([float(perm_mask.sum()), float((labels != -100).sum())])
        logits = model(inputs, perm_mask.double(), target_mapping.double())
        loss = loss_fct(logits.view(-1, logits.size(-1)), labels.view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return values
