"""rixwew/pytorch-fm (``torchfm/layer.py``, ``torchfm/model/ffm.py``, ``torchfm/model/afm.py``,
``examples/main.py``), size-reduced: ``FeaturesLinear`` (an ``Embedding(sum(field_dims),
output_dim)`` plus a ``torch.nn.Parameter(torch.zeros((output_dim,)))`` bias, the field offsets
``np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.long)`` added with ``x +
x.new_tensor(self.offsets).unsqueeze(0)``); ``FieldAwareFactorizationMachine`` (one
``Embedding`` per field in a ``torch.nn.ModuleList``, ``torch.nn.init.xavier_uniform_(
embedding.weight.data)``, the pairwise ``xs[j][:, i] * xs[i][:, j]`` stacked with
``torch.stack(ix, dim=1)``) and its model's ``torch.sum(torch.sum(self.ffm(x), dim=1), dim=1,
keepdim=True)`` and ``torch.sigmoid(x.squeeze(1))``; ``FeaturesEmbedding`` and the
``AttentionalFactorizationMachine`` (``p, q = x[:, row], x[:, col]`` with Python index lists,
``F.relu(self.attention(inner_product))``, ``F.softmax(self.projection(attn_scores), dim=1)``,
``F.dropout(..., p=self.dropouts[0], training=self.training)``); ``examples/main.py``'s
``torch.utils.data.random_split(dataset, (train_length, valid_length, test_length))``, the
``DataLoader``s, ``torch.nn.BCELoss()``, ``torch.optim.Adam(params=model.parameters(),
lr=learning_rate, weight_decay=weight_decay)``, ``model.zero_grad()``/``loss.backward()``/
``optimizer.step()``, ``EarlyStopper`` saving the best model, and ``test`` collecting
``y.tolist()`` under ``torch.no_grad()`` for an AUC.

Changed: the Criteo/MovieLens datasets are a seeded NumPy ``Dataset`` of 48 rows over 4 fields;
``np.long`` (removed from NumPy) is ``np.int64``; ``embed_dim`` 4, 3 epochs; sklearn's
``roc_auc_score`` is a NumPy rank AUC; ``torch.save(model, save_path)`` is a ``state_dict``
copy held in memory.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
FIELD_DIMS = (3, 5, 2, 4)


def _classes(torch_like: Any) -> dict[str, type]:
    torch = torch_like
    F = torch.nn.functional

    class FeaturesLinear(torch.nn.Module):
        def __init__(self, field_dims, output_dim=1):  # noqa: ANN001
            super().__init__()
            self.fc = torch.nn.Embedding(sum(field_dims), output_dim)
            self.bias = torch.nn.Parameter(torch.zeros((output_dim,)))
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)

        def forward(self, x: Any) -> Any:
            """
            :param x: Long tensor of size ``(batch_size, num_fields)``
            """
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return torch.sum(self.fc(x), dim=1) + self.bias

    class FeaturesEmbedding(torch.nn.Module):
        def __init__(self, field_dims, embed_dim):  # noqa: ANN001
            super().__init__()
            self.embedding = torch.nn.Embedding(sum(field_dims), embed_dim)
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)
            torch.nn.init.xavier_uniform_(self.embedding.weight.data)

        def forward(self, x: Any) -> Any:
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return self.embedding(x)

    class FieldAwareFactorizationMachine(torch.nn.Module):
        def __init__(self, field_dims, embed_dim):  # noqa: ANN001
            super().__init__()
            self.num_fields = len(field_dims)
            self.embeddings = torch.nn.ModuleList(
                [torch.nn.Embedding(sum(field_dims), embed_dim) for _ in range(self.num_fields)]
            )
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)
            for embedding in self.embeddings:
                torch.nn.init.xavier_uniform_(embedding.weight.data)

        def forward(self, x: Any) -> Any:
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            xs = [self.embeddings[i](x) for i in range(self.num_fields)]
            ix = list()
            for i in range(self.num_fields - 1):
                for j in range(i + 1, self.num_fields):
                    ix.append(xs[j][:, i] * xs[i][:, j])
            ix = torch.stack(ix, dim=1)
            return ix

    class FieldAwareFactorizationMachineModel(torch.nn.Module):
        """
        A pytorch implementation of Field-aware Factorization Machine.
        """

        def __init__(self, field_dims, embed_dim):  # noqa: ANN001
            super().__init__()
            self.linear = FeaturesLinear(field_dims)
            self.ffm = FieldAwareFactorizationMachine(field_dims, embed_dim)

        def forward(self, x: Any) -> Any:
            ffm_term = torch.sum(torch.sum(self.ffm(x), dim=1), dim=1, keepdim=True)
            x = self.linear(x) + ffm_term
            return torch.sigmoid(x.squeeze(1))

    class AttentionalFactorizationMachine(torch.nn.Module):
        def __init__(self, embed_dim, attn_size, dropouts):  # noqa: ANN001
            super().__init__()
            self.attention = torch.nn.Linear(embed_dim, attn_size)
            self.projection = torch.nn.Linear(attn_size, 1)
            self.fc = torch.nn.Linear(embed_dim, 1)
            self.dropouts = dropouts

        def forward(self, x: Any) -> Any:
            num_fields = x.shape[1]
            row, col = list(), list()
            for i in range(num_fields - 1):
                for j in range(i + 1, num_fields):
                    row.append(i), col.append(j)
            p, q = x[:, row], x[:, col]
            inner_product = p * q
            attn_scores = F.relu(self.attention(inner_product))
            attn_scores = F.softmax(self.projection(attn_scores), dim=1)
            attn_scores = F.dropout(attn_scores, p=self.dropouts[0], training=self.training)
            attn_output = torch.sum(attn_scores * inner_product, dim=1)
            attn_output = F.dropout(attn_output, p=self.dropouts[1], training=self.training)
            return self.fc(attn_output)

    class AttentionalFactorizationMachineModel(torch.nn.Module):
        def __init__(self, field_dims, embed_dim, attn_size, dropouts):  # noqa: ANN001
            super().__init__()
            self.num_fields = len(field_dims)
            self.embedding = FeaturesEmbedding(field_dims, embed_dim)
            self.linear = FeaturesLinear(field_dims)
            self.afm = AttentionalFactorizationMachine(embed_dim, attn_size, dropouts)

        def forward(self, x: Any) -> Any:
            x = self.linear(x) + self.afm(self.embedding(x))
            return torch.sigmoid(x.squeeze(1))

    return {
        "ffm": FieldAwareFactorizationMachineModel,
        "afm": AttentionalFactorizationMachineModel,
    }


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["ffm"](FIELD_DIMS, embed_dim=4)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(p, kind="stable")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    n_pos = y.sum()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos)))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(41)
    n = 48
    fields = np.stack([rng.integers(0, d, n) for d in FIELD_DIMS], axis=1)
    target = ((fields[:, 0] + fields[:, 1]) % 2 == 0).astype(np.float32)

    class ToyDataset(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.items = fields
            self.targets = target
            self.field_dims = np.max(self.items, axis=0) + 1

        def __len__(self) -> int:
            return self.targets.shape[0]

        def __getitem__(self, index: int) -> tuple[Any, Any]:
            return self.items[index], self.targets[index]

    class EarlyStopper(object):  # noqa: UP004
        def __init__(self, num_trials, save_path):  # noqa: ANN001
            self.num_trials = num_trials
            self.trial_counter = 0
            self.best_accuracy = 0
            self.save_path = save_path

        def is_continuable(self, model, accuracy):  # noqa: ANN001, ANN201
            if accuracy > self.best_accuracy:
                self.best_accuracy = accuracy
                self.trial_counter = 0
                self.save_path["model"] = copy.deepcopy(model.state_dict())
                return True
            elif self.trial_counter + 1 < self.num_trials:
                self.trial_counter += 1
                return True
            else:
                return False

    def train(model, optimizer, data_loader, criterion):  # noqa: ANN001, ANN202
        model.train()
        total_loss = 0
        for fields_, target_ in data_loader:
            y = model(fields_)
            loss = criterion(y, target_.float())
            model.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
        return total_loss

    def test(model, data_loader):  # noqa: ANN001, ANN202
        model.eval()
        targets, predicts = list(), list()
        with torch.no_grad():
            for fields_, target_ in data_loader:
                y = model(fields_)
                targets.extend(target_.tolist())
                predicts.extend(y.tolist())
        return _auc(np.array(targets), np.array(predicts)), predicts

    values: list[float] = []
    classes = _classes(torch_like)
    for name in ("ffm", "afm"):
        torch.manual_seed(0)
        dataset = ToyDataset()
        train_length = int(len(dataset) * 0.8)
        valid_length = int(len(dataset) * 0.1)
        test_length = len(dataset) - train_length - valid_length
        train_dataset, valid_dataset, test_dataset = torch.utils.data.random_split(
            dataset, (train_length, valid_length, test_length)
        )
        train_data_loader = torch.utils.data.DataLoader(train_dataset, batch_size=8)
        valid_data_loader = torch.utils.data.DataLoader(valid_dataset, batch_size=8)
        test_data_loader = torch.utils.data.DataLoader(test_dataset, batch_size=8)
        if name == "ffm":
            model = make_model(torch_like)
            load_numpy_state(torch_like, model, init)
        else:
            model = classes["afm"](dataset.field_dims, embed_dim=4, attn_size=4,
                                   dropouts=(0.2, 0.2))  # fmt: skip
        criterion = torch.nn.BCELoss()
        optimizer = torch.optim.Adam(params=model.parameters(), lr=0.05, weight_decay=1e-6)
        saved: dict = {}
        early_stopper = EarlyStopper(num_trials=2, save_path=saved)
        for _epoch_i in range(3):
            values.append(train(model, optimizer, train_data_loader, criterion))
            auc, _ = test(model, valid_data_loader)
            values.append(auc)
            if not early_stopper.is_continuable(model, auc):
                break
        if "model" in saved:
            model.load_state_dict(saved["model"])
        auc, predicts = test(model, test_data_loader)
        values += [auc, *predicts, len(train_dataset)]
    return values
