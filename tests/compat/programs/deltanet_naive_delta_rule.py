"""DeltaNet linear attention with the delta rule, as fla-org/flash-linear-attention writes its
PyTorch reference kernels (``fla/ops/delta_rule/naive.py``'s ``delta_rule_recurrence`` and
``delta_rule_chunkwise``, ``fla/ops/gated_delta_rule/naive.py``'s recurrent form) and layer
(``fla/layers/delta_net.py``'s ``DeltaNet`` with ``ShortConvolution`` and the output
``RMSNorm``), size-reduced and trained through both forms.

The idioms: ``q, k, v, beta = map(lambda x: x.float(), [q, k, v, beta])``, ``S =
torch.zeros(b, h, d_k, d_v).to(v)`` (``Tensor.to(other)``), the token loop's ``_v = v[:, :,
i].clone()``, ``(S.clone() * _k[..., None]).sum(-2)``, ``S = S.clone() + _k.unsqueeze(-1) *
_v.unsqueeze(-2)`` and ``o[:, :, i] = torch.einsum('bhd,bhdm->bhm', _q, S)`` (a slice of a
``zeros_like`` written in place under autograd), the gated variant's ``S = S.clone() *
g[:, :, i].exp()[..., None, None]``; the chunkwise form's ``torch.triu(torch.ones(chunk_size,
chunk_size, dtype=torch.bool), diagonal=0)``, ``-(k_beta @ k.transpose(-1, -2)).masked_fill(mask,
0)``, the in-place forward substitution ``attn[..., i, :i] = attn[..., i, :i] + (attn[..., i, :,
None].clone() * attn[..., :, :i].clone()).sum(-2)``, ``attn + torch.eye(chunk_size,
dtype=torch.float)``, ``S = k.new_zeros(b, h, d_k,
d_v)``, ``masked_fill_`` on a matmul result and ``o[:, :, i] = o_inter + attn @ u_i``; the layer's
depthwise causal ``nn.Conv1d(..., groups=hidden_size, padding=kernel_size - 1)`` sliced back to
the sequence length with ``F.silu``, ``F.normalize(x, p=2, dim=-1)`` on q and k, ``beta =
self.b_proj(hidden_states).sigmoid()``, and ``nn.RMSNorm`` on the heads before ``o_proj``.

Changed: ``einops.rearrange`` -> ``reshape``/``transpose`` (``'b h (n c) d -> b h n c d'`` and
``'b l (h d) -> b h l d'``); the Triton kernels are not used (the naive ones are their reference);
hidden 8 with 2 heads, sequence 8 in chunks of 4, 3 AdamW steps per form; the gated decay ``g``
is ``F.logsigmoid`` of a projection, as Gated DeltaNet's layer feeds it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
VOCAB, HIDDEN, HEADS, SEQ, CHUNK, CONV, BATCH, STEPS = 11, 8, 2, 8, 4, 3, 2, 3
HEAD_DIM = HIDDEN // HEADS


def delta_rule_recurrence(
    torch: Any,
    q: Any,
    k: Any,
    v: Any,
    beta: Any,
    g: Any = None,
    initial_state: Any = None,
    output_final_state: bool = True,
) -> tuple:
    orig_dtype = q.dtype
    b, h, l, d_k = q.shape  # noqa: E741
    q, k, v, beta = map(lambda x: x.float(), [q, k, v, beta])
    if g is not None:
        g = g.float()
    d_v = v.shape[-1]
    o = torch.zeros_like(v)
    S = torch.zeros(b, h, d_k, d_v).to(v)
    q = q * (d_k**-0.5)

    if beta.ndim < v.ndim:
        beta = beta[..., None]

    if initial_state is not None:
        S += initial_state

    for i in range(l):
        _k = k[:, :, i]
        _q = q[:, :, i]
        _v = v[:, :, i].clone()
        if g is not None:
            S = S.clone() * g[:, :, i].exp()[..., None, None]
        beta_i = beta[:, :, i]
        _v = _v - (S.clone() * _k[..., None]).sum(-2)
        _v = _v * beta_i
        S = S.clone() + _k.unsqueeze(-1) * _v.unsqueeze(-2)
        o[:, :, i] = torch.einsum("bhd,bhdm->bhm", _q, S)
    S = None if output_final_state is False else S
    return o.to(orig_dtype), S


def delta_rule_chunkwise(
    torch: Any, q: Any, k: Any, v: Any, beta: Any, chunk_size: int = 32
) -> tuple:
    b, h, l, d_k = q.shape  # noqa: E741
    d_v = v.shape[-1]
    q = q * (d_k**-0.5)
    v = v * beta[..., None]
    k_beta = k * beta[..., None]

    assert l % chunk_size == 0

    # note that diagonal is masked.
    mask = torch.triu(
        torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=q.device), diagonal=0
    )
    q, k, v, k_beta = map(
        lambda x: x.reshape(b, h, l // chunk_size, chunk_size, x.shape[-1]), [q, k, v, k_beta]
    )
    attn = -(k_beta @ k.transpose(-1, -2)).masked_fill(mask, 0)

    for i in range(1, chunk_size):
        attn[..., i, :i] = attn[..., i, :i] + (
            attn[..., i, :, None].clone() * attn[..., :, :i].clone()
        ).sum(-2)

    attn = attn + torch.eye(chunk_size, dtype=torch.float, device=q.device)
    u = attn @ v
    w = attn @ k_beta
    S = k.new_zeros(b, h, d_k, d_v)
    o = torch.zeros_like(v)
    mask = torch.triu(
        torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=q.device), diagonal=1
    )
    for i in range(0, l // chunk_size):
        q_i, k_i = q[:, :, i], k[:, :, i]
        attn = (q_i @ k_i.transpose(-1, -2)).masked_fill_(mask, 0)
        u_i = u[:, :, i] - w[:, :, i] @ S
        o_inter = q_i @ S
        o[:, :, i] = o_inter + attn @ u_i
        S = S + k_i.transpose(-1, -2) @ u_i

    return o.reshape(b, h, l, d_v), S


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class ShortConvolution(nn.Conv1d):
        """Simple wrapper around ``nn.Conv1d`` that accepts dimension last."""

        def __init__(self, hidden_size: int, kernel_size: int) -> None:
            super().__init__(
                in_channels=hidden_size,
                out_channels=hidden_size,
                kernel_size=kernel_size,
                groups=hidden_size,
                padding=kernel_size - 1,
                bias=False,
            )
            self.hidden_size = hidden_size

        def forward(self, x: Any) -> Any:
            seq_len = x.shape[1]
            x = x.transpose(1, 2)  # b t d -> b d t
            x = self._conv_forward(x, self.weight, self.bias)[..., :seq_len]
            return F.silu(x).transpose(1, 2)

    class DeltaNet(nn.Module):
        def __init__(self, hidden_size: int, num_heads: int, gated: bool = False) -> None:
            super().__init__()
            self.num_heads, self.head_k_dim = num_heads, hidden_size // num_heads
            self.gated = gated
            self.q_proj = nn.Linear(hidden_size, hidden_size, bias=False)
            self.k_proj = nn.Linear(hidden_size, hidden_size, bias=False)
            self.v_proj = nn.Linear(hidden_size, hidden_size, bias=False)
            self.b_proj = nn.Linear(hidden_size, num_heads, bias=False)
            if gated:
                self.a_proj = nn.Linear(hidden_size, num_heads, bias=False)
            self.q_conv1d = ShortConvolution(hidden_size, CONV)
            self.k_conv1d = ShortConvolution(hidden_size, CONV)
            self.v_conv1d = ShortConvolution(hidden_size, CONV)
            self.o_norm = nn.RMSNorm(self.head_k_dim, eps=1e-5)
            self.o_proj = nn.Linear(hidden_size, hidden_size, bias=False)

        def forward(self, hidden_states: Any, mode: str) -> Any:
            b, l, _ = hidden_states.shape  # noqa: E741
            q = self.q_conv1d(self.q_proj(hidden_states))
            k = self.k_conv1d(self.k_proj(hidden_states))
            v = self.v_conv1d(self.v_proj(hidden_states))

            def heads(x: Any) -> Any:  # rearrange(x, 'b l (h d) -> b h l d', h=self.num_heads)
                return x.reshape(b, l, self.num_heads, -1).transpose(1, 2)

            q, k, v = map(heads, (q, k, v))
            q = F.normalize(q, p=2, dim=-1)
            k = F.normalize(k, p=2, dim=-1)
            beta = self.b_proj(hidden_states).sigmoid().transpose(1, 2)  # b h l
            if self.gated:
                g = F.logsigmoid(self.a_proj(hidden_states)).transpose(1, 2)
                o, _ = delta_rule_recurrence(torch, q, k, v, beta, g=g)
            elif mode == "chunk":
                o, _ = delta_rule_chunkwise(torch, q, k, v, beta, chunk_size=CHUNK)
            else:
                o, _ = delta_rule_recurrence(torch, q, k, v, beta)
            o = self.o_norm(o).transpose(1, 2).reshape(b, l, -1)
            return self.o_proj(o)

    class DeltaNetLM(nn.Module):
        def __init__(self, gated: bool = False) -> None:
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, HIDDEN)
            self.attn_norm = nn.RMSNorm(HIDDEN, eps=1e-5)
            self.attn = DeltaNet(HIDDEN, HEADS, gated=gated)
            self.norm = nn.RMSNorm(HIDDEN, eps=1e-5)
            self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)

        def forward(self, input_ids: Any, mode: str = "chunk") -> Any:
            h = self.embeddings(input_ids)
            h = h + self.attn(self.attn_norm(h), mode)
            return self.lm_head(self.norm(h))

    return nn.ModuleDict({"delta": DeltaNetLM(), "gated": DeltaNetLM(gated=True)})


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(31)
    batches = [rng.integers(0, VOCAB, (BATCH, SEQ + 1)) for _ in range(STEPS)]
    values: list[float] = []
    for name, mode in (("delta", "recurrent"), ("delta", "chunk"), ("gated", "recurrent")):
        models = make_model(torch_like)
        load_numpy_state(torch_like, models, init)
        model = models[name]
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        for batch in batches:
            ids = as_tensor(torch, batch)
            logits = model(ids[:, :-1], mode)
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            values += [loss.item(), grad_norm.item()]
    return values


def check(values: list[float]) -> None:
    """The chunkwise form trains exactly as the token-by-token recurrence does."""
    per_run = 2 * STEPS
    np.testing.assert_allclose(values[per_run : 2 * per_run], values[:per_run], rtol=1e-4)
