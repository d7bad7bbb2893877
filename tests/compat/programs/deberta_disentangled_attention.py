"""Hugging Face ``transformers`` DeBERTa-v2 (``modeling_deberta_v2.py``), size-reduced to a masked
LM: ``build_relative_position`` (``q_ids[:, None] - k_ids[None, :]``) with
``make_log_bucket_position`` (``torch.sign``, ``torch.where`` on ``(relative_pos < mid) &
(relative_pos > -mid)``, ``torch.ceil(torch.log(abs_pos / mid) /
torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid``);
``DisentangledSelfAttention`` with ``transpose_for_scores``
(``x.size()[:-1] + (attention_heads, -1)``, ``permute(0, 2, 1, 3).contiguous().view(-1, ...)``),
the scale ``torch.sqrt(torch.tensor(query_layer.size(-1), dtype=torch.float) * scale_factor)`` with
``scale_factor = 1 + len(pos_att_type)`` (so ``sqrt(3d)`` for ``c2p|p2c``),
``disentangled_attention_bias``: ``rel_embeddings[0 : att_span * 2, :].unsqueeze(0)``, shared
``query_proj``/``key_proj`` for the position keys/queries (``share_att_key``) repeated with
``.repeat(query_layer.size(0) // self.num_attention_heads, 1, 1)``, content->position
``torch.gather(c2p_att, dim=-1, index=c2p_pos.squeeze(0).expand([...]))`` with ``c2p_pos =
torch.clamp(relative_pos + att_span, 0, att_span * 2 - 1)`` and position->content the same on
``-r_pos`` followed by ``.transpose(-1, -2)``; ``XSoftmax`` as a ``torch.autograd.Function``
(``rmask = ~(mask.to(torch.bool))``, ``masked_fill(rmask,
torch.tensor(torch.finfo(input.dtype).min))``,
``output.masked_fill_(rmask, 0)``, ``ctx.save_for_backward(output)``) whose backward calls
``torch._softmax_backward_data(grad_output, output, ctx.dim, output.dtype)``; the extended mask
``extended_attention_mask * extended_attention_mask.squeeze(-2).unsqueeze(-1)``; ``rel_embeddings``
normalised by ``LayerNorm`` (``norm_rel_ebd="layer_norm"``); the MLM head (dense, GELU, LayerNorm,
decoder tied to the word embeddings) with ``CrossEntropyLoss`` on ``labels`` using ``-100``;
``AdamW`` with a linear warmup ``LambdaLR``.

Changed: hidden 768 -> 16, 12 layers -> 2, 4 heads -> 2, 256 position buckets -> 4 (max
relative positions 8), vocab 128k -> 20, sequences of 8 random tokens with 15% masking from a
seeded NumPy generator; the dropout layers (``StableDropout``) are ``nn.Dropout(0.0)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

VOCAB, HIDDEN, HEADS, LAYERS, SEQ, BUCKETS, MAX_REL = 20, 16, 2, 2, 8, 4, 8


def _helpers(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like

    def make_log_bucket_position(relative_pos: Any, bucket_size: int, max_position: int) -> Any:
        sign = torch.sign(relative_pos)
        mid = bucket_size // 2
        abs_pos = torch.where(
            (relative_pos < mid) & (relative_pos > -mid),
            torch.tensor(mid - 1).type_as(relative_pos),
            torch.abs(relative_pos),
        )
        log_pos = (
            torch.ceil(
                torch.log(abs_pos / mid)
                / torch.log(torch.tensor((max_position - 1) / mid))
                * (mid - 1)
            )
            + mid
        )
        bucket_pos = torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)
        return bucket_pos

    def build_relative_position(
        query_size: int, key_size: int, bucket_size: int = -1, max_position: int = -1
    ) -> Any:
        q_ids = torch.arange(0, query_size)
        k_ids = torch.arange(0, key_size)
        rel_pos_ids = q_ids[:, None] - k_ids[None, :]
        if bucket_size > 0 and max_position > 0:
            rel_pos_ids = make_log_bucket_position(rel_pos_ids, bucket_size, max_position)
        rel_pos_ids = rel_pos_ids.to(torch.long)
        rel_pos_ids = rel_pos_ids[:query_size, :]
        rel_pos_ids = rel_pos_ids.unsqueeze(0)
        return rel_pos_ids

    class XSoftmax(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, input: Any, mask: Any, dim: int) -> Any:
            ctx.dim = dim
            rmask = ~(mask.to(torch.bool))
            output = input.masked_fill(rmask, torch.tensor(torch.finfo(input.dtype).min))
            output = torch.softmax(output, ctx.dim)
            output.masked_fill_(rmask, 0)
            ctx.save_for_backward(output)
            return output

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            (output,) = ctx.saved_tensors
            input_grad = torch._softmax_backward_data(grad_output, output, ctx.dim, output.dtype)
            return input_grad, None, None

    return build_relative_position, XSoftmax


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    build_relative_position, XSoftmax = _helpers(torch_like)

    class DisentangledSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_attention_heads = HEADS
            self.attention_head_size = HIDDEN // HEADS
            self.all_head_size = self.num_attention_heads * self.attention_head_size
            self.query_proj = nn.Linear(HIDDEN, self.all_head_size, bias=True)
            self.key_proj = nn.Linear(HIDDEN, self.all_head_size, bias=True)
            self.value_proj = nn.Linear(HIDDEN, self.all_head_size, bias=True)
            self.share_att_key = True
            self.pos_att_type = ["p2c", "c2p"]
            self.position_buckets = BUCKETS
            self.max_relative_positions = MAX_REL
            self.pos_ebd_size = self.position_buckets
            self.pos_dropout = nn.Dropout(0.0)
            self.dropout = nn.Dropout(0.0)

        def transpose_for_scores(self, x: Any, attention_heads: int) -> Any:
            new_x_shape = x.size()[:-1] + (attention_heads, -1)
            x = x.view(new_x_shape)
            return x.permute(0, 2, 1, 3).contiguous().view(-1, x.size(1), x.size(-1))

        def forward(
            self, hidden_states: Any, attention_mask: Any, relative_pos: Any, rel_embeddings: Any
        ) -> Any:
            query_layer = self.transpose_for_scores(
                self.query_proj(hidden_states), self.num_attention_heads
            )
            key_layer = self.transpose_for_scores(
                self.key_proj(hidden_states), self.num_attention_heads
            )
            value_layer = self.transpose_for_scores(
                self.value_proj(hidden_states), self.num_attention_heads
            )
            scale_factor = 1
            if "c2p" in self.pos_att_type:
                scale_factor += 1
            if "p2c" in self.pos_att_type:
                scale_factor += 1
            scale = torch.sqrt(torch.tensor(query_layer.size(-1), dtype=torch.float) * scale_factor)
            attention_scores = torch.bmm(
                query_layer, key_layer.transpose(-1, -2) / scale.to(dtype=query_layer.dtype)
            )
            rel_embeddings = self.pos_dropout(rel_embeddings)
            rel_att = self.disentangled_attention_bias(
                query_layer, key_layer, relative_pos, rel_embeddings, scale_factor
            )
            attention_scores = attention_scores + rel_att
            attention_scores = attention_scores.view(
                -1, self.num_attention_heads, attention_scores.size(-2), attention_scores.size(-1)
            )
            attention_probs = XSoftmax.apply(attention_scores, attention_mask, -1)
            attention_probs = self.dropout(attention_probs)
            context_layer = torch.bmm(
                attention_probs.view(-1, attention_probs.size(-2), attention_probs.size(-1)),
                value_layer,
            )
            context_layer = (
                context_layer.view(
                    -1, self.num_attention_heads, context_layer.size(-2), context_layer.size(-1)
                )
                .permute(0, 2, 1, 3)
                .contiguous()
            )
            new_context_layer_shape = context_layer.size()[:-2] + (-1,)
            return context_layer.view(new_context_layer_shape)

        def disentangled_attention_bias(
            self,
            query_layer: Any,
            key_layer: Any,
            relative_pos: Any,
            rel_embeddings: Any,
            scale_factor: int,
        ) -> Any:
            if relative_pos is None:
                relative_pos = build_relative_position(
                    query_layer.size(-2),
                    key_layer.size(-2),
                    bucket_size=self.position_buckets,
                    max_position=self.max_relative_positions,
                )
            if relative_pos.dim() == 2:
                relative_pos = relative_pos.unsqueeze(0).unsqueeze(0)
            elif relative_pos.dim() == 3:
                relative_pos = relative_pos.unsqueeze(1)
            att_span = self.pos_ebd_size
            relative_pos = relative_pos.long().to(query_layer.device)
            rel_embeddings = rel_embeddings[0 : att_span * 2, :].unsqueeze(0)
            pos_query_layer = self.transpose_for_scores(
                self.query_proj(rel_embeddings), self.num_attention_heads
            ).repeat(query_layer.size(0) // self.num_attention_heads, 1, 1)
            pos_key_layer = self.transpose_for_scores(
                self.key_proj(rel_embeddings), self.num_attention_heads
            ).repeat(query_layer.size(0) // self.num_attention_heads, 1, 1)
            score = 0
            # content->position
            if "c2p" in self.pos_att_type:
                scale = torch.sqrt(
                    torch.tensor(pos_key_layer.size(-1), dtype=torch.float) * scale_factor
                )
                c2p_att = torch.bmm(query_layer, pos_key_layer.transpose(-1, -2))
                c2p_pos = torch.clamp(relative_pos + att_span, 0, att_span * 2 - 1)
                c2p_att = torch.gather(
                    c2p_att,
                    dim=-1,
                    index=c2p_pos.squeeze(0).expand(
                        [query_layer.size(0), query_layer.size(1), relative_pos.size(-1)]
                    ),
                )
                score += c2p_att / scale.to(dtype=c2p_att.dtype)
            # position->content
            if "p2c" in self.pos_att_type:
                scale = torch.sqrt(
                    torch.tensor(pos_query_layer.size(-1), dtype=torch.float) * scale_factor
                )
                r_pos = relative_pos
                p2c_pos = torch.clamp(-r_pos + att_span, 0, att_span * 2 - 1)
                p2c_att = torch.bmm(key_layer, pos_query_layer.transpose(-1, -2))
                p2c_att = torch.gather(
                    p2c_att,
                    dim=-1,
                    index=p2c_pos.squeeze(0).expand(
                        [query_layer.size(0), key_layer.size(-2), key_layer.size(-2)]
                    ),
                ).transpose(-1, -2)
                score += p2c_att / scale.to(dtype=p2c_att.dtype)
            return score

    class DebertaV2Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self = DisentangledSelfAttention()
            self.attn_out = nn.Linear(HIDDEN, HIDDEN)
            self.attn_norm = nn.LayerNorm(HIDDEN, 1e-7)
            self.intermediate = nn.Linear(HIDDEN, 2 * HIDDEN)
            self.output = nn.Linear(2 * HIDDEN, HIDDEN)
            self.out_norm = nn.LayerNorm(HIDDEN, 1e-7)

        def forward(self, h: Any, mask: Any, relative_pos: Any, rel_embeddings: Any) -> Any:
            att = self.self(h, mask, relative_pos, rel_embeddings)
            h = self.attn_norm(self.attn_out(att) + h)
            inter = nn.functional.gelu(self.intermediate(h))
            return self.out_norm(self.output(inter) + h)

    class DebertaV2ForMaskedLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
            self.emb_norm = nn.LayerNorm(HIDDEN, 1e-7)
            self.layer = nn.ModuleList([DebertaV2Layer() for _ in range(LAYERS)])
            self.rel_embeddings = nn.Embedding(BUCKETS * 2, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN, 1e-7, elementwise_affine=True)
            self.dense = nn.Linear(HIDDEN, HIDDEN)
            self.head_norm = nn.LayerNorm(HIDDEN, 1e-7)
            self.bias = nn.Parameter(torch.zeros(VOCAB))

        def get_rel_embedding(self) -> Any:
            rel_embeddings = self.rel_embeddings.weight
            return self.LayerNorm(rel_embeddings)

        def get_attention_mask(self, attention_mask: Any) -> Any:
            extended_attention_mask = attention_mask.unsqueeze(1).unsqueeze(2)
            return extended_attention_mask * extended_attention_mask.squeeze(-2).unsqueeze(-1)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            h = self.emb_norm(self.word_embeddings(input_ids))
            h = h * attention_mask.unsqueeze(-1).to(h.dtype)
            mask = self.get_attention_mask(attention_mask)
            relative_pos = build_relative_position(
                h.size(-2), h.size(-2), bucket_size=BUCKETS, max_position=MAX_REL
            )
            rel_embeddings = self.get_rel_embedding()
            for layer_module in self.layer:
                h = layer_module(h, mask, relative_pos, rel_embeddings)
            h = self.head_norm(nn.functional.gelu(self.dense(h)))
            return torch.matmul(h, self.word_embeddings.weight.t()) + self.bias

    return DebertaV2ForMaskedLM()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    build_relative_position, _ = _helpers(torch_like)
    rng = np.random.default_rng(35)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 3))
    loss_fct = nn.CrossEntropyLoss()
    values: list[float] = []
    rel = build_relative_position(SEQ, SEQ, bucket_size=BUCKETS, max_position=MAX_REL)
    values.extend(float(v) for v in rel.flatten()[::5].tolist())
    values.append(float(rel.dtype == torch.long))
    for _step in range(4):
        ids = rng.integers(2, VOCAB, size=(3, SEQ))
        attn = np.ones((3, SEQ), dtype=np.int64)
        attn[1, 6:] = 0
        attn[2, 5:] = 0
        ids[attn == 0] = 0
        masked = (rng.random((3, SEQ)) < 0.3) & (attn == 1)
        masked[:, 1] = True
        labels = np.where(masked, ids, -100)
        inputs = np.where(masked, 1, ids)
        input_ids = torch.tensor(inputs)
        attention_mask = torch.tensor(attn)
        logits = model(input_ids, attention_mask)
        loss = loss_fct(logits.view(-1, VOCAB), torch.tensor(labels).view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values.append(loss.item())
    return values
