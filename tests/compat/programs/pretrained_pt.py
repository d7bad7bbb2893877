"""Loading weights that PyTorch wrote: ``torch.save(model.state_dict(), "model.pt")`` by the real
PyTorch (float32, the default, with BatchNorm running statistics and ``num_batches_tracked``),
then ``torch_like.load(path, weights_only=True)``, ``load_state_dict`` and inference in
``eval()`` mode under ``no_grad``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor

DTYPE = "float32"
RTOL = 1e-5
ATOL = 1e-6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 6),
        nn.LayerNorm(6),
        nn.GELU(),
        nn.Linear(6, 3),
    )


def _inputs(torch_like: Any) -> Any:
    return as_tensor(
        torch_like, np.random.default_rng(7).standard_normal((3, 2, 5, 5)), dtype=torch_like.float32
    )


def init_state(tmp_path: Path) -> dict:
    """Train the model briefly in the real PyTorch and save its state dict as ``model.pt``."""
    import torch

    torch.manual_seed(0)
    model = make_model(torch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(4, 2, 5, 5) * 2 + 1
    for _ in range(2):  # moves the BatchNorm running statistics away from (0, 1)
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    return {"path": str(path)}


def run(torch_like: Any, init: dict | None) -> list[float]:
    assert init is not None
    model = make_model(torch_like)
    state_dict = torch_like.load(init["path"], map_location="cpu", weights_only=True)
    model.load_state_dict(state_dict)
    assert int(model[1].num_batches_tracked) == 2
    model.eval()
    with torch_like.no_grad():
        logits = model(_inputs(torch_like))
    probs = torch_like.softmax(logits, dim=1)
    return [*logits.flatten().tolist(), *probs.argmax(dim=1).tolist()]
