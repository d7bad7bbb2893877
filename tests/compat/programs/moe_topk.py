"""A mixture-of-experts layer with top-k gating, as sparse-MoE repositories write it: a noisy
linear router (Shazeer et al.: a softplus noise scale, NumPy's Gaussian noise), ``torch.topk``
over its logits, a softmax over the selected logits only, then a loop over the experts that
finds each expert's tokens with ``torch.where`` (checked against ``nonzero``), gathers them
with ``index_select`` and combines the weighted expert outputs with ``index_add_``; the same
combination comes from ``scatter_add`` over an expanded index and from the SparseDispatcher's
``nonzero().sort(0)``/``split``/``index_add`` into ``zeros(..., requires_grad=True)``. The
noisy gate's smooth load (``distributions.Normal.cdf`` of the distance to the k-th logit) and
the gates' importance enter a squared-coefficient-of-variation loss, beside the
Switch-Transformer load-balancing loss (fraction of tokens per expert times the mean router
probability); the model trains a few steps with AdamW and gradient clipping.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

# the routing softmax runs in float32 (``dtype=torch.float``, as Mixtral-style code does), whose
# last-bit rounding differs between the two libraries: 1e-7 instead of float64's 1e-9
RTOL = 1e-7

DIM, HIDDEN, EXPERTS, TOP_K, TOKENS, CLASSES, STEPS, AUX_WEIGHT = 6, 10, 4, 2, 12, 3, 4, 0.01


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Expert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1 = nn.Linear(DIM, HIDDEN)
            self.w2 = nn.Linear(HIDDEN, DIM)

        def forward(self, x: Any) -> Any:
            return self.w2(F.gelu(self.w1(x)))

    class MoELayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate = nn.Linear(DIM, EXPERTS, bias=False)
            self.noise = nn.Linear(DIM, EXPERTS, bias=False)
            self.softplus = nn.Softplus()
            self.experts = nn.ModuleList([Expert() for _ in range(EXPERTS)])
            self.register_buffer("mean", torch_like.tensor([0.0]))
            self.register_buffer("std", torch_like.tensor([1.0]))

        def prob_in_top_k(self, clean: Any, noisy: Any, noise_std: Any, top: Any) -> Any:
            """Shazeer et al.'s smooth load: the chance each expert stays in the top k."""
            batch, m = clean.size(0), top.size(1)
            top_flat = top.flatten()
            pos_in = torch_like.arange(batch, device=clean.device) * m + TOP_K
            threshold_in = torch_like.unsqueeze(torch_like.gather(top_flat, 0, pos_in), 1)
            is_in = torch_like.gt(noisy, threshold_in)
            threshold_out = torch_like.unsqueeze(torch_like.gather(top_flat, 0, pos_in - 1), 1)
            normal = torch_like.distributions.normal.Normal(self.mean, self.std)
            prob_in = normal.cdf((clean - threshold_in) / noise_std)
            prob_out = normal.cdf((clean - threshold_out) / noise_std)
            return torch_like.where(is_in, prob_in, prob_out)

        def forward(self, x: Any, noise: Any) -> tuple[Any, Any, Any, Any]:
            batch, seq, dim = x.shape
            x = x.view(-1, dim)
            clean_logits = self.gate(x)
            noise_std = self.softplus(self.noise(x)) + 1e-2
            router_logits = clean_logits + noise * noise_std
            top = router_logits.topk(min(TOP_K + 1, EXPERTS), dim=1).values
            load = self.prob_in_top_k(clean_logits, router_logits, noise_std, top).sum(0)
            routing_weights, selected = torch_like.topk(router_logits, TOP_K, dim=-1)
            routing_weights = F.softmax(routing_weights, dim=-1, dtype=torch_like.float)
            routing_weights = routing_weights.to(x.dtype)
            out = torch_like.zeros_like(x)
            out_scatter = torch_like.zeros((batch * seq, dim), dtype=x.dtype, device=x.device)
            expert_mask = F.one_hot(selected, num_classes=EXPERTS).permute(2, 1, 0)
            for e, expert in enumerate(self.experts):
                slot, token = torch_like.where(expert_mask[e])
                nz = (selected == e).nonzero()
                assert torch_like.equal(nz[:, 0].sort().values, token.sort().values)
                if token.numel() == 0:
                    continue
                current = x.index_select(0, token)
                y = expert(current) * routing_weights[token, slot, None]
                out.index_add_(0, token, y.to(x.dtype))
                index = token.unsqueeze(-1).expand(-1, dim)
                out_scatter = out_scatter.scatter_add(0, index, y)
            gates = torch_like.zeros_like(router_logits, requires_grad=True)
            gates = gates.scatter(1, selected, routing_weights)
            dispatched = self.sparse_dispatch(x, gates)
            gap = torch_like.maximum(
                (out - out_scatter).abs().max(), (out - dispatched).abs().max()
            )
            cv_loss = cv_squared(gates.sum(0)) + cv_squared(load)
            return out.reshape(batch, seq, dim), gap, router_logits, cv_loss

        def sparse_dispatch(self, x: Any, gates: Any) -> Any:
            """The SparseDispatcher way: sort the nonzero gates by expert, ``split`` the tokens
            into per-expert parts, and ``index_add`` the gated outputs back."""
            sorted_experts, index_sorted = torch_like.nonzero(gates).sort(0)
            _, expert_index = sorted_experts.split(1, dim=1)
            batch_index = torch_like.nonzero(gates)[index_sorted[:, 1], 0]
            part_sizes = (gates > 0).sum(0).tolist()
            nonzero_gates = torch_like.gather(gates[batch_index.flatten()], 1, expert_index)
            parts = torch_like.split(x[batch_index].squeeze(1), part_sizes, dim=0)
            outs = [self.experts[e](part) for e, part in enumerate(parts) if part_sizes[e] > 0]
            stitched = torch_like.cat(outs, 0).mul(nonzero_gates)
            zeros = torch_like.zeros(gates.size(0), x.size(1), requires_grad=True)
            return zeros.index_add(0, batch_index, stitched)

    def cv_squared(v: Any) -> Any:
        """Squared coefficient of variation, the balance penalty of the noisy top-k paper."""
        return v.var() / (v.mean() ** 2 + 1e-10)

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(DIM, DIM)
            self.moe = MoELayer()
            self.norm = nn.LayerNorm(DIM)
            self.head = nn.Linear(DIM, CLASSES)

        def forward(self, x: Any, noise: Any) -> tuple[Any, Any, Any, Any]:
            h = self.embed(x)
            moe_out, gap, router_logits, cv_loss = self.moe(h, noise)
            h = self.norm(h + moe_out)
            return self.head(h), router_logits, gap, cv_loss

    return Classifier()


