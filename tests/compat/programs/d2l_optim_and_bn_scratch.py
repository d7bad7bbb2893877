"""The optimization algorithms and batch normalization from scratch, as "Dive into Deep
Learning" (d2l.ai, PyTorch edition, chapter 12 and section 8.5) writes them, size-reduced.

The idioms: ``get_data_ch11``'s ``torch.from_numpy((data - data.mean(axis=0)) /
data.std(axis=0))`` and ``d2l.load_array((data[:n, :-1], data[:n, -1]), batch_size)``;
``train_ch11``'s ``w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1),
requires_grad=True)``, ``b = torch.zeros((1), requires_grad=True)``, ``loss(net(X),
y).mean()`` and ``trainer_fn([w, b], states, hyperparams)``; the scratch optimizers, each
``with torch.no_grad():`` and ``p.grad.data.zero_()``: ``sgd_momentum`` (``v[:] =
hyperparams['momentum'] * v + p.grad``, ``p[:] -= hyperparams['lr'] * v``), ``adagrad``
(``s[:] += torch.square(p.grad)``, ``p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s +
eps)``), ``rmsprop``, ``adadelta`` (the ``(s, delta)`` state pairs, ``delta[:] = rho * delta
+ (1 - rho) * g * g``), ``adam`` with ``hyperparams['t']`` bias correction (``v_bias_corr =
v / (1 - beta1 ** hyperparams['t'])``) and ``yogi``'s ``torch.sign(torch.square(p.grad) -
s)``; ``evaluate_loss``'s ``metric.add(l.sum(), l.numel())``; and ``train_concise_ch11`` with
``torch.optim.SGD(momentum=0.9)``, ``Adagrad``, ``RMSprop(alpha=0.9)``, ``Adadelta(rho=0.9)``
and ``Adam`` over ``nn.Sequential(nn.Linear(5, 1))`` (``net.apply(init_weights)`` with
``torch.nn.init.normal_(module.weight, std=0.01)``, ``nn.MSELoss(reduction='none')``, ``y =
y.reshape(out.shape)``, ``l.mean().backward()``).

Then batch normalization from scratch: ``batch_norm(X, gamma, beta, moving_mean, moving_var,
eps, momentum)`` with its ``if not torch.is_grad_enabled():`` prediction branch, ``assert
len(X.shape) in (2, 4)``, ``X.mean(dim=0)``, ``((X - mean) ** 2).mean(dim=0)``, ``X.mean(dim=(0,
2, 3), keepdim=True)``, the moving averages and ``moving_mean.data``; the ``BatchNorm`` module's
``nn.Parameter(torch.ones(shape))`` and the plain-tensor ``self.moving_mean = torch.zeros(
shape)`` attributes moved with ``if self.moving_mean.device != X.device: ... .to(X.device)``;
inside d2l's LeNet (``nn.Conv2d``, ``nn.Sigmoid``, ``nn.AvgPool2d(kernel_size=2, stride=2)``,
``nn.Flatten``), trained with ``torch.optim.SGD``, evaluated under ``net.eval()`` and ``with
torch.no_grad():``, and ``net[1].gamma.reshape((-1,))``; next to the concise
``nn.BatchNorm2d`` / ``nn.BatchNorm1d`` net and its running statistics.

Data and initial weights come from NumPy; d2l's shuffled loader is not shuffled here (the two
frameworks' generators differ).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, FEATURES, BATCH, EPOCHS = 40, 5, 10, 2
IMG, IMG_BATCH, BN_STEPS, BN_LR = 12, 8, 3, 0.9


def get_data_ch11(torch: Any, batch_size: int, n: int) -> tuple:
    rng = np.random.default_rng(12)
    data = rng.standard_normal((n + 10, FEATURES + 1)) * [1, 2, 3, 0.5, 1, 1] + 3
    data[:, -1] += data[:, :-1] @ np.array([0.5, -0.2, 0.1, 1.0, -0.7])
    data = torch.from_numpy((data - data.mean(axis=0)) / data.std(axis=0))
    data_iter = load_array(torch, (data[:n, :-1], data[:n, -1]), batch_size, is_train=False)
    return data_iter, data.shape[1] - 1


def load_array(torch: Any, data_arrays: tuple, batch_size: int, is_train: bool = True) -> Any:
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def init_momentum_states(torch: Any, feature_dim: int) -> tuple:
    v_w = torch.zeros((feature_dim, 1))
    v_b = torch.zeros(1)
    return (v_w, v_b)


def sgd_momentum(torch: Any, params: list, states: tuple, hyperparams: dict) -> None:
    for p, v in zip(params, states, strict=True):
        with torch.no_grad():
            v[:] = hyperparams["momentum"] * v + p.grad
            p[:] -= hyperparams["lr"] * v
        p.grad.data.zero_()


def init_adagrad_states(torch: Any, feature_dim: int) -> tuple:
    s_w = torch.zeros((feature_dim, 1))
    s_b = torch.zeros(1)
    return (s_w, s_b)


def adagrad(torch: Any, params: list, states: tuple, hyperparams: dict) -> None:
    eps = 1e-6
    for p, s in zip(params, states, strict=True):
        with torch.no_grad():
            s[:] += torch.square(p.grad)
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def rmsprop(torch: Any, params: list, states: tuple, hyperparams: dict) -> None:
    gamma, eps = hyperparams["gamma"], 1e-6
    for p, s in zip(params, states, strict=True):
        with torch.no_grad():
            s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def init_adadelta_states(torch: Any, feature_dim: int) -> tuple:
    s_w, s_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    delta_w, delta_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    return ((s_w, delta_w), (s_b, delta_b))


def adadelta(torch: Any, params: list, states: tuple, hyperparams: dict) -> None:
    rho, eps = hyperparams["rho"], 1e-5
    for p, (s, delta) in zip(params, states, strict=True):
        with torch.no_grad():
            # In-place updates via [:]
            s[:] = rho * s + (1 - rho) * torch.square(p.grad)
            g = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
            p[:] -= g
            delta[:] = rho * delta + (1 - rho) * g * g
        p.grad.data.zero_()


def init_adam_states(torch: Any, feature_dim: int) -> tuple:
    v_w, v_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    s_w, s_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    return ((v_w, s_w), (v_b, s_b))


def adam(torch: Any, params: list, states: tuple, hyperparams: dict) -> None:
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s) in zip(params, states, strict=True):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
            v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
            s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
            p[:] -= hyperparams["lr"] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
        p.grad.data.zero_()
    hyperparams["t"] += 1


def yogi(torch: Any, params: list, states: tuple, hyperparams: dict) -> None:
    beta1, beta2, eps = 0.9, 0.999, 1e-3
    for p, (v, s) in zip(params, states, strict=True):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = s + (1 - beta2) * torch.sign(torch.square(p.grad) - s) * torch.square(p.grad)
            v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
            s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
            p[:] -= hyperparams["lr"] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
        p.grad.data.zero_()
    hyperparams["t"] += 1


def linreg(torch: Any, X: Any, w: Any, b: Any) -> Any:
    return torch.matmul(X, w) + b


def squared_loss(y_hat: Any, y: Any) -> Any:
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def evaluate_loss(net: Any, data_iter: Any, loss: Any) -> float:
    """Evaluate the loss of a model on the given dataset."""
    metric = [0.0, 0.0]  # Sum of losses, no. of examples
    for X, y in data_iter:
        out = net(X)
        y = y.reshape(out.shape)
        l = loss(out, y)  # noqa: E741 - d2l's name
        metric = [a + float(b) for a, b in zip(metric, (l.sum(), l.numel()), strict=True)]
    return metric[0] / metric[1]


def train_ch11(
    torch: Any,
    trainer_fn: Any,
    states: Any,
    hyperparams: dict,
    data_iter: Any,
    feature_dim: int,
    num_epochs: int = EPOCHS,
) -> list[float]:
    # Initialization
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    with torch.no_grad():
        w.copy_(as_tensor(torch, np.random.default_rng(1).normal(0, 0.01, (feature_dim, 1))))
    net, loss = (lambda X: linreg(torch, X, w, b)), squared_loss
    values = []
    for _ in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y).mean()  # noqa: E741
            l.backward()
            trainer_fn(torch, [w, b], states, hyperparams)
            values.append(l.item())
        values.append(evaluate_loss(net, data_iter, loss))
    return values + w.detach().flatten().tolist() + [b.item(), float(w.grad.abs().sum())]


def train_concise_ch11(
    torch: Any, trainer_fn: Any, hyperparams: dict, data_iter: Any, num_epochs: int = EPOCHS
) -> list[float]:
    nn = torch.nn
    # Initialization
    net = nn.Sequential(nn.Linear(FEATURES, 1))

    def init_weights(module: Any) -> None:
        if type(module) == nn.Linear:  # noqa: E721 - d2l's test
            torch.nn.init.normal_(module.weight, std=0.01)

    net.apply(init_weights)
    with torch.no_grad():
        net[0].weight.copy_(as_tensor(torch, np.random.default_rng(1).normal(0, 0.01, (1, 5))))
        net[0].bias.fill_(0.05)
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    loss = nn.MSELoss(reduction="none")
    values = []
    for _ in range(num_epochs):
        for X, y in data_iter:
            optimizer.zero_grad()
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)  # noqa: E741
            l.mean().backward()
            optimizer.step()
            values.append(float(l.detach().mean()))
        values.append(evaluate_loss(net, data_iter, loss) / 2)
    return values


def optimizers(torch: Any) -> list[float]:
    data_iter, feature_dim = get_data_ch11(torch, BATCH, N)
    values = [float(feature_dim), float(len(data_iter))]
    runs = [
        (sgd_momentum, init_momentum_states, {"lr": 0.02, "momentum": 0.5}),
        (adagrad, init_adagrad_states, {"lr": 0.1}),
        (rmsprop, init_adagrad_states, {"lr": 0.01, "gamma": 0.9}),
        (adadelta, init_adadelta_states, {"rho": 0.9}),
        (adam, init_adam_states, {"lr": 0.01, "t": 1}),
        (yogi, init_adam_states, {"lr": 0.01, "t": 1}),
    ]
    for trainer_fn, init_states, hyperparams in runs:
        values += train_ch11(
            torch, trainer_fn, init_states(torch, feature_dim), hyperparams, data_iter, feature_dim
        )
    optim = torch.optim
    concise = [
        (optim.SGD, {"lr": 0.005, "momentum": 0.9}),
        (optim.Adagrad, {"lr": 0.1}),
        (optim.RMSprop, {"lr": 0.01, "alpha": 0.9}),
        (optim.Adadelta, {"rho": 0.9}),
        (optim.Adam, {"lr": 0.01}),
    ]
    for trainer_fn, hyperparams in concise:
        values += train_concise_ch11(torch, trainer_fn, hyperparams, data_iter)
    return values


def batch_norm(
    torch: Any,
    X: Any,
    gamma: Any,
    beta: Any,
    moving_mean: Any,
    moving_var: Any,
    eps: float,
    momentum: float,
) -> tuple:
    # Use is_grad_enabled to determine whether we are in training mode
    if not torch.is_grad_enabled():
        # In prediction mode, use mean and variance obtained by moving average
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            # When using a fully connected layer, calculate the mean and
            # variance on the feature dimension
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            # When using a two-dimensional convolutional layer, calculate the
            # mean and variance on the channel dimension (axis=1). Here we
            # need to maintain the shape of `X`, so that the broadcasting
            # operation can be carried out later
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        # In training mode, the current mean and variance are used
        X_hat = (X - mean) / torch.sqrt(var + eps)
        # Update the mean and variance using moving average
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta  # Scale and shift
    return Y, moving_mean.data, moving_var.data


def make_batch_norm(torch: Any) -> type:
    nn = torch.nn

    class BatchNorm(nn.Module):
        # `num_features`: the number of outputs for a fully connected layer
        # or the number of output channels for a convolutional layer. `num_dims`:
        # 2 for a fully connected layer and 4 for a convolutional layer
        def __init__(self, num_features: int, num_dims: int) -> None:
            super().__init__()
            if num_dims == 2:
                shape = (1, num_features)
            else:
                shape = (1, num_features, 1, 1)
            # The scale parameter and the shift parameter (model parameters) are
            # initialized to 1 and 0, respectively
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            # The variables that are not model parameters are initialized to 0 and 1
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X: Any) -> Any:
            # If `X` is not on the main memory, copy `moving_mean` and
            # `moving_var` to the device where `X` is located
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            # Save the updated `moving_mean` and `moving_var`
            Y, self.moving_mean, self.moving_var = batch_norm(
                torch,
                X,
                self.gamma,
                self.beta,
                self.moving_mean,
                self.moving_var,
                eps=1e-5,
                momentum=0.1,
            )
            return Y

    return BatchNorm


def make_model(torch_like: Any) -> Any:
    """d2l's LeNet with the scratch ``BatchNorm`` after every convolution and hidden layer."""
    nn = torch_like.nn
    BatchNorm = make_batch_norm(torch_like)
    return nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3),
        BatchNorm(4, num_dims=4),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(4, 6, kernel_size=3),
        BatchNorm(6, num_dims=4),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(6, 12),
        BatchNorm(12, num_dims=2),
        nn.Sigmoid(),
        nn.Linear(12, 8),
        BatchNorm(8, num_dims=2),
        nn.Sigmoid(),
        nn.Linear(8, 10),
    )


