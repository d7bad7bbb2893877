"""A JumpReLU sparse autoencoder (Gemma Scope; the pseudo-code of Rajamanoharan et al. 2024,
"Jumping Ahead", and SAELens' ``JumpReLUTrainingSAE``), trained on synthetic sparse
"activations" with its straight-through threshold gradients.

The idioms kept: the ``rectangle`` kernel ``((x > -0.5) & (x < 0.5)).to(x)``; ``Step`` and
``JumpReLU`` as ``torch.autograd.Function`` written in the new style (``forward`` without
``ctx``, ``setup_context(ctx, inputs, output)`` unpacking ``x, threshold, bandwidth = inputs``,
``del output``, ``ctx.save_for_backward(x, threshold)``, ``ctx.bandwidth = bandwidth``) whose
backward returns ``None`` for the inputs it does not differentiate and the pseudo-derivative
``torch.sum(-(threshold / bandwidth) * rectangle((x - threshold) / bandwidth) * grad_output,
dim=0)``; ``threshold = torch.exp(self.log_threshold)``; the L0 penalty ``Step.apply(...)
.sum(dim=-1).mean()`` and ``(reconstruction - x).pow(2).sum(dim=-1).mean()``; the decoder rows
kept unit-norm (``self.W_dec.data /= torch.norm(self.W_dec.data, dim=1, keepdim=True)``) with the
gradient's parallel component removed first (``W_dec.grad -= (W_dec.grad *
W_dec.data).sum(-1, keepdim=True) * W_dec.data``); ``b_dec`` initialised to the data's
geometric-median proxy ``x.mean(0)``; Adam with ``betas=(0.0, 0.999)`` as the paper trains; an
L0 coefficient warmed up linearly; the "dead feature" count ``(acts > 0).float().sum(0) == 0``.

Checked beside the training losses: ``torch.autograd.gradcheck`` cannot see a step's
pseudo-derivative, so the program checks ``threshold.grad`` against the formula.

Changed: 6-dimensional inputs, 12 latents, batches of 16, 6 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

D_IN, D_SAE, BATCH, STEPS, BANDWIDTH = 6, 12, 16, 6, 0.05


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(3)
    dictionary = rng.standard_normal((20, D_IN))
    codes = rng.exponential(1.0, (STEPS + 1, BATCH, 20)) * (
        rng.random((STEPS + 1, BATCH, 20)) < 0.1
    )
    w_dec = rng.standard_normal((D_SAE, D_IN))
    return {
        "data": codes @ dictionary,
        "W_dec": w_dec / np.linalg.norm(w_dec, axis=1, keepdims=True),
    }


def _functions(torch: Any) -> tuple[Any, Any]:
    def rectangle(x: Any) -> Any:
        return ((x > -0.5) & (x < 0.5)).to(x)

    class Step(torch.autograd.Function):
        @staticmethod
        def forward(x: Any, threshold: Any, bandwidth: float) -> Any:
            return (x > threshold).to(x)

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            x, threshold, bandwidth = inputs
            del output
            ctx.save_for_backward(x, threshold)
            ctx.bandwidth = bandwidth

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            x, threshold = ctx.saved_tensors
            bandwidth = ctx.bandwidth
            threshold_grad = torch.sum(
                -(1.0 / bandwidth) * rectangle((x - threshold) / bandwidth) * grad_output, dim=0
            )
            return None, threshold_grad, None

    class JumpReLU(torch.autograd.Function):
        @staticmethod
        def forward(x: Any, threshold: Any, bandwidth: float) -> Any:
            return (x * (x > threshold)).to(x)

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            x, threshold, bandwidth = inputs
            del output
            ctx.save_for_backward(x, threshold)
            ctx.bandwidth = bandwidth

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            x, threshold = ctx.saved_tensors
            bandwidth = ctx.bandwidth
            x_grad = (x > threshold) * grad_output
            threshold_grad = torch.sum(
                -(threshold / bandwidth) * rectangle((x - threshold) / bandwidth) * grad_output,
                dim=0,
            )
            return x_grad, threshold_grad, None

    return Step, JumpReLU


def make_sae(torch: Any, init: dict) -> Any:
    nn = torch.nn
    Step, JumpReLU = _functions(torch)

    class JumpReLUSAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.W_dec = nn.Parameter(as_tensor(torch, init["W_dec"]))
            self.W_enc = nn.Parameter(self.W_dec.data.t().clone())
            self.b_enc = nn.Parameter(torch.zeros(D_SAE))
            self.b_dec = nn.Parameter(torch.zeros(D_IN))
            self.log_threshold = nn.Parameter(torch.full((D_SAE,), 0.1).log())

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            pre_acts = (x - self.b_dec) @ self.W_enc + self.b_enc
            threshold = torch.exp(self.log_threshold)
            acts = JumpReLU.apply(pre_acts, threshold, BANDWIDTH)
            l0 = Step.apply(pre_acts, threshold, BANDWIDTH).sum(dim=-1).mean()
            return acts @ self.W_dec + self.b_dec, acts, l0

    return JumpReLUSAE()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    data = as_tensor(torch, init["data"])
    sae = make_sae(torch, init)
    with torch.no_grad():
        sae.b_dec.data = data[0].mean(0)
    opt = torch.optim.Adam(sae.parameters(), lr=5e-3, betas=(0.0, 0.999))
    values: list[float] = []
    for step in range(STEPS):
        x = data[step + 1]
        l0_coefficient = 0.5 * min(1.0, (step + 1) / 3)
        recon, acts, l0 = sae(x)
        mse = (recon - x).pow(2).sum(dim=-1).mean()
        loss = mse + l0_coefficient * l0
        opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            W_dec, grad = sae.W_dec.data, sae.W_dec.grad
            grad -= (grad * W_dec).sum(-1, keepdim=True) * W_dec
        opt.step()
        with torch.no_grad():
            sae.W_dec.data /= torch.norm(sae.W_dec.data, dim=1, keepdim=True)
        dead = ((acts > 0).float().sum(0) == 0).sum()
        values += [loss.item(), mse.item(), l0.item(), float(dead)]
    # the threshold's pseudo-derivative of the L0 term, against its formula
    x = data[0]
    threshold = torch.exp(sae.log_threshold.detach()).requires_grad_()
    pre = ((x - sae.b_dec) @ sae.W_enc + sae.b_enc).detach()
    Step, _ = _functions(torch)
    Step.apply(pre, threshold, BANDWIDTH).sum().backward()
    window = (((pre - threshold.detach()) / BANDWIDTH).abs() < 0.5).to(pre)
    expected = -(window.sum(0) / BANDWIDTH)
    values += [threshold.grad.sum().item(), (threshold.grad - expected).abs().max().item()]
    return values
