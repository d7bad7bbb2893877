"""nanoGPT's CPU recipe trained in chainrule and PyTorch in lock step (issue 12).

The two frameworks start from the same weights (chainrule's ``cr.models.gpt`` initialised
with the seed, copied into the PyTorch model of ``nanogpt_reference.py``) and read the same
training and evaluation batches (one NumPy generator draws every window for both), so any
difference in the losses they reach comes from the frameworks' arithmetic, not from the
seed's luck: the question "does chainrule reach the loss PyTorch reaches?" gets an answer
per seed instead of an average over noisy runs. Each evaluation prints nanoGPT's 20-batch
estimate for both (the same 20 batches), and the end the loss over the whole validation
split (non-overlapping windows of 64) and the largest weight difference.

The loop is nanoGPT's (train.py): the learning rate set per iteration, an evaluation every
250 iterations, forward on the batch fetched at the previous iteration, backward, clipping
at 1.0, AdamW with decay on tensors of 2+ dims, ``zero_grad(set_to_none=True)``.

Usage:  python benchmarks/nanogpt_lockstep.py PATH/tiny-shakespeare.txt --seed 1337
(one thread per framework; ~10 min on the quiet 2-core machine). PyTorch is test-only here.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from nanogpt_reference import BATCH, BLOCK, EVAL_ITERS, ITERS, LR, load_split, lr_at
from nanogpt_reference import GPT as TorchGPT

import chainrule as cr
from chainrule.models.gpt import gpt

# chainrule's parameter names -> the reference model's
_RENAMES = (
    ("transformer.", ""),
    ("attn.c_attn", "c_attn"),
    ("attn.c_proj", "attn_c_proj"),
    ("mlp.c_fc", "c_fc"),
    ("mlp.c_proj", "mlp_c_proj"),
)


def torch_name(name: str) -> str:
    """The reference model's name for a parameter of ``cr.models.gpt``."""
    for old, new in _RENAMES:
        name = name.replace(old, new)
    return name


def decay_groups(params: list, lib) -> list:
    """nanoGPT's AdamW groups: weight decay 0.1 on tensors of 2+ dims, none on the rest."""
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="path to tiny-shakespeare.txt")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--iters", type=int, default=ITERS, help="stop early (a quick check)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, val, vocab = load_split(args.corpus)

    cr.manual_seed(args.seed)
    cmodel = gpt(vocab_size=vocab)
    tmodel = TorchGPT(vocab)
    tparams = dict(tmodel.named_parameters())
    with torch.no_grad():
        for name, p in cmodel.named_parameters():
            tparams[torch_name(name)].copy_(torch.from_numpy(p.detach().numpy().copy()))
    cparams, tlist = list(cmodel.parameters()), list(tmodel.parameters())
    copt = cr.optim.AdamW(decay_groups(cparams, cr), lr=LR, betas=(0.9, 0.99))
    topt = torch.optim.AdamW(decay_groups(tlist, torch), lr=LR, betas=(0.9, 0.99))
    rng = np.random.default_rng(args.seed)

    def batch(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ix = rng.integers(0, len(data) - BLOCK, size=BATCH)
        x = np.stack([data[i : i + BLOCK] for i in ix])
        y = np.stack([data[i + 1 : i + 1 + BLOCK] for i in ix])
        return x, y

    def closs(x: np.ndarray, y: np.ndarray):
        return cr.nn.functional.cross_entropy(
            cmodel(cr.from_numpy(x)).reshape(-1, vocab), cr.from_numpy(y).reshape(-1)
        )

    def tloss(x: np.ndarray, y: np.ndarray):
        return F.cross_entropy(
            tmodel(torch.from_numpy(x)).view(-1, vocab), torch.from_numpy(y).view(-1)
        )

    def estimate() -> dict:
        cmodel.eval()
        tmodel.eval()
        out = {}
        with cr.no_grad(), torch.no_grad():
            for name, d in (("train", train), ("val", val)):
                batches = [batch(d) for _ in range(EVAL_ITERS)]
                out[name] = (
                    float(np.mean([closs(*b).item() for b in batches])),
                    float(np.mean([tloss(*b).item() for b in batches])),
                )
        cmodel.train()
        tmodel.train()
        return out

    start = time.time()
    spent = {"chainrule": 0.0, "torch": 0.0}
    x, y = batch(train)
    for it in range(args.iters + 1):
        lr = lr_at(it)
        for opt in (copt, topt):
            for g in opt.param_groups:
                g["lr"] = lr
        if it % 250 == 0 or it == args.iters:
            e = estimate()
            print(
                f"seed {args.seed} iter {it}: val chainrule {e['val'][0]:.4f} torch "
                f"{e['val'][1]:.4f} | train chainrule {e['train'][0]:.4f} torch "
                f"{e['train'][1]:.4f} ({time.time() - start:.0f} s)",
                flush=True,
            )
            if it == args.iters:
                break
        t0 = time.perf_counter()
        loss = closs(x, y)
        loss.backward()
        cr.nn.utils.clip_grad_norm_(cparams, 1.0)
        copt.step()
        copt.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        tl = tloss(x, y)
        tl.backward()
        torch.nn.utils.clip_grad_norm_(tlist, 1.0)
        topt.step()
        topt.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        spent["chainrule"] += t1 - t0
        spent["torch"] += t2 - t1
        x, y = batch(train)

    k = (len(val) - 1) // BLOCK
    xs = val[: k * BLOCK].reshape(k, BLOCK)
    ys = val[1 : k * BLOCK + 1].reshape(k, BLOCK)
    cmodel.eval()
    tmodel.eval()
    ctotal = ttotal = 0.0
    with cr.no_grad(), torch.no_grad():
        for i in range(0, k, 256):
            xb, yb = np.ascontiguousarray(xs[i : i + 256]), np.ascontiguousarray(ys[i : i + 256])
            ctotal += cr.nn.functional.cross_entropy(
                cmodel(cr.from_numpy(xb)).reshape(-1, vocab),
                cr.from_numpy(yb).reshape(-1),
                reduction="sum",
            ).item()
            ttotal += F.cross_entropy(
                tmodel(torch.from_numpy(xb)).reshape(-1, vocab),
                torch.from_numpy(yb).reshape(-1),
                reduction="sum",
            ).item()
    drift = max(
        float(np.abs(p.detach().numpy() - tparams[torch_name(name)].detach().numpy()).max())
        for name, p in cmodel.named_parameters()
    )
    print(
        f"seed {args.seed} whole validation split ({k * BLOCK} tokens): chainrule "
        f"{ctotal / (k * BLOCK):.4f} torch {ttotal / (k * BLOCK):.4f}; largest weight "
        f"difference {drift:.2e}; training steps chainrule {spent['chainrule']:.0f} s, torch "
        f"{spent['torch']:.0f} s; {time.time() - start:.0f} s in all",
        flush=True,
    )


if __name__ == "__main__":
    main()
