"""Griffin / Hawk recurrent block (De et al. 2024) as Google DeepMind's ``recurrentgemma`` PyTorch
port writes it (``recurrentgemma/torch/layers.py``, ``modules.py``, ``griffin.py``),
size-reduced.

The idioms: the ``RGLRU`` with ``a_param`` initialised in place on a ring (``w.uniform_(0.9**2 +
1e-8, 0.999**2 + 1e-8)``, ``w.log_().mul_(0.5)``, ``w.neg_().exp_().sub_(1.0).log_()`` under
``torch.no_grad()``), gates from a ``BlockDiagonalLinear`` (``torch.einsum("... h i, h i j ->
... h j", x, self.w) + self.b`` on ``x.unflatten(-1, (h, -1))``), ``log_a = -8.0 * gate_a *
nn.functional.softplus(self.a_param)``, ``a_square = torch.exp(2 * log_a)``, the normaliser
``SqrtBoundDerivative.apply(1 - a_square, 1000)`` (a custom ``autograd.Function``: ``torch.sqrt``
forward, ``grad_output / torch.sqrt(torch.clip(4.0 * x, min=1 / max_gradient**2))`` backward),
the reset mask ``segment_pos == 0`` mixed in by ``reset[..., None] + ~reset[..., None] *
multiplier`` and ``a * ~reset[..., None]``; ``rnn_scan`` as a Python loop writing ``y[:, t]`` of
a ``torch.zeros_like(x)`` in a float32 accumulator (and its one-step sampling branch with
``h0[:, None]``); the causal depthwise ``nn.Conv1d(groups=width, padding=temporal_width - 1)``
sliced back to ``x[..., :seq_len]``; ``RecurrentBlock`` gating ``nn.functional.gelu(y,
approximate="tanh")``; ``RMSNorm`` written with NumPy-style keywords (``torch.mean(torch.square(x),
axis=-1, keepdims=True)``, ``torch.rsqrt``, ``scale + 1``); the ``MLPBlock`` with a stacked
``[2, width, expanded]`` up-projection by ``torch.einsum("...td,cdD->c...tD")``; the embedder's
``x * math.sqrt(width)``, tied decoding and ``tanh(logits / c) * c`` soft-capping; and a few
AdamW steps. The recurrence is checked to give the same outputs when the sequence is fed in two
chunks (carrying ``last_h``) and one token at a time.

Changed: sizes (width 8, 2 heads, conv width 4, one recurrent and one MLP residual block, a
vocabulary of 11, sequences of 6, batch 2, 3 steps); no attention blocks and no decode cache
for the convolution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-5, 1e-6
VOCAB, WIDTH, HEADS, CONV_W, SEQ, BATCH, STEPS = 11, 8, 2, 4, 6, 2, 3
_MAX_SQRT_GRADIENT = 1000.0


def _modules(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class SqrtBoundDerivative(torch.autograd.Function):
        """Computes a square root with a gradient clipped at `_MAX_SQRT_GRADIENT`."""

        @staticmethod
        def forward(ctx: Any, x: Any, max_gradient: float) -> Any:
            """The forward pass, which is a normal `sqrt`."""
            ctx.save_for_backward(x)
            ctx.max_gradient = max_gradient
            return torch.sqrt(x)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            """The backward pass, which clips the `sqrt` gradient."""
            (x,) = ctx.saved_tensors
            clipped_x_times_4 = torch.clip(4.0 * x, min=1 / (ctx.max_gradient**2))
            return grad_output / torch.sqrt(clipped_x_times_4), None

    def rnn_scan(x: Any, a: Any, reset: Any, h0: Any, acc_dtype: Any = torch.float32) -> Any:
        """Runs the recurrence of a linear RNN."""
        assert x.ndim == 3
        assert a.shape == x.shape[-a.ndim :]
        assert a.dtype == x.dtype
        assert type(a) is type(x)
        assert h0 is None or h0.dtype == acc_dtype

        # Multiply `a` by the reset.
        a = a * ~reset[..., None]

        if x.shape[1] == 1:
            # Using scan in sampling mode.
            if h0 is None:
                return x, x[:, 0].type(acc_dtype)
            else:
                y = a.type(acc_dtype) * h0[:, None] + x.type(acc_dtype)
                return y.type(x.dtype), y[:, -1]
        else:
            # Using scan in linear mode.
            if h0 is not None:
                h_t = h0
            else:
                h_t = torch.zeros(x[:, 0].shape, dtype=acc_dtype, device=x.device)
            y = torch.zeros_like(x)
            for t in range(x.shape[1]):
                h_t = a[:, t].type(acc_dtype) * h_t + x[:, t].type(acc_dtype)
                y[:, t] = h_t.type(x.dtype)
        return y, h_t

    class BlockDiagonalLinear(nn.Module):
        """Block-diagonal linear layer."""

        def __init__(self, width: int, num_blocks: int, w_init_variance_scale: float = 1.0):
            super().__init__()
            self.width = width
            self.num_blocks = num_blocks
            self.w_init_variance_scale = w_init_variance_scale
            self.block_width = self.width // self.num_blocks
            self.w = nn.Parameter(
                torch.empty([self.num_blocks, self.block_width, self.block_width])
            )
            self.b = nn.Parameter(torch.empty([self.num_blocks, self.block_width]))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            std = math.sqrt(self.w_init_variance_scale / self.block_width)
            for i in range(self.num_blocks):
                torch.nn.init.normal_(self.w[i], mean=0.0, std=std)
            torch.nn.init.zeros_(self.b)

        def forward(self, x: Any) -> Any:
            # Split x to blocks.
            x = x.unflatten(-1, (self.num_blocks, -1))
            # Linear layer over each block + bias.
            y = torch.einsum("... h i, h i j -> ... h j", x, self.w) + self.b
            # Flatten the output.
            return y.flatten(-2)

    class RGLRU(nn.Module):
        """A Real-Gated Linear Recurrent Unit (RG-LRU) layer."""

        def __init__(self, width: int, num_heads: int) -> None:
            super().__init__()
            self.width = width
            self.num_heads = num_heads
            self.a_param = nn.Parameter(torch.empty([self.width]))
            self.input_gate = BlockDiagonalLinear(width, num_heads)
            self.a_gate = BlockDiagonalLinear(width, num_heads)
            self.a_param_init(self.a_param)

        def a_param_init(self, w: Any) -> Any:
            """Initializes the `A` parameter of the RG-LRU uniformly on a ring."""
            with torch.no_grad():
                # Proportional to area in a ring.
                w.uniform_(0.9**2 + 1e-8, 0.999**2 + 1e-8)
                # Get `r` from `r^2`.
                w.log_().mul_(0.5)
                # Inverse transform.
                return w.neg_().exp_().sub_(1.0).log_()

        def forward(self, x: Any, segment_pos: Any, prev_h: Any) -> tuple[Any, Any]:
            bs, l, _ = x.shape
            assert segment_pos.shape == (bs, l)
            reset = segment_pos == 0

            # Gates for x and a.
            gate_x = torch.sigmoid(self.input_gate(x))
            gate_a = torch.sigmoid(self.a_gate(x))

            # Compute the parameter `A` of the recurrence.
            log_a = -8.0 * gate_a * nn.functional.softplus(self.a_param)
            a = torch.exp(log_a)
            a_square = torch.exp(2 * log_a)

            # Gate the input.
            gated_x = x * gate_x

            # Apply gamma normalization to the input.
            multiplier = SqrtBoundDerivative.apply(1 - a_square, _MAX_SQRT_GRADIENT)
            multiplier = reset[..., None] + ~reset[..., None] * multiplier
            normalized_x = gated_x * multiplier.type(x.dtype)

            y, last_h = rnn_scan(x=normalized_x, a=a, reset=reset, h0=prev_h)
            return y, last_h

    class RMSNorm(nn.Module):
        """RMS Norm."""

        def __init__(self, width: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.eps = eps
            self.scale = nn.Parameter(torch.zeros([width]))

        def forward(self, x: Any) -> Any:
            var = torch.mean(torch.square(x), axis=-1, keepdims=True)
            normed_x = x * torch.rsqrt(var + self.eps)
            scale = torch.reshape(self.scale, [1 for _ in range(x.ndim - 1)] + [-1])
            return normed_x * (scale + 1)

    class RecurrentBlock(nn.Module):
        """Griffin and Hawk's recurrent block."""

        def __init__(self, width: int, num_heads: int, conv1d_temporal_width: int) -> None:
            super().__init__()
            self.linear_y = nn.Linear(width, width)
            self.linear_x = nn.Linear(width, width)
            self.linear_out = nn.Linear(width, width)
            self.conv_1d = nn.Conv1d(
                width,
                width,
                kernel_size=conv1d_temporal_width,
                groups=width,
                padding=conv1d_temporal_width - 1,
            )
            self.rg_lru = RGLRU(width, num_heads)

        def forward(self, x: Any, segment_pos: Any, prev_h: Any = None) -> tuple[Any, Any]:
            _, seq_len, _ = x.shape
            # y branch.
            y = self.linear_y(x)
            y = nn.functional.gelu(y, approximate="tanh")
            # x branch.
            x = self.linear_x(x)
            x = self.conv_1d(x.transpose(1, 2))[..., :seq_len].transpose(1, 2)
            x, last_h = self.rg_lru(x, segment_pos, prev_h)
            # Join branches.
            x = x * y
            x = self.linear_out(x)
            return x, last_h

    class MLPBlock(nn.Module):
        def __init__(self, width: int, expanded_width: int) -> None:
            super().__init__()
            std = math.sqrt(1.0 / width)
            self.ffw_up_w = nn.Parameter(torch.randn(2, width, expanded_width) * std)
            self.ffw_up_b = nn.Parameter(torch.zeros(2, 1, 1, expanded_width))
            self.ffw_down = nn.Linear(expanded_width, width)

        def forward(self, x: Any) -> Any:
            out = torch.einsum("...td,cdD->c...tD", x, self.ffw_up_w) + self.ffw_up_b
            gate_value = nn.functional.gelu(out[0], approximate="tanh")
            activations = gate_value * out[1]
            return self.ffw_down(activations)

    class Hawk(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, WIDTH)
            self.temporal_pre_norm = RMSNorm(WIDTH)
            self.temporal_block = RecurrentBlock(WIDTH, HEADS, CONV_W)
            self.channel_pre_norm = RMSNorm(WIDTH)
            self.mlp_block = MLPBlock(WIDTH, 3 * WIDTH)
            self.final_norm = RMSNorm(WIDTH)
            self.logits_soft_cap = 30.0

        def forward(self, tokens: Any, segment_pos: Any, prev_h: Any = None) -> tuple[Any, Any]:
            x = self.embed(tokens) * math.sqrt(WIDTH)
            raw_x = x
            x, last_h = self.temporal_block(self.temporal_pre_norm(raw_x), segment_pos, prev_h)
            residual = x + raw_x
            x = self.mlp_block(self.channel_pre_norm(residual))
            x = self.final_norm(x + residual)
            logits = x @ self.embed.weight.T
            c = self.logits_soft_cap
            logits = nn.functional.tanh(logits / c) * c
            return logits, last_h

    return Hawk, RGLRU


