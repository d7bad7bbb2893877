"""End-to-end memory network (MemN2N, Sukhbaatar et al. 2015) on bAbI-style stories, as the
common PyTorch ports write it (nmhkahn's ``MemN2N-pytorch``: ``memn2n/model.py``,
``memn2n/trainer.py``; with the temporal encoding of the paper's ``T_A``/``T_C``), size-reduced.

The idioms: ``position_encoding`` built in NumPy (``encoding[i-1, j-1] = (i - (le-1)/2) * (j -
(ls-1)/2)``, ``1 + 4 * encoding / embedding_dim / sentence_size``, the last column set to 1 for
the time word) and wrapped as a ``torch.FloatTensor``; the ``AttrProxy`` over ``add_module``'d
``nn.Embedding(num_vocab, embedding_dim, padding_idx=0)`` modules ``C_0 .. C_K`` with
``C.weight.data.normal_(0, 0.1)`` (adjacent weight tying: hop k's output embedding is hop k+1's
input embedding, the answer matrix is ``self.C[self.max_hops].weight.transpose(0, 1)``); the
bag-of-words sums ``torch.sum(embed_A * encoding, 2)`` over ``self.encoding.unsqueeze(0)
.unsqueeze(1).expand_as(embed_A)``; temporal encoding parameters ``nn.Parameter(torch.randn(...)
* 0.1)`` added per memory slot; attention by ``nn.Softmax(dim=1)`` of ``torch.sum(m_A * u_temp,
2)`` with ``u[-1].unsqueeze(1).expand_as(m_A)``; ``u[-1] @ W.transpose(0, 1)`` logits; training
by ``nn.CrossEntropyLoss(reduction="sum")``, ``optim.SGD``, ``nn.utils.clip_grad_norm_(
parameters, 40.0)``, lr annealing ``lr /= 2`` written into ``optimizer.param_groups``; the
evaluation ``torch.max(a_hat, 1)`` / ``pred.eq(answer).sum()``, and the padding rows of every
embedding checked to get no gradient.

Changed: sizes (12 words, 4-word sentences plus a time word, 5 memories, embedding 8, 3 hops,
batch 4, 6 steps) and the data (a fixed toy "where is X" task).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, SENT, MEM, EMB, HOPS, BATCH, STEPS = 12, 5, 5, 8, 3, 4, 6


def position_encoding(sentence_size: int, embedding_dim: int) -> np.ndarray:
    encoding = np.ones((embedding_dim, sentence_size), dtype=np.float32)
    ls = sentence_size + 1
    le = embedding_dim + 1
    for i in range(1, le):
        for j in range(1, ls):
            encoding[i - 1, j - 1] = (i - (le - 1) / 2) * (j - (ls - 1) / 2)
    encoding = 1 + 4 * encoding / embedding_dim / sentence_size
    # Make position encoding of time words identity to avoid modifying them
    encoding[:, -1] = 1.0
    return np.transpose(encoding)


class AttrProxy:
    """
    Translates index lookups into attribute lookups.
    To implement some trick which able to use list of nn.Module in a nn.Module
    see https://discuss.pytorch.org/t/list-of-nn-module-in-a-nn-module/219/2
    """

    def __init__(self, module: Any, prefix: str) -> None:
        self.module = module
        self.prefix = prefix

    def __getitem__(self, i: int) -> Any:
        return getattr(self.module, self.prefix + str(i))


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MemN2N(nn.Module):
        def __init__(self, settings: dict) -> None:
            super(MemN2N, self).__init__()  # noqa: UP008
            use_cuda = settings["use_cuda"]
            num_vocab = settings["num_vocab"]
            embedding_dim = settings["embedding_dim"]
            sentence_size = settings["sentence_size"]
            self.max_hops = settings["max_hops"]
            memory_size = settings["memory_size"]

            for hop in range(self.max_hops + 1):
                C = nn.Embedding(num_vocab, embedding_dim, padding_idx=0)
                C.weight.data.normal_(0, 0.1)
                self.add_module("C_{}".format(hop), C)  # noqa: UP032
            self.C = AttrProxy(self, "C_")
            # temporal encoding (one row per memory slot) for the input and output memories
            self.T_A = nn.Parameter(torch.randn(memory_size, embedding_dim) * 0.1)
            self.T_C = nn.Parameter(torch.randn(memory_size, embedding_dim) * 0.1)

            self.softmax = nn.Softmax(dim=1)
            self.encoding = torch.FloatTensor(position_encoding(sentence_size, embedding_dim))
            self.encoding.requires_grad = False
            if use_cuda:
                self.encoding = self.encoding.cuda()

        def forward(self, story: Any, query: Any) -> tuple[Any, Any]:
            story_size = story.size()

            u = list()
            query_embed = self.C[0](query)
            # weired way to perform reduce_dot
            encoding = self.encoding.unsqueeze(0).expand_as(query_embed)
            u.append(torch.sum(query_embed * encoding, 1))

            for hop in range(self.max_hops):
                embed_A = self.C[hop](story.view(story.size(0), -1))
                embed_A = embed_A.view(story_size + (embed_A.size(-1),))

                encoding = self.encoding.unsqueeze(0).unsqueeze(1).expand_as(embed_A)
                m_A = torch.sum(embed_A * encoding.type_as(embed_A), 2) + self.T_A

                u_temp = u[-1].unsqueeze(1).expand_as(m_A)
                prob = self.softmax(torch.sum(m_A * u_temp, 2))

                embed_C = self.C[hop + 1](story.view(story.size(0), -1))
                embed_C = embed_C.view(story_size + (embed_C.size(-1),))
                m_C = torch.sum(embed_C * encoding.type_as(embed_C), 2) + self.T_C

                prob = prob.unsqueeze(2).expand_as(m_C)
                o_k = torch.sum(m_C * prob, 1)

                u_k = u[-1] + o_k
                u.append(u_k)

            a_hat = u[-1] @ self.C[self.max_hops].weight.transpose(0, 1)
            return a_hat, self.softmax(a_hat)

    settings = {
        "use_cuda": False,
        "num_vocab": VOCAB,
        "embedding_dim": EMB,
        "sentence_size": SENT,
        "max_hops": HOPS,
        "memory_size": MEM,
    }
    return MemN2N(settings)


def _stories(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """'<person> went to <place>' sentences (zero-padded, a time word last); the query asks
    where a person is; the answer is the place of their latest sentence."""
    people, places = [1, 2, 3], [4, 5, 6, 7]
    stories = np.zeros((n, MEM, SENT), dtype=np.int64)
    queries = np.zeros((n, SENT), dtype=np.int64)
    answers = np.zeros(n, dtype=np.int64)
    for b in range(n):
        length = int(rng.integers(2, MEM + 1))
        where = {}
        for t in range(length):
            who, place = int(rng.choice(people)), int(rng.choice(places))
            stories[b, t, :3] = [who, 8, place]  # 8 = "went-to"
            stories[b, t, -1] = 9 + min(length - 1 - t, 2)  # time words 9..11
            where[who] = place
        who = int(rng.choice(sorted(where)))
        queries[b, :2] = [10, who]
        answers[b] = where[who]
    return stories, queries, answers


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    mem_n2n = make_model(torch_like)
    load_numpy_state(torch_like, mem_n2n, init)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    lr = 0.05
    optimizer = optim.SGD(mem_n2n.parameters(), lr=lr)
    rng = np.random.default_rng(11)
    train = _stories(rng, BATCH * STEPS)
    test = _stories(rng, 8)
    values: list[float] = []

    for step in range(STEPS):
        sl = slice(step * BATCH, (step + 1) * BATCH)
        story = torch.from_numpy(train[0][sl])
        query = torch.from_numpy(train[1][sl])
        answer = torch.from_numpy(train[2][sl])
        optimizer.zero_grad()
        logits, _ = mem_n2n(story, query)
        loss = loss_fn(logits, answer)
        loss.backward()
        if step == 0:
            pads = [mem_n2n.C[h].weight.grad[0].abs().sum().item() for h in range(HOPS)]
            values.append(sum(pads))
        nn.utils.clip_grad_norm_(mem_n2n.parameters(), 40.0)
        optimizer.step()
        values.append(loss.item())
        if (step + 1) % 2 == 0:
            lr /= 2
            for pg in optimizer.param_groups:
                pg["lr"] = lr

    mem_n2n.eval()
    with torch.no_grad():
        story, query, answer = (torch.from_numpy(a) for a in test)
        _, probs = mem_n2n(story, query)
        _, pred = torch.max(probs, 1)
        correct = pred.eq(answer).sum().item()
        values += [float(correct), probs.max(dim=1)[0].mean().item()]
    return values
