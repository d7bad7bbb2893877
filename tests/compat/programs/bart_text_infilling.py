"""BART's denoising pre-training, as fairseq's ``DenoisingDataset`` (``add_whole_word_mask``,
``add_insertion_noise``, ``permute_sentences``, ``add_rolling_noise``) writes the noise,
feeding a small ``nn.Transformer`` encoder-decoder trained to reconstruct the clean text;
size-reduced (a 14-token vocabulary, documents of 12-16 tokens).

The idioms: the span-length distribution, both fairseq's ``torch.distributions.Categorical(
torch.FloatTensor(ps))`` over the truncated Poisson pmf and ``torch.poisson(torch.full((n,),
lambda))`` as the re-implementations write it; ``torch.cumsum(lengths, 0)`` with the
``while cum_length[-1] < num_to_mask`` top-up (``torch.cat``) and the trim ``lengths[i] =
num_to_mask - cum_length[i - 1]``; ``lengths = lengths[lengths > 0]`` (zero-length spans become
insertions); ``is_word_start.nonzero(as_tuple=False)`` and ``word_starts[torch.randperm(
word_starts.size(0))[:num_to_mask]].squeeze(1)``; ``torch.FloatTensor(num_to_mask).uniform_()
< random_ratio``; ``source[indices[mask_random]] = torch.randint(1, len(vocab), size=(
mask_random.sum(),))`` (a tensor in the size); the span walk ``lengths -= is_word_start[indices
+ 1].long()``, ``uncompleted = lengths >= 0``, ``to_keep[indices] = 0`` and ``source[
to_keep]``; the insertion noise (``torch.randperm(num_tokens + n - 2)[:n] + 1``,
``torch.LongTensor(n + len(tokens)).fill_(-1)``, ``result[~noise_mask] = tokens``); the sentence
permutation (``(full_stops[1:] * ~full_stops[:-1]).nonzero(as_tuple=False) + 2``, ``ordering[
substitutions] = substitutions[torch.randperm(num_to_permute)]``); the rolling noise
(``torch.cat((tokens[0:1], tokens[offset:-1], tokens[0:1], tokens[-1:]), dim=0)``); and the
batch: ``nn.utils.rnn.pad_sequence(batch_first=True, padding_value=pad)``, the decoder input
shifted right with ``prev_output_tokens[:, 1:] = target[:, :-1].clone()``, the causal mask
``nn.Transformer.generate_square_subsequent_mask``, key-padding masks, and
``F.cross_entropy(..., ignore_index=pad, label_smoothing=0.1)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, PAD, BOS, EOS, MASK, STOP, STEPS = 14, 8, 1, 0, 2, 3, 4, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyBart(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, D, padding_idx=PAD)
            self.embed_positions = nn.Embedding(24, D)
            self.transformer = nn.Transformer(
                d_model=D, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                dim_feedforward=16, dropout=0.0, batch_first=True,
            )  # fmt: skip
            self.output_projection = nn.Linear(D, VOCAB, bias=False)
            self.output_projection.weight = self.embed_tokens.weight

        def embed(self, tokens: Any) -> Any:
            positions = torch_like.arange(tokens.size(1), device=tokens.device)
            return self.embed_tokens(tokens) * math.sqrt(D) + self.embed_positions(positions)

        def forward(self, src_tokens: Any, prev_output_tokens: Any) -> Any:
            tgt_len = prev_output_tokens.size(1)
            causal = nn.Transformer.generate_square_subsequent_mask(tgt_len)
            out = self.transformer(
                self.embed(src_tokens), self.embed(prev_output_tokens), tgt_mask=causal,
                src_key_padding_mask=src_tokens.eq(PAD),
                tgt_key_padding_mask=prev_output_tokens.eq(PAD),
                memory_key_padding_mask=src_tokens.eq(PAD),
            )  # fmt: skip
            return self.output_projection(out)

    return TinyBart()


class DenoisingNoise:
    """The noise functions of fairseq's ``DenoisingDataset`` (``mask_whole_word`` is None)."""

    def __init__(self, torch_like: Any, poisson_lambda: float, use_torch_poisson: bool) -> None:
        torch = torch_like
        self.torch = torch_like
        self.mask_idx, self.full_stop_index, self.vocab_len = MASK, STOP, VOCAB
        self.random_ratio, self.replace_length = 0.25, 1
        self.use_torch_poisson, self.poisson_lambda = use_torch_poisson, poisson_lambda
        _lambda = poisson_lambda
        lambda_to_the_k = 1
        e_to_the_minus_lambda = math.exp(-_lambda)
        k_factorial = 1
        ps = []
        for k in range(0, 128):
            ps.append(e_to_the_minus_lambda * lambda_to_the_k / k_factorial)
            lambda_to_the_k *= _lambda
            k_factorial *= k + 1
            if ps[-1] < 0.0000001:
                break
        ps = torch.FloatTensor(ps)
        self.mask_span_distribution = torch.distributions.Categorical(ps)

    def sample_lengths(self, n: int) -> Any:
        torch = self.torch
        if self.use_torch_poisson:
            return torch.poisson(torch.full((n,), self.poisson_lambda)).long()
        return self.mask_span_distribution.sample(sample_shape=(n,))

    def word_starts(self, source: Any) -> Any:
        is_word_start = self.torch.ones(source.size())
        is_word_start[0] = 0
        is_word_start[-1] = 0
        return is_word_start

    def permute_sentences(self, source: Any, p: float = 1.0) -> Any:
        torch = self.torch
        full_stops = source == self.full_stop_index
        full_stops[-2] = 1
        sentence_ends = (full_stops[1:] * ~full_stops[:-1]).nonzero(as_tuple=False) + 2
        result = source.clone()
        num_sentences = sentence_ends.size(0)
        num_to_permute = math.ceil((num_sentences * 2 * p) / 2.0)
        substitutions = torch.randperm(num_sentences)[:num_to_permute]
        ordering = torch.arange(0, num_sentences)
        ordering[substitutions] = substitutions[torch.randperm(num_to_permute)]
        index = 1
        for i in ordering:
            sentence = source[(sentence_ends[i - 1] if i > 0 else 1) : sentence_ends[i]]
            result[index : index + sentence.size(0)] = sentence
            index += sentence.size(0)
        return result

    def add_whole_word_mask(self, source: Any, p: float) -> Any:
        torch = self.torch
        is_word_start = self.word_starts(source)
        num_to_mask = int(math.ceil(is_word_start.float().sum() * p))
        num_inserts = 0
        if num_to_mask == 0:
            return source
        lengths = self.sample_lengths(num_to_mask)
        cum_length = torch.cumsum(lengths, 0)
        while cum_length[-1] < num_to_mask:
            lengths = torch.cat([lengths, self.sample_lengths(num_to_mask)], dim=0)
            cum_length = torch.cumsum(lengths, 0)
        i = 0
        while cum_length[i] < num_to_mask:
            i += 1
        lengths[i] = num_to_mask - (0 if i == 0 else cum_length[i - 1])
        num_to_mask = i + 1
        lengths = lengths[:num_to_mask]
        lengths = lengths[lengths > 0]
        num_inserts = num_to_mask - lengths.size(0)
        num_to_mask -= num_inserts
        if num_to_mask == 0:
            return self.add_insertion_noise(source, num_inserts / source.size(0))
        assert (lengths > 0).all()
        assert is_word_start[-1] == 0
        word_starts = is_word_start.nonzero(as_tuple=False)
        indices = word_starts[torch.randperm(word_starts.size(0))[:num_to_mask]].squeeze(1)
        mask_random = torch.FloatTensor(num_to_mask).uniform_() < self.random_ratio
        source_length = source.size(0)
        assert source_length - 1 not in indices
        to_keep = torch.ones(source_length, dtype=torch.bool)
        is_word_start[-1] = 255
        source[indices] = self.mask_idx
        source[indices[mask_random]] = torch.randint(1, self.vocab_len, size=(mask_random.sum(),))
        assert len(lengths.size()) == 1
        assert lengths.size() == indices.size()
        lengths -= 1
        while indices.size(0) > 0:
            assert lengths.size() == indices.size()
            lengths -= is_word_start[indices + 1].long()
            uncompleted = lengths >= 0
            indices = indices[uncompleted] + 1
            mask_random = mask_random[uncompleted]
            lengths = lengths[uncompleted]
            to_keep[indices] = 0
        source = source[to_keep]
        if num_inserts > 0:
            source = self.add_insertion_noise(source, num_inserts / source.size(0))
        return source

    def add_insertion_noise(self, tokens: Any, p: float) -> Any:
        torch = self.torch
        if p == 0.0:
            return tokens
        num_tokens = len(tokens)
        n = int(math.ceil(num_tokens * p))
        noise_indices = torch.randperm(num_tokens + n - 2)[:n] + 1
        noise_mask = torch.zeros(size=(num_tokens + n,), dtype=torch.bool)
        noise_mask[noise_indices] = 1
        result = torch.LongTensor(n + len(tokens)).fill_(-1)
        num_random = int(math.ceil(n * self.random_ratio))
        result[noise_indices[num_random:]] = self.mask_idx
        result[noise_indices[:num_random]] = torch.randint(
            low=1, high=self.vocab_len, size=(num_random,)
        )
        result[~noise_mask] = tokens
        assert (result >= 0).all()
        return result

    def add_rolling_noise(self, tokens: Any, offset: int) -> Any:
        torch = self.torch
        return torch.cat((tokens[0:1], tokens[offset:-1], tokens[0:1], tokens[-1:]), dim=0)

    def __call__(self, source: Any, offset: int) -> Any:
        source = self.permute_sentences(source.clone(), 1.0)
        source = self.add_whole_word_mask(source, 0.3)
        source = self.add_insertion_noise(source, 0.1)
        return self.add_rolling_noise(source, offset)