def make_model(torch_like: Any) -> Any:
    hawk, _ = _modules(torch_like)
    return hawk()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _, rglru_cls = _modules(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(2)
    data = torch.from_numpy(rng.integers(0, VOCAB, size=(STEPS, BATCH, SEQ + 1)))
    segment_pos = torch.arange(SEQ).repeat(BATCH, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    values: list[float] = []
    for step in range(STEPS):
        tokens, targets = data[step, :, :-1], data[step, :, 1:]
        logits, last_h = model(tokens, segment_pos)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        values += [loss.item(), model.temporal_block.rg_lru.a_param.grad.norm().item()]
        optimizer.step()
        values.append(last_h.abs().sum().item())

    # the recurrence in two chunks and one token at a time gives the full-sequence outputs
    lru = rglru_cls(WIDTH, HEADS)
    lru.load_state_dict(model.temporal_block.rg_lru.state_dict())
    x = torch.from_numpy(rng.standard_normal((BATCH, SEQ, WIDTH))).float()
    with torch.no_grad():
        full, h_full = lru(x, segment_pos, None)
        first, h = lru(x[:, :3], segment_pos[:, :3], None)
        second, h2 = lru(x[:, 3:], segment_pos[:, 3:], h)
        steps, h_t = [], None
        for t in range(SEQ):
            y_t, h_t = lru(x[:, t : t + 1], segment_pos[:, t : t + 1], h_t)
            steps.append(y_t)
        chunked = torch.cat([first, second], dim=1)
        stepped = torch.cat(steps, dim=1)
    assert torch.allclose(full, chunked, atol=1e-6) and torch.allclose(full, stepped, atol=1e-6)
    assert torch.allclose(h_full, h2) and torch.allclose(h_full, h_t)
    values += [full.sum().item(), h_full.abs().sum().item()]
    return values
