"""Pretrained weights by URL: a model's state dict is saved with ``torch_like.save`` as
``weights-<sha256 prefix>.pth`` (PyTorch's naming for published checkpoints), a fresh model
loads it with ``torch_like.hub.load_state_dict_from_url("file://...", model_dir=...,
check_hash=True)``, a second call is served from the cache (the source file is gone by
then), and the model is fine-tuned a few steps with SGD + momentum. Each run uses its own
temporary folder, so the torch and chainrule runs never share a cached file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

STEPS = 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def _publish(torch_like: Any, model: Any, folder: Path) -> str:
    """Save ``model``'s weights under a name carrying their SHA-256 prefix; its file URL."""
    tmp = folder / "weights.tmp"
    torch_like.save(model.state_dict(), tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    published = folder / f"weights-{digest[:10]}.pth"
    os.replace(tmp, published)
    return published.as_uri()


def run(torch_like: Any, init: dict | None) -> list[float]:
    pretrained = make_model(torch_like)
    load_numpy_state(torch_like, pretrained, init)
    rng = np.random.default_rng(11)
    x = as_tensor(torch_like, rng.standard_normal((16, 5)))
    y = as_tensor(torch_like, rng.integers(0, 3, 16))
    with tempfile.TemporaryDirectory() as tmp:
        server, cache = Path(tmp) / "server", Path(tmp) / "cache"
        server.mkdir()
        url = _publish(torch_like, pretrained, server)
        state = torch_like.hub.load_state_dict_from_url(
            url, model_dir=str(cache), map_location="cpu", progress=False, check_hash=True
        )
        os.remove(server / url.rsplit("/", 1)[1])
        again = torch_like.hub.load_state_dict_from_url(url, model_dir=str(cache), progress=False)
        assert sorted(os.listdir(cache)) == [url.rsplit("/", 1)[1]]
    assert all(torch_like.equal(state[k], again[k]) for k in state)
    model = make_model(torch_like)
    model.load_state_dict(state)
    optimizer = torch_like.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch_like.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