def _document(rng: np.random.Generator) -> np.ndarray:
    words = rng.integers(5, VOCAB, int(rng.integers(10, 14)))
    words[[3, 7]] = STOP  # three sentences
    return np.concatenate([[BOS], words, [STOP, EOS]])


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    pad_sequence = torch_like.nn.utils.rnn.pad_sequence
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = np.random.default_rng(11)
    torch.manual_seed(0)
    values: list[float] = []
    for step in range(STEPS):
        noise = DenoisingNoise(torch_like, 3.0, use_torch_poisson=step % 2 == 1)
        targets = [as_tensor(torch_like, _document(rng)) for _ in range(3)]
        sources = [noise(t, int(rng.integers(1, 4))) for t in targets]
        values.extend(float(s.sum()) + 100 * len(s) for s in sources)
        src_tokens = pad_sequence(sources, batch_first=True, padding_value=PAD)
        target = pad_sequence(targets, batch_first=True, padding_value=PAD)
        prev_output_tokens = target.clone()
        prev_output_tokens[:, 0] = EOS
        prev_output_tokens[:, 1:] = target[:, :-1].clone()
        prev_output_tokens[target.eq(PAD)] = PAD
        logits = model(src_tokens, prev_output_tokens)
        loss = F.cross_entropy(
            logits.view(-1, VOCAB), target.view(-1), ignore_index=PAD, label_smoothing=0.1
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return values
