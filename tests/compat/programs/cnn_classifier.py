"""A small CNN image classifier trained the tutorial way.

Idioms: a ``Module`` subclass with ``F.relu``/``F.max_pool2d``/``flatten``, ``TensorDataset`` and a
``DataLoader`` with two worker processes, ``model.train()``/``model.eval()``, ``no_grad`` for the
evaluation pass, ``argmax`` accuracy with ``.sum().item()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_CLASSES = 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.conv2 = nn.Conv2d(4, 6, 3)
            self.fc = nn.Linear(6 * 2 * 2, N_CLASSES)

        def forward(self, x: Any) -> Any:
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.relu(self.conv2(x))
            x = torch_like.flatten(x, 1)
            return self.fc(x)

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    data = torch_like.utils.data
    rng = np.random.default_rng(1)
    images = as_tensor(torch_like, rng.standard_normal((24, 1, 8, 8)))
    labels = as_tensor(torch_like, rng.integers(0, N_CLASSES, 24))
    train_loader = data.DataLoader(
        data.TensorDataset(images[:16], labels[:16]), batch_size=8, shuffle=False, num_workers=2
    )
    test_loader = data.DataLoader(data.TensorDataset(images[16:], labels[16:]), batch_size=4)

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = torch_like.nn.CrossEntropyLoss()
    optimizer = torch_like.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    losses = []
    for _epoch in range(2):
        model.train()
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    model.eval()
    correct, total, test_loss = 0, 0, 0.0
    with torch_like.no_grad():
        for inputs, targets in test_loader:
            outputs = model(inputs)
            test_loss += criterion(outputs, targets).item()
            _, predicted = torch_like.max(outputs, 1)
            total += targets.size(0)
            correct += (predicted == targets).sum().item()
    return [*losses, test_loss, correct / total]
