"""Transfer-learning idioms: freeze a "pretrained" backbone with ``requires_grad_(False)``, swap
the classifier head for a new ``nn.Linear``, optimise only ``filter(lambda p: p.requires_grad,
...)``, then unfreeze the last block with a second parameter group at a smaller learning rate
(``add_param_group``), and drive the learning rate with ``ReduceLROnPlateau(val_loss)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_CLASSES = 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
            self.block2 = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2), nn.ReLU())
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(6, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(self.block2(self.block1(x)))
            return self.fc(torch_like.flatten(x, 1))

    model = Backbone()
    for param in model.parameters():
        param.requires_grad_(False)
    model.fc = nn.Linear(model.fc.in_features, N_CLASSES)  # new head: trainable
    return model


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(16)
    x = as_tensor(torch_like, rng.standard_normal((6, 3, 6, 6)))
    y = as_tensor(torch_like, rng.integers(0, N_CLASSES, 6))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"], trainable

    criterion = torch_like.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch_like.optim.SGD(
        filter(lambda p: p.requires_grad, model.parameters()), lr=0.5, momentum=0.9
    )
    scheduler = torch_like.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=0
    )
    values = []
    for epoch in range(4):
        if epoch == 2:  # unfreeze the last block, fine-tuned more gently
            for param in model.block2.parameters():
                param.requires_grad = True
            optimizer.add_param_group({"params": list(model.block2.parameters()), "lr": 0.05})
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch_like.no_grad():
            val_loss = criterion(model(x), y).item()
        scheduler.step(val_loss)
        values += [loss.item(), val_loss, optimizer.param_groups[0]["lr"]]
    assert model.block1[0].weight.grad is None
    return values
