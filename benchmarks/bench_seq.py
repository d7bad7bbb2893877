"""Sequence-model benchmark: chainrule vs PyTorch, each in its own process, alternating.

Training steps (forward, cross-entropy, backward, AdamW step; float32, CPU):
  * gpt: nanoGPT's Shakespeare-char CPU recipe: 4 layers, 4 heads, 128-dim embeddings,
    block 64, batch 12, vocabulary 65, no dropout, no biases
  * char_lstm: embedding 65 -> 2-layer LSTM(128) -> linear, batch 32 x 64 steps
  * gru_mnist1d: a 1-layer GRU(128) reading MNIST-1D's 40 values as time steps, batch 128
The PyTorch models are written here with torch.nn (benchmark-only code) with the same sizes.

Usage:  python benchmarks/bench_seq.py [--reps 3] [--steps 20] [--only gpt,char_lstm]
                                       [--base-src DIR] [--device cuda]
``--base-src DIR`` adds a third process per repetition, chainrule imported from DIR (e.g.
``git archive <commit> src | tar -x -C /tmp/base`` then ``--base-src /tmp/base/src``), so an
optimisation is measured against the code before it in the same alternation.
``--device cuda`` runs both on the GPU (chainrule through CuPy), synchronising the device
before each step's clock stops.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WORKLOADS = ("gpt", "char_lstm", "gru_mnist1d")
VOCAB, BLOCK, GPT_BATCH, LSTM_BATCH, LSTM_T = 65, 64, 12, 32, 64


def _torch_model(name: str):
    import torch
    import torch.nn as tnn

    if name == "char_lstm":

        class CharLSTM(tnn.Module):
            def __init__(self):
                super().__init__()
                self.emb = tnn.Embedding(VOCAB, 128)
                self.lstm = tnn.LSTM(128, 128, 2, batch_first=True)
                self.head = tnn.Linear(128, VOCAB)

            def forward(self, idx):
                return self.head(self.lstm(self.emb(idx))[0])

        return CharLSTM()
    if name == "gru_mnist1d":

        class GRUClassifier(tnn.Module):
            def __init__(self):
                super().__init__()
                self.gru = tnn.GRU(1, 128, batch_first=True)
                self.head = tnn.Linear(128, 10)

            def forward(self, x):
                return self.head(self.gru(x.transpose(1, 2))[0][:, -1])

        return GRUClassifier()

    class Block(tnn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(d, bias=False), tnn.LayerNorm(d, bias=False)
            self.qkv = tnn.Linear(d, 3 * d, bias=False)
            self.proj = tnn.Linear(d, d, bias=False)
            self.fc = tnn.Linear(d, 4 * d, bias=False)
            self.out = tnn.Linear(4 * d, d, bias=False)
            self.h = h

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))

    class GPT(tnn.Module):
        def __init__(self, d=128, layers=4, heads=4):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(VOCAB, d), tnn.Embedding(BLOCK, d)
            self.blocks = tnn.ModuleList(Block(d, heads) for _ in range(layers))
            self.ln_f = tnn.LayerNorm(d, bias=False)
            self.head = tnn.Linear(d, VOCAB, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln_f(x))

    return GPT()


def _data(name: str):
    import numpy as np

    rng = np.random.default_rng(0)
    if name == "gpt":
        x = rng.integers(0, VOCAB, (GPT_BATCH, BLOCK))
        return x, rng.integers(0, VOCAB, (GPT_BATCH, BLOCK))
    if name == "char_lstm":
        x = rng.integers(0, VOCAB, (LSTM_BATCH, LSTM_T))
        return x, rng.integers(0, VOCAB, (LSTM_BATCH, LSTM_T))
    return rng.standard_normal((128, 1, 40)).astype(np.float32), rng.integers(0, 10, 128)


def worker(framework: str, name: str, steps: int, device: str = "cpu") -> dict:
    if framework == "cr":  # chainrule first: it sets OpenBLAS's spin time before NumPy loads
        import chainrule as lib
    else:
        import torch as lib
    x_np, y_np = _data(name)
    lib.manual_seed(0)
    if framework == "torch":
        model = _torch_model(name)
    elif name == "gru_mnist1d":
        model = lib.models.get_model("gru", num_classes=10, in_channels=1, hidden_size=128)
    else:
        model = lib.models.get_model(name, vocab_size=VOCAB)
    model = model.to(device)
    x, y = lib.tensor(x_np, device=device), lib.tensor(y_np, device=device)
    sync = lib.cuda.synchronize if device != "cpu" else (lambda: None)
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    F = lib.nn.functional

    def step():
        out = model(x)
        if isinstance(out, tuple):
            out = out[0]
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()

    model.train()
    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return {"median_ms": 1000 * times[len(times) // 2]}


def _run(framework: str, name: str, steps: int, src: str | None, device: str) -> dict:
    env = dict(os.environ)
    if src is not None:  # another chainrule source tree (--base-src): it comes first on the path
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", framework, name, str(steps), device],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument(
        "--base-src",
        help="also time the chainrule at this source folder (e.g. a `git archive` of an older "
        "commit's src/), in the same alternation, and print new/base",
    )
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fw, name, steps, device = args.worker
        print(json.dumps(worker(fw, name, int(steps), device)))
        return
    from chainrule._kernels import backend

    print(f"chainrule kernels: {backend()} (CHAINRULE_NUMBA=0 selects the NumPy fallback)")
    base = args.base_src
    head = f"{'workload':<22}{'chainrule ms':>14}{'torch ms':>12}{'ratio':>8}"
    print(head + (f"{'base ms':>10}{'new/base':>10}" if base else ""))
    for name in args.only.split(","):
        best: dict[str, list] = {"cr": [], "torch": [], "base": []}
        for _ in range(args.reps):
            for fw in ("cr", "base", "torch") if base else ("cr", "torch"):
                src = base if fw == "base" else None
                run = _run("cr" if src else fw, name, args.steps, src, args.device)
                best[fw].append(run["median_ms"])
        c, t = min(best["cr"]), min(best["torch"])
        line = f"{name + ' train':<22}{c:>14.2f}{t:>12.2f}{c / t:>8.2f}x"
        if base:
            b = min(best["base"])
            line += f"{b:>10.2f}{c / b:>9.3f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
