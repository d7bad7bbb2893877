"""The PyTorch "Sequence Models and Long Short-Term Memory Networks" tutorial
(``beginner/nlp/sequence_models_tutorial``), size-reduced: ``prepare_sequence`` (``idxs =
[to_ix[w] for w in seq]``, ``torch.tensor(idxs, dtype=torch.long)``), the ``word_to_ix`` dict
built over ``training_data``, ``tag_to_ix``, the ``LSTMTagger`` (``nn.Embedding``, a
sequence-first ``nn.LSTM`` fed ``embeds.view(len(sentence), 1, -1)``, ``nn.Linear``,
``F.log_softmax(tag_space, dim=1)``), ``nn.NLLLoss()``, ``optim.SGD(model.parameters(),
lr=0.1)``, ``model.zero_grad()`` per sentence, and the scores before and after training under
``torch.no_grad()``. The tutorial's opening ``nn.LSTM(3, 3)`` warm-up (stepping through a
sequence one element at a time with ``hidden`` carried, then all at once with ``torch.cat``) is
included, with NumPy inputs instead of ``torch.randn``.

Sizes: EMBEDDING_DIM/HIDDEN_DIM 6 kept, 300 epochs -> 15.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

EMBEDDING_DIM = 6
HIDDEN_DIM = 6

training_data = [
    # Tags are: DET - determiner; NN - noun; V - verb
    # For example, the word "The" is a determiner
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_to_ix: dict[str, int] = {}
# For each words-list (sentence) and tags-list in each tuple of training_data
for sent, _tags in training_data:
    for word in sent:
        if word not in word_to_ix:  # word has not been assigned an index yet
            word_to_ix[word] = len(word_to_ix)  # Assign each word with a unique index
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}  # Assign each tag with a unique index


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class LSTMTagger(nn.Module):
        def __init__(
            self, embedding_dim: int, hidden_dim: int, vocab_size: int, tagset_size: int
        ) -> None:
            super(LSTMTagger, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.hidden_dim = hidden_dim

            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)

            # The LSTM takes word embeddings as inputs, and outputs hidden states
            # with dimensionality hidden_dim.
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)

            # The linear layer that maps from hidden state space to tag space
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence: Any) -> Any:
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    return LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))


def prepare_sequence(torch_like: Any, seq: list[str], to_ix: dict[str, int]) -> Any:
    idxs = [to_ix[w] for w in seq]
    return torch_like.tensor(idxs, dtype=torch_like.long)


def _lstm_warmup(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """The tutorial's first cell: an ``nn.LSTM(3, 3)`` stepped by hand and run all at once."""
    torch, nn = torch_like, torch_like.nn
    lstm = nn.LSTM(3, 3)  # Input dim is 3, output dim is 3
    with torch.no_grad():
        for p in lstm.parameters():  # same weights in both frameworks
            p.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    inputs = [torch.tensor(rng.standard_normal((1, 3))) for _ in range(5)]  # make a sequence

    # initialize the hidden state.
    hidden = (
        torch.tensor(rng.standard_normal((1, 1, 3))),
        torch.tensor(rng.standard_normal((1, 1, 3))),
    )
    for i in inputs:
        # Step through the sequence one element at a time.
        # after each step, hidden contains the hidden state.
        out, hidden = lstm(i.view(1, 1, -1), hidden)
    stepped = out.sum().item()

    # alternatively, we can do the entire sequence all at once.
    inputs = torch.cat(inputs).view(len(inputs), 1, -1)
    hidden = (
        torch.tensor(rng.standard_normal((1, 1, 3))),
        torch.tensor(rng.standard_normal((1, 1, 3))),
    )
    out, hidden = lstm(inputs, hidden)
    return [stepped, out.sum().item(), hidden[0].sum().item(), hidden[1].sum().item()]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    values = _lstm_warmup(torch_like, np.random.default_rng(1))

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    # See what the scores are before training
    # Note that element i,j of the output is the score for tag j for word i.
    # Here we don't need to train, so the code is wrapped in torch.no_grad()
    with torch.no_grad():
        inputs = prepare_sequence(torch_like, training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        values.append(tag_scores.sum().item())

    for _epoch in range(15):  # again, normally you would NOT do 300 epochs, it is toy data
        for sentence, tags in training_data:
            # Step 1. Remember that Pytorch accumulates gradients.
            # We need to clear them out before each instance
            model.zero_grad()

            # Step 2. Get our inputs ready for the network, that is, turn them into
            # Tensors of word indices.
            sentence_in = prepare_sequence(torch_like, sentence, word_to_ix)
            targets = prepare_sequence(torch_like, tags, tag_to_ix)

            # Step 3. Run our forward pass.
            tag_scores = model(sentence_in)

            # Step 4. Compute the loss, gradients, and update the parameters by
            #  calling optimizer.step()
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    # See what the scores are after training
    with torch.no_grad():
        inputs = prepare_sequence(torch_like, training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        values += tag_scores.argmax(1).tolist() + [tag_scores.sum().item()]
    return values
