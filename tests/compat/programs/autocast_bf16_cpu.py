"""Mixed-precision training on a CPU: ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the
forward pass, float32 master weights, ``loss.float()`` before the reduction, backward and the
optimizer step outside the autocast region.

The model is a tiny pre-norm transformer block over a sequence (``nn.Linear`` and
``F.scaled_dot_product_attention`` run in bfloat16 under autocast, ``nn.LayerNorm`` in float32)
with a ``Conv1d`` stem and a classification head. A region nested with ``enabled=False`` forces
float32, ``@torch.autocast(...)`` decorates the evaluation function, and the script logs
``torch.is_autocast_enabled``/``torch.get_autocast_dtype`` and the dtypes autocast produced.
bfloat16 keeps 8 bits of mantissa, so the two frameworks' losses agree only loosely (they round
the same products, but may accumulate them in different orders).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
RTOL, ATOL = 1e-2, 5e-3  # bfloat16 rounding: the two runs differ by ~3e-3 relative
SEQ, CHANNELS, DIM, HEADS, N_CLASSES, BATCH = 6, 3, 8, 2, 4, 5


def make_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    class TinyBlockClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv1d(CHANNELS, DIM, kernel_size=3, padding=1)
            self.norm1 = nn.LayerNorm(DIM)
            self.qkv = nn.Linear(DIM, 3 * DIM)
            self.proj = nn.Linear(DIM, DIM)
            self.norm2 = nn.LayerNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.GELU(), nn.Linear(2 * DIM, DIM))
            self.head = nn.Linear(DIM, N_CLASSES)

        def forward(self, x: Any) -> Any:
            h = self.stem(x).transpose(1, 2)  # (B, C, T) -> (B, T, D)
            q, k, v = self.qkv(self.norm1(h)).chunk(3, dim=-1)
            b, t, _ = q.shape
            q, k, v = (z.view(b, t, HEADS, DIM // HEADS).transpose(1, 2) for z in (q, k, v))
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + self.proj(att.transpose(1, 2).reshape(b, t, DIM))
            h = h + self.mlp(self.norm2(h))
            return self.head(h.mean(dim=1))

    return TinyBlockClassifier()


def run(torch_like: Any, init: dict | None) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(12)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    assert all(p.dtype == torch_like.float32 for p in model.parameters())
    optimizer = torch_like.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)

    out = []
    model.train()
    for _step in range(4):
        x = as_tensor(
            torch_like, rng.standard_normal((BATCH, CHANNELS, SEQ)), dtype=torch_like.float32
        )
        y = as_tensor(torch_like, rng.integers(0, N_CLASSES, BATCH))
        optimizer.zero_grad(set_to_none=True)
        with torch_like.autocast("cpu", dtype=torch_like.bfloat16):
            logits = model(x)
            assert torch_like.is_autocast_enabled("cpu")
            assert torch_like.get_autocast_dtype("cpu") == torch_like.bfloat16
            with torch_like.autocast("cpu", enabled=False):
                reference = model.head(x.mean(dim=2).new_ones(BATCH, DIM))
            loss = F.cross_entropy(logits.float(), y)
        loss.backward()
        grads_fp32 = all(p.grad.dtype == torch_like.float32 for p in model.parameters())
        torch_like.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        out += [
            loss.item(),
            float(logits.dtype == torch_like.bfloat16),
            float(reference.dtype == torch_like.float32),
            float(loss.dtype == torch_like.float32),
            float(grads_fp32),
        ]
    assert not torch_like.is_autocast_enabled("cpu")

    @torch_like.autocast("cpu", dtype=torch_like.bfloat16)
    @torch_like.no_grad()
    def evaluate(inputs: Any) -> Any:
        model.eval()
        return model(inputs)

    x = as_tensor(torch_like, rng.standard_normal((BATCH, CHANNELS, SEQ)), dtype=torch_like.float32)
    probs = evaluate(x).float().softmax(dim=-1)
    out += probs.flatten().tolist()
    out.append(float(all(p.dtype == torch_like.float32 for p in model.parameters())))
    return out
