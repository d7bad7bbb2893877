"""Two uncertainty / anomaly-detection recipes, size-reduced: Deep Ensembles (Lakshminarayanan
et al. 2017, as its PyTorch re-implementations write it) and Deep SVDD as
lukasruff/Deep-SVDD-PyTorch (``src/optim/deepSVDD_trainer.py``, ``src/networks/``) writes it.

Deep Ensembles idioms: a ``GaussianMLP`` whose head gives ``mean, variance = torch.split(output,
self.outputs, dim=1)`` with ``variance = F.softplus(variance) + 1e-6``; ``nn.GaussianNLLLoss(
full=True)`` (``criterion(mean, target, variance)``); the adversarial-training term of the
paper (``x.requires_grad_()``, ``torch.autograd.grad(nll, x, retain_graph=True)``, ``x_adv = x
+ epsilon * grad.sign()`` with ``epsilon = 0.01 * (x.max() - x.min())``); M members each with
its own ``torch.optim.Adam``; the mixture prediction ``means = torch.stack(mus)``, ``mean =
means.mean(0)``, ``variance = (torch.stack(sigmas) + means.pow(2)).mean(0) - mean.pow(2)``.

Deep SVDD idioms: bias-free networks (``nn.Linear(..., bias=False)``, ``nn.BatchNorm1d(...,
eps=1e-04, affine=False)``, ``F.leaky_relu``) with ``self.rep_dim``; a ``DataLoader`` over a
``TensorDataset`` giving ``inputs, labels, idx``; ``init_center_c`` (``c = torch.zeros(
net.rep_dim)``, ``net.eval()``, under ``torch.no_grad()``: ``n_samples += outputs.shape[0]``,
``c += torch.sum(outputs, dim=0)``, ``c /= n_samples``, then ``c[(abs(c) < eps) & (c < 0)] =
-eps`` and ``c[(abs(c) < eps) & (c > 0)] = eps``); ``optim.Adam(net.parameters(), lr=...,
weight_decay=1e-6, amsgrad=optimizer_name == 'amsgrad')`` with ``optim.lr_scheduler.MultiStepLR(
optimizer, milestones=..., gamma=0.1)``; ``dist = torch.sum((outputs - self.c) ** 2, dim=1)``;
the one-class loss ``torch.mean(dist)`` and the soft-boundary loss ``self.R ** 2 + (1 /
self.nu) * torch.mean(torch.max(torch.zeros_like(scores), scores))`` with the radius updated as
``self.R.data = torch.tensor(get_radius(dist, self.nu))`` (``np.quantile(np.sqrt(
dist.clone().data.cpu().numpy()), 1 - nu)``, and ``torch.quantile`` of the same); test scores
``dist - self.R ** 2`` collected with ``idx``, ``labels`` and ``scores`` ``.cpu().data.numpy()
.tolist()``.

Changed: MNIST / CIFAR-10 and the UCI regression sets -> small NumPy data; a few epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

N_MEMBERS, IN_DIM, HIDDEN, REP_DIM, STEPS, NU = 3, 3, 8, 4, 4, 0.1


def init_state(tmp_path: Any) -> dict[str, Any]:
    """Data for both recipes and one seed per ensemble member."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, size=(24, 1))
    y = np.sin(2 * x) + 0.1 * (1 + np.abs(x)) * rng.normal(size=x.shape)
    normal = rng.normal(size=(32, IN_DIM)) * 0.5 + 1.0
    test = np.concatenate(
        [rng.normal(size=(6, IN_DIM)) * 0.5 + 1.0, rng.normal(size=(4, IN_DIM)) * 2]
    )
    return {"x": x, "y": y, "normal": normal, "test": test, "labels": np.array([0] * 6 + [1] * 4)}


