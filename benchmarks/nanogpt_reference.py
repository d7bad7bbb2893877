"""The PyTorch reference for the nanoGPT recipe row of RESULTS.md (issue 12).

nanoGPT's CPU Shakespeare-char recipe (4 layers, 4 heads, 128-dim embeddings, block 64,
batch 12, 2,000 iterations, dropout 0, no biases, AdamW lr 1e-3 with 100 warm-up iterations
and cosine decay to 1e-4, beta2 0.99, weight decay 0.1 on every tensor of 2+ dims, gradient
clipping at 1.0), written in plain PyTorch from nanoGPT's model.py/train.py behaviour:
PyTorch's own random numbers for the init and the batches, nanoGPT's 90/10 split and its
20-batch loss estimate. At the end it also reports the loss over the whole validation split
in non-overlapping windows of 64, the figure chainrule's run reports, so that the two are
compared on the same footing.

Usage:  python benchmarks/nanogpt_reference.py PATH/tiny-shakespeare.txt [--seed 1337]
(one thread; ~10 min on the 2-core machine when it is quiet). PyTorch is test-only here.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BLOCK, EMBD, HEADS, LAYERS, BATCH = 64, 128, 4, 4, 12
ITERS, WARMUP, LR, MIN_LR, EVAL_ITERS = 2000, 100, 1e-3, 1e-4, 20


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(EMBD, bias=False), nn.LayerNorm(EMBD, bias=False)
        self.c_attn = nn.Linear(EMBD, 3 * EMBD, bias=False)
        self.attn_c_proj = nn.Linear(EMBD, EMBD, bias=False)
        self.c_fc = nn.Linear(EMBD, 4 * EMBD, bias=False)
        self.mlp_c_proj = nn.Linear(4 * EMBD, EMBD, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, 2)
        q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_c_proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp_c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, EMBD), nn.Embedding(BLOCK, EMBD)
        self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(EMBD, bias=False)
        self.lm_head = nn.Linear(EMBD, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # tied, as nanoGPT
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
        for name, p in self.named_parameters():  # residual projections scaled down
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * LAYERS))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def lr_at(it: int) -> float:
    """nanoGPT's schedule: linear warm-up, then cosine decay to MIN_LR at ITERS."""
    if it < WARMUP:
        return LR * (it + 1) / (WARMUP + 1)
    ratio = (it - WARMUP) / (ITERS - WARMUP)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * min(ratio, 1.0))) * (LR - MIN_LR)


def load_split(corpus: str) -> tuple[np.ndarray, np.ndarray, int]:
    """nanoGPT's character data: the sorted characters as the vocabulary, the first 90% of
    the text for training and the rest for validation, as int64 token arrays."""
    text = open(corpus, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    n = len(text)
    train = np.array([stoi[ch] for ch in text[: int(n * 0.9)]], dtype=np.int64)
    val = np.array([stoi[ch] for ch in text[int(n * 0.9) :]], dtype=np.int64)
    return train, val, len(chars)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="path to tiny-shakespeare.txt")
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, val, vocab = load_split(args.corpus)

    torch.manual_seed(args.seed)
    model = GPT(vocab)
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.99))

    def batch(data: np.ndarray) -> tuple:
        ix = torch.randint(len(data) - BLOCK, (BATCH,)).tolist()
        x = torch.from_numpy(np.stack([data[i : i + BLOCK] for i in ix]))
        y = torch.from_numpy(np.stack([data[i + 1 : i + 1 + BLOCK] for i in ix]))
        return x, y

    def loss_of(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(x).view(-1, vocab), y.view(-1))

    @torch.no_grad()
    def estimate() -> dict:
        model.eval()
        out = {
            name: float(np.mean([loss_of(*batch(d)).item() for _ in range(EVAL_ITERS)]))
            for name, d in (("train", train), ("val", val))
        }
        model.train()
        return out

    start = time.time()
    x, y = batch(train)
    for it in range(ITERS + 1):  # as nanoGPT: one more step after the last evaluation
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        if it % 250 == 0:
            e = estimate()
            print(
                f"seed {args.seed} iter {it}: train {e['train']:.4f} val {e['val']:.4f} "
                f"({time.time() - start:.0f} s)",
                flush=True,
            )
        loss = loss_of(x, y)
        x, y = batch(train)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    with torch.no_grad():
        model.eval()
        k = (len(val) - 1) // BLOCK
        xs = torch.from_numpy(val[: k * BLOCK]).view(k, BLOCK)
        ys = torch.from_numpy(val[1 : k * BLOCK + 1]).view(k, BLOCK)
        total = sum(
            F.cross_entropy(
                model(xs[i : i + 256]).reshape(-1, vocab),
                ys[i : i + 256].reshape(-1),
                reduction="sum",
            ).item()
            for i in range(0, k, 256)
        )
    print(
        f"seed {args.seed} whole validation split ({k * BLOCK} tokens): "
        f"{total / (k * BLOCK):.4f}; {time.time() - start:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
