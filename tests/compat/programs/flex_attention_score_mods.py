"""The FlexAttention blog post and tutorial ("FlexAttention: The Flexibility of PyTorch with the
Performance of FlashAttention", pytorch.org, and pytorch-labs/attention-gym's
``examples/flex_attn.ipynb``), size-reduced: ``from torch.nn.attention.flex_attention import
flex_attention, create_block_mask, and_masks, or_masks``; the score modifications ``noop``,
``relative_positional`` (``score + (q_idx - kv_idx)``), ``generate_alibi_bias`` (``torch.exp2``
of the per-head slopes, indexed ``alibi_bias[h]`` inside the score mod), ``tanh_softcap``
(``score / softcap``, ``torch.tanh``, ``* softcap``) and ``causal`` (``torch.where(q_idx >=
kv_idx, score, -float("inf"))``); the mask mods ``causal_mask``, ``sliding_window_causal``
(``causal_mask & window_mask``), the prefix-LM ``or_masks(prefix_mask, causal_mask)`` reading
``prefix_length[b]``, and ``document_causal_mask`` reading ``document_id[q_idx] ==
document_id[kv_idx]``, each through ``create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN,
device=...)``; ``flex_attention(query, key, value, score_mod=..., block_mask=...)`` checked
against ``F.scaled_dot_product_attention`` with the equivalent ``attn_mask``, as the
attention-gym ``test_mask`` helper does, and a small attention layer trained with the
sliding-window mask in front.

Changed: B=4, H=16, S=8192 -> B=2, H=2, S=16 on the CPU (``device="cpu"``); PyTorch's CPU
FlexAttention has no backward, so the trained part runs the projections and the head under
autograd and the FlexAttention call on detached inputs (the tutorial's ``torch.compile`` is
dropped: eager mode).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

DTYPE = "float32"


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    flex = importlib.import_module(f"{torch.__name__}.nn.attention.flex_attention")
    flex_attention, create_block_mask = flex.flex_attention, flex.create_block_mask
    and_masks, or_masks = flex.and_masks, flex.or_masks
    rng = np.random.default_rng(11)
    B, H, S, D = 2, 2, 16, 8

    def randn(*shape: int) -> Any:
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))

    query, key, value = randn(B, H, S, D), randn(B, H, S, D), randn(B, H, S, D)
    values: list[float] = []

    def noop(score, b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        return score

    def relative_positional(score, b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        return score + (q_idx - kv_idx)

    def generate_alibi_bias(H: int) -> Any:
        alibi_bias = []
        for h in range(H):
            alibi_bias.append(-((h + 1) * 8.0 / H))
        alibi_bias = torch.tensor(alibi_bias)
        alibi_bias = torch.exp2(alibi_bias)
        return alibi_bias

    alibi_bias = generate_alibi_bias(H)

    def alibi(score, b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        bias = alibi_bias[h] * (kv_idx - q_idx)
        return score + bias

    softcap = 2

    def tanh_softcap(score, b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        score = score / softcap
        score = torch.tanh(score)
        score = score * softcap
        return score

    def causal(score, b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        return torch.where(q_idx >= kv_idx, score, -float("inf"))

    for score_mod in (noop, relative_positional, alibi, tanh_softcap, causal):
        out = flex_attention(query, key, value, score_mod=score_mod)
        values += [out.sum().item(), out.abs().max().item()]

    # the reference for relative_positional, written out
    pos = torch.arange(S)
    scores = query @ key.transpose(-2, -1) / (D**0.5) + (pos[:, None] - pos[None, :])
    ref = torch.softmax(scores, dim=-1) @ value
    values.append(
        (ref - flex_attention(query, key, value, score_mod=relative_positional)).abs().max().item()
    )

    def causal_mask(b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        return q_idx >= kv_idx

    SLIDING_WINDOW = 4

    def sliding_window_causal(b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        causal_mask = q_idx >= kv_idx
        window_mask = q_idx - kv_idx <= SLIDING_WINDOW
        return causal_mask & window_mask

    prefix_length = torch.tensor([3, 6])

    def prefix_mask(b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        return kv_idx <= prefix_length[b]

    prefix_lm_causal = or_masks(prefix_mask, causal_mask)
    document_id = torch.zeros(S, dtype=torch.int)
    document_id[5:11] = 1
    document_id[11:] = 2

    def document_causal_mask(b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        causal_mask = q_idx >= kv_idx
        document_mask = document_id[q_idx] == document_id[kv_idx]
        return causal_mask & document_mask

    def not_first(b, h, q_idx, kv_idx):  # noqa: ANN001, ANN202
        return kv_idx > 0

    cases = [
        (causal_mask, None),
        (sliding_window_causal, None),
        (prefix_lm_causal, B),
        (document_causal_mask, None),
        (and_masks(causal_mask, not_first, sliding_window_causal), None),
    ]
    b_idx = torch.arange(B)[:, None, None, None]
    q_idx = torch.arange(S)[None, None, :, None]
    kv_idx = torch.arange(S)[None, None, None, :]
    for mask_mod, batch in cases:
        block_mask = create_block_mask(mask_mod, B=batch, H=None, Q_LEN=S, KV_LEN=S, device="cpu")
        values.append(block_mask.shape[0])
        out = flex_attention(query, key, value, block_mask=block_mask)
        # attention-gym's test_mask: the dense mask through SDPA
        dense = mask_mod(b_idx, torch.zeros(1, dtype=torch.long), q_idx, kv_idx)
        ref = F.scaled_dot_product_attention(query, key, value, attn_mask=dense)
        values += [out.sum().item(), (out - ref).abs().max().item()]
    out, aux = flex_attention(query, key, value, block_mask=create_block_mask(
        causal_mask, None, None, S, S, device="cpu"),
        return_aux=flex.AuxRequest(lse=True))  # fmt: skip
    values += [aux.lse.sum().item(), aux.lse.shape[-1], out.sum().item()]

    # a small attention layer trained around the (detached) FlexAttention call
    torch.manual_seed(0)
    proj = torch.nn.Linear(D, 3 * D)
    head = torch.nn.Linear(D, 1)
    opt = torch.optim.Adam(list(proj.parameters()) + list(head.parameters()), lr=1e-2)
    block_mask = create_block_mask(sliding_window_causal, None, None, S, S, device="cpu")
    x = randn(B, H, S, D)
    y = randn(B, H, S, 1)
    for _ in range(3):
        q, k, v = proj(x).chunk(3, dim=-1)
        with torch.no_grad():
            attn = flex_attention(q.detach(), k.detach(), v.detach(), block_mask=block_mask)
        out = attn + 0.1 * (q * k).sum(-1, keepdim=True) * v
        loss = F.mse_loss(head(out), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    return values
