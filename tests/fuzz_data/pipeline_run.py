"""Running a data-pipeline :class:`~.pipelines.Program` with one library (``torch`` or
``chainrule``) and recording its trace: every batch (as a canonical nested structure of
types, dtypes, shapes and values), ``len()``, ``random_split``'s indices, the errors' types,
and the global generator's and the program's generators' next draws; :func:`compare` lists
the differences between two traces and :func:`check` runs both and compares."""

from __future__ import annotations

import collections
import warnings
from typing import Any

import numpy as np
import torch

import chainrule as cr

from .pipelines import Program

__all__ = ["Pair", "canon", "check", "compare", "observe"]

Pair = collections.namedtuple("Pair", ["a", "b"])


class _Err:
    """An error in a trace: torch's type must be among chainrule's type's bases."""

    def __init__(self, where: str, exc: BaseException) -> None:
        self.where = where
        self.names = tuple(c.__name__ for c in type(exc).__mro__)
        self.msg = str(exc)[:160]

    def __repr__(self) -> str:
        return f"<{self.where}: {self.names[0]}: {self.msg}>"


def _sample(lib: Any, style: str, i: int) -> Any:
    """Sample ``i`` of a dataset of ``style`` (the same data in both libraries)."""
    v = np.random.default_rng(i).standard_normal(3).round(3)
    if style == "tuple":
        return (lib.tensor(v[:2].astype(np.float32)), i)
    if style == "dict":
        return {"x": lib.tensor(v[:2]), "y": i * 0.5, "s": f"s{i}"}
    if style == "nested":
        return [[i, i / 4], lib.tensor([i, -i])]
    if style == "float":
        return i * 0.25
    if style == "int":
        return i - 3
    if style == "bool":
        return i % 3 == 0
    if style == "str":
        return f"item{i}"
    if style == "np":
        return v.astype(np.float32)
    if style == "npscalar":
        return np.float32(v[0])
    if style == "npmixed":
        return (np.arange(2, dtype=np.int64) + i, np.float64(v[1]), "x")
    if style == "named":
        return Pair(lib.tensor(float(v[0])), i)
    if style == "bytes":
        return b"ab" * (i % 3)
    if style == "dtypes":
        return (
            lib.tensor(v[:2].astype(np.float16)), lib.tensor(np.int32(i)),
            lib.tensor([i % 2 == 0]), lib.tensor(np.uint8(i)), lib.tensor(v[:2] + 1j * v[1:]),
        )  # fmt: skip
    if style == "mixnum":  # an int, then floats: torch.tensor of the batch promotes
        return i if i % 2 == 0 else i / 2
    if style == "mixnp":  # float32 and float64 arrays: stacked with promotion
        return v.astype(np.float32 if i % 2 else np.float64)
    if style == "ragged":  # tensors whose sizes differ: collating two fails
        return lib.tensor(v[: 1 + i % 3])
    if style == "raglist":  # lists whose lengths differ
        return [i] * (1 + i % 2)
    if style == "keys":  # dicts whose keys differ
        return {"a": i, ("b" if i % 2 else "c"): i * 0.5}
    if style == "ordered":
        return collections.OrderedDict([("z", i), ("a", lib.tensor(v[:1]))])
    if style == "none":
        return None
    if style == "zerod":
        return lib.tensor(v[0])
    if style == "grad":
        return lib.tensor(v[:2], requires_grad=True) * 2
    if style == "set":
        return {i, i + 1}
    if style == "npstr":
        return np.array([f"a{i}", "b"])
    if style == "bigint":  # past int64 from the fourth sample on
        return 2**63 - 3 + i
    if style == "complex":
        return complex(i, 1)
    if style == "np0d":
        return np.array(v[0]) if i % 2 else np.bool_(i % 3)
    if style == "deep":
        return {"a": {"b": [i, (i / 2, f"t{i}")]}, "c": (np.int16(i), lib.tensor([[i]]))}
    return lib.tensor(v.astype(np.float32))


def _classes(lib: Any) -> dict:
    data = lib.utils.data

    class Items(data.Dataset):
        def __init__(self, style: str, n: int) -> None:
            self.style, self.n = style, n

        def __getitem__(self, i: int) -> Any:
            return _sample(lib, self.style, range(self.n)[i])

        def __len__(self) -> int:
            return self.n

    class BatchedItems(Items):
        def __getitems__(self, indices: list) -> list:
            return [("batched", self[i]) for i in indices]

    class Stream(data.IterableDataset):
        def __init__(self, style: str, n: int) -> None:
            self.style, self.n = style, n

        def __iter__(self):
            return (_sample(lib, self.style, i) for i in range(self.n))

    class SizedStream(Stream):
        def __len__(self) -> int:
            return self.n

    class ListBatches(data.Sampler):
        def __init__(self, batches: tuple) -> None:
            self.batches = batches

        def __iter__(self):
            return iter([list(b) for b in self.batches])

        def __len__(self) -> int:
            return len(self.batches)

    return {
        "Items": Items, "BatchedItems": BatchedItems, "Stream": Stream,
        "SizedStream": SizedStream, "List": ListBatches,
    }  # fmt: skip


