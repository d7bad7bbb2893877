"""word2vec pretraining as "Dive into Deep Learning" (d2l.ai, PyTorch edition, sections 15.3
"The Dataset for Pretraining Word Embeddings", 15.4 "Pretraining word2vec" and 15.7 "Word
Similarity and Analogy") writes it, size-reduced.

The idioms: ``subsample`` (``vocab[token] != vocab.unk``, ``collections.Counter``, ``keep`` with
``random.uniform(0, 1) < math.sqrt(1e-4 / counter[token] * num_tokens)``, 1e-2 here);
``get_centers_and_contexts`` (``random.randint(1, max_window_size)``, ``indices.remove(i)``);
``RandomGenerator`` drawing ``random.choices(self.population, self.sampling_weights, k=10000)``
and ``get_negatives`` with ``counter[vocab.to_tokens(i)]**0.75`` weights; ``batchify`` as the
``DataLoader``'s ``collate_fn`` (``contexts_negatives += [context + negative + [0] * (max_len -
cur_len)]``, ``masks``, ``labels``, ``torch.tensor(centers).reshape((-1, 1))``) over a
``PTBDataset(torch.utils.data.Dataset)`` with ``shuffle=True``; ``skip_gram``'s ``pred =
torch.bmm(v, u.permute(0, 2, 1))`` over two ``nn.Embedding(num_embeddings=len(vocab),
embedding_dim=embed_size)`` held in an ``nn.Sequential``; ``SigmoidBCELoss`` (``nn.functional.
binary_cross_entropy_with_logits(inputs, target, weight=mask, reduction="none")``,
``out.mean(dim=1)``); ``train``'s ``init_weights`` with ``type(module) == nn.Embedding`` and
``nn.init.xavier_uniform_(module.weight)`` applied by ``net.apply``, ``torch.optim.Adam``,
``[data.to(device) for data in batch]``, ``l = (loss(pred.reshape(label.shape).float(),
label.float(), mask) / mask.sum(axis=1) * mask.shape[1])``, ``l.sum().backward()`` and the
``Accumulator``'s ``metric.add(l.sum(), l.numel())`` (with ``.item()``: its ``float()``
of a tensor that requires grad warns in PyTorch 2); ``get_similar_tokens`` (``W =
embed.weight.data``, ``cos = torch.mv(W, x) / torch.sqrt(torch.sum(W * W, dim=1) * torch.sum(x *
x) + 1e-9)``, ``torch.topk(cos, k=k+1)[1].cpu().numpy().astype('int32')``) and 15.7's
``knn``/``get_analogy`` (``torch.mv(W, x.reshape(-1,))``, ``topk`` on the cosines).

Changed: PTB -> 40 seeded sentences over a 16-word vocabulary (the subsampling threshold
1e-4 -> 1e-2 for a corpus of ~200 tokens instead of ~900000); ``max_window_size`` 5 -> 2, 5
noise words per context -> 2, ``embed_size`` 100 -> 6, batch 512 -> 16, 5 epochs -> 2;
``vocab.to_tokens`` and ``d2l.Vocab`` are a local class with the same lookups; the negatives
draw ``k=10000`` -> ``k=200`` at a time. Both runs draw the initial weights from the same seed.
"""

from __future__ import annotations

import collections
import math
import random
from typing import Any

import numpy as np

DTYPE = "float32"
WORDS = [f"w{i}" for i in range(16)]


def init_state(tmp_path: Any) -> None:
    """No shared state: both runs draw the initial weights from the same seed."""
    return None


class Vocab:
    """d2l's ``Vocab`` with ``min_freq``, ``unk`` and ``to_tokens``."""

    def __init__(self, tokens: list, min_freq: int = 0) -> None:
        counter = collections.Counter([t for line in tokens for t in line])
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ["<unk>"]
        self.idx_to_token += [t for t, freq in self.token_freqs if freq >= min_freq]
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: Any) -> Any:
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices: Any) -> Any:
        if hasattr(indices, "__len__") and len(indices) > 1:
            return [self.idx_to_token[int(index)] for index in indices]
        return self.idx_to_token[indices]

    @property
    def unk(self) -> int:
        return 0


