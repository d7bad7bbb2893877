"""RWKV-6 ("Finch") and RWKV-7 ("Goose") time mixing as BlinkDL/RWKV-LM writes them
(``RWKV-v5/src/model.py``'s ``RWKV_Tmix_x060`` / ``RWKV_CMix_x060`` and ``RWKV-v7/train_temp/
src/model.py``'s ``RWKV_Tmix_x070`` / ``RWKV_CMix_x070``), with the CUDA kernels written out as
the naive per-step loops the repository checks them against, size-reduced.

RWKV-6 idioms: the init under ``torch.no_grad()`` (``ddd = torch.ones(1, 1, n_embd)`` filled
element by element, ``nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0))``, ``torch.zeros(5,
D_MIX_LORA, n_embd).uniform_(-0.01, 0.01)``, ``decay_speed[n] = -6 + 5 * (n / (dim_att - 1)) **
(0.7 + 1.3 * ratio_0_to_1)`` reshaped ``(1, 1, dim_att)``, ``time_faaaa`` from a zigzag);
``nn.ZeroPad2d((0, 0, 1, -1))`` token shift; the data-dependent lerp ``torch.tanh(xxx @
self.time_maa_w1).view(B * T, 5, -1).transpose(0, 1)``, ``torch.bmm(xxx, self.time_maa_w2).view(5,
B, T, -1)``, ``xxx.unbind(dim=0)``; the decay LoRA ``torch.tanh(xw @ self.time_decay_w1) @
self.time_decay_w2``; the WKV-6 recurrence with ``w = torch.exp(-torch.exp(w))``, ``kv = k @ v``
per head, ``r @ (u * kv + state)``; ``nn.GroupNorm(n_head, dim_att, eps=1e-5 *
head_size_divisor ** 2)`` on ``x.view(B * T, C)``; ``self.output(x * g)`` with ``g =
F.silu(self.gate(xg))``; ``RWKV_CMix_x060``'s ``torch.relu(k) ** 2``.

RWKV-7 idioms: ``w = -F.softplus(-(self.w0 + torch.tanh(xw @ self.w1) @ self.w2)) - 0.5``,
``a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)``, the value residual ``v = v + (v_first -
v) * torch.sigmoid(self.v0 + (xv @ self.v1) @ self.v2)`` (``v_first`` from layer 0),
``kk = F.normalize((k * self.k_k).view(B, T, H, -1), dim=-1, p=2.0).view(B, T, C)``, ``k = k * (1
+ (a - 1) * self.k_a)``; the generalized delta rule ``state = state * w.view(B, H, 1, N) + state @
ab + vk`` with ``ab = (-kk).view(B, H, N, 1) @ (kk * a).view(B, H, 1, N)`` and ``out = state @
r.view(B, H, N, 1)``; the bonus ``((r.view(B, T, H, -1) * k.view(B, T, H, -1) *
self.r_k).sum(dim=-1, keepdim=True) * v.view(B, T, H, -1)).view(B, T, C)``; ``nn.GroupNorm(H, C,
eps=64e-5)``; ``RWKV_CMix_x070``'s ``x + xx * self.x_k``. Adam with ``betas=(0.9, 0.99)``.

Changed: ``n_embd`` 768 -> 8, head size 4, the LoRA ranks 32/64 -> 2/3, 2 layers each, ``ctx_len``
5, vocabulary 11, 3 steps; the CUDA kernels -> their Python loops; no ``torch.jit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, C, HEAD, N_LAYER, T, BATCH, STEPS = 11, 8, 4, 2, 5, 2, 3
H = C // HEAD
D_MIX_LORA, D_DECAY_LORA, D_AAA_LORA, D_MV_LORA = 2, 3, 2, 2


def wkv6(torch_like: Any, r: Any, k: Any, v: Any, w: Any, u: Any) -> Any:
    torch = torch_like
    B, T_, _ = r.shape
    N = HEAD
    r, k, v = r.view(B, T_, H, N), k.view(B, T_, H, N), v.view(B, T_, H, N)
    w = torch.exp(-torch.exp(w)).view(B, T_, H, N)
    state = torch.zeros(B, H, N, N, dtype=r.dtype)
    out = []
    for t in range(T_):
        kv = k[:, t].view(B, H, N, 1) @ v[:, t].view(B, H, 1, N)
        out.append((r[:, t].view(B, H, 1, N) @ (u.view(1, H, N, 1) * kv + state)).view(B, C))
        state = w[:, t].view(B, H, N, 1) * state + kv
    return torch.stack(out, dim=1)


def wkv7(torch_like: Any, r: Any, w: Any, k: Any, v: Any, a: Any, b: Any) -> Any:
    torch = torch_like
    B, T_, _ = r.shape
    N = HEAD
    r, k, v, a, b = (z.view(B, T_, H, N) for z in (r, k, v, a, b))
    w = torch.exp(-torch.exp(w.view(B, T_, H, N)))
    state = torch.zeros(B, H, N, N, dtype=r.dtype)
    out = []
    for t in range(T_):
        vk = v[:, t].view(B, H, N, 1) @ k[:, t].view(B, H, 1, N)
        ab = a[:, t].view(B, H, N, 1) @ b[:, t].view(B, H, 1, N)
        state = state * w[:, t].view(B, H, 1, N) + state @ ab + vk
        out.append((state @ r[:, t].view(B, H, N, 1)).view(B, C))
    return torch.stack(out, dim=1)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class RWKV_Tmix_x060(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            with torch.no_grad():
                ratio_0_to_1 = layer_id / (N_LAYER - 1)
                ratio_1_to_almost0 = 1.0 - (layer_id / N_LAYER)
                ddd = torch.ones(1, 1, C)
                for i in range(C):
                    ddd[0, 0, i] = i / C
                self.time_maa_x = nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0))
                self.time_maa_w = nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0))
                self.time_maa_k = nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0))
                self.time_maa_v = nn.Parameter(
                    1.0 - (torch.pow(ddd, ratio_1_to_almost0) + 0.3 * ratio_0_to_1)
                )
                self.time_maa_r = nn.Parameter(1.0 - torch.pow(ddd, 0.5 * ratio_1_to_almost0))
                self.time_maa_g = nn.Parameter(1.0 - torch.pow(ddd, 0.5 * ratio_1_to_almost0))
                self.time_maa_w1 = nn.Parameter(torch.zeros(C, D_MIX_LORA * 5).uniform_(-0.1, 0.1))
                self.time_maa_w2 = nn.Parameter(torch.zeros(5, D_MIX_LORA, C).uniform_(-0.01, 0.01))
                decay_speed = torch.ones(C)
                for n in range(C):
                    decay_speed[n] = -6 + 5 * (n / (C - 1)) ** (0.7 + 1.3 * ratio_0_to_1)
                self.time_decay = nn.Parameter(decay_speed.reshape(1, 1, C))
                self.time_decay_w1 = nn.Parameter(torch.zeros(C, D_DECAY_LORA).uniform_(-0.1, 0.1))
                self.time_decay_w2 = nn.Parameter(
                    torch.zeros(D_DECAY_LORA, C).uniform_(-0.01, 0.01)
                )
                tmp = torch.zeros(C)
                for n in range(C):
                    zigzag = ((n + 1) % 3 - 1) * 0.1
                    tmp[n] = ratio_0_to_1 * (1 - (n / (C - 1))) + zigzag
                self.time_faaaa = nn.Parameter(tmp.reshape(H, HEAD))
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            self.receptance = nn.Linear(C, C, bias=False)
            self.key = nn.Linear(C, C, bias=False)
            self.value = nn.Linear(C, C, bias=False)
            self.output = nn.Linear(C, C, bias=False)
            self.gate = nn.Linear(C, C, bias=False)
            self.ln_x = nn.GroupNorm(H, C, eps=(1e-5) * (8**2))

        def forward(self, x: Any) -> Any:
            B, T_, C_ = x.size()
            xx = self.time_shift(x) - x
            xxx = x + xx * self.time_maa_x
            xxx = torch.tanh(xxx @ self.time_maa_w1).view(B * T_, 5, -1).transpose(0, 1)
            xxx = torch.bmm(xxx, self.time_maa_w2).view(5, B, T_, -1)
            mw, mk, mv, mr, mg = xxx.unbind(dim=0)
            xw = x + xx * (self.time_maa_w + mw)
            xk = x + xx * (self.time_maa_k + mk)
            xv = x + xx * (self.time_maa_v + mv)
            xr = x + xx * (self.time_maa_r + mr)
            xg = x + xx * (self.time_maa_g + mg)
            r = self.receptance(xr)
            k = self.key(xk)
            v = self.value(xv)
            g = F.silu(self.gate(xg))
            ww = torch.tanh(xw @ self.time_decay_w1) @ self.time_decay_w2
            w = self.time_decay + ww
            x = wkv6(torch, r, k, v, w, u=self.time_faaaa)
            x = x.view(B * T_, C_)
            x = self.ln_x(x).view(B, T_, C_)
            return self.output(x * g)

    class RWKV_CMix_x060(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            with torch.no_grad():
                ratio_1_to_almost0 = 1.0 - (layer_id / N_LAYER)
                ddd = torch.ones(1, 1, C)
                for i in range(C):
                    ddd[0, 0, i] = i / C
                self.time_maa_k = nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0))
                self.time_maa_r = nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0))
            self.key = nn.Linear(C, 2 * C, bias=False)
            self.receptance = nn.Linear(C, C, bias=False)
            self.value = nn.Linear(2 * C, C, bias=False)

        def forward(self, x: Any) -> Any:
            xx = self.time_shift(x) - x
            xk = x + xx * self.time_maa_k
            xr = x + xx * self.time_maa_r
            k = self.key(xk)
            k = torch.relu(k) ** 2
            kv = self.value(k)
            return torch.sigmoid(self.receptance(xr)) * kv

    class RWKV_Tmix_x070(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.layer_id = layer_id
            with torch.no_grad():
                ratio_0_to_1 = layer_id / (N_LAYER - 1)
                ratio_1_to_almost0 = 1.0 - (layer_id / N_LAYER)
                ddd = torch.ones(1, 1, C)
                for i in range(C):
                    ddd[0, 0, i] = i / C
                self.x_r = nn.Parameter(1.0 - torch.pow(ddd, 0.2 * ratio_1_to_almost0))
                self.x_w = nn.Parameter(1.0 - torch.pow(ddd, 0.9 * ratio_1_to_almost0))
                self.x_k = nn.Parameter(1.0 - torch.pow(ddd, 0.7 * ratio_1_to_almost0))
                self.x_v = nn.Parameter(1.0 - torch.pow(ddd, 0.7 * ratio_1_to_almost0))
                self.x_a = nn.Parameter(1.0 - torch.pow(ddd, 0.9 * ratio_1_to_almost0))
                self.x_g = nn.Parameter(1.0 - torch.pow(ddd, 0.2 * ratio_1_to_almost0))
                decay_speed = torch.ones(C)
                for n in range(C):
                    decay_speed[n] = -7 + 5 * (n / (C - 1)) ** (0.85 + 1.0 * ratio_0_to_1**0.5)
                self.w0 = nn.Parameter(decay_speed.reshape(1, 1, C) + 0.5)
                self.w1 = nn.Parameter(torch.zeros(C, D_DECAY_LORA).uniform_(-0.1, 0.1))
                self.w2 = nn.Parameter(torch.zeros(D_DECAY_LORA, C).uniform_(-0.1, 0.1))
                self.a0 = nn.Parameter(torch.zeros(1, 1, C))
                self.a1 = nn.Parameter(torch.zeros(C, D_AAA_LORA).uniform_(-0.1, 0.1))
                self.a2 = nn.Parameter(torch.zeros(D_AAA_LORA, C).uniform_(-0.1, 0.1))
                self.v0 = nn.Parameter(torch.zeros(1, 1, C) + 1.0)
                self.v1 = nn.Parameter(torch.zeros(C, D_MV_LORA).uniform_(-0.1, 0.1))
                self.v2 = nn.Parameter(torch.zeros(D_MV_LORA, C).uniform_(-0.1, 0.1))
                self.g1 = nn.Parameter(torch.zeros(C, D_MV_LORA).uniform_(-0.1, 0.1))
                self.g2 = nn.Parameter(torch.zeros(D_MV_LORA, C).uniform_(-0.1, 0.1))
                self.k_k = nn.Parameter(torch.ones(1, 1, C) * 0.85)
                self.k_a = nn.Parameter(torch.ones(1, 1, C))
                self.r_k = nn.Parameter(torch.zeros(H, HEAD).uniform_(-0.1, 0.1))
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            self.receptance = nn.Linear(C, C, bias=False)
            self.key = nn.Linear(C, C, bias=False)
            self.value = nn.Linear(C, C, bias=False)
            self.output = nn.Linear(C, C, bias=False)
            self.ln_x = nn.GroupNorm(H, C, eps=64e-5)

        def forward(self, x: Any, v_first: Any) -> Any:
            B, T_, C_ = x.size()
            xx = self.time_shift(x) - x
            xr = x + xx * self.x_r
            xw = x + xx * self.x_w
            xk = x + xx * self.x_k
            xv = x + xx * self.x_v
            xa = x + xx * self.x_a
            xg = x + xx * self.x_g
            r = self.receptance(xr)
            w = -F.softplus(-(self.w0 + torch.tanh(xw @ self.w1) @ self.w2)) - 0.5
            k = self.key(xk)
            v = self.value(xv)
            if self.layer_id == 0:
                v_first = v
            else:
                v = v + (v_first - v) * torch.sigmoid(self.v0 + (xv @ self.v1) @ self.v2)
            a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)
            g = torch.sigmoid(xg @ self.g1) @ self.g2
            kk = k * self.k_k
            kk = F.normalize(kk.view(B, T_, H, -1), dim=-1, p=2.0).view(B, T_, C_)
            k = k * (1 + (a - 1) * self.k_a)
            x = wkv7(torch, r, w, k, v, -kk, kk * a)
            x = self.ln_x(x.view(B * T_, C_)).view(B, T_, C_)
            x = x + (
                (r.view(B, T_, H, -1) * k.view(B, T_, H, -1) * self.r_k).sum(dim=-1, keepdim=True)
                * v.view(B, T_, H, -1)
            ).view(B, T_, C_)
            x = self.output(x * g)
            return x, v_first

    class RWKV_CMix_x070(nn.Module):
        def __init__(self, layer_id: int) -> None:
            super().__init__()
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            with torch.no_grad():
                ratio_1_to_almost0 = 1.0 - (layer_id / N_LAYER)
                ddd = torch.ones(1, 1, C)
                for i in range(C):
                    ddd[0, 0, i] = i / C
                self.x_k = nn.Parameter(1.0 - torch.pow(ddd, ratio_1_to_almost0**4))
            self.key = nn.Linear(C, C * 4, bias=False)
            self.value = nn.Linear(C * 4, C, bias=False)

        def forward(self, x: Any) -> Any:
            xx = self.time_shift(x) - x
            k = x + xx * self.x_k
            k = torch.relu(self.key(k)) ** 2
            return self.value(k)

    class Block(nn.Module):
        def __init__(self, layer_id: int, version: int) -> None:
            super().__init__()
            self.version = version
            self.ln1 = nn.LayerNorm(C)
            self.ln2 = nn.LayerNorm(C)
            if layer_id == 0:
                self.ln0 = nn.LayerNorm(C)
            if version == 6:
                self.att = RWKV_Tmix_x060(layer_id)
                self.ffn = RWKV_CMix_x060(layer_id)
            else:
                self.att = RWKV_Tmix_x070(layer_id)
                self.ffn = RWKV_CMix_x070(layer_id)

        def forward(self, x: Any, v_first: Any = None) -> Any:
            if hasattr(self, "ln0"):
                x = self.ln0(x)
            if self.version == 6:
                x = x + self.att(self.ln1(x))
            else:
                x_attn, v_first = self.att(self.ln1(x), v_first)
                x = x + x_attn
            x = x + self.ffn(self.ln2(x))
            return x, v_first

    class RWKV(nn.Module):
        def __init__(self, version: int) -> None:
            super().__init__()
            self.emb = nn.Embedding(VOCAB, C)
            self.blocks = nn.ModuleList([Block(i, version) for i in range(N_LAYER)])
            self.ln_out = nn.LayerNorm(C)
            self.head = nn.Linear(C, VOCAB, bias=False)

        def forward(self, idx: Any) -> Any:
            x = self.emb(idx)
            v_first = torch.empty_like(x)
            for block in self.blocks:
                x, v_first = block(x, v_first)
            return self.head(self.ln_out(x))

    return nn.ModuleDict({"v6": RWKV(6), "v7": RWKV(7)})


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    optimizer = torch.optim.Adam(models.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-18)
    rng = np.random.default_rng(6)
    values: list[float] = []
    for _ in range(STEPS):
        tokens = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, T + 1)))
        idx, targets = tokens[:, :-1], tokens[:, 1:]
        loss = 0.0
        for name in ("v6", "v7"):
            logits = models[name](idx)
            part = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
            values.append(part.item())
            loss = loss + part
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return values
