"""PyTorch's "(Beta) Implementing High-Performance Transformers with Scaled Dot Product
Attention (SDPA)" tutorial (``intermediate/scaled_dot_product_attention_tutorial``),
size-reduced.

The idioms: ``F.scaled_dot_product_attention(query, key, value)`` on ``torch.randn(2, 3, 8,
device=device)`` inputs; ``from torch.nn.attention import SDPBackend, sdpa_kernel`` and ``with
sdpa_kernel(SDPBackend.MATH):`` (and the ``FLASH_ATTENTION``/``EFFICIENT_ATTENTION`` blocks
wrapped in ``try: ... except RuntimeError:``); ``CausalSelfAttention`` (``assert
embed_dimension % num_heads == 0``, one ``c_attn = nn.Linear(embed_dimension, 3 *
embed_dimension, bias=bias)``, ``query_projected.size(0)``, ``embed_dim // (self.num_heads *
3)``, ``query_projected.chunk(3, -1)``, ``.view(batch_size, -1, self.num_heads,
head_dim).transpose(1, 2)``, ``dropout``/``is_causal`` chosen by ``self.training``,
``F.scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=dropout,
is_causal=is_causal)``, ``y.transpose(1, 2).view(batch_size, -1, self.num_heads * head_dim)``,
``self.resid_dropout(self.c_proj(y))``); ``print(model)``; and the attention-bias section:
``from torch.nn.attention.bias import causal_lower_right, causal_upper_left``,
``assert type(upper_left_bias) == type(lower_right_bias)``, ``assert issubclass(type(
upper_left_bias), torch.Tensor)``, ``print(upper_left_bias)``, the biases passed as SDPA's
``attn_mask``, ``torch.allclose(out_upper_left, out_is_causal)`` and ``not
torch.allclose(out_upper_left, out_lower_right)``.

Changed: CUDA/float16 -> CPU float32; 8 heads of 64 -> 2 of 4; the benchmarks become a few
training steps of the module; dropout 0.1 -> 0.0 (on the CPU, PyTorch's SDPA with dropout
runs the math kernel, whose contiguous output makes the tutorial's ``y.transpose(1,
2).view(...)`` raise; the fused CPU kernel's output has the layout that view needs); batch 32,
16 heads, 32 dims -> 2, 2, 4 in the bias section; the NestedTensor section (CUDA kernels)
and ``torch.compile`` are left out.
"""

from __future__ import annotations

import importlib
import io
import warnings
from contextlib import redirect_stdout
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _causal_self_attention(torch_like: Any) -> type:
    nn = torch_like.nn
    F = nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self, num_heads: int, embed_dimension: int, bias: bool = False,
                     is_causal: bool = False, dropout: float = 0.0):  # fmt: skip
            super().__init__()
            assert embed_dimension % num_heads == 0
            # key, query, value projections for all heads, but in a batch
            self.c_attn = nn.Linear(embed_dimension, 3 * embed_dimension, bias=bias)
            # output projection
            self.c_proj = nn.Linear(embed_dimension, embed_dimension, bias=bias)
            # regularization
            self.dropout = dropout
            self.resid_dropout = nn.Dropout(dropout)
            self.num_heads = num_heads
            self.embed_dimension = embed_dimension
            # Perform causal masking
            self.is_causal = is_causal

        def forward(self, x: Any) -> Any:
            # calculate query, key, values for all heads in batch and move head forward to be
            # the batch dim
            query_projected = self.c_attn(x)

            batch_size = query_projected.size(0)
            embed_dim = query_projected.size(2)
            head_dim = embed_dim // (self.num_heads * 3)

            query, key, value = query_projected.chunk(3, -1)
            query = query.view(batch_size, -1, self.num_heads, head_dim).transpose(1, 2)
            key = key.view(batch_size, -1, self.num_heads, head_dim).transpose(1, 2)
            value = value.view(batch_size, -1, self.num_heads, head_dim).transpose(1, 2)

            if self.training:
                dropout = self.dropout
                is_causal = self.is_causal
            else:
                dropout = 0.0
                is_causal = False

            y = F.scaled_dot_product_attention(query, key, value, attn_mask=None,
                                               dropout_p=dropout, is_causal=is_causal)  # fmt: skip
            y = y.transpose(1, 2).view(batch_size, -1, self.num_heads * head_dim)

            y = self.resid_dropout(self.c_proj(y))
            return y

    return CausalSelfAttention


