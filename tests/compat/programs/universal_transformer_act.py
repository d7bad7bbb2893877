"""The Universal Transformer with adaptive computation time (ACT), as andreamad8/
Universal-Transformer-Pytorch writes it (``models/UTransformer.py``: ``ACT_basic``, ``Encoder``,
``BabiUTransformer``; ``models/common_layer.py``: ``EncoderLayer``, ``MultiHeadAttention``,
``Conv``, ``PositionwiseFeedForward``, ``LayerNorm``, ``_gen_timing_signal``, ``_gen_bias_mask``),
size-reduced.

The idioms: ``ACT_basic`` (``self.p.bias.data.fill_(1)``, ``threshold = 1 - 0.1``, the ``while(
((halting_probability<self.threshold) & (n_updates < max_hop)).byte().any())`` loop adding the
timing signal ``time_enc[:, :inputs.shape[1], :].type_as(inputs.data)`` and the per-step signal
``pos_enc[:, step, :].unsqueeze(1).repeat(1,inputs.shape[1],1)``, the ``still_running`` /
``new_halted`` float masks, remainders and ``n_updates``, ``update_weights`` mixing ``state *
update_weights.unsqueeze(-1)`` into ``previous_state``, the ``if(encoder_output):`` branch);
``_gen_timing_signal`` in NumPy (``np.pad(signal, [[0, 0], [0, channels % 2]], 'constant',
constant_values=[0.0, 0.0])``, ``torch.from_numpy(signal).type(torch.FloatTensor)``) and
``_gen_bias_mask`` (``np.triu(np.full([max_length, max_length], -np.inf), 1)``) kept as plain
tensor attributes; ``MultiHeadAttention`` with ``_split_heads``/``_merge_heads`` (their ``len(
x.shape) != 3`` checks, ``permute(0, 2, 1, 3).contiguous().view``), ``queries *=
self.query_scale`` in place on a permuted view and ``logits += self.bias_mask[:, :,
:logits.shape[-2], :logits.shape[-1]].type_as(logits.data)``; the ``Conv`` layer (``nn.
ConstantPad1d((kernel_size - 1, 0), 0)`` for left padding, ``inputs.permute(0, 2, 1)``) in the
``'cc'`` position-wise feed-forward; the hand-written ``LayerNorm`` (``(x - mean) / (std +
self.eps)`` with ``x.std(-1, keepdim=True)``); the pre-norm ``EncoderLayer``; the bAbI model's
``nn.Embedding(padding_idx=0)``, ``torch.sum(y, dim=1)`` readout, ``loss += self.act_loss_weight *
torch.mean(R_t + N_t)`` ponder cost and ``torch.argmax(logit, dim=1)`` accuracy under ``Adam``.

Changed: hidden 128 -> 8, 2 heads, max hops 6 -> 4, stories of 5 tokens and 4 answers drawn by
NumPy instead of bAbI, batches of 4, 4 steps; ``.cuda()`` calls dropped; one decoder-style call
through the ``encoder_output`` branch kept; dropout 0.1 kept (same masks in both libraries from
``torch.manual_seed``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, EMB, HIDDEN, HEADS, FILTER, MAX_LEN, HOPS, ANSWERS, BATCH = 10, 8, 8, 2, 12, 5, 4, 4, 4


def _gen_timing_signal(torch_like: Any, length: int, channels: int, min_timescale: float = 1.0,
                       max_timescale: float = 1.0e4) -> Any:  # fmt: skip
    torch = torch_like
    position = np.arange(length)
    num_timescales = channels // 2
    log_timescale_increment = math.log(float(max_timescale) / float(min_timescale)) / (
        float(num_timescales) - 1
    )
    inv_timescales = min_timescale * np.exp(
        np.arange(num_timescales).astype(np.float64) * -log_timescale_increment
    )
    scaled_time = np.expand_dims(position, 1) * np.expand_dims(inv_timescales, 0)
    signal = np.concatenate([np.sin(scaled_time), np.cos(scaled_time)], axis=1)
    signal = np.pad(signal, [[0, 0], [0, channels % 2]], "constant", constant_values=[0.0, 0.0])
    signal = signal.reshape([1, length, channels])
    return torch.from_numpy(signal).type(torch.FloatTensor)


def _gen_bias_mask(torch_like: Any, max_length: int) -> Any:
    torch = torch_like
    np_mask = np.triu(np.full([max_length, max_length], -np.inf), 1)
    torch_mask = torch.from_numpy(np_mask).type(torch.FloatTensor)
    return torch_mask.unsqueeze(0).unsqueeze(1)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class LayerNorm(nn.Module):
        def __init__(self, features: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(features))
            self.beta = nn.Parameter(torch.zeros(features))
            self.eps = eps

        def forward(self, x: Any) -> Any:
            mean = x.mean(-1, keepdim=True)
            std = x.std(-1, keepdim=True)
            return self.gamma * (x - mean) / (std + self.eps) + self.beta

    class MultiHeadAttention(nn.Module):
        def __init__(self, input_depth: int, total_key_depth: int, total_value_depth: int,
                     output_depth: int, num_heads: int, bias_mask: Any = None,
                     dropout: float = 0.0) -> None:  # fmt: skip
            super().__init__()
            if total_key_depth % num_heads != 0:
                raise ValueError(
                    "Key depth (%d) must be divisible by the number of attention heads (%d)."  # noqa: UP031
                    % (total_key_depth, num_heads)
                )
            self.num_heads = num_heads
            self.query_scale = (total_key_depth // num_heads) ** -0.5
            self.bias_mask = bias_mask
            self.query_linear = nn.Linear(input_depth, total_key_depth, bias=False)
            self.key_linear = nn.Linear(input_depth, total_key_depth, bias=False)
            self.value_linear = nn.Linear(input_depth, total_value_depth, bias=False)
            self.output_linear = nn.Linear(total_value_depth, output_depth, bias=False)
            self.dropout = nn.Dropout(dropout)

        def _split_heads(self, x: Any) -> Any:
            if len(x.shape) != 3:
                raise ValueError("x must have rank 3")
            shape = x.shape
            return x.view(shape[0], shape[1], self.num_heads, shape[2] // self.num_heads).permute(
                0, 2, 1, 3
            )

        def _merge_heads(self, x: Any) -> Any:
            if len(x.shape) != 4:
                raise ValueError("x must have rank 4")
            shape = x.shape
            return (
                x.permute(0, 2, 1, 3)
                .contiguous()
                .view(shape[0], shape[2], shape[3] * self.num_heads)
            )

        def forward(self, queries: Any, keys: Any, values: Any) -> Any:
            queries = self.query_linear(queries)
            keys = self.key_linear(keys)
            values = self.value_linear(values)
            queries = self._split_heads(queries)
            keys = self._split_heads(keys)
            values = self._split_heads(values)
            queries *= self.query_scale
            logits = torch.matmul(queries, keys.permute(0, 1, 3, 2))
            if self.bias_mask is not None:
                logits += self.bias_mask[:, :, : logits.shape[-2], : logits.shape[-1]].type_as(
                    logits.data
                )
            weights = nn.functional.softmax(logits, dim=-1)
            weights = self.dropout(weights)
            contexts = torch.matmul(weights, values)
            contexts = self._merge_heads(contexts)
            outputs = self.output_linear(contexts)
            return outputs

    class Conv(nn.Module):
        def __init__(self, input_size: int, output_size: int, kernel_size: int,
                     pad_type: str) -> None:  # fmt: skip
            super().__init__()
            padding = (
                (kernel_size - 1, 0)
                if pad_type == "left"
                else (kernel_size // 2, (kernel_size - 1) // 2)
            )
            self.pad = nn.ConstantPad1d(padding, 0)
            self.conv = nn.Conv1d(input_size, output_size, kernel_size=kernel_size, padding=0)

        def forward(self, inputs: Any) -> Any:
            inputs = self.pad(inputs.permute(0, 2, 1))
            outputs = self.conv(inputs).permute(0, 2, 1)
            return outputs

    class PositionwiseFeedForward(nn.Module):
        def __init__(self, input_depth: int, filter_size: int, output_depth: int,
                     layer_config: str = "ll", padding: str = "left",
                     dropout: float = 0.0) -> None:  # fmt: skip
            super().__init__()
            layers = []
            sizes = (
                [(input_depth, filter_size)]
                + [(filter_size, filter_size)] * (len(layer_config) - 2)
                + [(filter_size, output_depth)]
            )
            for lc, s in zip(list(layer_config), sizes):
                if lc == "l":
                    layers.append(nn.Linear(*s))
                elif lc == "c":
                    layers.append(Conv(*s, kernel_size=3, pad_type=padding))
                else:
                    raise ValueError(f"Unknown layer type {lc}")
            self.layers = nn.ModuleList(layers)
            self.relu = nn.ReLU()
            self.dropout = nn.Dropout(dropout)

        def forward(self, inputs: Any) -> Any:
            x = inputs
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers):
                    x = self.relu(x)
                    x = self.dropout(x)
            return x

    class EncoderLayer(nn.Module):
        def __init__(self, hidden_size: int, total_key_depth: int, total_value_depth: int,
                     filter_size: int, num_heads: int, bias_mask: Any = None,
                     layer_dropout: float = 0.0, attention_dropout: float = 0.0,
                     relu_dropout: float = 0.0) -> None:  # fmt: skip
            super().__init__()
            self.multi_head_attention = MultiHeadAttention(
                hidden_size, total_key_depth, total_value_depth, hidden_size, num_heads,
                bias_mask, attention_dropout,
            )  # fmt: skip
            self.positionwise_feed_forward = PositionwiseFeedForward(
                hidden_size, filter_size, hidden_size, layer_config="cc", padding="both",
                dropout=relu_dropout,
            )  # fmt: skip
            self.dropout = nn.Dropout(layer_dropout)
            self.layer_norm_mha = LayerNorm(hidden_size)
            self.layer_norm_ffn = LayerNorm(hidden_size)

        def forward(self, inputs: Any) -> Any:
            x = inputs
            x_norm = self.layer_norm_mha(x)
            y = self.multi_head_attention(x_norm, x_norm, x_norm)
            x = self.dropout(x + y)
            x_norm = self.layer_norm_ffn(x)
            y = self.positionwise_feed_forward(x_norm)
            y = self.dropout(x + y)
            return y

    class ACT_basic(nn.Module):
        def __init__(self, hidden_size: int) -> None:
            super().__init__()
            self.sigma = nn.Sigmoid()
            self.p = nn.Linear(hidden_size, 1)
            self.p.bias.data.fill_(1)
            self.threshold = 1 - 0.1

        def forward(self, state: Any, inputs: Any, fn: Any, time_enc: Any, pos_enc: Any,
                    max_hop: int, encoder_output: Any = None) -> Any:  # fmt: skip
            halting_probability = torch.zeros(inputs.shape[0], inputs.shape[1])
            remainders = torch.zeros(inputs.shape[0], inputs.shape[1])
            n_updates = torch.zeros(inputs.shape[0], inputs.shape[1])
            previous_state = torch.zeros_like(inputs)
            step = 0
            while ((halting_probability < self.threshold) & (n_updates < max_hop)).byte().any():
                state = state + time_enc[:, : inputs.shape[1], :].type_as(inputs.data)
                state = state + pos_enc[:, step, :].unsqueeze(1).repeat(
                    1, inputs.shape[1], 1
                ).type_as(inputs.data)
                p = self.sigma(self.p(state)).squeeze(-1)
                still_running = (halting_probability < 1.0).float()
                new_halted = (
                    halting_probability + p * still_running > self.threshold
                ).float() * still_running
                still_running = (
                    halting_probability + p * still_running <= self.threshold
                ).float() * still_running
                halting_probability = halting_probability + p * still_running
                remainders = remainders + new_halted * (1 - halting_probability)
                halting_probability = halting_probability + new_halted * remainders
                n_updates = n_updates + still_running + new_halted
                update_weights = p * still_running + new_halted * remainders
                if encoder_output:
                    state, _ = fn((state, encoder_output))
                else:
                    state = fn(state)
                previous_state = (state * update_weights.unsqueeze(-1)) + (
                    previous_state * (1 - update_weights.unsqueeze(-1))
                )
                step += 1
            return previous_state, (remainders, n_updates)

    class Encoder(nn.Module):
        def __init__(self, embedding_size: int, hidden_size: int, num_layers: int,
                     num_heads: int, total_key_depth: int, total_value_depth: int,
                     filter_size: int, max_length: int = 100, input_dropout: float = 0.0,
                     layer_dropout: float = 0.0, attention_dropout: float = 0.0,
                     relu_dropout: float = 0.0, use_mask: bool = False,
                     act: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.timing_signal = _gen_timing_signal(torch_like, max_length, hidden_size)
            self.position_signal = _gen_timing_signal(torch_like, num_layers, hidden_size)
            self.num_layers = num_layers
            self.act = act
            params = (
                hidden_size, total_key_depth or hidden_size, total_value_depth or hidden_size,
                filter_size, num_heads,
                _gen_bias_mask(torch_like, max_length) if use_mask else None,
                layer_dropout, attention_dropout, relu_dropout,
            )  # fmt: skip
            self.proj_flag = False
            if embedding_size == hidden_size:
                self.embedding_proj = nn.Linear(embedding_size, hidden_size, bias=False)
                self.proj_flag = True
            else:
                self.embedding_proj = nn.Linear(embedding_size, hidden_size, bias=False)
            self.enc = EncoderLayer(*params)
            self.layer_norm = LayerNorm(hidden_size)
            self.input_dropout = nn.Dropout(input_dropout)
            if self.act:
                self.act_fn = ACT_basic(hidden_size)

        def forward(self, inputs: Any) -> Any:
            x = self.input_dropout(inputs)
            x = self.embedding_proj(x)
            if self.act:
                x, (remainders, n_updates) = self.act_fn(
                    x, inputs, self.enc, self.timing_signal, self.position_signal,
                    self.num_layers,
                )  # fmt: skip
                return x, (remainders, n_updates)
            for l in range(self.num_layers):  # noqa: E741 (the original's name)
                x += self.timing_signal[:, : inputs.shape[1], :].type_as(inputs.data)
                x += (
                    self.position_signal[:, l, :]
                    .unsqueeze(1)
                    .repeat(1, inputs.shape[1], 1)
                    .type_as(inputs.data)
                )
                x = self.enc(x)
            return x, None

    class BabiUTransformer(nn.Module):
        def __init__(self, num_vocab: int, embedding_size: int, hidden_size: int,
                     num_answers: int, act: bool = False, act_loss_weight: float = 0.001,
                     use_mask: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.embedding_dim = embedding_size
            self.emb = nn.Embedding(num_vocab, embedding_size, padding_idx=0)
            self.transformer_enc = Encoder(
                embedding_size, hidden_size, num_layers=HOPS, num_heads=HEADS,
                total_key_depth=hidden_size, total_value_depth=hidden_size,
                filter_size=FILTER, max_length=MAX_LEN, input_dropout=0.0, layer_dropout=0.1,
                attention_dropout=0.1, relu_dropout=0.0, use_mask=use_mask, act=act,
            )  # fmt: skip
            self.W = nn.Linear(hidden_size, num_answers)
            self.softmax = nn.Softmax(dim=1)
            self.act = act
            self.act_loss_weight = act_loss_weight
            self.criterion = nn.CrossEntropyLoss()

        def forward(self, story: Any, answer: Any) -> Any:
            story_embedded = self.emb(story)
            y, act = self.transformer_enc(story_embedded)
            logit = self.W(torch.sum(y, dim=1))
            loss = self.criterion(logit, answer)
            if self.act:
                R_t, N_t = act
                loss += self.act_loss_weight * torch.mean(R_t + N_t)
            pred = torch.argmax(logit, dim=1)
            return loss, pred, act

    return BabiUTransformer(VOCAB, EMB, HIDDEN, ANSWERS, act=True, act_loss_weight=0.01,
                            use_mask=True)  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(6)
    values: list[float] = []
    for _ in range(4):
        story = rng.integers(1, VOCAB, (BATCH, MAX_LEN))
        story[:, -1] = np.where(rng.random(BATCH) < 0.5, 0, story[:, -1])
        answer = as_tensor(torch_like, story[:, 0] % ANSWERS)
        model.train()
        optimizer.zero_grad()
        loss, pred, (remainders, n_updates) = model(as_tensor(torch_like, story), answer)
        loss.backward()
        optimizer.step()
        acc = (pred == answer).float().mean().item()
        values += [loss.item(), acc, remainders.sum().item(), n_updates.sum().item()]
    # the encoder_output branch of ACT_basic: fn receives (state, encoder_output)
    act_fn = model.transformer_enc.act_fn
    model.eval()
    with torch.no_grad():
        x = torch.ones(1, 3, HIDDEN) * 0.1
        out, (rem, n_up) = act_fn(
            x, x, lambda pair: (pair[0] * 0.5 + 0.1, None),
            model.transformer_enc.timing_signal, model.transformer_enc.position_signal, HOPS,
            encoder_output=[x],
        )  # fmt: skip
    values += [out.sum().item(), rem.sum().item(), n_up.sum().item()]
    return values
