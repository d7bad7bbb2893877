"""The plain data of a data-pipeline program and :func:`draw`, which makes one from a seeded
NumPy generator. A failure prints as a :class:`Program` to paste into ``test_found_cases.py``.

Generators: ``None`` or ``("G", seed)``, a fresh ``Generator().manual_seed(seed)``; the same
seed twice in one program is the same generator object (shared by sampler and loader, say).

Datasets (``style`` is the sample style of :data:`STYLES`, samples are built from their
index so both libraries see the same data):

``("tensor", n)`` a TensorDataset of float32 (n, 2) and int64 (n,);
``("map", style, n, getitems)`` a Dataset, with ``__getitems__`` (batched fetches) or not;
``("iter", style, n, has_len)`` an IterableDataset, with or without ``__len__``;
``("concat", style, (n1, n2), plus)`` ConcatDataset (``a + b`` if ``plus``);
``("subset", style, n, indices)``; ``("split", style, n, lengths, generator, k)`` part ``k``
of ``random_split`` (lengths or fractions); ``("chain", style, (n1, n2), has_len, plus)`` a
ChainDataset of iterables (``a + b`` if ``plus``);
``("stack", style, n, keyword)`` StackDataset of a TensorDataset and a map dataset.

Samplers: ``("seq",)``, ``("random", replacement, num_samples, generator)``,
``("subsetrandom", indices, generator)``, ``("weighted", weights, num_samples, replacement,
generator)``, ``("dist", num_replicas, rank, shuffle, seed, drop_last, epoch)`` a
DistributedSampler (``set_epoch(epoch)`` first unless ``None``). Batch samplers:
``("batch", batch_size, drop_last)`` over the sampler (or a
SequentialSampler), ``("custom", ((0, 1), (2,), ...))`` a Sampler subclass yielding lists.

Loader options: ``batch_size``, ``shuffle``, ``drop_last``, ``generator``, ``num_workers``,
``collate_fn`` (a name of :data:`COLLATES`). Actions: ``("epoch",)`` a whole epoch,
``("partial", k)`` ``k`` batches then a break, ``("rand",)`` the next ``rand(3)`` of the
global generator, ``("len",)`` ``len(loader)``, ``("sampler",)`` the loader's sampler and
batch sampler iterated directly, ``("setepoch", e)`` the loader's sampler's ``set_epoch(e)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["COLLATES", "STYLES", "Program", "draw"]

STYLES = (
    "tuple", "dict", "nested", "float", "int", "bool", "str", "np", "npscalar", "npmixed",
    "named", "tensor", "bytes", "dtypes", "mixnum", "mixnp", "ragged", "raglist", "keys",
    "ordered", "none", "zerod", "grad", "set", "npstr", "bigint", "complex", "np0d", "deep",
)  # fmt: skip
COLLATES = ("default", "convert", "count", "first", "identity")


@dataclass(frozen=True)
class Program:
    """One data pipeline: the dataset, sampler, batch sampler, loader options and actions,
    built after ``manual_seed(seed)``."""

    dataset: tuple
    sampler: tuple | None = None
    batch_sampler: tuple | None = None
    loader: tuple = ()
    actions: tuple = (("epoch",),)
    seed: int = 0


def _pick(rng: np.random.Generator, options: tuple) -> Any:
    return options[int(rng.integers(0, len(options)))]


def _gen(rng: np.random.Generator, p: float = 0.5) -> tuple | None:
    return ("G", int(rng.integers(0, 4))) if rng.random() < p else None


def _draw_dataset(rng: np.random.Generator, kinds: tuple) -> tuple:
    kind = _pick(rng, kinds)
    style = _pick(rng, STYLES)
    n = int(rng.integers(0, 9)) if rng.random() < 0.1 else int(rng.integers(1, 9))
    if kind == "tensor":
        return ("tensor", n)
    if kind == "map":
        return ("map", style, n, bool(rng.random() < 0.3))
    if kind == "iter":
        return ("iter", style, n, bool(rng.random() < 0.5))
    if kind == "concat":
        return ("concat", style, (n, int(rng.integers(0, 5))), bool(rng.random() < 0.3))
    if kind == "subset":
        m = int(rng.integers(0, n + 3))
        return ("subset", style, n, tuple(int(i) for i in rng.integers(0, n, m)) if n else ())
    if kind == "split":
        if rng.random() < 0.5:
            k = int(rng.integers(1, 4))
            cuts = np.sort(rng.integers(0, n + 1, k - 1))
            lengths = tuple(int(b - a) for a, b in zip([0, *cuts], [*cuts, n]))
        else:
            lengths = _pick(rng, ((0.5, 0.5), (0.3, 0.7), (0.2, 0.3, 0.5), (0.1, 0.9), (1.0,)))
        if rng.random() < 0.05:
            # (negative lengths summing to n: torch slices its permutation from a negative
            # offset; chainrule's clear error: steered around)
            lengths = _pick(rng, ((1, n + 1), (0.5, 0.6), (n, 0, 1)))
        part = int(rng.integers(0, len(lengths)))
        return ("split", style, n, lengths, _gen(rng), part)
    if kind == "chain":
        sizes = (n, int(rng.integers(0, 5)))
        return ("chain", style, sizes, bool(rng.random() < 0.5), bool(rng.random() < 0.3))
    return ("stack", style, n, bool(rng.random() < 0.5))


def _length(ds: tuple) -> int:
    """The number of samples of a dataset spec (0 for a broken one)."""
    kind = ds[0]
    if kind == "tensor":
        return ds[1]
    if kind in ("concat", "chain"):
        return sum(ds[2])
    if kind == "subset":
        return len(ds[3])
    if kind == "split":
        n, lengths = ds[2], ds[3]
        if all(isinstance(x, int) for x in lengths):
            return max(lengths[ds[5]], 0)
        return int(n * lengths[ds[5]])  # roughly (the remainder is handed out)
    return ds[2]


def _draw_dist(rng: np.random.Generator) -> tuple:
    """A ``DistributedSampler`` spec: ``("dist", num_replicas, rank, shuffle, seed,
    drop_last, epoch)`` (rarely a rank out of range; ``epoch``: a ``set_epoch`` first)."""
    replicas = int(rng.integers(1, 5))
    rank = int(rng.integers(0, replicas))
    if rng.random() < 0.05:
        rank = _pick(rng, (replicas, -1))
    shuffle = bool(rng.random() < 0.6)
    epoch = int(rng.integers(0, 4)) if rng.random() < 0.4 else None
    return (
        "dist",
        replicas,
        rank,
        shuffle,
        int(rng.integers(0, 3)),
        bool(rng.random() < 0.4),
        epoch,
    )


def _draw_sampler(rng: np.random.Generator, n: int) -> tuple:
    if rng.random() < 0.12:
        return _draw_dist(rng)
    k = rng.random()
    if k < 0.1:
        return ("seq",)
    if k < 0.15:
        idx = [int(i) for i in rng.integers(0, max(n, 1), int(rng.integers(0, 6)))]
        if idx and rng.random() < 0.2:  # a negative or out-of-range index
            idx[int(rng.integers(0, len(idx)))] = _pick(rng, (-1, -n, n, n + 2))
        return ("list", tuple(idx))
    if k < 0.55:
        num = None if rng.random() < 0.5 else int(rng.integers(1, 12))
        if rng.random() < 0.15:  # past PyTorch's blocks of 32 draws with replacement
            num = int(rng.integers(30, 100))
        repl = bool(rng.random() < 0.4)
        if rng.random() < 0.03:
            num = _pick(rng, (0, -2, 2.5))
        if rng.random() < 0.03:
            repl = _pick(rng, (1, "yes"))
        return ("random", repl, num, _gen(rng))
    if k < 0.75:
        idx = tuple(int(i) for i in rng.integers(0, max(n, 1), int(rng.integers(0, n + 2))))
        return ("subsetrandom", idx if n else (), _gen(rng))
    weights = tuple(float(w) for w in np.round(rng.random(max(n, 1)) * 3, 2))
    if rng.random() < 0.3:
        weights = tuple(0.0 if rng.random() < 0.4 else w for w in weights)
    repl = bool(rng.random() < 0.6)
    num = int(rng.integers(1, 12)) if repl else int(rng.integers(1, max(n, 1) + 1))
    nonzero = sum(w > 0 for w in weights)
    if not repl and nonzero and num > nonzero:
        # past the non-zero weights torch.multinomial orders the zero ones as its topk
        # leaves ties (an unspecified order, not emulated): steered around
        num = nonzero
    if rng.random() < 0.05:
        num = _pick(rng, (0, max(n, 1) + 3, 1.5))
    return ("weighted", weights, num, repl, _gen(rng))


def draw(rng: np.random.Generator, kinds: tuple | None = None, workers: bool = False) -> Program:
    """A random pipeline; ``kinds`` restricts the dataset kinds, ``workers`` allows
    ``num_workers=2`` (slow: a process start per epoch)."""
    kinds = kinds or ("tensor", "map", "iter", "concat", "subset", "split", "chain", "stack")
    ds = _draw_dataset(rng, kinds)
    n = _length(ds)
    iterable = ds[0] in ("iter", "chain")
    sampler = batch_sampler = None
    loader: dict = {}
    if not iterable and rng.random() < 0.45:
        sampler = _draw_sampler(rng, n)
    if not iterable and rng.random() < 0.2:
        if rng.random() < 0.6:
            bs = int(rng.integers(1, 5)) if rng.random() > 0.03 else _pick(rng, (0, True))
            drop = bool(rng.random() < 0.4) if rng.random() > 0.03 else "yes"
            batch_sampler = ("batch", bs, drop)
        else:
            batches = []
            for _ in range(int(rng.integers(0, 4))):
                size = int(rng.integers(1, 4))
                batches.append(tuple(int(i) for i in rng.integers(0, max(n, 1), size)))
            batch_sampler = (_pick(rng, ("custom", "lists")), tuple(batches))
            if rng.random() < 0.9:  # (with a sampler too: the loader's ValueError)
                sampler = None
    if batch_sampler is None:
        loader["batch_size"] = _pick(rng, (None, 1, 1, 2, 2, 3, 4, 5))
        if rng.random() < 0.4 and (loader["batch_size"] is not None or rng.random() < 0.1):
            loader["drop_last"] = bool(rng.random() < 0.6)
        if sampler is None and not iterable and rng.random() < 0.5:
            loader["shuffle"] = _pick(rng, (True, True, False, None))
    if rng.random() < 0.4:
        loader["generator"] = _gen(rng, 1.0)
    if rng.random() < 0.4:
        loader["collate_fn"] = _pick(rng, COLLATES)
    if workers and rng.random() < 0.5 and len(ds) > 1 and ds[1] != "grad":
        # (samples with autograd history: torch's worker fails to pickle a batch holding
        # them in its queue's feeder thread and the loader then hangs: steered around)
        loader["num_workers"] = 2
        if rng.random() < 0.3:
            loader["persistent_workers"] = True
        if rng.random() < 0.3:
            loader["prefetch_factor"] = int(rng.integers(1, 4))
    if rng.random() < 0.06:  # an invalid or conflicting option
        key, value = _pick(
            rng,
            (
                ("batch_size", 0), ("batch_size", -1), ("batch_size", 2.0), ("shuffle", True),
                ("drop_last", True), ("num_workers", -1), ("sampler_conflict", True),
                ("prefetch_factor", 2), ("persistent_workers", True), ("timeout", -1),
            ),
        )  # fmt: skip
        if key == "sampler_conflict":
            sampler = sampler or ("seq",)
            loader["shuffle"] = True
        else:
            loader[key] = value
    actions: list = []
    for _ in range(int(rng.integers(1, 4))):
        k = rng.random()
        if k < 0.6:
            actions.append(("epoch",))
        elif k < 0.75:
            k = int(rng.integers(0, 3)) if rng.random() < 0.7 else int(rng.integers(3, 30))
            actions.append(("partial", k))
        elif k < 0.82:
            actions.append(("rand",))
        elif k < 0.9:
            actions.append(("sampler",))
        else:
            actions.append(("len",))
    if sampler is not None and sampler[0] == "dist":  # the per-epoch reshuffle of a loop
        for _ in range(int(rng.integers(0, 3))):
            where = int(rng.integers(0, len(actions) + 1))
            actions.insert(where, ("setepoch", int(rng.integers(0, 5))))
    actions.append(("rand",))
    return Program(
        ds, sampler, batch_sampler, tuple(loader.items()), tuple(actions),
        int(rng.integers(0, 2**16)),
    )  # fmt: skip
