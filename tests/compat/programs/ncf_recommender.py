"""Neural collaborative filtering (He et al. 2017: GMF, MLP and NeuMF) as guoyang9/NCF writes
it (``model.py``, ``data_utils.py``, ``evaluate.py``, ``main.py``), size-reduced.

The idioms: ``NCF.__init__`` (four ``nn.Embedding`` tables, the MLP tower built in a loop of
``nn.Dropout(p=self.dropout)``, ``nn.Linear(input_size, input_size // 2)``, ``nn.ReLU()``
into ``nn.Sequential(*MLP_modules)``, ``predict_size = factor_num * 2`` for NeuMF);
``_init_weight_`` (``nn.init.normal_(self.embed_user_GMF.weight, std=0.01)``,
``nn.init.xavier_uniform_(m.weight)`` over ``self.MLP_layers``, ``nn.init.kaiming_uniform_(
self.predict_layer.weight, a=1, nonlinearity='sigmoid')``, ``m.bias.data.zero_()`` over
``self.modules()``; and the ``NeuMF-pre`` branch copying pretrained GMF and MLP weights with
``weight.data.copy_(...)``, ``zip(self.MLP_layers, self.MLP_model.MLP_layers)``,
``torch.cat([self.GMF_model.predict_layer.weight, self.MLP_model.predict_layer.weight],
dim=1)`` and ``0.5 * predict_weight``); ``forward`` (``embed_user_GMF * embed_item_GMF``,
``torch.cat((embed_user_MLP, embed_item_MLP), -1)``, ``torch.cat((output_GMF, output_MLP),
-1)``, ``prediction.view(-1)``); ``NCFData`` (a ``data.Dataset`` whose ``ng_sample`` draws
negatives against a ``dok_matrix``-style set, ``features_fill``, ``labels_fill``) through
``data.DataLoader(batch_size=..., shuffle=False)``; ``main.py``'s loop (``nn.BCEWithLogitsLoss()``,
``optim.Adam`` and, for ``NeuMF-pre``, ``optim.SGD``; ``label.float()``; ``model.zero_grad()``;
``model.train()`` / ``model.eval()``); and ``evaluate.metrics`` (leave-one-out: one test item
and 99 -> 9 negatives per user, ``_, indices = torch.topk(predictions, top_k)``,
``recommends = torch.take(item, indices).cpu().numpy().tolist()``, ``gt_item = item[0].item()``,
``hit`` by ``gt_item in pred_items`` and ``ndcg`` as ``np.reciprocal(np.log2(index + 2))``,
``np.mean(HR), np.mean(NDCG)``).

Changed: MovieLens -> 12 users and 20 items drawn from NumPy, ``factor_num = 4``, two MLP
layers, one negative per positive, dropout 0; the negatives come from NumPy as the
repository's ``np.random.randint`` draws them. Float32, the repository's dtype, in which
``label.float()`` is the model's own dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"

USERS, ITEMS, FACTOR, LAYERS, NUM_NG, TEST_NG, TOP_K, BATCH, EPOCHS = 12, 20, 4, 2, 1, 9, 3, 16, 2


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    data = torch_like.utils.data

    class NCF(nn.Module):
        def __init__(
            self,
            user_num: int,
            item_num: int,
            factor_num: int,
            num_layers: int,
            dropout: float,
            model: str,
            GMF_model: Any = None,
            MLP_model: Any = None,
        ) -> None:
            super().__init__()
            self.dropout = dropout
            self.model = model
            self.GMF_model = GMF_model
            self.MLP_model = MLP_model

            self.embed_user_GMF = nn.Embedding(user_num, factor_num)
            self.embed_item_GMF = nn.Embedding(item_num, factor_num)
            self.embed_user_MLP = nn.Embedding(user_num, factor_num * (2 ** (num_layers - 1)))
            self.embed_item_MLP = nn.Embedding(item_num, factor_num * (2 ** (num_layers - 1)))

            MLP_modules = []
            for i in range(num_layers):
                input_size = factor_num * (2 ** (num_layers - i))
                MLP_modules.append(nn.Dropout(p=self.dropout))
                MLP_modules.append(nn.Linear(input_size, input_size // 2))
                MLP_modules.append(nn.ReLU())
            self.MLP_layers = nn.Sequential(*MLP_modules)

            if self.model in ["MLP", "GMF"]:
                predict_size = factor_num
            else:
                predict_size = factor_num * 2
            self.predict_layer = nn.Linear(predict_size, 1)
            self._init_weight_()

        def _init_weight_(self) -> None:
            if not self.model == "NeuMF-pre":
                nn.init.normal_(self.embed_user_GMF.weight, std=0.01)
                nn.init.normal_(self.embed_user_MLP.weight, std=0.01)
                nn.init.normal_(self.embed_item_GMF.weight, std=0.01)
                nn.init.normal_(self.embed_item_MLP.weight, std=0.01)
                for m in self.MLP_layers:
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)
                nn.init.kaiming_uniform_(self.predict_layer.weight, a=1, nonlinearity="sigmoid")
                for m in self.modules():
                    if isinstance(m, nn.Linear) and m.bias is not None:
                        m.bias.data.zero_()
            else:
                self.embed_user_GMF.weight.data.copy_(self.GMF_model.embed_user_GMF.weight)
                self.embed_item_GMF.weight.data.copy_(self.GMF_model.embed_item_GMF.weight)
                self.embed_user_MLP.weight.data.copy_(self.MLP_model.embed_user_MLP.weight)
                self.embed_item_MLP.weight.data.copy_(self.MLP_model.embed_item_MLP.weight)
                for m1, m2 in zip(self.MLP_layers, self.MLP_model.MLP_layers):
                    if isinstance(m1, nn.Linear) and isinstance(m2, nn.Linear):
                        m1.weight.data.copy_(m2.weight)
                        m1.bias.data.copy_(m2.bias)
                predict_weight = torch.cat(
                    [self.GMF_model.predict_layer.weight, self.MLP_model.predict_layer.weight],
                    dim=1,
                )
                precit_bias = self.GMF_model.predict_layer.bias + self.MLP_model.predict_layer.bias
                self.predict_layer.weight.data.copy_(0.5 * predict_weight)
                self.predict_layer.bias.data.copy_(0.5 * precit_bias)

        def forward(self, user: Any, item: Any) -> Any:
            if not self.model == "MLP":
                embed_user_GMF = self.embed_user_GMF(user)
                embed_item_GMF = self.embed_item_GMF(item)
                output_GMF = embed_user_GMF * embed_item_GMF
            if not self.model == "GMF":
                embed_user_MLP = self.embed_user_MLP(user)
                embed_item_MLP = self.embed_item_MLP(item)
                interaction = torch.cat((embed_user_MLP, embed_item_MLP), -1)
                output_MLP = self.MLP_layers(interaction)
            if self.model == "GMF":
                concat = output_GMF
            elif self.model == "MLP":
                concat = output_MLP
            else:
                concat = torch.cat((output_GMF, output_MLP), -1)
            prediction = self.predict_layer(concat)
            return prediction.view(-1)

    class NCFData(data.Dataset):
        def __init__(
            self,
            features: list,
            num_item: int,
            train_mat: Any = None,
            num_ng: int = 0,
            is_training: Any = None,
            rng: Any = None,
        ) -> None:
            super().__init__()
            self.features_ps = features
            self.num_item = num_item
            self.train_mat = train_mat
            self.num_ng = num_ng
            self.is_training = is_training
            self.labels = [0 for _ in range(len(features))]
            self.rng = rng

        def ng_sample(self) -> None:
            assert self.is_training, "no need to sampling when testing"
            self.features_ng = []
            for x in self.features_ps:
                u = x[0]
                for _t in range(self.num_ng):
                    j = int(self.rng.integers(self.num_item))
                    while (u, j) in self.train_mat:
                        j = int(self.rng.integers(self.num_item))
                    self.features_ng.append([u, j])
            labels_ps = [1 for _ in range(len(self.features_ps))]
            labels_ng = [0 for _ in range(len(self.features_ng))]
            self.features_fill = self.features_ps + self.features_ng
            self.labels_fill = labels_ps + labels_ng

        def __len__(self) -> int:
            return (self.num_ng + 1) * len(self.labels)

        def __getitem__(self, idx: int) -> tuple[int, int, int]:
            features = self.features_fill if self.is_training else self.features_ps
            labels = self.labels_fill if self.is_training else self.labels
            user = features[idx][0]
            item = features[idx][1]
            label = labels[idx]
            return user, item, label

    return NCF, NCFData


def make_model(torch_like: Any) -> Any:
    NCF, _ = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "GMF": NCF(USERS, ITEMS, FACTOR, LAYERS, 0.0, "GMF"),
            "MLP": NCF(USERS, ITEMS, FACTOR, LAYERS, 0.0, "MLP"),
            "NeuMF": NCF(USERS, ITEMS, FACTOR, LAYERS, 0.0, "NeuMF-end"),
        }
    )


def hit(gt_item: int, pred_items: list) -> int:
    if gt_item in pred_items:
        return 1
    return 0


def ndcg(gt_item: int, pred_items: list) -> float:
    if gt_item in pred_items:
        index = pred_items.index(gt_item)
        return np.reciprocal(np.log2(index + 2))
    return 0


def metrics(torch_like: Any, model: Any, test_loader: Any, top_k: int) -> tuple[float, float]:
    torch = torch_like
    HR, NDCG = [], []
    for user, item, _label in test_loader:
        predictions = model(user, item)
        _, indices = torch.topk(predictions, top_k)
        recommends = torch.take(item, indices).cpu().numpy().tolist()
        gt_item = item[0].item()
        HR.append(hit(gt_item, recommends))
        NDCG.append(ndcg(gt_item, recommends))
    return np.mean(HR), np.mean(NDCG)


def _data(rng: np.random.Generator) -> tuple[list, set, list]:
    """Each user's positives (the last one held out) and 9 unseen items to rank it against."""
    train, test = [], []
    for u in range(USERS):
        items = rng.choice(ITEMS, 5, replace=False).tolist()
        train += [[u, i] for i in items[:-1]]
        test.append([u, items[-1]])
    train_mat = {(u, i) for u, i in train}
    test_rows = []
    for u, gt in test:
        seen = {i for uu, i in train if uu == u} | {gt}
        negatives = rng.choice([i for i in range(ITEMS) if i not in seen], TEST_NG, replace=False)
        test_rows += [[u, gt]] + [[u, int(j)] for j in negatives]
    return train, train_mat, test_rows


