"""The PyTorch tutorial "Accelerating PyTorch Transformers by replacing nn.Transformer with
Nested Tensors and torch.compile()" (``intermediate/transformer_building_blocks``) with the
"Getting Started with Nested Tensors" basics (``unstable/nestedtensor``), size-reduced, on the
CPU and trained for a few steps.

The idioms: the tutorial's ``MultiHeadAttention`` (``factory_kwargs = {"device": device,
"dtype": dtype}``, ``self._qkv_same_embed_dim``, one ``packed_proj`` ``nn.Linear(E_q, E_total *
3)``, ``torch.chunk(result, 3, dim=-1)`` for self-attention and ``torch.chunk(self.packed_proj.
weight, 3, dim=0)`` + ``F.linear`` for cross-attention, ``query.unflatten(-1, [self.nheads,
self.E_head]).transpose(1, 2)``, ``F.scaled_dot_product_attention(..., dropout_p=self.dropout,
is_causal=is_causal)``, ``attn_output.transpose(1, 2).flatten(-2)``) run on jagged nested tensors;
``gen_batch``'s ``torch.nested.nested_tensor([torch.randn(l.item(), E_q, ...) for l in
sentence_lengths], layout=torch.jagged)`` from ``zipf_sentence_lengths`` (``np.random.zipf``);
``jagged_to_padded``'s ``torch.nested.nested_tensor(list(jt.unbind()), layout=torch.strided).
to_padded_tensor(padding_val)``; the comparison against ``nn.MultiheadAttention(E_q, nheads,
batch_first=True)`` with weights copied as ``nn.Parameter(vanilla_mha_layer.in_proj_weight.
clone().detach())``, ``key_padding_mask = torch.where(padded_query == 0.0, -math.inf, 0)[:, :,
0]``, ``need_weights=False`` and ``padded_result[i, entry_length:, :] = 0.0``; the basics'
``nt.dim()``, ``nt.layout``, ``nt.is_nested``, ``nt.unbind()``, ``torch.nested.as_nested_tensor``,
``nt.values()``/``nt.offsets()``; a backward pass through the jagged path and SGD steps.

Changed: E 512 -> 8, 8 heads -> 2, batch 512 -> 3, Zipf lengths capped at 4 and drawn from a
seeded NumPy generator (``np.random.zipf`` -> ``Generator.zipf``); the timing (``benchmark``) and
``torch.compile`` parts are left out; a few SGD steps added so the gradients are compared too;
on the CPU the ``query is key`` self-attention path and ``is_causal=True`` have no SDPA backend
for jagged inputs (the tutorial runs on CUDA), so training passes ``q.clone()`` as key/value and
the program records that both refusals happen.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

DTYPE = "float32"
N, E_Q, E_KV, E_TOTAL, NHEADS, STEPS = 3, 8, 6, 8, 2, 3


def _mha_class(torch_like: Any) -> type:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class MultiHeadAttention(nn.Module):
        def __init__(self, E_q: int, E_k: int, E_v: int, E_total: int, nheads: int,
                     dropout: float = 0.0, bias=True, device=None, dtype=None):  # noqa: ANN001 # fmt: skip
            factory_kwargs = {"device": device, "dtype": dtype}
            super().__init__()
            self.nheads = nheads
            self.dropout = dropout
            self._qkv_same_embed_dim = E_q == E_k and E_q == E_v
            if self._qkv_same_embed_dim:
                self.packed_proj = nn.Linear(E_q, E_total * 3, bias=bias, **factory_kwargs)
            else:
                self.q_proj = nn.Linear(E_q, E_total, bias=bias, **factory_kwargs)
                self.k_proj = nn.Linear(E_k, E_total, bias=bias, **factory_kwargs)
                self.v_proj = nn.Linear(E_v, E_total, bias=bias, **factory_kwargs)
            E_out = E_q
            self.out_proj = nn.Linear(E_total, E_out, bias=bias, **factory_kwargs)
            assert E_total % nheads == 0, "Embedding dim is not divisible by nheads"
            self.E_head = E_total // nheads
            self.bias = bias

        def forward(self, query, key, value, attn_mask=None, is_causal=False):  # noqa: ANN001, ANN202
            # Step 1. Apply input projection
            if self._qkv_same_embed_dim:
                if query is key and key is value:
                    result = self.packed_proj(query)
                    query, key, value = torch.chunk(result, 3, dim=-1)
                else:
                    q_weight, k_weight, v_weight = torch.chunk(self.packed_proj.weight, 3, dim=0)
                    if self.bias:
                        q_bias, k_bias, v_bias = torch.chunk(self.packed_proj.bias, 3, dim=0)
                    else:
                        q_bias, k_bias, v_bias = None, None, None
                    query, key, value = (
                        F.linear(query, q_weight, q_bias),
                        F.linear(key, k_weight, k_bias),
                        F.linear(value, v_weight, v_bias),
                    )
            else:
                query = self.q_proj(query)
                key = self.k_proj(key)
                value = self.v_proj(value)
            # Step 2. Split heads and prepare for SDPA
            query = query.unflatten(-1, [self.nheads, self.E_head]).transpose(1, 2)
            key = key.unflatten(-1, [self.nheads, self.E_head]).transpose(1, 2)
            value = value.unflatten(-1, [self.nheads, self.E_head]).transpose(1, 2)
            # Step 3. Run SDPA
            attn_output = F.scaled_dot_product_attention(
                query, key, value, dropout_p=self.dropout, is_causal=is_causal
            )
            attn_output = attn_output.transpose(1, 2).flatten(-2)
            # Step 4. Apply output projection
            attn_output = self.out_proj(attn_output)
            return attn_output

    return MultiHeadAttention


def init_state(tmp_path: Any) -> dict:
    import torch

    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(E_Q, NHEADS, dropout=0.0, batch_first=True, bias=True)
    cross = _mha_class(torch)(E_Q, E_KV, E_KV, E_TOTAL, NHEADS)
    out = {f"vanilla.{k}": v.detach().numpy().copy() for k, v in mha.state_dict().items()}
    out.update({f"cross.{k}": v.detach().numpy().copy() for k, v in cross.state_dict().items()})
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    MultiHeadAttention = _mha_class(torch_like)
    rng = np.random.default_rng(37)

    def zipf_sentence_lengths(alpha: float, batch_size: int) -> Any:
        # generate fake corpus by unigram Zipf distribution
        sentence_lengths = np.minimum(rng.zipf(alpha, size=batch_size), 4)
        return torch.tensor(sentence_lengths)

    def randn(*shape: int) -> Any:
        return as_tensor(torch_like, rng.standard_normal(shape).astype(np.float32))

    def gen_batch(N, E_q, E_k, E_v, device, dtype=torch.float32, query_seq_len_1=False):  # noqa: ANN001, ANN202
        sentence_lengths = zipf_sentence_lengths(alpha=1.2, batch_size=N)
        if query_seq_len_1:
            query = torch.nested.nested_tensor(
                [randn(1, E_q).to(dtype=dtype, device=device) for l in sentence_lengths],  # noqa: E741
                layout=torch.jagged,
            )
        else:
            query = torch.nested.nested_tensor(
                [randn(l.item(), E_q).to(dtype=dtype, device=device) for l in sentence_lengths],  # noqa: E741
                layout=torch.jagged,
            )
        key = torch.nested.nested_tensor(
            [randn(s.item(), E_k).to(dtype=dtype, device=device) for s in sentence_lengths],
            layout=torch.jagged,
        )
        value = torch.nested.nested_tensor(
            [randn(s.item(), E_v).to(dtype=dtype, device=device) for s in sentence_lengths],
            layout=torch.jagged,
        )
        return query, key, value, sentence_lengths

    def jagged_to_padded(jt, padding_val):  # noqa: ANN001, ANN202
        return torch.nested.nested_tensor(list(jt.unbind()), layout=torch.strided).to_padded_tensor(
            padding_val
        )

    values: list[float] = []
    # the basics
    a, b = randn(2, 3), randn(4, 3)
    nt = torch.nested.as_nested_tensor([a, b], layout=torch.jagged)
    assert nt.is_nested and nt.dim() == 3 and nt.layout == torch.jagged
    values += [float(t.shape[0]) for t in nt.unbind()] + nt.offsets().tolist()
    values += nt.values().flatten().tolist()

    # self-attention: the jagged MHA against nn.MultiheadAttention on padded data
    vanilla_mha_layer = nn.MultiheadAttention(E_Q, NHEADS, dropout=0.0, batch_first=True, bias=True)
    vanilla_mha_layer.load_state_dict(
        {k[len("vanilla.") :]: torch.tensor(v) for k, v in init.items() if k.startswith("vanilla.")}
    )
    mha_layer = MultiHeadAttention(E_Q, E_Q, E_Q, E_TOTAL, NHEADS, dropout=0.0, bias=True)
    mha_layer.out_proj.weight = nn.Parameter(vanilla_mha_layer.out_proj.weight.clone().detach())
    mha_layer.packed_proj.weight = nn.Parameter(vanilla_mha_layer.in_proj_weight.clone().detach())
    mha_layer.out_proj.bias = nn.Parameter(vanilla_mha_layer.out_proj.bias.clone().detach())
    mha_layer.packed_proj.bias = nn.Parameter(vanilla_mha_layer.in_proj_bias.clone().detach())

    query, key, value, sentence_lengths = gen_batch(N, E_Q, E_Q, E_Q, "cpu")
    padded_query, padded_key, padded_value = (jagged_to_padded(t, 0.0) for t in (query, key, value))
    key_padding_mask = torch.where(padded_query == 0.0, -math.inf, 0)[:, :, 0]
    padded_result, _ = vanilla_mha_layer(
        padded_query, padded_key, padded_value, key_padding_mask=key_padding_mask,
        need_weights=False,
    )  # fmt: skip
    nested_result = mha_layer(query, key, value)
    padded_nested_result = nested_result.to_padded_tensor(0.0)
    for i, entry_length in enumerate(sentence_lengths):
        padded_result[i, entry_length:, :] = 0.0
    values += padded_result.flatten().tolist() + padded_nested_result.flatten().tolist()
    values.append((padded_result - padded_nested_result).abs().max().item())

    # cross-attention (packed weights split with F.linear) and separate projections, trained
    cross = MultiHeadAttention(E_Q, E_KV, E_KV, E_TOTAL, NHEADS)
    cross.load_state_dict(
        {k[len("cross.") :]: torch.tensor(v) for k, v in init.items() if k.startswith("cross.")}
    )
    params = list(mha_layer.parameters()) + list(cross.parameters())
    optimizer = torch.optim.SGD(params, lr=0.1)
    for _ in range(STEPS):
        q, k, v, _lengths = gen_batch(N, E_Q, E_KV, E_KV, "cpu")
        q2, _, _, _ = gen_batch(N, E_Q, E_Q, E_Q, "cpu", query_seq_len_1=True)
        x = mha_layer(q, q.clone(), q.clone())
        y = cross(x, k, v)
        z = mha_layer(q2, q2.clone(), q2.clone())
        loss = y.values().pow(2).mean() + z.values().abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), mha_layer.packed_proj.weight.grad.norm().item()]
        values += jagged_to_padded(y, -1.0).flatten().tolist()
    # on the CPU (the math backend) two of the tutorial's paths have no SDPA kernel: the
    # self-attention ``query is key`` path (``torch.chunk`` leaves q/k/v non-contiguous after
    # transposing) and ``is_causal=True``; both libraries refuse them alike
    for call in (lambda: mha_layer(q, q, q), lambda: mha_layer(q, q.clone(), q, is_causal=True)):
        try:
            call()
            values.append(0.0)
        except RuntimeError as e:
            assert str(e) == "No viable backend for scaled_dot_product_attention was found.", e
            values.append(1.0)
    return values
