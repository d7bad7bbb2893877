"""Chunked fused linear + cross-entropy (the LM head and its loss without materialising all the
logits), as linkedin/Liger-Kernel's ``ops/fused_linear_cross_entropy.py``
(``LigerFusedLinearCrossEntropyFunction``, ``fused_linear_cross_entropy_forward`` /
``_backward``) writes it, with its Triton cross-entropy kernel's math written in PyTorch,
size-reduced.

The idioms: a ``torch.autograd.Function`` whose forward computes the gradients chunk by chunk
(``inc_factor = triton.cdiv(V, H)``, ``chunk_size = triton.next_power_of_2(triton.cdiv(BT,
inc_factor))``, ``num_chunks = triton.cdiv(BT, chunk_size)``), ``grad_weight =
torch.zeros_like(weight, device=device) if weight.requires_grad else None``, ``grad_input =
torch.zeros_like(_input, device=device)``, ``loss_1d = torch.zeros(BT, dtype=...,
device=device)``, ``total_n_non_ignore = (target != ignore_index).sum().item()``; per chunk
``logits_chunk = _input_chunk @ weight.t()`` (``+ bias``), the softmax-minus-one-hot gradient with
label smoothing and the z-loss ``lse_square_scale * lse ** 2`` (``torch.logsumexp``,
``torch.exp(logits - lse)``, ``grad_logits_chunk[torch.arange(n), target_chunk] -= 1 -
label_smoothing``, masked by ``target_chunk != ignore_index``), ``grad_input[start_idx:end_idx] =
grad_logits_chunk @ weight``, ``torch.addmm(input=grad_weight, mat1=logits_chunk.t(),
mat2=_input_chunk, out=grad_weight, alpha=alpha, beta=1.0)``, ``torch.add(input=grad_bias,
other=logits_chunk.sum(dim=0), out=grad_bias, alpha=alpha)``; ``loss = torch.sum(loss_1d)``;
``ctx.save_for_backward(grad_input.detach(), grad_weight.detach() if grad_weight is not None
else None, ...)``; the backward's ``if torch.ne(grad_output, torch.tensor(1.0,
device=grad_output.device))`` scaling (``element_mul_kernel`` as ``grad_input *
grad_output``); ``LigerFusedLinearCrossEntropyLoss`` as the ``nn.Module`` calling
``.apply(...)``; and the check that it gives ``F.cross_entropy(F.linear(x, w, b), y,
ignore_index=-100, label_smoothing=...)`` (plus the z-loss) and the same gradients, both inside
a training loop of a tiny LM.

Changed: hidden 4096 -> 8, vocabulary 128k -> 20, 2x7 tokens (so 2 chunks, of 8 and 6
rows), 4 steps of SGD with momentum; ``triton.cdiv`` / ``next_power_of_2`` -> Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, H, BATCH, T, STEPS = 20, 8, 2, 7, 4
IGNORE_INDEX, LABEL_SMOOTHING, LSE_SQUARE_SCALE = -100, 0.1, 1e-3


def cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def next_power_of_2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def fused_linear_cross_entropy_forward(
    torch_like: Any, _input: Any, weight: Any, target: Any, bias: Any = None
) -> tuple:
    torch = torch_like
    device = _input.device
    BT, H_ = _input.shape
    V = weight.shape[0]
    inc_factor = cdiv(V, H_)
    chunk_size = next_power_of_2(cdiv(BT, inc_factor))
    num_chunks = cdiv(BT, chunk_size)
    grad_weight = torch.zeros_like(weight, device=device) if weight.requires_grad else None
    grad_input = torch.zeros_like(_input, device=device)
    grad_bias = torch.zeros_like(bias, device=device) if bias is not None else None
    loss_1d = torch.zeros(BT, dtype=_input.dtype, device=device)
    total_n_non_ignore = (target != IGNORE_INDEX).sum().item()
    for chunk_id in range(num_chunks):
        start_idx = chunk_id * chunk_size
        end_idx = min((chunk_id + 1) * chunk_size, BT)
        _input_chunk = _input[start_idx:end_idx]
        logits_chunk = _input_chunk @ weight.t()
        if bias is not None:
            logits_chunk = logits_chunk + bias
        target_chunk = target[start_idx:end_idx]
        n_rows = logits_chunk.shape[0]
        valid = (target_chunk != IGNORE_INDEX).unsqueeze(-1)
        safe_target = target_chunk.masked_fill(target_chunk == IGNORE_INDEX, 0)
        lse = torch.logsumexp(logits_chunk, dim=-1, keepdim=True)
        eps = LABEL_SMOOTHING / V
        ce = (
            lse.squeeze(-1)
            - (1 - LABEL_SMOOTHING) * logits_chunk.gather(-1, safe_target.unsqueeze(-1)).squeeze(-1)
            - eps * logits_chunk.sum(dim=-1)
        )
        z_loss = LSE_SQUARE_SCALE * lse.squeeze(-1) ** 2
        loss_1d[start_idx:end_idx] = (
            torch.where(valid.squeeze(-1), ce + z_loss, 0.0) / total_n_non_ignore
        )
        grad_logits_chunk = torch.exp(logits_chunk - lse) * (1 + 2 * LSE_SQUARE_SCALE * lse) - eps
        grad_logits_chunk[torch.arange(n_rows, device=device), safe_target] -= 1 - LABEL_SMOOTHING
        grad_logits_chunk = grad_logits_chunk * valid / total_n_non_ignore
        grad_input[start_idx:end_idx] = grad_logits_chunk @ weight
        if grad_weight is not None:
            torch.addmm(
                input=grad_weight,
                mat1=grad_logits_chunk.t(),
                mat2=_input_chunk,
                out=grad_weight,
                alpha=1.0,
                beta=1.0,
            )
        if bias is not None:
            torch.add(input=grad_bias, other=grad_logits_chunk.sum(dim=0), out=grad_bias, alpha=1.0)
    loss = torch.sum(loss_1d)
    return loss, grad_input, grad_weight, grad_bias


def make_function(torch_like: Any) -> Any:
    torch = torch_like

    class LigerFusedLinearCrossEntropyFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, _input: Any, weight: Any, target: Any, bias: Any = None) -> Any:
            loss, grad_input, grad_weight, grad_bias = fused_linear_cross_entropy_forward(
                torch, _input, weight, target, bias
            )
            ctx.save_for_backward(
                grad_input.detach(),
                grad_weight.detach() if grad_weight is not None else None,
                grad_bias.detach() if bias is not None else None,
            )
            return loss

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple:
            (grad_input, grad_weight, grad_bias) = ctx.saved_tensors
            if torch.ne(grad_output, torch.tensor(1.0, device=grad_output.device)):
                grad_input = grad_input * grad_output
                if grad_weight is not None:
                    grad_weight = grad_weight * grad_output
                if grad_bias is not None:
                    grad_bias = grad_bias * grad_output
            return (grad_input, grad_weight, None, grad_bias)

    return LigerFusedLinearCrossEntropyFunction


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    fn = make_function(torch_like)

    class LigerFusedLinearCrossEntropyLoss(nn.Module):
        def forward(self, lin_weight: Any, _input: Any, target: Any, bias: Any = None) -> Any:
            return fn.apply(_input, lin_weight, target, bias)

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, H)
            self.mix = nn.Conv1d(H, H, 3, padding=2)
            self.norm = nn.LayerNorm(H)
            self.lm_head = nn.Linear(H, VOCAB)
            self.loss_fn = LigerFusedLinearCrossEntropyLoss()

        def forward(self, ids: Any, labels: Any, fused: bool) -> Any:
            h = self.mix(self.embed(ids).transpose(1, 2))[..., : ids.shape[1]].transpose(1, 2)
            h = self.norm(nn.functional.silu(h)).reshape(-1, H)
            if fused:
                return self.loss_fn(self.lm_head.weight, h, labels.reshape(-1), self.lm_head.bias)
            logits = self.lm_head(h)
            loss = nn.functional.cross_entropy(
                logits,
                labels.reshape(-1),
                ignore_index=IGNORE_INDEX,
                label_smoothing=LABEL_SMOOTHING,
                reduction="none",
            )
            lse = logits.logsumexp(-1)
            valid = labels.reshape(-1) != IGNORE_INDEX
            return ((loss + LSE_SQUARE_SCALE * lse**2) * valid).sum() / valid.sum()

    return TinyLM()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    rng = np.random.default_rng(5)
    values: list[float] = []
    for step in range(STEPS):
        ids = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, T)))
        labels = ids.roll(-1, dims=1).clone()
        labels[:, -1] = IGNORE_INDEX
        labels[0, :2] = IGNORE_INDEX
        ref = model(ids, labels, fused=False)
        ref_grads = torch.autograd.grad(ref, list(model.parameters()))
        loss = model(ids, labels, fused=True)
        optimizer.zero_grad()
        scale = 0.5 if step % 2 else 1.0  # grad_output != 1 takes the backward's scaling branch
        (loss * scale).backward()
        got = [p.grad for p in model.parameters()]
        values.append(loss.item())
        values.append(ref.item())
        values.append(max((g - scale * r).abs().max().item() for g, r in zip(got, ref_grads)))
        values.append(sum(g.sum().item() for g in got))
        optimizer.step()
    return values


def check(values: list[float]) -> None:
    vals = np.array(values).reshape(STEPS, 4)
    np.testing.assert_allclose(vals[:, 0], vals[:, 1], rtol=1e-10)  # the fused loss is the loss
    assert np.all(vals[:, 2] < 1e-10), vals[:, 2]  # and its gradients are the gradients
