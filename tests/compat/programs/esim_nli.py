"""ESIM for natural language inference, as coetaneous/ESIM writes it (``esim/utils.py``,
``esim/layers.py``, ``esim/model.py``, ``scripts/training/utils.py`` and ``train_snli.py``),
size-reduced.

The idioms: ``sort_by_seq_lens`` (``sequences_lengths.sort(0, descending=descending)``,
``batch.index_select(0, sorting_index)``, ``sequences_lengths.new_tensor(torch.arange(0,
len(sequences_lengths)))`` with the copy-construct warning it raises, the restoration index from
``sorting_index.sort(0, descending=False)``); ``get_mask`` (``torch.max(sequences_lengths)`` as a
size, ``mask[sequences_batch[:, :max_length] == 0] = 0.0``); ``masked_softmax`` (``while
mask.dim() < tensor.dim(): mask = mask.unsqueeze(1)``, ``mask.expand_as(tensor).contiguous()
.float()``, softmax of ``reshaped_tensor * reshaped_mask`` renormalised with ``+ 1e-13``);
``weighted_sum`` (``weights.bmm(tensor)``, the transposed expanded mask); ``replace_masked``
(``value * (1.0 - mask)``); ``RNNDropout(nn.Dropout)`` (``sequences_batch.data.new_ones(...)``,
``nn.functional.dropout(ones, self.p, self.training, inplace=False)``); ``Seq2SeqEncoder`` with
its ``issubclass(rnn_type, nn.RNNBase)`` assertion, ``pack_padded_sequence`` of the sorted batch
with the sorted length tensor, ``self._encoder(packed_batch, None)``, ``pad_packed_sequence``
and ``outputs.index_select(0, restoration_idx)``; ``SoftmaxAttention`` (``premise_batch.bmm(
hypothesis_batch.transpose(2, 1).contiguous())``); the ESIM model (``nn.Embedding(...,
padding_idx=0, _weight=embeddings)``, the enhancement ``torch.cat([a, b, a - b, a * b],
dim=-1)``, average and max pooling with ``replace_masked(v_ai, premises_mask, -1e7).max(dim=1)``,
logits and ``nn.functional.softmax``) initialised by ``_init_esim_weights`` through
``self.apply`` (``xavier_uniform_``/``orthogonal_`` on ``module.weight_hh_l0.data``, the forget
gate bias ``module.bias_hh_l0.data[hidden_size:(2*hidden_size)] = 1.0`` for both directions);
the training ``train``/``validate`` functions (``optimizer.zero_grad()``, ``nn.utils.
clip_grad_norm_``, ``correct_predictions`` with ``output_probabilities.max(dim=1)``, ``with
torch.no_grad()`` validation) under ``Adam`` and ``ReduceLROnPlateau(optimizer, mode="max",
factor=0.5, patience=0)`` stepped with the validation accuracy.

Changed: vocabulary 20, embeddings 6, hidden 5 (300/300), 3 classes kept, batches of 4 sentences
of at most 6 tokens drawn by NumPy, 3 epochs of 2 batches; dropout 0.5 kept (both libraries draw
the same masks from ``torch.manual_seed``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, EMB, HIDDEN, CLASSES, BATCH, MAXLEN = 20, 6, 5, 3, 4, 6


def _utils(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def sort_by_seq_lens(batch: Any, sequences_lengths: Any, descending: bool = True) -> Any:
        sorted_seq_lens, sorting_index = sequences_lengths.sort(0, descending=descending)
        sorted_batch = batch.index_select(0, sorting_index)
        idx_range = sequences_lengths.new_tensor(torch.arange(0, len(sequences_lengths)))
        _, reverse_mapping = sorting_index.sort(0, descending=False)
        restoration_index = idx_range.index_select(0, reverse_mapping)
        return sorted_batch, sorted_seq_lens, sorting_index, restoration_index

    def get_mask(sequences_batch: Any, sequences_lengths: Any) -> Any:
        batch_size = sequences_batch.size()[0]
        max_length = torch.max(sequences_lengths)
        mask = torch.ones(batch_size, max_length, dtype=torch.float)
        mask[sequences_batch[:, :max_length] == 0] = 0.0
        return mask

    def masked_softmax(tensor: Any, mask: Any) -> Any:
        tensor_shape = tensor.size()
        reshaped_tensor = tensor.view(-1, tensor_shape[-1])
        while mask.dim() < tensor.dim():
            mask = mask.unsqueeze(1)
        mask = mask.expand_as(tensor).contiguous().float()
        reshaped_mask = mask.view(-1, mask.size()[-1])
        result = nn.functional.softmax(reshaped_tensor * reshaped_mask, dim=-1)
        result = result * reshaped_mask
        result = result / (result.sum(dim=-1, keepdim=True) + 1e-13)
        return result.view(*tensor_shape)

    def weighted_sum(tensor: Any, weights: Any, mask: Any) -> Any:
        weighted_sum = weights.bmm(tensor)
        while mask.dim() < weighted_sum.dim():
            mask = mask.unsqueeze(1)
        mask = mask.transpose(-1, -2)
        mask = mask.expand_as(weighted_sum).contiguous().float()
        return weighted_sum * mask

    def replace_masked(tensor: Any, mask: Any, value: float) -> Any:
        mask = mask.unsqueeze(1).transpose(2, 1)
        reverse_mask = 1.0 - mask
        values_to_add = value * reverse_mask
        return tensor * mask + values_to_add

    return sort_by_seq_lens, get_mask, masked_softmax, weighted_sum, replace_masked


def make_model(torch_like: Any, dropout: float = 0.5) -> Any:
    torch, nn = torch_like, torch_like.nn
    sort_by_seq_lens, get_mask, masked_softmax, weighted_sum, replace_masked = _utils(torch_like)

    class RNNDropout(nn.Dropout):
        def forward(self, sequences_batch: Any) -> Any:
            ones = sequences_batch.data.new_ones(
                sequences_batch.shape[0], sequences_batch.shape[-1]
            )
            dropout_mask = nn.functional.dropout(ones, self.p, self.training, inplace=False)
            return dropout_mask.unsqueeze(1) * sequences_batch

    class Seq2SeqEncoder(nn.Module):
        def __init__(self, rnn_type: Any, input_size: int, hidden_size: int, num_layers: int = 1,
                     bias: bool = True, dropout: float = 0.0,
                     bidirectional: bool = False) -> None:  # fmt: skip
            assert issubclass(rnn_type, nn.RNNBase), (
                "rnn_type must be a class inheriting from torch.nn.RNNBase"
            )
            super().__init__()
            self.rnn_type = rnn_type
            self.input_size = input_size
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.bias = bias
            self.dropout = dropout
            self.bidirectional = bidirectional
            self._encoder = rnn_type(input_size, hidden_size, num_layers=num_layers, bias=bias,
                                     batch_first=True, dropout=dropout,
                                     bidirectional=bidirectional)  # fmt: skip

        def forward(self, sequences_batch: Any, sequences_lengths: Any) -> Any:
            sorted_batch, sorted_lengths, _, restoration_idx = sort_by_seq_lens(
                sequences_batch, sequences_lengths
            )
            packed_batch = nn.utils.rnn.pack_padded_sequence(
                sorted_batch, sorted_lengths, batch_first=True
            )
            outputs, _ = self._encoder(packed_batch, None)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)
            reordered_outputs = outputs.index_select(0, restoration_idx)
            return reordered_outputs

    class SoftmaxAttention(nn.Module):
        def forward(self, premise_batch: Any, premise_mask: Any, hypothesis_batch: Any,
                    hypothesis_mask: Any) -> Any:  # fmt: skip
            similarity_matrix = premise_batch.bmm(hypothesis_batch.transpose(2, 1).contiguous())
            prem_hyp_attn = masked_softmax(similarity_matrix, hypothesis_mask)
            hyp_prem_attn = masked_softmax(
                similarity_matrix.transpose(1, 2).contiguous(), premise_mask
            )
            attended_premises = weighted_sum(hypothesis_batch, prem_hyp_attn, premise_mask)
            attended_hypotheses = weighted_sum(premise_batch, hyp_prem_attn, hypothesis_mask)
            return attended_premises, attended_hypotheses

    def _init_esim_weights(module: Any) -> None:
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight.data)
            nn.init.constant_(module.bias.data, 0.0)
        elif isinstance(module, nn.LSTM):
            nn.init.xavier_uniform_(module.weight_ih_l0.data)
            nn.init.orthogonal_(module.weight_hh_l0.data)
            nn.init.constant_(module.bias_ih_l0.data, 0.0)
            nn.init.constant_(module.bias_hh_l0.data, 0.0)
            hidden_size = module.bias_hh_l0.data.shape[0] // 4
            module.bias_hh_l0.data[hidden_size : (2 * hidden_size)] = 1.0
            if module.bidirectional:
                nn.init.xavier_uniform_(module.weight_ih_l0_reverse.data)
                nn.init.orthogonal_(module.weight_hh_l0_reverse.data)
                nn.init.constant_(module.bias_ih_l0_reverse.data, 0.0)
                nn.init.constant_(module.bias_hh_l0_reverse.data, 0.0)
                module.bias_hh_l0_reverse.data[hidden_size : (2 * hidden_size)] = 1.0

    class ESIM(nn.Module):
        def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int,
                     embeddings: Any = None, padding_idx: int = 0, dropout: float = 0.5,
                     num_classes: int = 3, device: str = "cpu") -> None:  # fmt: skip
            super().__init__()
            self.vocab_size = vocab_size
            self.embedding_dim = embedding_dim
            self.hidden_size = hidden_size
            self.num_classes = num_classes
            self.dropout = dropout
            self.device = device
            self._word_embedding = nn.Embedding(
                self.vocab_size, self.embedding_dim, padding_idx=padding_idx, _weight=embeddings
            )
            if self.dropout:
                self._rnn_dropout = RNNDropout(p=self.dropout)
            self._encoding = Seq2SeqEncoder(
                nn.LSTM, self.embedding_dim, self.hidden_size, bidirectional=True
            )
            self._attention = SoftmaxAttention()
            self._projection = nn.Sequential(
                nn.Linear(4 * 2 * self.hidden_size, self.hidden_size), nn.ReLU()
            )
            self._composition = Seq2SeqEncoder(
                nn.LSTM, self.hidden_size, self.hidden_size, bidirectional=True
            )
            self._classification = nn.Sequential(
                nn.Dropout(p=self.dropout),
                nn.Linear(2 * 4 * self.hidden_size, self.hidden_size),
                nn.Tanh(),
                nn.Dropout(p=self.dropout),
                nn.Linear(self.hidden_size, self.num_classes),
            )
            self.apply(_init_esim_weights)

        def forward(self, premises: Any, premises_lengths: Any, hypotheses: Any,
                    hypotheses_lengths: Any) -> Any:  # fmt: skip
            premises_mask = get_mask(premises, premises_lengths).to(self.device)
            hypotheses_mask = get_mask(hypotheses, hypotheses_lengths).to(self.device)
            embedded_premises = self._word_embedding(premises)
            embedded_hypotheses = self._word_embedding(hypotheses)
            if self.dropout:
                embedded_premises = self._rnn_dropout(embedded_premises)
                embedded_hypotheses = self._rnn_dropout(embedded_hypotheses)
            encoded_premises = self._encoding(embedded_premises, premises_lengths)
            encoded_hypotheses = self._encoding(embedded_hypotheses, hypotheses_lengths)
            attended_premises, attended_hypotheses = self._attention(
                encoded_premises, premises_mask, encoded_hypotheses, hypotheses_mask
            )
            enhanced_premises = torch.cat(
                [
                    encoded_premises,
                    attended_premises,
                    encoded_premises - attended_premises,
                    encoded_premises * attended_premises,
                ],
                dim=-1,
            )
            enhanced_hypotheses = torch.cat(
                [
                    encoded_hypotheses,
                    attended_hypotheses,
                    encoded_hypotheses - attended_hypotheses,
                    encoded_hypotheses * attended_hypotheses,
                ],
                dim=-1,
            )
            projected_premises = self._projection(enhanced_premises)
            projected_hypotheses = self._projection(enhanced_hypotheses)
            if self.dropout:
                projected_premises = self._rnn_dropout(projected_premises)
                projected_hypotheses = self._rnn_dropout(projected_hypotheses)
            v_ai = self._composition(projected_premises, premises_lengths)
            v_bj = self._composition(projected_hypotheses, hypotheses_lengths)
            v_a_avg = torch.sum(
                v_ai * premises_mask.unsqueeze(1).transpose(2, 1), dim=1
            ) / torch.sum(premises_mask, dim=1, keepdim=True)
            v_b_avg = torch.sum(
                v_bj * hypotheses_mask.unsqueeze(1).transpose(2, 1), dim=1
            ) / torch.sum(hypotheses_mask, dim=1, keepdim=True)
            v_a_max, _ = replace_masked(v_ai, premises_mask, -1e7).max(dim=1)
            v_b_max, _ = replace_masked(v_bj, hypotheses_mask, -1e7).max(dim=1)
            v = torch.cat([v_a_avg, v_a_max, v_b_avg, v_b_max], dim=1)
            logits = self._classification(v)
            probabilities = nn.functional.softmax(logits, dim=-1)
            return logits, probabilities

    embeddings = torch.tensor(np.random.default_rng(3).normal(size=(VOCAB, EMB)))
    return ESIM(VOCAB, EMB, HIDDEN, embeddings=embeddings, dropout=dropout, num_classes=CLASSES)


def correct_predictions(output_probabilities: Any, targets: Any) -> int:
    _, out_classes = output_probabilities.max(dim=1)
    correct = (out_classes == targets).sum()
    return correct.item()


def _batches(rng: np.random.Generator, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        batch = {}
        for side in ("premise", "hypothesis"):
            lengths = rng.integers(2, MAXLEN + 1, BATCH)
            ids = np.zeros((BATCH, int(lengths.max())), dtype=np.int64)
            for b, length in enumerate(lengths):
                ids[b, :length] = rng.integers(1, VOCAB, length)
            batch[side], batch[f"{side}_length"] = ids, lengths.astype(np.int64)
        batch["label"] = rng.integers(0, CLASSES, BATCH)
        out.append(batch)
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=0
    )
    rng = np.random.default_rng(5)
    train_loader, valid_loader = _batches(rng, 2), _batches(rng, 1)
    values: list[float] = []

    def tensors(batch: dict) -> list[Any]:
        keys = ("premise", "premise_length", "hypothesis", "hypothesis_length", "label")
        return [as_tensor(torch_like, batch[k]) for k in keys]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _epoch in range(3):
            model.train()
            running_loss, correct_preds = 0.0, 0
            for batch in train_loader:
                premises, premises_lengths, hypotheses, hypotheses_lengths, labels = tensors(batch)
                optimizer.zero_grad()
                logits, probs = model(premises, premises_lengths, hypotheses, hypotheses_lengths)
                loss = criterion(logits, labels)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 10.0)
                optimizer.step()
                running_loss += loss.item()
                correct_preds += correct_predictions(probs, labels)
            model.eval()
            running_accuracy = 0.0
            with torch.no_grad():
                for batch in valid_loader:
                    premises, premises_lengths, hypotheses, hypotheses_lengths, labels = tensors(
                        batch
                    )
                    logits, probs = model(
                        premises, premises_lengths, hypotheses, hypotheses_lengths
                    )
                    valid_loss = criterion(logits, labels).item()
                    running_accuracy += correct_predictions(probs, labels)
            epoch_accuracy = running_accuracy / BATCH
            scheduler.step(epoch_accuracy)
            values += [running_loss, correct_preds, valid_loss, epoch_accuracy]
            values.append(optimizer.param_groups[0]["lr"])
    values.append(sum("To copy construct from a tensor" in str(w.message) for w in caught))
    return values
