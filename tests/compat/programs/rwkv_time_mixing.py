"""RWKV-4 as BlinkDL/RWKV-LM writes it (``RWKV-v4/src/model.py`` and the RNN-mode
``model_run.py``), size-reduced, with the WKV kernel written out as the Python loop of its CUDA
code (the CPU reference the repository checks the kernel against).

The idioms: ``RWKV_TimeMix``'s "fancy init" under ``torch.no_grad()`` (``ratio_0_to_1 =
layer_id / (n_layer - 1)``, ``ratio_1_to_almost0 = 1.0 - layer_id / n_layer``, ``decay_speed =
torch.ones(attn_sz)`` filled element by element with ``-5 + 8 * (h / (attn_sz - 1)) ** (0.7 +
1.3 * ratio_0_to_1)``, ``self.time_decay = nn.Parameter(decay_speed)``, the zigzag
``torch.tensor([(i + 1) % 3 - 1 for i in range(attn_sz)]) * 0.5`` and ``self.time_first =
nn.Parameter(torch.ones(attn_sz) * math.log(0.3) + zigzag)``, ``x = torch.ones(1, 1, n_embd)``
with ``x[0, 0, i] = i / n_embd`` and ``nn.Parameter(torch.pow(x, ratio_1_to_almost0))`` /
``torch.pow(x, 0.5 * ratio_1_to_almost0)`` time-mix ratios); ``self.time_shift =
nn.ZeroPad2d((0, 0, 1, -1))`` (a negative pad: shift by one token, drop the last);
``xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)``; bias-free ``nn.Linear`` key / value /
receptance / output with ``scale_init`` attributes; ``sr = torch.sigmoid(r)``; the WKV
recurrence with ``w = -torch.exp(time_decay)``, ``u = time_first``, the running maximum
``no = torch.maximum(o, u + kk)``, ``A = torch.exp(o - no)``, ``B = torch.exp(u + kk - no)``,
``(A * p + B * vv) / (A * q + B)`` and the state update, collected with ``torch.stack(ys,
dim=1)``; ``RWKV_ChannelMix``'s ``torch.square(torch.relu(k))`` and ``torch.sigmoid(
self.receptance(xr)) * kv``; ``Block`` with ``self.ln0`` on layer 0 only; ``L2Wrap(
torch.autograd.Function)`` (``ctx.save_for_backward(y)``, ``factor = 1e-4 / (y.shape[0] *
y.shape[1])``, ``maxx, ids = torch.max(y, -1, keepdim=True)``, ``gy.scatter_(-1, ids, maxx *
factor)``, ``return (grad_output, gy)``) around ``F.cross_entropy(x.view(-1, x.size(-1)),
targets.view(-1))``; ``configure_optimizers``' parameter groups (``time_decay`` at twice the
learning rate, as v4neo's ``lr_2x``) in ``torch.optim.Adam(optim_groups, lr=..., betas=(0.9,
0.99), eps=1e-8)``; and the RNN mode of ``model_run.py`` (one token at a time, the state of
``xx`` / ``aa`` / ``bb`` / ``pp`` per layer), which must give the GPT mode's last logits.

Changed: the CUDA kernel -> its Python loop; ``n_embd`` 512+ -> 8, 2 layers, ``ctx_len`` 6,
vocabulary 11; ``torch.jit.ScriptModule`` -> ``nn.Module`` (TorchScript is not the point here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, N_EMBD, N_LAYER, CTX_LEN, BATCH, STEPS, LR = 11, 8, 2, 6, 2, 4, 0.01


def wkv(torch_like: Any, time_decay: Any, time_first: Any, k: Any, v: Any) -> Any:
    """The WKV kernel's forward as a Python loop (numerically stable: a running maximum)."""
    torch = torch_like
    B, T, C = k.size()
    w = -torch.exp(time_decay)
    u = time_first
    p = torch.zeros(B, C, dtype=k.dtype)
    q = torch.zeros(B, C, dtype=k.dtype)
    o = torch.full((B, C), -1e38, dtype=k.dtype)
    ys = []
    for i in range(T):
        kk, vv = k[:, i], v[:, i]
        no = torch.maximum(o, u + kk)
        A = torch.exp(o - no)
        Bw = torch.exp(u + kk - no)
        ys.append((A * p + Bw * vv) / (A * q + Bw))
        no = torch.maximum(w + o, kk)
        A = torch.exp(w + o - no)
        Bw = torch.exp(kk - no)
        p = A * p + Bw * vv
        q = A * q + Bw
        o = no
    return torch.stack(ys, dim=1)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class L2Wrap(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, loss: Any, y: Any) -> Any:
            ctx.save_for_backward(y)
            return loss

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            y = ctx.saved_tensors[0]
            # to encourage the logits to be close to 0
            factor = 1e-4 / (y.shape[0] * y.shape[1])
            maxx, ids = torch.max(y, -1, keepdim=True)
            gy = torch.zeros_like(y)
            gy.scatter_(-1, ids, maxx * factor)
            return (grad_output, gy)

    class RWKV_TimeMix(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.layer_id = layer_id
            attn_sz = N_EMBD
            with torch.no_grad():  # fancy init
                ratio_0_to_1 = layer_id / (N_LAYER - 1)  # 0 to 1
                ratio_1_to_almost0 = 1.0 - (layer_id / N_LAYER)  # 1 to ~0
                decay_speed = torch.ones(attn_sz)
                for h in range(attn_sz):
                    decay_speed[h] = -5 + 8 * (h / (attn_sz - 1)) ** (0.7 + 1.3 * ratio_0_to_1)
                self.time_decay = nn.Parameter(decay_speed)
                zigzag = torch.tensor([(i + 1) % 3 - 1 for i in range(attn_sz)]) * 0.5
                self.time_first = nn.Parameter(torch.ones(attn_sz) * math.log(0.3) + zigzag)
                x = torch.ones(1, 1, N_EMBD)
                for i in range(N_EMBD):
                    x[0, 0, i] = i / N_EMBD
                self.time_mix_k = nn.Parameter(torch.pow(x, ratio_1_to_almost0))
                self.time_mix_v = nn.Parameter(
                    torch.pow(x, ratio_1_to_almost0) + 0.3 * ratio_0_to_1
                )
                self.time_mix_r = nn.Parameter(torch.pow(x, 0.5 * ratio_1_to_almost0))
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            self.key = nn.Linear(N_EMBD, attn_sz, bias=False)
            self.value = nn.Linear(N_EMBD, attn_sz, bias=False)
            self.receptance = nn.Linear(N_EMBD, attn_sz, bias=False)
            self.output = nn.Linear(attn_sz, N_EMBD, bias=False)
            self.key.scale_init = 0
            self.receptance.scale_init = 0
            self.output.scale_init = 0

        def jit_func(self, x: Any) -> tuple[Any, Any, Any]:
            xx = self.time_shift(x)
            xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
            xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
            xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
            k = self.key(xk)
            v = self.value(xv)
            r = self.receptance(xr)
            sr = torch.sigmoid(r)
            return sr, k, v

        def forward(self, x: Any) -> Any:
            sr, k, v = self.jit_func(x)
            rwkv = sr * wkv(torch_like, self.time_decay, self.time_first, k, v)
            return self.output(rwkv)

    class RWKV_ChannelMix(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.layer_id = layer_id
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            with torch.no_grad():  # fancy init of time_mix
                ratio_1_to_almost0 = 1.0 - (layer_id / N_LAYER)  # 1 to ~0
                x = torch.ones(1, 1, N_EMBD)
                for i in range(N_EMBD):
                    x[0, 0, i] = i / N_EMBD
                self.time_mix_k = nn.Parameter(torch.pow(x, ratio_1_to_almost0))
                self.time_mix_r = nn.Parameter(torch.pow(x, ratio_1_to_almost0))
            hidden_sz = 4 * N_EMBD
            self.key = nn.Linear(N_EMBD, hidden_sz, bias=False)
            self.receptance = nn.Linear(N_EMBD, N_EMBD, bias=False)
            self.value = nn.Linear(hidden_sz, N_EMBD, bias=False)
            self.value.scale_init = 0
            self.receptance.scale_init = 0

        def forward(self, x: Any) -> Any:
            xx = self.time_shift(x)
            xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
            xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
            k = self.key(xk)
            k = torch.square(torch.relu(k))
            kv = self.value(k)
            rkv = torch.sigmoid(self.receptance(xr)) * kv
            return rkv

    class Block(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.layer_id = layer_id
            self.ln1 = nn.LayerNorm(N_EMBD)
            self.ln2 = nn.LayerNorm(N_EMBD)
            if self.layer_id == 0:
                self.ln0 = nn.LayerNorm(N_EMBD)
            self.att = RWKV_TimeMix(layer_id)
            self.ffn = RWKV_ChannelMix(layer_id)

        def forward(self, x: Any) -> Any:
            if self.layer_id == 0:
                x = self.ln0(x)
            x = x + self.att(self.ln1(x))
            x = x + self.ffn(self.ln2(x))
            return x

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.step = 0
            self.emb = nn.Embedding(VOCAB, N_EMBD)
            self.blocks = nn.Sequential(*[Block(i) for i in range(N_LAYER)])
            self.ln_out = nn.LayerNorm(N_EMBD)
            self.head = nn.Linear(N_EMBD, VOCAB, bias=False)
            self.ctx_len = CTX_LEN

        def get_ctx_len(self) -> int:
            return self.ctx_len

        def configure_optimizers(self, lr: float) -> Any:
            lr_1x, lr_2x = set(), set()
            for n, _p in self.named_parameters():
                if "time_decay" in n:
                    lr_2x.add(n)
                else:
                    lr_1x.add(n)
            lr_1x = sorted(lr_1x)
            lr_2x = sorted(lr_2x)
            param_dict = {n: p for n, p in self.named_parameters()}
            optim_groups = [
                {"params": [param_dict[n] for n in lr_1x], "weight_decay": 0.0, "my_lr_scale": 1.0},
                {"params": [param_dict[n] for n in lr_2x], "weight_decay": 0.0, "my_lr_scale": 2.0},
            ]
            for group in optim_groups:
                group["lr"] = lr * group["my_lr_scale"]
            return torch.optim.Adam(optim_groups, lr=lr, betas=(0.9, 0.99), eps=1e-8)

        def forward(self, idx: Any, targets: Any = None) -> Any:
            self.step += 1
            B, T = idx.size()
            assert T <= self.ctx_len, "Cannot forward, because len(input) > model ctx_len."
            x = self.emb(idx)
            x = self.blocks(x)
            x = self.ln_out(x)
            x = self.head(x)
            if targets is None:
                return x
            loss = F.cross_entropy(x.view(-1, x.size(-1)), targets.view(-1))
            return L2Wrap.apply(loss, x)

    return GPT()


def rnn_last_logits(torch_like: Any, model: Any, tokens: list[int]) -> Any:
    """``model_run.py``'s RNN mode: one token at a time with per-layer state."""
    torch = torch_like
    F = torch_like.nn.functional
    state = {}
    for i in range(N_LAYER):
        state[f"ffn.xx.{i}"] = torch.zeros(N_EMBD)
        state[f"att.xx.{i}"] = torch.zeros(N_EMBD)
        state[f"att.aa.{i}"] = torch.zeros(N_EMBD)
        state[f"att.bb.{i}"] = torch.zeros(N_EMBD)
        state[f"att.pp.{i}"] = torch.zeros(N_EMBD) - 1e30
    with torch.no_grad():
        for ctx in tokens:
            x = model.emb.weight[ctx]
            for i, block in enumerate(model.blocks):
                if i == 0:
                    x = F.layer_norm(x, (N_EMBD,), block.ln0.weight, block.ln0.bias)
                att, ffn = block.att, block.ffn
                xa = F.layer_norm(x, (N_EMBD,), block.ln1.weight, block.ln1.bias)
                xx = state[f"att.xx.{i}"]
                xk = xa * att.time_mix_k.squeeze() + xx * (1 - att.time_mix_k.squeeze())
                xv = xa * att.time_mix_v.squeeze() + xx * (1 - att.time_mix_v.squeeze())
                xr = xa * att.time_mix_r.squeeze() + xx * (1 - att.time_mix_r.squeeze())
                state[f"att.xx.{i}"] = xa
                r = torch.sigmoid(att.receptance.weight @ xr)
                k = att.key.weight @ xk
                v = att.value.weight @ xv
                aa, bb, pp = state[f"att.aa.{i}"], state[f"att.bb.{i}"], state[f"att.pp.{i}"]
                ww = att.time_first + k
                p = torch.maximum(pp, ww)
                e1, e2 = torch.exp(pp - p), torch.exp(ww - p)
                a, b = e1 * aa + e2 * v, e1 * bb + e2
                ww = pp - torch.exp(att.time_decay)
                p = torch.maximum(ww, k)
                e1, e2 = torch.exp(ww - p), torch.exp(k - p)
                state[f"att.aa.{i}"] = e1 * aa + e2 * v
                state[f"att.bb.{i}"] = e1 * bb + e2
                state[f"att.pp.{i}"] = p
                x = x + att.output.weight @ (r * a / b)
                xf = F.layer_norm(x, (N_EMBD,), block.ln2.weight, block.ln2.bias)
                xx = state[f"ffn.xx.{i}"]
                xk = xf * ffn.time_mix_k.squeeze() + xx * (1 - ffn.time_mix_k.squeeze())
                xr = xf * ffn.time_mix_r.squeeze() + xx * (1 - ffn.time_mix_r.squeeze())
                state[f"ffn.xx.{i}"] = xf
                r = torch.sigmoid(ffn.receptance.weight @ xr)
                k = torch.square(torch.relu(ffn.key.weight @ xk))
                x = x + r * (ffn.value.weight @ k)
            x = F.layer_norm(x, (N_EMBD,), model.ln_out.weight, model.ln_out.bias)
            logits = model.head.weight @ x
    return logits


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(4)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = model.blocks[1].att.time_decay.tolist()
    values += (
        model.blocks[0].att.time_first.tolist() + model.blocks[1].att.time_mix_r.flatten().tolist()
    )
    shifted = model.blocks[0].att.time_shift(torch.arange(6.0).view(1, 3, 2))
    values += list(shifted.shape) + shifted.flatten().tolist()

    optimizer = model.configure_optimizers(LR)
    values += [g["lr"] for g in optimizer.param_groups]
    for _step in range(STEPS):
        data = rng.integers(0, VOCAB, (BATCH, CTX_LEN + 1))
        idx = as_tensor(torch, data[:, :-1])
        targets = as_tensor(torch, data[:, 1:])
        loss = model(idx, targets)
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), float(grad_norm)]
        values += [model.blocks[0].att.time_first.grad.abs().sum().item()]
    values += model.blocks[0].att.time_decay.detach().tolist()

    tokens = rng.integers(0, VOCAB, CTX_LEN).tolist()
    model.eval()
    with torch.no_grad():
        gpt = model(torch.tensor([tokens]))[0, -1]
    rnn = rnn_last_logits(torch_like, model, tokens)
    values += gpt.tolist() + [(gpt - rnn).abs().max().item() < 1e-9]
    values += [float(model.step)]
    return values
