"""pytorch/examples ``mnist_forward_forward`` (Hinton's Forward-Forward algorithm), size-reduced:
``overlay_y_on_x`` (``x.clone()``, ``x_[:, :10] *= 0.0``, advanced-index assignment
``x_[range(x.shape[0]), y] = x.max()``), ``Layer`` -- a subclass of ``nn.Linear`` that builds
its own ``Adam(self.parameters())`` in ``__init__`` and *overrides* ``nn.Module.train`` with a
layer-local training loop (``x / (x.norm(2, 1, keepdim=True) + 1e-4)``, ``torch.mm(x_direction,
self.weight.T)``, ``self.bias.unsqueeze(0)``, ``torch.log(1 + torch.exp(torch.cat([...])))``),
returning ``.detach()``ed outputs -- and ``Net`` keeping its layers in a plain Python list,
``predict`` summing per-layer goodness with Python's ``sum`` over a list of tensors,
``torch.cat(..., 1).argmax(1)``, and ``net.predict(x).eq(y).float().mean().item()``.

MNIST is replaced by 12-pixel NumPy "images" with a class-dependent pattern (flattened as the
example's ``Lambda(lambda x: torch.flatten(x))``); ``torch.randperm`` (random) by a fixed NumPy
permutation; dims [784, 500, 500] -> [20, 12, 12], ``num_epochs`` 1000 -> 60.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIMS = [20, 12, 12]
N = 40


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    Adam = torch_like.optim.Adam

    def overlay_y_on_x(x: Any, y: Any) -> Any:
        """Replace the first 10 pixels of data [x] with one-hot-encoded label [y]"""
        x_ = x.clone()
        x_[:, :10] *= 0.0
        x_[range(x.shape[0]), y] = x.max()
        return x_

    class Net(torch.nn.Module):
        def __init__(self, dims: list[int]) -> None:
            super().__init__()
            self.layers = []
            for d in range(len(dims) - 1):
                self.layers += [Layer(dims[d], dims[d + 1])]

        def predict(self, x: Any) -> Any:
            goodness_per_label = []
            for label in range(10):
                h = overlay_y_on_x(x, label)
                goodness = []
                for layer in self.layers:
                    h = layer(h)
                    goodness += [h.pow(2).mean(1)]
                goodness_per_label += [sum(goodness).unsqueeze(1)]
            goodness_per_label = torch.cat(goodness_per_label, 1)
            return goodness_per_label.argmax(1)

        def train(self, x_pos: Any, x_neg: Any) -> list[float]:  # type: ignore[override]
            h_pos, h_neg = x_pos, x_neg
            losses = []
            for i, layer in enumerate(self.layers):
                print("training layer", i, "...")
                h_pos, h_neg = layer.train(h_pos, h_neg)
                losses += layer.losses
            return losses

    class Layer(nn.Linear):
        def __init__(
            self,
            in_features: int,
            out_features: int,
            bias: bool = True,
            device: Any = None,
            dtype: Any = None,
        ) -> None:
            super().__init__(in_features, out_features, bias, device, dtype)
            self.relu = torch.nn.ReLU()
            self.opt = Adam(self.parameters(), lr=0.03)
            self.threshold = 2.0
            self.num_epochs = 60
            self.losses = []

        def forward(self, x: Any) -> Any:
            x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
            return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

        def train(self, x_pos: Any, x_neg: Any) -> tuple[Any, Any]:  # type: ignore[override]
            for _i in range(self.num_epochs):
                g_pos = self.forward(x_pos).pow(2).mean(1)
                g_neg = self.forward(x_neg).pow(2).mean(1)
                # The following loss pushes pos (neg) samples to
                # values larger (smaller) than the self.threshold.
                loss = torch.log(
                    1 + torch.exp(torch.cat([-g_pos + self.threshold, g_neg - self.threshold]))
                ).mean()
                self.opt.zero_grad()
                # this backward just compute the derivative and hence
                # is not considered backpropagation.
                loss.backward()
                self.opt.step()
                self.losses.append(loss.item())
            return self.forward(x_pos).detach(), self.forward(x_neg).detach()

    return Net, overlay_y_on_x


def make_model(torch_like: Any) -> Any:
    """The layers' weights (``Net`` keeps them in a plain list, so it has no state dict)."""
    net_cls, _overlay = _classes(torch_like)
    return torch_like.nn.ModuleList(net_cls(DIMS).layers)


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 10, n)
    x = 0.2 * rng.random((n, DIMS[0]))
    for i, t in enumerate(y):
        x[i, 10 + t % 5 : 13 + t % 5] += 0.8
        x[i, 10 + t // 2] += 0.5
    return x, y


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    net_cls, overlay_y_on_x = _classes(torch_like)
    rng = np.random.default_rng(12)
    x_np, y_np = _data(rng, N)
    x_te_np, y_te_np = _data(rng, N)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    x_te, y_te = torch.from_numpy(x_te_np), torch.from_numpy(y_te_np)

    net = net_cls(DIMS)
    if init is not None:
        torch.nn.ModuleList(net.layers).load_state_dict(
            {k: torch.tensor(v) for k, v in init.items()}
        )
    x_pos = overlay_y_on_x(x, y)
    rnd = torch.from_numpy(rng.permutation(N))
    x_neg = overlay_y_on_x(x, y[rnd])

    losses = net.train(x_pos, x_neg)

    train_acc = net.predict(x).eq(y).float().mean().item()
    test_acc = net.predict(x_te).eq(y_te).float().mean().item()
    print("train error:", 1.0 - train_acc)
    print("test error:", 1.0 - test_acc)
    return [*losses, train_acc, test_acc]
