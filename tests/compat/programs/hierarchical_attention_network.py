"""Hierarchical Attention Network for document classification (Yang et al.; the
``sgrvinod/a-PyTorch-Tutorial-to-Text-Classification`` ``model.py``), size-reduced: documents
are ``(n_docs, sent_pad_len, word_pad_len)`` word indices with ``sentences_per_document`` and
``words_per_sentence``; the sentence level packs the documents with
``pack_padded_sequence(documents, lengths=sentences_per_document.tolist(), batch_first=True,
enforce_sorted=False)`` and works on ``packed_sentences.data`` (the valid sentences), packs those
again by ``words_per_sentence`` for the word level; ``nn.GRU(bidirectional=True,
batch_first=True)`` runs on ``PackedSequence`` objects built as ``PackedSequence(data=...,
batch_sizes=..., sorted_indices=..., unsorted_indices=...)`` around a ``dropout``; attention is
``torch.tanh(self.word_attention(...))`` scored by ``self.word_context_vector``, exponentiated
after subtracting ``att_w.max()`` and normalised with ``pad_packed_sequence`` sums (the
tutorial's packed softmax); the sentence vectors are the attention-weighted sums; cross-entropy
with Adam and ``clip_gradient`` (``param.grad.data.clamp_(-grad_clip, grad_clip)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, EMB, WORD_RNN, SENT_RNN, WORD_ATT, SENT_ATT, N_CLASSES = 20, 6, 5, 5, 6, 6, 3
DOCS, SENTS, WORDS, STEPS = 4, 3, 5, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    from_rnn = torch_like.nn.utils.rnn
    pack_padded_sequence, pad_packed_sequence = (
        from_rnn.pack_padded_sequence,
        from_rnn.pad_packed_sequence,
    )
    PackedSequence = from_rnn.PackedSequence

    class WordAttention(nn.Module):
        def __init__(self) -> None:
            super(WordAttention, self).__init__()  # noqa: UP008
            self.embeddings = nn.Embedding(VOCAB, EMB)
            self.word_rnn = nn.GRU(
                EMB, WORD_RNN, num_layers=1, bidirectional=True, dropout=0, batch_first=True
            )
            self.word_attention = nn.Linear(2 * WORD_RNN, WORD_ATT)
            self.word_context_vector = nn.Linear(WORD_ATT, 1, bias=False)
            self.dropout = nn.Dropout(0.0)

        def forward(self, sentences: Any, words_per_sentence: Any) -> tuple[Any, Any]:
            sentences = self.dropout(self.embeddings(sentences))
            packed_words = pack_padded_sequence(
                sentences,
                lengths=words_per_sentence.tolist(),
                batch_first=True,
                enforce_sorted=False,
            )
            packed_words, _ = self.word_rnn(packed_words)
            att_w = self.word_attention(packed_words.data)
            att_w = torch.tanh(att_w)
            att_w = self.word_context_vector(att_w).squeeze(1)
            max_value = att_w.max()
            att_w = torch.exp(att_w - max_value)
            att_w, _ = pad_packed_sequence(
                PackedSequence(
                    data=att_w,
                    batch_sizes=packed_words.batch_sizes,
                    sorted_indices=packed_words.sorted_indices,
                    unsorted_indices=packed_words.unsorted_indices,
                ),
                batch_first=True,
            )
            word_alphas = att_w / torch.sum(att_w, dim=1, keepdim=True)
            sentences, _ = pad_packed_sequence(packed_words, batch_first=True)
            sentences = sentences * word_alphas.unsqueeze(2)
            sentences = sentences.sum(dim=1)
            return sentences, word_alphas

    class SentenceAttention(nn.Module):
        def __init__(self) -> None:
            super(SentenceAttention, self).__init__()  # noqa: UP008
            self.word_attention = WordAttention()
            self.sentence_rnn = nn.GRU(
                2 * WORD_RNN, SENT_RNN, num_layers=1, bidirectional=True, batch_first=True
            )
            self.sentence_attention = nn.Linear(2 * SENT_RNN, SENT_ATT)
            self.sentence_context_vector = nn.Linear(SENT_ATT, 1, bias=False)
            self.dropout = nn.Dropout(0.0)

        def forward(
            self, documents: Any, sentences_per_document: Any, words_per_sentence: Any
        ) -> tuple[Any, Any, Any]:
            packed_sentences = pack_padded_sequence(
                documents,
                lengths=sentences_per_document.tolist(),
                batch_first=True,
                enforce_sorted=False,
            )
            packed_words_per_sentence = pack_padded_sequence(
                words_per_sentence,
                lengths=sentences_per_document.tolist(),
                batch_first=True,
                enforce_sorted=False,
            )
            sentences, word_alphas = self.word_attention(
                packed_sentences.data, packed_words_per_sentence.data
            )
            sentences = self.dropout(sentences)
            packed_sentences, _ = self.sentence_rnn(
                PackedSequence(
                    data=sentences,
                    batch_sizes=packed_sentences.batch_sizes,
                    sorted_indices=packed_sentences.sorted_indices,
                    unsorted_indices=packed_sentences.unsorted_indices,
                )
            )
            att_s = self.sentence_attention(packed_sentences.data)
            att_s = torch.tanh(att_s)
            att_s = self.sentence_context_vector(att_s).squeeze(1)
            max_value = att_s.max()
            att_s = torch.exp(att_s - max_value)
            att_s, _ = pad_packed_sequence(
                PackedSequence(
                    data=att_s,
                    batch_sizes=packed_sentences.batch_sizes,
                    sorted_indices=packed_sentences.sorted_indices,
                    unsorted_indices=packed_sentences.unsorted_indices,
                ),
                batch_first=True,
            )
            sentence_alphas = att_s / torch.sum(att_s, dim=1, keepdim=True)
            documents, _ = pad_packed_sequence(packed_sentences, batch_first=True)
            documents = documents * sentence_alphas.unsqueeze(2)
            documents = documents.sum(dim=1)
            word_alphas, _ = pad_packed_sequence(
                PackedSequence(
                    data=word_alphas,
                    batch_sizes=packed_sentences.batch_sizes,
                    sorted_indices=packed_sentences.sorted_indices,
                    unsorted_indices=packed_sentences.unsorted_indices,
                ),
                batch_first=True,
            )
            return documents, word_alphas, sentence_alphas

    class HierarchialAttentionNetwork(nn.Module):
        def __init__(self) -> None:
            super(HierarchialAttentionNetwork, self).__init__()  # noqa: UP008
            self.sentence_attention = SentenceAttention()
            self.fc = nn.Linear(2 * SENT_RNN, N_CLASSES)
            self.dropout = nn.Dropout(0.0)

        def forward(
            self, documents: Any, sentences_per_document: Any, words_per_sentence: Any
        ) -> tuple[Any, Any, Any]:
            document_embeddings, word_alphas, sentence_alphas = self.sentence_attention(
                documents, sentences_per_document, words_per_sentence
            )
            scores = self.fc(self.dropout(document_embeddings))
            return scores, word_alphas, sentence_alphas

    return HierarchialAttentionNetwork()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(
        params=filter(lambda p: p.requires_grad, model.parameters()), lr=0.01
    )
    criterion = nn.CrossEntropyLoss()
    grad_clip = 0.5

    def clip_gradient(optimizer: Any, grad_clip: float) -> None:
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    param.grad.data.clamp_(-grad_clip, grad_clip)

    values: list[float] = []
    for _step in range(STEPS):
        sentences_per_document = rng.integers(1, SENTS + 1, DOCS)
        words_per_sentence = np.zeros((DOCS, SENTS), dtype=np.int64)
        documents = np.zeros((DOCS, SENTS, WORDS), dtype=np.int64)
        for d, n_s in enumerate(sentences_per_document):
            for s in range(n_s):
                n_w = int(rng.integers(1, WORDS + 1))
                words_per_sentence[d, s] = n_w
                documents[d, s, :n_w] = rng.integers(1, VOCAB, n_w)
        labels = torch.tensor(rng.integers(0, N_CLASSES, DOCS))
        scores, word_alphas, sentence_alphas = model(
            torch.tensor(documents),
            torch.tensor(sentences_per_document),
            torch.tensor(words_per_sentence),
        )
        loss = criterion(scores, labels)
        optimizer.zero_grad()
        loss.backward()
        clip_gradient(optimizer, grad_clip)
        optimizer.step()
        _, predictions = scores.max(dim=1)
        correct_predictions = torch.eq(predictions, labels).sum().item()
        values += [
            loss.item(),
            correct_predictions,
            float(word_alphas.shape[1]),
            float(sentence_alphas.shape[1]),
        ]
        values += sentence_alphas.flatten().tolist()
        values.append(word_alphas.sum().item())
    return values
