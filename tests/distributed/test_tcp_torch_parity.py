"""The Gloo (TCP) backend against PyTorch's own gloo, in the same spawned processes: PyTorch's
DDP tutorial program (``ToyModel``, SGD, MSE) and a set of collectives give the same numbers
with ``torch.distributed`` and with ``cr.distributed`` (each on its own port)."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as tdist
from torch.nn.parallel import DistributedDataParallel as TorchDDP

import chainrule as cr
import chainrule.distributed as dist
from chainrule.nn.parallel import DistributedDataParallel as DDP

from .test_tcp_collectives import free_port, run_ranks

STEPS = 3


def _weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * 0.3 for s in ((10, 10), (10,), (5, 10), (5,))]


def _batch(rank, step):
    rng = np.random.default_rng(1000 * step + rank)
    return rng.standard_normal((20, 10)), rng.standard_normal((20, 5))


def _train(lib, ddp_cls, rank):
    """The tutorial's loop; every rank starts from different weights (DDP broadcasts rank
    0's). Returns the final parameters."""
    model = lib.nn.Sequential(lib.nn.Linear(10, 10), lib.nn.ReLU(), lib.nn.Linear(10, 5))
    model = model.double()
    with lib.no_grad():
        for p, w in zip(model.parameters(), _weights(rank)):
            p.copy_(lib.tensor(w))
    ddp = ddp_cls(model)
    opt = lib.optim.SGD(ddp.parameters(), lr=0.01)
    loss_fn = lib.nn.MSELoss()
    for step in range(STEPS):
        x, y = _batch(rank, step)
        opt.zero_grad()
        loss_fn(ddp(lib.tensor(x)), lib.tensor(y)).backward()
        opt.step()
    return [np.array(p.detach().numpy() if lib is torch else p.data) for p in model.parameters()]


def _collectives(lib, d, rank, size):
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((size * 2, 3))
    out = {}
    for name in ("SUM", "PRODUCT", "MIN", "MAX", "AVG"):
        t = lib.tensor(x.copy())
        d.all_reduce(t, op=getattr(d.ReduceOp, name))
        out[name] = t
    bits = lib.tensor(rng.integers(0, 64, 6))
    for name in ("BAND", "BOR", "BXOR"):
        t = bits.clone()
        d.all_reduce(t, op=getattr(d.ReduceOp, name))
        out[name] = t
    gathered = lib.zeros(size * size * 2, 3, dtype=lib.float64)
    d.all_gather_into_tensor(gathered, lib.tensor(x))
    out["all_gather"] = gathered
    scattered = lib.zeros(2, 3, dtype=lib.float64)
    d.reduce_scatter_tensor(scattered, lib.tensor(x))
    out["reduce_scatter"] = scattered
    swapped = lib.zeros(size * 2, 3, dtype=lib.float64)
    d.all_to_all_single(swapped, lib.tensor(x))
    out["all_to_all"] = swapped
    t = lib.tensor(x.copy())
    d.broadcast(t, src=1)
    out["broadcast"] = t
    objs = [None] * size
    d.all_gather_object(objs, {"rank": rank, "x": x[0, 0]})
    out["objects"] = objs
    return {
        k: v if k == "objects" else np.array(v.numpy() if lib is torch else v.data)
        for k, v in out.items()
    }


def _both(rank, size, ours_port):
    tdist.init_process_group("gloo", rank=rank, world_size=size)  # MASTER_PORT
    theirs = (_train(torch, TorchDDP, rank), _collectives(torch, tdist, rank, size))
    tdist.destroy_process_group()
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{ours_port}", rank=rank, world_size=size
    )
    ours = (_train(cr, DDP, rank), _collectives(cr, dist, rank, size))
    dist.destroy_process_group()
    return theirs, ours


def test_ddp_tutorial_and_collectives_match_torch_gloo():
    for theirs, ours in run_ranks(_both, 2, free_port(), timeout=120):
        for a, b in zip(theirs[0], ours[0]):
            assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
        for name, value in theirs[1].items():
            if name == "objects":
                assert ours[1][name] == value
            else:
                assert np.allclose(ours[1][name], value, rtol=1e-12, atol=0), name
