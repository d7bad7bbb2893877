"""Reformer's LSH attention, as lucidrains/reformer-pytorch (``reformer_pytorch.py``:
``LSHAttention``, ``LSHSelfAttention``) and the Trax original write it, size-reduced.

The idioms: ``hash_vectors`` (random rotations of shape ``(1, dim, n_hashes, n_buckets // 2)``
``.expand(batch_size, -1, -1, -1)``, ``torch.einsum('btf,bfhi->bhti', vecs, random_rotations)``,
``buckets = torch.argmax(torch.cat([rotated_vecs, -rotated_vecs], dim=-1), dim=-1)``, per-hash
offsets ``torch.reshape(offsets * n_buckets, (1, -1, 1))``); the hash sort (``ticker =
torch.arange(total_hashes * seqlen).unsqueeze(0).expand_as(buckets)``, ``buckets_and_t =
seqlen * buckets + (ticker % seqlen)``, ``sort_key_val`` = ``t1.sort(dim=dim)`` then
``t2.expand_as(t1).gather(dim, indices)``, ``_, undo_sort = sticker.sort(dim=-1)``),
``batched_index_select`` (``values.gather(1, indices[:, :, None].expand(-1, -1, last_dim))``);
chunks (``torch.reshape(sqk, (batch_size, chunk_size, -1, dim))``), shared-QK keys
``F.normalize(bqk, p=2, dim=-1).type_as(bq)``, ``look_one_back`` (``torch.cat([x[:, -1:, ...],
x[:, :-1, ...]], dim=1)``), ``dots = torch.einsum('bhie,bhje->bhij', bq, bk) * (dim ** -0.5)``;
``dots.masked_fill_(~mask, masked_value)`` for padding (``F.pad(input_mask, (0, seqlen -
input_mask.shape[1]), value=True)``, ``input_mask.gather(1, st)``), causal masking, and the
self mask ``dots.masked_fill_(self_mask, TOKEN_SELF_ATTN_VALUE)`` with ``-5e4``; the softmax as
``torch.exp(dots - torch.logsumexp(dots, dim=-1, keepdim=True))``; unsorting (``slogits.gather(1,
undo_sort)``) and combining the hash rounds (``probs = torch.exp(logits - torch.logsumexp(logits,
dim=1, keepdim=True))``, ``torch.sum(o * probs, dim=1)``); the returned attention matrix built
with ``torch.zeros(...).scatter_add_(1, attn_unsort, dots.view_as(attn_unsort))``;
``LSHSelfAttention``'s heads (``merge_heads = lambda v: v.view(b, kv_len, h, -1).transpose(1,
2)``, ``split_heads = lambda v: v.view(b, h, t, -1).transpose(1, 2).contiguous()``); and, as
other implementations write it, the inverse permutation by ``scatter_`` of an ``arange``.

Changed: the rotations drawn by ``torch.randn`` come from NumPy (the generators differ) and are
handed in; sequences of 16 with buckets of 4 and two hash rounds; a one-layer language model
trained for a few steps with Adam.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

TOKEN_SELF_ATTN_VALUE = -5e4
VOCAB, DIM, HEADS, SEQ, BATCH, BUCKET, N_HASHES, STEPS = 11, 8, 2, 16, 2, 4, 2, 3


def sort_key_val(t1: Any, t2: Any, dim: int = -1) -> tuple:
    values, indices = t1.sort(dim=dim)
    t2 = t2.expand_as(t1)
    return values, t2.gather(dim, indices)


def batched_index_select(values: Any, indices: Any) -> Any:
    last_dim = values.shape[-1]
    return values.gather(1, indices[:, :, None].expand(-1, -1, last_dim))


def max_neg_value(torch_like: Any, tensor: Any) -> float:
    return -torch_like.finfo(tensor.dtype).max


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class LSHAttention(nn.Module):
        def __init__(
            self,
            bucket_size: int = 64,
            n_hashes: int = 8,
            causal: bool = False,
            attend_across_buckets: bool = True,
            return_attn: bool = False,
        ) -> None:
            super().__init__()
            self.bucket_size = bucket_size
            self.n_hashes = n_hashes
            self.causal = causal
            self._attend_across_buckets = attend_across_buckets
            self._return_attn = return_attn

        def hash_vectors(self, n_buckets: int, vecs: Any, rotations: Any) -> Any:
            batch_size = vecs.shape[0]
            assert n_buckets % 2 == 0
            random_rotations = rotations.to(vecs.dtype).expand(batch_size, -1, -1, -1)
            rotated_vecs = torch.einsum("btf,bfhi->bhti", vecs, random_rotations)
            rotated_vecs = torch.cat([rotated_vecs, -rotated_vecs], dim=-1)
            buckets = torch.argmax(rotated_vecs, dim=-1)
            offsets = torch.arange(self.n_hashes, device=vecs.device)
            offsets = torch.reshape(offsets * n_buckets, (1, -1, 1))
            buckets = torch.reshape(buckets + offsets, (batch_size, -1))
            return buckets

        def forward(self, qk: Any, v: Any, rotations: Any, input_mask: Any = None) -> tuple:
            batch_size, seqlen, dim, device = *qk.shape, qk.device
            query_len = seqlen
            assert seqlen % (self.bucket_size * 2) == 0
            n_buckets = seqlen // self.bucket_size
            buckets = self.hash_vectors(n_buckets, qk, rotations)
            assert int(buckets.shape[1]) == self.n_hashes * seqlen
            total_hashes = self.n_hashes
            ticker = torch.arange(total_hashes * seqlen, device=device).unsqueeze(0)
            ticker = ticker.expand_as(buckets)
            buckets_and_t = seqlen * buckets + (ticker % seqlen)
            buckets_and_t = buckets_and_t.detach()

            # Hash-based sort ("s" at the start of variable names means "sorted")
            sbuckets_and_t, sticker = sort_key_val(buckets_and_t, ticker, dim=-1)
            _, undo_sort = sticker.sort(dim=-1)
            del ticker
            sbuckets_and_t = sbuckets_and_t.detach()
            sticker = sticker.detach()
            undo_sort = undo_sort.detach()

            st = sticker % seqlen
            sqk = batched_index_select(qk, st)
            sv = batched_index_select(v, st)

            # Split off a "bin" axis so that attention only occurs within chunks.
            chunk_size = total_hashes * n_buckets
            bq_t = bkv_t = torch.reshape(st, (batch_size, chunk_size, -1))
            bqk = torch.reshape(sqk, (batch_size, chunk_size, -1, dim))
            bv = torch.reshape(sv, (batch_size, chunk_size, -1, dim))

            # Hashing operates on unit-length vectors; the keys are normalized.
            bq = bqk
            bk = F.normalize(bqk, p=2, dim=-1).type_as(bq)

            def look_one_back(x: Any) -> Any:
                x_extra = torch.cat([x[:, -1:, ...], x[:, :-1, ...]], dim=1)
                return torch.cat([x, x_extra], dim=2)

            bk = look_one_back(bk)
            bv = look_one_back(bv)
            bkv_t = look_one_back(bkv_t)

            # Dot-product attention.
            dots = torch.einsum("bhie,bhje->bhij", bq, bk) * (dim**-0.5)
            masked_value = max_neg_value(torch, dots)

            # Input mask for padding in variable lengthed sequences
            if input_mask is not None:
                input_mask = F.pad(input_mask, (0, seqlen - input_mask.shape[1]), value=True)
                mq = input_mask.gather(1, st).reshape((batch_size, chunk_size, -1))
                mkv = look_one_back(mq)
                mask = mq[:, :, :, None] * mkv[:, :, None, :]
                dots.masked_fill_(~mask, masked_value)
                del mask

            # Causal masking
            if self.causal:
                mask = bq_t[:, :, :, None] < bkv_t[:, :, None, :]
                dots.masked_fill_(mask, masked_value)
                del mask

            # Mask out attention to self except when no other targets are available.
            self_mask = bq_t[:, :, :, None] == bkv_t[:, :, None, :]
            dots.masked_fill_(self_mask, TOKEN_SELF_ATTN_VALUE)
            del self_mask

            # Mask out attention to other hash buckets.
            if not self._attend_across_buckets:
                bq_buckets = bkv_buckets = torch.reshape(
                    sbuckets_and_t // seqlen, (batch_size, chunk_size, -1)
                )
                bkv_buckets = look_one_back(bkv_buckets)
                bucket_mask = bq_buckets[:, :, :, None] != bkv_buckets[:, :, None, :]
                dots.masked_fill_(bucket_mask, masked_value)
                del bucket_mask

            # Softmax.
            dots_logsumexp = torch.logsumexp(dots, dim=-1, keepdim=True)
            dots = torch.exp(dots - dots_logsumexp).type_as(dots)

            bo = torch.einsum("buij,buje->buie", dots, bv)
            so = torch.reshape(bo, (batch_size, -1, dim))
            slogits = torch.reshape(dots_logsumexp, (batch_size, -1))

            # unsort logits
            o = batched_index_select(so, undo_sort)
            logits = slogits.gather(1, undo_sort)
            o = torch.reshape(o, (batch_size, total_hashes, seqlen, dim))
            logits = torch.reshape(logits, (batch_size, total_hashes, seqlen, 1))

            probs = torch.exp(logits - torch.logsumexp(logits, dim=1, keepdim=True))
            out = torch.sum(o * probs, dim=1)

            attn = torch.empty(0, device=device)
            # return unsorted attention weights
            if self._return_attn:
                attn_unsort = (bq_t * seqlen)[:, :, :, None] + bkv_t[:, :, None, :]
                attn_unsort = attn_unsort.view(batch_size * total_hashes, -1).long()
                unsorted_dots = torch.zeros(
                    batch_size * total_hashes, seqlen * seqlen, device=device
                )
                unsorted_dots.scatter_add_(1, attn_unsort, dots.view_as(attn_unsort))
                del attn_unsort
                unsorted_dots = unsorted_dots.reshape(batch_size, total_hashes, seqlen, seqlen)
                attn = torch.sum(unsorted_dots[:, :, 0:query_len, :] * probs, dim=1)

            # the inverse permutation as a scatter of positions, as other versions write it
            positions = torch.arange(sticker.shape[-1], device=device).expand_as(sticker)
            undo_scatter = torch.empty_like(sticker).scatter_(-1, sticker, positions)
            assert torch.equal(undo_scatter, undo_sort)
            return out, attn, buckets

    class LSHSelfAttention(nn.Module):
        def __init__(self, dim: int, heads: int = 8, bucket_size: int = 64, n_hashes: int = 8,
                     causal: bool = False, return_attn: bool = False) -> None:  # fmt: skip
            super().__init__()
            assert dim % heads == 0, "dimensions must be divisible by number of heads"
            self.dim = dim
            self.heads = heads
            self.toqk = nn.Linear(dim, dim, bias=False)
            self.tov = nn.Linear(dim, dim, bias=False)
            self.to_out = nn.Linear(dim, dim)
            self.bucket_size = bucket_size
            self.lsh_attn = LSHAttention(
                bucket_size=bucket_size, n_hashes=n_hashes, causal=causal, return_attn=return_attn
            )

        def forward(self, x: Any, rotations: Any, input_mask: Any = None) -> tuple:
            b, t, _e, h = *x.shape, self.heads
            kv_len = t
            qk = self.toqk(x)
            v = self.tov(x)

            def merge_heads(v: Any) -> Any:
                return v.view(b, kv_len, h, -1).transpose(1, 2)

            def split_heads(v: Any) -> Any:
                return v.view(b, h, t, -1).transpose(1, 2).contiguous()

            qk, v = map(merge_heads, (qk, v))
            qk = qk.reshape(b * h, t, -1)
            v = v.reshape(b * h, t, -1)
            if input_mask is not None:
                input_mask = input_mask[:, None, :].expand(b, h, -1).reshape(b * h, -1)
            out, attn, buckets = self.lsh_attn(qk, v, rotations, input_mask=input_mask)
            out = split_heads(out.view(b, h, t, -1)).view(b, t, -1)
            return self.to_out(out), attn, buckets

    class ReformerLM(nn.Module):
        def __init__(self, causal: bool = True) -> None:
            super().__init__()
            self.token_emb = nn.Embedding(VOCAB, DIM)
            self.pos_emb = nn.Embedding(SEQ, DIM)
            self.norm1 = nn.LayerNorm(DIM)
            self.attn = LSHSelfAttention(
                DIM, heads=HEADS, bucket_size=BUCKET, n_hashes=N_HASHES, causal=causal,
                return_attn=True,
            )  # fmt: skip
            self.norm2 = nn.LayerNorm(DIM)
            self.ff = nn.Sequential(nn.Linear(DIM, DIM * 2), nn.GELU(), nn.Linear(DIM * 2, DIM))
            self.to_logits = nn.Linear(DIM, VOCAB)

        def forward(self, x: Any, rotations: Any, input_mask: Any = None) -> tuple:
            t = x.shape[1]
            x = self.token_emb(x) + self.pos_emb(torch.arange(t, device=x.device))
            y, attn, buckets = self.attn(self.norm1(x), rotations, input_mask=input_mask)
            x = x + y
            x = x + self.ff(self.norm2(x))
            return self.to_logits(x), attn, buckets

    return ReformerLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(17)
    head_dim = DIM // HEADS
    n_buckets = SEQ // BUCKET
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    values: list[float] = []
    model.train()
    for step in range(STEPS):
        tokens = as_tensor(torch_like, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        rotations = as_tensor(
            torch_like, rng.standard_normal((1, head_dim, N_HASHES, n_buckets // 2))
        )
        input_mask = None
        if step == STEPS - 1:  # the last batch has padded sequences (lengths 16 and 12)
            input_mask = torch.ones(BATCH, SEQ - 2, dtype=torch.bool)
            input_mask[1, 12:] = False
        x, target = tokens[:, :-1], tokens[:, 1:]
        logits, attn, buckets = model(x, rotations, input_mask=input_mask)
        loss = F.cross_entropy(logits.transpose(1, 2), target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        values += [loss.item(), attn.sum().item(), attn[0].triu(1).abs().max().item()]
        values += [
            float(b) for b in torch.bincount(buckets.flatten(), minlength=N_HASHES * n_buckets)
        ]
        values += [model.attn.toqk.weight.grad.norm().item()]

    # one LSH head on its own: no causal mask, buckets kept apart, against full attention
    lsh = model.attn.lsh_attn
    lsh.causal, lsh._attend_across_buckets = False, False
    qk = as_tensor(torch_like, rng.standard_normal((3, SEQ, head_dim)))
    v = as_tensor(torch_like, rng.standard_normal((3, SEQ, head_dim)))
    rotations = as_tensor(torch_like, rng.standard_normal((1, head_dim, N_HASHES, n_buckets // 2)))
    with torch.no_grad():
        out, attn, buckets = lsh(qk, v, rotations)
    values += out.flatten().tolist()[:24] + [out.sum().item(), attn.sum().item()]
    values += buckets[0].tolist()
    values += [float(str(buckets.dtype) == "torch.int64"), float(attn.dtype == qk.dtype)]
    return values
