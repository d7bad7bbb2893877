"""The Gloo (TCP) backend when things go wrong: PyTorch's env:// errors, the process group
timeout, and a rank that crashes (the others raise instead of hanging)."""

from __future__ import annotations

import datetime
import os
import time

import pytest
import torch.distributed as tdist

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed.tcp.rendezvous import advertised_host

from .test_tcp_collectives import free_port, run_ranks

_VARS = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE")


@pytest.mark.parametrize("missing", [_VARS, *_VARS])
def test_env_rendezvous_errors_as_torch(monkeypatch, missing):
    """One variable (or all) unset: the same ValueError as PyTorch's gloo."""
    missing = (missing,) if isinstance(missing, str) else missing
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "RANK": "0"}
    env["WORLD_SIZE"] = "1"
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
        if name not in missing:
            monkeypatch.setenv(name, env[name])
    with pytest.raises(ValueError) as theirs:
        tdist.init_process_group("gloo")
    with pytest.raises(ValueError) as ours:
        dist.init_process_group("gloo")
    assert str(ours.value) == str(theirs.value)
    assert not dist.is_initialized()


def test_other_rendezvous_errors_as_torch():
    with pytest.raises(ValueError, match="tcp:// rendezvous: rank parameter missing"):
        tdist.init_process_group("gloo", init_method="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="tcp:// rendezvous: rank parameter missing"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="No rendezvous handler for foo://"):
        tdist.init_process_group("gloo", init_method="foo://x", rank=0, world_size=1)
    with pytest.raises(RuntimeError, match="No rendezvous handler for foo://"):
        dist.init_process_group("gloo", init_method="foo://x", rank=0, world_size=1)
    with pytest.raises(ValueError, match="world_size must be positive if using store"):
        dist.init_process_group("gloo", store=dist.HashStore())
    with pytest.raises(NotImplementedError, match="'nccl' is not available"):
        dist.init_process_group("nccl", rank=0, world_size=1)
    # Nobody serves the store: DistNetworkError after the timeout, as PyTorch.
    port = free_port()
    with pytest.raises(tdist.DistNetworkError):
        tdist.TCPStore("127.0.0.1", port, 2, False, timeout=datetime.timedelta(seconds=0.2))
    with pytest.raises(dist.DistNetworkError, match="timed out after 200ms"):
        dist.TCPStore("127.0.0.1", port, 2, False, timeout=datetime.timedelta(seconds=0.2))
    assert not dist.is_initialized()


def test_single_process_world_in_this_process():
    """A one-rank Gloo world in the test process itself (a HashStore rendezvous)."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        assert dist.get_backend() == "gloo" and dist.get_world_size() == 1
        t = cr.tensor([1.0, 2.0])
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.tolist() == [1.0, 2.0]
        objs = [None]
        dist.all_gather_object(objs, {"a": 1})
        assert objs == [{"a": 1}]
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_gloo_socket_ifname_picks_the_interface_address(monkeypatch):
    """GLOO_SOCKET_IFNAME (PyTorch's variable) names the interface whose address the other
    ranks connect to; a name with no address is a clear error."""
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    assert advertised_host(dist.HashStore()) == "127.0.0.1"
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "no-such-if0")
    with pytest.raises(ValueError, match="no IPv4 address"):
        advertised_host(dist.HashStore())


def _timeout(rank, size):
    # the default timeout while the ranks start (a spawned rank may take seconds to import
    # on a loaded machine), then a group whose collectives time out after 0.5 s
    dist.init_process_group("gloo", rank=rank, world_size=size)
    group = dist.new_group([0, 1], timeout=datetime.timedelta(seconds=0.5))
    t = cr.ones(3)
    dist.all_reduce(t, group=group)  # everyone here
    start = time.monotonic()
    errors = []
    if rank == 0:  # rank 1 skips these: rank 0 raises after the timeout
        calls = (
            lambda: dist.all_reduce(t, group=group),
            lambda: dist.all_gather_object([None] * 2, 1, group=group),
        )
        for call in calls:
            try:
                call()
            except dist.DistBackendError as exc:
                errors.append((type(exc).__name__, "timed out" in str(exc)))
    else:
        time.sleep(3)  # alive but absent (a closed connection would fail rank 0 at once)
    elapsed = time.monotonic() - start
    dist.destroy_process_group()
    return errors, elapsed


def test_collective_times_out():
    """A rank that skips a collective: the waiting rank raises DistBackendError after the
    process group's timeout (0.5 s here) instead of blocking."""
    (errors, elapsed), _ = run_ranks(_timeout, 2)
    assert errors == [("DistBackendError", True)] * 2
    assert 0.9 <= elapsed < 10, elapsed


def _crash(rank, size):
    dist.init_process_group(
        "gloo", rank=rank, world_size=size, timeout=datetime.timedelta(seconds=60)
    )
    t = cr.ones(3)
    dist.all_reduce(t)
    if rank == 1:
        os._exit(3)  # crash without a word
    start = time.monotonic()
    errors = []
    calls = (
        lambda: dist.all_reduce(t),
        lambda: dist.broadcast(t, src=1),
        lambda: dist.recv(t, src=1),
        lambda: dist.all_gather_object([None] * 3, 1),
    )
    for call in calls:
        try:
            call()
        except RuntimeError as exc:  # torch's gloo raises RuntimeError; ours is DistBackendError
            errors.append((isinstance(exc, dist.DistBackendError), "rank 1" in str(exc)))
    return errors, time.monotonic() - start


def test_crashed_rank_makes_the_others_raise_at_once():
    """Rank 1 exits in the middle of the run: ranks 0 and 2 raise DistBackendError naming it
    from every later collective or receive, long before the 60 s timeout."""
    results = run_ranks(_crash, 3, expect_exit=(1,))
    for rank in (0, 2):
        errors, elapsed = results[rank]
        assert errors == [(True, True)] * 4, errors
        assert elapsed < 10, elapsed


def test_get_backend_answers_what_torch_answers():
    """The world's backend string as given ("cpu:gloo" stays), "undefined" for backend=None,
    a subgroup's own backend= string (answers read from torch 2.13 on two gloo ranks)."""
    for backend, world, sub_default in (
        ("cpu:gloo", "cpu:gloo", "cpu:gloo"),
        (None, "undefined", "undefined"),
    ):
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
        try:
            assert dist.get_backend() == world
            assert dist.get_backend(dist.new_group([0])) == sub_default
            assert dist.get_backend(dist.new_group([0], backend="gloo")) == "gloo"
        finally:
            dist.destroy_process_group()
