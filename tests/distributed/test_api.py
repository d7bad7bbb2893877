"""cr.distributed, DataParallel, SyncBatchNorm and the launcher inside one process (no MPI job):
errors before init_process_group, argument validation, and the single-process fallbacks."""

import datetime

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed.launcher import find_mpirun, mpirun_command
from chainrule.nn.parallel import DataParallel, DistributedDataParallel


def test_queries_before_init():
    assert dist.is_available() and dist.is_mpi_available()
    assert not dist.is_initialized()
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.all_reduce(cr.ones(2))
    with pytest.raises(ValueError, match="init_process_group"):
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedDataParallel(cr.nn.Linear(2, 2))


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        ({"backend": "nccl"}, NotImplementedError, "'nccl' is not available"),
        ({"backend": "gloo"}, ValueError, "environment variable RANK expected"),  # as torch
        ({"init_method": "tcp://10.0.0.1:23456"}, ValueError, "rank parameter missing"),
        ({"store": object()}, ValueError, "world_size must be positive if using store"),
        ({"timeout": 30}, TypeError, "timedelta"),
        ({"timeout": datetime.timedelta(seconds=-1)}, ValueError, "positive"),
    ],
)
def test_init_argument_errors(kwargs, error, needle):
    with pytest.raises(error, match=needle.replace("\n", " ")):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized()


def test_reduce_op_names():
    assert {op.name for op in dist.ReduceOp} >= {"SUM", "AVG", "MAX", "MIN", "PRODUCT"}
    assert {op.name for op in dist.ReduceOp} >= {
        n
        for n in ("SUM", "AVG", "MAX", "MIN", "PRODUCT", "BAND", "BOR", "BXOR")
        if hasattr(torch.distributed.ReduceOp, n)
    }


def test_data_parallel_single_device():
    cr.manual_seed(0)
    inner = cr.nn.Linear(3, 2)
    dp = DataParallel(inner)
    x = cr.randn(4, 3)
    assert np.array_equal(dp(x).data, inner(x).data)
    tdp = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(dp.state_dict()) == list(tdp.state_dict())  # 'module.' prefix like torch
    assert cr.nn.DataParallel is DataParallel
    with pytest.raises(NotImplementedError, match="DistributedDataParallel"):
        DataParallel(inner, device_ids=[0, 1])
    with pytest.raises(TypeError, match="Module"):
        DataParallel(lambda x: x)


def test_sync_batchnorm_without_process_group_is_batchnorm():
    """Not initialised (or one rank): ordinary batch norm, values and gradients as torch."""
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5))
    ours = cr.nn.SyncBatchNorm(3).double()
    theirs = torch.nn.SyncBatchNorm(3).double()
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yc = ours(xc)
    yt = torch.nn.functional.batch_norm(
        xt, theirs.running_mean, theirs.running_var, theirs.weight, theirs.bias, True, 0.1, 1e-5
    )
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()
    assert np.allclose(yc.data, yt.detach().numpy(), atol=1e-12)
    assert np.allclose(xc.grad.data, xt.grad.numpy(), atol=1e-12)
    assert np.allclose(ours.running_var.data, theirs.running_var.numpy(), atol=1e-12)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with pytest.raises(ValueError, match="expected at least 2D input"):
        ours(cr.ones(3))


def test_convert_sync_batchnorm():
    net = cr.nn.Sequential(
        cr.nn.Conv2d(1, 2, 3),
        cr.nn.BatchNorm2d(2),
        cr.nn.Sequential(cr.nn.BatchNorm1d(2)),
        cr.nn.LayerNorm(2),
    )
    net[1].eval()
    weight = net[1].weight
    out = cr.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert out is net
    assert isinstance(net[1], cr.nn.SyncBatchNorm) and isinstance(net[2][0], cr.nn.SyncBatchNorm)
    assert isinstance(net[3], cr.nn.LayerNorm)
    assert net[1].weight is weight and not net[1].training
    lone = cr.nn.SyncBatchNorm.convert_sync_batchnorm(cr.nn.BatchNorm2d(4))
    assert isinstance(lone, cr.nn.SyncBatchNorm) and lone.num_features == 4


@pytest.mark.skipif(find_mpirun() is None, reason="no mpirun on PATH")
def test_mpirun_command(tmp_path):
    cmd = mpirun_command(4, ["python", "train.py"], oversubscribe=True)
    assert cmd[1:3] == ["-n", "4"] and cmd[-2:] == ["python", "train.py"]
    hosts = tmp_path / "hosts"
    hosts.write_text("node1 slots=2\nnode2 slots=2\n")
    cmd = mpirun_command(4, ["python", "train.py"], hostfile=str(hosts))
    assert str(hosts) in cmd
    with pytest.raises(ValueError, match="does not exist"):
        mpirun_command(2, ["python"], hostfile=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="at least 1"):
        mpirun_command(0, ["python"])
    with pytest.raises(ValueError, match="no program"):
        mpirun_command(2, [])


def test_work_timeout_argument():
    work = dist.Work([], None, "test", 1.0, 0)
    assert work.wait(timeout=datetime.timedelta(seconds=1)) and work.is_completed()
    with pytest.raises(ValueError, match="positive"):
        dist.Work([object()], None, "test", 1.0, 0).wait(timeout=-1)


def test_nothing_here_started_mpi():
    """Importing and validating must not initialise MPI in this (non-MPI) process."""
    import sys

    assert "mpi4py.MPI" not in sys.modules


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        ({"device_ids": [0]}, NotImplementedError, "device_ids"),
        ({"dim": 1}, NotImplementedError, "dim=1"),
        ({"static_graph": True}, NotImplementedError, "static_graph"),
        ({"mixed_precision": object()}, NotImplementedError, "mixed_precision"),
        ({"bucket_cap_mb": 0}, ValueError, "bucket_cap_mb"),
        ({"no_such_option": 1}, TypeError, "no_such_option"),
    ],
)
def test_ddp_argument_errors(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        DistributedDataParallel(cr.nn.Linear(2, 2), **kwargs)
    with pytest.raises(TypeError, match="Module"):
        DistributedDataParallel(lambda x: x)


def test_buckets_follow_reverse_order_and_cap():
    from chainrule.nn.parallel.reducer import _assign_buckets

    params = [cr.zeros(n) for n in (100, 50, 300, 10)]  # float32: 400, 200, 1200, 40 bytes
    buckets = _assign_buckets(params, cap_bytes=500)
    assert buckets == [[3, 2], [1, 0]]  # last parameter first; a bucket closes past the cap
    mixed = [cr.zeros(4, dtype=cr.float64), cr.zeros(4), cr.zeros(4, dtype=cr.float64)]
    assert sorted(map(sorted, _assign_buckets(mixed, 10**6))) == [[0, 2], [1]]  # one dtype each
