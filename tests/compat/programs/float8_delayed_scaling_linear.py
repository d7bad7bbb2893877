"""Float8 training with delayed scaling in plain PyTorch: a ``Float8Linear`` whose forward and
backward matrix products run through ``torch._scaled_mm``, as torchao's early
``float8_experimental`` (``float8_linear.py``, ``float8_tensor.py``, ``float8_utils.py``) and
the "fp8 training from scratch" write-ups built it before
``torchao.float8.convert_to_float8_training``.

The idioms kept: ``torch.finfo(torch.float8_e4m3fn).max`` / ``float8_e5m2``;
``amax_to_scale`` (``scale = float8_dtype_max / torch.clamp(amax, min=EPS)`` in float64 then
``.to(torch.float32)``); the delayed-scaling buffers ``register_buffer("fp8_amax_history_x",
torch.zeros(history_len))`` updated by ``torch.roll(history, 1)`` and ``history[0] =
new_amax`` under ``torch.no_grad()``, the scale from ``torch.max(history)``; the saturated cast
``(x * scale).clamp(min=-max_pos, max=max_pos).to(float8_dtype)``; ``torch._scaled_mm(x_fp8,
w_fp8.t(), scale_a=x_scale.reciprocal(), scale_b=w_scale.reciprocal(), out_dtype=...,
bias=...)``; a ``torch.autograd.Function`` whose backward casts the incoming gradient to
``float8_e5m2`` with a dynamic scale (``grad_output.abs().max()``) and computes ``grad_input``
and ``grad_weight`` with two more ``_scaled_mm`` calls (``.t().contiguous()`` of the float8
operands), returning ``None`` for the scales; the first-step "amax initialisation" from the
current tensors; ``torch.allclose`` of the float8 model's output against the float32 model's
within float8 precision.

Changed: two 16-wide layers and a float32 head, batches of 16, 5 AdamW steps, history 4, float32
training (the recipes run bfloat16).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
WIDTH, BATCH, STEPS, HISTORY, EPS = 16, 16, 5, 4, 1e-12


def amax_to_scale(torch: Any, amax: Any, float8_dtype: Any) -> Any:
    scale = torch.finfo(float8_dtype).max / torch.clamp(amax.to(torch.float64), min=EPS)
    return scale.to(torch.float32)


def to_float8(torch: Any, x: Any, scale: Any, float8_dtype: Any) -> Any:
    max_pos = torch.finfo(float8_dtype).max
    return (x.to(torch.float32) * scale).clamp(min=-max_pos, max=max_pos).to(float8_dtype)


def _matmul_fn(torch: Any) -> Any:
    e4m3, e5m2 = torch.float8_e4m3fn, torch.float8_e5m2

    class Float8Matmul(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, weight: Any, bias: Any, x_scale: Any, w_scale: Any) -> Any:
            x_fp8 = to_float8(torch, x, x_scale, e4m3)
            w_fp8 = to_float8(torch, weight, w_scale, e4m3)
            ctx.save_for_backward(x_fp8, w_fp8, x_scale, w_scale)
            return torch._scaled_mm(x_fp8, w_fp8.t(), scale_a=x_scale.reciprocal(),
                                    scale_b=w_scale.reciprocal(), bias=bias,
                                    out_dtype=x.dtype)  # fmt: skip

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            x_fp8, w_fp8, x_scale, w_scale = ctx.saved_tensors
            g_scale = amax_to_scale(torch, grad_output.abs().max(), e5m2)
            g_fp8 = to_float8(torch, grad_output, g_scale, e5m2)
            grad_input = torch._scaled_mm(
                g_fp8, w_fp8.t().contiguous().t(), scale_a=g_scale.reciprocal(),
                scale_b=w_scale.reciprocal(), out_dtype=grad_output.dtype,
            )  # fmt: skip
            grad_weight = torch._scaled_mm(
                g_fp8.t().contiguous(), x_fp8, scale_a=g_scale.reciprocal(),
                scale_b=x_scale.reciprocal(), out_dtype=grad_output.dtype,
            )  # fmt: skip
            return grad_input, grad_weight, grad_output.sum(0), None, None

    return Float8Matmul


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Float8Linear(nn.Linear):
        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__(in_features, out_features)
            self.register_buffer("fp8_amax_history_x", torch.zeros(HISTORY))
            self.register_buffer("fp8_amax_history_w", torch.zeros(HISTORY))
            self.register_buffer("is_amax_initialized", torch.tensor(False))
            self.use_fp8 = True

        def _scale(self, history: Any, t: Any) -> Any:
            with torch.no_grad():
                new_amax = t.abs().max().to(history.dtype)
                if not bool(self.is_amax_initialized):
                    history.fill_(0.0)
                    history[0] = new_amax
                scale = amax_to_scale(torch, torch.max(history), torch.float8_e4m3fn)
                history.copy_(torch.roll(history, 1))
                history[0] = new_amax
            return scale

        def forward(self, x: Any) -> Any:
            if not self.use_fp8:
                return super().forward(x)
            x_scale = self._scale(self.fp8_amax_history_x, x)
            w_scale = self._scale(self.fp8_amax_history_w, self.weight)
            self.is_amax_initialized.fill_(True)
            return _matmul_fn(torch).apply(x, self.weight, self.bias, x_scale, w_scale)

    return nn.Sequential(Float8Linear(WIDTH, WIDTH), nn.GELU(), Float8Linear(WIDTH, WIDTH),
                         nn.GELU(), nn.Linear(WIDTH, 1))  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(88)
    w = rng.standard_normal((WIDTH, 1)).astype(np.float32)
    values: list[float] = [torch.finfo(torch.float8_e4m3fn).max, torch.finfo(torch.float8_e5m2).max]
    for _ in range(STEPS):
        x = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
        xt, yt = as_tensor(torch, x), as_tensor(torch, np.tanh(x @ w))
        loss = F.mse_loss(model(xt), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model[0].fp8_amax_history_x.sum().item()]
    x = as_tensor(torch, rng.standard_normal((BATCH, WIDTH)).astype(np.float32))
    with torch.no_grad():
        fp8 = model(x)
        for m in (model[0], model[2]):
            m.use_fp8 = False
        full = model(x)
    values += [fp8.sum().item(), float(torch.allclose(fp8, full, rtol=0.2, atol=0.1))]
    return values