def subsample(sentences: list, vocab: Vocab) -> tuple:
    """Subsample high-frequency words."""
    # Exclude unknown tokens ('<unk>')
    sentences = [[token for token in line if vocab[token] != vocab.unk]
                 for line in sentences]  # fmt: skip
    counter = collections.Counter([
        token for line in sentences for token in line])  # fmt: skip
    num_tokens = sum(counter.values())

    # Return True if `token` is kept during subsampling
    def keep(token: str) -> bool:
        return(random.uniform(0, 1) <
               math.sqrt(1e-2 / counter[token] * num_tokens))  # fmt: skip

    return ([[token for token in line if keep(token)] for line in sentences],
            counter)  # fmt: skip


def get_centers_and_contexts(corpus: list, max_window_size: int) -> tuple:
    """Return center words and context words in skip-gram."""
    centers, contexts = [], []
    for line in corpus:
        # To form a "center word--context word" pair, each sentence needs to
        # have at least 2 words
        if len(line) < 2:
            continue
        centers += line
        for i in range(len(line)):  # Context window centered at `i`
            window_size = random.randint(1, max_window_size)
            indices = list(range(max(0, i - window_size),
                                 min(len(line), i + 1 + window_size)))  # fmt: skip
            # Exclude the center word from the context words
            indices.remove(i)
            contexts.append([line[idx] for idx in indices])
    return centers, contexts


class RandomGenerator:
    """Randomly draw among {1, ..., n} according to n sampling weights."""

    def __init__(self, sampling_weights: list) -> None:
        # Exclude
        self.population = list(range(1, len(sampling_weights) + 1))
        self.sampling_weights = sampling_weights
        self.candidates = []
        self.i = 0

    def draw(self) -> int:
        if self.i == len(self.candidates):
            # Cache `k` random sampling results
            self.candidates = random.choices(
                self.population, self.sampling_weights, k=200)  # fmt: skip
            self.i = 0
        self.i += 1
        return self.candidates[self.i - 1]


def get_negatives(all_contexts: list, vocab: Vocab, counter: Any, K: int) -> list:
    """Return noise words in negative sampling."""
    # Sampling weights for words with indices 1, 2, ... (index 0 is the
    # excluded unknown token) in the vocabulary
    sampling_weights = [counter[vocab.to_tokens(i)]**0.75
                        for i in range(1, len(vocab))]  # fmt: skip
    all_negatives, generator = [], RandomGenerator(sampling_weights)
    for contexts in all_contexts:
        negatives = []
        while len(negatives) < len(contexts) * K:
            neg = generator.draw()
            # Noise words cannot be context words
            if neg not in contexts:
                negatives.append(neg)
        all_negatives.append(negatives)
    return all_negatives


