"""Switch-Transformer and Mixtral-style expert routing with their auxiliary losses, as Hugging Face
transformers writes them (``load_balancing_loss_func`` of ``modeling_mixtral.py``,
``router_z_loss_func`` and ``SwitchTransformersTop1Router`` of ``modeling_switch_transformers.py``,
``MixtralSparseMoeBlock``), size-reduced.

The idioms: the Switch router's multiplicative jitter ``hidden_states *= torch.empty_like(
hidden_states).uniform_(1.0 - self.jitter_noise, 1.0 + self.jitter_noise)`` in training (its
draws checked for range, the loss path using NumPy's), ``router_probs = nn.functional.softmax(
router_logits, dim=-1, dtype=self.dtype)``, ``expert_index = torch.argmax(router_probs,
dim=-1)``, ``expert_index = torch.nn.functional.one_hot(expert_index, num_classes=
self.num_experts)``, the capacity mask ``token_priority = torch.cumsum(expert_index, dim=-2)``,
``expert_capacity_mask = token_priority <= self.expert_capacity``, ``expert_index = expert_index
* expert_capacity_mask``, ``router_probs = torch.max(router_probs, dim=-1).values.unsqueeze(-1)``
and the dropped tokens passed through unchanged (``next_states = hidden_states.clone()``,
``next_states[token_indices] = expert(hidden_states[token_indices]).to(next_states.dtype)``);
``router_z_loss_func``'s ``log_z = torch.logsumexp(router_logits, dim=-1)``, ``z_loss =
log_z**2`` and ``torch.sum(z_loss) / (num_groups * tokens_per_group)``; Mixtral's block
(``routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)``,
``routing_weights /= routing_weights.sum(dim=-1, keepdim=True)``, ``expert_mask =
torch.nn.functional.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)``,
``idx, top_x = torch.where(expert_mask[expert_idx])``, ``current_hidden_states = expert_layer(
current_state) * routing_weights[top_x, idx, None]``, ``final_hidden_states.index_add_(0, top_x,
current_hidden_states.to(hidden_states.dtype))``); and ``load_balancing_loss_func`` over the
layers' gate logits (``torch.cat([layer_gate.to(compute_device) for layer_gate in gate_logits],
dim=0)``, ``_, selected_experts = torch.topk(routing_weights, top_k, dim=-1)``,
``tokens_per_expert = torch.mean(expert_mask.float(), dim=0)``, ``router_prob_per_expert =
torch.mean(routing_weights, dim=0)``, ``torch.sum(tokens_per_expert *
router_prob_per_expert.unsqueeze(0)) * num_experts``), with its attention-mask branch
(``attention_mask[None, :, :, None, None].expand(...)``, ``torch.sum(expert_mask.float() *
expert_attention_mask, dim=0) / torch.sum(expert_attention_mask, dim=0)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, FFN, EXPERTS, TOP_K, BATCH, SEQ, STEPS, LR, JITTER = 6, 8, 4, 2, 2, 5, 4, 1e-2, 0.01
CAPACITY, AUX_COEF, Z_COEF = 3, 0.02, 0.001


def load_balancing_loss_func(
    torch_like: Any, gate_logits: Any, num_experts: int, top_k: int, attention_mask: Any = None
) -> Any:
    torch = torch_like
    if gate_logits is None or not isinstance(gate_logits, tuple):
        return 0
    if isinstance(gate_logits, tuple):
        compute_device = gate_logits[0].device
        concatenated_gate_logits = torch.cat(
            [layer_gate.to(compute_device) for layer_gate in gate_logits], dim=0
        )
    routing_weights = torch.nn.functional.softmax(concatenated_gate_logits, dim=-1)
    _, selected_experts = torch.topk(routing_weights, top_k, dim=-1)
    expert_mask = torch.nn.functional.one_hot(selected_experts, num_experts)
    if attention_mask is None:
        # Compute the percentage of tokens routed to each experts
        tokens_per_expert = torch.mean(expert_mask.float(), dim=0)
        # Compute the average probability of routing to these experts
        router_prob_per_expert = torch.mean(routing_weights, dim=0)
    else:
        batch_size, sequence_length = attention_mask.shape
        num_hidden_layers = concatenated_gate_logits.shape[0] // (batch_size * sequence_length)
        expert_attention_mask = (
            attention_mask[None, :, :, None, None]
            .expand((num_hidden_layers, batch_size, sequence_length, top_k, num_experts))
            .reshape(-1, top_k, num_experts)
            .to(compute_device)
        )
        tokens_per_expert = torch.sum(expert_mask.float() * expert_attention_mask, dim=0) / (
            torch.sum(expert_attention_mask, dim=0)
        )
        router_per_expert_attention_mask = (
            attention_mask[None, :, :, None]
            .expand((num_hidden_layers, batch_size, sequence_length, num_experts))
            .reshape(-1, num_experts)
            .to(compute_device)
        )
        router_prob_per_expert = torch.sum(
            routing_weights * router_per_expert_attention_mask, dim=0
        ) / torch.sum(router_per_expert_attention_mask, dim=0)
    overall_loss = torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0))
    return overall_loss * num_experts


def router_z_loss_func(torch_like: Any, router_logits: Any) -> Any:
    num_groups, tokens_per_group, _ = router_logits.shape
    log_z = torch_like.logsumexp(router_logits, dim=-1)
    z_loss = log_z**2
    return torch_like.sum(z_loss) / (num_groups * tokens_per_group)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Expert(nn.Module):  # MixtralBlockSparseTop2MLP
        def __init__(self) -> None:
            super().__init__()
            self.w1 = nn.Linear(DIM, FFN, bias=False)
            self.w2 = nn.Linear(FFN, DIM, bias=False)
            self.w3 = nn.Linear(DIM, FFN, bias=False)
            self.act_fn = nn.SiLU()

        def forward(self, hidden_states: Any) -> Any:
            current_hidden_states = self.act_fn(self.w1(hidden_states)) * self.w3(hidden_states)
            return self.w2(current_hidden_states)

    class SwitchTop1Router(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_experts = EXPERTS
            self.expert_capacity = CAPACITY
            self.classifier = nn.Linear(DIM, EXPERTS, bias=False)
            self.jitter_noise = JITTER
            self.dtype = torch.float64

        def _compute_router_probabilities(self, hidden_states: Any, jitter: Any) -> Any:
            hidden_states = hidden_states.to(self.dtype)
            if self.training and self.jitter_noise > 0:
                # Multiply the token inputs by the uniform distribution - adding some noise
                hidden_states = hidden_states * jitter
            router_logits = self.classifier(hidden_states)
            router_probabilities = nn.functional.softmax(router_logits, dim=-1, dtype=self.dtype)
            return router_probabilities, router_logits

        def forward(self, hidden_states: Any, jitter: Any) -> tuple[Any, Any, Any]:
            router_probs, router_logits = self._compute_router_probabilities(hidden_states, jitter)
            expert_index = torch.argmax(router_probs, dim=-1)
            expert_index = torch.nn.functional.one_hot(expert_index, num_classes=self.num_experts)
            # Mask tokens outside expert capacity. Sum over each sequence
            token_priority = torch.cumsum(expert_index, dim=-2)
            # mask if the token routed to to the expert will overflow
            expert_capacity_mask = token_priority <= self.expert_capacity
            expert_index = expert_index * expert_capacity_mask
            router_probs = torch.max(router_probs, dim=-1).values.unsqueeze(-1)
            return expert_index, router_probs, router_logits

    class SwitchSparseMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.router = SwitchTop1Router()
            self.experts = nn.ModuleDict({f"expert_{i}": Expert() for i in range(EXPERTS)})

        def forward(self, hidden_states: Any, jitter: Any) -> tuple[Any, Any]:
            router_mask, router_probs, router_logits = self.router(hidden_states, jitter)
            expert_index = torch.argmax(router_mask, dim=-1)
            # The routers introduced might not always map all the tokens, to a router, which
            # means that some hidden states can be unchanged from one layer to another.
            next_states = hidden_states.clone()
            router_mask = router_mask.bool()
            batch_size, seq_len, num_experts = router_mask.shape
            idx_mask = router_mask.reshape(batch_size * seq_len, num_experts).sum(dim=0)
            idx_mask = torch.nonzero(idx_mask, as_tuple=True)[0].tolist()
            for idx in idx_mask:
                token_indices = router_mask[:, :, idx]
                next_states[token_indices] = self.experts[f"expert_{idx}"](
                    hidden_states[token_indices]
                ).to(next_states.dtype)
            hidden_states = router_probs * next_states
            return hidden_states, (router_logits, expert_index)

    class MixtralSparseMoeBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden_dim = DIM
            self.num_experts = EXPERTS
            self.top_k = TOP_K
            self.gate = nn.Linear(DIM, EXPERTS, bias=False)
            self.experts = nn.ModuleList([Expert() for _ in range(EXPERTS)])

        def forward(self, hidden_states: Any) -> tuple[Any, Any]:
            batch_size, sequence_length, hidden_dim = hidden_states.shape
            hidden_states = hidden_states.view(-1, hidden_dim)
            # router_logits: (batch * sequence_length, n_experts)
            router_logits = self.gate(hidden_states)
            routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
            routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
            # we cast back to the input dtype
            routing_weights = routing_weights.to(hidden_states.dtype)
            final_hidden_states = torch.zeros(
                (batch_size * sequence_length, hidden_dim),
                dtype=hidden_states.dtype,
                device=hidden_states.device,
            )
            expert_mask = torch.nn.functional.one_hot(
                selected_experts, num_classes=self.num_experts
            ).permute(2, 1, 0)
            expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
            for expert_idx in expert_hit:
                expert_layer = self.experts[expert_idx]
                idx, top_x = torch.where(expert_mask[expert_idx].squeeze(0))
                current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
                current_hidden_states = (
                    expert_layer(current_state) * routing_weights[top_x, idx, None]
                )
                final_hidden_states.index_add_(
                    0, top_x, current_hidden_states.to(hidden_states.dtype)
                )
            final_hidden_states = final_hidden_states.reshape(
                batch_size, sequence_length, hidden_dim
            )
            return final_hidden_states, router_logits

    class TinyMoEModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.switch = SwitchSparseMLP()
            self.norm = nn.LayerNorm(DIM)
            self.mixtral = nn.ModuleList([MixtralSparseMoeBlock() for _ in range(2)])
            self.head = nn.Linear(DIM, 1)

        def forward(self, x: Any, jitter: Any) -> tuple[Any, Any, Any, Any]:
            h, (switch_logits, expert_index) = self.switch(x, jitter)
            h = self.norm(h + x)
            all_router_logits = ()
            for block in self.mixtral:
                out, router_logits = block(h)
                h = h + out
                all_router_logits += (router_logits,)
            return self.head(h).squeeze(-1), all_router_logits, switch_logits, expert_index

    return TinyMoEModel()


def jitter_facts(torch_like: Any) -> list[float]:
    """``empty_like(...).uniform_(1 - eps, 1 + eps)``: shape, dtype and range of the draws."""
    torch = torch_like
    torch.manual_seed(0)
    x = torch.zeros(BATCH, SEQ, DIM)
    noise = torch.empty_like(x).uniform_(1.0 - JITTER, 1.0 + JITTER)
    return [
        *noise.shape,
        float(noise.dtype == x.dtype),
        float(noise.min().item() >= 1.0 - JITTER),
        float(noise.max().item() < 1.0 + JITTER),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(13)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = jitter_facts(torch_like)
    mask_np = np.ones((BATCH, SEQ), dtype=np.int64)
    mask_np[1, -2:] = 0  # a padded second sequence
    attention_mask = as_tensor(torch_like, mask_np)

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _step in range(STEPS):
        x = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ, DIM)))
        y = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ)))
        jitter = as_tensor(torch_like, rng.uniform(1.0 - JITTER, 1.0 + JITTER, (BATCH, SEQ, DIM)))
        optimizer.zero_grad()
        pred, router_logits, switch_logits, expert_index = model(x, jitter)
        task = torch.nn.functional.mse_loss(pred, y)
        aux = load_balancing_loss_func(torch, router_logits, EXPERTS, TOP_K)
        aux_masked = load_balancing_loss_func(torch, router_logits, EXPERTS, TOP_K, attention_mask)
        z_loss = router_z_loss_func(torch, switch_logits)
        loss = task + AUX_COEF * aux + Z_COEF * z_loss
        loss.backward()
        optimizer.step()
        values += [loss.item(), aux.item(), aux_masked.item(), z_loss.item()]
        values += expert_index.flatten().tolist()
    values += [load_balancing_loss_func(torch, None, EXPERTS, TOP_K)]

    model.eval()
    with torch.no_grad():
        x = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ, DIM)))
        expert_index, router_probs, _ = model.switch.router(x, None)
    values += expert_index.sum(dim=(0, 1)).tolist() + router_probs.flatten().tolist()
    values += [
        float(expert_index.dtype == torch.int64),
        float((expert_index.cumsum(1) <= CAPACITY).all().item()),
    ]
    return values
