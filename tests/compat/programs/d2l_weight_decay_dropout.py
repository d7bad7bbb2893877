"""Weight decay, dropout and concise softmax regression as "Dive into Deep Learning" (d2l.ai,
PyTorch edition: the 0.17 chapter 4 notebooks and the 1.0 class-based chapters 3.7, 4.5 and 5.6)
write them, size-reduced.

The idioms: ``synthetic_data`` (``X = torch.normal(0, 1, (num_examples, len(w)))``, ``y +=
torch.normal(0, 0.01, y.shape)``, ``y.reshape((-1, 1))``) with ``true_w = torch.ones((num_inputs,
1)) * 0.01``; ``init_params`` (``torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)``,
``torch.zeros(1, requires_grad=True)``); ``l2_penalty``'s ``torch.sum(w.pow(2)) / 2``; ``l =
loss(net(X), y) + lambd * l2_penalty(w)``, ``l.sum().backward()`` and ``d2l.sgd``; the
``Accumulator``-based ``evaluate_loss`` (``metric.add(d2l.reduce_sum(l), d2l.size(l))``,
``reduce_sum``/``size`` being d2l's ``x.sum()``/``x.numel()`` lambdas); ``torch.norm(w).item()``;
``train_concise`` with ``param.data.normal_()`` over ``net.parameters()``,
``nn.MSELoss(reduction='none')`` and ``torch.optim.SGD([{"params": net[0].weight,
'weight_decay': wd}, {"params": net[0].bias}], lr=lr)`` (a bare tensor as a group's
``params``), ``net[0].weight.norm().item()``; the 1.0 ``WeightDecay`` model (``nn.LazyLinear(1)``
with d2l's ``self.net.weight.data.normal_(0, sigma)`` on the still-uninitialised parameter,
materialised by a dry forward, ``configure_optimizers`` returning the two-group SGD);
``dropout_layer`` (``assert 0 <= dropout <= 1``, ``torch.zeros_like(X)`` for 1, ``mask =
(torch.rand(X.shape) > dropout).float()``, ``mask * X / (1.0 - dropout)``) on ``X =
torch.arange(16, dtype=torch.float32).reshape((2, 8))``; the scratch ``Net`` with ``super(Net,
self).__init__()``, ``self.training = is_training``, ``if self.training == True:`` and
``X.reshape((-1, self.num_inputs))``; the concise ``nn.Sequential(nn.Flatten(),
nn.Linear(...), nn.ReLU(), nn.Dropout(dropout1), ...)`` with ``net.apply(init_weights)``
(``type(m) == nn.Linear``, ``nn.init.normal_(m.weight, std=0.01)``), its ``train()``/``eval()``
behaviour and ``train_ch3``'s ``nn.CrossEntropyLoss(reduction='none')`` with ``l.mean().backward()``
and the accuracy ``float((y_hat.argmax(axis=1).type(y.dtype) == y).type(y.dtype).sum())``; and
1.0's ``SoftmaxRegression`` (``nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))``,
``Classifier.loss``'s ``Y_hat.reshape((-1, Y_hat.shape[-1]))`` and ``F.cross_entropy(Y_hat, Y,
reduction='mean' if averaged else 'none')``, ``accuracy``'s ``(preds == Y.reshape(-1)).type(
torch.float32)`` and ``compare.mean() if averaged else compare``).

Changed: ``torch.normal`` / ``torch.rand`` draws come from NumPy (the generators differ; the torch
calls are still made and checked for shape, dtype and range), so the scratch dropout takes its
uniform draw from a ``rand`` argument; 784 -> 12 inputs, 256 -> 8 hidden units, 200 -> 24
regression inputs; a few epochs; ``nn.Dropout`` is trained with ``p`` set to 0 (random masks
cannot agree), its train-mode output only checked for being zero or ``x / (1 - p)`` elementwise.
``float()`` of a loss that requires grad (``Accumulator.add``) warns in both frameworks; the run
ignores that warning as a notebook shows it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

DTYPE = "float32"
N_TRAIN, N_TEST, NUM_INPUTS, BATCH = 20, 10, 24, 5


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: Any) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def _weight_decay(torch: Any, rng: np.random.Generator) -> list[float]:
    nn, data = torch.nn, torch.utils.data
    values: list[float] = []
    f32 = torch.float32
    normal = lambda *shape: as_tensor(torch, rng.standard_normal(shape), dtype=f32)  # noqa: E731

    def synthetic_data(w: Any, b: float, num_examples: int) -> tuple[Any, Any]:
        X = torch.normal(0, 1, (num_examples, len(w)))
        values.append(float(tuple(X.shape) == (num_examples, len(w)) and X.dtype == f32))
        X = normal(num_examples, len(w))
        y = torch.matmul(X, w) + b
        y += normal(*y.shape) * 0.01
        return X, y.reshape((-1, 1))

    def load_array(data_arrays: tuple, batch_size: int, is_train: bool = True) -> Any:
        dataset = data.TensorDataset(*data_arrays)
        return data.DataLoader(dataset, batch_size, shuffle=False)

    true_w, true_b = torch.ones((NUM_INPUTS, 1)) * 0.01, 0.05
    train_data = synthetic_data(true_w, true_b, N_TRAIN)
    train_iter = load_array(train_data, BATCH)
    test_data = synthetic_data(true_w, true_b, N_TEST)
    test_iter = load_array(test_data, BATCH, is_train=False)

    def linreg(X: Any, w: Any, b: Any) -> Any:
        return torch.matmul(X, w) + b

    def squared_loss(y_hat: Any, y: Any) -> Any:
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params: list, lr: float, batch_size: int) -> None:
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    def evaluate_loss(net: Any, data_iter: Any, loss: Any) -> float:
        metric = Accumulator(2)  # Sum of losses, no. of examples
        for X, y in data_iter:
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)  # noqa: E741
            metric.add(l.sum(), l.numel())
        return metric[0] / metric[1]

    def init_params() -> list[Any]:
        w = torch.normal(0, 1, size=(NUM_INPUTS, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        with torch.no_grad():
            w.copy_(normal(NUM_INPUTS, 1))
        return [w, b]

    def l2_penalty(w: Any) -> Any:
        return torch.sum(w.pow(2)) / 2

    def train(lambd: float) -> None:
        w, b = init_params()
        net, loss = lambda X: linreg(X, w, b), squared_loss
        num_epochs, lr = 4, 0.03
        for epoch in range(num_epochs):
            for X, y in train_iter:
                # The L2 norm penalty term has been added, and broadcasting
                # makes `l2_penalty(w)` a vector whose length is `batch_size`
                l = loss(net(X), y) + lambd * l2_penalty(w)  # noqa: E741
                l.sum().backward()
                sgd([w, b], lr, BATCH)
            if (epoch + 1) % 2 == 0:
                values.append(evaluate_loss(net, train_iter, loss))
                values.append(evaluate_loss(net, test_iter, loss))
        values.append(torch.norm(w).item())

    train(lambd=0)
    train(lambd=3)

    def train_concise(wd: float) -> None:
        net = nn.Sequential(nn.Linear(NUM_INPUTS, 1))
        for param in net.parameters():
            param.data.normal_()
            values.append(float(param.data.dtype == f32))
            param.data.copy_(normal(*param.shape))
        loss = nn.MSELoss(reduction="none")
        num_epochs, lr = 4, 0.03
        # The bias parameter has not decayed
        trainer = torch.optim.SGD(
            [{"params": net[0].weight, "weight_decay": wd}, {"params": net[0].bias}], lr=lr
        )
        values.extend(g["weight_decay"] for g in trainer.param_groups)
        for _epoch in range(num_epochs):
            for X, y in train_iter:
                trainer.zero_grad()
                l = loss(net(X), y)  # noqa: E741
                l.mean().backward()
                trainer.step()
            values.append(evaluate_loss(net, test_iter, loss))
        values.append(net[0].weight.norm().item())

    train_concise(0)
    train_concise(3)

    # d2l 1.0: class-based WeightDecay over a LazyLinear
    class WeightDecay(nn.Module):
        def __init__(self, wd: float, lr: float, sigma: float = 0.01) -> None:
            super().__init__()
            self.wd, self.lr = wd, lr
            self.net = nn.LazyLinear(1)
            self.net.weight.data.normal_(0, sigma)
            self.net.bias.data.fill_(0)

        def forward(self, X: Any) -> Any:
            return self.net(X)

        def loss(self, y_hat: Any, y: Any) -> Any:
            fn = nn.MSELoss()
            return fn(y_hat, y)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(
                [{"params": self.net.weight, "weight_decay": self.wd}, {"params": self.net.bias}],
                lr=self.lr,
            )

    model = WeightDecay(wd=3, lr=0.01)
    values.append(float(isinstance(model.net.weight, nn.parameter.UninitializedParameter)))
    model(train_data[0][:1])  # dry run materialises the lazy layer
    values.append(float(tuple(model.net.weight.shape) == (1, NUM_INPUTS)))
    with torch.no_grad():
        model.net.weight.copy_(normal(1, NUM_INPUTS) * 0.01)
        model.net.bias.fill_(0)
    optim = model.configure_optimizers()
    for X, y in train_iter:
        l = model.loss(model(X), y)  # noqa: E741
        optim.zero_grad()
        l.backward()
        optim.step()
        values.append(l.item())
    values.append(float(model.net.weight.norm()))
    return values


def _dropout(torch: Any, rng: np.random.Generator) -> list[float]:
    nn, F, data = torch.nn, torch.nn.functional, torch.utils.data
    values: list[float] = []
    f32 = torch.float32

    def np_rand(shape: Any) -> Any:
        return as_tensor(torch, rng.random(tuple(shape)), dtype=f32)

    def dropout_layer(X: Any, dropout: float, rand: Any = torch.rand) -> Any:
        assert 0 <= dropout <= 1
        # In this case, all elements are dropped out
        if dropout == 1:
            return torch.zeros_like(X)
        # In this case, all elements are kept
        if dropout == 0:
            return X
        mask = (rand(X.shape) > dropout).float()
        return mask * X / (1.0 - dropout)

    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    values += dropout_layer(X, 0.0).flatten().tolist()
    half = dropout_layer(X, 0.5)
    values.append(float(bool(((half == 0) | (half == 2 * X)).all()) and half.dtype == f32))
    values += dropout_layer(X, 0.5, np_rand).flatten().tolist()
    values += dropout_layer(X, 1.0).flatten().tolist()

    n_in, n_out, n_h1, n_h2 = 12, 4, 8, 8
    dropout1, dropout2 = 0.2, 0.5

    class Net(nn.Module):
        def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2, is_training=True):
            super(Net, self).__init__()  # noqa: UP008 - d2l's spelling
            self.num_inputs = num_inputs
            self.training = is_training
            self.lin1 = nn.Linear(num_inputs, num_hiddens1)
            self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
            self.lin3 = nn.Linear(num_hiddens2, num_outputs)
            self.relu = nn.ReLU()

        def forward(self, X: Any) -> Any:
            H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
            # Use dropout only when training the model
            if self.training == True:  # noqa: E712 - d2l's spelling
                # Add a dropout layer after the first fully connected layer
                H1 = dropout_layer(H1, dropout1, np_rand)
            H2 = self.relu(self.lin2(H1))
            if self.training == True:  # noqa: E712
                # Add a dropout layer after the second fully connected layer
                H2 = dropout_layer(H2, dropout2, np_rand)
            out = self.lin3(H2)
            return out

    def init_weights(m: Any) -> None:
        if type(m) == nn.Linear:  # noqa: E721 - d2l's spelling
            nn.init.normal_(m.weight, std=0.01)
            with torch.no_grad():
                m.weight.copy_(as_tensor(torch, rng.standard_normal(m.weight.shape) * 0.3))
                m.bias.copy_(as_tensor(torch, rng.standard_normal(m.bias.shape) * 0.1))

    images = rng.random((16, 1, 3, 4)).astype(np.float32)
    labels = (images.reshape(16, -1)[:, :4].argmax(1)).astype(np.int64)
    dataset = data.TensorDataset(torch.tensor(images), torch.tensor(labels))
    train_iter = data.DataLoader(dataset, batch_size=8, shuffle=False)

    def accuracy(y_hat: Any, y: Any) -> float:
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def train_ch3(net: Any, loss: Any, num_epochs: int, updater: Any) -> None:
        for _ in range(num_epochs):
            if isinstance(net, torch.nn.Module):
                net.train()
            metric = Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)  # noqa: E741
                updater.zero_grad()
                l.mean().backward()
                updater.step()
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            values.extend([metric[0] / metric[2], metric[1] / metric[2]])

    loss = nn.CrossEntropyLoss(reduction="none")
    net = Net(n_in, n_out, n_h1, n_h2)
    net.apply(init_weights)
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    train_ch3(net, loss, 3, trainer)
    values.append(float(net.training))

    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_in, n_h1),
        nn.ReLU(),
        # Add a dropout layer after the first fully connected layer
        nn.Dropout(dropout1),
        nn.Linear(n_h1, n_h2),
        nn.ReLU(),
        # Add a dropout layer after the second fully connected layer
        nn.Dropout(dropout2),
        nn.Linear(n_h2, n_out),
    )
    net.apply(init_weights)
    x = torch.ones(4, 8)
    out = net[6](x)
    values.append(float(bool(((out == 0) | (out == 2.0)).all())))
    net.eval()
    values.append(float(bool((net[6](x) == x).all())))
    net[3].p, net[6].p = 0.0, 0.0
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    train_ch3(net, loss, 3, trainer)

    # d2l 1.0 SoftmaxRegression with a LazyLinear head
    class SoftmaxRegression(nn.Module):
        def __init__(self, num_outputs: int, lr: float) -> None:
            super().__init__()
            self.lr = lr
            self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

        def forward(self, X: Any) -> Any:
            return self.net(X)

        def loss(self, Y_hat: Any, Y: Any, averaged: bool = True) -> Any:
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            Y = Y.reshape((-1,))
            return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

        def accuracy(self, Y_hat: Any, Y: Any, averaged: bool = True) -> Any:
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            preds = Y_hat.argmax(axis=1).type(Y.dtype)
            compare = (preds == Y.reshape(-1)).type(torch.float32)
            return compare.mean() if averaged else compare

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), self.lr)

    model = SoftmaxRegression(num_outputs=n_out, lr=0.5)
    model(dataset[0][0][None])
    with torch.no_grad():
        model.net[1].weight.copy_(as_tensor(torch, rng.standard_normal((n_out, n_in)) * 0.1))
        model.net[1].bias.zero_()
    optim = model.configure_optimizers()
    for _ in range(2):
        for X, y in train_iter:
            Y_hat = model(X)
            l = model.loss(Y_hat, y)  # noqa: E741
            optim.zero_grad()
            l.backward()
            optim.step()
            values += [l.item(), model.accuracy(Y_hat, y).item()]
            values.append(model.accuracy(Y_hat, y, averaged=False).sum().item())
    values += model.loss(model(X), y, averaged=False).tolist()
    return values


def run(torch_like: Any, init: Any) -> list[float]:
    rng = np.random.default_rng(7)
    with warnings.catch_warnings():  # evaluate_loss's / train_ch3's float() of a graph's tensor
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
        return _weight_decay(torch_like, rng) + _dropout(torch_like, rng)