def run(torch_like: Any, init: None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    random.seed(154)
    rng = np.random.default_rng(154)
    weights = np.linspace(3.0, 0.5, len(WORDS))
    sentences = [list(rng.choice(WORDS, size=rng.integers(3, 9), p=weights / weights.sum()))
                 for _ in range(40)]  # fmt: skip
    vocab = Vocab(sentences, min_freq=2)
    subsampled, counter = subsample(sentences, vocab)
    corpus = [vocab[line] for line in subsampled]
    all_centers, all_contexts = get_centers_and_contexts(corpus, 2)
    all_negatives = get_negatives(all_contexts, vocab, counter, 2)

    def batchify(data):  # noqa: ANN001,ANN202
        """Return a minibatch of examples for skip-gram with negative sampling."""
        max_len = max(len(c) + len(n) for _, c, n in data)
        centers, contexts_negatives, masks, labels = [], [], [], []
        for center, context, negative in data:
            cur_len = len(context) + len(negative)
            centers += [center]
            contexts_negatives += [context + negative + [0] * (max_len - cur_len)]
            masks += [[1] * cur_len + [0] * (max_len - cur_len)]
            labels += [[1] * len(context) + [0] * (max_len - len(context))]
        return (torch.tensor(centers).reshape((-1, 1)), torch.tensor(
            contexts_negatives), torch.tensor(masks), torch.tensor(labels))  # fmt: skip

    class PTBDataset(torch.utils.data.Dataset):
        def __init__(self, centers: list, contexts: list, negatives: list) -> None:
            assert len(centers) == len(contexts) == len(negatives)
            self.centers = centers
            self.contexts = contexts
            self.negatives = negatives

        def __getitem__(self, index: int) -> tuple:
            return (self.centers[index], self.contexts[index],
                    self.negatives[index])  # fmt: skip

        def __len__(self) -> int:
            return len(self.centers)

    dataset = PTBDataset(all_centers, all_contexts, all_negatives)
    torch.manual_seed(4)
    data_iter = torch.utils.data.DataLoader(dataset, 16, shuffle=True,
                                            collate_fn=batchify, num_workers=0)  # fmt: skip
    values: list[float] = [len(vocab), len(all_centers), sum(len(c) for c in all_contexts)]

    def skip_gram(center, contexts_and_negatives, embed_v, embed_u):  # noqa: ANN001,ANN202
        v = embed_v(center)
        u = embed_u(contexts_and_negatives)
        pred = torch.bmm(v, u.permute(0, 2, 1))
        return pred

    class SigmoidBCELoss(nn.Module):
        # Binary cross-entropy loss with masking
        def __init__(self) -> None:
            super().__init__()

        def forward(self, inputs, target, mask=None):  # noqa: ANN001,ANN201
            out = nn.functional.binary_cross_entropy_with_logits(
                inputs, target, weight=mask, reduction="none")  # fmt: skip
            return out.mean(dim=1)

    loss = SigmoidBCELoss()
    embed_size = 6
    net = nn.Sequential(nn.Embedding(num_embeddings=len(vocab),
                                     embedding_dim=embed_size),
                        nn.Embedding(num_embeddings=len(vocab),
                                     embedding_dim=embed_size))  # fmt: skip

    def train(net, data_iter, lr, num_epochs, device=torch.device("cpu")):  # noqa: ANN001,ANN202,B008
        def init_weights(module):  # noqa: ANN001,ANN202
            if type(module) == nn.Embedding:  # noqa: E721
                nn.init.xavier_uniform_(module.weight)

        net.apply(init_weights)
        net = net.to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        for _epoch in range(num_epochs):
            metric = [0.0, 0.0]  # Sum of normalized losses, no. of normalized losses
            for _i, batch in enumerate(data_iter):
                optimizer.zero_grad()
                center, context_negative, mask, label = [
                    data.to(device) for data in batch]  # fmt: skip

                pred = skip_gram(center, context_negative, net[0], net[1])
                l = (loss(pred.reshape(label.shape).float(), label.float(), mask)  # noqa: E741
                     / mask.sum(axis=1) * mask.shape[1])  # fmt: skip
                l.sum().backward()
                optimizer.step()
                metric = [metric[0] + l.sum().item(), metric[1] + l.numel()]
                values.append(l.sum().item())
            values.append(metric[0] / metric[1])

    train(net, data_iter, 0.01, 2)

    def get_similar_tokens(query_token, k, embed):  # noqa: ANN001,ANN202
        W = embed.weight.data
        x = W[vocab[query_token]]
        # Compute the cosine similarity. Add 1e-9 for numerical stability
        cos = torch.mv(W, x) / torch.sqrt(torch.sum(W * W, dim=1) *
                                          torch.sum(x * x) + 1e-9)  # fmt: skip
        topk = torch.topk(cos, k=k + 1)[1].cpu().numpy().astype("int32")
        return [float(cos[int(i)]) for i in topk[1:]]  # Remove the input words

    values += get_similar_tokens("w0", 3, net[0])

    def knn(W, x, k):  # noqa: ANN001,ANN202
        # Add 1e-9 for numerical stability
        cos = torch.mv(W, x.reshape(-1,)) / (
            torch.sqrt(torch.sum(W * W, axis=1) + 1e-9) *
            torch.sqrt((x * x).sum()))  # fmt: skip
        _, topk = torch.topk(cos, k=k)
        return topk, [cos[int(i)] for i in topk]

    def get_analogy(token_a, token_b, token_c, embed):  # noqa: ANN001,ANN202
        vecs = embed.weight.data[vocab[[token_a, token_b, token_c]]]
        x = vecs[1] - vecs[0] + vecs[2]
        topk, cos = knn(embed.weight.data, x, 1)
        return vocab.to_tokens(int(topk[0])), float(cos[0])  # Remove unknown words

    token, cos = get_analogy("w1", "w2", "w3", net[0])
    values += [float(token[1:]) if token != "<unk>" else -1.0, cos]
    return values
