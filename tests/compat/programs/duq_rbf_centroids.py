"""Deterministic Uncertainty Quantification (van Amersfoort et al. 2020) as
y0ast/deterministic-uncertainty-quantification writes it for the two-moons experiment
(``two_moons.ipynb``: ``Model_bilinear``, ``calc_gradient_penalty``, ``step``, ``eval_step``),
size-reduced, with the ignite ``Engine`` loop written out as plain loops.

Kept verbatim: ``Model_bilinear`` with ``self.W = nn.Parameter(torch.normal(torch.zeros(
embedding_size, num_embeddings, features), 1))``, the buffers ``register_buffer('N',
torch.ones(num_embeddings) * 20)`` and ``register_buffer('m', torch.normal(torch.zeros(
embedding_size, num_embeddings), 1))`` then ``self.m = self.m * self.N.unsqueeze(0)`` (an
assignment to a registered buffer), ``embed``'s ``torch.einsum('ij,mnj->imn', x, self.W)``,
``bilinear``'s RBF kernel ``(- diff**2).mean(1).div(2 * self.sigma**2).exp()``,
``update_embeddings``' class-count EMA ``torch.max(self.gamma * self.N + (1 - self.gamma) *
y.sum(0), torch.ones_like(self.N))`` and ``torch.einsum('ij,imj->mj', y, z)``; the two-sided
gradient penalty ``torch.autograd.grad(outputs=y_pred, inputs=x, grad_outputs=
torch.ones_like(y_pred), create_graph=True)[0]``, ``gradients.flatten(start_dim=1)``,
``gradients.norm(2, dim=1)``, ``((grad_norm - 1) ** 2).mean()``; ``step``'s
``x.requires_grad_(True)``, ``F.one_hot(y, num_classes=2).float()``,
``F.binary_cross_entropy(y_pred, y)``, the embedding update under ``torch.no_grad()``;
``torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)``; the
evaluation's accuracy from ``y_pred.argmax(1)`` and the confidence ``y_pred.max(1)[0]`` over a
grid (``torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1)).float()``).

Changed: sklearn's ``make_moons(n_samples=1000, noise=0.1)`` -> 96 points from the same
parametric moons in NumPy, features 20 -> 8, embedding_size 10 -> 4, batch 64 -> 32, 30 epochs
-> 3, the grid 100x100 -> 6x6; no ignite (its ``Engine``/``Accuracy``/``Loss`` metrics as
loops and sums).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"


def _model(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Model_bilinear(nn.Module):  # noqa: N801 (as in the repository)
        def __init__(self, features, num_embeddings):  # noqa: ANN001
            super().__init__()

            self.gamma = 0.99
            self.sigma = 0.3

            embedding_size = 4

            self.fc1 = nn.Linear(2, features)
            self.fc2 = nn.Linear(features, features)
            self.fc3 = nn.Linear(features, features)

            self.W = nn.Parameter(
                torch.normal(torch.zeros(embedding_size, num_embeddings, features), 1)
            )

            self.register_buffer("N", torch.ones(num_embeddings) * 20)
            self.register_buffer("m", torch.normal(torch.zeros(embedding_size, num_embeddings), 1))

            self.m = self.m * self.N.unsqueeze(0)

        def embed(self, x):  # noqa: ANN001, ANN201
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = F.relu(self.fc3(x))

            # i is batch, m is embedding_size, n is num_embeddings (classes)
            x = torch.einsum("ij,mnj->imn", x, self.W)

            return x

        def bilinear(self, z):  # noqa: ANN001, ANN201
            embeddings = self.m / self.N.unsqueeze(0)

            diff = z - embeddings.unsqueeze(0)
            y_pred = (-(diff**2)).mean(1).div(2 * self.sigma**2).exp()

            return y_pred

        def forward(self, x):  # noqa: ANN001, ANN201
            z = self.embed(x)
            y_pred = self.bilinear(z)

            return z, y_pred

        def update_embeddings(self, x, y):  # noqa: ANN001, ANN201
            z = self.embed(x)

            # normalizing value per class, assumes y is one_hot encoded
            self.N = torch.max(
                self.gamma * self.N + (1 - self.gamma) * y.sum(0), torch.ones_like(self.N)
            )

            # compute sum of embeddings on class by class basis
            features_sum = torch.einsum("ij,imj->mj", y, z)

            self.m = self.gamma * self.m + (1 - self.gamma) * features_sum

    return Model_bilinear


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)(8, 2)


def _moons(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's make_moons(n, noise=0.1), drawn with NumPy."""
    t_out = np.linspace(0, np.pi, n // 2)
    t_in = np.linspace(0, np.pi, n - n // 2)
    X = np.vstack(
        [
            np.append(np.cos(t_out), 1 - np.cos(t_in)),
            np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5),
        ]
    ).T
    y = np.hstack([np.zeros(n // 2, np.int64), np.ones(n - n // 2, np.int64)])
    X = X + rng.normal(scale=0.1, size=X.shape)
    perm = rng.permutation(n)
    return X[perm].astype(np.float32), y[perm]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    X_train, y_train = _moons(rng, 96)
    X_test, y_test = _moons(rng, 32)
    l_gradient_penalty = 1.0

    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def calc_gradient_penalty(x, y_pred):  # noqa: ANN001, ANN202
        gradients = torch.autograd.grad(
            outputs=y_pred,
            inputs=x,
            grad_outputs=torch.ones_like(y_pred),
            create_graph=True,
        )[0]

        gradients = gradients.flatten(start_dim=1)

        # L2 norm
        grad_norm = gradients.norm(2, dim=1)

        # Two sided penalty
        gradient_penalty = ((grad_norm - 1) ** 2).mean()

        return gradient_penalty

    def step(batch):  # noqa: ANN001, ANN202
        model.train()
        optimizer.zero_grad()

        x, y = batch
        x.requires_grad_(True)

        z, y_pred = model(x)

        y = F.one_hot(y, num_classes=2).float()

        loss1 = F.binary_cross_entropy(y_pred, y)
        loss2 = l_gradient_penalty * calc_gradient_penalty(x, y_pred)

        loss = loss1 + loss2

        loss.backward()
        optimizer.step()

        with torch.no_grad():
            model.update_embeddings(x, y)

        return loss.item()

    def eval_step(batch):  # noqa: ANN001, ANN202
        model.eval()

        x, y = batch

        x.requires_grad_(True)

        z, y_pred = model(x)

        return y_pred, y, x, y_pred

    values: list[float] = []
    for _epoch in range(3):
        order = rng.permutation(len(X_train))
        epoch_losses = []
        for start in range(0, len(order), 32):
            idx = order[start : start + 32]
            batch = (torch.from_numpy(X_train[idx]), torch.from_numpy(y_train[idx]))
            epoch_losses.append(step(batch))
        values.append(float(np.mean(epoch_losses)))
        y_pred, y, x, _ = eval_step((torch.from_numpy(X_test), torch.from_numpy(y_test)))
        accuracy = (y_pred.argmax(1) == y).float().mean().item()
        bce = F.binary_cross_entropy(y_pred, F.one_hot(y, num_classes=2).float()).item()
        gp = calc_gradient_penalty(x, y_pred).item()
        values += [accuracy, bce, gp]

    domain = 3
    xx, yy = np.meshgrid(np.linspace(-domain, domain, 6), np.linspace(-domain, domain, 6))
    with torch.no_grad():
        grid = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1)).float()
        z, y_pred = model(grid)
        confidence = y_pred.max(1)[0]
    values += [float(confidence.sum()), float(model.N.sum()), float(model.m.abs().sum())]
    return values
