"""The PyTorch tutorial "Advanced: Making Dynamic Decisions and the Bi-LSTM CRF"
(``beginner/nlp/advanced_tutorial``), size-reduced.

The idioms: the ``argmax(vec)`` helper (``_, idx = torch.max(vec, 1); return idx.item()``),
``prepare_sequence`` (``torch.tensor(idxs, dtype=torch.long)``), ``log_sum_exp`` (``max_score =
vec[0, argmax(vec)]``, ``max_score.view(1, -1).expand(1, vec.size()[1])``, ``torch.log(
torch.sum(torch.exp(vec - max_score_broadcast)))``); ``BiLSTM_CRF`` with a bidirectional
``nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)``, ``self.transitions
= nn.Parameter(torch.randn(tagset_size, tagset_size))`` and the constraints written through
``.data[tag_to_ix[START_TAG], :] = -10000``; ``init_hidden`` (``torch.randn(2, 1, hidden_dim //
2)``, here drawn by NumPy so both runs agree); ``_forward_alg`` (``torch.full((1,
self.tagset_size), -10000.)``, ``init_alphas[0][self.tag_to_ix[START_TAG]] = 0.``, the
``alphas_t`` list, ``emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)``,
``torch.cat(alphas_t).view(1, -1)``); ``_get_lstm_features`` (``self.word_embeds(sentence).view(
len(sentence), 1, -1)``); ``_score_sentence`` (``torch.zeros(1)``, ``torch.cat([torch.tensor(
[START], dtype=torch.long), tags])``); ``_viterbi_decode`` with ``bptrs_t``/``viterbivars_t``,
``backpointers``, ``best_path.reverse()`` and the start-tag sanity ``assert``;
``neg_log_likelihood``; ``optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)``,
``model.zero_grad()`` per sentence, and the ``with torch.no_grad(): print(model(precheck_sent))``
checks before and after training (the path score and the tag path returned as numbers).

Sizes: EMBEDDING_DIM 5 / HIDDEN_DIM 4 kept, 300 epochs -> 3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["make_model", "run"]

START_TAG = "<START>"
STOP_TAG = "<STOP>"
EMBEDDING_DIM = 5
HIDDEN_DIM = 4
EPOCHS = 3

training_data = [
    (
        "the wall street journal reported today that apple corporation made money".split(),
        "B I I I O O O B I O O".split(),
    ),
    ("georgia tech is a university in georgia".split(), "B I O O O O B".split()),
]
word_to_ix: dict[str, int] = {}
for sentence, _tags in training_data:
    for word in sentence:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}


def make_model(torch_like: Any, rng: np.random.Generator | None = None) -> Any:
    torch = torch_like
    nn = torch_like.nn
    hidden_rng = rng if rng is not None else np.random.default_rng(0)

    def argmax(vec: Any) -> int:
        # return the argmax as a python int
        _, idx = torch.max(vec, 1)
        return idx.item()

    # Compute log sum exp in a numerically stable way for the forward algorithm
    def log_sum_exp(vec: Any) -> Any:
        max_score = vec[0, argmax(vec)]
        max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
        return max_score + torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))

    class BiLSTM_CRF(nn.Module):
        def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):  # noqa: ANN001
            super().__init__()
            self.embedding_dim = embedding_dim
            self.hidden_dim = hidden_dim
            self.vocab_size = vocab_size
            self.tag_to_ix = tag_to_ix
            self.tagset_size = len(tag_to_ix)

            self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)

            # Maps the output of the LSTM into tag space.
            self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)

            # Matrix of transition parameters.  Entry i,j is the score of
            # transitioning *to* i *from* j.
            self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))

            # These two statements enforce the constraint that we never transfer
            # to the start tag and we never transfer from the stop tag
            self.transitions.data[tag_to_ix[START_TAG], :] = -10000
            self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000

            self.hidden = self.init_hidden()

        def init_hidden(self):  # noqa: ANN202
            shape = (2, 1, self.hidden_dim // 2)
            return (
                torch.tensor(hidden_rng.standard_normal(shape)),
                torch.tensor(hidden_rng.standard_normal(shape)),
            )

        def _forward_alg(self, feats):  # noqa: ANN001, ANN202
            # Do the forward algorithm to compute the partition function
            init_alphas = torch.full((1, self.tagset_size), -10000.0)
            # START_TAG has all of the score.
            init_alphas[0][self.tag_to_ix[START_TAG]] = 0.0

            # Wrap in a variable so that we will get automatic backprop
            forward_var = init_alphas

            # Iterate through the sentence
            for feat in feats:
                alphas_t = []  # The forward tensors at this timestep
                for next_tag in range(self.tagset_size):
                    # broadcast the emission score: it is the same regardless of
                    # the previous tag
                    emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                    # the ith entry of trans_score is the score of transitioning to
                    # next_tag from i
                    trans_score = self.transitions[next_tag].view(1, -1)
                    # The ith entry of next_tag_var is the value for the
                    # edge (i -> next_tag) before we do log-sum-exp
                    next_tag_var = forward_var + trans_score + emit_score
                    # The forward variable for this tag is log-sum-exp of all the
                    # scores.
                    alphas_t.append(log_sum_exp(next_tag_var).view(1))
                forward_var = torch.cat(alphas_t).view(1, -1)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            alpha = log_sum_exp(terminal_var)
            return alpha

        def _get_lstm_features(self, sentence):  # noqa: ANN001, ANN202
            self.hidden = self.init_hidden()
            embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
            lstm_out, self.hidden = self.lstm(embeds, self.hidden)
            lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
            lstm_feats = self.hidden2tag(lstm_out)
            return lstm_feats

        def _score_sentence(self, feats, tags):  # noqa: ANN001, ANN202
            # Gives the score of a provided tag sequence
            score = torch.zeros(1)
            tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
            for i, feat in enumerate(feats):
                score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
            score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
            return score

        def _viterbi_decode(self, feats):  # noqa: ANN001, ANN202
            backpointers = []

            # Initialize the viterbi variables in log space
            init_vvars = torch.full((1, self.tagset_size), -10000.0)
            init_vvars[0][self.tag_to_ix[START_TAG]] = 0

            # forward_var at step i holds the viterbi variables for step i-1
            forward_var = init_vvars
            for feat in feats:
                bptrs_t = []  # holds the backpointers for this step
                viterbivars_t = []  # holds the viterbi variables for this step

                for next_tag in range(self.tagset_size):
                    # next_tag_var[i] holds the viterbi variable for tag i at the
                    # previous step, plus the score of transitioning
                    # from tag i to next_tag.
                    next_tag_var = forward_var + self.transitions[next_tag]
                    best_tag_id = argmax(next_tag_var)
                    bptrs_t.append(best_tag_id)
                    viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
                # Now add in the emission scores, and assign forward_var to the set
                # of viterbi variables we just computed
                forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
                backpointers.append(bptrs_t)

            # Transition to STOP_TAG
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            best_tag_id = argmax(terminal_var)
            path_score = terminal_var[0][best_tag_id]

            # Follow the back pointers to decode the best path.
            best_path = [best_tag_id]
            for bptrs_t in reversed(backpointers):
                best_tag_id = bptrs_t[best_tag_id]
                best_path.append(best_tag_id)
            # Pop off the start tag (we dont want to return that to the caller)
            start = best_path.pop()
            assert start == self.tag_to_ix[START_TAG]  # Sanity check
            best_path.reverse()
            return path_score, best_path

        def neg_log_likelihood(self, sentence, tags):  # noqa: ANN001, ANN202
            feats = self._get_lstm_features(sentence)
            forward_score = self._forward_alg(feats)
            gold_score = self._score_sentence(feats, tags)
            return forward_score - gold_score

        def forward(self, sentence):  # noqa: ANN001, ANN202
            # Get the emission scores from the BiLSTM
            lstm_feats = self._get_lstm_features(sentence)

            # Find the best path, given the features.
            score, tag_seq = self._viterbi_decode(lstm_feats)
            return score, tag_seq

    return BiLSTM_CRF(len(word_to_ix), tag_to_ix, EMBEDDING_DIM, HIDDEN_DIM)


def prepare_sequence(torch_like: Any, seq: list[str], to_ix: dict[str, int]) -> Any:
    idxs = [to_ix[w] for w in seq]
    return torch_like.tensor(idxs, dtype=torch_like.long)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    optim = torch_like.optim
    model = make_model(torch_like, np.random.default_rng(7))
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)
    values: list[float] = []

    # Check predictions before training
    with torch.no_grad():
        precheck_sent = prepare_sequence(torch, training_data[0][0], word_to_ix)
        precheck_tags = torch.tensor([tag_to_ix[t] for t in training_data[0][1]], dtype=torch.long)
        score, path = model(precheck_sent)
        values += [score.item(), *path]
        values += [model.neg_log_likelihood(precheck_sent, precheck_tags).item()]

    for _epoch in range(EPOCHS):
        for sentence, tags in training_data:
            # Step 1. Remember that Pytorch accumulates gradients.
            model.zero_grad()
            # Step 2. Get our inputs ready for the network.
            sentence_in = prepare_sequence(torch, sentence, word_to_ix)
            targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
            # Step 3. Run our forward pass.
            loss = model.neg_log_likelihood(sentence_in, targets)
            # Step 4. Compute the loss, gradients, and update the parameters
            loss.backward()
            optimizer.step()
            values += [loss.item(), model.transitions.grad.abs().sum().item()]

    # Check predictions after training
    with torch.no_grad():
        for sentence, _tags in training_data:
            score, path = model(prepare_sequence(torch, sentence, word_to_ix))
            values += [score.item(), *path]
    values += [model.transitions.data[tag_to_ix[START_TAG]].max().item()]
    return values
