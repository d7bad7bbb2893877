"""Click-through-rate models as rixwew/pytorch-fm writes them (``torchfm/layer.py``,
``torchfm/model/dfm.py``, ``wd.py`` and ``examples/main.py``), size-reduced: DeepFM and
Wide&Deep on a toy categorical data set.

The idioms: ``FeaturesEmbedding`` with one ``torch.nn.Embedding(sum(field_dims), embed_dim)``
for every field and NumPy offsets (``np.array((0, *np.cumsum(field_dims)[:-1]))``) added with
``x + x.new_tensor(self.offsets).unsqueeze(0)``, initialised by
``torch.nn.init.xavier_uniform_(self.embedding.weight.data)``; ``FeaturesLinear`` (an
``Embedding(sum(field_dims), 1)`` summed over fields plus ``nn.Parameter(torch.zeros((
output_dim,)))``); ``FactorizationMachine``'s second-order term ``square_of_sum =
torch.sum(x, dim=1) ** 2``, ``sum_of_square = torch.sum(x ** 2, dim=1)``, ``0.5 *
torch.sum(ix, dim=1, keepdim=True)``; ``MultiLayerPerceptron`` built as a list of
``Linear``/``BatchNorm1d``/``ReLU``/``Dropout`` unpacked into ``nn.Sequential(*layers)``;
``embed_x.view(-1, self.embed_output_dim)``; the training loop over a ``DataLoader`` of a
``TensorDataset`` (``model.zero_grad()``, ``criterion(y, target.float())``) with
``torch.optim.Adam(params=..., lr=..., weight_decay=...)``; the evaluation loop collecting
``targets.extend(target.tolist())`` / ``predicts.extend(y.tolist())`` under ``torch.no_grad()``.
DeepFM returns logits for ``nn.BCEWithLogitsLoss`` (as the ports that fuse the sigmoid do);
Wide&Deep keeps pytorch-fm's ``torch.sigmoid(x.squeeze(1))`` with ``nn.BCELoss``. The AUC,
which pytorch-fm takes from scikit-learn, is computed by ranking: ``torch.argsort`` of the
scores, ranks scattered back with ``ranks[order] = torch.arange(1, n + 1)``, and the
Mann-Whitney statistic over the positives.

Deviation: dropout is kept as modules with ``p=0`` (random masks cannot agree between two
frameworks); the data loader does not shuffle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # pytorch-fm trains in float32: ``target.float()`` must match the scores

FIELD_DIMS = (5, 3, 7, 4)
EMBED_DIM, MLP_DIMS, DROPOUT = 4, (16, 8), 0.0
N_SAMPLES, BATCH, EPOCHS = 48, 16, 2


def make_model(torch_like: Any) -> Any:
    torch = torch_like

    class FeaturesLinear(torch.nn.Module):
        def __init__(self, field_dims: tuple, output_dim: int = 1) -> None:
            super().__init__()
            self.fc = torch.nn.Embedding(sum(field_dims), output_dim)
            self.bias = torch.nn.Parameter(torch.zeros((output_dim,)))
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)

        def forward(self, x: Any) -> Any:
            """:param x: Long tensor of size ``(batch_size, num_fields)``"""
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return torch.sum(self.fc(x), dim=1) + self.bias

    class FeaturesEmbedding(torch.nn.Module):
        def __init__(self, field_dims: tuple, embed_dim: int) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(sum(field_dims), embed_dim)
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)
            torch.nn.init.xavier_uniform_(self.embedding.weight.data)

        def forward(self, x: Any) -> Any:
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return self.embedding(x)

    class FactorizationMachine(torch.nn.Module):
        def __init__(self, reduce_sum: bool = True) -> None:
            super().__init__()
            self.reduce_sum = reduce_sum

        def forward(self, x: Any) -> Any:
            """:param x: Float tensor of size ``(batch_size, num_fields, embed_dim)``"""
            square_of_sum = torch.sum(x, dim=1) ** 2
            sum_of_square = torch.sum(x**2, dim=1)
            ix = square_of_sum - sum_of_square
            if self.reduce_sum:
                ix = torch.sum(ix, dim=1, keepdim=True)
            return 0.5 * ix

    class MultiLayerPerceptron(torch.nn.Module):
        def __init__(
            self, input_dim: int, embed_dims: tuple, dropout: float, output_layer: bool = True
        ) -> None:
            super().__init__()
            layers = list()
            for embed_dim in embed_dims:
                layers.append(torch.nn.Linear(input_dim, embed_dim))
                layers.append(torch.nn.BatchNorm1d(embed_dim))
                layers.append(torch.nn.ReLU())
                layers.append(torch.nn.Dropout(p=dropout))
                input_dim = embed_dim
            if output_layer:
                layers.append(torch.nn.Linear(input_dim, 1))
            self.mlp = torch.nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return self.mlp(x)

    class DeepFactorizationMachineModel(torch.nn.Module):
        def __init__(
            self, field_dims: tuple, embed_dim: int, mlp_dims: tuple, dropout: float
        ) -> None:
            super().__init__()
            self.linear = FeaturesLinear(field_dims)
            self.fm = FactorizationMachine(reduce_sum=True)
            self.embedding = FeaturesEmbedding(field_dims, embed_dim)
            self.embed_output_dim = len(field_dims) * embed_dim
            self.mlp = MultiLayerPerceptron(self.embed_output_dim, mlp_dims, dropout)

        def forward(self, x: Any) -> Any:
            embed_x = self.embedding(x)
            x = (
                self.linear(x)
                + self.fm(embed_x)
                + self.mlp(embed_x.view(-1, self.embed_output_dim))
            )
            return x.squeeze(1)

    class WideAndDeepModel(torch.nn.Module):
        def __init__(
            self, field_dims: tuple, embed_dim: int, mlp_dims: tuple, dropout: float
        ) -> None:
            super().__init__()
            self.linear = FeaturesLinear(field_dims)
            self.embedding = FeaturesEmbedding(field_dims, embed_dim)
            self.embed_output_dim = len(field_dims) * embed_dim
            self.mlp = MultiLayerPerceptron(self.embed_output_dim, mlp_dims, dropout)

        def forward(self, x: Any) -> Any:
            embed_x = self.embedding(x)
            x = self.linear(x) + self.mlp(embed_x.view(-1, self.embed_output_dim))
            return torch.sigmoid(x.squeeze(1))

    class Models(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dfm = DeepFactorizationMachineModel(FIELD_DIMS, EMBED_DIM, MLP_DIMS, DROPOUT)
            self.wd = WideAndDeepModel(FIELD_DIMS, EMBED_DIM, MLP_DIMS, DROPOUT)

    return Models()


def rank_auc(torch_like: Any, targets: list, predicts: list) -> float:
    """ROC AUC as the Mann-Whitney statistic: the positives' mean rank among all scores."""
    torch = torch_like
    y = torch.tensor(targets)
    p = torch.tensor(predicts)
    n = p.numel()
    order = torch.argsort(p)
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(1, n + 1)
    pos = y == 1
    n_pos = pos.sum()
    n_neg = n - n_pos
    auc = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return auc.item()


