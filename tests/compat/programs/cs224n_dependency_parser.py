"""Stanford CS224n assignment 3, the neural transition-based dependency parser
(``parser_model.py``, ``parser_transitions.py``, ``run.py``, ``utils/parser_utils.py``,
``utils/general_utils.py``), size-reduced.

The idioms: ``ParserModel`` with the embedding matrix as ``nn.Parameter(torch.tensor(
embeddings))`` and hand-made layers ``nn.Parameter(torch.empty(n_features * embed_size,
hidden_size))`` initialised by ``nn.init.xavier_uniform_`` (weights) and ``nn.init.uniform_``
(biases); ``embedding_lookup`` both ways students write it (``self.embeddings[w].view(
w.shape[0], -1)`` and ``torch.index_select(self.embeddings, 0, w.view(-1)).view(
w.shape[0], -1)``); ``forward``'s ``F.relu(torch.matmul(x, W) + b)``, ``self.dropout(h)`` and
the logits ``torch.matmul(...) + b``; the 2019 variant with ``nn.Embedding`` whose ``weight`` is
replaced by ``nn.Parameter(torch.tensor(embeddings))``, ``nn.Linear`` layers and
``nn.init.xavier_uniform_(self.embed_to_hidden.weight, gain=1)``; the ``check_forward`` sanity
test (``torch.randint(0, 100, (4, 36)).long()`` -> shape ``(4, 3)``); ``train_for_epoch``
(``math.ceil(len(train_data) / batch_size)``, ``optimizer.zero_grad()``,
``torch.from_numpy(train_x).long()``, the one-hot labels turned back into classes by
``torch.from_numpy(train_y.nonzero()[1]).long()``, ``nn.CrossEntropyLoss()``, ``optim.Adam(
parser.model.parameters(), lr=lr)``, ``AverageMeter``, ``parser.model.eval()``); ``train``'s
best-dev checkpoint ``torch.save(parser.model.state_dict(), output_path)`` and the test-time
``parser.model.load_state_dict(torch.load(output_path))``; ``PartialParse.parse_step`` ("S",
"LA", "RA") and ``minibatch_parse`` (``unfinished_parses[:]`` shallow copy, batches of partial
parses predicted together, finished parses dropped); ``ModelWrapper.predict``'s
``torch.from_numpy(np.array(mb_x).astype('int32')).long()``, ``pred.detach().numpy()`` and
``np.argmax(pred + 10000 * np.array(mb_l).astype('float32'), 1)``; and the UAS over the
dev set.

Changed: the Penn Treebank files and their vocabulary are toy sentences whose gold trees come
from random legal transition sequences (the oracle's instances are recorded on the way); 36
features (words, POS, labels) -> 10 word features (stack and buffer tops, leftmost / rightmost
children); embed 50 -> 6, hidden 200 -> 12; dropout 0.5 -> 0 in training (random masks cannot
agree between two frameworks); the xavier / uniform draws are overwritten with NumPy's through
``load_state_dict``; ``get_minibatches``' ``np.random.shuffle`` is a seeded generator's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

N_WORDS, EMBED, HIDDEN, N_FEATURES = 14, 6, 12, 10
NULL, ROOT = N_WORDS, N_WORDS + 1
TRANS = ["LA", "RA", "S"]  # the ids ``tran2id`` gives: L=0, R=1, S=2


class PartialParse:
    def __init__(self, sentence: list[int]) -> None:
        self.sentence = sentence
        self.stack = ["ROOT"]
        self.buffer = list(sentence)
        self.dependencies: list[tuple[Any, Any]] = []

    def parse_step(self, transition: str) -> None:
        if transition == "S":
            self.stack.append(self.buffer.pop(0))
        elif transition == "LA":
            dependent = self.stack.pop(-2)
            self.dependencies.append((self.stack[-1], dependent))
        elif transition == "RA":
            dependent = self.stack.pop()
            self.dependencies.append((self.stack[-1], dependent))

    def parse(self, transitions: list[str]) -> list[tuple[Any, Any]]:
        for transition in transitions:
            self.parse_step(transition)
        return self.dependencies


def minibatch_parse(sentences: list, model: Any, batch_size: int) -> list:
    partial_parses = [PartialParse(sentence) for sentence in sentences]
    unfinished_parses = partial_parses[:]
    while unfinished_parses:
        minibatch = unfinished_parses[:batch_size]
        transitions = model.predict(minibatch)
        for parse, transition in zip(minibatch, transitions, strict=True):
            parse.parse_step(transition)
            if len(parse.buffer) == 0 and len(parse.stack) == 1:
                unfinished_parses.remove(parse)
    return [parse.dependencies for parse in partial_parses]


def legal_labels(stack: list, buffer: list) -> list[int]:
    labels = [1] if len(stack) > 2 else [0]  # LA (never ROOT as a dependent)
    labels += [1] if len(stack) >= 2 else [0]  # RA
    labels += [1] if len(buffer) > 0 else [0]  # S
    return labels


def extract_features(stack: list, buffer: list, deps: list, words: list[int]) -> list[int]:
    """Word ids of the stack's and buffer's top three and the children of the stack's top two
    (token positions index ``words``; "ROOT" and missing slots are ROOT / NULL)."""

    def wid(tok: Any) -> int:
        if tok is None:
            return NULL
        return ROOT if tok == "ROOT" else words[tok]

    feats = [wid(stack[-i]) if len(stack) >= i else NULL for i in (1, 2, 3)]
    feats += [wid(buffer[i]) if len(buffer) > i else NULL for i in (0, 1, 2)]
    for i in (1, 2):
        tok = stack[-i] if len(stack) >= i else None
        kids = sorted(d for h, d in deps if h == tok) if tok is not None else []
        feats += [wid(kids[0]) if kids else NULL, wid(kids[-1]) if kids else NULL]
    return feats


def _sentences(rng: np.random.Generator, n: int) -> tuple[list, list, list]:
    """Toy sentences (token positions 0..L-1 with word ids), gold heads from a random legal
    transition sequence, and the (features, legal labels, transition id) oracle instances."""
    words, heads, instances = [], [], []
    for _ in range(n):
        length = int(rng.integers(3, 7))
        w = [int(v) for v in rng.integers(0, N_WORDS, length)]
        p = PartialParse(list(range(length)))
        while p.buffer or len(p.stack) > 1:
            legal = legal_labels(p.stack, p.buffer)
            # a grammar of sorts: small word ids attach left, large ones right
            choices = [t for t, ok in zip(TRANS, legal, strict=True) if ok]
            if "S" in choices and len(p.stack) >= 2 and p.stack[-1] != "ROOT":
                pref = "LA" if w[p.stack[-1]] < N_WORDS // 2 else "S"
                t = pref if pref in choices and rng.random() < 0.8 else str(rng.choice(choices))
            else:
                t = str(rng.choice(choices))
            feats = extract_features(p.stack, p.buffer, p.dependencies, w)
            instances.append((feats, legal, TRANS.index(t)))
            p.parse_step(t)
        head = [-1] * length
        for h, d in p.dependencies:
            head[d] = -1 if h == "ROOT" else h
        words.append(w)
        heads.append(head)
    return words, heads, instances


def init_state(tmp_path: Any) -> dict[str, Any]:
    rng = np.random.default_rng(224)
    n_tokens = N_WORDS + 2
    bound1 = math.sqrt(6 / (N_FEATURES * EMBED + HIDDEN))
    bound2 = math.sqrt(6 / (HIDDEN + 3))
    return {
        "dir": str(tmp_path),
        "embeddings": np.asarray(rng.normal(0, 0.9, (n_tokens, EMBED)), dtype="float32"),
        "W1": rng.uniform(-bound1, bound1, (N_FEATURES * EMBED, HIDDEN)),
        "b1": rng.uniform(0, 1, HIDDEN),
        "W2": rng.uniform(-bound2, bound2, (HIDDEN, 3)),
        "b2": rng.uniform(0, 1, 3),
        "train": _sentences(rng, 10),
        "dev": _sentences(rng, 5),
        "shuffle_seed": 9,
    }


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:  # noqa: C901 (a course script)
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    values: list[float] = []

    class ParserModel(nn.Module):
        def __init__(
            self,
            embeddings,
            n_features=N_FEATURES,
            hidden_size=HIDDEN,
            n_classes=3,
            dropout_prob=0.5,
            lookup="index",
        ):
            super(ParserModel, self).__init__()  # noqa: UP008 (as the assignment)
            self.n_features = n_features
            self.n_classes = n_classes
            self.dropout_prob = dropout_prob
            self.embed_size = embeddings.shape[1]
            self.hidden_size = hidden_size
            self.lookup = lookup
            self.embeddings = nn.Parameter(torch.tensor(embeddings))

            self.embed_to_hidden_weight = nn.Parameter(
                torch.empty(self.n_features * self.embed_size, self.hidden_size)
            )
            nn.init.xavier_uniform_(self.embed_to_hidden_weight)
            self.embed_to_hidden_bias = nn.Parameter(torch.empty(self.hidden_size))
            nn.init.uniform_(self.embed_to_hidden_bias)
            self.dropout = nn.Dropout(p=self.dropout_prob)
            self.hidden_to_logits_weight = nn.Parameter(
                torch.empty(self.hidden_size, self.n_classes)
            )
            nn.init.xavier_uniform_(self.hidden_to_logits_weight)
            self.hidden_to_logits_bias = nn.Parameter(torch.empty(self.n_classes))
            nn.init.uniform_(self.hidden_to_logits_bias)

        def embedding_lookup(self, w):
            if self.lookup == "index":
                x = self.embeddings[w]
                x = x.view(w.shape[0], -1)
            else:
                x = torch.index_select(self.embeddings, 0, w.view(-1)).view(w.shape[0], -1)
            return x

        def forward(self, w):
            x = self.embedding_lookup(w)
            h = F.relu(torch.matmul(x, self.embed_to_hidden_weight) + self.embed_to_hidden_bias)
            logits = (
                torch.matmul(self.dropout(h), self.hidden_to_logits_weight)
                + self.hidden_to_logits_bias
            )
            return logits

    class ParserModel2019(nn.Module):
        def __init__(
            self,
            embeddings,
            n_features=N_FEATURES,
            hidden_size=HIDDEN,
            n_classes=3,
            dropout_prob=0.5,
        ):
            super(ParserModel2019, self).__init__()  # noqa: UP008
            self.n_features = n_features
            self.embed_size = embeddings.shape[1]
            self.pretrained_embeddings = nn.Embedding(embeddings.shape[0], self.embed_size)
            self.pretrained_embeddings.weight = nn.Parameter(torch.tensor(embeddings))
            self.embed_to_hidden = nn.Linear(self.n_features * self.embed_size, hidden_size)
            nn.init.xavier_uniform_(self.embed_to_hidden.weight, gain=1)
            self.dropout = nn.Dropout(p=dropout_prob)
            self.hidden_to_logits = nn.Linear(hidden_size, n_classes)
            nn.init.xavier_uniform_(self.hidden_to_logits.weight, gain=1)

        def embedding_lookup(self, t):
            x = self.pretrained_embeddings(t)
            x = x.view(t.size()[0], -1)
            return x

        def forward(self, t):
            embeddings = self.embedding_lookup(t)
            hidden = F.relu(self.embed_to_hidden(embeddings))
            logits = self.hidden_to_logits(self.dropout(hidden))
            return logits

    def numpy_weights(model: Any) -> None:
        if isinstance(model, ParserModel):
            names = (
                "embed_to_hidden_weight",
                "embed_to_hidden_bias",
                "hidden_to_logits_weight",
                "hidden_to_logits_bias",
            )
            tensors = [init[k] for k in ("W1", "b1", "W2", "b2")]
        else:
            names = (
                "embed_to_hidden.weight",
                "embed_to_hidden.bias",
                "hidden_to_logits.weight",
                "hidden_to_logits.bias",
            )
            tensors = [init["W1"].T, init["b1"] - 0.5, init["W2"].T, init["b2"] - 0.5]
        state = model.state_dict()
        for k, v in zip(names, tensors, strict=True):
            state[k] = torch.tensor(np.ascontiguousarray(v))
        model.load_state_dict(state)

    embeddings = init["embeddings"]

    # the assignment's sanity checks
    for cls in (ParserModel, ParserModel2019):
        model = cls(embeddings.astype("float64"), n_features=36)
        inpt = torch.randint(0, N_WORDS, (4, 36)).long()
        out = model(inpt)
        assert tuple(out.shape) == (4, 3), "The result shape of forward is: " + str(
            tuple(out.shape)
        )
        assert tuple(model.embedding_lookup(inpt).shape) == (4, 36 * EMBED)

    class AverageMeter:
        def __init__(self):
            self.reset()

        def reset(self):
            self.val = self.avg = self.sum = self.count = 0

        def update(self, val, n=1):
            self.val = val
            self.sum += val * n
            self.count += n
            self.avg = self.sum / self.count

    rng = np.random.default_rng(init["shuffle_seed"])

    def get_minibatches(data, minibatch_size, shuffle=True):
        list_data = type(data) is list and (type(data[0]) is list or type(data[0]) is np.ndarray)
        data_size = len(data[0]) if list_data else len(data)
        indices = np.arange(data_size)
        if shuffle:
            rng.shuffle(indices)
        for minibatch_start in np.arange(0, data_size, minibatch_size):
            minibatch_indices = indices[minibatch_start : minibatch_start + minibatch_size]
            yield [d[minibatch_indices] for d in data]

    def minibatches(data, batch_size):
        x = np.array([d[0] for d in data])
        y = np.array([d[2] for d in data])
        one_hot = np.zeros((y.size, 3))
        one_hot[np.arange(y.size), y] = 1
        return get_minibatches([x, one_hot], batch_size)

    class Parser:
        def __init__(self, model):
            self.model = model

        def parse(self, dataset, eval_batch_size=4):
            words, gold_heads, _ = dataset
            sentences = [list(range(len(w))) for w in words]
            sentence_id_to_idx = {id(sentence): i for (i, sentence) in enumerate(sentences)}
            model = ModelWrapper(self, words, sentence_id_to_idx)
            dependencies = minibatch_parse(sentences, model, eval_batch_size)
            UAS = all_tokens = 0.0
            for i, gold in enumerate(gold_heads):
                head = [-2] * len(gold)
                for h, t in dependencies[i]:
                    head[t] = -1 if h == "ROOT" else h
                for pred_h, gold_h in zip(head, gold, strict=True):
                    UAS += 1 if pred_h == gold_h else 0
                    all_tokens += 1
            UAS /= all_tokens
            return UAS, dependencies

    class ModelWrapper:
        def __init__(self, parser, words, sentence_id_to_idx):
            self.parser = parser
            self.words = words
            self.sentence_id_to_idx = sentence_id_to_idx

        def predict(self, partial_parses):
            mb_x = [
                extract_features(
                    p.stack,
                    p.buffer,
                    p.dependencies,
                    self.words[self.sentence_id_to_idx[id(p.sentence)]],
                )
                for p in partial_parses
            ]
            mb_x = np.array(mb_x).astype("int32")
            mb_x = torch.from_numpy(mb_x).long()
            mb_l = [legal_labels(p.stack, p.buffer) for p in partial_parses]
            pred = self.parser.model(mb_x)
            pred = pred.detach().numpy()
            pred = np.argmax(pred + 10000 * np.array(mb_l).astype("float32"), 1)
            pred = ["S" if p == 2 else ("LA" if p == 0 else "RA") for p in pred]
            return pred

    def train_for_epoch(parser, train_data, dev_data, optimizer, loss_func, batch_size):
        parser.model.train()
        n_minibatches = math.ceil(len(train_data) / batch_size)
        loss_meter = AverageMeter()
        for _i, (train_x, train_y) in enumerate(minibatches(train_data, batch_size)):
            optimizer.zero_grad()
            loss = 0.0
            train_x = torch.from_numpy(train_x).long()
            train_y = torch.from_numpy(train_y.nonzero()[1]).long()
            logits = parser.model(train_x)
            loss = loss_func(logits, train_y)
            loss.backward()
            optimizer.step()
            loss_meter.update(loss.item())
            values.append(loss.item())
        values.extend([loss_meter.avg, n_minibatches])
        parser.model.eval()
        dev_UAS, _ = parser.parse(dev_data)
        return dev_UAS

    def train(parser, train_data, dev_data, output_path, batch_size=16, n_epochs=3, lr=0.005):
        best_dev_UAS = 0
        optimizer = optim.Adam(parser.model.parameters(), lr=lr)
        loss_func = nn.CrossEntropyLoss()
        for _epoch in range(n_epochs):
            dev_UAS = train_for_epoch(
                parser, train_data, dev_data, optimizer, loss_func, batch_size
            )
            values.append(dev_UAS)
            if dev_UAS > best_dev_UAS:
                best_dev_UAS = dev_UAS
                torch.save(parser.model.state_dict(), output_path)
        return best_dev_UAS

    train_data = init["train"][2]
    for variant in ("index", "index_select", "2019"):
        if variant == "2019":
            model = ParserModel2019(embeddings.astype("float64"), dropout_prob=0.0)
        else:
            model = ParserModel(embeddings.astype("float64"), dropout_prob=0.0, lookup=variant)
        numpy_weights(model)
        parser = Parser(model)
        output_path = str(Path(init["dir"]) / f"parser_{variant}.weights")
        best = train(parser, train_data, init["dev"], output_path)
        # the test-time reload of the best weights
        parser.model.load_state_dict(torch.load(output_path))
        parser.model.eval()
        UAS, dependencies = parser.parse(init["dev"])
        values += [best, UAS, sum(len(d) for d in dependencies)]
    # the transitions test of part (c)
    p = PartialParse(["parse", "this", "sentence"])
    deps = p.parse(["S", "S", "S", "LA", "RA", "RA"])
    values.append(float(deps == [("sentence", "this"), ("parse", "sentence"), ("ROOT", "parse")]))
    return values
