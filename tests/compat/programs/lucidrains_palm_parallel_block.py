"""lucidrains/PaLM-pytorch (``palm_pytorch/palm_pytorch.py``, ``autoregressive_wrapper.py``,
``train.py``), size-reduced: the ``LayerNorm`` with a learned ``gamma`` and a
``register_buffer("beta", torch.zeros(dim))`` through ``F.layer_norm(x, x.shape[-1:], ...)``;
``RotaryEmbedding`` (``einsum("i , j -> i j", seq, self.inv_freq)``, subscripts with spaces);
``SwiGLU`` (``x.chunk(2, dim=-1)``, ``F.silu(gate) * x``); the ``ParallelTransformerBlock``
(one ``fused_attn_ff_proj`` ``split(self.fused_dims, dim=-1)`` into multi-query attention and
the feedforward, buffers registered as ``None`` with ``persistent=False`` and re-registered
as caches in ``get_mask``/``get_rotary_embedding``, ``masked_fill(causal_mask,
-torch.finfo(sim.dtype).max)``, ``einsum("b h i d, b j d -> b h i j", q, k)``); ``PaLM`` as an
``nn.Sequential`` of ``Residual`` blocks with the output projection tied (``net[-1].weight =
net[0].weight``) and ``nn.init.normal_(net[0].weight, std=0.02)``; the
``AutoregressiveWrapper`` (``eval_decorator`` restoring ``model.training``, ``top_k`` by
``torch.full_like(logits, float("-inf"))`` and ``probs.scatter_(1, ind, val)``,
``torch.multinomial(probs, 1)``, cross entropy on ``logits`` permuted to ``b c n``); train.py's
``TextSamplerDataset`` slicing with a one-element tensor (``self.data[rand_start: rand_start +
self.seq_len + 1].long()``), ``cycle(DataLoader(...))``, gradient accumulation and
``clip_grad_norm_(model.parameters(), 0.5)``.

Changed: dim 512 -> 8, depth 8 -> 2, heads 8 -> 2, dim_head 64 -> 4, enwik8 -> 200 seeded
bytes (vocab 256 kept), seq_len 1024 -> 8, batch 4 -> 2, accumulate 4 -> 2, 6 steps, the
generation 512 -> 4 tokens; the ``einops.rearrange`` calls are written out with
``reshape``/``permute`` (einops is not a dependency).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

NUM_TOKENS, DIM, DEPTH, HEADS, DIM_HEAD, SEQ_LEN = 256, 8, 2, 2, 4, 8


def _palm(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    einsum = torch.einsum

    class LayerNorm(nn.Module):
        def __init__(self, dim):  # noqa: ANN001
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(dim))
            self.register_buffer("beta", torch.zeros(dim))

        def forward(self, x):  # noqa: ANN001, ANN202
            return F.layer_norm(x, x.shape[-1:], self.gamma, self.beta)

    class Residual(nn.Module):
        def __init__(self, fn):  # noqa: ANN001
            super().__init__()
            self.fn = fn

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.fn(x) + x

    class RotaryEmbedding(nn.Module):
        def __init__(self, dim):  # noqa: ANN001
            super().__init__()
            inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
            self.register_buffer("inv_freq", inv_freq)

        def forward(self, max_seq_len, *, device):  # noqa: ANN001, ANN202
            seq = torch.arange(max_seq_len, device=device, dtype=self.inv_freq.dtype)
            freqs = einsum("i , j -> i j", seq, self.inv_freq)
            return torch.cat((freqs, freqs), dim=-1)

    def rotate_half(x):  # noqa: ANN001, ANN202
        x = x.reshape(*x.shape[:-1], 2, x.shape[-1] // 2)  # "... (j d) -> ... j d", j=2
        x1, x2 = x.unbind(dim=-2)
        return torch.cat((-x2, x1), dim=-1)

    def apply_rotary_pos_emb(pos, t):  # noqa: ANN001, ANN202
        return (t * pos.cos()) + (rotate_half(t) * pos.sin())

    class SwiGLU(nn.Module):
        def forward(self, x):  # noqa: ANN001, ANN202
            x, gate = x.chunk(2, dim=-1)
            return F.silu(gate) * x

    class ParallelTransformerBlock(nn.Module):
        def __init__(self, dim, dim_head=64, heads=8, ff_mult=4):  # noqa: ANN001
            super().__init__()
            self.norm = LayerNorm(dim)

            attn_inner_dim = dim_head * heads
            ff_inner_dim = dim * ff_mult
            self.fused_dims = (attn_inner_dim, dim_head, dim_head, (ff_inner_dim * 2))

            self.heads = heads
            self.scale = dim_head**-0.5
            self.rotary_emb = RotaryEmbedding(dim_head)

            self.fused_attn_ff_proj = nn.Linear(dim, sum(self.fused_dims), bias=False)
            self.attn_out = nn.Linear(attn_inner_dim, dim, bias=False)

            self.ff_out = nn.Sequential(
                SwiGLU(),
                nn.Linear(ff_inner_dim, dim, bias=False)
            )  # fmt: skip

            # for caching causal mask and rotary embeddings

            self.register_buffer("mask", None, persistent=False)
            self.register_buffer("pos_emb", None, persistent=False)

        def get_mask(self, n, device):  # noqa: ANN001, ANN202
            if self.mask is not None and self.mask.shape[-1] >= n:
                return self.mask[:n, :n]

            mask = torch.ones((n, n), device=device, dtype=torch.bool).triu(1)
            self.register_buffer("mask", mask, persistent=False)
            return mask

        def get_rotary_embedding(self, n, device):  # noqa: ANN001, ANN202
            if self.pos_emb is not None and self.pos_emb.shape[-2] >= n:
                return self.pos_emb[:n]

            pos_emb = self.rotary_emb(n, device=device)
            self.register_buffer("pos_emb", pos_emb, persistent=False)
            return pos_emb

        def forward(self, x):  # noqa: ANN001, ANN202
            n, device, h = x.shape[1], x.device, self.heads

            # pre layernorm

            x = self.norm(x)

            # attention queries, keys, values, and feedforward inner

            q, k, v, ff = self.fused_attn_ff_proj(x).split(self.fused_dims, dim=-1)

            # split heads
            # they use multi-query single-key-value attention, yet another Noam Shazeer paper
            # noqa: E501 - they found no performance loss past a certain scale, and more efficient decoding obviously
            # https://arxiv.org/abs/1911.02150

            b = q.shape[0]
            q = q.reshape(b, n, h, -1).permute(0, 2, 1, 3)  # "b n (h d) -> b h n d"

            # rotary embeddings

            positions = self.get_rotary_embedding(n, device)
            q, k = map(lambda t: apply_rotary_pos_emb(positions, t), (q, k))

            # scale

            q = q * self.scale

            # similarity

            sim = einsum("b h i d, b j d -> b h i j", q, k)

            # causal mask

            causal_mask = self.get_mask(n, device)
            sim = sim.masked_fill(causal_mask, -torch.finfo(sim.dtype).max)

            # attention

            attn = sim.softmax(dim=-1)

            # aggregate values

            out = einsum("b h i j, b j d -> b h i d", attn, v)

            # merge heads

            out = out.permute(0, 2, 1, 3).reshape(b, n, -1)  # "b h n d -> b n (h d)"
            return self.attn_out(out) + self.ff_out(ff)

    def PaLM(*, dim, num_tokens, depth, dim_head=64, heads=8, ff_mult=4):  # noqa: ANN001, ANN202, N802
        net = nn.Sequential(
            nn.Embedding(num_tokens, dim),
            *[
                Residual(ParallelTransformerBlock(dim=dim, dim_head=dim_head, heads=heads, ff_mult=ff_mult))  # noqa: E501
                for _ in range(depth)
            ],
            LayerNorm(dim),
            nn.Linear(dim, num_tokens, bias=False)
        )  # fmt: skip

        # they used embedding weight tied projection out to logits, not common, but works

        net[-1].weight = net[0].weight

        nn.init.normal_(net[0].weight, std=0.02)
        return net

    return PaLM


def make_model(torch_like: Any) -> Any:
    return _palm(torch_like)(num_tokens=NUM_TOKENS, dim=DIM, depth=DEPTH, heads=HEADS,
                             dim_head=DIM_HEAD)  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader

    def exists(val):  # noqa: ANN001, ANN202
        return val is not None

    def eval_decorator(fn):  # noqa: ANN001, ANN202
        @functools.wraps(fn)
        def inner(model, *args, **kwargs):  # noqa: ANN001, ANN202
            was_training = model.training
            model.eval()
            out = fn(model, *args, **kwargs)
            model.train(was_training)
            return out

        return inner

    def top_k(logits, thres=0.9):  # noqa: ANN001, ANN202
        k = math.ceil((1 - thres) * logits.shape[-1])
        val, ind = torch.topk(logits, k)
        probs = torch.full_like(logits, float("-inf"))
        probs.scatter_(1, ind, val)
        return probs

    class AutoregressiveWrapper(nn.Module):
        def __init__(self, net, max_seq_len=2048, pad_value=0):  # noqa: ANN001
            super().__init__()
            self.max_seq_len = max_seq_len
            self.pad_value = pad_value
            self.net = net

        @torch.no_grad()
        @eval_decorator
        def generate(self, start_tokens, seq_len, eos_token=None, temperature=1.0,
                     filter_thres=0.9, **kwargs):  # noqa: ANN001, ANN202 # fmt: skip
            b, t, device = *start_tokens.shape, start_tokens.device  # noqa: F841

            out = start_tokens

            for _ in range(seq_len):
                logits = self.net(out, **kwargs)[:, -1, :]

                filtered_logits = top_k(logits, thres=filter_thres)
                probs = F.softmax(filtered_logits / temperature, dim=-1)

                sample = torch.multinomial(probs, 1)

                out = torch.cat((out, sample), dim=-1)

                if exists(eos_token):
                    is_eos_token = out == eos_token

                    if is_eos_token.any(dim=-1).all():
                        # mask out everything after the eos tokens
                        shifted_is_eos_tokens = F.pad(is_eos_token, (1, -1))
                        mask = shifted_is_eos_tokens.float().cumsum(dim=-1) >= 1
                        out = out.masked_fill(mask, self.pad_value)
                        break

            out = out[:, t:]
            return out

        def forward(self, x, **kwargs):  # noqa: ANN001, ANN202
            x_inp, x_labels = x[:, :-1], x[:, 1:]
            logits = self.net(x_inp, **kwargs)
            return F.cross_entropy(logits.permute(0, 2, 1), x_labels)  # "b c n -> b n c"

    def cycle(loader):  # noqa: ANN001, ANN202
        while True:
            yield from loader

    class TextSamplerDataset(Dataset):
        def __init__(self, data, seq_len):  # noqa: ANN001
            super().__init__()
            self.data = data
            self.seq_len = seq_len

        def __getitem__(self, index):  # noqa: ANN001, ANN204
            rand_start = torch.randint(0, self.data.size(0) - self.seq_len, (1,))
            full_seq = self.data[rand_start : rand_start + self.seq_len + 1].long()
            return full_seq

        def __len__(self):  # noqa: ANN204
            return self.data.size(0) // self.seq_len

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    assert model[-1].weight is model[0].weight
    model = AutoregressiveWrapper(model, max_seq_len=SEQ_LEN)

    rng = np.random.default_rng(9)
    data = np.frombuffer(
        rng.integers(0, 256, size=200, dtype=np.uint8).tobytes(), dtype=np.uint8
    ).copy()  # noqa: E501
    trX, vaX = np.split(data, [160])
    data_train, data_val = torch.from_numpy(trX), torch.from_numpy(vaX)
    torch.manual_seed(0)
    train_dataset = TextSamplerDataset(data_train, SEQ_LEN)
    val_dataset = TextSamplerDataset(data_val, SEQ_LEN)
    train_loader = cycle(DataLoader(train_dataset, batch_size=2))
    val_loader = cycle(DataLoader(val_dataset, batch_size=2))

    optim = torch.optim.Adam(model.parameters(), lr=2e-3)
    out: list[float] = []
    for i in range(6):
        model.train()

        for __ in range(2):
            loss = model(next(train_loader))
            loss.backward()

        out.append(loss.item())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optim.step()
        optim.zero_grad()

        if i % 3 == 0:
            model.eval()
            with torch.no_grad():
                loss = model(next(val_loader))
                out.append(loss.item())

    inp = next(val_loader)[0][:4]
    sample = model.generate(inp[None, ...], 4, eos_token=None)
    out += sample.flatten().tolist()
    out.append(float(model.training))
    out.append(len(model.state_dict()))
    return out