def _collate(lib: Any, name: str | None) -> Any:
    if name is None:
        return None
    return {
        "default": lib.utils.data.default_collate,
        "convert": lib.utils.data.default_convert,
        "count": lambda b: (len(b), b),
        "first": lambda b: b[0],
        "identity": lambda b: b,
    }[name]


def canon(lib: Any, x: Any) -> Any:
    """``x`` as nested tuples of plain values: type names, dtypes, shapes and values."""
    if isinstance(x, lib.Tensor):
        a = x.detach().numpy()
        return ("Tensor", str(x.dtype), tuple(x.shape), a.tolist(), bool(x.requires_grad))
    if isinstance(x, np.ndarray):
        return ("ndarray", str(x.dtype), x.shape, x.tolist())
    if isinstance(x, np.generic):
        return (type(x).__name__, x.item())
    if isinstance(x, dict):
        return (type(x).__name__, tuple((k, canon(lib, v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(canon(lib, v) for v in x))
    if isinstance(x, (bool, int, float, str, bytes)) or x is None:
        return (type(x).__name__, x)
    return ("object", type(x).__name__)


class _Run:
    def __init__(self, lib: Any, prog: Program) -> None:
        self.lib, self.prog = lib, prog
        self.gens: dict[int, Any] = {}
        self.cls = _classes(lib)
        self.trace: list = []

    def gen(self, spec: tuple | None) -> Any:
        if spec is None:
            return None
        if spec[1] not in self.gens:
            self.gens[spec[1]] = self.lib.Generator().manual_seed(1000 + spec[1])
        return self.gens[spec[1]]

    def dataset(self, spec: tuple) -> Any:
        data, kind = self.lib.utils.data, spec[0]
        if kind == "tensor":
            n = spec[1]
            x = self.lib.tensor(np.arange(2 * n, dtype=np.float32).reshape(n, 2) / 4)
            return data.TensorDataset(x, self.lib.tensor(np.arange(n, dtype=np.int64) * 3))
        style = spec[1]
        items, stream = self.cls["Items"], self.cls["Stream"]
        if kind == "map":
            return (self.cls["BatchedItems"] if spec[3] else items)(style, spec[2])
        if kind == "iter":
            return (self.cls["SizedStream"] if spec[3] else stream)(style, spec[2])
        if kind == "concat":
            a, b = (items(style, m) for m in spec[2])
            return a + b if spec[3] else data.ConcatDataset([a, b])
        if kind == "subset":
            return data.Subset(items(style, spec[2]), list(spec[3]))
        if kind == "split":
            parts = data.random_split(items(style, spec[2]), list(spec[3]), self.gen(spec[4]))
            self.trace.append(("split", tuple(tuple(int(i) for i in p.indices) for p in parts)))
            return parts[spec[5]]
        if kind == "chain":
            make = self.cls["SizedStream"] if spec[3] else stream
            a, b = (make(style, m) for m in spec[2])
            return a + b if spec[4] else data.ChainDataset([a, b])
        n = spec[2]
        x = self.lib.tensor(np.arange(n, dtype=np.float32))
        parts = (data.TensorDataset(x), items(style, n))
        return data.StackDataset(t=parts[0], u=parts[1]) if spec[3] else data.StackDataset(*parts)

    def sampler(self, spec: tuple | None, ds: Any) -> Any:
        data = self.lib.utils.data
        if spec is None:
            return None
        if spec[0] == "seq":
            return data.SequentialSampler(ds)
        if spec[0] == "dist":
            _, replicas, rank, shuffle, seed, drop_last, epoch = spec
            s = data.DistributedSampler(ds, replicas, rank, shuffle, seed, drop_last)
            if epoch is not None:
                s.set_epoch(epoch)
            return s
        if spec[0] == "list":  # any iterable of indices is a sampler
            return list(spec[1])
        if spec[0] == "random":
            return data.RandomSampler(ds, spec[1], spec[2], generator=self.gen(spec[3]))
        if spec[0] == "subsetrandom":
            return data.SubsetRandomSampler(list(spec[1]), generator=self.gen(spec[2]))
        weights = list(spec[1])
        return data.WeightedRandomSampler(weights, spec[2], spec[3], generator=self.gen(spec[4]))

    def loader(self) -> Any:
        prog, data = self.prog, self.lib.utils.data
        ds = self.dataset(prog.dataset)
        self.trace.append(("dslen", _len(ds)))
        sampler = self.sampler(prog.sampler, ds)
        if sampler is not None:
            self.trace.append(("samplerlen", _len(sampler)))
        bs = prog.batch_sampler
        kwargs = dict(prog.loader)
        if bs is not None and bs[0] == "batch":
            inner = sampler if sampler is not None else data.SequentialSampler(ds)
            kwargs["batch_sampler"] = data.BatchSampler(inner, bs[1], bs[2])
        elif bs is not None:
            batches = self.cls["List"](bs[1]) if bs[0] == "custom" else [list(b) for b in bs[1]]
            kwargs["batch_sampler"] = batches
            if sampler is not None:
                kwargs["sampler"] = sampler
        elif sampler is not None:
            kwargs["sampler"] = sampler
        if "generator" in kwargs:
            kwargs["generator"] = self.gen(kwargs["generator"])
        if "collate_fn" in kwargs:
            kwargs["collate_fn"] = _collate(self.lib, kwargs["collate_fn"])
        loader = data.DataLoader(ds, **kwargs)
        self.trace.append(("attrs", *(type(getattr(loader, k)).__name__ for k in _KINDS)))
        self.trace.append(("attrs", *(getattr(loader, k) for k in _VALUES)))
        return loader

    def run(self) -> list:
        lib = self.lib
        lib.manual_seed(self.prog.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loader = self.loader()
                for act in self.prog.actions:
                    self.act(loader, act)
            except Exception as exc:  # noqa: BLE001 - the error is part of the trace
                self.trace.append(_Err("run", exc))
        self.trace.append(("rand", lib.rand(3).numpy().tolist()))
        for seed in sorted(self.gens):
            draws = lib.rand(2, generator=self.gens[seed]).numpy().tolist()
            self.trace.append(("gen", seed, draws))
        return self.trace

    def act(self, loader: Any, act: tuple) -> None:
        lib = self.lib
        if act[0] == "epoch":
            self.trace.append(("epoch", tuple(canon(lib, b) for b in loader)))
        elif act[0] == "partial":
            it, got = iter(loader), []
            for _ in range(act[1]):
                try:
                    got.append(canon(lib, next(it)))
                except StopIteration:
                    break
            self.trace.append(("partial", tuple(got)))
        elif act[0] == "rand":
            self.trace.append(("rand", lib.rand(3).numpy().tolist()))
        elif act[0] == "sampler":  # the loader's sampler and batch sampler, iterated directly
            if isinstance(loader.dataset, lib.utils.data.IterableDataset):
                return  # an endless sampler of Nones
            for name in ("sampler", "batch_sampler"):
                obj = getattr(loader, name)
                if obj is not None:
                    self.trace.append((name, tuple(canon(lib, i) for i in obj), _len(obj)))
        elif act[0] == "setepoch":
            loader.sampler.set_epoch(act[1])
        else:
            self.trace.append(("len", _len(loader)))


_KINDS = ("sampler", "batch_sampler", "collate_fn")
_VALUES = ("batch_size", "drop_last", "num_workers", "pin_memory", "timeout", "prefetch_factor")


def _len(obj: Any) -> Any:
    try:
        return len(obj)
    except Exception as exc:  # noqa: BLE001 - the error is part of the trace
        return _Err("len", exc)


def observe(lib: Any, prog: Program) -> list:
    """The trace of ``prog`` run with ``lib`` (``torch`` or ``chainrule``)."""
    return _Run(lib, prog).run()


def _same(t: Any, c: Any) -> bool:
    if isinstance(t, _Err) or isinstance(c, _Err):
        return isinstance(t, _Err) and isinstance(c, _Err) and t.names[0] in c.names
    if isinstance(t, (tuple, list)) and isinstance(c, (tuple, list)):
        return len(t) == len(c) and all(_same(a, b) for a, b in zip(t, c))
    if isinstance(t, float) and isinstance(c, float):
        return t == c or (t != t and c != c)
    return type(t) is type(c) and t == c


def compare(t_trace: list, c_trace: list) -> list[str]:
    """The differences between torch's trace and chainrule's, first ones first."""
    diffs = []
    for k, (t, c) in enumerate(zip(t_trace, c_trace)):
        if not _same(t, c):
            diffs.append(f"event {k}: torch {t!r:.600} | chainrule {c!r:.600}")
    if len(t_trace) != len(c_trace):
        diffs.append(f"trace lengths: torch {len(t_trace)}, chainrule {len(c_trace)}")
    return diffs


def check(prog: Program) -> list[str]:
    """Run ``prog`` on both libraries; the differences (empty when they agree)."""
    return compare(observe(torch, prog), observe(cr, prog))
