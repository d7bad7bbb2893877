"""DataLoader(num_workers > 0): real worker processes, same batches as num_workers=0."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    TensorDataset,
    get_worker_info,
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def _wait_gone(pids, seconds: float = 8.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


class Squares(Dataset):
    """A map-style dataset that is not a TensorDataset (the general, per-sample path)."""

    def __init__(self, n: int = 23) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return {"x": np.full(2, i, np.float32), "y": i * i}


class WhoAmI(Dataset):
    """Each sample says which worker produced it, with its seed and random draws."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int):
        info = get_worker_info()
        return (
            info.id,
            info.seed,
            os.getpid(),
            float(cr.rand(1)),
            float(np.random.rand()),
            getattr(info.dataset, "tag", None),
        )


class Failing(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int):
        if i == 5:
            raise ValueError(f"bad sample {i}")
        return i


class Dying(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int):
        if i == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class Slow(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        time.sleep(1.0)
        return i


class Stream(IterableDataset):
    """Shards ``range(n)`` over workers with get_worker_info, as PyTorch's docs show."""

    def __init__(self, n: int = 11) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def _values(batches):
    return [b.tolist() if hasattr(b, "tolist") else b for b in batches]


def test_same_batches_as_single_process_general_and_fast_paths():
    for ds in (Squares(), TensorDataset(cr.arange(23.0), cr.arange(23))):
        runs = []
        for workers in (0, 2):
            cr.manual_seed(5)
            epochs = []
            loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers)
            for _ in range(2):
                batches = list(loader)
                key = "y" if isinstance(ds, Squares) else 1
                epochs.append([b[key].numpy().tolist() for b in batches])
            runs.append(epochs)
        assert runs[0] == runs[1]
        assert runs[0][0] != runs[0][1]  # each epoch reshuffles


def test_collated_types_cross_the_process_boundary():
    (batch,) = list(DataLoader(Squares(3), batch_size=3, num_workers=1))
    assert isinstance(batch["x"], cr.Tensor) and batch["x"].dtype == np.float32
    assert batch["y"].dtype == np.int64 and batch["y"].numpy().tolist() == [0, 1, 4]


def test_per_worker_seeding_and_worker_info():
    gen = cr.Generator().manual_seed(11)
    loader = DataLoader(WhoAmI(), batch_size=None, num_workers=2, generator=gen)
    rows = list(loader)
    assert get_worker_info() is None  # main process
    ids = [r[0] for r in rows]
    assert ids == [0, 1] * 4  # round-robin
    seeds = {r[0]: r[1] for r in rows}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert len({r[2] for r in rows}) == 2 and os.getpid() not in {r[2] for r in rows}
    first = {r[0]: (r[3], r[4]) for r in rows[:2]}
    assert first[0] != first[1]  # the workers' streams differ
    again = list(
        DataLoader(
            WhoAmI(), batch_size=None, num_workers=2, generator=cr.Generator().manual_seed(11)
        )
    )
    assert [r[:2] + r[3:5] for r in again] == [r[:2] + r[3:5] for r in rows]


def _init_fn(worker_id: int) -> None:
    get_worker_info().dataset.tag = f"init-{worker_id}"


def test_worker_init_fn_runs_in_each_worker():
    rows = list(DataLoader(WhoAmI(), batch_size=None, num_workers=2, worker_init_fn=_init_fn))
    assert {(r[0], r[5]) for r in rows} == {(0, "init-0"), (1, "init-1")}


def test_worker_exception_is_reraised_with_traceback_and_workers_stop():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    it = iter(loader)
    pids = [w.pid for w in it._workers]
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process") as e:
        list(it)
    assert "Original Traceback" in str(e.value) and "bad sample 5" in str(e.value)
    assert _wait_gone(pids)


def test_init_fn_exception_is_reraised():
    def bad_init(worker_id):
        raise KeyError("no such thing")

    with pytest.raises(KeyError, match="no such thing"):
        list(DataLoader(Failing(), batch_size=2, num_workers=1, worker_init_fn=bad_init))


def test_killed_worker_is_reported_and_others_stop():
    it = iter(DataLoader(Dying(), batch_size=1, num_workers=2))
    pids = [w.pid for w in it._workers]
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(it)
    assert _wait_gone(pids)


def test_timeout():
    it = iter(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.3))
    pids = [w.pid for w in it._workers]
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        next(it)
    assert _wait_gone(pids)


def test_abandoned_iterator_shuts_down_on_garbage_collection():
    it = iter(DataLoader(Squares(), batch_size=2, num_workers=2))
    next(it)
    pids = [w.pid for w in it._workers]
    del it
    gc.collect()
    assert _wait_gone(pids)
    assert not [c for c in mp.active_children() if c.pid in pids]


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    script = textwrap.dedent("""
        import os, signal, sys
        import chainrule as cr
        from chainrule.utils.data import DataLoader, TensorDataset
        ds = TensorDataset(cr.arange(100.0))
        it = iter(DataLoader(ds, batch_size=2, num_workers=2))
        next(it)
        print(*[w.pid for w in it._workers], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    assert _wait_gone(pids)


def test_persistent_workers_are_reused_across_epochs():
    loader = DataLoader(WhoAmI(), batch_size=None, num_workers=2, persistent_workers=True)
    first = {r[2] for r in loader}
    second = {r[2] for r in loader}
    assert first == second and len(first) == 2
    pids = list(first)
    stream = DataLoader(Stream(), batch_size=3, num_workers=2, persistent_workers=True)
    assert _values(stream) == _values(stream)  # iterable workers restart their streams
    del loader, stream
    gc.collect()
    assert _wait_gone(pids)


def test_iterable_dataset_sharding_matches_torch():
    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, 11, step))

    for kwargs in ({"batch_size": 3}, {"batch_size": 2, "drop_last": True}, {"batch_size": None}):
        ours = _values(DataLoader(Stream(), num_workers=2, **kwargs))
        ref = _values(torch.utils.data.DataLoader(TorchStream(), num_workers=2, **kwargs))
        assert ours == ref, kwargs
        assert _values(DataLoader(Stream(), num_workers=0, **kwargs)) == _values(
            torch.utils.data.DataLoader(TorchStream(), num_workers=0, **kwargs)
        )


def test_prefetch_factor_and_pin_memory_are_accepted():
    loader = DataLoader(Squares(), batch_size=5, num_workers=2, prefetch_factor=1, pin_memory=True)
    assert [b["y"].numpy().tolist() for b in loader][0] == [0, 1, 4, 9, 16]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_workers": -1}, "non-negative"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"timeout": -1}, "timeout option should be non-negative"),
    ],
)
def test_worker_option_errors_match_torch(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(Squares(), **kwargs)
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(list(range(3)), **kwargs)


def test_zero_prefetch_is_rejected():
    # PyTorch accepts prefetch_factor=0 and then never fetches; chainrule refuses it up front.
    with pytest.raises(ValueError, match="prefetch_factor should be a positive integer"):
        DataLoader(Squares(), num_workers=1, prefetch_factor=0)


@pytest.mark.slow
def test_spawn_context_works():
    ds = TensorDataset(cr.arange(10.0), cr.arange(10))
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    assert [y.numpy().tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
