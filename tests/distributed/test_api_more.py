"""Backend names, availability queries, supports_complex, get_node_local_rank and the argument
errors of the newer cr.distributed names, in one process (no MPI job), against live torch where
torch answers without a process group. The collectives themselves run in workers/more.py."""

import pytest
import torch
import torch.distributed as tdist

import chainrule as cr
import chainrule.distributed as dist

NEW_NAMES = [
    "Backend",
    "P2POp",
    "all_gather_single",
    "all_to_all",
    "batch_isend_irecv",
    "get_default_backend_for_device",
    "get_global_rank",
    "get_group_rank",
    "get_node_local_rank",
    "get_process_group_ranks",
    "is_backend_available",
    "is_gloo_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "is_ucc_available",
    "is_xccl_available",
    "monitored_barrier",
    "new_subgroups",
    "new_subgroups_by_enumeration",
    "recv_object_list",
    "reduce_scatter_single",
    "scatter_object_list",
    "send_object_list",
    "supports_complex",
]


def test_names_exported_like_torch():
    for name in NEW_NAMES:
        assert name in dist.__all__ and hasattr(tdist, name), name


def test_world_group_names_before_init_like_torch():
    for lib in (tdist, dist):
        assert lib.group.WORLD is None and lib.GroupMember.WORLD is None
        assert lib.GroupMember.NON_GROUP_MEMBER == -100


def test_backend_names_like_torch():
    for attr in ("UNDEFINED", "GLOO", "NCCL", "UCC", "MPI", "XCCL", "FAKE"):
        assert getattr(dist.Backend, attr) == getattr(tdist.Backend, attr)
    assert dist.Backend.backend_list == tdist.Backend.backend_list
    for name in ("gloo", "GLOO", "Nccl", "MPI", "undefined", "cpu:Gloo,cuda:NCCL", "foo", ""):
        ours, theirs = dist.Backend(name), tdist.Backend(name)
        assert ours == theirs and type(ours) is type(theirs) is str
    for bad in (1, None):
        with pytest.raises(ValueError, match="string-ish"):
            tdist.Backend(bad)
        with pytest.raises(ValueError, match="string-ish"):
            dist.Backend(bad)
    with pytest.raises(NotImplementedError, match="register_backend"):
        dist.Backend.register_backend("mine", lambda *a: None)


def test_availability():
    assert dist.is_backend_available("mpi") and dist.is_backend_available(dist.Backend.MPI)
    assert dist.is_backend_available("MPI")
    assert dist.is_backend_available("gloo") and dist.is_gloo_available()  # TCP sockets
    for name in ("nccl", "ucc", "xccl", "foo"):
        assert not dist.is_backend_available(name)
    assert not tdist.is_backend_available("foo")
    with pytest.raises(AttributeError):
        tdist.is_backend_available(1)
    with pytest.raises(AttributeError, match="must be a string"):
        dist.is_backend_available(1)
    assert not any(
        f()
        for f in (
            dist.is_nccl_available,
            dist.is_ucc_available,
            dist.is_xccl_available,
        )
    )


def test_default_backend_for_device():
    assert dist.get_default_backend_for_device("cpu") == "gloo"  # as torch's
    assert dist.get_default_backend_for_device(cr.device("cpu")) == "gloo"
    assert tdist.get_default_backend_for_device("cpu") == "gloo"  # torch's CPU backend
    assert tdist.get_default_backend_for_device("cuda:1") == "nccl"  # no NCCL in chainrule
    for dev in ("cuda", "cuda:1", cr.device("cuda:0"), 0):
        with pytest.raises(NotImplementedError, match="Gloo and MPI backends move CPU tensors"):
            dist.get_default_backend_for_device(dev)
    # torch raises the same ValueError for these in a fresh process (its registry is global
    # state that other tests in the run may have filled, so only chainrule is checked here)
    for dev in ("meta", "hpu"):
        with pytest.raises(ValueError, match="Default backend not registered for device : "):
            dist.get_default_backend_for_device(dev)
    with pytest.raises(TypeError):
        tdist.get_default_backend_for_device(None)
    with pytest.raises(TypeError, match="device must be"):
        dist.get_default_backend_for_device(None)


