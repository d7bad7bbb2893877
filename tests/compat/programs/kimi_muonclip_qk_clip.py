"""MuonClip (Kimi K2's technical report, 2025, and Moonlight's "Muon is Scalable"): PyTorch's
own ``torch.optim.Muon`` with the AdamW-matched update scale on the hidden matrices, AdamW on
the rest, and QK-clip, which rescales a head's query and key projections after each step
whenever that head's largest attention logit passed a threshold.

The idioms kept: the parameter split of the Muon recipes (``p.ndim >= 2`` and not an
embedding or the head, by ``named_parameters()``); ``torch.optim.Muon(muon_params, lr=...,
weight_decay=0.1, momentum=0.95, nesterov=True, adjust_lr_fn="match_rms_adamw")`` beside
``torch.optim.AdamW(adam_params, ...)``, both stepped and zeroed each iteration; the per-head
maximum logit recorded in the attention's forward (``scores.amax(dim=(0, 2, 3)).detach()``
on ``q @ k.transpose(-2, -1) * self.scale``) and kept on the module; QK-clip under
``torch.no_grad()``: ``gamma = (tau / max_logits).clamp(max=1.0)``, the per-head factor
``gamma.sqrt().repeat_interleave(head_dim)`` multiplying the rows of ``q_proj.weight`` and
``k_proj.weight`` in place (``mul_(factor[:, None])``); the count of clipped heads logged, and
the maximum logits after the clip checked to be at most ``tau`` on the same batch.

Changed: width 16, 2 heads, sequences of 8, batches of 4, one attention block over 11 symbols,
4 steps, ``tau = 1.5`` (the report uses 100) so that the clip fires at this size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# torch.optim.Muon runs its Newton-Schulz iteration in bfloat16; chainrule's, deliberately, in
# the gradient's dtype (optim/muon.py): the runs agree to bfloat16's ~3 digits
RTOL, ATOL = 1e-2, 1e-3
DIM, HEADS, SEQ, BATCH, VOCAB, STEPS, TAU = 16, 2, 8, 4, 11, 4, 1.5
HEAD_DIM = DIM // HEADS


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj = nn.Linear(DIM, DIM, bias=False)
            self.k_proj = nn.Linear(DIM, DIM, bias=False)
            self.v_proj = nn.Linear(DIM, DIM, bias=False)
            self.o_proj = nn.Linear(DIM, DIM, bias=False)
            self.scale = HEAD_DIM**-0.5
            self.max_logits = None

        def forward(self, x: Any) -> Any:
            b, n, _ = x.shape
            q, k, v = (p(x).view(b, n, HEADS, HEAD_DIM).transpose(1, 2)
                       for p in (self.q_proj, self.k_proj, self.v_proj))  # fmt: skip
            scores = q @ k.transpose(-2, -1) * self.scale
            causal = torch.ones(n, n, dtype=torch.bool).triu(1)
            self.max_logits = scores.masked_fill(causal, float("-inf")).amax(dim=(0, 2, 3))
            self.max_logits = self.max_logits.detach()
            attn = scores.masked_fill(causal, float("-inf")).softmax(dim=-1)
            return self.o_proj((attn @ v).transpose(1, 2).reshape(b, n, DIM))

    class LM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.norm1 = nn.RMSNorm(DIM)
            self.attn = Attention()
            self.norm2 = nn.RMSNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.GELU(), nn.Linear(2 * DIM, DIM))
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, tokens: Any) -> Any:
            h = self.embed(tokens)
            h = h + self.attn(self.norm1(h))
            h = h + self.mlp(self.norm2(h))
            return self.lm_head(h)

    return LM()


def qk_clip(torch: Any, attn: Any, tau: float) -> int:
    with torch.no_grad():
        gamma = (tau / attn.max_logits).clamp(max=1.0)
        factor = gamma.sqrt().repeat_interleave(HEAD_DIM)
        attn.q_proj.weight.mul_(factor[:, None])
        attn.k_proj.weight.mul_(factor[:, None])
    return int((gamma < 1.0).sum())


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    with torch.no_grad():  # larger query/key weights, so that logits pass tau
        model.attn.q_proj.weight.mul_(3.0)
        model.attn.k_proj.weight.mul_(3.0)
    muon_params, adam_params = [], []
    for name, p in model.named_parameters():
        hidden = p.ndim >= 2 and "embed" not in name and "lm_head" not in name
        (muon_params if hidden else adam_params).append(p)
    muon = torch.optim.Muon(muon_params, lr=2e-2, weight_decay=0.1, momentum=0.95,
                            nesterov=True, adjust_lr_fn="match_rms_adamw")  # fmt: skip
    adamw = torch.optim.AdamW(adam_params, lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    rng = np.random.default_rng(31)
    values: list[float] = [float(len(muon_params)), float(len(adam_params))]
    for _ in range(STEPS):
        start = rng.integers(0, VOCAB, (BATCH, 1))
        tokens = as_tensor(torch, (start + 5 * np.arange(SEQ + 1)) % VOCAB)
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        for opt in (muon, adamw):
            opt.zero_grad()
        loss.backward()
        for opt in (muon, adamw):
            opt.step()
        with torch.no_grad():
            model(tokens[:, :-1])  # the logits the new weights give, before the clip
        before = model.attn.max_logits.tolist()
        clipped = qk_clip(torch, model.attn, TAU)
        with torch.no_grad():
            model(tokens[:, :-1])
        after = model.attn.max_logits
        values += [loss.item(), float(clipped), float(bool((after <= TAU + 1e-9).all()))]
        values += before + [model.attn.q_proj.weight.norm().item()]
    return values
