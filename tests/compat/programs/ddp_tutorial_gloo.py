"""PyTorch's "Getting Started with Distributed Data Parallel" tutorial (its basic use case),
on CPU: ``mp.spawn(demo_basic, args=(world_size,), nprocs=world_size, join=True)`` starts the
processes, each one sets ``MASTER_ADDR``/``MASTER_PORT``, joins the group with
``dist.init_process_group("gloo", rank=rank, world_size=world_size)``, wraps the tutorial's
``ToyModel`` (``Linear(10, 10) -> ReLU -> Linear(10, 5)``) in
``DistributedDataParallel``, runs ``loss_fn(outputs, labels).backward()`` and
``optimizer.step()`` with ``nn.MSELoss`` and ``optim.SGD(lr=0.001)``, and calls
``dist.destroy_process_group()``.

Changes from the tutorial, each to compare the frameworks number for number:

- the tutorial's ``torch.randn`` inputs and labels come from each process's own random
  stream; here each rank takes its shard of one batch drawn with NumPy, and the weights are
  loaded from the same NumPy arrays on every rank (the tutorial relies on DDP's broadcast of
  rank 0's weights: both give every rank the same start);
- three steps instead of one, with ``lr=0.05``, so that the averaged gradients move the
  weights visibly;
- ``MASTER_PORT`` is a free port the parent asks the OS for, passed in ``args``, so runs do
  not collide;
- each rank writes its losses and its final weights to a file, which the parent reads back:
  the returned values are every rank's losses, then the final weights of rank 0; ``check``
  asserts that the ranks ended with the same weights (gradient averaging kept them in
  step) equal to one process training on the whole batch.
- the framework reaches the child processes by name (a module object does not pickle), and
  the children set the parent's default dtype, which a spawned process does not inherit.
"""

from __future__ import annotations

import importlib
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check", "demo_basic", "init_state", "run"]

WORLD_SIZE, STEPS, LR, BATCH = 2, 3, 0.05, 8


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    """The ToyModel's weights and one batch (inputs, labels), drawn once with NumPy."""
    rng = np.random.default_rng(5)
    return {
        "net1.weight": rng.uniform(-0.3, 0.3, (10, 10)),
        "net1.bias": rng.uniform(-0.3, 0.3, 10),
        "net2.weight": rng.uniform(-0.3, 0.3, (5, 10)),
        "net2.bias": rng.uniform(-0.3, 0.3, 5),
        "x": rng.standard_normal((BATCH, 10)),
        "y": rng.standard_normal((BATCH, 5)),
    }


def _toy_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class ToyModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net1 = nn.Linear(10, 10)
            self.relu = nn.ReLU()
            self.net2 = nn.Linear(10, 5)

        def forward(self, x: Any) -> Any:
            return self.net2(self.relu(self.net1(x)))

    return ToyModel()


def _load(torch_like: Any, model: Any, init: dict) -> None:
    model.load_state_dict({k: torch_like.tensor(v) for k, v in init.items() if "." in k})


def demo_basic(
    rank: int, world_size: int, framework: str, port: int, init: dict, out: str, dtype: str
) -> None:
    """One process of the tutorial (module level: spawn pickles it by name)."""
    torch_like = importlib.import_module(framework)
    dist = importlib.import_module(f"{framework}.distributed")
    ddp = importlib.import_module(f"{framework}.nn.parallel").DistributedDataParallel
    torch_like.set_default_dtype(getattr(torch_like, dtype))
    torch_like.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    model = _toy_model(torch_like)
    _load(torch_like, model, init)
    ddp_model = ddp(model)
    loss_fn = torch_like.nn.MSELoss()
    optimizer = torch_like.optim.SGD(ddp_model.parameters(), lr=LR)
    shard = slice(rank * BATCH // world_size, (rank + 1) * BATCH // world_size)
    x, y = torch_like.tensor(init["x"][shard]), torch_like.tensor(init["y"][shard])
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = loss_fn(ddp_model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    weights = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    np.savez(Path(out) / f"rank{rank}.npz", losses=np.array(losses), weights=weights)
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _single_process_weights(torch_like: Any, init: dict) -> np.ndarray:
    """The same steps in one process on the whole batch (what DDP must be equivalent to)."""
    model = _toy_model(torch_like)
    _load(torch_like, model, init)
    optimizer = torch_like.optim.SGD(model.parameters(), lr=LR)
    x, y = torch_like.tensor(init["x"]), torch_like.tensor(init["y"])
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch_like.nn.MSELoss()(model(x), y).backward()
        optimizer.step()
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def run(torch_like: Any, init: dict) -> list[float]:
    mp = importlib.import_module(f"{torch_like.__name__}.multiprocessing")
    dtype = str(torch_like.get_default_dtype()).rsplit(".", 1)[-1]
    with tempfile.TemporaryDirectory() as out:
        args = (WORLD_SIZE, torch_like.__name__, _free_port(), init, out, dtype)
        mp.spawn(demo_basic, args=args, nprocs=WORLD_SIZE, join=True)
        ranks = [np.load(Path(out) / f"rank{r}.npz") for r in range(WORLD_SIZE)]
        losses = [float(v) for r in ranks for v in r["losses"]]
        weights = [r["weights"] for r in ranks]
    alone = _single_process_weights(torch_like, init)
    return [*losses, *weights[0], *(weights[1] - weights[0]), *(alone - weights[0])]


def check(values: list[float]) -> None:
    n = WORLD_SIZE * STEPS
    size = (len(values) - n) // 3
    same, vs_alone = values[n + size : n + 2 * size], values[n + 2 * size :]
    np.testing.assert_allclose(same, 0.0, atol=1e-12)  # the ranks stayed in step
    np.testing.assert_allclose(vs_alone, 0.0, atol=1e-12)  # = one process, whole batch