def ensembles(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class GaussianMLP(nn.Module):
        def __init__(self, inputs: int = 1, outputs: int = 1, hidden_layers: tuple = (16,)):
            super().__init__()
            self.inputs = inputs
            self.outputs = outputs
            self.nLayers = len(hidden_layers)
            self.net_structure = [inputs, *hidden_layers, 2 * outputs]
            for i in range(self.nLayers + 1):
                layer = nn.Linear(self.net_structure[i], self.net_structure[i + 1])
                setattr(self, "layer_" + str(i), layer)

        def forward(self, x: Any) -> tuple[Any, Any]:
            for i in range(self.nLayers):
                layer = getattr(self, "layer_" + str(i))
                x = F.relu(layer(x))
            layer = getattr(self, "layer_" + str(self.nLayers))
            x = layer(x)
            mean, variance = torch.split(x, self.outputs, dim=1)
            variance = F.softplus(variance) + 1e-6
            return mean, variance

    x = as_tensor(torch, init["x"])
    y = as_tensor(torch, init["y"])
    criterion = nn.GaussianNLLLoss(full=True)
    members, optimizers = [], []
    for m in range(N_MEMBERS):
        torch.manual_seed(m)
        net = GaussianMLP(hidden_layers=(HIDDEN,))
        with torch.no_grad():  # the same start in both frameworks
            weights = np.random.default_rng(10 + m)
            for p in net.parameters():
                p.copy_(as_tensor(torch, weights.normal(scale=0.5, size=tuple(p.shape))))
        members.append(net)
        optimizers.append(torch.optim.Adam(net.parameters(), lr=0.02))

    values: list[float] = []
    epsilon = 0.01 * (x.max() - x.min())
    for _step in range(STEPS):
        for net, optimizer in zip(members, optimizers):
            optimizer.zero_grad()
            xin = x.clone().requires_grad_()
            mean, var = net(xin)
            nll = criterion(mean, y, var)
            (grad,) = torch.autograd.grad(nll, xin, retain_graph=True)
            x_adv = xin.detach() + epsilon * grad.sign()
            mean_adv, var_adv = net(x_adv)
            loss = nll + criterion(mean_adv, y, var_adv)
            loss.backward()
            optimizer.step()
            values += [nll.item(), loss.item()]

    grid = torch.linspace(-3, 3, 7).unsqueeze(1)
    with torch.no_grad():
        outs = [net(grid) for net in members]
    mus = [mu for mu, _ in outs]
    sigmas = [sig for _, sig in outs]
    means = torch.stack(mus)
    mean = means.mean(0)
    variance = (torch.stack(sigmas) + means.pow(2)).mean(0) - mean.pow(2)
    values += mean.flatten().tolist() + variance.flatten().tolist()
    values += [float((variance > 0).all())]
    # the reduction-free loss and its eps clamp on a tiny variance
    per = nn.GaussianNLLLoss(full=True, reduction="none", eps=1e-3)(
        mean, mean + 0.1, variance * 1e-9
    )
    values += per.flatten().tolist()
    return values


def get_radius(dist: Any, nu: float) -> float:
    """Optimally solve for radius R via the (1-nu)-quantile of distances."""
    return np.quantile(np.sqrt(dist.clone().data.cpu().numpy()), 1 - nu)


def deep_svdd(torch_like: Any, init: dict, objective: str, optimizer_name: str) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    optim = torch_like.optim

    class SmallNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rep_dim = REP_DIM
            self.fc1 = nn.Linear(IN_DIM, HIDDEN, bias=False)
            self.bn1 = nn.BatchNorm1d(HIDDEN, eps=1e-04, affine=False)
            self.fc2 = nn.Linear(HIDDEN, self.rep_dim, bias=False)

        def forward(self, x: Any) -> Any:
            x = F.leaky_relu(self.bn1(self.fc1(x)))
            return self.fc2(x)

    torch.manual_seed(0)
    net = SmallNet()
    with torch.no_grad():
        weights = np.random.default_rng(3)
        for p in net.parameters():
            p.copy_(as_tensor(torch, weights.normal(scale=0.5, size=tuple(p.shape))))
    normal = as_tensor(torch, init["normal"])
    dataset = torch.utils.data.TensorDataset(
        normal, torch.zeros(len(normal)), torch.arange(len(normal))
    )
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=False)

    def init_center_c(eps: float = 0.1) -> Any:
        n_samples = 0
        c = torch.zeros(net.rep_dim)
        net.eval()
        with torch.no_grad():
            for data in train_loader:
                inputs, _, _ = data
                outputs = net(inputs)
                n_samples += outputs.shape[0]
                c += torch.sum(outputs, dim=0)
        c /= n_samples
        c[(abs(c) < eps) & (c < 0)] = -eps
        c[(abs(c) < eps) & (c > 0)] = eps
        return c

    c = init_center_c(eps=0.5)  # a wide eps so that the thresholding acts
    R = torch.tensor(0.0)
    values: list[float] = c.tolist()
    optimizer = optim.Adam(
        net.parameters(), lr=0.01, weight_decay=1e-6, amsgrad=optimizer_name == "amsgrad"
    )
    scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=(2,), gamma=0.1)
    net.train()
    for epoch in range(STEPS):
        loss_epoch, n_batches = 0.0, 0
        for data in train_loader:
            inputs, _, _ = data
            optimizer.zero_grad()
            outputs = net(inputs)
            dist = torch.sum((outputs - c) ** 2, dim=1)
            if objective == "soft-boundary":
                scores = dist - R**2
                loss = R**2 + (1 / NU) * torch.mean(torch.max(torch.zeros_like(scores), scores))
            else:
                loss = torch.mean(dist)
            loss.backward()
            optimizer.step()
            if objective == "soft-boundary" and epoch >= 1:
                R.data = torch.tensor(get_radius(dist, NU))
                q = torch.quantile(torch.sqrt(dist.detach()), 1 - NU)
                values += [R.item(), (q - R).abs().item()]
            loss_epoch += loss.item()
            n_batches += 1
        scheduler.step()
        values += [loss_epoch / n_batches, scheduler.get_last_lr()[0]]

    idx_label_score = []
    net.eval()
    test = torch.utils.data.TensorDataset(
        as_tensor(torch, init["test"]),
        as_tensor(torch, init["labels"]),
        torch.arange(len(init["test"])),
    )
    with torch.no_grad():
        for inputs, labels, idx in torch.utils.data.DataLoader(test, batch_size=4):
            outputs = net(inputs)
            dist = torch.sum((outputs - c) ** 2, dim=1)
            scores = dist - R**2 if objective == "soft-boundary" else dist
            idx_label_score += list(
                zip(
                    idx.cpu().data.numpy().tolist(),
                    labels.cpu().data.numpy().tolist(),
                    scores.cpu().data.numpy().tolist(),
                )
            )
    _, labels, scores = zip(*idx_label_score)
    values += list(scores)
    anomalous = np.array(scores)[np.array(labels) == 1]
    values += [float(np.mean(anomalous) > np.mean(np.array(scores)[np.array(labels) == 0]))]
    values += net.bn1.running_var.tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    values = ensembles(torch_like, init)
    values += deep_svdd(torch_like, init, "one-class", "adam")
    values += deep_svdd(torch_like, init, "soft-boundary", "amsgrad")
    return values