def test_supports_complex_like_torch():
    for op in dist.ReduceOp:
        assert dist.supports_complex(op) == tdist.supports_complex(getattr(tdist.ReduceOp, op.name))


def test_torchelastic_and_node_local_rank(monkeypatch):
    for name in ("LOCAL_RANK", "TORCHELASTIC_RUN_ID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MPI_LOCALRANKID", raising=False)
    monkeypatch.delenv("SLURM_LOCALID", raising=False)
    assert dist.is_torchelastic_launched() is tdist.is_torchelastic_launched() is False
    for value in ("abc", ""):
        monkeypatch.setenv("TORCHELASTIC_RUN_ID", value)
        assert dist.is_torchelastic_launched() is tdist.is_torchelastic_launched() is True
    for fn in (dist.get_node_local_rank, tdist.get_node_local_rank):
        with pytest.raises(RuntimeError, match="LOCAL_RANK is not in the environment"):
            fn()
        assert fn(3) == 3
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert dist.get_node_local_rank() == tdist.get_node_local_rank(5) == dist.get_node_local_rank(5)
    for bad in ("x", ""):
        monkeypatch.setenv("LOCAL_RANK", bad)
        for fn in (dist.get_node_local_rank, tdist.get_node_local_rank):
            with pytest.raises(ValueError, match="invalid literal"):
                fn(1)
    monkeypatch.delenv("LOCAL_RANK")
    # Under mpirun, before init_process_group sets LOCAL_RANK: the launcher's own variable.
    for name in ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"):
        monkeypatch.setenv(name, "1")
        assert dist.get_node_local_rank(0) == 1
        monkeypatch.delenv(name)


def test_errors_before_init_like_torch():
    """Without a process group: the same answers or errors as torch."""
    assert dist.get_global_rank(None, 3) == tdist.get_global_rank(None, 3) == 3
    assert dist.get_group_rank(None, 3) == tdist.get_group_rank(None, 3) == 3
    calls = [
        lambda d: d.get_process_group_ranks(None),
        lambda d: d.new_subgroups(1),
        lambda d: d.new_subgroups_by_enumeration([[0]]),
        lambda d: d.monitored_barrier(),
        lambda d: d.scatter_object_list([None], [1]),
        lambda d: d.send_object_list([1], dst=1),
        lambda d: d.recv_object_list([None], src=1),
    ]
    for call in calls:
        for d in (dist, tdist):
            with pytest.raises(ValueError, match="Default process group has not been initial"):
                call(d)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        tdist.P2POp(tdist.isend, torch.zeros(1), 1)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.P2POp(dist.isend, cr.zeros(1), 1)
    for fn in (dist.all_to_all, dist.all_gather_single, dist.reduce_scatter_single):
        with pytest.raises(ValueError, match="init_process_group"):
            fn([cr.zeros(1)], [cr.zeros(1)]) if fn is dist.all_to_all else fn(
                cr.zeros(1), cr.zeros(1)
            )


def test_p2pop_and_batch_argument_errors_like_torch():
    """Checked before the process group is looked up, as in torch."""
    for d, t in ((dist, cr.zeros(1)), (tdist, torch.zeros(1))):
        with pytest.raises(ValueError, match="Invalid ``op``"):
            d.P2POp(d.send, t, 1)
        with pytest.raises(ValueError, match="Each op is expected to to be of type"):
            d.batch_isend_irecv([t])
    with pytest.raises(TypeError, match="Expected parameter `tensor`"):
        dist.P2POp(dist.isend, [1.0], 1)
    with pytest.raises(IndexError):
        tdist.batch_isend_irecv([])
    with pytest.raises(IndexError, match="empty"):
        dist.batch_isend_irecv([])


def test_new_subgroups_without_group_size_like_torch():
    for d in (dist, tdist):
        with pytest.raises(ValueError, match="Default group size only takes effect when CUDA"):
            d.new_subgroups()


def test_still_no_mpi_started():
    """None of the above initialised MPI in this (non-MPI) process."""
    import sys

    assert "mpi4py.MPI" not in sys.modules
