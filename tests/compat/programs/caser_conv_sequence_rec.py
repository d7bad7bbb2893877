"""Caser, convolutional sequence embedding recommendation (Tang & Wang, 2018), as
graytowne/caser_pytorch writes it (``caser.py``'s ``Caser``, ``train_caser.py``'s ``Recommender``
with ``fit``, ``_generate_negative_samples`` and ``predict``, ``utils.py``'s
``activation_getter``, ``shuffle`` and ``minibatch``), size-reduced.

The idioms: the vertical convolution ``nn.Conv2d(1, self.n_v, (L, 1))`` and the horizontal ones
``nn.ModuleList([nn.Conv2d(1, self.n_h, (i, dims)) for i in lengths])`` over ``self.
item_embeddings(seq_var).unsqueeze(1)``, each pooled by ``F.max_pool1d(conv_out,
conv_out.size(2)).squeeze(2)`` after ``conv(item_embs).squeeze(3)``; the output layer kept in
embeddings (``self.W2 = nn.Embedding(num_items, dims+dims)``, ``self.b2 = nn.Embedding(
num_items, 1)``) and applied by ``torch.baddbmm(b2, w2, x.unsqueeze(2)).squeeze()`` in training
and ``(x * w2).sum(1) + b2`` for prediction; the initialisation ``self.user_embeddings.weight.
data.normal_(0, 1.0 / self.user_embeddings.embedding_dim)`` and ``self.b2.weight.data.zero_()``;
``activation_getter``'s ``{'iden': lambda x: x, 'relu': F.relu, 'tanh': torch.tanh, 'sigm':
torch.sigmoid}``; ``fit`` (``torch.from_numpy(users_np).long()``, ``shuffle`` through a NumPy
permutation indexing several tensors, ``minibatch``'s generator of slices, ``items_to_predict =
torch.cat((batch_targets, batch_negatives), 1)``, ``torch.split(items_prediction,
[batch_targets.size(1), batch_negatives.size(1)], dim=1)``, the losses ``-torch.mean(torch.log(
torch.sigmoid(targets_prediction)))`` and ``-torch.mean(torch.log(1 - torch.sigmoid(
negatives_prediction)))``, ``optim.Adam(self._net.parameters(), weight_decay=self._l2,
lr=self._learning_rate)``); ``predict`` under ``torch.no_grad()`` (``np.atleast_2d``,
``torch.from_numpy(np.array([[user_id]])).long()``, ``out.cpu().numpy().flatten()``).

Changed: MovieLens sequences -> 5 users of NumPy-drawn item sequences over 12 items, ``L`` 5 ->
3, ``T`` 3 -> 2, ``d`` 50 -> 4, ``nv`` 4 -> 2, ``nh`` 16 -> 2, 3 negatives, batch 512 -> 4,
dropout 0.5 -> 0, ``learning_rate`` 1e-3 -> 1e-2; negative sampling from a seeded NumPy
generator; 2 epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

USERS, ITEMS, L, T, DIMS, NV, NH, NEG, BATCH = 5, 12, 3, 2, 4, 2, 2, 3, 4


class _ModelArgs:
    L, d, nh, nv, drop, ac_conv, ac_fc = L, DIMS, NH, NV, 0.0, "relu", "tanh"


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    activation_getter = {
        "iden": lambda x: x,
        "relu": F.relu,
        "tanh": torch.tanh,
        "sigm": torch.sigmoid,
    }

    class Caser(nn.Module):
        """
        Convolutional Sequence Embedding Recommendation Model (Caser)[1].
        """

        def __init__(self, num_users, num_items, model_args):  # noqa: ANN001
            super(Caser, self).__init__()  # noqa: UP008 (as in the repository)
            self.args = model_args

            # init args
            L = self.args.L  # noqa: N806
            dims = self.args.d
            self.n_h = self.args.nh
            self.n_v = self.args.nv
            self.drop_ratio = self.args.drop
            self.ac_conv = activation_getter[self.args.ac_conv]
            self.ac_fc = activation_getter[self.args.ac_fc]

            # user and item embeddings
            self.user_embeddings = nn.Embedding(num_users, dims)
            self.item_embeddings = nn.Embedding(num_items, dims)

            # vertical conv layer
            self.conv_v = nn.Conv2d(1, self.n_v, (L, 1))

            # horizontal conv layer
            lengths = [i + 1 for i in range(L)]
            self.conv_h = nn.ModuleList([nn.Conv2d(1, self.n_h, (i, dims)) for i in lengths])

            # fully-connected layer
            self.fc1_dim_v = self.n_v * dims
            self.fc1_dim_h = self.n_h * len(lengths)
            fc1_dim_in = self.fc1_dim_v + self.fc1_dim_h
            # W1, b1 can be encoded with nn.Linear
            self.fc1 = nn.Linear(fc1_dim_in, dims)
            # W2, b2 are encoded with nn.Embedding, as we don't directly compute
            # the final outputs.
            self.W2 = nn.Embedding(num_items, dims + dims)
            self.b2 = nn.Embedding(num_items, 1)

            # dropout
            self.dropout = nn.Dropout(self.drop_ratio)

            # weight initialization
            self.user_embeddings.weight.data.normal_(0, 1.0 / self.user_embeddings.embedding_dim)
            self.item_embeddings.weight.data.normal_(0, 1.0 / self.item_embeddings.embedding_dim)
            self.W2.weight.data.normal_(0, 1.0 / self.W2.embedding_dim)
            self.b2.weight.data.zero_()

            self.cache_x = None

        def forward(self, seq_var, user_var, item_var, for_pred=False):  # noqa: ANN001, ANN202
            # Embedding Look-up
            item_embs = self.item_embeddings(seq_var).unsqueeze(1)  # use unsqueeze() to get 4-D
            user_emb = self.user_embeddings(user_var).squeeze(1)

            # Convolutional Layers
            out, out_h, out_v = None, None, None
            # vertical conv layer
            if self.n_v:
                out_v = self.conv_v(item_embs)
                out_v = out_v.view(-1, self.fc1_dim_v)  # prepare for fully connect

            # horizontal conv layer
            out_hs = list()
            if self.n_h:
                for conv in self.conv_h:
                    conv_out = self.ac_conv(conv(item_embs).squeeze(3))
                    pool_out = F.max_pool1d(conv_out, conv_out.size(2)).squeeze(2)
                    out_hs.append(pool_out)
                out_h = torch.cat(out_hs, 1)  # prepare for fully connect

            # Fully-connected Layers
            out = torch.cat([out_v, out_h], 1)
            # apply dropout
            out = self.dropout(out)

            # fully-connected layer
            z = self.ac_fc(self.fc1(out))
            x = torch.cat([z, user_emb], 1)

            w2 = self.W2(item_var)
            b2 = self.b2(item_var)

            if for_pred:
                w2 = w2.squeeze()
                b2 = b2.squeeze()
                res = (x * w2).sum(1) + b2
            else:
                res = torch.baddbmm(b2, w2, x.unsqueeze(2)).squeeze()

            return res

    return Caser(USERS, ITEMS, _ModelArgs())


def _sequences(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user, sliding windows of ``L`` inputs and the next ``T`` targets."""
    users, seqs, targets = [], [], []
    for u in range(USERS):
        history = rng.integers(1, ITEMS, 8)
        for s in range(0, len(history) - L - T + 1, 2):
            users.append(u)
            seqs.append(history[s : s + L])
            targets.append(history[s + L : s + L + T])
    return np.array(users), np.array(seqs), np.array(targets)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    rng = np.random.default_rng(41)
    users_all, seqs_all, targets_all = _sequences(rng)

    def shuffle(*arrays):  # noqa: ANN002, ANN202
        shuffle_indices = rng.permutation(len(arrays[0]))
        if len(arrays) == 1:
            return arrays[0][shuffle_indices]
        else:
            return tuple(x[shuffle_indices] for x in arrays)

    def minibatch(*tensors, **kwargs):  # noqa: ANN002, ANN003, ANN202
        batch_size = kwargs.get("batch_size", 128)
        if len(tensors) == 1:
            tensor = tensors[0]
            for i in range(0, len(tensor), batch_size):
                yield tensor[i : i + batch_size]
        else:
            for i in range(0, len(tensors[0]), batch_size):
                yield tuple(x[i : i + batch_size] for x in tensors)

    def _generate_negative_samples(users, n):  # noqa: ANN001, ANN202
        negative_samples = np.zeros((users.shape[0], n), np.int64)
        for i, u in enumerate(users.squeeze()):
            seen = set(seqs_all[users_all == u].ravel()) | set(targets_all[users_all == u].ravel())
            candidates = np.array([j for j in range(1, ITEMS) if j not in seen])
            negative_samples[i] = rng.choice(candidates, n)
        return negative_samples

    optimizer = optim.Adam(net.parameters(), weight_decay=1e-6, lr=1e-2)
    values: list[float] = []
    for _epoch_num in range(2):
        # set model to training mode
        net.train()
        users_np = users_all.reshape(-1, 1)
        sequences_np, targets_np = seqs_all, targets_all
        negatives_np = _generate_negative_samples(users_np, n=NEG)
        users, sequences, targets, negatives = (
            torch.from_numpy(users_np).long(),
            torch.from_numpy(sequences_np).long(),
            torch.from_numpy(targets_np).long(),
            torch.from_numpy(negatives_np).long(),
        )
        users, sequences, targets, negatives = shuffle(users, sequences, targets, negatives)
        epoch_loss = 0.0
        batches = minibatch(users, sequences, targets, negatives, batch_size=BATCH)
        for minibatch_num, (  # noqa: B007 (read after the loop)
            batch_users, batch_sequences, batch_targets, batch_negatives,
        ) in enumerate(batches):  # fmt: skip
            items_to_predict = torch.cat((batch_targets, batch_negatives), 1)
            items_prediction = net(batch_sequences, batch_users, items_to_predict)
            (targets_prediction, negatives_prediction) = torch.split(
                items_prediction, [batch_targets.size(1), batch_negatives.size(1)], dim=1
            )
            optimizer.zero_grad()
            # compute the binary cross-entropy loss
            positive_loss = -torch.mean(torch.log(torch.sigmoid(targets_prediction)))
            negative_loss = -torch.mean(torch.log(1 - torch.sigmoid(negatives_prediction)))
            loss = positive_loss + negative_loss
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        epoch_loss /= minibatch_num + 1
        values.append(epoch_loss)

    def predict(user_id, item_ids=None):  # noqa: ANN001, ANN202
        # set model to evaluation model
        net.eval()
        with torch.no_grad():
            sequences_np = seqs_all[users_all == user_id][-1, :]
            sequences_np = np.atleast_2d(sequences_np)
            if item_ids is None:
                item_ids = np.arange(ITEMS).reshape(-1, 1)
            sequences = torch.from_numpy(sequences_np).long()
            item_ids = torch.from_numpy(item_ids).long()
            user_id = torch.from_numpy(np.array([[user_id]])).long()
            out = net(sequences, user_id, item_ids, for_pred=True)
        return out.cpu().numpy().flatten()

    for u in (0, 3):
        values.extend(predict(u).tolist())
    return values
