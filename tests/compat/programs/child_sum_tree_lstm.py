"""Child-Sum Tree-LSTM (Tai, Socher & Manning 2015) for sentence sentiment over dependency trees,
as dasguptar/treelstm.pytorch (``treelstm/model.py``, ``tree.py``, ``trainer.py``,
``utils.py``) and its sentiment fork write it, size-reduced.

The idioms: the ``Tree`` class (``self.parent``, ``self.num_children``, ``self.children``,
``add_child``, ``size()`` and ``depth()`` cached through ``getattr(self, '_size')``) built by
``read_tree`` from a line of parent indices; ``ChildSumTreeLSTM`` (``self.ioux =
nn.Linear(in_dim, 3 * mem_dim)``, ``self.iouh``, ``self.fx``, ``self.fh``; ``node_forward``
with ``child_h_sum = torch.sum(child_h, dim=0, keepdim=True)``, ``i, o, u =
torch.split(iou, iou.size(1) // 3, dim=1)``, ``F.sigmoid`` / ``F.tanh``, a forget gate per
child ``F.sigmoid(self.fh(child_h) + self.fx(inputs).repeat(len(child_h), 1))``,
``torch.mul(f, child_c)``; ``forward`` recursing over ``tree.children`` first, leaves starting
from ``inputs[0].detach().new(1, self.mem_dim).fill_(0.).requires_grad_()``, the children's
states gathered by ``zip(*map(lambda x: x.state, tree.children))`` and ``torch.cat``); the
sentiment head (``nn.Linear(mem_dim, num_classes)``, ``F.dropout``, ``nn.LogSoftmax()`` at the
root) with ``nn.NLLLoss()``; the frozen GloVe embedding (``nn.Embedding(vocab_size, in_dim,
padding_idx=Constants.PAD)``, ``emb.weight.requires_grad = False``, ``emb.weight.data.copy_(
glove)``); the ``Trainer`` (``optim.Adagrad(filter(lambda p: p.requires_grad,
model.parameters()), lr=args.lr, weight_decay=args.wd)``, an ``indices =
torch.randperm(len(dataset))``-style shuffle, ``k += 1; if k % self.args.batchsize == 0:
self.optimizer.step(); self.optimizer.zero_grad()``, ``total_loss += loss.item()``; ``test``
under ``torch.no_grad()`` filling ``predictions = torch.zeros(len(dataset), dtype=torch.float,
device='cpu')`` from ``torch.argmax(output, 1)``) and the accuracy ``torch.eq(predictions,
labels).sum().item() / len(labels)``; the per-node (all-phrase) loss of the sentiment fork
summed over ``torch.stack`` of node losses.

Changed: the Stanford Sentiment Treebank is six parsed toy sentences over a 12-word
vocabulary, GloVe vectors are NumPy draws; in_dim 300 -> 6, mem_dim 150 -> 5, 5 classes ->
3; 15 epochs -> 3 with batch 25 -> 2; the shuffle comes from a seeded NumPy generator (the
two frameworks' generators differ); dropout 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL = 2e-4
ATOL = 1e-6
VOCAB, IN_DIM, MEM_DIM, NUM_CLASSES, EPOCHS, BATCHSIZE, LR, WD = 12, 6, 5, 3, 3, 2, 0.05, 1e-4
PAD = 0

# (tokens, parents (1-based, 0 is the root), sentence label); token 0 is PAD
SENTENCES = [
    ([3, 4, 5], [2, 0, 2], 2),
    ([6, 7, 8, 9], [2, 0, 4, 2], 0),
    ([3, 10, 4, 11, 5], [3, 3, 0, 5, 3], 1),
    ([8, 4, 9], [2, 0, 2], 0),
    ([5, 6, 3, 10, 7, 11], [2, 0, 2, 5, 3, 5], 2),
    ([11, 9, 10], [0, 1, 1], 1),
]


class Tree:
    """tree object from stanfordnlp/treelstm"""

    def __init__(self) -> None:
        self.parent: Tree | None = None
        self.num_children = 0
        self.children: list[Tree] = []
        self.idx = -1
        self.gold_label: int | None = None
        self.state: Any = None

    def add_child(self, child: Tree) -> None:
        child.parent = self
        self.num_children += 1
        self.children.append(child)

    def size(self) -> int:
        if getattr(self, "_size", None):
            return self._size
        count = 1
        for i in range(self.num_children):
            count += self.children[i].size()
        self._size = count
        return self._size

    def depth(self) -> int:
        if getattr(self, "_depth", None):
            return self._depth
        count = 0
        if self.num_children > 0:
            for i in range(self.num_children):
                child_depth = self.children[i].depth()
                if child_depth > count:
                    count = child_depth
            count += 1
        self._depth = count
        return self._depth


def read_tree(parents: list[int]) -> Tree:
    """``read_tree`` of ``dataset.py``: a tree from a list of 1-based parent indices."""
    trees: dict[int, Tree] = dict()
    root = None
    for i in range(1, len(parents) + 1):
        if i - 1 not in trees.keys() and parents[i - 1] != -1:
            idx = i
            prev = None
            while True:
                parent = parents[idx - 1]
                if parent == -1:
                    break
                tree = Tree()
                if prev is not None:
                    tree.add_child(prev)
                trees[idx - 1] = tree
                tree.idx = idx - 1
                if parent - 1 in trees.keys():
                    trees[parent - 1].add_child(tree)
                    break
                elif parent == 0:
                    root = tree
                    break
                else:
                    prev = tree
                    idx = parent
    assert root is not None
    return root


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    # module for childsumtreelstm
    class ChildSumTreeLSTM(nn.Module):
        def __init__(self, in_dim: int, mem_dim: int) -> None:
            super().__init__()
            self.in_dim = in_dim
            self.mem_dim = mem_dim
            self.ioux = nn.Linear(self.in_dim, 3 * self.mem_dim)
            self.iouh = nn.Linear(self.mem_dim, 3 * self.mem_dim)
            self.fx = nn.Linear(self.in_dim, self.mem_dim)
            self.fh = nn.Linear(self.mem_dim, self.mem_dim)

        def node_forward(self, inputs: Any, child_c: Any, child_h: Any) -> tuple[Any, Any]:
            child_h_sum = torch.sum(child_h, dim=0, keepdim=True)

            iou = self.ioux(inputs) + self.iouh(child_h_sum)
            i, o, u = torch.split(iou, iou.size(1) // 3, dim=1)
            i, o, u = F.sigmoid(i), F.sigmoid(o), F.tanh(u)

            f = F.sigmoid(self.fh(child_h) + self.fx(inputs).repeat(len(child_h), 1))
            fc = torch.mul(f, child_c)

            c = torch.mul(i, u) + torch.sum(fc, dim=0, keepdim=True)
            h = torch.mul(o, F.tanh(c))
            return c, h

        def forward(self, tree: Tree, inputs: Any) -> tuple[Any, Any]:
            for idx in range(tree.num_children):
                self.forward(tree.children[idx], inputs)

            if tree.num_children == 0:
                child_c = inputs[0].detach().new(1, self.mem_dim).fill_(0.0).requires_grad_()
                child_h = inputs[0].detach().new(1, self.mem_dim).fill_(0.0).requires_grad_()
            else:
                child_c, child_h = zip(*map(lambda x: x.state, tree.children))
                child_c, child_h = torch.cat(child_c, dim=0), torch.cat(child_h, dim=0)

            tree.state = self.node_forward(inputs[tree.idx], child_c, child_h)
            return tree.state

    # module for the sentiment classifier on a node's hidden state
    class SentimentModule(nn.Module):
        def __init__(self, mem_dim: int, num_classes: int, dropout: float = 0.0) -> None:
            super().__init__()
            self.dropout = dropout
            self.l1 = nn.Linear(mem_dim, num_classes)
            self.logsoftmax = nn.LogSoftmax(dim=1)

        def forward(self, vec: Any) -> Any:
            out = self.logsoftmax(self.l1(F.dropout(vec, self.dropout, self.training)))
            return out

    # putting the whole model together
    class TreeLSTMSentiment(nn.Module):
        def __init__(
            self,
            vocab_size: int,
            in_dim: int,
            mem_dim: int,
            num_classes: int,
            freeze_embed: bool,
        ) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab_size, in_dim, padding_idx=PAD)
            if freeze_embed:
                self.emb.weight.requires_grad = False
            self.childsumtreelstm = ChildSumTreeLSTM(in_dim, mem_dim)
            self.output_module = SentimentModule(mem_dim, num_classes)

        def forward(self, tree: Tree, inputs: Any) -> Any:
            inputs = self.emb(inputs)
            state, hidden = self.childsumtreelstm(tree, inputs)
            output = self.output_module(hidden)
            return output

    return TreeLSTMSentiment, SentimentModule


def make_model(torch_like: Any) -> Any:
    TreeLSTMSentiment, _ = _classes(torch_like)
    return TreeLSTMSentiment(VOCAB, IN_DIM, MEM_DIM, NUM_CLASSES, freeze_embed=True)


def _nodes(tree: Tree) -> list[Tree]:
    out = [tree]
    for child in tree.children:
        out += _nodes(child)
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    TreeLSTMSentiment, _ = _classes(torch_like)
    model = TreeLSTMSentiment(VOCAB, IN_DIM, MEM_DIM, NUM_CLASSES, freeze_embed=True)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    glove = np.random.default_rng(11).normal(size=(VOCAB, IN_DIM)).astype(np.float32)
    glove[PAD] = 0.0
    model.emb.weight.data.copy_(as_tensor(torch_like, glove))

    dataset = []
    for tokens, parents, label in SENTENCES:
        tree = read_tree(parents)
        dataset.append((tree, torch.tensor(tokens, dtype=torch.long), label))
    values += [float(t.size()) for t, _, _ in dataset]
    values += [float(t.depth()) for t, _, _ in dataset]

    criterion = nn.NLLLoss()
    optimizer = optim.Adagrad(
        filter(lambda p: p.requires_grad, model.parameters()), lr=LR, weight_decay=WD
    )
    rng = np.random.default_rng(0)

    def train(epoch: int) -> float:
        model.train()
        optimizer.zero_grad()
        total_loss = 0.0
        indices = torch.from_numpy(rng.permutation(len(dataset)))
        k = 0
        for idx in range(len(dataset)):
            tree, inputs, label = dataset[int(indices[idx])]
            target = torch.tensor([label], dtype=torch.long)
            output = model(tree, inputs)
            loss = criterion(output, target)
            total_loss += loss.item()
            loss.backward()
            k += 1
            if k % BATCHSIZE == 0:
                optimizer.step()
                optimizer.zero_grad()
        return total_loss / len(dataset)

    def test() -> tuple[float, Any]:
        model.eval()
        with torch.no_grad():
            total_loss = 0.0
            predictions = torch.zeros(len(dataset), dtype=torch.float, device="cpu")
            for idx in range(len(dataset)):
                tree, inputs, label = dataset[idx]
                target = torch.tensor([label], dtype=torch.long)
                output = model(tree, inputs)
                loss = criterion(output, target)
                total_loss += loss.item()
                predictions[idx] = torch.argmax(output, 1).squeeze()
        return total_loss / len(dataset), predictions

    labels = torch.tensor([label for _, _, label in SENTENCES], dtype=torch.float)
    for epoch in range(EPOCHS):
        values.append(train(epoch))
        test_loss, predictions = test()
        accuracy = torch.eq(predictions, labels).sum().item() / len(labels)
        values += [test_loss, accuracy]

    # the frozen embedding took no step; the root's state is a (1, mem_dim) pair
    values.append(float(torch.equal(model.emb.weight.data, as_tensor(torch_like, glove))))
    values.append(float(model.emb.weight.grad is None))

    # the all-phrase loss: every node labelled with the sentence label, losses stacked
    model.train()
    optimizer.zero_grad()
    tree, inputs, label = dataset[4]
    model.childsumtreelstm(tree, model.emb(inputs))
    node_losses = []
    for node in _nodes(tree):
        output = model.output_module(node.state[1])
        node_losses.append(criterion(output, torch.tensor([label], dtype=torch.long)))
    loss = torch.stack(node_losses).sum()
    loss.backward()
    values.append(loss.item())
    values += [p.grad.abs().sum().item() for p in model.parameters() if p.requires_grad]
    return values
