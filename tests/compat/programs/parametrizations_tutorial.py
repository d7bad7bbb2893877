"""PyTorch's "Parametrizations Tutorial" (``intermediate/parametrizations``) and the
``register_parametrization`` docstring's ``RankOne`` example, size-reduced and trained.

The idioms: ``class Symmetric(nn.Module): forward(X) = X.triu() + X.triu(1).transpose(-1,
-2)`` registered with ``parametrize.register_parametrization(layer, "weight", Symmetric())``
and checked with ``torch.allclose(A, A.T)``; ``Skew`` (``A = X.triu(1); return A -
A.transpose(-1, -2)``, ``right_inverse`` returning ``A.triu(1)``) concatenated with
``CayleyMap(n)`` (``self.register_buffer("Id", torch.eye(n))``, ``torch.linalg.solve(self.Id -
X, self.Id + X)`` and the ``right_inverse`` ``torch.linalg.solve(A + self.Id, self.Id -
A)``) for an orthogonal weight (``torch.dist(X.T @ X, torch.eye(3))``); initialising through
``right_inverse`` by assigning an orthogonal ``X`` to ``layer_orthogonal.weight`` (the
tutorial's Cayley ``right_inverse`` composed with its forward gives ``X.T``, not ``X``: the
distance is compared as it comes); the
printed model (``ParametrizedLinear`` with its ``ModuleDict`` of ``ParametrizationList``s);
``layer.parametrizations.weight.original`` and ``layer.parametrizations.weight[0]``;
``with parametrize.cached():`` around a forward that reads the weight twice;
``RankOne`` with ``forward(self, x, y)`` and a ``right_inverse`` returning two tensors
(``U[..., :, 0] * s0_sqrt, Vh[..., 0, :] * s0_sqrt`` from ``torch.linalg.svd(Z,
full_matrices=False)``), so the originals are ``original0`` / ``original1``, with
``torch.linalg.matrix_rank(...).item() == 1``; ``parametrize.is_parametrized`` and
``type_before_parametrizations``; and ``parametrize.remove_parametrizations(layer, "weight")``
(the parametrized value kept, now unconstrained) vs ``leave_parametrized=False`` (the
original back). The model is trained with ``SGD(momentum=0.9)``; compared are the losses,
the constraint errors (symmetry, orthogonality, rank), and the weights after each removal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N, STEPS = 3, 5


def _parametrizations(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    class Symmetric(nn.Module):
        def forward(self, X: Any) -> Any:
            return X.triu() + X.triu(1).transpose(-1, -2)

    class Skew(nn.Module):
        def forward(self, X: Any) -> Any:
            A = X.triu(1)
            return A - A.transpose(-1, -2)

        def right_inverse(self, A: Any) -> Any:
            # We assume that A is skew-symmetric
            # We take the upper-triangular elements, as these are those used in the forward
            return A.triu(1)

    class CayleyMap(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.register_buffer("Id", torch.eye(n))

        def forward(self, X: Any) -> Any:
            # Assume X skew-symmetric
            # (I + X)(I - X)^{-1}
            return torch.linalg.solve(self.Id - X, self.Id + X)

        def right_inverse(self, A: Any) -> Any:
            # Assume A orthogonal
            # See https://en.wikipedia.org/wiki/Cayley_transform#Matrix_map
            # (A - I)(A + I)^{-1}
            return torch.linalg.solve(A + self.Id, self.Id - A)

    class RankOne(nn.Module):
        def forward(self, x: Any, y: Any) -> Any:
            # Form a rank 1 matrix multiplying two vectors
            return x.unsqueeze(-1) @ y.unsqueeze(-2)

        def right_inverse(self, Z: Any) -> tuple[Any, Any]:
            # Project Z onto the rank 1 matrices
            U, S, Vh = torch.linalg.svd(Z, full_matrices=False)
            # Return rescaled singular vectors
            s0_sqrt = S[0].sqrt().unsqueeze(-1)
            return U[..., :, 0] * s0_sqrt, Vh[..., 0, :] * s0_sqrt

    return {"Symmetric": Symmetric, "Skew": Skew, "CayleyMap": CayleyMap, "RankOne": RankOne}


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    parametrize = torch_like.nn.utils.parametrize
    P = _parametrizations(torch_like)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sym = nn.Linear(N, N)
            self.orth = nn.Linear(N, N)
            self.rank1 = nn.Linear(N, N)
            self.out = nn.Linear(N, 1)
            parametrize.register_parametrization(self.sym, "weight", P["Symmetric"]())
            parametrize.register_parametrization(self.orth, "weight", P["Skew"]())
            parametrize.register_parametrization(self.orth, "weight", P["CayleyMap"](N))
            parametrize.register_parametrization(self.rank1, "weight", P["RankOne"]())

        def forward(self, x: Any) -> Any:
            h = torch_like.tanh(self.sym(x))
            # the orthogonal weight is read twice: once through the layer, once directly
            h = torch_like.tanh(self.orth(h)) + 0.1 * h @ self.orth.weight
            h = torch_like.tanh(self.rank1(h))
            return self.out(h).squeeze(-1)

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    parametrize = torch_like.nn.utils.parametrize
    P = _parametrizations(torch_like)
    rng = np.random.default_rng(21)
    values: list[float] = []

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    eye = torch.eye(N)
    values.append(torch.dist(model.orth.weight.T @ model.orth.weight, eye).item())
    # Initializing through right_inverse: an orthogonal matrix assigned to the weight
    X = torch.linalg.qr(as_tensor(torch, rng.normal(size=(N, N))))[0]
    if torch.linalg.det(X) < 0:  # the Cayley map reaches rotations only
        X = X @ torch.diag(torch.tensor([1.0, 1.0, -1.0]))
    model.orth.weight = X
    values.append(torch.dist(model.orth.weight, X).item())
    Z = as_tensor(torch, rng.normal(size=(N, N)))
    model.rank1.weight = Z
    values.append(float(torch.linalg.matrix_rank(model.rank1.weight).item()))
    values.append(model.rank1.parametrizations.weight.original0.sum().abs().item())
    values.append(model.rank1.parametrizations.weight.original1.abs().sum().item())

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xs = as_tensor(torch, rng.normal(size=(8, N)))
    ys = as_tensor(torch, rng.normal(size=8))
    for step in range(STEPS):
        optimizer.zero_grad()
        if step % 2:
            with parametrize.cached():
                loss = nn.functional.mse_loss(model(xs), ys)
        else:
            loss = nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        optimizer.step()
        A = model.sym.weight
        W = model.orth.weight
        values.append(loss.item())
        values.append(float(torch.allclose(A, A.T)))
        values.append(torch.dist(W.T @ W, eye).item() < 1e-10)
        values.append(float(torch.linalg.matrix_rank(model.rank1.weight).item()))
        values.append(model.orth.parametrizations.weight.original.sum().item())

    values.append(float(parametrize.is_parametrized(model.orth)))
    values.append(float(parametrize.is_parametrized(model.out)))
    values.append(float(parametrize.is_parametrized(model.orth, "bias")))
    values.append(float(parametrize.type_before_parametrizations(model.orth) is nn.Linear))
    values.append(float(type(model.orth) is not nn.Linear))
    values.append(float(len(model.orth.parametrizations.weight)))
    values.append(float(type(model.orth.parametrizations.weight[1]).__name__ == "CayleyMap"))
    values.append(model.orth.parametrizations.weight[1].Id.sum().item())

    # Removing parametrizations: the parametrized value kept (unconstrained from now on)
    kept = model.sym.weight.detach().clone()
    parametrize.remove_parametrizations(model.sym, "weight")
    values.append(float(torch.equal(model.sym.weight, kept)))
    values.append(float(type(model.sym) is nn.Linear))
    values.append(float(isinstance(model.sym.weight, nn.Parameter)))
    # ... or the original back
    original = model.orth.parametrizations.weight.original.detach().clone()
    parametrize.remove_parametrizations(model.orth, "weight", leave_parametrized=False)
    values.append(float(torch.equal(model.orth.weight, original)))
    values.append(model.orth.weight.sum().item())
    # a parametrization with two originals cannot be removed without its value
    try:
        parametrize.remove_parametrizations(model.rank1, "weight", leave_parametrized=False)
        values.append(0.0)
    except ValueError:
        values.append(1.0)
    parametrize.remove_parametrizations(model.rank1, "weight")
    values.append(model.rank1.weight.sum().item())
    values.append(nn.functional.mse_loss(model(xs), ys).item())

    # the tutorial's layer-level examples
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", P["Skew"]())
    values.append(float(torch.allclose(layer.weight, -layer.weight.T)))
    values.append(float(layer.weight.diagonal().abs().sum().item() == 0.0))
    return values