def make_concise(torch: Any) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3),
        nn.BatchNorm2d(4),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(4, 6, kernel_size=3),
        nn.BatchNorm2d(6),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(6, 12),
        nn.BatchNorm1d(12),
        nn.Sigmoid(),
        nn.Linear(12, 8),
        nn.BatchNorm1d(8),
        nn.Sigmoid(),
        nn.Linear(8, 10),
    )


def train_lenet(torch: Any, net: Any, X: Any, y: Any) -> list[float]:
    nn = torch.nn
    loss = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=BN_LR)
    values = []
    net.train()
    for _step in range(BN_STEPS):
        optimizer.zero_grad()
        l = loss(net(X), y)  # noqa: E741
        l.backward()
        optimizer.step()
        values.append(l.item())
    net.eval()
    with torch.no_grad():
        y_hat = net(X)
        values += [float((y_hat.argmax(axis=1) == y).sum()), float(y_hat.abs().sum())]
    return values


def batch_norm_nets(torch: Any, init: dict) -> list[float]:
    rng = np.random.default_rng(13)
    X = as_tensor(torch, rng.standard_normal((IMG_BATCH, 1, IMG, IMG)))
    y = as_tensor(torch, rng.integers(0, 10, IMG_BATCH))
    net = make_model(torch)
    load_numpy_state(torch, net, init)
    values = [float(len(net.state_dict())), float(net[1].moving_mean.device == X.device)]
    values += train_lenet(torch, net, X, y)
    values += net[1].gamma.reshape((-1,)).tolist() + net[1].beta.reshape((-1,)).tolist()
    values += net[1].moving_mean.flatten().tolist() + net[10].moving_var.flatten().tolist()
    values += [float(net[1].moving_mean.requires_grad), float(net[1].moving_mean.is_leaf)]

    concise = make_concise(torch)
    concise.load_state_dict(net.state_dict(), strict=False)
    values += train_lenet(torch, concise, X, y)
    values += concise[1].running_mean.tolist() + concise[10].running_var.tolist()
    values += [float(concise[1].num_batches_tracked)]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    with warnings.catch_warnings():  # evaluate_loss's float(l.sum()) of a graph's tensor
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
        return optimizers(torch_like) + batch_norm_nets(torch_like, init)
