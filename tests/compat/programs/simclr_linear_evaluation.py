"""SimCLR linear evaluation with a frozen backbone, as the two best-known public implementations
write it, size-reduced: Spijkervet/SimCLR ``linear_evaluation.py`` (``simclr_model.eval()``,
``inference(loader, simclr_model, device)`` caching features under ``with torch.no_grad():``
with ``h = h.detach()``, ``feature_vector.extend(h.cpu().detach().numpy())``,
``labels_vector.extend(y.numpy())``, ``np.array(feature_vector)``;
``create_data_loaders_from_arrays`` with ``torch.utils.data.TensorDataset(
torch.from_numpy(X_train), torch.from_numpy(y_train))`` and ``DataLoader(train,
batch_size=batch_size, shuffle=False)``; a ``LogisticRegression`` ``nn.Linear`` trained with
``torch.optim.Adam(model.parameters(), lr=3e-4)`` and ``CrossEntropyLoss``, accuracy as
``(predicted == y).sum().item() / y.size(0)`` with ``outputs.argmax(1)``) and sthalles/SimCLR's
``mini-batch-logistic-regression-evaluator`` notebook (the whole network kept, the head
swapped with ``model.fc = torch.nn.Linear(dim, n_classes)``, everything but the head frozen by
``for name, param in model.named_parameters(): if name not in ['fc.weight', 'fc.bias']:
param.requires_grad = False``, ``parameters = list(filter(lambda p: p.requires_grad,
model.parameters()))``, ``assert len(parameters) == 2``, ``Adam(model.parameters(), lr=3e-4,
weight_decay=0.0008)``, ``accuracy(output, target, topk=(1,))`` with ``output.topk(maxk, 1,
True, True)``). A third variant freezes with ``backbone.requires_grad_(False)`` and trains the
probe on a shuffled ``DataLoader`` (``generator=torch.Generator().manual_seed(0)``), checking
that the frozen weights never change and receive no ``.grad``.

The ResNet becomes a two-conv ``nn.Sequential`` encoder with the projection head ``g``; CIFAR
becomes NumPy "images" whose class sets a channel pattern.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
N_CLASSES, FEAT, PROJ = 3, 8, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SimCLR(nn.Module):
        """Spijkervet's ``SimCLR(encoder, projection_dim, n_features)``."""

        def __init__(self, projection_dim: int, n_features: int) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(3, 4, 3, padding=1),
                nn.BatchNorm2d(4),
                nn.ReLU(),
                nn.Conv2d(4, n_features, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(),
            )
            self.n_features = n_features
            self.projector = nn.Sequential(
                nn.Linear(self.n_features, self.n_features, bias=False),
                nn.ReLU(),
                nn.Linear(self.n_features, projection_dim, bias=False),
            )

        def forward(self, x_i: Any, x_j: Any) -> tuple[Any, Any, Any, Any]:
            h_i = self.encoder(x_i)
            h_j = self.encoder(x_j)
            z_i = self.projector(h_i)
            z_j = self.projector(h_j)
            return h_i, h_j, z_i, z_j

    return SimCLR(PROJ, FEAT)


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, N_CLASSES, n)
    x = 0.3 * rng.standard_normal((n, 3, 6, 6))
    for i, c in enumerate(y):
        x[i, c] += 1.0
    return x.astype(np.float32), y.astype(np.int64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(5)
    device = torch.device("cpu")
    values: list[float] = []

    x_tr, y_tr = _data(rng, 24)
    x_te, y_te = _data(rng, 12)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
        batch_size=8,
        shuffle=False,
    )
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te)),
        batch_size=8,
        shuffle=False,
    )

    simclr_model = make_model(torch_like)
    load_numpy_state(torch_like, simclr_model, init)
    simclr_model = simclr_model.to(device)
    simclr_model.eval()

    # --- Spijkervet: cached features, a logistic regression on them
    def inference(loader: Any, simclr_model: Any, device: Any) -> tuple[np.ndarray, np.ndarray]:
        feature_vector = []
        labels_vector = []
        for step, (x, y) in enumerate(loader):
            x = x.to(device)

            # get encoding
            with torch.no_grad():
                h, _, z, _ = simclr_model(x, x)

            h = h.detach()

            feature_vector.extend(h.cpu().detach().numpy())
            labels_vector.extend(y.numpy())

            if step % 20 == 0:
                pass  # print(f"Step [{step}/{len(loader)}]\t Computing features...")

        feature_vector = np.array(feature_vector)
        labels_vector = np.array(labels_vector)
        return feature_vector, labels_vector

    def get_features(simclr_model: Any, train_loader: Any, test_loader: Any, device: Any) -> Any:
        train_X, train_y = inference(train_loader, simclr_model, device)
        test_X, test_y = inference(test_loader, simclr_model, device)
        return train_X, train_y, test_X, test_y

    def create_data_loaders_from_arrays(
        X_train: Any, y_train: Any, X_test: Any, y_test: Any, batch_size: int
    ) -> tuple[Any, Any]:
        train = torch.utils.data.TensorDataset(torch.from_numpy(X_train), torch.from_numpy(y_train))
        train_loader = torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=False)
        test = torch.utils.data.TensorDataset(torch.from_numpy(X_test), torch.from_numpy(y_test))
        test_loader = torch.utils.data.DataLoader(test, batch_size=batch_size, shuffle=False)
        return train_loader, test_loader

    train_X, train_y, test_X, test_y = get_features(simclr_model, train_loader, test_loader, device)
    assert train_X.shape == (24, FEAT) and train_X.dtype == np.float32
    arr_train_loader, arr_test_loader = create_data_loaders_from_arrays(
        train_X, train_y, test_X, test_y, 6
    )

    class LogisticRegression(nn.Module):
        def __init__(self, n_features: int, n_classes: int) -> None:
            super().__init__()
            self.model = nn.Linear(n_features, n_classes)

        def forward(self, x: Any) -> Any:
            return self.model(x)

    torch.manual_seed(0)
    model = LogisticRegression(simclr_model.n_features, N_CLASSES).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4 * 100)
    criterion = torch.nn.CrossEntropyLoss()

    def train(loader: Any, model: Any, criterion: Any, optimizer: Any) -> tuple[float, float]:
        loss_epoch = 0
        accuracy_epoch = 0
        for step, (x, y) in enumerate(loader):  # noqa: B007
            optimizer.zero_grad()
            x = x.to(device)
            y = y.to(device)
            output = model(x)
            loss = criterion(output, y)
            predicted = output.argmax(1)
            acc = (predicted == y).sum().item() / y.size(0)
            accuracy_epoch += acc
            loss.backward()
            optimizer.step()
            loss_epoch += loss.item()
        return loss_epoch, accuracy_epoch

    def test(loader: Any, model: Any, criterion: Any) -> tuple[float, float]:
        loss_epoch = 0
        accuracy_epoch = 0
        model.eval()
        for step, (x, y) in enumerate(loader):  # noqa: B007
            model.zero_grad()
            x = x.to(device)
            y = y.to(device)
            output = model(x)
            loss = criterion(output, y)
            predicted = output.argmax(1)
            acc = (predicted == y).sum().item() / y.size(0)
            accuracy_epoch += acc
            loss_epoch += loss.item()
        return loss_epoch, accuracy_epoch

    for _epoch in range(3):
        loss_epoch, accuracy_epoch = train(arr_train_loader, model, criterion, optimizer)
        values += [loss_epoch / len(arr_train_loader), accuracy_epoch / len(arr_train_loader)]
    loss_epoch, accuracy_epoch = test(arr_test_loader, model, criterion)
    values += [loss_epoch / len(arr_test_loader), accuracy_epoch / len(arr_test_loader)]

    # --- sthalles: the whole network, all but ``fc`` frozen by name
    class Backbone(nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            self.fc = nn.Linear(FEAT, PROJ)

        def forward(self, x: Any) -> Any:
            return self.fc(self.encoder(x))

    net = Backbone(make_model(torch_like).encoder)
    net.encoder.load_state_dict(simclr_model.encoder.state_dict())
    torch.manual_seed(1)
    net.fc = torch.nn.Linear(FEAT, N_CLASSES).to(device)
    # freeze all layers but the last fc
    for name, param in net.named_parameters():
        if name not in ["fc.weight", "fc.bias"]:
            param.requires_grad = False
    parameters = list(filter(lambda p: p.requires_grad, net.parameters()))
    assert len(parameters) == 2  # fc.weight, fc.bias
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-4 * 100, weight_decay=0.0008)
    criterion = torch.nn.CrossEntropyLoss().to(device)

    def accuracy(output: Any, target: Any, topk: tuple[int, ...] = (1,)) -> list[Any]:
        """Computes the accuracy over the k top predictions for the specified values of k"""
        with torch.no_grad():
            maxk = max(topk)
            batch_size = target.size(0)

            _, pred = output.topk(maxk, 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))

            res = []
            for k in topk:
                correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
                res.append(correct_k.mul_(100.0 / batch_size))
            return res

    frozen_before = net.encoder[0].weight.detach().clone()
    for _epoch in range(2):
        top1_train_accuracy = 0
        net.train()
        for counter, (x_batch, y_batch) in enumerate(train_loader):  # noqa: B007
            x_batch = x_batch.to(device)
            y_batch = y_batch.to(device)
            logits = net(x_batch)
            loss = criterion(logits, y_batch)
            top1 = accuracy(logits, y_batch, topk=(1,))
            top1_train_accuracy += top1[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        top1_train_accuracy /= counter + 1
        values.append(top1_train_accuracy.item())
    # BatchNorm's running statistics still move in train mode; the frozen weights do not
    assert net.encoder[0].weight.grad is None
    assert torch.equal(net.encoder[0].weight, frozen_before)
    values.append(net.encoder[1].running_mean.sum().item())

    # --- requires_grad_(False) on the backbone, a probe on a shuffled DataLoader
    backbone = make_model(torch_like).encoder
    backbone.load_state_dict(simclr_model.encoder.state_dict())
    backbone.requires_grad_(False)
    backbone.eval()
    assert not any(p.requires_grad for p in backbone.parameters())
    with torch.no_grad():
        feats = torch.cat([backbone(x) for x, _ in train_loader])
        labels = torch.cat([y for _, y in train_loader])
    assert not feats.requires_grad
    torch.manual_seed(2)
    probe = nn.Linear(FEAT, N_CLASSES)
    opt = torch.optim.SGD(probe.parameters(), lr=0.5, momentum=0.9)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(feats, labels),
        batch_size=8,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    for _epoch in range(2):
        for f, y in loader:
            loss = nn.functional.cross_entropy(probe(f), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(loss.item())
    # the backbone stays frozen end to end: a loss through it reaches only the probe
    out = probe(backbone(torch.from_numpy(x_te)))
    loss = nn.functional.cross_entropy(out, torch.from_numpy(y_te))
    loss.backward()
    assert all(p.grad is None for p in backbone.parameters())
    values.append(loss.item())
    values.append(float((out.argmax(dim=1) == torch.from_numpy(y_te)).float().mean()))
    return values