def train(torch_like: Any, model: Any, optimizer: Any, loader: Any, values: list) -> None:
    nn = torch_like.nn
    loss_function = nn.BCEWithLogitsLoss()
    for _epoch in range(EPOCHS):
        model.train()
        loader.dataset.ng_sample()
        for user, item, label in loader:
            label = label.float()
            model.zero_grad()
            prediction = model(user, item)
            loss = loss_function(prediction, label)
            loss.backward()
            optimizer.step()
            values.append(loss.item())


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    data = torch_like.utils.data
    optim = torch_like.optim
    NCF, NCFData = _classes(torch_like)
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(5)
    train_data, train_mat, test_rows = _data(rng)
    test_dataset = NCFData(test_rows, ITEMS, train_mat, 0, False)
    test_loader = data.DataLoader(test_dataset, batch_size=TEST_NG + 1, shuffle=False)
    values: list[float] = []
    for name in ("GMF", "MLP", "NeuMF"):
        model = models[name]
        dataset = NCFData(train_data, ITEMS, train_mat, NUM_NG, True, np.random.default_rng(9))
        loader = data.DataLoader(dataset, batch_size=BATCH, shuffle=False, num_workers=0)
        train(torch_like, model, optim.Adam(model.parameters(), lr=0.05), loader, values)
        model.eval()
        HR, NDCG = metrics(torch_like, model, test_loader, TOP_K)
        values += [HR, NDCG]

    pre = NCF(USERS, ITEMS, FACTOR, LAYERS, 0.0, "NeuMF-pre", models["GMF"], models["MLP"])
    values += pre.predict_layer.weight.flatten().tolist() + pre.predict_layer.bias.tolist()
    dataset = NCFData(train_data, ITEMS, train_mat, NUM_NG, True, np.random.default_rng(9))
    loader = data.DataLoader(dataset, batch_size=BATCH, shuffle=False)
    train(torch_like, pre, optim.SGD(pre.parameters(), lr=0.1), loader, values)
    pre.eval()
    with torch.no_grad():
        HR, NDCG = metrics(torch_like, pre, test_loader, TOP_K)
        user = as_tensor(torch_like, np.zeros(ITEMS, dtype=np.int64))
        scores = torch.sigmoid(pre(user, torch.arange(ITEMS)))
    values += [HR, NDCG] + scores.tolist()
    return values