def load_balancing_loss(torch_like: Any, router_logits: Any) -> Any:
    """Switch-Transformer auxiliary loss: ``E * sum_e f_e * P_e`` over the top-k routing."""
    F = torch_like.nn.functional
    probs = F.softmax(router_logits, dim=-1)
    _, selected = torch_like.topk(probs, TOP_K, dim=-1)
    mask = F.one_hot(selected, EXPERTS).float()
    tokens_per_expert = torch_like.mean(mask, dim=0)
    prob_per_expert = torch_like.mean(probs, dim=0)
    return EXPERTS * torch_like.sum(tokens_per_expert * prob_per_expert.unsqueeze(0))


def run(torch_like: Any, init: dict) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(31)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    x = as_tensor(torch_like, rng.standard_normal((2, TOKENS // 2, DIM)))
    target = as_tensor(torch_like, rng.integers(0, CLASSES, TOKENS))
    values: list[float] = []
    model.train()
    for _step in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        noise = as_tensor(torch_like, rng.standard_normal((TOKENS, EXPERTS)))
        logits, router_logits, gap, cv_loss = model(x, noise)
        task = F.cross_entropy(logits.view(-1, CLASSES), target)
        aux = load_balancing_loss(torch_like, router_logits)
        loss = task + AUX_WEIGHT * (aux + cv_loss)
        loss.backward()
        norm = torch_like.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        counts = torch_like.bincount(router_logits.topk(TOP_K).indices.flatten(), minlength=EXPERTS)
        values += [
            loss.item(),
            aux.item(),
            gap.item(),
            norm.item(),
            cv_loss.item(),
            *counts.tolist(),
        ]
    return values


def check(values: list[float]) -> None:
    width = 5 + EXPERTS
    for step in range(STEPS):
        row = values[width * step : width * (step + 1)]
        assert row[2] < 1e-12  # index_add_, scatter_add and the dispatcher combine the same
        assert sum(row[5:]) == TOKENS * TOP_K
