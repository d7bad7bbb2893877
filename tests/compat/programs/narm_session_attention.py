"""NARM: neural attentive session-based recommendation, as Wang Shuo's
``Neural-Attentive-Session-Based-Recommendation-PyTorch`` writes it (``narm.py``: ``NARM``;
``dataset.py``: ``collate_fn``; ``metric.py``: ``get_recall``, ``get_mrr``, ``evaluate``;
``main.py``: ``trainForEpoch``, ``validate`` and the epoch loop), size-reduced.

The idioms kept verbatim: ``nn.Embedding(..., padding_idx = 0)`` with ``nn.Dropout(0.25)`` before a
time-major ``nn.GRU`` fed by ``pack_padded_sequence(embs, lengths)`` (a Python list of lengths
sorted longest first by the collate function) and unpacked by ``pad_packed_sequence``;
``init_hidden``'s ``torch.zeros(..., requires_grad=True).to(self.device)``; ``ht = hidden[-1]``;
the attention ``self.a_1(gru_out.contiguous().view(-1, self.hidden_size)).view(gru_out.size())``,
the padding mask ``torch.where(seq.permute(1, 0) > 0, torch.tensor([1.], device = self.device),
torch.tensor([0.], device = self.device))``, ``q2.unsqueeze(1).expand_as(q1)``, ``alpha =
self.v_t(torch.sigmoid(q1 + q2_masked).view(-1, self.hidden_size)).view(mask.size())``,
``torch.sum(alpha.unsqueeze(2).expand_as(gru_out) * gru_out, 1)``; the bilinear decoder
``torch.matmul(c_t, self.b(item_embs).permute(1, 0))`` over ``self.emb(torch.arange(
self.n_items).to(self.device))``; ``collate_fn``'s ``data.sort(key=lambda x: len(x[0]),
reverse=True)``, ``torch.zeros(len(data), max(lens)).long()`` filled with
``torch.LongTensor(sess)`` and ``.transpose(0,1)``; the metrics ``(targets ==
indices).nonzero()[:, :-1].size(0)``, ``torch.reciprocal(ranks)`` and ``torch.sum(rranks).data /
targets.size(0)``; ``F.softmax(outputs, dim = 1)`` then ``torch.topk(indices, k, -1)``;
``StepLR`` stepped with ``scheduler.step(epoch = epoch)`` at the start of each epoch (its
deprecation warning is recorded and counted).

Changed: 15 items, embedding 8, hidden 8, sessions of 2-6 clicks, 12 training and 8
validation sessions in batches of 4, 2 epochs, top-5; ``tqdm`` and timing dropped.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_ITEMS, EMB, HIDDEN, BATCH, EPOCHS, TOPK = 15, 8, 8, 4, 2, 5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = nn.utils.rnn.pad_packed_sequence

    class NARM(nn.Module):
        """Neural Attentive Session Based Recommendation Model Class"""

        def __init__(self, n_items, hidden_size, embedding_dim, batch_size, n_layers=1):
            super(NARM, self).__init__()  # noqa: UP008
            self.n_items = n_items
            self.hidden_size = hidden_size
            self.batch_size = batch_size
            self.n_layers = n_layers
            self.embedding_dim = embedding_dim
            self.emb = nn.Embedding(self.n_items, self.embedding_dim, padding_idx=0)
            self.emb_dropout = nn.Dropout(0.25)
            self.gru = nn.GRU(self.embedding_dim, self.hidden_size, self.n_layers)
            self.a_1 = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
            self.a_2 = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
            self.v_t = nn.Linear(self.hidden_size, 1, bias=False)
            self.ct_dropout = nn.Dropout(0.5)
            self.b = nn.Linear(self.embedding_dim, 2 * self.hidden_size, bias=False)
            # self.sf = nn.Softmax()
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

        def forward(self, seq, lengths):
            hidden = self.init_hidden(seq.size(1))
            embs = self.emb_dropout(self.emb(seq))
            embs = pack_padded_sequence(embs, lengths)
            gru_out, hidden = self.gru(embs, hidden)
            gru_out, lengths = pad_packed_sequence(gru_out)

            # fetch the last hidden state of last timestamp
            ht = hidden[-1]
            gru_out = gru_out.permute(1, 0, 2)

            c_global = ht
            q1 = self.a_1(gru_out.contiguous().view(-1, self.hidden_size)).view(gru_out.size())
            q2 = self.a_2(ht)

            mask = torch.where(seq.permute(1, 0) > 0, torch.tensor([1.0], device=self.device),
                               torch.tensor([0.0], device=self.device))  # fmt: skip
            q2_expand = q2.unsqueeze(1).expand_as(q1)
            q2_masked = mask.unsqueeze(2).expand_as(q1) * q2_expand

            alpha = self.v_t(torch.sigmoid(q1 + q2_masked).view(-1, self.hidden_size)).view(
                mask.size()
            )
            c_local = torch.sum(alpha.unsqueeze(2).expand_as(gru_out) * gru_out, 1)

            c_t = torch.cat([c_local, c_global], 1)
            c_t = self.ct_dropout(c_t)

            item_embs = self.emb(torch.arange(self.n_items).to(self.device))
            scores = torch.matmul(c_t, self.b(item_embs).permute(1, 0))
            # scores = self.sf(scores)
            return scores

        def init_hidden(self, batch_size):
            return torch.zeros(
                (self.n_layers, batch_size, self.hidden_size), requires_grad=True
            ).to(self.device)

    return NARM(N_ITEMS, HIDDEN, EMB, BATCH)


def _sessions(rng: np.random.Generator, n: int) -> list:
    return [
        (rng.integers(1, N_ITEMS, int(length)).tolist(), int(rng.integers(1, N_ITEMS)))
        for length in rng.integers(2, 7, n)
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = nn.functional
    StepLR = optim.lr_scheduler.StepLR
    device = torch.device("cpu")

    def collate_fn(data):
        data.sort(key=lambda x: len(x[0]), reverse=True)
        lens = [len(sess) for sess, label in data]
        labels = []
        padded_sesss = torch.zeros(len(data), max(lens)).long()
        for i, (sess, label) in enumerate(data):
            padded_sesss[i, : lens[i]] = torch.LongTensor(sess)
            labels.append(label)
        padded_sesss = padded_sesss.transpose(0, 1)
        return padded_sesss, torch.tensor(labels).long(), lens

    def get_recall(indices, targets):
        targets = targets.view(-1, 1).expand_as(indices)
        hits = (targets == indices).nonzero()
        if len(hits) == 0:
            return 0
        n_hits = (targets == indices).nonzero()[:, :-1].size(0)
        recall = float(n_hits) / targets.size(0)
        return recall

    def get_mrr(indices, targets):
        tmp = targets.view(-1, 1)
        targets = tmp.expand_as(indices)
        hits = (targets == indices).nonzero()
        ranks = hits[:, -1] + 1
        ranks = ranks.float()
        rranks = torch.reciprocal(ranks)
        mrr = torch.sum(rranks).data / targets.size(0)
        return mrr.item()

    def evaluate(indices, targets, k=20):
        _, indices = torch.topk(indices, k, -1)
        recall = get_recall(indices, targets)
        mrr = get_mrr(indices, targets)
        return recall, mrr

    rng = np.random.default_rng(31)
    train_data, valid_data = _sessions(rng, 12), _sessions(rng, 8)
    torch.manual_seed(3)
    train_loader = torch.utils.data.DataLoader(train_data, batch_size=BATCH, shuffle=True,
                                               collate_fn=collate_fn)  # fmt: skip
    valid_loader = torch.utils.data.DataLoader(valid_data, batch_size=BATCH, shuffle=False,
                                               collate_fn=collate_fn)  # fmt: skip
    model = make_model(torch_like).to(device)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adam(model.parameters(), 0.01)
    criterion = nn.CrossEntropyLoss()
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    values: list[float] = []
    for epoch in range(EPOCHS):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scheduler.step(epoch=epoch)
        values.append(len([w for w in caught if "epoch" in str(w.message)]))
        model.train()
        sum_epoch_loss = 0
        for i, (seq, target, lens) in enumerate(train_loader):  # noqa: B007
            seq = seq.to(device)
            target = target.to(device)
            optimizer.zero_grad()
            outputs = model(seq, lens)
            loss = criterion(outputs, target)
            loss.backward()
            optimizer.step()
            loss_val = loss.item()
            sum_epoch_loss += loss_val
            values.append(loss_val)
        model.eval()
        recalls = []
        mrrs = []
        with torch.no_grad():
            for seq, target, lens in valid_loader:
                seq = seq.to(device)
                target = target.to(device)
                outputs = model(seq, lens)
                logits = F.softmax(outputs, dim=1)
                recall, mrr = evaluate(logits, target, k=TOPK)
                recalls.append(recall)
                mrrs.append(mrr)
        values += [np.mean(recalls), np.mean(mrrs), optimizer.param_groups[0]["lr"]]
    return values