def make_model(torch_like: Any) -> Any:
    num_heads = 2
    heads_per_dim = 4
    embed_dimension = num_heads * heads_per_dim
    return _causal_self_attention(torch_like)(
        num_heads=num_heads, embed_dimension=embed_dimension, bias=False, is_causal=True,
        dropout=0.0,
    )  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    attention = importlib.import_module(f"{torch.__name__}.nn.attention")
    SDPBackend, sdpa_kernel = attention.SDPBackend, attention.sdpa_kernel
    bias = importlib.import_module(f"{torch.__name__}.nn.attention.bias")
    causal_lower_right, causal_upper_left = bias.causal_lower_right, bias.causal_upper_left
    rng = np.random.default_rng(8)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    values: list[float] = []

    def randn(*shape: int) -> Any:
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(device)

    query, key, value = randn(2, 3, 8), randn(2, 3, 8), randn(2, 3, 8)
    values.append(F.scaled_dot_product_attention(query, key, value).sum().item())
    with sdpa_kernel(SDPBackend.MATH):
        values.append(F.scaled_dot_product_attention(query, key, value).sum().item())
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
        # the reasons a kernel is refused are warnings (a script shows them and goes on)
        with sdpa_kernel(backend), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                values.append(F.scaled_dot_product_attention(query, key, value).sum().item())
            except RuntimeError:
                values.append(-1.0)  # "... is not supported. See warnings for reasons."

    model = make_model(torch_like).to(device)
    load_numpy_state(torch_like, model, init)
    buf = io.StringIO()
    with redirect_stdout(buf):
        print(model)
    values.append(len(buf.getvalue().splitlines()))

    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x, target = randn(2, 6, 8), randn(2, 6, 8)
    for _ in range(3):
        model.train()
        loss = F.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        values.append(model(x).sum().item())

    # Using SDPA with attn_bias subclasses
    batch_size = 2
    sequence_length_q = 2
    sequence_length_kv = 5
    num_heads = 2
    embed_dimension = 4
    dtype = torch.float32
    query = torch.from_numpy(
        rng.random((batch_size, num_heads, sequence_length_q, embed_dimension))
    )
    key = torch.from_numpy(rng.random((batch_size, num_heads, sequence_length_kv, embed_dimension)))
    value = torch.from_numpy(
        rng.random((batch_size, num_heads, sequence_length_kv, embed_dimension))
    )
    query, key, value = (t.to(device=device, dtype=dtype) for t in (query, key, value))

    upper_left_bias = causal_upper_left(sequence_length_q, sequence_length_kv)
    lower_right_bias = causal_lower_right(sequence_length_q, sequence_length_kv)

    assert type(upper_left_bias) == type(lower_right_bias)  # noqa: E721 (as in the tutorial)
    assert issubclass(type(upper_left_bias), torch.Tensor)
    buf = io.StringIO()
    with redirect_stdout(buf):
        print(type(upper_left_bias))
        print(upper_left_bias)
        print(lower_right_bias)
    text = buf.getvalue()
    values += [text.count("True"), text.count("False"), "CausalBias" in text]

    out_upper_left = F.scaled_dot_product_attention(query, key, value, upper_left_bias)
    out_lower_right = F.scaled_dot_product_attention(query, key, value, lower_right_bias)
    out_is_causal = F.scaled_dot_product_attention(query, key, value, is_causal=True)

    assert torch.allclose(out_upper_left, out_is_causal)
    assert not torch.allclose(out_upper_left, out_lower_right)
    values += [out_upper_left.sum().item(), out_lower_right.sum().item()]
    return values
