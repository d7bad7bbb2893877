"""Titans' neural long-term memory ("Titans: Learning to Memorize at Test Time", Behrouz et al.
2024) as lucidrains/titans-pytorch's ``titans_pytorch/neural_memory.py`` writes it: a small MLP
whose weights are updated inside the forward pass by the gradient of an associative loss,
with momentum ("surprise") and weight decay ("forgetting"), size-reduced.

The idioms: the per-sample gradient function built with ``torch.func``
(``forward_and_loss(params, inputs, loss_weights, target)`` calling ``functional_call(
self.memory_model, params, inputs)``, ``grad_fn = grad(forward_and_loss, has_aux=True)``,
``self.per_sample_grad_fn = vmap(grad_fn, in_dims=(0, 0, 0, 0))``); the memory weights as a
``TensorDict``-like dict of ``dict(self.memory_model.named_parameters())`` expanded per batch
(``repeat(p, '... -> b ...', b=batch)`` as ``p.unsqueeze(0).expand(batch, *p.shape)``); the
store: keys / values from ``nn.Linear`` projections, ``F.normalize`` of the keys
(``l2norm``), the chunked sequence (``rearrange(keys, 'b (n c) d -> (b n) c d', c=chunk_size)``
as ``reshape``), the adaptive learning rate ``self.to_adaptive_step(seq).sigmoid() * max_lr``,
the momentum ``self.to_momentum`` and decay ``self.to_decay_factor`` per chunk
(``.sigmoid()``), the surprises ``-grad``; the per-chunk recurrence ``past_last_momentum =
momentum * past_last_momentum + surprise``, ``updates = (1 - decay_factor) * last_update +
momentum`` (the associative scan written as a loop); the retrieve with the updated weights
(``functional_call(self.memory_model, dict(...), queries)`` through ``vmap``); the
``MemoryMLP`` (``nn.ParameterList`` of ``nn.Parameter(torch.randn(dim_in, dim_out))`` with
``nn.init.xavier_uniform_`` and ``F.gelu`` between layers, ``x @ weight``); the outer loss on
next-token prediction trained by ``torch.optim.Adam`` through the inner updates (second order:
the inner ``grad`` is differentiated by the outer ``backward``).

Changed: dim 384 -> 6, ``chunk_size`` 64 -> 2, sequence 6, one memory layer in a one-block
model, 3 steps; ``einops`` / ``tensordict`` / ``assoc_scan`` -> their PyTorch forms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, CHUNK, SEQ, BATCH, STEPS, MAX_LR = 9, 6, 2, 6, 2, 3, 1e-1


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    from_func = torch.func

    class MemoryMLP(nn.Module):
        def __init__(self, dim: int, depth: int = 2) -> None:
            super().__init__()
            dims = (dim, dim * 2) + (dim,) * (depth - 1)
            self.weights = nn.ParameterList(
                [
                    nn.Parameter(torch.randn(dim_in, dim_out))
                    for dim_in, dim_out in zip(dims[:-1], dims[1:])
                ]
            )
            for weight in self.weights:
                nn.init.xavier_uniform_(weight)

        def forward(self, x: Any) -> Any:
            for ind, weight in enumerate(self.weights):
                is_first = ind == 0
                if not is_first:
                    x = F.gelu(x)
                x = x @ weight
            return x

    class NeuralMemory(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.memory_model = MemoryMLP(DIM)
            self.store_norm = nn.RMSNorm(DIM)
            self.retrieve_norm = nn.RMSNorm(DIM)
            self.to_queries = nn.Linear(DIM, DIM, bias=False)
            self.to_keys_values = nn.Linear(DIM, DIM * 2, bias=False)
            self.to_adaptive_step = nn.Linear(DIM, 1)
            self.to_momentum = nn.Linear(DIM, 1)
            self.to_decay_factor = nn.Linear(DIM, 1)
            self.combine = nn.Linear(DIM, DIM, bias=False)

            def forward_and_loss(params: dict, inputs: Any, loss_weights: Any, target: Any) -> Any:
                pred = from_func.functional_call(self.memory_model, params, inputs)
                loss = (pred - target).pow(2).mean(dim=-1)
                weighted_loss = loss * loss_weights
                return weighted_loss.sum(), loss

            grad_fn = from_func.grad(forward_and_loss, has_aux=True)
            self.per_sample_grad_fn = from_func.vmap(grad_fn, in_dims=(0, 0, 0, 0))

        def forward(self, seq: Any) -> Any:
            batch, seq_len, _ = seq.shape
            n = seq_len // CHUNK
            store_seq = self.store_norm(seq)
            keys, values = self.to_keys_values(store_seq).chunk(2, dim=-1)
            keys = F.normalize(keys, dim=-1)
            adaptive_lr = self.to_adaptive_step(store_seq).sigmoid() * MAX_LR
            chunked = store_seq.reshape(batch, n, CHUNK, DIM).mean(dim=2)
            momentum = self.to_momentum(chunked).sigmoid()  # (b, n, 1)
            decay_factor = self.to_decay_factor(chunked).sigmoid()
            params = dict(self.memory_model.named_parameters())
            weights = {k: p.unsqueeze(0).expand(batch * n, *p.shape) for k, p in params.items()}
            keys = keys.reshape(batch * n, CHUNK, DIM)
            values = values.reshape(batch * n, CHUNK, DIM)
            lr = adaptive_lr.reshape(batch * n, CHUNK)
            grads, aux_store_loss = self.per_sample_grad_fn(weights, keys, lr, values)
            updates = {}
            for name, grad in grads.items():
                surprise = -grad.reshape(batch, n, *grad.shape[1:])
                mom = momentum.view(batch, n, *([1] * (surprise.ndim - 2)))
                dec = decay_factor.view(batch, n, *([1] * (surprise.ndim - 2)))
                past_last_momentum = torch.zeros_like(surprise[:, 0])
                last_update = torch.zeros_like(surprise[:, 0])
                per_chunk = []
                for i in range(n):
                    past_last_momentum = mom[:, i] * past_last_momentum + surprise[:, i]
                    last_update = (1 - dec[:, i]) * last_update + past_last_momentum
                    per_chunk.append(last_update)
                updates[name] = torch.stack(per_chunk, dim=1)
            # retrieve: chunk i reads the memory as updated by the chunks before it
            queries = F.normalize(self.to_queries(self.retrieve_norm(seq)), dim=-1)
            queries = queries.reshape(batch * n, CHUNK, DIM)
            retrieve_weights = {}
            for name, p in params.items():
                upd = updates[name]
                shifted = torch.cat((torch.zeros_like(upd[:, :1]), upd[:, :-1]), dim=1)
                retrieve_weights[name] = p + shifted.reshape(batch * n, *p.shape)
            retrieved = from_func.vmap(
                lambda w, q: from_func.functional_call(self.memory_model, w, (q,))
            )(retrieve_weights, queries)
            retrieved = retrieved.reshape(batch, seq_len, DIM)
            return self.combine(retrieved), aux_store_loss.mean()

    class MemoryLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.mem = NeuralMemory()
            self.norm = nn.LayerNorm(DIM)
            self.to_logits = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, ids: Any) -> Any:
            x = self.embed(ids)
            retrieved, store_loss = self.mem(x)
            x = x + retrieved
            return self.to_logits(self.norm(x)), store_loss

    return MemoryLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(77)
    values: list[float] = []
    for _ in range(STEPS):
        tokens = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        ids, labels = tokens[:, :-1], tokens[:, 1:]
        logits, store_loss = model(ids)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.extend([loss.item(), store_loss.item()])
    values.append(sum(p.grad.abs().sum().item() for p in model.mem.memory_model.parameters()))
    return values
