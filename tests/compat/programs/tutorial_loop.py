"""A typical tutorial training script, idiom by idiom: ``device = "cuda" if
torch.cuda.is_available() else "cpu"``, ``torch.manual_seed``, ``torch.backends.cudnn.benchmark``,
``model.apply(init_fn)`` with ``nn.init.*``, ``model.to(device)``/``x.to(device)``, a parameter
count, ``optimizer.zero_grad()``, ``loss.item()`` in an f-string, ``scheduler.step()``,
``optimizer.param_groups[0]["lr"]``, ``inference_mode`` for evaluation and
``.detach().cpu().numpy()`` for the outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(5, 8)
            self.bn = nn.BatchNorm1d(8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x: Any) -> Any:
            return self.fc2(torch_like.relu(self.bn(self.fc1(x))))

    return MLP()


def run(torch_like: Any, init: dict | None) -> list[float]:
    nn = torch_like.nn
    torch_like.manual_seed(0)
    previous_benchmark = torch_like.backends.cudnn.benchmark
    torch_like.backends.cudnn.benchmark = True
    try:
        device = "cuda" if torch_like.cuda.is_available() else "cpu"
        device = torch_like.device(device)

        def init_weights(m: Any) -> None:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

        model = make_model(torch_like)
        model.apply(init_weights)
        assert model.fc1.bias.detach().abs().sum().item() == 0.0
        load_numpy_state(torch_like, model, init)  # the same starting point in both frameworks
        nn.init.constant_(model.fc2.bias, 0.1)
        nn.init.ones_(model.bn.weight)
        model = model.to(device)
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

        rng = np.random.default_rng(10)
        x_all = as_tensor(torch_like, rng.standard_normal((12, 5)))
        y_all = as_tensor(torch_like, rng.integers(0, 3, 12))
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch_like.optim.SGD(
            model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4
        )
        scheduler = torch_like.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)

        losses, log = [], []
        for epoch in range(4):
            model.train()
            x, y = x_all.to(device), y_all.to(device, non_blocking=True)
            optimizer.zero_grad()
            pred = model(x)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            log.append(
                f"epoch {epoch}: loss {loss.item():>7.4f} lr {optimizer.param_groups[0]['lr']:.5f}"
            )
        assert log[0].startswith("epoch 0: loss ")

        model.eval()
        with torch_like.inference_mode():
            logits = model(x_all.to(device))
            accuracy = (logits.argmax(1) == y_all).type(torch_like.float).mean().item()
        outputs = logits.detach().cpu().numpy()
        assert isinstance(outputs, np.ndarray) and outputs.shape == (12, 3)
        return [*losses, accuracy, float(outputs.sum()), float(n_params)]
    finally:
        torch_like.backends.cudnn.benchmark = previous_benchmark
