"""Stanford CS336 (Spring 2025) assignment 1, "basics": the Transformer LM students write from
scratch (``cs336_basics/model.py``, ``nn_utils.py``, ``optimizer.py``, ``data.py``,
``serialization.py`` and the training script), size-reduced.

The idioms: hand-written ``Linear`` (``nn.Parameter(torch.empty(out_features, in_features,
device=device, dtype=dtype))`` initialised by ``nn.init.trunc_normal_(self.weight, std=std,
a=-3 * std, b=3 * std)`` with ``std = (2 / (in_features + out_features)) ** 0.5``, forward
``x @ self.weight.T``), ``Embedding`` (``trunc_normal_(std=1, a=-3, b=3)``, forward
``self.weight[token_ids]``), ``RMSNorm`` (upcast ``x.to(torch.float32)``, ``torch.rsqrt(
x.pow(2).mean(-1, keepdim=True) + self.eps)``, cast back to ``in_dtype``), ``SwiGLU``
(``self.w2(silu(self.w1(x)) * self.w3(x))`` with ``silu = x * torch.sigmoid(x)``),
``RotaryPositionalEmbedding`` (``theta ** (torch.arange(0, d_k, 2).float() / d_k)``,
``torch.outer`` of positions and inverse frequencies, non-persistent ``cos``/``sin``
buffers indexed by ``token_positions``, the even/odd halves ``x[..., 0::2]`` / ``x[..., 1::2]``
re-interleaved by ``torch.stack((...), dim=-1).flatten(-2)``), ``softmax`` with max
subtraction (``x.amax(dim=dim, keepdim=True)``), ``scaled_dot_product_attention`` with
``masked_fill(~mask, float("-inf"))`` on a ``torch.tril(torch.ones(T, T, dtype=torch.bool))``
causal mask, multi-head attention via ``view(...).transpose(1, 2)``, pre-norm blocks in an
``nn.ModuleList``, ``cross_entropy`` written with the max subtracted and ``torch.logsumexp``
minus ``logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)``, ``AdamW`` as a
``torch.optim.Optimizer`` subclass (``defaults = {...}``, ``super().__init__(params,
defaults)``, ``self.state[p]``, ``group["lr"]``, ``p.grad.data``, ``state["m"].mul_(beta1)
.add_(grad, alpha=1 - beta1)``, ``addcmul_``, ``p.data.addcdiv_(m, denom, value=-alpha_t)``,
decoupled weight decay ``p.data.add_(p.data, alpha=-lr * weight_decay)``), the handout's SGD
with ``state.get("t", 0)``, ``gradient_clipping`` summing ``g.pow(2).sum()`` over
``p.grad`` and scaling in place by ``max_l2_norm / (total_norm + 1e-6)``, the cosine schedule
with linear warm-up (``get_lr_cosine_schedule``), ``get_batch`` over a ``np.memmap`` token file
(``np.random.randint`` starts, ``torch.from_numpy(x).long()``) and checkpointing
(``torch.save({"model": ..., "optimizer": optimizer.state_dict(), "iteration": it}, out)`` /
``torch.load``) resumed into fresh model and optimizer; then greedy decoding with temperature
softmax.

Changed: d_model 512 -> 16, 4 layers -> 2, vocab 10,000 -> 23, context 256 -> 8, the
TinyStories token file is a NumPy-made ``uint16`` memmap in a temporary directory.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
RTOL = 2e-5
ATOL = 2e-6

VOCAB, CONTEXT, D_MODEL, N_LAYERS, N_HEADS, D_FF, THETA = 23, 8, 16, 2, 2, 32, 10000.0


def _modules(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    class Linear(nn.Module):
        def __init__(self, in_features: int, out_features: int, device=None, dtype=None):
            super().__init__()
            self.weight = nn.Parameter(
                torch.empty(out_features, in_features, device=device, dtype=dtype)
            )
            std = (2 / (in_features + out_features)) ** 0.5
            nn.init.trunc_normal_(self.weight, std=std, a=-3 * std, b=3 * std)

        def forward(self, x: Any) -> Any:
            return x @ self.weight.T

    class Embedding(nn.Module):
        def __init__(self, num_embeddings: int, embedding_dim: int, device=None, dtype=None):
            super().__init__()
            self.weight = nn.Parameter(
                torch.empty(num_embeddings, embedding_dim, device=device, dtype=dtype)
            )
            nn.init.trunc_normal_(self.weight, std=1.0, a=-3.0, b=3.0)

        def forward(self, token_ids: Any) -> Any:
            return self.weight[token_ids]

    class RMSNorm(nn.Module):
        def __init__(self, d_model: int, eps: float = 1e-5, device=None, dtype=None):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d_model, device=device, dtype=dtype))

        def forward(self, x: Any) -> Any:
            in_dtype = x.dtype
            x = x.to(torch.float32)
            rms = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
            result = x * rms * self.weight
            return result.to(in_dtype)

    def silu(x: Any) -> Any:
        return x * torch.sigmoid(x)

    class SwiGLU(nn.Module):
        def __init__(self, d_model: int, d_ff: int, device=None, dtype=None):
            super().__init__()
            self.w1 = Linear(d_model, d_ff, device=device, dtype=dtype)
            self.w2 = Linear(d_ff, d_model, device=device, dtype=dtype)
            self.w3 = Linear(d_model, d_ff, device=device, dtype=dtype)

        def forward(self, x: Any) -> Any:
            return self.w2(silu(self.w1(x)) * self.w3(x))

    class RotaryPositionalEmbedding(nn.Module):
        def __init__(self, theta: float, d_k: int, max_seq_len: int, device=None):
            super().__init__()
            inv_freq = 1.0 / (theta ** (torch.arange(0, d_k, 2, device=device).float() / d_k))
            positions = torch.arange(max_seq_len, device=device).float()
            freqs = torch.outer(positions, inv_freq)
            self.register_buffer("cos", freqs.cos(), persistent=False)
            self.register_buffer("sin", freqs.sin(), persistent=False)

        def forward(self, x: Any, token_positions: Any) -> Any:
            cos = self.cos[token_positions]
            sin = self.sin[token_positions]
            x1 = x[..., 0::2]
            x2 = x[..., 1::2]
            rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
            return rotated.flatten(-2)

    def softmax(x: Any, dim: int) -> Any:
        x_max = x.amax(dim=dim, keepdim=True)
        exp = torch.exp(x - x_max)
        return exp / exp.sum(dim=dim, keepdim=True)

    def scaled_dot_product_attention(Q: Any, K: Any, V: Any, mask: Any = None) -> Any:
        d_k = Q.shape[-1]
        scores = Q @ K.transpose(-2, -1) / math.sqrt(d_k)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return softmax(scores, dim=-1) @ V

    class MultiHeadSelfAttention(nn.Module):
        def __init__(self, d_model: int, num_heads: int, max_seq_len: int, theta: float):
            super().__init__()
            self.num_heads = num_heads
            self.d_k = d_model // num_heads
            self.q_proj = Linear(d_model, d_model)
            self.k_proj = Linear(d_model, d_model)
            self.v_proj = Linear(d_model, d_model)
            self.output_proj = Linear(d_model, d_model)
            self.rope = RotaryPositionalEmbedding(theta, self.d_k, max_seq_len)

        def forward(self, x: Any, token_positions: Any = None) -> Any:
            batch, seq_len, _ = x.shape
            q = self.q_proj(x).view(batch, seq_len, self.num_heads, self.d_k).transpose(1, 2)
            k = self.k_proj(x).view(batch, seq_len, self.num_heads, self.d_k).transpose(1, 2)
            v = self.v_proj(x).view(batch, seq_len, self.num_heads, self.d_k).transpose(1, 2)
            if token_positions is None:
                token_positions = torch.arange(seq_len, device=x.device)
            q = self.rope(q, token_positions)
            k = self.rope(k, token_positions)
            mask = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool, device=x.device))
            out = scaled_dot_product_attention(q, k, v, mask)
            out = out.transpose(1, 2).contiguous().view(batch, seq_len, -1)
            return self.output_proj(out)

    class TransformerBlock(nn.Module):
        def __init__(self, d_model, num_heads, d_ff, max_seq_len, theta):
            super().__init__()
            self.ln1 = RMSNorm(d_model)
            self.attn = MultiHeadSelfAttention(d_model, num_heads, max_seq_len, theta)
            self.ln2 = RMSNorm(d_model)
            self.ffn = SwiGLU(d_model, d_ff)

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            x = x + self.ffn(self.ln2(x))
            return x

    class TransformerLM(nn.Module):
        def __init__(self, vocab_size, context_length, d_model, num_layers, num_heads, d_ff, theta):
            super().__init__()
            self.context_length = context_length
            self.token_embeddings = Embedding(vocab_size, d_model)
            self.layers = nn.ModuleList(
                [
                    TransformerBlock(d_model, num_heads, d_ff, context_length, theta)
                    for _ in range(num_layers)
                ]
            )
            self.ln_final = RMSNorm(d_model)
            self.lm_head = Linear(d_model, vocab_size)

        def forward(self, in_indices: Any) -> Any:
            x = self.token_embeddings(in_indices)
            for layer in self.layers:
                x = layer(x)
            return self.lm_head(self.ln_final(x))

    return {"TransformerLM": TransformerLM, "softmax": softmax, "Linear": Linear}


def make_model(torch_like: Any) -> Any:
    return _modules(torch_like)["TransformerLM"](
        VOCAB, CONTEXT, D_MODEL, N_LAYERS, N_HEADS, D_FF, THETA
    )


def _optim(torch_like: Any) -> dict[str, Any]:
    torch = torch_like

    class SGD(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3):
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")
            defaults = {"lr": lr}
            super().__init__(params, defaults)

        def step(self, closure=None):
            loss = None if closure is None else closure()
            for group in self.param_groups:
                lr = group["lr"]  # Get the learning rate.
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]  # Get state associated with p.
                    t = state.get("t", 0)  # Get iteration number from the state, or initial value.
                    grad = p.grad.data  # Get the gradient of loss with respect to p.
                    p.data -= lr / math.sqrt(t + 1) * grad  # Update weight tensor in-place.
                    state["t"] = t + 1  # Increment iteration number.
            return loss

    class AdamW(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")
            defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                lr = group["lr"]
                beta1, beta2 = group["betas"]
                eps, weight_decay = group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    if len(state) == 0:
                        state["t"] = 0
                        state["m"] = torch.zeros_like(p.data)
                        state["v"] = torch.zeros_like(p.data)
                    state["t"] += 1
                    t = state["t"]
                    m, v = state["m"], state["v"]
                    m.mul_(beta1).add_(grad, alpha=1 - beta1)
                    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    alpha_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
                    denom = v.sqrt().add_(eps)
                    p.data.addcdiv_(m, denom, value=-alpha_t)
                    p.data.add_(p.data, alpha=-lr * weight_decay)
            return loss

    return {"SGD": SGD, "AdamW": AdamW}


def get_lr_cosine_schedule(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_iters):
    if it < warmup_iters:
        return it / warmup_iters * max_learning_rate
    if it <= cosine_iters:
        progress = (it - warmup_iters) / (cosine_iters - warmup_iters)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return min_learning_rate + cosine * (max_learning_rate - min_learning_rate)
    return min_learning_rate


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    mods, opts = _modules(torch_like), _optim(torch_like)
    device = "cpu"
    values: list[float] = []

    def cross_entropy(logits: Any, targets: Any) -> Any:
        logits = logits - logits.max(dim=-1, keepdim=True).values
        log_sum_exp = torch.logsumexp(logits, dim=-1)
        target_logits = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return (log_sum_exp - target_logits).mean()

    def gradient_clipping(parameters, max_l2_norm: float) -> None:
        eps = 1e-6
        grads = [p.grad for p in parameters if p.grad is not None]
        total_norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        if total_norm > max_l2_norm:
            clip_coef = max_l2_norm / (total_norm + eps)
            for g in grads:
                g.mul_(clip_coef)

    def get_batch(dataset, batch_size: int, context_length: int, device: str):
        starts = np.random.randint(0, len(dataset) - context_length, size=batch_size)
        x = np.stack([dataset[i : i + context_length] for i in starts])
        y = np.stack([dataset[i + 1 : i + 1 + context_length] for i in starts])
        return torch.from_numpy(x.astype(np.int64)).long().to(device), torch.from_numpy(
            y.astype(np.int64)
        ).long().to(device)

    def save_checkpoint(model, optimizer, iteration, out):
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "iteration": iteration,
            },
            out,
        )

    def load_checkpoint(src, model, optimizer):
        checkpoint = torch.load(src)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        return checkpoint["iteration"]

    # the trunc_normal_ draws stay inside [a, b]
    lin = mods["Linear"](6, 10)
    std = (2 / 16) ** 0.5
    values.append(float((lin.weight.abs() <= 3 * std).all()))
    emb_w = torch.empty(50, 4)
    torch.nn.init.trunc_normal_(emb_w, std=1.0, a=-3.0, b=3.0)
    values.append(float(emb_w.abs().max() <= 3.0))

    # the handout's softmax equals the library one, also far from 0
    z = torch.tensor([[1000.0, 1001.0, 999.0], [-3.0, 0.0, 2.0]])
    values.extend(mods["softmax"](z, dim=-1).flatten().tolist())

    # the handout's SGD example: loss of a 2-parameter toy with lr 1
    weights = torch.nn.Parameter(5 * torch.ones((3, 3)))
    sgd = opts["SGD"]([weights], lr=1.0)
    for _ in range(4):
        sgd.zero_grad()
        loss = (weights**2).mean()
        values.append(loss.item())
        loss.backward()
        sgd.step()

    rng = np.random.default_rng(336)
    tokens = ((np.arange(400) * 7 + rng.integers(0, 3, 400)) % VOCAB).astype(np.uint16)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.bin")
        tokens.tofile(path)
        dataset = np.memmap(path, dtype=np.uint16, mode="r")

        def train(model, optimizer, start_it: int, end_it: int, ckpt: str | None) -> list[float]:
            losses = []
            for it in range(start_it, end_it):
                lr = get_lr_cosine_schedule(it, 3e-2, 3e-3, 2, 8)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                np.random.seed(1000 + it)
                x, y = get_batch(dataset, 4, CONTEXT, device)
                logits = model(x)
                loss = cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
                optimizer.zero_grad()
                loss.backward()
                gradient_clipping(model.parameters(), 1.0)
                optimizer.step()
                losses.append(loss.item())
                if ckpt is not None and it == 4:
                    save_checkpoint(model, optimizer, it + 1, ckpt)
            return losses

        model = make_model(torch_like).to(device)
        load_numpy_state(torch_like, model, init)
        optimizer = opts["AdamW"](model.parameters(), lr=1e-3, weight_decay=0.1)
        ckpt = os.path.join(tmp, "ckpt.pt")
        full = train(model, optimizer, 0, 10, ckpt)
        values.extend(full)
        # ``F.cross_entropy`` agrees with the hand-written loss
        x, y = get_batch(dataset, 2, CONTEXT, device)
        with torch.no_grad():
            logits = model(x)
            ce = cross_entropy(logits.view(-1, VOCAB), y.view(-1))
            ref = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), y.view(-1))
        values.extend([ce.item(), ref.item()])

        resumed = make_model(torch_like).to(device)
        opt2 = opts["AdamW"](resumed.parameters(), lr=1e-3, weight_decay=0.1)
        start = load_checkpoint(ckpt, resumed, opt2)
        values.append(start)
        values.extend(train(resumed, opt2, start, 10, None))

        # decoding: temperature softmax, greedy next token, until the context is full
        prompt = torch.tensor([[3, 10]])
        with torch.no_grad():
            out = prompt
            for _ in range(CONTEXT - 2):
                logits = resumed(out[:, -CONTEXT:])[:, -1, :]
                probs = mods["softmax"](logits / 0.7, dim=-1)
                next_token = torch.argmax(probs, dim=-1, keepdim=True)
                out = torch.cat([out, next_token], dim=-1)
        values.extend(out.flatten().tolist())
    return values


def check(values: list[float]) -> None:
    assert values[0] == 1.0 and values[1] == 1.0
    full, resumed = values[12:22], values[25:30]
    np.testing.assert_allclose(values[22], values[23], rtol=1e-5)
    assert values[24] == 5
    np.testing.assert_allclose(resumed, full[5:], rtol=1e-6)
