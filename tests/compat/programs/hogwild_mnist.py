"""PyTorch's Hogwild example (pytorch/examples ``mnist_hogwild``), size-reduced: a model put
in shared memory with ``model.share_memory()``, ``num_processes`` workers started with
``mp.Process(target=train, args=(rank, args, model, dataset, ...))``, each seeding itself with
``seed + rank`` and training the *same* model with ``optim.SGD(momentum=...)`` over a
``DataLoader``, ``p.join()``, then ``test`` on the trained model in the parent
(``F.nll_loss(..., reduction='sum')``, ``argmax`` accuracy).

Changes from the example, each to make both frameworks' runs comparable number for number:

- MNIST's 28x28 images and its conv net -> a synthetic 8x8 problem (a random linear teacher)
  and an MLP (``fc1 -> relu -> fc2 -> log_softmax``), without dropout (its masks come from
  each framework's own random stream);
- each worker trains on its own slice of the data (``rank::num_processes``) without
  shuffling, for the same reason;
- Hogwild's workers race, lock-free: which update lands first depends on the scheduler.
  Here worker 1 starts after worker 0 has been joined, so the updates are applied in one
  order and the result is deterministic; it still proves what Hogwild relies on: a child's
  optimizer steps write into the parent's parameters through shared memory;
- the example sets the "spawn" start method; this program uses a "fork" context (fast: the
  child does not re-import the framework, and it inherits the test's default dtype), and
  each worker first calls ``set_num_threads(1)``, as DataLoader workers do: a forked child
  must not use the parent's OpenMP thread pool (PyTorch's run hangs without it);
- each worker sends its training losses back on a ``Queue`` (floats), so they are compared
  too.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["check", "init_state", "run", "test", "train"]

N_IN, HIDDEN, N_CLASSES, N_TRAIN, N_TEST = 64, 32, 10, 96, 40


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    """The model's initial weights and the data, drawn once with NumPy."""
    rng = np.random.default_rng(11)
    teacher = rng.standard_normal((N_IN, N_CLASSES))
    x = rng.random((N_TRAIN + N_TEST, N_IN))
    return {
        "fc1.weight": rng.uniform(-0.125, 0.125, (HIDDEN, N_IN)),
        "fc1.bias": rng.uniform(-0.125, 0.125, HIDDEN),
        "fc2.weight": rng.uniform(-0.18, 0.18, (N_CLASSES, HIDDEN)),
        "fc2.bias": rng.uniform(-0.18, 0.18, N_CLASSES),
        "x": x,
        "y": np.argmax(x @ teacher, axis=1),
    }


def _net_class(torch_like: Any) -> type:
    nn, F = torch_like.nn, torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(N_IN, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, N_CLASSES)

        def forward(self, x: Any) -> Any:
            x = F.relu(self.fc1(x))
            return F.log_softmax(self.fc2(x), dim=1)

    return Net


def train(rank: int, args: Any, model: Any, dataset: Any, losses: Any) -> None:
    """One Hogwild worker: its own seed, loader and optimizer, the shared model."""
    torch = args.torch
    torch.set_num_threads(1)  # as DataLoader workers do: a forked child's thread pool is unsafe
    torch.manual_seed(args.seed + rank)
    part = torch.utils.data.Subset(dataset, list(range(rank, len(dataset), args.num_processes)))
    train_loader = torch.utils.data.DataLoader(part, batch_size=args.batch_size, shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    got = []
    for _epoch in range(args.epochs):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            got.append(loss.item())
    losses.put((rank, got))


def test(args: Any, model: Any, dataset: Any) -> list[float]:
    torch = args.torch
    model.eval()
    test_loss, correct = 0.0, 0
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.test_batch_size)
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += torch.nn.functional.nll_loss(output, target, reduction="sum").item()
            pred = output.max(1)[1]
            correct += pred.eq(target).sum().item()
    return [test_loss / len(dataset), correct / len(dataset)]


def run(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch, mp = torch_like, torch_like.multiprocessing
    args = SimpleNamespace(
        torch=torch_like, seed=1, num_processes=2, batch_size=8, test_batch_size=20,
        epochs=2, lr=0.05, momentum=0.5,
    )  # fmt: skip
    torch.manual_seed(args.seed)
    model = _net_class(torch_like)()
    model.load_state_dict({k: as_tensor(torch, v) for k, v in init.items() if "." in k})
    model.share_memory()
    shared = [float(p.is_shared()) for p in model.parameters()]

    x, y = as_tensor(torch, init["x"]), as_tensor(torch, init["y"])
    train_set = torch.utils.data.TensorDataset(x[:N_TRAIN], y[:N_TRAIN])
    test_set = torch.utils.data.TensorDataset(x[N_TRAIN:], y[N_TRAIN:])

    ctx = mp.get_context("fork")
    losses = ctx.Queue()
    before = test(args, model, test_set)
    for rank in range(args.num_processes):  # one after the other: see the docstring
        p = ctx.Process(target=train, args=(rank, args, model, train_set, losses))
        p.start()
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"worker {rank} failed with exit code {p.exitcode}")
    per_rank = dict(losses.get(timeout=30) for _ in range(args.num_processes))
    after = test(args, model, test_set)
    values = shared + before + after
    for rank in range(args.num_processes):
        values += per_rank[rank]
    return values


def check(values: list[float]) -> None:
    assert values[:4] == [1.0] * 4  # every parameter in shared memory
    assert values[6] < values[4]  # the children's training lowered the parent's test loss
