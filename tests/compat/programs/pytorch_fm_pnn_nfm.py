"""rixwew/pytorch-fm (``torchfm/layer.py``, ``torchfm/model/pnn.py``, ``torchfm/model/nfm.py``),
size-reduced: ``InnerProductNetwork`` (``torch.sum(x[:, row] * x[:, col], dim=2)`` over Python
index lists built with ``row.append(i), col.append(j)``); ``OuterProductNetwork`` with its
``'mat'``/``'vec'``/``'num'`` kernels (``torch.nn.Parameter(torch.zeros(kernel_shape))`` then
``torch.nn.init.xavier_uniform_(self.kernel.data)``, ``torch.sum(p.unsqueeze(1) * self.kernel,
dim=-1).permute(0, 2, 1)``, ``torch.sum(p * q * self.kernel.unsqueeze(0), -1)``, a
``ValueError('unknown kernel type: ' + kernel_type)``); ``MultiLayerPerceptron`` (``Linear``/
``BatchNorm1d``/``ReLU``/``Dropout(p=dropout)`` layers in an ``nn.Sequential(*layers)``);
``ProductNeuralNetworkModel`` (``torch.cat([embed_x.view(-1, self.embed_output_dim),
cross_term], dim=1)``, and a ``FeaturesLinear(field_dims, embed_dim)`` it builds but never
calls, so those parameters keep ``grad=None`` under ``Adam``); ``FactorizationMachine``
(``torch.sum(x, dim=1) ** 2 - torch.sum(x ** 2, dim=1)``, ``reduce_sum``) inside
``NeuralFactorizationMachineModel``'s ``torch.nn.Sequential(FactorizationMachine(
reduce_sum=False), torch.nn.BatchNorm1d(embed_dim), torch.nn.Dropout(dropouts[0]))``; the
``FeaturesEmbedding``/``FeaturesLinear`` offsets (``np.array((0, *np.cumsum(field_dims)[:-1]),
dtype=np.long)``, ``x.new_tensor(self.offsets).unsqueeze(0)``); ``examples/main.py``'s
``BCELoss``/``Adam(params=..., lr, weight_decay)`` loop.

Changed: the Criteo data is 40 seeded NumPy rows over 4 fields; ``np.long`` is ``np.int64``;
``embed_dim`` 16 -> 4, ``mlp_dims`` (16,) -> (8,); 2 epochs of 5 batches per model; no
eval-mode test predictions (the ``Linear`` bias before each ``BatchNorm1d`` gets a gradient of
rounding noise only, which ``Adam`` turns into lr-sized steps, so running means and eval outputs
of two implementations agree only to ~1e-3; the train-mode losses cancel that bias exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
FIELD_DIMS = (4, 3, 5, 2)


def _classes(torch_like: Any) -> dict[str, type]:
    torch = torch_like

    class FeaturesLinear(torch.nn.Module):
        def __init__(self, field_dims, output_dim=1):  # noqa: ANN001
            super().__init__()
            self.fc = torch.nn.Embedding(sum(field_dims), output_dim)
            self.bias = torch.nn.Parameter(torch.zeros((output_dim,)))
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return torch.sum(self.fc(x), dim=1) + self.bias

    class FeaturesEmbedding(torch.nn.Module):
        def __init__(self, field_dims, embed_dim):  # noqa: ANN001
            super().__init__()
            self.embedding = torch.nn.Embedding(sum(field_dims), embed_dim)
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)
            torch.nn.init.xavier_uniform_(self.embedding.weight.data)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return self.embedding(x)

    class FactorizationMachine(torch.nn.Module):
        def __init__(self, reduce_sum=True):  # noqa: ANN001
            super().__init__()
            self.reduce_sum = reduce_sum

        def forward(self, x):  # noqa: ANN001, ANN202
            square_of_sum = torch.sum(x, dim=1) ** 2
            sum_of_square = torch.sum(x**2, dim=1)
            ix = square_of_sum - sum_of_square
            if self.reduce_sum:
                ix = torch.sum(ix, dim=1, keepdim=True)
            return 0.5 * ix

    class MultiLayerPerceptron(torch.nn.Module):
        def __init__(self, input_dim, embed_dims, dropout, output_layer=True):  # noqa: ANN001
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

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.mlp(x)

    class InnerProductNetwork(torch.nn.Module):
        def forward(self, x):  # noqa: ANN001, ANN202
            num_fields = x.shape[1]
            row, col = list(), list()
            for i in range(num_fields - 1):
                for j in range(i + 1, num_fields):
                    row.append(i), col.append(j)
            return torch.sum(x[:, row] * x[:, col], dim=2)

    class OuterProductNetwork(torch.nn.Module):
        def __init__(self, num_fields, embed_dim, kernel_type="mat"):  # noqa: ANN001
            super().__init__()
            num_ix = num_fields * (num_fields - 1) // 2
            if kernel_type == "mat":
                kernel_shape = embed_dim, num_ix, embed_dim
            elif kernel_type == "vec":
                kernel_shape = num_ix, embed_dim
            elif kernel_type == "num":
                kernel_shape = num_ix, 1
            else:
                raise ValueError("unknown kernel type: " + kernel_type)
            self.kernel_type = kernel_type
            self.kernel = torch.nn.Parameter(torch.zeros(kernel_shape))
            torch.nn.init.xavier_uniform_(self.kernel.data)

        def forward(self, x):  # noqa: ANN001, ANN202
            num_fields = x.shape[1]
            row, col = list(), list()
            for i in range(num_fields - 1):
                for j in range(i + 1, num_fields):
                    row.append(i), col.append(j)
            p, q = x[:, row], x[:, col]
            if self.kernel_type == "mat":
                kp = torch.sum(p.unsqueeze(1) * self.kernel, dim=-1).permute(0, 2, 1)
                return torch.sum(kp * q, -1)
            else:
                return torch.sum(p * q * self.kernel.unsqueeze(0), -1)

    class ProductNeuralNetworkModel(torch.nn.Module):
        def __init__(self, field_dims, embed_dim, mlp_dims, dropout, method="inner",
                     kernel_type="mat"):  # noqa: ANN001 # fmt: skip
            super().__init__()
            num_fields = len(field_dims)
            if method == "inner":
                self.pn = InnerProductNetwork()
            elif method == "outer":
                self.pn = OuterProductNetwork(num_fields, embed_dim, kernel_type)
            else:
                raise ValueError("unknown product type: " + method)
            self.embedding = FeaturesEmbedding(field_dims, embed_dim)
            self.linear = FeaturesLinear(field_dims, embed_dim)
            self.embed_output_dim = num_fields * embed_dim
            self.mlp = MultiLayerPerceptron(
                num_fields * (num_fields - 1) // 2 + self.embed_output_dim, mlp_dims, dropout
            )

        def forward(self, x):  # noqa: ANN001, ANN202
            embed_x = self.embedding(x)
            cross_term = self.pn(embed_x)
            x = torch.cat([embed_x.view(-1, self.embed_output_dim), cross_term], dim=1)
            x = self.mlp(x)
            return torch.sigmoid(x.squeeze(1))

    class NeuralFactorizationMachineModel(torch.nn.Module):
        def __init__(self, field_dims, embed_dim, mlp_dims, dropouts):  # noqa: ANN001
            super().__init__()
            self.embedding = FeaturesEmbedding(field_dims, embed_dim)
            self.linear = FeaturesLinear(field_dims)
            self.fm = torch.nn.Sequential(
                FactorizationMachine(reduce_sum=False),
                torch.nn.BatchNorm1d(embed_dim),
                torch.nn.Dropout(dropouts[0]),
            )
            self.mlp = MultiLayerPerceptron(embed_dim, mlp_dims, dropouts[1])

        def forward(self, x):  # noqa: ANN001, ANN202
            cross_term = self.fm(self.embedding(x))
            x = self.linear(x) + self.mlp(cross_term)
            return torch.sigmoid(x.squeeze(1))

    return {
        "pnn": ProductNeuralNetworkModel,
        "nfm": NeuralFactorizationMachineModel,
        "fm": FactorizationMachine,
    }


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["pnn"](FIELD_DIMS, 4, mlp_dims=(8,), dropout=0.2, method="outer")


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(8)
    n = 40
    fields = np.stack([rng.integers(0, d, n) for d in FIELD_DIMS], axis=1)
    target = ((fields[:, 0] * fields[:, 2]) % 3 == 0).astype(np.float32)
    dataset = torch.utils.data.TensorDataset(torch.tensor(fields), torch.tensor(target))
    classes = _classes(torch_like)
    values: list[float] = []
    builders = [
        ("outer-mat", lambda: make_model(torch_like)),
        ("inner", lambda: classes["pnn"](FIELD_DIMS, 4, mlp_dims=(8,), dropout=0.2)),
        ("outer-vec", lambda: classes["pnn"](FIELD_DIMS, 4, (8,), 0.2, "outer", "vec")),
        ("outer-num", lambda: classes["pnn"](FIELD_DIMS, 4, (8,), 0.2, "outer", "num")),
        ("nfm", lambda: classes["nfm"](FIELD_DIMS, 4, mlp_dims=(8,), dropouts=(0.2, 0.2))),
    ]
    for name, build in builders:
        torch.manual_seed(0)
        model = build()
        if name == "outer-mat":
            load_numpy_state(torch_like, model, init)
        loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
        criterion = torch.nn.BCELoss()
        optimizer = torch.optim.Adam(params=model.parameters(), lr=0.01, weight_decay=1e-6)
        for _epoch in range(2):
            model.train()
            total_loss = 0.0
            for fields_, target_ in loader:
                y = model(fields_)
                loss = criterion(y, target_.float())
                model.zero_grad()
                loss.backward()
                optimizer.step()
                total_loss += loss.item()
            values.append(total_loss)
        # (no eval-mode predictions: the Linear bias before each BatchNorm1d has a gradient of
        # rounding noise only, which Adam scales up to full lr-sized steps, so running_mean
        # and eval outputs agree between two implementations only to ~1e-3)
        values.append(float(model.training))
        if name.startswith("outer") or name == "inner":
            values.append(float(model.linear.fc.weight.grad is None))
    fm = classes["fm"]()
    values += (
        fm(torch.tensor(rng.standard_normal((2, 3, 4)), dtype=torch.float32)).flatten().tolist()
    )
    try:
        classes["pnn"](FIELD_DIMS, 4, (8,), 0.2, method="cross")
    except ValueError as exc:
        values.append(float(str(exc) == "unknown product type: cross"))
    return values
