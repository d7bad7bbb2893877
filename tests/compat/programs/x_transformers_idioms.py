"""lucidrains/x-transformers idioms (``x_transformers.py``, ``autoregressive_wrapper.py`` and the
``train_enwik8.py`` script), einops-free and size-reduced: a decoder-only language model whose
layers mix the library's attention options, trained a few steps and sampled from.

The idioms: ``RotaryEmbedding`` (``inv_freq = 1. / (base ** (torch.arange(0, dim, 2).float() /
dim))`` registered with ``persistent=False``, ``t = torch.arange(seq_len).type_as(self.inv_freq)``,
``freqs = torch.einsum('i , j -> i j', t, self.inv_freq)``, ``torch.cat((freqs, freqs), dim=-1)``,
the xPos scale ``(torch.arange(0, dim, 2) + 0.4 * dim) / (1.4 * dim)`` raised to ``power[:,
None]``), ``rotate_half`` with ``x.chunk(2, dim=-1)`` / ``torch.cat((-x2, x1), dim=-1)``,
partial rotary (``t[..., :rot_dim], t[..., rot_dim:]``); cosine-similarity attention (``qk_norm``:
``F.normalize(t, dim=-1)`` and a learned per-head scale; Swin-v2's ``torch.clamp(self.logit_scale,
max=torch.log(torch.tensor(1. / 0.01))).exp()``); ``AlibiPositionalBias`` on a subset of the heads
(``_get_slopes`` with ``math.log2``, ``-torch.abs(j_arange[None, None, :] - i_arange[None, :,
None])``, ``F.pad(bias, (0, 0, 0, 0, 0, unalibied_heads))`` on the head dimension);
``einsum('b h i d, b h j d -> b h i j')`` scores, the causal mask ``torch.ones((i, j),
dtype=torch.bool).triu(j - i + 1)`` and ``masked_fill(mask, -torch.finfo(sim.dtype).max)``;
``ScaleNorm`` / ``RMSNorm`` from ``F.normalize(x, dim=-1) * self.scale * self.g``; ``GEGLU``
(``self.proj(x).chunk(2, dim=-1)``, ``x * F.gelu(gate)``); DeepNorm (post-norm ``Residual`` with
``scale_residual_constant = (2 * depth) ** 0.25`` and ``deepnorm_init``: ``named_modules()``,
``type(module) != nn.Linear``, ``xavier_normal_(module.weight.data, gain=beta)`` for names
containing ``.ff.``, ``.to_v``, ``.to_out``); the ``AutoregressiveWrapper`` (``F.cross_entropy(
logits.transpose(1, 2), target, ignore_index=...)``, ``eval_decorator`` and ``@torch.no_grad()``
``generate`` with ``top_k`` filtering by ``torch.topk`` and ``probs.scatter_(1, ind, val)`` into
``torch.full_like(logits, float('-inf'))``, Gumbel sampling from ``torch.zeros_like(t).uniform_(0,
1)`` and ``torch.log(t.clamp(min=eps))``); the enwik8 script's ``TextSamplerDataset``
(``torch.randint(0, self.data.size(0) - self.seq_len - 1, (1,))``, ``.long()``), ``cycle(
DataLoader(...))``, gradient accumulation ``(loss / GRADIENT_ACCUMULATE_EVERY).backward()``,
``clip_grad_norm_(model.parameters(), 0.5)``.

Sizes: vocabulary 12, dim 16, 4 heads of 8, depth 2, sequences of 10; 4 steps of 2 micro-batches.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

VOCAB, DIM, DEPTH, HEADS, DIM_HEAD, SEQ_LEN = 12, 16, 2, 4, 8, 10
BATCH_SIZE, GRADIENT_ACCUMULATE_EVERY, NUM_BATCHES, LEARNING_RATE = 3, 2, 4, 3e-3


def exists(val: Any) -> bool:
    return val is not None


def default(val: Any, d: Any) -> Any:
    return val if exists(val) else d


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def l2norm(t: Any, groups: int = 1) -> Any:
        return F.normalize(t, p=2, dim=-1)

    class RotaryEmbedding(nn.Module):
        def __init__(
            self,
            dim: int,
            use_xpos: bool = False,
            scale_base: int = 512,
            interpolation_factor: float = 1.0,
            base: int = 10000,
        ) -> None:
            super().__init__()
            inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
            self.register_buffer("inv_freq", inv_freq, persistent=False)
            assert interpolation_factor >= 1.0
            self.interpolation_factor = interpolation_factor

            if not use_xpos:
                self.register_buffer("scale", None, persistent=False)
                return

            scale = (torch.arange(0, dim, 2) + 0.4 * dim) / (1.4 * dim)
            self.scale_base = scale_base
            self.register_buffer("scale", scale, persistent=False)

        def forward(self, seq_len: int) -> tuple[Any, Any]:
            device = self.inv_freq.device
            t = torch.arange(seq_len, device=device).type_as(self.inv_freq)
            t = t / self.interpolation_factor

            freqs = torch.einsum("i , j -> i j", t, self.inv_freq)
            freqs = torch.cat((freqs, freqs), dim=-1)

            if not exists(self.scale):
                return freqs, 1.0

            power = (torch.arange(seq_len, device=device) - (seq_len // 2)) / self.scale_base
            scale = self.scale ** power[:, None]
            scale = torch.cat((scale, scale), dim=-1)
            return freqs, scale

    def rotate_half(x: Any) -> Any:
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    def apply_rotary_pos_emb(t: Any, freqs: Any, scale: Any = 1) -> Any:
        rot_dim, seq_len = freqs.shape[-1], t.shape[-2]
        freqs = freqs[-seq_len:, :]
        # partial rotary embeddings, Wang et al. GPT-J
        t, t_unrotated = t[..., :rot_dim], t[..., rot_dim:]
        t = (t * freqs.cos() * scale) + (rotate_half(t) * freqs.sin() * scale)
        return torch.cat((t, t_unrotated), dim=-1)

    class AlibiPositionalBias(nn.Module):
        def __init__(self, heads: int, total_heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.total_heads = total_heads
            slopes = torch.Tensor(self._get_slopes(heads))
            slopes = slopes[:, None, None]
            self.register_buffer("slopes", slopes, persistent=False)
            self.register_buffer("bias", None, persistent=False)

        def get_bias(self, i: int, j: int, device: Any) -> Any:
            i_arange = torch.arange(j - i, j, device=device)
            j_arange = torch.arange(j, device=device)
            bias = -torch.abs(j_arange[None, None, :] - i_arange[None, :, None])
            return bias

        @staticmethod
        def _get_slopes(heads: int) -> list[float]:
            def get_slopes_power_of_2(n: int) -> list[float]:
                start = 2 ** (-(2 ** -(math.log2(n) - 3)))
                ratio = start
                return [start * ratio**i for i in range(n)]

            if math.log2(heads).is_integer():
                return get_slopes_power_of_2(heads)

            closest_power_of_2 = 2 ** math.floor(math.log2(heads))
            return (
                get_slopes_power_of_2(closest_power_of_2)
                + get_slopes_power_of_2(2 * closest_power_of_2)[0::2][: heads - closest_power_of_2]
            )

        @property
        def device(self) -> Any:
            return next(self.buffers()).device

        def forward(self, i: int, j: int) -> Any:
            h, device = self.total_heads, self.device

            if exists(self.bias) and self.bias.shape[-1] >= j and self.bias.shape[-2] >= i:
                return self.bias[..., -i:, -j:]

            bias = self.get_bias(i, j, device)
            bias = bias * self.slopes

            num_heads_unalibied = h - bias.shape[0]
            bias = F.pad(bias, (0, 0, 0, 0, 0, num_heads_unalibied))
            self.register_buffer("bias", bias, persistent=False)

            return self.bias

    class ScaleNorm(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.scale = dim**0.5
            self.g = nn.Parameter(torch.ones(1))

        def forward(self, x: Any) -> Any:
            return F.normalize(x, dim=-1) * self.scale * self.g

    class RMSNorm(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.scale = dim**0.5
            self.g = nn.Parameter(torch.ones(dim))

        def forward(self, x: Any) -> Any:
            return F.normalize(x, dim=-1) * self.scale * self.g

    class Residual(nn.Module):
        def __init__(
            self, dim: int, scale_residual: bool = False, scale_residual_constant: float = 1.0
        ) -> None:
            super().__init__()
            self.residual_scale = nn.Parameter(torch.ones(dim)) if scale_residual else None
            self.scale_residual_constant = scale_residual_constant

        def forward(self, x: Any, residual: Any) -> Any:
            if exists(self.residual_scale):
                residual = residual * self.residual_scale

            if self.scale_residual_constant != 1:
                residual = residual * self.scale_residual_constant

            return x + residual

    class GEGLU(nn.Module):
        def __init__(self, dim_in: int, dim_out: int) -> None:
            super().__init__()
            self.proj = nn.Linear(dim_in, dim_out * 2)

        def forward(self, x: Any) -> Any:
            x, gate = self.proj(x).chunk(2, dim=-1)
            return x * F.gelu(gate)

    class FeedForward(nn.Module):
        def __init__(self, dim: int, mult: int = 2, dropout: float = 0.0) -> None:
            super().__init__()
            inner_dim = int(dim * mult)
            self.ff = nn.Sequential(
                GEGLU(dim, inner_dim), nn.Dropout(dropout), nn.Linear(inner_dim, dim)
            )

        def forward(self, x: Any) -> Any:
            return self.ff(x)

    class Attention(nn.Module):
        def __init__(
            self,
            dim: int,
            dim_head: int = DIM_HEAD,
            heads: int = HEADS,
            causal: bool = True,
            qk_norm: bool = False,
            qk_norm_scale: float = 10.0,
            swin_logit_scale: bool = False,
        ) -> None:
            super().__init__()
            self.scale = dim_head**-0.5
            self.heads = heads
            self.causal = causal
            inner_dim = dim_head * heads
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_k = nn.Linear(dim, inner_dim, bias=False)
            self.to_v = nn.Linear(dim, inner_dim, bias=False)

            # cosine sim attention
            self.qk_norm = qk_norm
            if qk_norm:
                self.qk_norm_scale = nn.Parameter(torch.ones(heads, 1, 1) * qk_norm_scale)
            self.logit_scale = (
                nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
                if swin_logit_scale
                else None
            )

            self.to_out = nn.Linear(inner_dim, dim)

        def forward(self, x: Any, rotary_pos_emb: Any = None, rel_pos: Any = None) -> Any:
            b, n, _ = x.shape
            h = self.heads

            def split_heads(t: Any) -> Any:  # rearrange(t, 'b n (h d) -> b h n d', h = h)
                return t.reshape(b, n, h, -1).transpose(1, 2)

            q, k, v = map(split_heads, (self.to_q(x), self.to_k(x), self.to_v(x)))

            if exists(rotary_pos_emb):
                freqs, xpos_scale = rotary_pos_emb
                q_xpos_scale, k_xpos_scale = (
                    (xpos_scale, xpos_scale**-1.0) if exists(xpos_scale) else (1.0, 1.0)
                )
                q = apply_rotary_pos_emb(q, freqs, q_xpos_scale)
                k = apply_rotary_pos_emb(k, freqs, k_xpos_scale)

            scale = self.scale
            if self.qk_norm:
                q, k = map(l2norm, (q, k))
                scale = self.qk_norm_scale

            sim = torch.einsum("b h i d, b h j d -> b h i j", q, k) * scale

            if exists(self.logit_scale):
                logit_scale = torch.clamp(
                    self.logit_scale, max=torch.log(torch.tensor(1.0 / 0.01))
                ).exp()
                sim = sim * logit_scale

            if exists(rel_pos):
                sim = sim + rel_pos(*sim.shape[-2:])

            mask_value = -torch.finfo(sim.dtype).max

            if self.causal:
                i, j = sim.shape[-2:]
                causal_mask = torch.ones((i, j), dtype=torch.bool, device=x.device).triu(j - i + 1)
                sim = sim.masked_fill(causal_mask, mask_value)

            attn = sim.softmax(dim=-1)
            out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)
            out = out.transpose(1, 2).reshape(b, n, -1)  # 'b h n d -> b n (h d)'
            return self.to_out(out)

    def deepnorm_init(
        transformer: Any,
        beta: float,
        module_name_match_list: tuple[str, ...] = (".ff.", ".to_v", ".to_out"),
    ) -> None:
        for name, module in transformer.named_modules():
            if type(module) != nn.Linear:  # noqa: E721 (as in the library)
                continue

            needs_beta_gain = any(substr in name for substr in module_name_match_list)
            gain = beta if needs_beta_gain else 1
            nn.init.xavier_normal_(module.weight.data, gain=gain)

            if exists(module.bias):
                nn.init.constant_(module.bias.data, 0)

    class Decoder(nn.Module):
        def __init__(self, dim: int, depth: int, heads: int, alibi_num_heads: int = 2) -> None:
            super().__init__()
            self.dim = dim
            self.depth = depth
            self.rotary_pos_emb = RotaryEmbedding(DIM_HEAD // 2, use_xpos=True, scale_base=64)
            self.rel_pos = AlibiPositionalBias(heads=alibi_num_heads, total_heads=heads)
            # DeepNorm: post-norm with the residual scaled by (2 * depth) ** 0.25
            scale_residual_constant = (2 * depth) ** 0.25
            self.layers = nn.ModuleList([])
            for ind in range(depth):
                attn = Attention(dim, heads=heads, qk_norm=ind == 0, swin_logit_scale=ind == 1)
                self.layers.append(
                    nn.ModuleList(
                        [
                            nn.ModuleList(
                                [
                                    RMSNorm(dim) if ind == 0 else ScaleNorm(dim),
                                    attn,
                                    Residual(dim, scale_residual_constant=scale_residual_constant),
                                ]
                            ),
                            nn.ModuleList(
                                [
                                    nn.LayerNorm(dim),
                                    FeedForward(dim),
                                    Residual(
                                        dim,
                                        scale_residual=True,
                                        scale_residual_constant=scale_residual_constant,
                                    ),
                                ]
                            ),
                        ]
                    )
                )
            deepnorm_init(self, (8 * depth) ** -0.25)

        def forward(self, x: Any) -> Any:
            rotary_pos_emb = self.rotary_pos_emb(x.shape[1])
            for ind, ((attn_norm, attn, attn_res), (ff_norm, ff, ff_res)) in enumerate(self.layers):
                rel_pos = self.rel_pos if ind == 1 else None
                x = attn_norm(attn_res(attn(x, rotary_pos_emb, rel_pos), x))
                x = ff_norm(ff_res(ff(x), x))
            return x

    class TransformerWrapper(nn.Module):
        def __init__(self, num_tokens: int, max_seq_len: int, attn_layers: Any) -> None:
            super().__init__()
            dim = attn_layers.dim
            self.max_seq_len = max_seq_len
            self.token_emb = nn.Embedding(num_tokens, dim)
            nn.init.kaiming_normal_(self.token_emb.weight)
            self.attn_layers = attn_layers
            self.norm = nn.LayerNorm(dim)
            self.to_logits = nn.Linear(dim, num_tokens)

        def forward(self, x: Any) -> Any:
            x = self.token_emb(x)
            x = self.attn_layers(x)
            x = self.norm(x)
            return self.to_logits(x)

    return TransformerWrapper(
        num_tokens=VOCAB, max_seq_len=SEQ_LEN, attn_layers=Decoder(DIM, DEPTH, HEADS)
    )


def _wrapper(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def eval_decorator(fn: Any) -> Any:
        def inner(self: Any, *args: Any, **kwargs: Any) -> Any:
            was_training = self.training
            self.eval()
            out = fn(self, *args, **kwargs)
            self.train(was_training)
            return out

        return inner

    def log(t: Any, eps: float = 1e-20) -> Any:
        return torch.log(t.clamp(min=eps))

    def gumbel_noise(t: Any) -> Any:
        noise = torch.zeros_like(t).uniform_(0, 1)
        return -log(-log(noise))

    def gumbel_sample(t: Any, temperature: float = 1.0, dim: int = -1) -> Any:
        return ((t / max(temperature, 1e-10)) + gumbel_noise(t)).argmax(dim=dim)

    def top_k(logits: Any, frac_num_tokens: float = 0.1, k: int | None = None) -> Any:
        num_tokens = logits.shape[-1]
        k = default(k, math.ceil(frac_num_tokens * num_tokens))
        val, ind = torch.topk(logits, k)
        probs = torch.full_like(logits, float("-inf"))
        probs.scatter_(1, ind, val)
        return probs

    class AutoregressiveWrapper(nn.Module):
        def __init__(self, net: Any, ignore_index: int = -100, pad_value: int = 0) -> None:
            super().__init__()
            self.pad_value = pad_value
            self.ignore_index = ignore_index
            self.net = net
            self.max_seq_len = net.max_seq_len

        @torch.no_grad()
        @eval_decorator
        def generate(
            self,
            prompts: Any,
            seq_len: int,
            eos_token: int | None = None,
            temperature: float = 1.0,
            filter_kwargs: dict | None = None,
        ) -> Any:
            filter_kwargs = default(filter_kwargs, {})
            b, t = prompts.shape
            out = prompts

            for _ in range(seq_len):
                x = out[:, -self.max_seq_len :]
                logits = self.net(x)[:, -1]
                filtered_logits = top_k(logits, **filter_kwargs)
                sample = gumbel_sample(filtered_logits, temperature=temperature, dim=-1)
                out = torch.cat((out, sample[:, None]), dim=-1)

                if exists(eos_token):
                    is_eos_tokens = out == eos_token
                    if is_eos_tokens.any(dim=-1).all():
                        break

            out = out[:, t:]
            return out

        def forward(self, x: Any) -> Any:
            ignore_index = self.ignore_index
            inp, target = x[:, :-1], x[:, 1:]
            logits = self.net(inp)
            loss = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=ignore_index)
            return loss

    return AutoregressiveWrapper


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    from_numpy = torch.from_numpy

    def cycle(loader: Any) -> Any:
        while True:
            yield from loader

    class TextSamplerDataset(torch.utils.data.Dataset):
        def __init__(self, data: Any, seq_len: int) -> None:
            super().__init__()
            self.data = data
            self.seq_len = seq_len

        def __getitem__(self, index: int) -> Any:
            rand_start = torch.randint(0, self.data.size(0) - self.seq_len - 1, (1,))
            full_seq = self.data[rand_start : rand_start + self.seq_len + 1].long()
            return full_seq

        def __len__(self) -> int:
            return self.data.size(0) // self.seq_len

    # "enwik8": a byte stream with structure (a repeated ramp plus noise), split 3:1
    rng = np.random.default_rng(17)
    text = (np.arange(160) % 7 + rng.integers(0, 5, 160) * (rng.random(160) < 0.2)) % VOCAB
    data = text.astype(np.uint8)
    train_x, valid_x = np.split(data, [120])
    data_train, data_val = from_numpy(train_x.copy()), from_numpy(valid_x.copy())

    torch.manual_seed(0)
    train_dataset = TextSamplerDataset(data_train, SEQ_LEN)
    val_dataset = TextSamplerDataset(data_val, SEQ_LEN)
    train_loader = cycle(torch.utils.data.DataLoader(train_dataset, batch_size=BATCH_SIZE))
    val_loader = cycle(torch.utils.data.DataLoader(val_dataset, batch_size=BATCH_SIZE))

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model = _wrapper(torch_like)(model)
    optim = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    values: list[float] = []

    for i in range(NUM_BATCHES):
        model.train()

        for __ in range(GRADIENT_ACCUMULATE_EVERY):
            loss = model(next(train_loader))
            (loss / GRADIENT_ACCUMULATE_EVERY).backward()

        values.append(loss.item())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optim.step()
        optim.zero_grad()

        if i % 2 == 0:
            model.eval()
            with torch.no_grad():
                loss = model(next(val_loader))
                values.append(loss.item())

    inp = random_seq = val_dataset[0][:-1]
    assert inp is random_seq
    sample = model.generate(inp[None, ...], 6, filter_kwargs={"k": 3})
    values.extend(float(v) for v in sample.flatten().tolist())
    values.append(float(model.training))
    values.append(float(len(model.net.attn_layers.rotary_pos_emb.state_dict())))
    return values