def train(torch_like: Any, model: Any, optimizer: Any, data_loader: Any, criterion: Any) -> list:
    model.train()
    losses = []
    for fields, target in data_loader:
        y = model(fields)
        loss = criterion(y, target.float())
        model.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test(torch_like: Any, model: Any, data_loader: Any, logits: bool) -> float:
    torch = torch_like
    model.eval()
    targets, predicts = list(), list()
    with torch.no_grad():
        for fields, target in data_loader:
            y = model(fields)
            if logits:
                y = torch.sigmoid(y)
            targets.extend(target.tolist())
            predicts.extend(y.tolist())
    return rank_auc(torch, targets, predicts)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    fields = np.stack([rng.integers(0, d, N_SAMPLES) for d in FIELD_DIMS], axis=1)
    logits = (fields[:, 0] == 1) * 1.5 - (fields[:, 2] > 3) + 0.3 * rng.standard_normal(N_SAMPLES)
    labels = (logits > 0).astype(np.int64)
    dataset = torch.utils.data.TensorDataset(as_tensor(torch, fields), as_tensor(torch, labels))
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=False)
    models = make_model(torch)
    load_numpy_state(torch, models, init)
    values: list[float] = [float(labels.mean())]

    for model, criterion, is_logits in (
        (models.dfm, torch.nn.BCEWithLogitsLoss(), True),
        (models.wd, torch.nn.BCELoss(), False),
    ):
        optimizer = torch.optim.Adam(params=model.parameters(), lr=0.02, weight_decay=1e-6)
        values += [test(torch, model, loader, is_logits)]
        for _ in range(EPOCHS):
            values += train(torch, model, optimizer, loader, criterion)
            values += [test(torch, model, loader, is_logits)]
        # a Linear's bias before BatchNorm gets a gradient of rounding noise only (the batch
        # mean removes it), which Adam scales up to full steps: left out of the comparison
        values += [
            p.abs().sum().item()
            for name, p in model.named_parameters()
            if name not in ("mlp.mlp.0.bias", "mlp.mlp.4.bias")
        ]

    # the FM identity: 0.5 * (sum^2 - sum of squares) is the sum over field pairs <v_i, v_j>
    embed = models.dfm.embedding(as_tensor(torch, fields[:4]))
    fm = models.dfm.fm(embed)
    pairs = sum(
        (embed[:, i] * embed[:, j]).sum(1, keepdim=True)
        for i in range(len(FIELD_DIMS))
        for j in range(i + 1, len(FIELD_DIMS))
    )
    values += fm.flatten().tolist() + [(fm - pairs).abs().max().item() < 1e-5]
    values += [float(models.dfm.linear.offsets.tolist() == [0, 5, 8, 15])]
    values += [models.dfm.mlp.mlp[1].running_var.sum().item()]
    values += [float(models.dfm.mlp.mlp[1].num_batches_tracked.item())]
    return values
