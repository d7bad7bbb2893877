"""Longformer's sliding-window self-attention with global tokens, as Hugging Face transformers'
``LongformerSelfAttention`` (``modeling_longformer.py``) writes it, size-reduced.

The idioms: ``_chunk`` (``hidden_states.view(b, torch.div(seq, 2 * w, rounding_mode="trunc"),
2 * w, d)``, ``chunk_size[1] = chunk_size[1] * 2 - 1``, ``chunk_stride[1] = chunk_stride[1] //
2``, ``hidden_states.as_strided(size=chunk_size, stride=chunk_stride)``) and its export-friendly
twin with ``Tensor.unfold(1, 2 * w, w)``; ``_sliding_chunks_query_key_matmul``
(``torch.einsum("bcxd,bcyd->bcxy", (query, key))``, ``_pad_and_transpose_last_two_dims`` =
``nn.functional.pad(x, (0, 0, 0, 1))`` then a ``view`` with the last two sizes swapped,
``new_zeros`` and the four slice assignments that shift the diagonals into place,
``.view(b, h, seq, 2 * w + 1).transpose(2, 1)``); ``_mask_invalid_locations`` (``new_ones(w, w +
1).tril().flip(dims=[0])``, ``flip(dims=(1, 3))``, ``torch.full_like(x, -float("inf"))
.where(mask.bool(), x)`` written back into slices); the padding mask pushed through the same
matmul (``float_mask.new_ones(size=float_mask.size())``, ``masked_fill`` with
``torch.finfo(dtype).min``, ``attn_scores += diagonal_mask``);
``_sliding_chunks_matmul_attn_probs_value`` (``nn.functional.pad(value, (0, 0, w, w),
value=-1)``, ``as_strided`` with stride ``(s0, w * s1, s1, s2)``, ``_pad_and_diagonalize``:
pad by ``w + 1``, ``view(h, c, -1)``, ``[:, :, :-w]``, ``view(h, c, w, w + d)``, ``[:, :, :,
:-1]``); ``_get_global_attn_indices`` (``is_index_global_attn.long().sum(dim=1)``, ``.max()``,
``nonzero(as_tuple=True)``, ``torch.arange(n) < counts.unsqueeze(dim=-1)``, ``(x == 0)
.nonzero(as_tuple=True)``); ``_concat_with_global_key_attn_probs`` and
``_compute_attn_output_with_global_indices`` (tuple-index assignment ``x[nonzero_tuple] =
y[other_tuple]``, ``attn_probs.narrow(-1, 0, n)``, ``.transpose(1, 3)`` then a row assignment of
``finfo.min``); ``_compute_global_attn_output_from_hidden`` (``is_index_global_attn_nonzero[::
-1]``, ``torch.bmm``, ``global_attn_output[idx0, :, idx1]`` with the slice between the two
advanced indices); ``softmax(..., dtype=torch.float32)`` then ``.type_as``; the extended mask
``(1.0 - mask) * torch.finfo(dtype).min`` whose sign says masked (< 0) or global (> 0);
``_pad_to_window_size`` with ``nn.functional.pad(input_ids, (0, padding_len),
value=pad_token_id)``. The result is compared with dense attention under a band mask, and a
CLS classifier is trained for a few Adam steps.

Changed: one layer, tiny widths, no dropout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5

VOCAB, HIDDEN, HEADS, WINDOW, SEQ, BATCH, STEPS, PAD_ID = 11, 8, 2, 4, 10, 2, 3, 0


def _chunk_unfold(hidden_states: Any, window_overlap: int) -> Any:
    return hidden_states.unfold(1, 2 * window_overlap, window_overlap).transpose(-1, -2)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class LongformerSelfAttention(nn.Module):
        def __init__(self, hidden_size: int, num_heads: int, attention_window: int) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = hidden_size // num_heads
            self.embed_dim = hidden_size
            self.query = nn.Linear(hidden_size, self.embed_dim)
            self.key = nn.Linear(hidden_size, self.embed_dim)
            self.value = nn.Linear(hidden_size, self.embed_dim)
            self.query_global = nn.Linear(hidden_size, self.embed_dim)
            self.key_global = nn.Linear(hidden_size, self.embed_dim)
            self.value_global = nn.Linear(hidden_size, self.embed_dim)
            self.one_sided_attn_window_size = attention_window // 2
            self.use_unfold = False

        @staticmethod
        def _pad_and_transpose_last_two_dims(hidden_states_padded: Any, padding: Any) -> Any:
            hidden_states_padded = nn.functional.pad(hidden_states_padded, padding)
            return hidden_states_padded.view(
                *hidden_states_padded.size()[:-2],
                hidden_states_padded.size(-1),
                hidden_states_padded.size(-2),
            )

        @staticmethod
        def _pad_and_diagonalize(chunked_hidden_states: Any) -> Any:
            total_num_heads, num_chunks, window_overlap, hidden_dim = chunked_hidden_states.size()
            chunked_hidden_states = nn.functional.pad(
                chunked_hidden_states, (0, window_overlap + 1)
            )
            chunked_hidden_states = chunked_hidden_states.view(total_num_heads, num_chunks, -1)
            chunked_hidden_states = chunked_hidden_states[:, :, :-window_overlap]
            chunked_hidden_states = chunked_hidden_states.view(
                total_num_heads, num_chunks, window_overlap, window_overlap + hidden_dim
            )
            return chunked_hidden_states[:, :, :, :-1]

        def _chunk(self, hidden_states: Any, window_overlap: int) -> Any:
            if self.use_unfold:
                return _chunk_unfold(hidden_states, window_overlap)
            hidden_states = hidden_states.view(
                hidden_states.size(0),
                torch.div(hidden_states.size(1), (window_overlap * 2), rounding_mode="trunc"),
                window_overlap * 2,
                hidden_states.size(2),
            )
            chunk_size = list(hidden_states.size())
            chunk_size[1] = chunk_size[1] * 2 - 1
            chunk_stride = list(hidden_states.stride())
            chunk_stride[1] = chunk_stride[1] // 2
            return hidden_states.as_strided(size=chunk_size, stride=chunk_stride)

        @staticmethod
        def _mask_invalid_locations(input_tensor: Any, affected_seq_len: int) -> None:
            beginning_mask_2d = (
                input_tensor.new_ones(affected_seq_len, affected_seq_len + 1).tril().flip(dims=[0])
            )
            beginning_mask = beginning_mask_2d[None, :, None, :]
            ending_mask = beginning_mask.flip(dims=(1, 3))
            beginning_input = input_tensor[:, :affected_seq_len, :, : affected_seq_len + 1]
            beginning_mask = beginning_mask.expand(beginning_input.size())
            input_tensor[:, :affected_seq_len, :, : affected_seq_len + 1] = torch.full_like(
                beginning_input, -float("inf")
            ).where(beginning_mask.bool(), beginning_input)
            ending_input = input_tensor[:, -affected_seq_len:, :, -(affected_seq_len + 1) :]
            ending_mask = ending_mask.expand(ending_input.size())
            input_tensor[:, -affected_seq_len:, :, -(affected_seq_len + 1) :] = torch.full_like(
                ending_input, -float("inf")
            ).where(ending_mask.bool(), ending_input)

        def _sliding_chunks_query_key_matmul(self, query: Any, key: Any, w: int) -> Any:
            batch_size, seq_len, num_heads, head_dim = query.size()
            assert seq_len % (w * 2) == 0
            assert query.size() == key.size()
            chunks_count = torch.div(seq_len, w, rounding_mode="trunc") - 1
            query = query.transpose(1, 2).reshape(batch_size * num_heads, seq_len, head_dim)
            key = key.transpose(1, 2).reshape(batch_size * num_heads, seq_len, head_dim)
            query = self._chunk(query, w)
            key = self._chunk(key, w)
            diagonal_chunked_attention_scores = torch.einsum("bcxd,bcyd->bcxy", (query, key))
            diagonal_chunked_attention_scores = self._pad_and_transpose_last_two_dims(
                diagonal_chunked_attention_scores, padding=(0, 0, 0, 1)
            )
            diagonal_attention_scores = diagonal_chunked_attention_scores.new_zeros(
                (batch_size * num_heads, chunks_count + 1, w, w * 2 + 1)
            )
            diagonal_attention_scores[:, :-1, :, w:] = diagonal_chunked_attention_scores[
                :, :, :w, : w + 1
            ]
            diagonal_attention_scores[:, -1, :, w:] = diagonal_chunked_attention_scores[
                :, -1, w:, : w + 1
            ]
            diagonal_attention_scores[:, 1:, :, :w] = diagonal_chunked_attention_scores[
                :, :, -(w + 1) : -1, w + 1 :
            ]
            diagonal_attention_scores[:, 0, 1:w, 1:w] = diagonal_chunked_attention_scores[
                :, 0, : w - 1, 1 - w :
            ]
            diagonal_attention_scores = diagonal_attention_scores.view(
                batch_size, num_heads, seq_len, 2 * w + 1
            ).transpose(2, 1)
            self._mask_invalid_locations(diagonal_attention_scores, w)
            return diagonal_attention_scores

        def _sliding_chunks_matmul_attn_probs_value(self, attn_probs: Any, value: Any, w: int):
            batch_size, seq_len, num_heads, head_dim = value.size()
            chunks_count = torch.div(seq_len, w, rounding_mode="trunc") - 1
            chunked_attn_probs = attn_probs.transpose(1, 2).reshape(
                batch_size * num_heads,
                torch.div(seq_len, w, rounding_mode="trunc"),
                w,
                2 * w + 1,
            )
            value = value.transpose(1, 2).reshape(batch_size * num_heads, seq_len, head_dim)
            padded_value = nn.functional.pad(value, (0, 0, w, w), value=-1)
            chunked_value_size = (batch_size * num_heads, chunks_count + 1, 3 * w, head_dim)
            chunked_value_stride = padded_value.stride()
            chunked_value_stride = (
                chunked_value_stride[0],
                w * chunked_value_stride[1],
                chunked_value_stride[1],
                chunked_value_stride[2],
            )
            chunked_value = padded_value.as_strided(
                size=chunked_value_size, stride=chunked_value_stride
            )
            chunked_attn_probs = self._pad_and_diagonalize(chunked_attn_probs)
            context = torch.einsum("bcwd,bcdh->bcwh", (chunked_attn_probs, chunked_value))
            return context.view(batch_size, num_heads, seq_len, head_dim).transpose(1, 2)

        @staticmethod
        def _get_global_attn_indices(is_index_global_attn: Any) -> tuple:
            num_global_attn_indices = is_index_global_attn.long().sum(dim=1)
            max_num_global_attn_indices = num_global_attn_indices.max()
            is_index_global_attn_nonzero = is_index_global_attn.nonzero(as_tuple=True)
            is_local_index_global_attn = torch.arange(
                max_num_global_attn_indices, device=is_index_global_attn.device
            ) < num_global_attn_indices.unsqueeze(dim=-1)
            is_local_index_global_attn_nonzero = is_local_index_global_attn.nonzero(as_tuple=True)
            is_local_index_no_global_attn_nonzero = (is_local_index_global_attn == 0).nonzero(
                as_tuple=True
            )
            return (
                max_num_global_attn_indices,
                is_index_global_attn_nonzero,
                is_local_index_global_attn_nonzero,
                is_local_index_no_global_attn_nonzero,
            )

        def forward(self, hidden_states: Any, attention_mask: Any) -> tuple[Any, Any]:
            hidden_states = hidden_states.transpose(0, 1)
            query_vectors = self.query(hidden_states)
            key_vectors = self.key(hidden_states)
            value_vectors = self.value(hidden_states)
            seq_len, batch_size, embed_dim = hidden_states.size()
            w = self.one_sided_attn_window_size
            query_vectors /= math.sqrt(self.head_dim)
            query_vectors = query_vectors.view(
                seq_len, batch_size, self.num_heads, self.head_dim
            ).transpose(0, 1)
            key_vectors = key_vectors.view(
                seq_len, batch_size, self.num_heads, self.head_dim
            ).transpose(0, 1)
            attn_scores = self._sliding_chunks_query_key_matmul(query_vectors, key_vectors, w)
            remove_from_windowed_attention_mask = (attention_mask != 0)[:, :, None, None]
            float_mask = remove_from_windowed_attention_mask.type_as(query_vectors).masked_fill(
                remove_from_windowed_attention_mask, torch.finfo(query_vectors.dtype).min
            )
            diagonal_mask = self._sliding_chunks_query_key_matmul(
                float_mask.new_ones(size=float_mask.size()), float_mask, w
            )
            attn_scores += diagonal_mask

            is_index_masked = attention_mask < 0
            is_index_global_attn = attention_mask > 0
            (
                max_num_global_attn_indices,
                is_index_global_attn_nonzero,
                is_local_index_global_attn_nonzero,
                is_local_index_no_global_attn_nonzero,
            ) = self._get_global_attn_indices(is_index_global_attn)
            # _concat_with_global_key_attn_probs
            key_vectors_only_global = key_vectors.new_zeros(
                batch_size, max_num_global_attn_indices, self.num_heads, self.head_dim
            )
            key_vectors_only_global[is_local_index_global_attn_nonzero] = key_vectors[
                is_index_global_attn_nonzero
            ]
            attn_probs_from_global_key = torch.einsum(
                "blhd,bshd->blhs", (query_vectors, key_vectors_only_global)
            )
            attn_probs_from_global_key = attn_probs_from_global_key.transpose(1, 3)
            attn_probs_from_global_key[
                is_local_index_no_global_attn_nonzero[0],
                is_local_index_no_global_attn_nonzero[1],
                :,
                :,
            ] = torch.finfo(attn_probs_from_global_key.dtype).min
            attn_probs_from_global_key = attn_probs_from_global_key.transpose(1, 3)
            attn_scores = torch.cat((attn_probs_from_global_key, attn_scores), dim=-1)

            attn_probs = nn.functional.softmax(attn_scores, dim=-1, dtype=torch.float32)
            attn_probs = torch.masked_fill(attn_probs, is_index_masked[:, :, None, None], 0.0)
            attn_probs = attn_probs.type_as(attn_scores)

            value_vectors = value_vectors.view(
                seq_len, batch_size, self.num_heads, self.head_dim
            ).transpose(0, 1)
            # _compute_attn_output_with_global_indices
            attn_probs_only_global = attn_probs.narrow(-1, 0, max_num_global_attn_indices)
            value_vectors_only_global = value_vectors.new_zeros(
                batch_size, max_num_global_attn_indices, self.num_heads, self.head_dim
            )
            value_vectors_only_global[is_local_index_global_attn_nonzero] = value_vectors[
                is_index_global_attn_nonzero
            ]
            attn_output_only_global = torch.matmul(
                attn_probs_only_global.transpose(1, 2).clone(),
                value_vectors_only_global.transpose(1, 2).clone(),
            ).transpose(1, 2)
            attn_probs_without_global = attn_probs.narrow(
                -1, max_num_global_attn_indices, attn_probs.size(-1) - max_num_global_attn_indices
            ).contiguous()
            attn_output = attn_output_only_global + self._sliding_chunks_matmul_attn_probs_value(
                attn_probs_without_global, value_vectors, w
            )
            attn_output = attn_output.transpose(0, 1).reshape(seq_len, batch_size, embed_dim)
            attn_output = attn_output.contiguous()

            # _compute_global_attn_output_from_hidden
            global_attn_hidden_states = hidden_states.new_zeros(
                max_num_global_attn_indices, batch_size, self.embed_dim
            )
            global_attn_hidden_states[is_local_index_global_attn_nonzero[::-1]] = hidden_states[
                is_index_global_attn_nonzero[::-1]
            ]
            global_query = self.query_global(global_attn_hidden_states)
            global_key_vectors = self.key_global(hidden_states)
            global_value_vectors = self.value_global(hidden_states)
            global_query /= math.sqrt(self.head_dim)
            global_query = (
                global_query.contiguous()
                .view(max_num_global_attn_indices, batch_size * self.num_heads, self.head_dim)
                .transpose(0, 1)
            )
            global_key_vectors = (
                global_key_vectors.contiguous()
                .view(-1, batch_size * self.num_heads, self.head_dim)
                .transpose(0, 1)
            )
            global_value_vectors = (
                global_value_vectors.contiguous()
                .view(-1, batch_size * self.num_heads, self.head_dim)
                .transpose(0, 1)
            )
            global_attn_scores = torch.bmm(global_query, global_key_vectors.transpose(1, 2))
            global_attn_scores = global_attn_scores.view(
                batch_size, self.num_heads, max_num_global_attn_indices, seq_len
            )
            global_attn_scores = global_attn_scores.transpose(1, 2)
            global_attn_scores[
                is_local_index_no_global_attn_nonzero[0],
                is_local_index_no_global_attn_nonzero[1],
                :,
                :,
            ] = torch.finfo(global_attn_scores.dtype).min
            global_attn_scores = global_attn_scores.transpose(1, 2)
            global_attn_scores = global_attn_scores.masked_fill(
                is_index_masked[:, None, None, :], torch.finfo(global_attn_scores.dtype).min
            )
            global_attn_scores = global_attn_scores.view(
                batch_size * self.num_heads, max_num_global_attn_indices, seq_len
            )
            global_attn_probs_float = nn.functional.softmax(
                global_attn_scores, dim=-1, dtype=torch.float32
            )
            global_attn_output = torch.bmm(
                global_attn_probs_float.type_as(global_attn_scores), global_value_vectors
            )
            global_attn_output = global_attn_output.view(
                batch_size, self.num_heads, max_num_global_attn_indices, self.head_dim
            )
            nonzero_global_attn_output = global_attn_output[
                is_local_index_global_attn_nonzero[0], :, is_local_index_global_attn_nonzero[1]
            ]
            attn_output[is_index_global_attn_nonzero[::-1]] = nonzero_global_attn_output.view(
                len(is_local_index_global_attn_nonzero[0]), -1
            )
            attn_probs[is_index_global_attn_nonzero] = 0
            return attn_output.transpose(0, 1), attn_probs

    class LongformerClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=PAD_ID)
            self.position_embeddings = nn.Embedding(16, HIDDEN)
            self.attention = LongformerSelfAttention(HIDDEN, HEADS, WINDOW)
            self.output = nn.Linear(HIDDEN, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN)
            self.classifier = nn.Linear(HIDDEN, 3)

        def forward(self, input_ids: Any, attention_mask: Any, global_attention_mask: Any):
            # _pad_to_window_size
            padding_len = (WINDOW - input_ids.shape[1] % WINDOW) % WINDOW
            if padding_len > 0:
                input_ids = nn.functional.pad(input_ids, (0, padding_len), value=PAD_ID)
                attention_mask = nn.functional.pad(attention_mask, (0, padding_len), value=0)
                global_attention_mask = nn.functional.pad(global_attention_mask, (0, padding_len))
            attention_mask = attention_mask * (global_attention_mask + 1)
            dtype = self.LayerNorm.weight.dtype
            extended = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
            extended = extended[:, 0, 0, :]
            positions = torch.arange(input_ids.shape[1]).unsqueeze(0).expand_as(input_ids)
            x = self.embeddings(input_ids) + self.position_embeddings(positions)
            attn, probs = self.attention(x, extended)
            x = self.LayerNorm(x + self.output(attn))
            return self.classifier(torch.tanh(x[:, 0, :])), attn, probs

    return LongformerClassifier()


def _dense_reference(torch: Any, attn: Any, x: Any, extended: Any) -> Any:
    """Softmax attention over the full matrix with the band and global columns/rows allowed."""
    b, n, d = x.shape
    h, hd = attn.num_heads, attn.head_dim
    w = attn.one_sided_attn_window_size

    def heads(t: Any) -> Any:
        return t.view(b, n, h, hd).transpose(1, 2)

    q, k, v = heads(attn.query(x)), heads(attn.key(x)), heads(attn.value(x))
    qg, kg, vg = heads(attn.query_global(x)), heads(attn.key_global(x)), heads(attn.value_global(x))
    idx = torch.arange(n)
    band = (idx[:, None] - idx[None, :]).abs() <= w
    is_global = extended > 0
    is_masked = extended < 0
    allowed = (band[None] | is_global[:, None, :]) & ~is_masked[:, None, :]
    local = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    local = local.masked_fill(~allowed[:, None], float("-inf")).softmax(-1) @ v
    glob = (qg @ kg.transpose(-1, -2)) / math.sqrt(hd)
    glob = glob.masked_fill(is_masked[:, None, None, :], float("-inf")).softmax(-1) @ vg
    out = torch.where(is_global[:, None, :, None], glob, local)
    return out.transpose(1, 2).reshape(b, n, d)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    lengths = [SEQ, SEQ - 3]
    ids = np.zeros((BATCH, SEQ), dtype=np.int64)
    mask = np.zeros((BATCH, SEQ), dtype=np.int64)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, VOCAB, n)
        mask[i, :n] = 1
    glob = np.zeros((BATCH, SEQ), dtype=np.int64)
    glob[:, 0] = 1  # the CLS token
    glob[0, 5] = 1  # a question token in the first example only
    input_ids, attention_mask = as_tensor(torch, ids), as_tensor(torch, mask)
    global_attention_mask = as_tensor(torch, glob)
    labels = as_tensor(torch, np.array([0, 2]))
    values: list[float] = []

    # the as_strided chunks equal the unfold chunks
    hs = as_tensor(torch, rng.standard_normal((3, 12, 2)).astype(np.float32))
    strided = model.attention._chunk(hs, 2)
    values += [(strided - _chunk_unfold(hs, 2)).abs().max().item(), float(strided.shape[1])]

    with torch.no_grad():
        _, out, probs = model(input_ids, attention_mask, global_attention_mask)
        model.attention.use_unfold = True
        _, out_unfold, _ = model(input_ids, attention_mask, global_attention_mask)
        model.attention.use_unfold = False
        padded = F.pad(attention_mask, (0, 2)) * (F.pad(global_attention_mask, (0, 2)) + 1)
        extended = (1.0 - padded.float()) * torch.finfo(torch.float32).min
        x = model.embeddings(F.pad(input_ids, (0, 2))) + model.position_embeddings(
            torch.arange(SEQ + 2)
        )
        dense = _dense_reference(torch, model.attention, x, extended)
    valid = padded > 0
    values += [(out - dense).abs()[valid].max().item(), (out - out_unfold).abs().max().item()]
    values += out[valid].flatten().tolist()
    values += probs.sum(-1).flatten().tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(STEPS):
        optimizer.zero_grad()
        logits, _, _ = model(input_ids, attention_mask, global_attention_mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        values += [
            loss.item(),
            model.attention.query.weight.grad.norm().item(),
            model.attention.key_global.weight.grad.norm().item(),
        ]
    return values


def check(values: list[float]) -> None:
    assert values[0] == 0.0 and values[1] == 5.0  # 12 / 2 - 1 overlapping chunks
    assert values[2] < 1e-5  # the chunked band attention equals the dense banded one
    assert values[3] == 0.0
