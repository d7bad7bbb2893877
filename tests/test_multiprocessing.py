"""``chainrule.multiprocessing`` against ``torch.multiprocessing``: the API, shared-memory
tensors (``share_memory_``, ``is_shared``, ``Module.share_memory``), tensors crossing queues
and process arguments under fork and spawn, ``spawn``/``start_processes`` and their errors,
Hogwild-style training on a shared model, and that nothing leaks.

Processes are slow to start: the cases use one or two, forked, except one spawn case. The
Tensor/Module methods are reached through the package's functions (``share_memory_(t)``,
``module_share_memory(m)``) until the classes bind them.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from multiprocessing.reduction import ForkingPickler

import pytest

import chainrule as cr
import chainrule.multiprocessing as mp

torch = pytest.importorskip("torch")
tmp = pytest.importorskip("torch.multiprocessing")

FORK = mp.get_context("fork")


def _loopback(obj):
    """``obj`` pickled and unpickled as a queue would (in this process)."""
    return ForkingPickler.loads(ForkingPickler.dumps(obj))


# ----------------------------------------------------------------------- API
def test_names_and_strategies_match_torch():
    assert sorted(mp.__all__) == sorted(tmp.__all__)
    for name in ("spawn", "start_processes", "ProcessContext", "ProcessRaisedException"):
        assert hasattr(mp, name) and hasattr(tmp, name)
    assert mp.Process is tmp.Process and mp.Queue is tmp.Queue  # the standard library's
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == tmp.get_sharing_strategy() == "file_descriptor"
    with pytest.raises(AssertionError) as want:
        tmp.set_sharing_strategy("bogus")
    with pytest.raises(ValueError) as got:
        mp.set_sharing_strategy("bogus")
    assert isinstance(got.value, AssertionError)  # torch's type too
    assert str(got.value).split(",")[0] == str(want.value).split(",")[0]
    mp.set_sharing_strategy("file_system")
    try:
        assert mp.get_sharing_strategy() == "file_system"
        t = cr.arange(3.0)
        back = _loopback(t)
        back.add_(1)  # the same transport: still shared
        assert t.tolist() == [1.0, 2.0, 3.0]
    finally:
        mp.set_sharing_strategy("file_descriptor")


# ------------------------------------------------------------- share_memory_
def test_share_memory_like_torch():
    x, tx = cr.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    assert mp.is_shared(x) is tx.is_shared() is False
    assert mp.share_memory_(x) is x and tx.share_memory_() is tx
    assert mp.is_shared(x) is tx.is_shared() is True
    arr = x._data
    mp.share_memory_(x)
    assert x._data is arr  # a no-op once shared
    assert x.tolist() == tx.tolist()
    # layout is kept: a transposed (column-major) tensor stays so
    y = cr.arange(6.0).reshape(2, 3).t().contiguous().t()
    mp.share_memory_(y)
    assert y.stride() == (1, 2) and y.tolist() == [[0, 1, 2], [3, 4, 5]]
    # a view of a shared tensor is shared; empty tensors can be shared
    assert mp.is_shared(x[1]) and mp.is_shared(mp.share_memory_(cr.zeros(0)))
    # in-place updates land in the shared memory
    with cr.no_grad():
        x -= 1
    x.data.add_(1)
    assert x._data is arr


def test_share_memory_of_a_view_names_its_base():
    base = cr.zeros(4, 5)
    view = base[1]
    with pytest.raises(RuntimeError, match=r"view of another tensor \(its base, shape \(4, 5\)"):
        mp.share_memory_(view)
    mp.share_memory_(base)
    assert mp.is_shared(base[1])  # the view taken again
    # a view of a base that nothing else holds takes the base along, as torch's storage
    alone = cr.arange(6.0).view(2, 3).t()
    assert mp.share_memory_(alone) is alone and mp.is_shared(alone)
    assert alone.tolist() == torch.arange(6.0).view(2, 3).t().share_memory_().tolist()
    alone.add_(1)
    assert mp.is_shared(alone._base) and alone._base.tolist() == [1, 2, 3, 4, 5, 6]


def test_module_share_memory_shares_grads_like_torch():
    def build(lib):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2))
        m[0](lib.ones(1, 3)).sum().backward()
        return m

    m, tm = build(cr), build(torch)
    assert mp.module_share_memory(m) is m and tm.share_memory() is tm
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert mp.is_shared(p) is tp.is_shared() is True
        assert (p.grad is None) is (tp.grad is None)
        if p.grad is not None:
            assert mp.is_shared(p.grad) is tp.grad.is_shared() is True
    assert all(mp.is_shared(b) for b in m.buffers())
    # a module's tensors go into one segment: two descriptors, however many tensors
    big = cr.nn.Sequential(*[cr.nn.Linear(4, 4) for _ in range(8)])
    gc.collect()  # segments of earlier tests' garbage close their descriptors first
    fds = _fds()
    mp.module_share_memory(big)
    assert _fds() - fds == 2 and all(mp.is_shared(p) for p in big.parameters())


# -------------------------------------------------------------- reductions
def test_pickling_shares_memory_and_metadata_like_torch():
    for lib, shared in ((cr, mp.is_shared), (torch, None)):
        t = lib.ones(3)
        back = _loopback(t)
        assert (shared(t) if shared else t.is_shared()) is True  # the sender was moved
        back.add_(1)
        assert t.tolist() == [2.0, 2.0, 2.0]
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.ones(2)
        got = _loopback(p)
        assert type(got) is lib.nn.Parameter and got.requires_grad and got.grad is None
        leaf = _loopback(lib.ones(2, requires_grad=True))
        assert leaf.requires_grad and leaf.is_leaf
    with pytest.raises(RuntimeError) as want:
        _loopback(torch.ones(2, requires_grad=True) * 2)
    with pytest.raises(RuntimeError) as got:
        _loopback(cr.ones(2, requires_grad=True) * 2)
    assert str(got.value) == str(want.value)


class _Marked(cr.Tensor):
    """A Tensor subclass defined after chainrule.multiprocessing registered its reducers."""


def test_a_tensor_class_defined_later_is_sent_too():
    t = mp.share_memory_(_Marked(cr.ones(2)))
    back = _loopback(t)
    assert type(back) is _Marked
    back.add_(1)
    assert t.tolist() == [2.0, 2.0]


# -------------------------------------------------------- across processes
def _write_then_read(q, ready, done, out):
    t = q.get()
    t.add_(1)  # the parent must see this
    ready.set()
    done.wait(10)
    out.put(t.tolist())  # and this child must see the parent's write


def test_fork_queue_round_trip_shares_both_ways():
    q, out = FORK.Queue(), FORK.SimpleQueue()
    ready, done = FORK.Event(), FORK.Event()
    proc = FORK.Process(target=_write_then_read, args=(q, ready, done, out))
    proc.start()
    t = cr.zeros(3)
    q.put(t)
    assert ready.wait(10)
    assert t.tolist() == [1.0, 1.0, 1.0]
    t.mul_(5)
    done.set()
    assert out.get() == [5.0, 5.0, 5.0]
    proc.join(10)
    assert proc.exitcode == 0


def _spawned(t, p, q, model):
    t.add_(p.sum())  # a tensor and a Parameter received as process arguments
    cr.optim.SGD(model.parameters(), lr=1.0).zero_grad()
    model(cr.ones(1, 2)).sum().backward()
    cr.optim.SGD(model.parameters(), lr=1.0).step()  # and a shared model
    got = q.get()  # and one received through a queue
    got.fill_(7)
    q.put(type(p).__name__ + str(p.requires_grad))


def test_spawn_arguments_and_queue_share_memory():
    ctx = mp.get_context("spawn")
    t, p, q = cr.zeros(2), cr.nn.Parameter(cr.ones(3)), ctx.Queue()
    model = mp.module_share_memory(cr.nn.Linear(2, 1))
    bias = model.bias.item()
    proc = ctx.Process(target=_spawned, args=(t, p, q, model))
    proc.start()
    sent = cr.zeros(2, 2)
    q.put(sent)
    proc.join(60)
    assert proc.exitcode == 0
    assert q.get(timeout=10) == "ParameterTrue"
    assert t.tolist() == [3.0, 3.0] and sent.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert model.bias.item() == pytest.approx(bias - 1.0)  # d(sum)/d(bias) = 1, lr 1


# ------------------------------------------------------------------ spawn
def _fill(i, out):
    out[i] = i + 1


def _raise(i):
    if i == 1:
        raise ValueError(f"boom in {i}")


def _exit(i, lib):
    if i == 0:
        os._exit(3)


def _wait(i, event):
    event.wait(10)


def test_start_processes_success_and_join_timeout():
    out = mp.share_memory_(cr.zeros(2))
    assert mp.start_processes(_fill, args=(out,), nprocs=2, start_method="fork") is None
    assert out.tolist() == [1.0, 2.0]
    event = FORK.Event()
    ctx = mp.start_processes(_wait, args=(event,), nprocs=1, join=False, start_method="fork")
    assert isinstance(ctx, mp.ProcessContext) and ctx.pids() == [ctx.processes[0].pid]
    assert ctx.join(0.05) is False
    event.set()
    assert ctx.join(10) is True and ctx.join() is True
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        mp.spawn(_fill, args=(out,), nprocs=1, start_method="fork")


def test_child_exception_and_exit_code_like_torch():
    with pytest.raises(mp.ProcessRaisedException) as got:
        mp.start_processes(_raise, nprocs=2, start_method="fork")
    err = got.value
    assert err.error_index == 1 and isinstance(err.error_pid, int)
    assert str(err).startswith("\n\n-- Process 1 terminated with the following error:\n")
    assert "Traceback (most recent call last)" in str(err) and "ValueError: boom in 1" in str(err)
    caught = {}
    for lib, mod in (("cr", mp), ("torch", tmp)):
        with pytest.raises(mod.ProcessExitedException) as info:
            mod.start_processes(_exit, args=(lib,), nprocs=1, start_method="fork")
        caught[lib] = info.value
    want, have = caught["torch"], caught["cr"]
    assert str(have) == str(want) == "process 0 terminated with exit code 3"
    assert (have.error_index, have.exit_code, have.signal_name) == (0, 3, None)
    assert (want.error_index, want.exit_code, want.signal_name) == (0, 3, None)
    assert [c.__name__ for c in type(have).__mro__] == [c.__name__ for c in type(want).__mro__]


# ---------------------------------------------------------------- Hogwild
def _hogwild_train(rank, model, lock, steps):
    cr.manual_seed(rank)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with lock:  # one child trains at a time, so the result is exact (Hogwild takes no lock)
        for _ in range(steps):
            opt.zero_grad()
            model(cr.randn(4, 3)).pow(2).mean().backward()
            opt.step()


def test_hogwild_children_train_the_parents_model():
    model = cr.nn.Linear(3, 1)
    mp.module_share_memory(model)
    before = [p.detach().clone() for p in model.parameters()]
    lock = FORK.Lock()
    procs = [FORK.Process(target=_hogwild_train, args=(r, model, lock, 3)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert all(not cr.equal(p, b) for p, b in zip(model.parameters(), before))
    # the same 6 steps in this process give the same result, in the order the children took
    # the lock (either child may have been first)
    ref = cr.nn.Linear(3, 1)
    for order in ((0, 1), (1, 0)):
        with cr.no_grad():
            for p, b in zip(ref.parameters(), before):
                p.copy_(b)
        for rank in order:
            _hogwild_train(rank, ref, FORK.Lock(), 3)
        if all(cr.allclose(p, q, atol=1e-12) for p, q in zip(ref.parameters(), model.parameters())):
            break
    else:
        pytest.fail("the shared model's parameters are not the result of both children's steps")


# -------------------------------------------------------------------- leaks
def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _shm() -> set[str]:
    """Named shared memory in /dev/shm, less semaphores and Open MPI's segments (other test
    processes running MPI create ``sm_segment.*`` while this test runs)."""
    other = ("sem.", "sm_segment.", "vader_segment.")
    return {n for n in os.listdir("/dev/shm") if not n.startswith(other)}


def _spawn_files() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("chainrule-spawn-")}


def test_nothing_leaks():
    _loopback(cr.ones(1))  # starts the standard library's fd-passing listener (kept for good)
    gc.collect()
    fds, shm, files = _fds(), _shm(), _spawn_files()
    tensors = [mp.share_memory_(cr.ones(100)) for _ in range(5)]
    copies = [_loopback(t) for t in tensors]
    assert _fds() >= fds + 5  # one descriptor per segment while tensors hold it
    out = mp.share_memory_(cr.zeros(2))
    mp.start_processes(_fill, args=(out,), nprocs=2, start_method="fork")
    del tensors, copies, out
    deadline = time.monotonic() + 3.0  # the children's pipes close asynchronously
    while True:
        gc.collect()
        now = (_fds(), _shm(), _spawn_files())
        # no more descriptors than before (fewer is no leak: a descriptor of the process's
        # own, open at the start, may close meanwhile), no new named segment or spawn file
        if (now[0] <= fds and now[1:] == (shm, files)) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert now[0] <= fds and now[1:] == (shm, files), (now, (fds, shm, files))
