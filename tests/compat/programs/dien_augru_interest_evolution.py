"""DIEN's interest evolution with an attention-update GRU (Zhou et al. 2019), as
shenweichen/DeepCTR-Torch writes it (``deepctr_torch/layers/sequence.py``: ``AUGRUCell``,
``AGRUCell``, ``DynamicGRU``, ``AttentionSequencePoolingLayer``; ``layers/core.py``:
``LocalActivationUnit``; ``models/dien.py``: ``InterestEvolving``), size-reduced.

Kept verbatim: ``AUGRUCell``/``AGRUCell`` with ``nn.Parameter(torch.Tensor(3 * hidden_size,
input_size))`` re-registered by ``self.register_parameter('weight_ih', self.weight_ih)`` and the
repository's ``self.register_parameter('bias_ih', self.bias_hh)`` (one tensor under both bias
names), ``nn.init.zeros_(tensor, )``, ``F.linear(inputs, self.weight_ih, self.bias_ih)``,
``gi.chunk(3, 1)`` gates and the attention-scaled update ``update_gate = att_score *
update_gate``; ``DynamicGRU`` unpacking a ``PackedSequence`` as a tuple (``inputs,
batch_sizes, sorted_indices, unsorted_indices = inputs``), ``int(batch_sizes[0])``, the loop
``for batch in batch_sizes`` writing ``outputs[begin:begin + batch] = new_hx`` and
``PackedSequence(outputs, batch_sizes, sorted_indices, unsorted_indices)``;
``InterestEvolving``'s ``nn.init.normal_`` of the GRU's ``'weight'`` parameters,
``keys_length[mask]``, ``torch.masked_select(query, mask.view(-1, 1)).view(-1, dim).unsqueeze(
1)``, ``pack_padded_sequence(keys, lengths=keys_length.cpu(), batch_first=True,
enforce_sorted=False)`` of the interests and of the attention scores, ``pad_packed_sequence(
outputs, batch_first=True, padding_value=0.0, total_length=max_length)``, ``_get_last_state``'s
``torch.arange(max_seq_length, device=keys_length.device).repeat(batch_size, 1) ==
(keys_length.view(-1, 1) - 1)`` mask and ``zero_outputs[mask] = outputs``;
``AttentionSequencePoolingLayer(return_score=True)``'s ``keys_masks < keys_length.view(-1,
1)``, ``torch.transpose(attention_score, 1, 2)``, ``torch.where(keys_masks, outputs,
paddings)``; ``LocalActivationUnit``'s ``torch.cat([queries, user_behavior, queries -
user_behavior, queries * user_behavior], dim=-1)``.

Changed: embeddings 4 -> 4 (kept), attention DNN (64, 16) -> (8, 4) with ``nn.Sigmoid``
layers in place of DeepCTR's ``DNN`` class, 12 users with behaviour sequences of length 0-5 from
a seeded NumPy generator (one user with none, to take the empty-history path), a logistic
head on ``torch.cat([query, interest])`` trained with ``F.binary_cross_entropy_with_logits``
and ``torch.optim.Adam``, 4 steps; both ``AUGRU`` and ``AGRU`` run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

EMB, T_MAX, N_ITEMS = 4, 5, 10


def _layers(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    rnn_utils = nn.utils.rnn
    PackedSequence = rnn_utils.PackedSequence
    pack_padded_sequence, pad_packed_sequence = (
        rnn_utils.pack_padded_sequence,
        rnn_utils.pad_packed_sequence,
    )

    class AGRUCell(nn.Module):
        """Attention based GRU (AGRU)"""

        def __init__(self, input_size, hidden_size, bias=True):  # noqa: ANN001
            super(AGRUCell, self).__init__()  # noqa: UP008
            self.input_size = input_size
            self.hidden_size = hidden_size
            self.bias = bias
            # (W_ir|W_iz|W_ih)
            self.weight_ih = nn.Parameter(torch.Tensor(3 * hidden_size, input_size))
            self.register_parameter("weight_ih", self.weight_ih)
            # (W_hr|W_hz|W_hh)
            self.weight_hh = nn.Parameter(torch.Tensor(3 * hidden_size, hidden_size))
            self.register_parameter("weight_hh", self.weight_hh)
            if bias:
                # (b_ir|b_iz|b_ih)
                self.bias_ih = nn.Parameter(torch.Tensor(3 * hidden_size))
                self.register_parameter("bias_ih", self.bias_ih)
                # (b_hr|b_hz|b_hh)
                self.bias_hh = nn.Parameter(torch.Tensor(3 * hidden_size))
                self.register_parameter("bias_hh", self.bias_hh)
                for tensor in [self.bias_ih, self.bias_hh]:
                    nn.init.zeros_(tensor, )  # fmt: skip
            else:
                self.register_parameter("bias_ih", None)
                self.register_parameter("bias_hh", None)

        def forward(self, inputs, hx, att_score):  # noqa: ANN001, ANN201
            gi = F.linear(inputs, self.weight_ih, self.bias_ih)
            gh = F.linear(hx, self.weight_hh, self.bias_hh)
            i_r, _, i_n = gi.chunk(3, 1)
            h_r, _, h_n = gh.chunk(3, 1)

            reset_gate = torch.sigmoid(i_r + h_r)
            # update_gate = torch.sigmoid(i_z + h_z)
            new_state = torch.tanh(i_n + reset_gate * h_n)

            att_score = att_score.view(-1, 1)
            hy = (1.0 - att_score) * hx + att_score * new_state
            return hy

    class AUGRUCell(nn.Module):
        """Effect of GRU with attentional update gate (AUGRU)"""

        def __init__(self, input_size, hidden_size, bias=True):  # noqa: ANN001
            super(AUGRUCell, self).__init__()  # noqa: UP008
            self.input_size = input_size
            self.hidden_size = hidden_size
            self.bias = bias
            # (W_ir|W_iz|W_ih)
            self.weight_ih = nn.Parameter(torch.Tensor(3 * hidden_size, input_size))
            self.register_parameter("weight_ih", self.weight_ih)
            # (W_hr|W_hz|W_hh)
            self.weight_hh = nn.Parameter(torch.Tensor(3 * hidden_size, hidden_size))
            self.register_parameter("weight_hh", self.weight_hh)
            if bias:
                # (b_ir|b_iz|b_ih)
                self.bias_ih = nn.Parameter(torch.Tensor(3 * hidden_size))
                self.register_parameter("bias_ih", self.bias_ih)
                # (b_hr|b_hz|b_hh)
                self.bias_hh = nn.Parameter(torch.Tensor(3 * hidden_size))
                self.register_parameter("bias_ih", self.bias_hh)
                for tensor in [self.bias_ih, self.bias_hh]:
                    nn.init.zeros_(tensor, )  # fmt: skip
            else:
                self.register_parameter("bias_ih", None)
                self.register_parameter("bias_hh", None)

        def forward(self, inputs, hx, att_score):  # noqa: ANN001, ANN201
            gi = F.linear(inputs, self.weight_ih, self.bias_ih)
            gh = F.linear(hx, self.weight_hh, self.bias_hh)
            i_r, i_z, i_n = gi.chunk(3, 1)
            h_r, h_z, h_n = gh.chunk(3, 1)

            reset_gate = torch.sigmoid(i_r + h_r)
            update_gate = torch.sigmoid(i_z + h_z)
            new_state = torch.tanh(i_n + reset_gate * h_n)

            att_score = att_score.view(-1, 1)
            update_gate = att_score * update_gate
            hy = (1.0 - update_gate) * hx + update_gate * new_state
            return hy

    class DynamicGRU(nn.Module):
        def __init__(self, input_size, hidden_size, bias=True, gru_type="AGRU"):  # noqa: ANN001
            super(DynamicGRU, self).__init__()  # noqa: UP008
            self.input_size = input_size
            self.hidden_size = hidden_size

            if gru_type == "AGRU":
                self.rnn = AGRUCell(input_size, hidden_size, bias)
            elif gru_type == "AUGRU":
                self.rnn = AUGRUCell(input_size, hidden_size, bias)

        def forward(self, inputs, att_scores=None, hx=None):  # noqa: ANN001, ANN201
            if not isinstance(inputs, PackedSequence) or not isinstance(att_scores, PackedSequence):
                raise NotImplementedError("DynamicGRU only supports packed input and att_scores")

            inputs, batch_sizes, sorted_indices, unsorted_indices = inputs
            att_scores, _, _, _ = att_scores

            max_batch_size = int(batch_sizes[0])
            if hx is None:
                hx = torch.zeros(max_batch_size, self.hidden_size,
                                 dtype=inputs.dtype, device=inputs.device)  # fmt: skip

            outputs = torch.zeros(inputs.size(0), self.hidden_size,
                                  dtype=inputs.dtype, device=inputs.device)  # fmt: skip

            begin = 0
            for batch in batch_sizes:
                new_hx = self.rnn(
                    inputs[begin : begin + batch],
                    hx[0:batch],
                    att_scores[begin : begin + batch],
                )
                outputs[begin : begin + batch] = new_hx
                hx = new_hx
                begin += batch
            return PackedSequence(outputs, batch_sizes, sorted_indices, unsorted_indices)

    class LocalActivationUnit(nn.Module):
        def __init__(self, hidden_units=(64, 32), embedding_dim=4):  # noqa: ANN001
            super(LocalActivationUnit, self).__init__()  # noqa: UP008
            dims = [4 * embedding_dim] + list(hidden_units)
            self.dnn = nn.Sequential(
                *[m for i in range(len(hidden_units))
                  for m in (nn.Linear(dims[i], dims[i + 1]), nn.Sigmoid())])  # fmt: skip
            self.dense = nn.Linear(hidden_units[-1], 1)

        def forward(self, query, user_behavior):  # noqa: ANN001, ANN201
            # query ad            : size -> batch_size * 1 * embedding_size
            # user behavior       : size -> batch_size * time_seq_len * embedding_size
            user_behavior_len = user_behavior.size(1)

            queries = query.expand(-1, user_behavior_len, -1)

            attention_input = torch.cat(
                [queries, user_behavior, queries - user_behavior, queries * user_behavior],
                dim=-1,
            )  # as the source code, subtraction simulates verctors' difference
            attention_output = self.dnn(attention_input)

            attention_score = self.dense(attention_output)  # [B, T, 1]

            return attention_score

    class AttentionSequencePoolingLayer(nn.Module):
        def __init__(self, att_hidden_units=(80, 40), weight_normalization=False,
                     return_score=False, supports_masking=False, embedding_dim=4):  # noqa: ANN001 # fmt: skip
            super(AttentionSequencePoolingLayer, self).__init__()  # noqa: UP008
            self.return_score = return_score
            self.weight_normalization = weight_normalization
            self.supports_masking = supports_masking
            self.local_att = LocalActivationUnit(hidden_units=att_hidden_units,
                                                 embedding_dim=embedding_dim)  # fmt: skip

        def forward(self, query, keys, keys_length, mask=None):  # noqa: ANN001, ANN201
            batch_size, max_length, _ = keys.size()

            # Mask
            keys_masks = torch.arange(max_length, device=keys_length.device,
                                      dtype=keys_length.dtype).repeat(batch_size, 1)  # fmt: skip
            # [B, T]
            keys_masks = keys_masks < keys_length.view(-1, 1)  # 0, 1 mask
            keys_masks = keys_masks.unsqueeze(1)  # [B, 1, T]

            attention_score = self.local_att(query, keys)  # [B, T, 1]

            outputs = torch.transpose(attention_score, 1, 2)  # [B, 1, T]

            if self.weight_normalization:
                paddings = torch.ones_like(outputs) * (-(2**32) + 1)
            else:
                paddings = torch.zeros_like(outputs)

            outputs = torch.where(keys_masks, outputs, paddings)  # [B, 1, T]

            if self.weight_normalization:
                outputs = F.softmax(outputs, dim=-1)  # [B, 1, T]

            if not self.return_score:
                # Weighted sum
                outputs = torch.matmul(outputs, keys)  # [B, 1, E]

            return outputs

    class InterestEvolving(nn.Module):
        __SUPPORTED_GRU_TYPE__ = ["GRU", "AIGRU", "AGRU", "AUGRU"]

        def __init__(self, input_size, gru_type="GRU", use_neg=False, init_std=0.001,
                     att_hidden_size=(64, 16), att_weight_normalization=False):  # noqa: ANN001 # fmt: skip
            super(InterestEvolving, self).__init__()  # noqa: UP008
            if gru_type not in InterestEvolving.__SUPPORTED_GRU_TYPE__:
                raise NotImplementedError("gru_type: {gru_type} is not supported")
            self.gru_type = gru_type
            self.use_neg = use_neg

            self.attention = AttentionSequencePoolingLayer(
                embedding_dim=input_size, att_hidden_units=att_hidden_size,
                weight_normalization=att_weight_normalization, return_score=True)  # fmt: skip
            self.interest_evolution = DynamicGRU(input_size=input_size, hidden_size=input_size,
                                                 gru_type=gru_type)  # fmt: skip
            for name, tensor in self.interest_evolution.named_parameters():
                if "weight" in name:
                    nn.init.normal_(tensor, mean=0, std=init_std)

        @staticmethod
        def _get_last_state(states, keys_length):  # noqa: ANN001, ANN205
            # states [B, T, H]
            batch_size, max_seq_length, _ = states.size()

            mask = torch.arange(max_seq_length, device=keys_length.device).repeat(
                batch_size, 1
            ) == (keys_length.view(-1, 1) - 1)

            return states[mask]

        def forward(self, query, keys, keys_length, mask=None):  # noqa: ANN001, ANN201
            batch_size, dim = query.size()
            max_length = keys.size()[1]

            # check batch validation
            zero_outputs = torch.zeros(batch_size, dim, device=query.device)
            mask = keys_length > 0
            # [B] -> [b]
            keys_length = keys_length[mask]
            if keys_length.shape[0] == 0:
                return zero_outputs

            # [B, H] -> [b, 1, H]
            query = torch.masked_select(query, mask.view(-1, 1)).view(-1, dim).unsqueeze(1)
            keys = keys[mask]  # the masked interests

            # [b, T]
            att_scores = self.attention(query, keys, keys_length.unsqueeze(1)).squeeze(1)

            packed_interests = pack_padded_sequence(keys, lengths=keys_length.cpu(),
                                                    batch_first=True,
                                                    enforce_sorted=False)  # fmt: skip
            packed_scores = pack_padded_sequence(att_scores, lengths=keys_length.cpu(),
                                                 batch_first=True,
                                                 enforce_sorted=False)  # fmt: skip

            outputs = self.interest_evolution(packed_interests, packed_scores)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, padding_value=0.0,
                                             total_length=max_length)  # fmt: skip
            # pick last state
            outputs = InterestEvolving._get_last_state(outputs, keys_length)
            # [b, H] -> [B, H]
            zero_outputs[mask] = outputs
            return zero_outputs

    return locals()


def _model(torch_like: Any) -> type:
    nn = torch_like.nn
    L = _layers(torch_like)

    class DIENHead(nn.Module):
        def __init__(self, gru_type):  # noqa: ANN001
            super().__init__()
            self.embedding = nn.Embedding(N_ITEMS, EMB, padding_idx=0)
            self.interest = L["InterestEvolving"](EMB, gru_type=gru_type, init_std=0.3,
                                                  att_hidden_size=(8, 4))  # fmt: skip
            self.out = nn.Linear(2 * EMB, 1)

        def forward(self, target, history, lengths):  # noqa: ANN001, ANN201
            query = self.embedding(target)
            keys = self.embedding(history)
            evolved = self.interest(query, keys, lengths)
            return self.out(torch_like.cat([query, evolved], dim=-1)).squeeze(-1)

    return DIENHead


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)("AUGRU")


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(13)
    lengths = rng.integers(1, T_MAX + 1, 12)
    lengths[3] = 0
    history = np.zeros((12, T_MAX), np.int64)
    for i, n in enumerate(lengths):
        history[i, :n] = rng.integers(1, N_ITEMS, n)
    target = rng.integers(1, N_ITEMS, 12)
    clicks = (np.isin(target, history[:, :2]) | (target % 3 == 0)).astype(np.float64)
    values: list[float] = []
    for gru_type in ("AUGRU", "AGRU"):
        torch.manual_seed(4)
        model = _model(torch_like)(gru_type)
        if gru_type == "AUGRU":
            load_numpy_state(torch_like, model, init)
        values.append(float(len(list(model.parameters()))))
        values.append(float(len(model.state_dict())))
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(4):
            logits = model(as_tensor(torch, target), as_tensor(torch, history),
                           as_tensor(torch, lengths))  # fmt: skip
            loss = F.binary_cross_entropy_with_logits(logits, as_tensor(torch, clicks))
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(loss.item())
    return values
