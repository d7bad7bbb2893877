"""DistributedDataParallel on an MLP + SGD equals one process with the whole batch (run by
suite.py); also no_sync accumulation, unused parameters and bucket views.

Every rank also trains the single-process reference itself (same initial weights, the global
batch of N*B samples), so each can compare its weights with the reference after k steps.
"""

import numpy as np

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn.parallel import DistributedDataParallel as DDP

B = 4  # per-rank batch
STEPS = 3


def batch(step, size, shape, classes):
    rng = np.random.default_rng(100 + step)
    x = rng.standard_normal((size * B,) + shape)
    y = rng.integers(0, classes, size * B)
    return cr.tensor(x), cr.tensor(y)


def shard(t, rank):
    return t[rank * B : (rank + 1) * B]


def assert_same(model, reference, what, tol):
    got = dict(model.named_parameters())
    for name, p in reference.named_parameters():
        err = float(np.max(np.abs(got[name]._data - p._data)))
        if err > tol:
            raise AssertionError(
                f"{what}: parameter {name} differs from the single-process reference by {err:.3g}"
            )


def mlp(seed):
    cr.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    ).double()


def check_mlp(rank, size):
    model = mlp(seed=rank)  # different on every rank: DDP must broadcast rank 0's
    ddp = DDP(model, bucket_cap_mb=0.0003)  # ~300 B buckets: several in flight during backward
    assert len(ddp.reducer.buckets) > 2
    reference = mlp(seed=0)
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    assert_same(model, reference, "after construction", 0.0)
    opt = cr.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = cr.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        x, y = batch(step, size, (6,), 3)
        opt.zero_grad()
        loss_fn(ddp(shard(x, rank)), shard(y, rank)).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(reference(x), y).backward()
        ref_opt.step()
    assert_same(model, reference, "MLP + SGD", 1e-12)
    check_overlap(ddp, x, y, rank, loss_fn)

    # no_sync: two local micro-batches accumulate, the second backward averages the sum.
    opt.zero_grad()
    ref_opt.zero_grad()
    xs = [batch(10 + m, size, (6,), 3) for m in range(2)]
    with ddp.no_sync():
        loss_fn(ddp(shard(xs[0][0], rank)), shard(xs[0][1], rank)).backward()
    loss_fn(ddp(shard(xs[1][0], rank)), shard(xs[1][1], rank)).backward()
    opt.step()
    ref_loss = (
        sum(loss_fn(reference(shard(x, r)), shard(y, r)) for x, y in xs for r in range(size)) / size
    )
    ref_loss.backward()
    ref_opt.step()
    assert_same(model, reference, "no_sync accumulation", 1e-12)
    return 2


def check_overlap(ddp, x, y, rank, loss_fn):
    """Buckets start while backward is still producing gradients, not after it."""
    from chainrule.nn.parallel import reducer as reducer_module

    launched_at = []
    original = reducer_module._iallreduce

    def recording(group, buf, op):
        launched_at.append(len(ddp.reducer.seen))
        return original(group, buf, op)

    reducer_module._iallreduce = recording
    try:
        loss_fn(ddp(shard(x, rank)), shard(y, rank)).backward()
    finally:
        reducer_module._iallreduce = original
    total = len(ddp.reducer.params)
    assert len(launched_at) == len(ddp.reducer.buckets)
    assert launched_at[0] < total, launched_at  # the first bucket went out early
    assert launched_at == sorted(launched_at)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.used = nn.Linear(4, 2)
        self.unused = nn.Linear(4, 2)

    def forward(self, x):
        return self.used(self.body(x).relu())


def check_unused(rank, size):
    cr.manual_seed(0)
    model = TwoHeads().double()
    ddp = DDP(model, find_unused_parameters=True, gradient_as_bucket_view=True)
    reference = TwoHeads().double()
    reference.load_state_dict(model.state_dict())
    x = cr.tensor(np.random.default_rng(5).standard_normal((size * B, 4)))
    ddp(shard(x, rank)).pow(2).mean().backward()
    (sum(reference(shard(x, r)).pow(2).mean() for r in range(size)) / size).backward()
    assert model.unused.weight.grad is None and model.unused.bias.grad is None
    for name, p in reference.named_parameters():
        if not name.startswith("unused"):
            q = dict(model.named_parameters())[name]
            assert np.allclose(q.grad._data, p.grad._data, rtol=0, atol=1e-13), name
    # Without find_unused_parameters the next forward says what went wrong (on every rank).
    strict = DDP(TwoHeads().double())
    strict(shard(x, rank)).sum().backward()
    try:
        strict(shard(x, rank))
    except RuntimeError as exc:
        assert "find_unused_parameters=True" in str(exc), str(exc)
    else:
        raise AssertionError("no error for unused parameters without find_unused_parameters")
    return 2


def check_different_models(rank, size):
    """Ranks wrapping different models all get the same clear error."""
    try:
        DDP(nn.Linear(4, 2 + (rank == size - 1)))
    except RuntimeError as exc:
        assert "DDP expects the same model on all ranks" in str(exc), str(exc)
        assert "weight" in str(exc), str(exc)
    else:
        raise AssertionError("no error for different models on different ranks")
    return 1


def run(rank, size):
    """The MLP checks; returns how many ran."""
    return check_mlp(rank, size) + check_unused(rank, size) + check_different_models(rank, size)
