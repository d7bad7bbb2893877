"""Selective activation checkpointing (PyTorch 2.4+'s ``create_selective_checkpoint_contexts``,
as torchtitan's ``apply_ac`` with ``mode="selective"`` and the "Current and New Activation
Checkpointing Techniques in PyTorch" post write it): transformer blocks whose matrix products
are saved while the cheap pointwise ops are recomputed in backward, beside full non-reentrant
checkpointing and no checkpointing, all three giving the same gradients.

The idioms kept: ``from torch.utils.checkpoint import checkpoint, CheckpointPolicy,
create_selective_checkpoint_contexts``; ``ops_to_save = [torch.ops.aten.mm.default,
torch.ops.aten.addmm.default]``; ``def policy_fn(ctx, op, *args, **kwargs)`` returning
``CheckpointPolicy.MUST_SAVE`` for those ops and ``CheckpointPolicy.PREFER_RECOMPUTE``
otherwise; ``context_fn = functools.partial(create_selective_checkpoint_contexts,
policy_fn)``; ``checkpoint(block, x, use_reentrant=False, context_fn=context_fn)``; the list
form ``create_selective_checkpoint_contexts(ops_to_save)``; torchtitan's
``CheckpointWrapper``-free wrapping as a module whose ``forward`` calls ``checkpoint``; the
gradients of the three modes compared with ``torch.allclose``.

Changed: width 16, 2 blocks, batches of 4 sequences of 6, 3 AdamW steps.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, BLOCKS, SEQ, BATCH, STEPS = 16, 2, 6, 4, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(DIM)
            self.attn = nn.MultiheadAttention(DIM, 2, batch_first=True)
            self.norm2 = nn.LayerNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 4 * DIM), nn.GELU(), nn.Linear(4 * DIM, DIM))

        def forward(self, x: Any) -> Any:
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class CheckpointedBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block()
            self.mode = "none"

        def forward(self, x: Any) -> Any:
            ckpt = torch.utils.checkpoint
            if self.mode == "none":
                return self.block(x)
            if self.mode == "full":
                return ckpt.checkpoint(self.block, x, use_reentrant=False)
            ops_to_save = [torch.ops.aten.mm.default, torch.ops.aten.addmm.default]
            if self.mode == "list":
                context_fn = functools.partial(ckpt.create_selective_checkpoint_contexts,
                                               ops_to_save)  # fmt: skip
            else:

                def policy_fn(ctx: Any, op: Any, *args: Any, **kwargs: Any) -> Any:
                    if op in ops_to_save:
                        return ckpt.CheckpointPolicy.MUST_SAVE
                    return ckpt.CheckpointPolicy.PREFER_RECOMPUTE

                context_fn = functools.partial(ckpt.create_selective_checkpoint_contexts,
                                               policy_fn)  # fmt: skip
            return ckpt.checkpoint(self.block, x, use_reentrant=False, context_fn=context_fn)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([CheckpointedBlock() for _ in range(BLOCKS)])
            self.head = nn.Linear(DIM, 1)

        def set_mode(self, mode: str) -> None:
            for b in self.blocks:
                b.mode = mode

        def forward(self, x: Any) -> Any:
            for b in self.blocks:
                x = b(x)
            return self.head(x).mean()

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(41)
    values: list[float] = []
    for _ in range(STEPS):
        x = as_tensor(torch, rng.standard_normal((BATCH, SEQ, DIM)))
        grads = {}
        for mode in ("none", "full", "list", "policy"):
            model.set_mode(mode)
            optimizer.zero_grad()
            loss = model(x)
            loss.backward()
            grads[mode] = [p.grad.clone() for p in model.parameters()]
        same = all(torch.allclose(a, b) for mode in ("full", "list", "policy")
                   for a, b in zip(grads["none"], grads[mode], strict=True))  # fmt: skip
        optimizer.step()
        values += [loss.item(), float(same), grads["policy"][0].norm().item()]
    return values
