"""PyTorch's "Reproducibility" notes (``notes/randomness``) as training scripts apply them,
size-reduced: seeding, deterministic switches, explicit ``torch.Generator`` objects, and
saved/restored generator states, with a dropout model trained twice from the same seeds.

The idioms: ``torch.manual_seed(0)``, ``random.seed(0)``, ``np.random.seed(0)``;
``torch.use_deterministic_algorithms(True)`` (and ``warn_only=True``),
``torch.are_deterministic_algorithms_enabled()``,
``torch.is_deterministic_algorithms_warn_only_enabled()``,
``torch.backends.cudnn.benchmark = False`` / ``cudnn.deterministic = True`` set on a CPU
machine; the notes' ``seed_worker(worker_id)`` (``worker_seed = torch.initial_seed() %
2**32``) passed as ``worker_init_fn`` with ``g = torch.Generator(); g.manual_seed(0)`` as the
``DataLoader``'s ``generator=`` (shuffled batches); ``random_split(..., generator=
torch.Generator().manual_seed(42))``; ``torch.randperm``, ``torch.randint``, ``torch.rand``,
``Tensor.normal_``, ``torch.multinomial``, ``torch.bernoulli`` and ``nn.init.normal_`` each
given ``generator=g``; ``g.get_state()`` / ``g.set_state()``, ``g.initial_seed()``,
``torch.get_rng_state()`` / ``torch.set_rng_state()`` round trips and
``torch.random.fork_rng()``. PyTorch's CPU generator streams are reproduced by chainrule
value for value, so the draws themselves are compared, as are the losses of the two
identically seeded runs (which must also equal each other).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from ._common import as_tensor

EPOCHS = 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))


def seed_everything(torch_like: Any, seed: int) -> None:
    torch = torch_like
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def train_once(torch_like: Any, data: Any, labels: Any) -> tuple[list[float], list[int]]:
    torch = torch_like
    seed_everything(torch_like, 0)
    model = make_model(torch_like)  # initialised from the seeded global generator

    def seed_worker(worker_id: int) -> None:
        worker_seed = torch.initial_seed() % 2**32
        np.random.seed(worker_seed)
        random.seed(worker_seed)

    g = torch.Generator()
    g.manual_seed(0)
    dataset = torch.utils.data.TensorDataset(data, labels)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=4, shuffle=True, num_workers=0, worker_init_fn=seed_worker, generator=g
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses: list[float] = []
    order: list[int] = []
    for _ in range(EPOCHS):
        model.train()
        for x, y in loader:
            order.extend(x[:, 0].mul(1000).round().long().tolist())
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    seed_worker(0)
    losses.append(float(np.random.randint(0, 1000)))
    return losses, order


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    values: list[float] = []
    rng = np.random.default_rng(3)
    data = as_tensor(torch, np.round(rng.normal(size=(10, 4)), 3))
    labels = torch.tensor(rng.integers(0, 2, size=10))

    first, order1 = train_once(torch_like, data, labels)
    second, order2 = train_once(torch_like, data, labels)
    values.extend(first)
    values.extend(float(i) for i in order1)
    values.append(float(first == second and order1 == order2))
    values.append(float(torch.are_deterministic_algorithms_enabled()))
    values.append(float(torch.is_deterministic_algorithms_warn_only_enabled()))
    torch.use_deterministic_algorithms(True, warn_only=True)
    values.append(float(torch.is_deterministic_algorithms_warn_only_enabled()))
    torch.use_deterministic_algorithms(False)
    values.append(float(torch.are_deterministic_algorithms_enabled()))
    values.append(float(torch.initial_seed()))

    # explicit generators
    g = torch.Generator().manual_seed(1234)
    values.append(float(g.initial_seed()))
    state = g.get_state()
    values.extend(float(v) for v in torch.randperm(7, generator=g).tolist())
    values.extend(float(v) for v in torch.randint(0, 100, (5,), generator=g).tolist())
    values.extend(torch.rand(3, generator=g).tolist())
    values.extend(torch.empty(4).normal_(mean=1.0, std=0.5, generator=g).tolist())
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    values.extend(
        float(v) for v in torch.multinomial(probs, 6, replacement=True, generator=g).tolist()
    )
    values.extend(torch.bernoulli(torch.full((5,), 0.5), generator=g).tolist())
    w = torch.empty(2, 3)
    torch.nn.init.normal_(w, std=0.1, generator=g)
    values.extend(w.flatten().tolist())
    g.set_state(state)
    again = torch.randperm(7, generator=g)
    values.append(
        float(
            again.tolist()
            == torch.randperm(7, generator=torch.Generator().manual_seed(1234)).tolist()
        )
    )

    # random_split with its own generator, as the docs write it
    train_set, val_set = torch.utils.data.random_split(
        range(10), [0.7, 0.3], generator=torch.Generator().manual_seed(42)
    )
    values.extend(float(i) for i in list(train_set) + list(val_set))

    # the global generator's state: a round trip and fork_rng
    torch.manual_seed(7)
    saved = torch.get_rng_state()
    a = torch.randn(3)
    torch.set_rng_state(saved)
    b = torch.randn(3)
    values.extend(a.tolist())
    values.append(float(torch.equal(a, b)))
    with torch.random.fork_rng():
        torch.manual_seed(99)
        inner = torch.rand(2)
    after = torch.rand(2)
    torch.set_rng_state(saved)
    torch.randn(3)
    values.extend(inner.tolist() + after.tolist())
    values.append(float(torch.equal(after, torch.rand(2))))
    values.append(float(saved.dtype == torch.uint8))
    torch.backends.cudnn.deterministic = False  # the defaults back for what runs next
    return values
