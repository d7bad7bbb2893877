"""labml.ai annotated implementations (labmlai/annotated_deep_learning_paper_implementations):
``labml_nn/transformers/aft/__init__.py`` (An Attention Free Transformer, ``AFTLocal``: a
``pos_bias = nn.Parameter(torch.zeros(seq_len, seq_len), requires_grad=True)``, a bool
``local_mask`` kept as ``nn.Parameter(..., requires_grad=False)`` built by
``torch.tril(local_mask, local_window_size - 1)`` and ``torch.triu(local_mask,
-(local_window_size - 1))``, ``pos_bias.masked_fill_(~mask, float('-inf'))``, the
max-subtracted ``exp`` with ``max(dim=0, keepdims=True)[0]`` (NumPy's keyword), the
``'ijb,jbd->ibd'`` einsums and ``self.activation(query) * num / den``) and
``labml_nn/transformers/primer_ez/__init__.py`` (``SquaredReLU``; ``SpatialDepthWiseConvolution``
with ``nn.Conv1d(d_k, d_k, kernel_size, padding=(kernel_size - 1,), groups=d_k)``,
``permute(1, 2, 3, 0).view(batch_size * heads, d_k, seq_len)`` and the causal crop
``x[:, :, :-(self.kernel_size - 1)]``; ``MultiDConvHeadAttention`` on labml's
``MultiHeadAttention`` with ``PrepareForMultiHeadAttention``, ``torch.einsum('ibhd,jbhd->ijbh',
...)``, ``scores.masked_fill(mask == 0, float('-inf'))`` and ``nn.Softmax(dim=1)``), in labml's
seq-first ``TransformerLayer`` (``norm_self_attn``, ``norm_ff``, ``FeedForward``) with the
``subsequent_mask`` of ``labml_nn/transformers/utils.py`` and the ``CrossEntropyLoss`` of
``labml_nn/experiments/nlp_autoregression.py``.

Changed: d_model 512 -> 8, heads 8 -> 2, seq_len 256 -> 6, local window 32 -> 2, 6 layers
-> 2 (one AFT layer, one Primer EZ layer), the tiny-Shakespeare characters -> seeded token ids
(vocab 10), batch 2, 5 Adam steps (Noam schedule left out); dropout 0.0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

D_MODEL, HEADS, SEQ, WINDOW, VOCAB = 8, 2, 6, 2, 10


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Module = nn.Module

    class AFTLocal(Module):
        def __init__(self, d_model: int, seq_len: int, local_window_size: int, bias: bool = True):
            super().__init__()

            # Local window size $s$
            self.local_window_size = local_window_size
            # These transform the `query`, `key` and `value` vectors.
            self.query = nn.Linear(d_model, d_model, bias=bias)
            self.key = nn.Linear(d_model, d_model, bias=bias)
            self.value = nn.Linear(d_model, d_model, bias=bias)
            # Pair-wise positional biases $w \in \mathbb{R}^{T \times T}$
            self.pos_bias = nn.Parameter(torch.zeros(seq_len, seq_len), requires_grad=True)
            # Mask for $w_{t,t'}$
            self.local_mask = nn.Parameter(
                self.create_local_mask(seq_len, local_window_size), requires_grad=False
            )  # noqa: E501
            # Activation $\sigma$
            self.activation = nn.Sigmoid()
            # Output layer
            self.output = nn.Linear(d_model, d_model)

        @staticmethod
        def create_local_mask(seq_len, local_window_size):  # noqa: ANN001, ANN205
            # Initialize to ones
            local_mask = torch.ones(seq_len, seq_len, dtype=torch.bool)
            # Make $t' - t \ge s$ zero
            local_mask = torch.tril(local_mask, local_window_size - 1)
            # Make $t - t' \ge s$ zero
            local_mask = torch.triu(local_mask, -(local_window_size - 1))

            #
            return local_mask

        def forward(self, *, query, key, value, mask=None):  # noqa: ANN001, ANN202
            # `query`, `key` and `value` have shape `[seq_len, batch_size, d_model]`
            seq_len, _, _ = query.shape

            if mask is not None:
                # `mask` has shape `[seq_len_q, seq_len_k, batch_size]`,
                # where first dimension is the query dimension.
                # If the query dimension is equal to $1$ it will be broadcasted.
                assert mask.shape[0] == 1 or mask.shape[0] == query.shape[0]
                assert mask.shape[1] == key.shape[0]
                assert mask.shape[2] == 1 or mask.shape[2] == query.shape[1]

            # Transform query, key and value embeddings
            query = self.query(query)
            key = self.key(key)
            value = self.value(value)

            # Get
            pos_bias = self.pos_bias[:seq_len, :seq_len] * self.local_mask[:seq_len, :seq_len]
            pos_bias = pos_bias.unsqueeze(-1)
            pos_bias.masked_fill_(~mask, float("-inf"))

            # We compute $\exp(w_{t,t'} - max)$ and $\exp(K_{t'} - max)$ separately
            max_key = key.max(dim=0, keepdims=True)[0]
            max_pos_bias = pos_bias.max(dim=1, keepdims=True)[0]

            # $\exp \big(K_{t'}- \max_{t'}(K_{t'})\big)$
            exp_key = torch.exp(key - max_key)
            # $\exp \big(w_{t,t'} - \max_{t'}(w_{t,t'})\big)$
            exp_pos_bias = torch.exp(pos_bias - max_pos_bias)

            # The numerator part $\sum_{t'=1}^T \exp(w_{t,t'}) \odot \exp(K_{t'}) \odot V_{t'}$
            num = torch.einsum("ijb,jbd->ibd", exp_pos_bias, exp_key * value)
            # The denominator part $\sum_{t'=1}^T \exp(w_{t,t'}) \odot \exp(K_{t'})$
            den = torch.einsum("ijb,jbd->ibd", exp_pos_bias, exp_key)

            # Output $$Y_t = \sigma(Q_t) \odot
            # \frac{\sum_{t'=1}^T \exp(w_{t,t'}) \odot \exp(K_{t'}) \odot V_{t'}}
            # {\sum_{t'=1}^T \exp(w_{t,t'}) \odot \exp(K_{t'})}$$
            y = self.activation(query) * num / den

            # Output layer
            return self.output(y)

    class PrepareForMultiHeadAttention(Module):
        def __init__(self, d_model: int, heads: int, d_k: int, bias: bool):
            super().__init__()
            self.linear = nn.Linear(d_model, heads * d_k, bias=bias)
            self.heads = heads
            self.d_k = d_k

        def forward(self, x):  # noqa: ANN001, ANN202
            head_shape = x.shape[:-1]
            x = self.linear(x)
            x = x.view(*head_shape, self.heads, self.d_k)
            return x

    class MultiHeadAttention(Module):
        def __init__(self, heads: int, d_model: int, dropout_prob: float = 0.1, bias: bool = True):
            super().__init__()
            self.d_k = d_model // heads
            self.heads = heads
            self.query = PrepareForMultiHeadAttention(d_model, heads, self.d_k, bias=bias)
            self.key = PrepareForMultiHeadAttention(d_model, heads, self.d_k, bias=bias)
            self.value = PrepareForMultiHeadAttention(d_model, heads, self.d_k, bias=True)
            self.softmax = nn.Softmax(dim=1)
            self.output = nn.Linear(d_model, d_model)
            self.dropout = nn.Dropout(dropout_prob)
            self.scale = 1 / math.sqrt(self.d_k)
            self.attn = None

        def get_scores(self, query, key):  # noqa: ANN001, ANN202
            return torch.einsum("ibhd,jbhd->ijbh", query, key)

        def prepare_mask(self, mask, query_shape, key_shape):  # noqa: ANN001, ANN202
            assert mask.shape[0] == 1 or mask.shape[0] == query_shape[0]
            assert mask.shape[1] == key_shape[0]
            assert mask.shape[2] == 1 or mask.shape[2] == query_shape[1]
            mask = mask.unsqueeze(-1)
            return mask

        def forward(self, *, query, key, value, mask=None):  # noqa: ANN001, ANN202
            seq_len, batch_size, _ = query.shape
            if mask is not None:
                mask = self.prepare_mask(mask, query.shape, key.shape)
            query = self.query(query)
            key = self.key(key)
            value = self.value(value)
            scores = self.get_scores(query, key)
            scores *= self.scale
            if mask is not None:
                scores = scores.masked_fill(mask == 0, float("-inf"))
            attn = self.softmax(scores)
            attn = self.dropout(attn)
            x = torch.einsum("ijbh,jbhd->ibhd", attn, value)
            self.attn = attn.detach()
            x = x.reshape(seq_len, batch_size, -1)
            return self.output(x)

    class SquaredReLU(Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x):  # noqa: ANN001, ANN202
            # Apply ReLU
            x = self.relu(x)
            # Square it
            return x * x

    class SpatialDepthWiseConvolution(Module):
        def __init__(self, d_k: int, kernel_size: int = 3):
            super().__init__()
            self.kernel_size = kernel_size
            # We use PyTorch's `Conv1d` module.
            # We add padding to both sides and later crop the right most `kernel_size - 1` results
            self.conv = nn.Conv1d(
                in_channels=d_k,
                out_channels=d_k,
                kernel_size=(kernel_size,),
                padding=(kernel_size - 1,),
                groups=d_k,
            )  # noqa: E501 - fmt: skip

        def forward(self, x):  # noqa: ANN001, ANN202
            # Get the shape
            seq_len, batch_size, heads, d_k = x.shape
            # Permute to `[batch_size, heads, d_k, seq_len]`
            x = x.permute(1, 2, 3, 0)
            # Change the shape to `[batch_size * heads, d_k, seq_len]`
            x = x.view(batch_size * heads, d_k, seq_len)

            # 1D convolution accepts input of the form `[N, channels, sequence]`
            x = self.conv(x)
            # Crop the right most `kernel_size - 1` results since we padded both sides
            x = x[:, :, : -(self.kernel_size - 1)]
            # Reshape to `[batch_size, heads, d_k, seq_len]`
            x = x.view(batch_size, heads, d_k, seq_len)
            # Permute to `[seq_len, batch_size, heads, d_k]`
            x = x.permute(3, 0, 1, 2)

            #
            return x

    class MultiDConvHeadAttention(MultiHeadAttention):
        def __init__(self, heads: int, d_model: int, dropout_prob: float = 0.1):
            super().__init__(heads, d_model, dropout_prob)

            # noqa: E501 - [Multi-Head Attention](../mha.html) will create query, key and value projection modules
            # `self.query`, `self.key`, and `self.value`.
            #
            # We combine a spatial depth-wise convolution layer to each of them and replace
            # `self.query`, `self.key`, and `self.value`.
            #
            # noqa: E501 - 📝 *We feel this cleaner implementation is easier to understand since it clearly shows the difference
            # between this and vanilla transformer multi-head attention*.
            self.query = nn.Sequential(self.query, SpatialDepthWiseConvolution(self.d_k))
            self.key = nn.Sequential(self.key, SpatialDepthWiseConvolution(self.d_k))
            self.value = nn.Sequential(self.value, SpatialDepthWiseConvolution(self.d_k))

    class FeedForward(Module):
        def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1, activation=nn.ReLU(),  # noqa: B008
                     is_gated: bool = False, bias1: bool = True, bias2: bool = True,
                     bias_gate: bool = True):  # noqa: ANN001, B008 # fmt: skip
            super().__init__()
            self.layer1 = nn.Linear(d_model, d_ff, bias=bias1)
            self.layer2 = nn.Linear(d_ff, d_model, bias=bias2)
            self.dropout = nn.Dropout(dropout)
            self.activation = activation
            self.is_gated = is_gated
            if is_gated:
                self.linear_v = nn.Linear(d_model, d_ff, bias=bias_gate)

        def forward(self, x):  # noqa: ANN001, ANN202
            g = self.activation(self.layer1(x))
            if self.is_gated:
                x = g * self.linear_v(x)
            else:
                x = g
            x = self.dropout(x)
            return self.layer2(x)

    class TransformerLayer(Module):
        def __init__(self, *, d_model: int, self_attn, feed_forward, dropout_prob: float):  # noqa: ANN001
            super().__init__()
            self.size = d_model
            self.self_attn = self_attn
            self.feed_forward = feed_forward
            self.dropout = nn.Dropout(dropout_prob)
            self.norm_self_attn = nn.LayerNorm([d_model])
            self.norm_ff = nn.LayerNorm([d_model])

        def forward(self, *, x, mask):  # noqa: ANN001, ANN202
            z = self.norm_self_attn(x)
            self_attn = self.self_attn(query=z, key=z, value=z, mask=mask)
            x = x + self.dropout(self_attn)
            z = self.norm_ff(x)
            ff = self.feed_forward(z)
            x = x + self.dropout(ff)
            return x

    class AutoregressiveModel(Module):
        def __init__(self) -> None:
            super().__init__()
            self.src_embed = nn.Embedding(VOCAB, D_MODEL)
            self.layers = nn.ModuleList([
                TransformerLayer(d_model=D_MODEL, self_attn=AFTLocal(D_MODEL, SEQ, WINDOW),
                                 feed_forward=FeedForward(D_MODEL, 16, 0.0), dropout_prob=0.0),
                TransformerLayer(d_model=D_MODEL,
                                 self_attn=MultiDConvHeadAttention(HEADS, D_MODEL, 0.0),
                                 feed_forward=FeedForward(D_MODEL, 16, 0.0, SquaredReLU()),
                                 dropout_prob=0.0),
            ])  # fmt: skip
            self.norm = nn.LayerNorm([D_MODEL])
            self.generator = nn.Linear(D_MODEL, VOCAB)
            self.mask = None

        def forward(self, x):  # noqa: ANN001, ANN202
            if self.mask is None or self.mask.size(0) != len(x):
                # labml_nn.transformers.utils.subsequent_mask
                self.mask = torch.tril(torch.ones(len(x), len(x))).to(torch.bool).unsqueeze(-1)
            x = self.src_embed(x)
            for layer in self.layers:
                x = layer(x=x, mask=self.mask)
            return self.generator(self.norm(x)), None

    return AutoregressiveModel()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch)
    load_numpy_state(torch, model, init)

    class CrossEntropyLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.loss = nn.CrossEntropyLoss()

        def forward(self, outputs, targets):  # noqa: ANN001, ANN202
            return self.loss(outputs.view(-1, outputs.shape[-1]), targets.view(-1))

    loss_func = CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(5)
    out: list[float] = [float(model.layers[0].self_attn.local_mask.sum())]
    for _ in range(5):
        seq = torch.tensor(rng.integers(0, VOCAB, size=(SEQ + 1, 2)))
        data, target = seq[:-1], seq[1:]
        output, *_ = model(data)
        loss = loss_func(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    out.append(model.layers[0].self_attn.pos_bias.abs().sum().item())
    out.append(float(model.layers[1].self_attn.attn.sum()))
    return out
