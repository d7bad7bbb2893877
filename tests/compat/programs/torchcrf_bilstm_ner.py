"""A BiLSTM-CRF tagger with kmkurn/pytorch-crf's batched ``CRF`` layer (``torchcrf/__init__.py``,
the layer most NER repositories import), size-reduced.

The idioms: ``nn.Parameter(torch.empty(num_tags))`` start/end transitions and the ``(num_tags,
num_tags)`` transitions filled by ``nn.init.uniform_(..., -0.1, 0.1)``; the ``__repr__`` override;
``_validate`` (``emissions.shape[:2] != tags.shape`` compared as sizes, ``mask[:, 0].all()``
under ``batch_first``, its ``ValueError`` messages); ``forward`` with ``emissions.transpose(0,
1)``, the four reductions (``'token_mean'`` as ``llh.sum() / mask.type_as(emissions).sum()``);
``_compute_score`` (``self.start_transitions[tags[0]]``, ``emissions[0, torch.arange(batch_size),
tags[0]]``, ``score += self.transitions[tags[i - 1], tags[i]] * mask[i]`` in a loop,
``seq_ends = mask.long().sum(dim=0) - 1`` and ``tags[seq_ends, torch.arange(batch_size)]``);
``_compute_normalizer``, the forward algorithm (``score.unsqueeze(2) + self.transitions +
emissions[i].unsqueeze(1)``, ``torch.logsumexp(next_score, dim=1)``, ``torch.where(mask[i]
.unsqueeze(1), next_score, score)``); ``_viterbi_decode`` (``next_score.max(dim=1)``, the
``history`` list, ``score[idx].max(dim=0)``, ``reversed(history[:seq_ends[idx]])`` sliced with a
0-d tensor, ``hist[idx][best_tags[-1]]`` indexed with a Python int, ``best_tags.reverse()``) and
``decode`` with ``emissions.new_ones(emissions.shape[:2], dtype=torch.uint8)`` when no mask is
given; the usual tagger around it (``nn.Embedding(padding_idx=0)``, a bidirectional ``nn.LSTM``
over ``pack_padded_sequence(..., enforce_sorted=False)``, ``hidden2tag``), trained with ``loss =
-self.crf(emissions, tags, mask=mask, reduction='mean')``, ``SGD(momentum=0.9)`` and
``clip_grad_norm_``, with the token accuracy of the decoded paths.

Changed: vocabulary 15, embeddings 5, hidden 4, 5 tags, sentences of at most 6 tokens (batches of
4) drawn by NumPy, 4 steps; the training mask is boolean (``(ids != 0).bool()``); ``decode``
without a mask takes the layer's ``uint8`` default, whose ``torch.where`` deprecation warnings
are counted.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, EMB, HIDDEN, TAGS, BATCH, MAXLEN, STEPS = 15, 5, 4, 5, 4, 6, 4


def _crf_class(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class CRF(nn.Module):
        def __init__(self, num_tags: int, batch_first: bool = False) -> None:
            if num_tags <= 0:
                raise ValueError(f"invalid number of tags: {num_tags}")
            super().__init__()
            self.num_tags = num_tags
            self.batch_first = batch_first
            self.start_transitions = nn.Parameter(torch.empty(num_tags))
            self.end_transitions = nn.Parameter(torch.empty(num_tags))
            self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.uniform_(self.start_transitions, -0.1, 0.1)
            nn.init.uniform_(self.end_transitions, -0.1, 0.1)
            nn.init.uniform_(self.transitions, -0.1, 0.1)

        def __repr__(self) -> str:
            return f"{self.__class__.__name__}(num_tags={self.num_tags})"

        def forward(self, emissions: Any, tags: Any, mask: Any = None,
                    reduction: str = "sum") -> Any:  # fmt: skip
            self._validate(emissions, tags=tags, mask=mask)
            if reduction not in ("none", "sum", "mean", "token_mean"):
                raise ValueError(f"invalid reduction: {reduction}")
            if mask is None:
                mask = torch.ones_like(tags, dtype=torch.uint8)
            if self.batch_first:
                emissions = emissions.transpose(0, 1)
                tags = tags.transpose(0, 1)
                mask = mask.transpose(0, 1)
            numerator = self._compute_score(emissions, tags, mask)
            denominator = self._compute_normalizer(emissions, mask)
            llh = numerator - denominator
            if reduction == "none":
                return llh
            if reduction == "sum":
                return llh.sum()
            if reduction == "mean":
                return llh.mean()
            assert reduction == "token_mean"
            return llh.sum() / mask.type_as(emissions).sum()

        def decode(self, emissions: Any, mask: Any = None) -> list[list[int]]:
            self._validate(emissions, mask=mask)
            if mask is None:
                mask = emissions.new_ones(emissions.shape[:2], dtype=torch.uint8)
            if self.batch_first:
                emissions = emissions.transpose(0, 1)
                mask = mask.transpose(0, 1)
            return self._viterbi_decode(emissions, mask)

        def _validate(self, emissions: Any, tags: Any = None, mask: Any = None) -> None:
            if emissions.dim() != 3:
                raise ValueError(f"emissions must have dimension of 3, got {emissions.dim()}")
            if emissions.size(2) != self.num_tags:
                raise ValueError(
                    f"expected last dimension of emissions is {self.num_tags}, "
                    f"got {emissions.size(2)}"
                )
            if tags is not None:
                if emissions.shape[:2] != tags.shape:
                    raise ValueError(
                        "the first two dimensions of emissions and tags must match, "
                        f"got {tuple(emissions.shape[:2])} and {tuple(tags.shape)}"
                    )
            if mask is not None:
                if emissions.shape[:2] != mask.shape:
                    raise ValueError(
                        "the first two dimensions of emissions and mask must match, "
                        f"got {tuple(emissions.shape[:2])} and {tuple(mask.shape)}"
                    )
                no_empty_seq = not self.batch_first and mask[0].all()
                no_empty_seq_bf = self.batch_first and mask[:, 0].all()
                if not no_empty_seq and not no_empty_seq_bf:
                    raise ValueError("mask of the first timestep must all be on")

        def _compute_score(self, emissions: Any, tags: Any, mask: Any) -> Any:
            assert emissions.dim() == 3 and tags.dim() == 2
            assert emissions.shape[:2] == tags.shape
            assert emissions.size(2) == self.num_tags
            assert mask.shape == tags.shape
            assert mask[0].all()
            seq_length, batch_size = tags.shape
            mask = mask.type_as(emissions)
            score = self.start_transitions[tags[0]]
            score += emissions[0, torch.arange(batch_size), tags[0]]
            for i in range(1, seq_length):
                score += self.transitions[tags[i - 1], tags[i]] * mask[i]
                score += emissions[i, torch.arange(batch_size), tags[i]] * mask[i]
            seq_ends = mask.long().sum(dim=0) - 1
            last_tags = tags[seq_ends, torch.arange(batch_size)]
            score += self.end_transitions[last_tags]
            return score

        def _compute_normalizer(self, emissions: Any, mask: Any) -> Any:
            assert emissions.dim() == 3 and mask.dim() == 2
            assert emissions.shape[:2] == mask.shape
            assert emissions.size(2) == self.num_tags
            assert mask[0].all()
            seq_length = emissions.size(0)
            score = self.start_transitions + emissions[0]
            for i in range(1, seq_length):
                broadcast_score = score.unsqueeze(2)
                broadcast_emissions = emissions[i].unsqueeze(1)
                next_score = broadcast_score + self.transitions + broadcast_emissions
                next_score = torch.logsumexp(next_score, dim=1)
                score = torch.where(mask[i].unsqueeze(1), next_score, score)
            score += self.end_transitions
            return torch.logsumexp(score, dim=1)

        def _viterbi_decode(self, emissions: Any, mask: Any) -> list[list[int]]:
            assert emissions.dim() == 3 and mask.dim() == 2
            assert emissions.shape[:2] == mask.shape
            assert emissions.size(2) == self.num_tags
            assert mask[0].all()
            seq_length, batch_size = mask.shape
            score = self.start_transitions + emissions[0]
            history = []
            for i in range(1, seq_length):
                broadcast_score = score.unsqueeze(2)
                broadcast_emission = emissions[i].unsqueeze(1)
                next_score = broadcast_score + self.transitions + broadcast_emission
                next_score, indices = next_score.max(dim=1)
                score = torch.where(mask[i].unsqueeze(1), next_score, score)
                history.append(indices)
            score += self.end_transitions
            seq_ends = mask.long().sum(dim=0) - 1
            best_tags_list = []
            for idx in range(batch_size):
                _, best_last_tag = score[idx].max(dim=0)
                best_tags = [best_last_tag.item()]
                for hist in reversed(history[: seq_ends[idx]]):
                    best_last_tag = hist[idx][best_tags[-1]]
                    best_tags.append(best_last_tag.item())
                best_tags.reverse()
                best_tags_list.append(best_tags)
            return best_tags_list

    return CRF


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    CRF = _crf_class(torch_like)

    class BiLSTMCRF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, EMB, padding_idx=0)
            self.lstm = nn.LSTM(EMB, HIDDEN // 2, batch_first=True, bidirectional=True)
            self.hidden2tag = nn.Linear(HIDDEN, TAGS)
            self.crf = CRF(TAGS, batch_first=True)

        def _get_emissions(self, input_ids: Any, lengths: Any) -> Any:
            embeds = self.embedding(input_ids)
            packed = nn.utils.rnn.pack_padded_sequence(
                embeds, lengths, batch_first=True, enforce_sorted=False
            )
            out, _ = self.lstm(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=input_ids.size(1)
            )
            return self.hidden2tag(out)

        def forward(self, input_ids: Any, lengths: Any, tags: Any, mask: Any,
                    reduction: str = "mean") -> Any:  # fmt: skip
            emissions = self._get_emissions(input_ids, lengths)
            return -self.crf(emissions, tags, mask=mask, reduction=reduction)

        def predict(self, input_ids: Any, lengths: Any, mask: Any = None) -> list[list[int]]:
            return self.crf.decode(self._get_emissions(input_ids, lengths), mask=mask)

    return BiLSTMCRF()


def _batch(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    lengths = rng.integers(2, MAXLEN + 1, BATCH)
    lengths[0] = MAXLEN
    ids = np.zeros((BATCH, MAXLEN), dtype=np.int64)
    tags = np.zeros((BATCH, MAXLEN), dtype=np.int64)
    for b, length in enumerate(lengths):
        ids[b, :length] = rng.integers(1, VOCAB, length)
        tags[b, :length] = ids[b, :length] % TAGS
    return ids, lengths.astype(np.int64), tags


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(11)
    values: list[float] = []
    reductions = ["mean", "sum", "token_mean", "none"]
    for step in range(STEPS):
        ids, lengths, tags = (as_tensor(torch_like, a) for a in _batch(rng))
        mask = (ids != 0).bool()
        model.train()
        optimizer.zero_grad()
        loss = model(ids, lengths, tags, mask, reduction=reductions[step])
        if loss.dim() == 1:
            values.extend(loss.tolist())
            loss = loss.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        model.eval()
        with torch.no_grad():
            paths = model.predict(ids, lengths, mask=mask)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                full = model.predict(ids, lengths)
        uint8_warnings = sum("uint8 condition" in str(w.message) for w in caught)
        correct = sum(
            int(p == t) for path, row in zip(paths, tags.tolist()) for p, t in zip(path, row)
        )
        values += [loss.item(), correct / int(lengths.sum()), sum(map(sum, full)), uint8_warnings]
    crf = model.crf
    emissions = torch.zeros(2, 3, TAGS)
    for bad in (
        lambda: crf(emissions[0], tags[:2, :3]),
        lambda: crf(emissions, tags[:2, :2]),
        lambda: crf(emissions, tags[:2, :3], mask=torch.zeros(2, 3, dtype=torch.bool)),
        lambda: crf(emissions, tags[:2, :3], reduction="max"),
    ):
        try:
            bad()
        except ValueError as e:
            values.append(len(str(e)))
    return values
