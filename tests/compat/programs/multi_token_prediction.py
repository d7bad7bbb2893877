"""Multi-token prediction, the two ways 2024-25 LLMs train it: DeepSeek-V3's sequential MTP
modules (deepseek-ai/DeepSeek-V3, ``inference/model.py`` and the report's section 2.2, as the
open re-implementations write the training side) and Meta's parallel heads with the
memory-saving sequential backward (Gloeckle et al. 2024, "Better & Faster Large Language Models
via Multi-token Prediction", its appendix's pseudo-code), on a tiny causal LM.

The idioms kept: DeepSeek's MTP module per depth ``k`` (``self.proj(torch.cat([self.hnorm(h),
self.enorm(self.embed(tokens[:, k:]))], dim=-1))`` with ``nn.RMSNorm``, a transformer block, the
shared embedding and output head), the shifted targets ``tokens[:, k + 1 :]`` with ``h[:,
:-1]`` carried to the next depth, ``loss = main + mtp_lambda * torch.stack(mtp_losses).mean()``;
Meta's heads over a shared trunk with the trunk output cut from the graph (``z =
trunk_out.detach().requires_grad_(True)``), one ``loss_i.backward()`` per head (each freeing
its logits), then ``trunk_out.backward(gradient=z.grad)``, checked to give the gradients of the
summed loss in one ``backward()`` (``torch.allclose`` over ``named_parameters``); self-speculative
decoding with the extra heads (``torch.argmax``, accepted while the main head agrees) under
``torch.inference_mode()``; ``clip_grad_norm_`` and ``AdamW``.

Changed: width 16, 2 heads, one trunk block, MTP depth 2 / 3 parallel heads, sequences of 8, 4
steps each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, SEQ, BATCH, DEPTH, HEADS, STEPS, MTP_LAMBDA = 13, 16, 8, 3, 2, 3, 4, 0.3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def block() -> Any:
        return nn.TransformerEncoderLayer(DIM, 2, 32, dropout=0.0, batch_first=True,
                                          norm_first=True)  # fmt: skip

    class MTPModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hnorm = nn.RMSNorm(DIM)
            self.enorm = nn.RMSNorm(DIM)
            self.proj = nn.Linear(2 * DIM, DIM, bias=False)
            self.block = block()

        def forward(self, h: Any, emb: Any, mask: Any) -> Any:
            x = self.proj(torch_like.cat([self.hnorm(h), self.enorm(emb)], dim=-1))
            return self.block(x, src_mask=mask, is_causal=True)

    class MTPModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.trunk = block()
            self.norm = nn.RMSNorm(DIM)
            self.head = nn.Linear(DIM, VOCAB, bias=False)
            self.mtp = nn.ModuleList([MTPModule() for _ in range(DEPTH)])
            self.extra_heads = nn.ModuleList([block() for _ in range(HEADS - 1)])

        def trunk_forward(self, tokens: Any) -> Any:
            mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1])
            return self.trunk(self.embed(tokens), src_mask=mask, is_causal=True)

    return MTPModel()


def deepseek_loss(torch: Any, model: Any, tokens: Any) -> tuple[Any, Any]:
    F = torch.nn.functional
    h = model.trunk_forward(tokens[:, :-1])
    main = F.cross_entropy(model.head(model.norm(h)).flatten(0, 1), tokens[:, 1:].flatten())
    mtp_losses = []
    for k, module in enumerate(model.mtp, start=1):
        h = h[:, :-1]
        n = h.shape[1]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(n)
        h = module(h, model.embed(tokens[:, k : k + n]), mask)
        logits = model.head(model.norm(h))
        mtp_losses.append(F.cross_entropy(logits.flatten(0, 1), tokens[:, k + 1 :].flatten()))
    return main + MTP_LAMBDA * torch.stack(mtp_losses).mean(), main


def head_losses(torch: Any, model: Any, z: Any, tokens: Any) -> list[Any]:
    """Loss of head i (0: the main head) predicting token t + i + 1 from position t."""
    F = torch.nn.functional
    mask = torch.nn.Transformer.generate_square_subsequent_mask(z.shape[1])
    losses = []
    for i in range(HEADS):
        h = z if i == 0 else model.extra_heads[i - 1](z, src_mask=mask, is_causal=True)
        n = SEQ - i
        logits = model.head(model.norm(h[:, :n]))
        losses.append(F.cross_entropy(logits.flatten(0, 1), tokens[:, i + 1 : i + 1 + n].flatten()))
    return losses


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(77)

    def batch() -> Any:
        start = rng.integers(0, VOCAB, (BATCH, 1))
        return as_tensor(torch, (start * np.arange(1, SEQ + 2 + HEADS)) % VOCAB)

    values: list[float] = []
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    for _ in range(STEPS):  # DeepSeek-V3's sequential MTP
        loss, main = deepseek_loss(torch, model, batch()[:, : SEQ + 1])
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), main.item(), norm.item()]
    for step in range(STEPS):  # Meta's parallel heads, sequential backward
        tokens = batch()
        optimizer.zero_grad()
        trunk_out = model.trunk_forward(tokens[:, :SEQ])
        z = trunk_out.detach().requires_grad_(True)
        total = 0.0
        for loss_i in head_losses(torch, model, z, tokens):
            loss_i.backward()
            total += loss_i.item()
        trunk_out.backward(gradient=z.grad)
        if step == 0:  # the same gradients as one backward of the summed loss
            grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
            model.zero_grad()
            sum(head_losses(torch, model, model.trunk_forward(tokens[:, :SEQ]), tokens)).backward()
            same = all(torch.allclose(grads[n], p.grad) for n, p in model.named_parameters()
                       if p.grad is not None)  # fmt: skip
            values.append(float(same and len(grads) > 0))
        optimizer.step()
        values.append(total)
    # self-speculative decoding: the extra heads draft, the main head verifies
    model.eval()
    with torch.inference_mode():
        seq = batch()[:1, :4]
        accepted = 0
        for _ in range(3):
            z = model.trunk_forward(seq)
            mask = torch.nn.Transformer.generate_square_subsequent_mask(z.shape[1])
            drafts = [torch.argmax(model.head(model.norm(z[:, -1])), dim=-1)]
            for extra in model.extra_heads:
                h = extra(z, src_mask=mask, is_causal=True)
                drafts.append(torch.argmax(model.head(model.norm(h[:, -1])), dim=-1))
            seq = torch.cat([seq, drafts[0][:, None]], dim=1)
            for draft in drafts[1:]:
                check = torch.argmax(model.head(model.norm(model.trunk_forward(seq)[:, -1])), -1)
                if not torch.equal(check, draft):
                    break
                seq = torch.cat([seq, draft[:, None]], dim=1)
                accepted += 1
        values += seq.flatten().tolist() + [accepted]
    return values
