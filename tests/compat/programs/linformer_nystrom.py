"""Linformer and Nyströmformer attention (``lucidrains/linformer`` and
``lucidrains/nystrom-attention``, the einops rearranges written out with ``reshape``, as the
paper's own ``mlpen/Nystromformer`` code does), size-reduced, in a tiny sequence classifier
trained two steps.

The idioms: Linformer's learned sequence projections (``nn.Parameter(init_(torch.zeros(seq_len,
k)))`` with ``tensor.uniform_(-std, std)``, ``std = 1 / math.sqrt(dim)``, replaced here by
NumPy's draws), ``torch.einsum('bnd,nk->bkd', keys, proj_k)`` (sliced ``t[:kv_len]`` for a
shorter input), ``t.reshape(b, k, -1, d_h).transpose(1, 2).expand(-1, h, -1, -1)`` for the
shared key/value head, ``torch.einsum('bhnd,bhkd->bhnk', queries, keys) * (d_h ** -0.5)`` and
``torch.einsum('bhnk,bhkd->bhnd', attn, values)``; Nyströmformer's front padding to a multiple of
the landmark count (``F.pad(x, (0, 0, padding, 0), value=0)``, ``F.pad(mask, (padding, 0),
value=False)``), ``self.to_qkv(x).chunk(3, dim=-1)``, the mask applied as ``t * mask[...,
None]``, landmarks as segment means (``q.reshape(b, h, m, l, d).sum(dim=-2)`` divided by
``mask_landmarks_sum[..., None] + eps``, checked against ``.mean(dim=-2)`` without a mask),
``masked_fill(~mask, -torch.finfo(dtype).max)`` on the three similarity kernels, the iterative
Moore-Penrose pseudo-inverse (``torch.abs(x)``, ``torch.max(col) * torch.max(row)``,
``torch.eye(x.shape[-1])``, ``z = 0.25 * z @ (13 * I - (xz @ (15 * I - (xz @ (7 * I -
xz)))))``) checked by Penrose's ``A Z A = A`` and against ``torch.linalg.pinv``, ``(attn1 @
attn2_inv) @ (attn3 @ v)``, the
depthwise ``nn.Conv2d(heads, heads, (kernel_size, 1), padding=(kernel_size // 2, 0),
groups=heads, bias=False)`` residual on the values and ``out[:, -n:]``; a masked mean pool,
``nn.CrossEntropyLoss`` and Adam.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

VOCAB, DIM, HEADS, SEQ, K_PROJ, LANDMARKS, CONV_K, CLASSES, BATCH = 16, 8, 2, 10, 4, 4, 3, 3, 3
PINV_ITERS, STEPS = 6, 2
DIM_HEAD = DIM // HEADS


def moore_penrose_iter_pinv(torch_like: Any, x: Any, iters: int = PINV_ITERS) -> Any:
    torch = torch_like
    abs_x = torch.abs(x)
    col = abs_x.sum(dim=-1)
    row = abs_x.sum(dim=-2)
    z = x.transpose(-1, -2) / (torch.max(col) * torch.max(row))
    eye = torch.eye(x.shape[-1], device=x.device, dtype=x.dtype)
    eye = eye.unsqueeze(0)
    for _ in range(iters):
        xz = x @ z
        z = 0.25 * z @ (13 * eye - (xz @ (15 * eye - (xz @ (7 * eye - xz)))))
    return z


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional

    class LinformerSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seq_len, self.k, self.heads = SEQ, K_PROJ, HEADS
            self.to_q = nn.Linear(DIM, DIM_HEAD * HEADS, bias=False)
            self.to_k = nn.Linear(DIM, DIM_HEAD, bias=False)  # one_kv_head
            self.to_v = nn.Linear(DIM, DIM_HEAD, bias=False)
            self.proj_k = nn.Parameter(torch.zeros(SEQ, K_PROJ))
            self.proj_v = nn.Parameter(torch.zeros(SEQ, K_PROJ))
            std = 1 / math.sqrt(K_PROJ)
            self.proj_k.data.uniform_(-std, std)
            self.proj_v.data.uniform_(-std, std)
            self.to_out = nn.Linear(DIM_HEAD * HEADS, DIM)

        def forward(self, x: Any) -> Any:
            b, n, d = x.shape
            d_h, h, k = DIM_HEAD, self.heads, self.k
            queries = self.to_q(x)
            keys, values = self.to_k(x), self.to_v(x)
            kv_projs = (self.proj_k[:n], self.proj_v[:n])
            keys, values = (
                torch.einsum("bnd,nk->bkd", t, proj) for t, proj in zip((keys, values), kv_projs)
            )
            queries = queries.reshape(b, n, h, -1).transpose(1, 2)
            keys, values = (
                t.reshape(b, k, -1, d_h).transpose(1, 2).expand(-1, h, -1, -1)
                for t in (keys, values)
            )
            dots = torch.einsum("bhnd,bhkd->bhnk", queries, keys) * (d_h**-0.5)
            attn = dots.softmax(dim=-1)
            out = torch.einsum("bhnk,bhkd->bhnd", attn, values)
            out = out.transpose(1, 2).reshape(b, n, -1)
            return self.to_out(out)

    class NystromAttention(nn.Module):
        def __init__(self, eps: float = 1e-8) -> None:
            super().__init__()
            self.eps, self.heads, self.num_landmarks = eps, HEADS, LANDMARKS
            self.scale = DIM_HEAD**-0.5
            self.to_qkv = nn.Linear(DIM, DIM_HEAD * HEADS * 3, bias=False)
            self.to_out = nn.Linear(DIM_HEAD * HEADS, DIM)
            self.res_conv = nn.Conv2d(
                HEADS, HEADS, (CONV_K, 1), padding=(CONV_K // 2, 0), groups=HEADS, bias=False
            )

        def forward(self, x: Any, mask: Any) -> tuple[Any, Any, Any]:
            b, n, _ = x.shape
            h, m = self.heads, self.num_landmarks
            remainder = n % m
            if remainder > 0:
                padding = m - remainder
                x = F.pad(x, (0, 0, padding, 0), value=0)
                mask = F.pad(mask, (padding, 0), value=False)
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = (t.reshape(b, -1, h, DIM_HEAD).transpose(1, 2) for t in (q, k, v))
            mask = mask[:, None, :]
            q, k, v = (t * mask[..., None] for t in (q, k, v))
            q = q * self.scale
            n_padded = q.shape[-2]
            seg = math.ceil(n / m)
            q_landmarks = q.reshape(b, h, m, seg, DIM_HEAD).sum(dim=-2)
            k_landmarks = k.reshape(b, h, m, seg, DIM_HEAD).sum(dim=-2)
            mask_landmarks_sum = mask.reshape(b, 1, m, seg).sum(dim=-1)
            divisor = mask_landmarks_sum[..., None] + self.eps
            mask_landmarks = mask_landmarks_sum > 0
            q_landmarks /= divisor
            k_landmarks /= divisor
            plain_mean = k.reshape(b, h, m, seg, DIM_HEAD).mean(dim=-2)
            full = mask_landmarks_sum == seg
            mean_gap = ((k_landmarks - plain_mean) * full[..., None]).abs().max()

            sim1 = torch.einsum("...id,...jd->...ij", q, k_landmarks)
            sim2 = torch.einsum("...id,...jd->...ij", q_landmarks, k_landmarks)
            sim3 = torch.einsum("...id,...jd->...ij", q_landmarks, k)
            mask_value = -torch.finfo(q.dtype).max
            sim1 = sim1.masked_fill(~(mask[..., None] * mask_landmarks[..., None, :]), mask_value)
            sim2 = sim2.masked_fill(
                ~(mask_landmarks[..., None] * mask_landmarks[..., None, :]), mask_value
            )
            sim3 = sim3.masked_fill(~(mask_landmarks[..., None] * mask[..., None, :]), mask_value)
            attn1, attn2, attn3 = (t.softmax(dim=-1) for t in (sim1, sim2, sim3))
            attn2_inv = moore_penrose_iter_pinv(torch, attn2)
            penrose = (attn2 @ attn2_inv @ attn2 - attn2).abs().max()  # Penrose's A Z A = A
            out = (attn1 @ attn2_inv) @ (attn3 @ v)
            out = out + self.res_conv(v)
            out = out.transpose(1, 2).reshape(b, n_padded, -1)
            out = self.to_out(out)
            return out[:, -n:], mean_gap, penrose

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM, padding_idx=0)
            self.pos = nn.Parameter(torch.randn(1, SEQ, DIM) * 0.1)
            self.norm1 = nn.LayerNorm(DIM)
            self.linformer = LinformerSelfAttention()
            self.norm2 = nn.LayerNorm(DIM)
            self.nystrom = NystromAttention()
            self.head = nn.Linear(DIM, CLASSES)

        def forward(self, tokens: Any) -> tuple[Any, Any, Any]:
            mask = tokens != 0
            x = self.embed(tokens) + self.pos[:, : tokens.shape[1]]
            x = x + self.linformer(self.norm1(x))
            attn, mean_gap, penrose = self.nystrom(self.norm2(x), mask)
            x = x + attn
            pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
            return self.head(pooled), mean_gap, penrose

    return Classifier()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    lengths = [SEQ, SEQ - 3, SEQ - 5]
    rows = [rng.integers(1, VOCAB, n).tolist() + [0] * (SEQ - n) for n in lengths]
    tokens = as_tensor(torch, np.array(rows))
    labels = as_tensor(torch, rng.integers(0, CLASSES, BATCH))
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    values: list[float] = []
    for _step in range(STEPS):
        optimizer.zero_grad()
        logits, mean_gap, penrose = model(tokens)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        grad_norms = [
            model.linformer.proj_k.grad.norm(),
            model.nystrom.res_conv.weight.grad.norm(),
            model.nystrom.to_qkv.weight.grad.norm(),
        ]
        values += [loss.item(), mean_gap.item(), penrose.item()]
        values += [g.item() for g in grad_norms]
    with torch.no_grad():
        short, _, _ = model(tokens[:, : SEQ - 2])  # the Linformer projections sliced to n
        values += short.flatten().tolist()
        # the iteration against the SVD pseudo-inverse on well-conditioned attention matrices
        a = torch.softmax(as_tensor(torch, rng.standard_normal((2, LANDMARKS, LANDMARKS))) * 4, -1)
        iterated = moore_penrose_iter_pinv(torch, a, iters=20)
        values.append((iterated - torch.linalg.pinv(a)).abs().max().item())
    return values


def check(values: list[float]) -> None:
    for step in range(STEPS):
        _loss, mean_gap, penrose = values[6 * step : 6 * step + 3]
        assert mean_gap < 1e-7  # sums over full segments / (count + eps) = the plain mean
        assert penrose < 0.1  # six iterations approximate the pseudo-inverse
    assert values[-1] < 1e-8  # on a well-conditioned matrix it converges to linalg.pinv
