"""Modern Hopfield networks ("Hopfield Networks is All You Need"), as ml-jku/hopfield-layers
(``hflayers``: ``Hopfield``, ``HopfieldLayer``, ``HopfieldPooling`` and the demo notebooks'
retrieval experiments) writes them, simplified and size-reduced.

The idioms: the update rule ``xi_new = X^T softmax(beta X xi)`` written with ``torch.bmm`` and
``torch.einsum('bij,bjk->bik', ...)``, iterated until ``torch.allclose(xi_new, xi)`` or
``torch.norm(xi_old - xi, dim=(1, 2)) <= update_steps_eps`` (hflayers' per-head
``update_active_heads &= ((xi_old - xi).norm(dim=(1, 2)) > update_steps_eps)``); retrieval of
stored ±1 patterns from partly masked queries, scored by ``F.normalize`` cosine similarity and
``argmax`` against the stored set (accuracy as ``(pred == target).float().mean()``), with the
memory capacity shown failing at a low ``beta`` (the metastable average); ``HopfieldLayer``'s
stored patterns as an ``nn.Parameter`` lookup (``lookup_weights.expand(batch, -1, -1)``) and
``HopfieldPooling``'s trainable state pattern ``nn.Parameter(torch.empty(size=(1, 1,
input_size)))`` initialised by ``nn.init.normal_(mean=0.0, std=0.02)``; the association core
calling ``nn.functional.multi_head_attention_forward`` directly with explicit separate in-
projections (``use_separate_proj_weight=True, q_proj_weight=..., k_proj_weight=...,
v_proj_weight=...``), ``in_proj_bias`` and the out-projection, sequence-first after
``input.transpose(0, 1)`` (``batch_first``), ``need_weights=True`` and
``average_attn_weights=False`` for the per-head association matrices, ``key_padding_mask`` for
padded stored patterns, and ``beta`` folded into the query (the functional divides by
``sqrt(head_dim)``); trained as a set classifier for a few Adam steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

PATTERNS, PDIM, BATCH, SET, IN_DIM, HIDDEN, HEADS = 6, 24, 4, 5, 4, 8, 2
CLASSES, STEPS, LR, BETA, MAX_STEPS, EPS = 3, 4, 1e-2, 4.0, 8, 1e-10


def hopfield_update(torch_like: Any, stored: Any, xi: Any, beta: float, use_einsum: bool) -> Any:
    """One step ``xi <- X^T softmax(beta X xi)``: stored ``(B, N, d)``, state ``(B, d, 1)``."""
    torch = torch_like
    F = torch_like.nn.functional
    if use_einsum:
        scores = torch.einsum("bij,bjk->bik", stored, xi)
    else:
        scores = torch.bmm(stored, xi)
    p = F.softmax(beta * scores, dim=1)
    return torch.bmm(stored.transpose(1, 2), p)


def retrieve(torch_like: Any, stored: Any, xi: Any, beta: float, use_einsum: bool = False):
    """Iterate the update rule until it stops moving (the two stopping rules of the repository's
    demos and core); returns the fixed point and the number of steps taken."""
    torch = torch_like
    update_active = torch.ones(xi.shape[0], dtype=torch.bool)
    steps = 0
    for steps in range(1, MAX_STEPS + 1):  # noqa: B007
        xi_old = xi
        xi = hopfield_update(torch_like, stored, xi, beta, use_einsum)
        update_active &= torch.norm(xi_old - xi, dim=(1, 2)) > EPS
        if torch.allclose(xi, xi_old) or not update_active.any():
            break
    return xi, steps


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class HopfieldCore(nn.Module):
        """The association: separate q/k/v projections and an out-projection, run by the
        functional multi-head attention with ``beta`` as the inverse temperature."""

        def __init__(self, embed_dim: int, num_heads: int, scaling: float) -> None:
            super().__init__()
            self.embed_dim, self.num_heads, self.scaling = embed_dim, num_heads, scaling
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim))
            self.out_proj = nn.Linear(embed_dim, embed_dim)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.q_proj_weight)
            nn.init.xavier_uniform_(self.k_proj_weight)
            nn.init.xavier_uniform_(self.v_proj_weight)
            nn.init.constant_(self.in_proj_bias, 0.0)
            nn.init.constant_(self.out_proj.bias, 0.0)

        def forward(
            self,
            query: Any,
            key: Any,
            value: Any,
            key_padding_mask: Any = None,
            need_weights: bool = True,
        ) -> tuple[Any, Any]:
            head_dim = self.embed_dim // self.num_heads
            query = query * (self.scaling * math.sqrt(head_dim))  # beta instead of 1/sqrt(d)
            return F.multi_head_attention_forward(
                query,
                key,
                value,
                self.embed_dim,
                self.num_heads,
                in_proj_weight=None,
                in_proj_bias=self.in_proj_bias,
                bias_k=None,
                bias_v=None,
                add_zero_attn=False,
                dropout_p=0.0,
                out_proj_weight=self.out_proj.weight,
                out_proj_bias=self.out_proj.bias,
                training=self.training,
                key_padding_mask=key_padding_mask,
                need_weights=need_weights,
                attn_mask=None,
                use_separate_proj_weight=True,
                q_proj_weight=self.q_proj_weight,
                k_proj_weight=self.k_proj_weight,
                v_proj_weight=self.v_proj_weight,
                average_attn_weights=False,
            )

    class HopfieldLayer(nn.Module):
        """Stored patterns as a lookup (``nn.Parameter``) the inputs associate with."""

        def __init__(self, input_size: int, quantity: int) -> None:
            super().__init__()
            self.embed = nn.Linear(input_size, HIDDEN)
            self.lookup_weights = nn.Parameter(torch.empty(size=(1, quantity, HIDDEN)))
            nn.init.normal_(self.lookup_weights, mean=0.0, std=0.5)
            self.association_core = HopfieldCore(HIDDEN, HEADS, BETA / 4)

        def forward(self, input: Any) -> tuple[Any, Any]:
            state = self.embed(input)
            stored = self.lookup_weights.expand(input.shape[0], -1, -1)
            out, weights = self.association_core(
                state.transpose(0, 1), stored.transpose(0, 1), stored.transpose(0, 1)
            )
            return out.transpose(0, 1) + state, weights

    class HopfieldPooling(nn.Module):
        """A trainable state pattern (the query) pools a set of stored patterns."""

        def __init__(self, quantity: int = 1) -> None:
            super().__init__()
            self.pooling_weights = nn.Parameter(torch.empty(size=(1, quantity, HIDDEN)))
            nn.init.normal_(self.pooling_weights, mean=0.0, std=0.02)
            self.association_core = HopfieldCore(HIDDEN, HEADS, BETA / 4)

        def forward(self, input: Any, key_padding_mask: Any = None) -> tuple[Any, Any]:
            query = self.pooling_weights.expand(input.shape[0], -1, -1)
            out, weights = self.association_core(
                query.transpose(0, 1),
                input.transpose(0, 1),
                input.transpose(0, 1),
                key_padding_mask=key_padding_mask,
            )
            return out.transpose(0, 1).flatten(start_dim=1), weights

    class SetClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hopfield = HopfieldLayer(IN_DIM, PATTERNS)
            self.pooling = HopfieldPooling()
            self.norm = nn.LayerNorm(HIDDEN)
            self.output = nn.Linear(HIDDEN, CLASSES)

        def forward(self, x: Any, key_padding_mask: Any = None) -> tuple[Any, Any, Any]:
            h, layer_weights = self.hopfield(x)
            pooled, pool_weights = self.pooling(self.norm(h), key_padding_mask)
            return self.output(pooled), layer_weights, pool_weights

    return SetClassifier()


def retrieval_facts(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """Half-masked ±1 patterns retrieved from storage: accuracy, steps, the two rule forms."""
    torch = torch_like
    F = torch_like.nn.functional
    patterns = np.sign(rng.standard_normal((BATCH, PATTERNS, PDIM)))
    which = rng.integers(0, PATTERNS, BATCH)
    query = patterns[np.arange(BATCH), which].copy()
    query[:, 2 * PDIM // 3 :] = 0.0  # the last third of each query masked
    stored = as_tensor(torch_like, patterns)
    xi0 = as_tensor(torch_like, query).unsqueeze(-1)
    target = as_tensor(torch_like, which)
    values: list[float] = []
    for beta in (BETA, 0.01):  # a working memory and a metastable one
        xi, steps = retrieve(torch_like, stored, xi0, beta)
        xi_e, _ = retrieve(torch_like, stored, xi0, beta, use_einsum=True)
        sims = torch.einsum(
            "bnd,bd->bn", F.normalize(stored, dim=-1), F.normalize(xi.squeeze(-1), dim=-1)
        )
        pred = sims.argmax(dim=-1)
        accuracy = (pred == target).float().mean()
        values += [accuracy.item(), steps, float(torch.allclose(xi, xi_e))]
        values += xi[0].flatten().tolist() + [sims.max().item()]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    values = retrieval_facts(torch_like, rng)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    mask_np = np.zeros((BATCH, SET), dtype=bool)
    mask_np[0, -2:] = True  # padded set elements
    key_padding_mask = as_tensor(torch_like, mask_np)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _step in range(STEPS):
        x = as_tensor(torch_like, rng.standard_normal((BATCH, SET, IN_DIM)))
        y = as_tensor(torch_like, rng.integers(0, CLASSES, BATCH))
        optimizer.zero_grad()
        logits, layer_weights, pool_weights = model(x, key_padding_mask)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.hopfield.lookup_weights.grad.norm().item()]
        values += [*layer_weights.shape, *pool_weights.shape]
        values += [pool_weights[0, :, 0, -2:].abs().sum().item()]  # padded: zero association
        values += pool_weights.sum(-1).flatten().tolist()
    return values


def check(values: list[float]) -> None:
    """Retrieval succeeded at the working beta (all queries, the two rule forms agreeing) and
    failed at the metastable one (the average pattern, similar to none in particular)."""
    assert values[0] == 1.0 and values[2] == 1.0, values[:3]
    assert values[3 + PDIM + 1] < 1.0, values[3 + PDIM + 1]
