"""A torchtitan-style Mixture-of-Experts layer whose experts run through ``torch._grouped_mm``
(torchtitan's ``moe.py``: ``TokenChoiceTopKRouter``, ``GroupedExperts`` with
``_run_experts_grouped_mm`` and ``_run_experts_for_loop``, the auxiliary-loss-free load
balancing of DeepSeek-V3 through ``expert_bias``), trained a few steps.

The idioms kept: the router ``scores = self.gate(x)`` then ``torch.sigmoid`` in float32,
``torch.topk(scores + self.expert_bias, k=top_k, dim=1)`` for the choice but the unbiased
``scores.gather(dim=1, index=selected_experts_indices)`` as the weights, renormalised;
``num_tokens_per_expert = torch.histc(selected_experts_indices.view(-1), bins=num_experts,
min=0, max=num_experts)`` (of the indices as floats: the CPU has no integer ``histc``);
``token_indices_experts_sorted = torch.argsort(selected_experts_indices.view(-1),
stable=True)`` and ``// top_k``; ``torch.gather(x, dim=0,
index=token_indices.reshape(-1, 1).expand(-1, dim))`` and the scores applied before the
experts; ``offsets = torch.cumsum(num_tokens_per_expert, dim=0, dtype=torch.int32)``;
``h = F.silu(torch._grouped_mm(x, w1.transpose(-2, -1), offs=offsets))`` times the
``w3`` product, then ``torch._grouped_mm(h, w2.transpose(-2, -1), offs=offsets)``; the
for-loop reference (``torch.split(x, num_tokens_per_expert.tolist(), dim=0)``, ``torch.matmul``
per expert, ``torch.vstack``) checked against it; ``out.scatter_add(dim=0, index=...,
src=routed_output)`` onto the shared expert's output; the bias update after the optimizer
step (``expert_bias.add_(coeff * torch.sign(tokens_per_expert.mean() -
tokens_per_expert))`` under ``torch.no_grad()``, from a ``tokens_per_expert`` buffer
accumulated with ``add_`` and reset with ``zero_()``); an empty expert kept in ``offs``.

Changed: dimension 8, hidden 16, 4 experts with top-2 routing, 12 tokens a batch, 4 AdamW
steps, float32 (torchtitan casts to bfloat16 for the kernel).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
DIM, HIDDEN, EXPERTS, TOP_K, TOKENS, STEPS, BIAS_RATE = 8, 16, 4, 2, 12, 4, 1e-2


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    def grouped(w1: Any, w2: Any, w3: Any, x: Any, counts: Any) -> Any:
        offsets = torch.cumsum(counts, dim=0, dtype=torch.int32)
        h = F.silu(torch._grouped_mm(x, w1.transpose(-2, -1), offs=offsets))
        h = h * torch._grouped_mm(x, w3.transpose(-2, -1), offs=offsets)
        return torch._grouped_mm(h, w2.transpose(-2, -1), offs=offsets).type_as(x)

    def for_loop(w1: Any, w2: Any, w3: Any, x: Any, counts: Any) -> Any:
        outs = []
        for i, xi in enumerate(torch.split(x, counts.tolist(), dim=0)):
            h = F.silu(torch.matmul(xi, w1[i].transpose(-2, -1)))
            h = h * torch.matmul(xi, w3[i].transpose(-2, -1))
            outs.append(torch.matmul(h, w2[i].transpose(-2, -1)))
        return torch.vstack(outs)

    class GroupedExperts(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1 = nn.Parameter(torch.empty(EXPERTS, HIDDEN, DIM))
            self.w2 = nn.Parameter(torch.empty(EXPERTS, DIM, HIDDEN))
            self.w3 = nn.Parameter(torch.empty(EXPERTS, HIDDEN, DIM))
            for w in (self.w1, self.w2, self.w3):
                nn.init.trunc_normal_(w, mean=0.0, std=0.1)
            self.use_grouped_mm = True

        def forward(self, x: Any, counts: Any) -> Any:
            run = grouped if self.use_grouped_mm else for_loop
            return run(self.w1, self.w2, self.w3, x, counts)

    class TokenChoiceTopKRouter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate = nn.Linear(DIM, EXPERTS, bias=False)

        def forward(self, x: Any, expert_bias: Any) -> tuple[Any, Any, Any]:
            scores = torch.sigmoid(self.gate(x).to(torch.float32))
            _, selected = torch.topk(scores + expert_bias, k=TOP_K, dim=1)
            top_scores = scores.gather(dim=1, index=selected)
            top_scores = top_scores / (top_scores.sum(dim=-1, keepdim=True) + 1e-20)
            counts = torch.histc(selected.view(-1).float(), bins=EXPERTS, min=0, max=EXPERTS)
            return top_scores, selected, counts

    class MoE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.router = TokenChoiceTopKRouter()
            self.experts = GroupedExperts()
            self.shared_expert = nn.Sequential(nn.Linear(DIM, HIDDEN), nn.SiLU(),
                                               nn.Linear(HIDDEN, DIM))  # fmt: skip
            self.register_buffer("expert_bias", torch.zeros(EXPERTS))
            self.register_buffer("tokens_per_expert", torch.zeros(EXPERTS))

        def forward(self, x: Any) -> Any:
            top_scores, selected, counts = self.router(x, self.expert_bias)
            with torch.no_grad():
                self.tokens_per_expert.add_(counts)
            order = torch.argsort(selected.view(-1), stable=True)
            scores_sorted = top_scores.view(-1)[order]
            token_indices = order // TOP_K
            index = token_indices.reshape(-1, 1).expand(-1, DIM)
            routed = torch.gather(x, dim=0, index=index)
            routed = (routed.to(torch.float32) * scores_sorted.reshape(-1, 1)).to(x.dtype)
            routed_out = self.experts(routed, counts.to(torch.int64))
            return self.shared_expert(x).scatter_add(dim=0, index=index, src=routed_out)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.RMSNorm(DIM)
            self.moe = MoE()
            self.head = nn.Linear(DIM, 3)

        def forward(self, x: Any) -> Any:
            return self.head(x + self.moe(self.norm(x)))

    return Net()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    values: list[float] = []
    for _ in range(STEPS):
        x = as_tensor(torch, rng.standard_normal((TOKENS, DIM)).astype(np.float32))
        y = as_tensor(torch, rng.integers(0, 3, TOKENS))
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        moe = model.moe
        with torch.no_grad():
            load = moe.tokens_per_expert
            moe.expert_bias.add_(BIAS_RATE * torch.sign(load.mean() - load))
            moe.tokens_per_expert.zero_()
        values += [loss.item(), model.moe.experts.w1.grad.norm().item()]
        values += moe.expert_bias.tolist()
    # the grouped kernel against the for-loop reference, an empty expert included
    experts = model.moe.experts
    x = as_tensor(torch, rng.standard_normal((7, DIM)).astype(np.float32)).requires_grad_()
    counts = torch.tensor([3, 0, 4, 0])
    out = experts(x, counts)
    (grad_x,) = torch.autograd.grad(out.pow(2).sum(), x)
    experts.use_grouped_mm = False
    ref = experts(x, counts)
    (ref_grad,) = torch.autograd.grad(ref.pow(2).sum(), x)
    values += [out.sum().item(), float(torch.allclose(out, ref, atol=1e-5))]
    values += [float(torch.allclose(grad_x, ref_grad, atol=1e-5)), out.grad_fn.name() != ""]
    return values
