"""BatchTopK and Matryoshka sparse autoencoders (Bussmann, Leask and Nanda, "BatchTopK Sparse
Autoencoders", 2024, and "Learning Multi-Level Features with Matryoshka SAEs", 2025; the
``bartbussmann/BatchTopK`` and ``matryoshka_sae`` training code), trained on synthetic sparse
activations.

The idioms kept: BatchTopK's selection across the whole batch, ``acts_topk =
torch.topk(acts.flatten(), self.top_k * x.shape[0], dim=-1)`` and ``torch.zeros_like(
acts.flatten()).scatter(-1, acts_topk.indices, acts_topk.values).reshape(acts.shape)``; the
inference threshold learned as a running average of the smallest kept activation
(``self.threshold = (1 - lr) * self.threshold + lr * min_positive``, a ``register_buffer``,
updated under ``torch.no_grad()``) and the JumpReLU-style ``acts * (acts > self.threshold)``
in ``eval()``; Matryoshka's nested groups (``group_sizes``, ``torch.cumsum`` of their sizes
as ``group_indices``), each prefix of the dictionary reconstructing the input on its own
(``x_reconstruct = acts[:, :end] @ self.W_dec[:end] + self.b_dec``) and the loss summed over
prefixes; the auxiliary dead-latent loss (``num_batches_not_active``, ``dead_features =
self.num_batches_not_active >= self.n_batches_to_dead`` and a top-k over the dead latents'
pre-activations fitting the residual); the decoder kept unit-norm with
``W_dec_normed = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)``, the parallel gradient
removed (``W_dec_grad_proj = (self.W_dec.grad * W_dec_normed).sum(-1, keepdim=True) *
W_dec_normed``) and ``self.W_dec.data = W_dec_normed``; ``l0_norm = (acts > 0).float()
.sum(-1).mean()``.

Changed: 8-dimensional inputs, 16 latents in Matryoshka groups 4/4/8, top-k 2 per sample,
batches of 16, 5 Adam steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

D_IN, D_SAE, TOP_K, BATCH, STEPS, GROUPS, AUX_K, TO_DEAD = 8, 16, 2, 16, 5, (4, 4, 8), 4, 2


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(47)
    features = rng.standard_normal((24, D_IN))
    codes = rng.exponential(1.0, (STEPS + 1, BATCH, 24)) * (rng.random((STEPS + 1, BATCH, 24))
                                                            < 0.12)  # fmt: skip
    w_dec = rng.standard_normal((D_SAE, D_IN))
    return {"data": codes @ features, "W_dec": w_dec / np.linalg.norm(w_dec, axis=1,
                                                                       keepdims=True)}  # fmt: skip


def make_sae(torch: Any, init: dict) -> Any:
    nn = torch.nn

    class MatryoshkaBatchTopKSAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.W_dec = nn.Parameter(as_tensor(torch, init["W_dec"]))
            self.W_enc = nn.Parameter(self.W_dec.data.t().clone())
            self.b_enc = nn.Parameter(torch.zeros(D_SAE))
            self.b_dec = nn.Parameter(torch.zeros(D_IN))
            self.group_indices = [0] + torch.cumsum(torch.tensor(GROUPS), 0).tolist()
            self.register_buffer("threshold", torch.tensor(0.0))
            self.register_buffer("num_batches_not_active", torch.zeros(D_SAE))

        def forward(self, x: Any) -> dict:
            pre = torch.relu((x - self.b_dec) @ self.W_enc + self.b_enc)
            if self.training:
                acts_topk = torch.topk(pre.flatten(), TOP_K * x.shape[0], dim=-1)
                flat = torch.zeros_like(pre.flatten())
                acts = flat.scatter(-1, acts_topk.indices, acts_topk.values).reshape(pre.shape)
                with torch.no_grad():
                    positive = acts[acts > 0]
                    if positive.numel():
                        self.threshold.mul_(0.9).add_(0.1 * positive.min())
                    self.num_batches_not_active += (acts.sum(0) == 0).float()
                    self.num_batches_not_active[acts.sum(0) > 0] = 0
            else:
                acts = pre * (pre > self.threshold)
            recons, losses = [], []
            for end in self.group_indices[1:]:
                x_reconstruct = acts[:, :end] @ self.W_dec[:end] + self.b_dec
                recons.append(x_reconstruct)
                losses.append((x_reconstruct - x).pow(2).mean())
            residual = x - recons[-1].detach()
            dead = self.num_batches_not_active >= TO_DEAD
            aux = x.new_zeros(())
            if self.training and dead.sum() > 0:
                k = min(AUX_K, int(dead.sum()))
                dead_pre = pre[:, dead]
                top = torch.topk(dead_pre, k, dim=-1)
                aux_acts = torch.zeros_like(dead_pre).scatter(-1, top.indices, top.values)
                aux = (aux_acts @ self.W_dec[dead] - residual).pow(2).mean()
            l0_norm = (acts > 0).float().sum(-1).mean()
            loss = torch.stack(losses).sum() + 0.1 * aux
            return {"loss": loss, "losses": losses, "aux": aux, "acts": acts, "l0_norm": l0_norm}

        @torch.no_grad()
        def make_decoder_weights_and_grad_unit_norm(self) -> None:
            W_dec_normed = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)
            W_dec_grad_proj = (self.W_dec.grad * W_dec_normed).sum(-1, keepdim=True) * W_dec_normed
            self.W_dec.grad -= W_dec_grad_proj
            self.W_dec.data = W_dec_normed

    return MatryoshkaBatchTopKSAE()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    data = as_tensor(torch, init["data"])
    sae = make_sae(torch, init)
    optimizer = torch.optim.Adam(sae.parameters(), lr=1e-2)
    values: list[float] = []
    for step in range(STEPS):
        out = sae(data[step])
        optimizer.zero_grad()
        out["loss"].backward()
        sae.make_decoder_weights_and_grad_unit_norm()
        optimizer.step()
        values += [out["loss"].item(), out["aux"].item(), out["l0_norm"].item()]
        values += [loss.item() for loss in out["losses"]] + [sae.threshold.item()]
    sae.eval()
    with torch.no_grad():
        out = sae(data[STEPS])
    values += [out["l0_norm"].item(), out["losses"][-1].item()]
    return values + [float(sae.num_batches_not_active.sum())]
