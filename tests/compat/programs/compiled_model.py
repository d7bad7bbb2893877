"""``model = torch.compile(model)`` in a training script, then nanoGPT's checkpoint idiom:
the compiled model's ``state_dict`` keys carry ``_orig_mod.``, which the loading code strips
(``unwanted_prefix = '_orig_mod.'``) before loading into a fresh, uncompiled model.

The compile call uses ``backend="eager"`` so that PyTorch's run needs no C++ toolchain;
chainrule runs every backend eagerly and warns that it does (the warning is silenced here as
a script's ``warnings.filterwarnings`` would; the test suite turns warnings into errors).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 3))


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(17)
    x = as_tensor(torch_like, rng.standard_normal((16, 5)))
    y = torch_like.from_numpy(rng.integers(0, 3, 16))
    raw_model = make_model(torch_like)
    load_numpy_state(torch_like, raw_model, init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = torch_like.compile(raw_model, backend="eager")
    optimizer = torch_like.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        loss = torch_like.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    keys = list(model.state_dict())
    assert all(k.startswith("_orig_mod.") for k in keys), keys
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ckpt.pt")
        torch_like.save({"model": model.state_dict(), "iter_num": 4}, path)
        checkpoint = torch_like.load(path, map_location="cpu")
    state_dict = checkpoint["model"]
    unwanted_prefix = "_orig_mod."
    for k in list(state_dict.keys()):
        if k.startswith(unwanted_prefix):
            state_dict[k[len(unwanted_prefix) :]] = state_dict.pop(k)
    fresh = make_model(torch_like)
    fresh.load_state_dict(state_dict)
    fresh.eval()
    model.eval()
    with torch_like.no_grad():
        same = torch_like.allclose(fresh(x), model(x))
    return [*losses, float(same), float(model.training), float(raw_model.training)]
