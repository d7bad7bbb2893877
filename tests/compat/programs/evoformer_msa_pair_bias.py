"""AlphaFold 2's Evoformer MSA stack (Algorithms 7, 8, 10 of the supplement) as
aqlaboratory/openfold writes it (``openfold/model/msa.py``: ``MSARowAttentionWithPairBias``,
``MSAColumnGlobalAttention``; ``openfold/model/primitives.py``: ``Attention``,
``GlobalAttention``, ``_attention``; ``openfold/model/outer_product_mean.py``;
``openfold/utils/tensor_utils.py``), size-reduced.

The idioms: ``permute_final_dims`` (``zero_index = -1 * len(inds)``, ``first_inds =
list(range(len(tensor.shape[:zero_index])))``, ``tensor.permute(first_inds + [zero_index + i for i
in inds])``) and ``flatten_final_dims`` (``t.reshape(t.shape[:-no_dims] + (-1,))``); the mask bias
``(self.inf * (mask - 1))[..., :, None, None, :]``; the pair bias ``z = self.layer_norm_z(z)``,
``self.linear_z(z)``, ``permute_final_dims(z, (2, 0, 1)).unsqueeze(-4)``; ``Attention._prep_qkv``
(``q.view(q.shape[:-1] + (self.no_heads, -1))``, ``.transpose(-2, -3)``, ``q /=
math.sqrt(self.c_hidden)``); ``_attention`` (``torch.matmul(query, key)`` with ``key =
permute_final_dims(key, (1, 0))``, ``for b in biases: a += b``, ``softmax_no_cast(a, -1)``,
``torch.matmul(a, value)``); the gate (``g = self.sigmoid(self.linear_g(q_x))``,
``g.view(g.shape[:-1] + (self.no_heads, -1))``, ``o = o * g``); ``GlobalAttention`` (``q =
torch.sum(m * mask.unsqueeze(-1), dim=-2) / (torch.sum(mask, dim=-1)[..., None] + self.eps)``,
``bias = (self.inf * (mask - 1))[..., :, None, :]``, ``torch.matmul(q, k.transpose(-1, -2))``, the
per-sequence gate ``g.view(g.shape[:-1] + (self.no_heads, -1))``, ``o.unsqueeze(-3) * g``), run on
the MSA transposed with ``m.transpose(-2, -3)``; ``OuterProductMean`` (``a = a * mask``, ``outer =
torch.einsum("...bac,...dae->...bdce", a, b)``, ``outer.reshape(outer.shape[:-2] + (-1,))``, ``norm
= torch.einsum("...abc,...adc->...bdc", mask, mask)``, ``outer / (self.eps + norm)``); the
``"final"`` init (``nn.init.zeros_``) and gating init (``weight.fill_(0.0)``, ``bias.fill_(1.0)``
under ``torch.no_grad()``), ``LayerNorm``s; the stack's residual updates with a masked MSA and a
masked residue; a masked-MSA loss (``F.cross_entropy`` over the hidden positions, weighted by the
mask) and a distogram loss on the pair representation, trained with ``Adam`` and
``clip_grad_norm_``.

Changed: ``c_m`` 256 -> 6, ``c_z`` 128 -> 4, 2 heads of 3, 3 sequences of 4 residues, 1 block, 3
steps; no chunking (``chunk_layer``) and no dropout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

C_M, C_Z, C_HIDDEN, NO_HEADS, N_SEQ, N_RES, MSA_CLASSES, N_BINS, STEPS = 6, 4, 3, 2, 3, 4, 5, 3, 3
INF = 1e9


def permute_final_dims(tensor: Any, inds: list) -> Any:
    zero_index = -1 * len(inds)
    first_inds = list(range(len(tensor.shape[:zero_index])))
    return tensor.permute(first_inds + [zero_index + i for i in inds])


def flatten_final_dims(t: Any, no_dims: int) -> Any:
    return t.reshape(t.shape[:-no_dims] + (-1,))


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def softmax_no_cast(t: Any, dim: int = -1) -> Any:
        return torch.nn.functional.softmax(t, dim=dim)

    def _attention(query: Any, key: Any, value: Any, biases: list) -> Any:
        key = permute_final_dims(key, (1, 0))
        a = torch.matmul(query, key)
        for b in biases:
            a += b
        a = softmax_no_cast(a, -1)
        a = torch.matmul(a, value)
        return a

    class Linear(nn.Linear):
        def __init__(
            self, in_dim: int, out_dim: int, bias: bool = True, init: str = "default"
        ) -> None:
            super().__init__(in_dim, out_dim, bias=bias)
            with torch.no_grad():
                if init == "final":
                    nn.init.zeros_(self.weight)
                elif init == "gating":
                    self.weight.fill_(0.0)
                else:
                    nn.init.xavier_uniform_(self.weight, gain=1)
                if bias and init != "gating":
                    self.bias.fill_(0)
                elif bias:
                    self.bias.fill_(1.0)

    class Attention(nn.Module):
        def __init__(self, c_q: int, c_k: int, c_v: int, c_hidden: int, no_heads: int) -> None:
            super().__init__()
            self.c_hidden, self.no_heads = c_hidden, no_heads
            self.linear_q = Linear(c_q, c_hidden * no_heads, bias=False)
            self.linear_k = Linear(c_k, c_hidden * no_heads, bias=False)
            self.linear_v = Linear(c_v, c_hidden * no_heads, bias=False)
            self.linear_o = Linear(c_hidden * no_heads, c_q, init="final")
            self.linear_g = Linear(c_q, c_hidden * no_heads, init="gating")
            self.sigmoid = nn.Sigmoid()

        def _prep_qkv(self, q_x: Any, kv_x: Any) -> tuple:
            q = self.linear_q(q_x)
            k = self.linear_k(kv_x)
            v = self.linear_v(kv_x)
            q = q.view(q.shape[:-1] + (self.no_heads, -1))
            k = k.view(k.shape[:-1] + (self.no_heads, -1))
            v = v.view(v.shape[:-1] + (self.no_heads, -1))
            q = q.transpose(-2, -3)
            k = k.transpose(-2, -3)
            v = v.transpose(-2, -3)
            q /= math.sqrt(self.c_hidden)
            return q, k, v

        def forward(self, q_x: Any, kv_x: Any, biases: list) -> Any:
            q, k, v = self._prep_qkv(q_x, kv_x)
            o = _attention(q, k, v, biases)
            o = o.transpose(-2, -3)
            g = self.sigmoid(self.linear_g(q_x))
            g = g.view(g.shape[:-1] + (self.no_heads, -1))
            o = o * g
            o = flatten_final_dims(o, 2)
            return self.linear_o(o)

    class MSARowAttentionWithPairBias(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer_norm_m = nn.LayerNorm(C_M)
            self.layer_norm_z = nn.LayerNorm(C_Z)
            self.linear_z = Linear(C_Z, NO_HEADS, bias=False, init="normal")
            self.mha = Attention(C_M, C_M, C_M, C_HIDDEN, NO_HEADS)

        def forward(self, m: Any, z: Any, mask: Any) -> Any:
            mask_bias = (INF * (mask - 1))[..., :, None, None, :]
            z = self.layer_norm_z(z)
            z = self.linear_z(z)
            z = permute_final_dims(z, (2, 0, 1)).unsqueeze(-4)
            m = self.layer_norm_m(m)
            return self.mha(q_x=m, kv_x=m, biases=[mask_bias, z])

    class GlobalAttention(nn.Module):
        def __init__(self, c_in: int, c_hidden: int, no_heads: int, eps: float) -> None:
            super().__init__()
            self.c_hidden, self.no_heads, self.eps = c_hidden, no_heads, eps
            self.linear_q = Linear(c_in, c_hidden * no_heads, bias=False)
            self.linear_k = Linear(c_in, c_hidden, bias=False)
            self.linear_v = Linear(c_in, c_hidden, bias=False)
            self.linear_g = Linear(c_in, c_hidden * no_heads, init="gating")
            self.linear_o = Linear(c_hidden * no_heads, c_in, init="final")
            self.sigmoid = nn.Sigmoid()

        def forward(self, m: Any, mask: Any) -> Any:
            q = torch.sum(m * mask.unsqueeze(-1), dim=-2) / (
                torch.sum(mask, dim=-1)[..., None] + self.eps
            )
            q = self.linear_q(q)
            q *= self.c_hidden ** (-0.5)
            q = q.view(q.shape[:-1] + (self.no_heads, -1))
            k = self.linear_k(m)
            v = self.linear_v(m)
            bias = (INF * (mask - 1))[..., :, None, :]
            a = torch.matmul(q, k.transpose(-1, -2))
            a += bias
            a = softmax_no_cast(a)
            o = torch.matmul(a, v)
            g = self.sigmoid(self.linear_g(m))
            g = g.view(g.shape[:-1] + (self.no_heads, -1))
            o = o.unsqueeze(-3) * g
            o = o.reshape(o.shape[:-2] + (-1,))
            return self.linear_o(o)

    class MSAColumnGlobalAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer_norm_m = nn.LayerNorm(C_M)
            self.global_attention = GlobalAttention(C_M, C_HIDDEN, NO_HEADS, eps=1e-10)

        def forward(self, m: Any, mask: Any) -> Any:
            m = m.transpose(-2, -3)
            mask = mask.transpose(-1, -2)
            m = self.layer_norm_m(m)
            m = self.global_attention(m=m, mask=mask)
            return m.transpose(-2, -3)

    class OuterProductMean(nn.Module):
        def __init__(self, c_hidden: int = 2, eps: float = 1e-3) -> None:
            super().__init__()
            self.eps = eps
            self.layer_norm = nn.LayerNorm(C_M)
            self.linear_1 = Linear(C_M, c_hidden)
            self.linear_2 = Linear(C_M, c_hidden)
            self.linear_out = Linear(c_hidden**2, C_Z, init="final")

        def forward(self, m: Any, mask: Any) -> Any:
            ln = self.layer_norm(m)
            mask = mask.unsqueeze(-1)
            a = self.linear_1(ln)
            a = a * mask
            b = self.linear_2(ln)
            b = b * mask
            a = a.transpose(-2, -3)
            b = b.transpose(-2, -3)
            outer = torch.einsum("...bac,...dae->...bdce", a, b)
            outer = outer.reshape(outer.shape[:-2] + (-1,))
            outer = self.linear_out(outer)
            norm = torch.einsum("...abc,...adc->...bdc", mask, mask)
            norm = norm + self.eps
            outer = outer / norm
            return outer

    class EvoformerLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.msa_emb = nn.Linear(MSA_CLASSES, C_M)
            self.pair_emb = nn.Embedding(2 * N_RES - 1, C_Z)
            self.msa_att_row = MSARowAttentionWithPairBias()
            self.msa_att_col = MSAColumnGlobalAttention()
            self.msa_transition = nn.Sequential(
                nn.LayerNorm(C_M), nn.Linear(C_M, 2 * C_M), nn.ReLU(), nn.Linear(2 * C_M, C_M)
            )
            self.outer_product_mean = OuterProductMean()
            self.masked_msa_head = nn.Linear(C_M, MSA_CLASSES)
            self.distogram_head = nn.Linear(C_Z, N_BINS)

        def forward(self, msa_feat: Any, msa_mask: Any, relpos: Any) -> tuple:
            m = self.msa_emb(msa_feat)
            z = self.pair_emb(relpos)
            m = m + self.msa_att_row(m, z, msa_mask)
            m = m + self.msa_att_col(m, msa_mask)
            m = m + self.msa_transition(m)
            z = z + self.outer_product_mean(m, msa_mask)
            logits = self.distogram_head(z)
            logits = logits + logits.transpose(-2, -3)
            return self.masked_msa_head(m), logits

    return EvoformerLite()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, eps=1e-6)
    rng = np.random.default_rng(3)
    idx = np.arange(N_RES)
    relpos = as_tensor(torch, idx[:, None] - idx[None, :] + N_RES - 1)
    values: list[float] = []
    for _ in range(STEPS):
        true_msa = rng.integers(0, MSA_CLASSES - 1, (N_SEQ, N_RES))
        bert_mask = rng.random((N_SEQ, N_RES)) < 0.3
        bert_mask[0, 1] = True
        shown = np.where(bert_mask, MSA_CLASSES - 1, true_msa)
        msa_mask = np.ones((N_SEQ, N_RES))
        msa_mask[2, 3] = 0.0
        msa_feat = as_tensor(torch, np.eye(MSA_CLASSES)[shown])
        mask_t = as_tensor(torch, msa_mask)
        msa_logits, dist_logits = model(msa_feat, mask_t, relpos)
        errors = F.cross_entropy(
            msa_logits.reshape(-1, MSA_CLASSES),
            as_tensor(torch, true_msa).reshape(-1),
            reduction="none",
        )
        weight = as_tensor(torch, (bert_mask * msa_mask).reshape(-1))
        msa_loss = torch.sum(errors * weight) / (1e-8 + torch.sum(weight))
        bins = as_tensor(torch, np.minimum(np.abs(idx[:, None] - idx[None, :]), N_BINS - 1))
        dist_loss = F.cross_entropy(dist_logits.reshape(-1, N_BINS), bins.reshape(-1))
        loss = msa_loss + 0.3 * dist_loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        values.extend([msa_loss.item(), dist_loss.item()])
    return values
