"""The rendezvous stores (HashStore, FileStore, TCPStore, PrefixStore) against PyTorch's:
the same calls give the same answers, blocking ``get``/``wait`` wake when another client sets
the key, and time out with DistStoreError."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
import torch.distributed as tdist

import chainrule.distributed as dist

from .test_tcp_collectives import free_port

SHORT = datetime.timedelta(seconds=0.05)


def _script(store):
    """A sequence of store calls and what each answered."""
    return [
        store.set("a", "x"),
        store.get("a"),
        store.set("b", b"\x00\xff"),
        store.get("b"),
        store.add("c", 3),
        store.add("c", -1),
        store.get("c"),
        store.check(["a", "c"]),
        store.check(["a", "zz"]),
        store.compare_set("a", "x", "y"),
        store.get("a"),
        store.compare_set("a", "q", "z"),
        store.compare_set("new", "", "v"),
        store.compare_set("missing", "q", "v"),
        store.check(["missing"]),
        store.delete_key("a"),
        store.delete_key("a"),
        store.check(["a"]),
        store.multi_get(["b", "c"]),
        store.wait(["b", "c"]),
    ]


def _pairs(tmp_path):
    port = 0
    theirs_tcp = tdist.TCPStore("127.0.0.1", port, 1, True, timeout=datetime.timedelta(seconds=5))
    ours_tcp = dist.TCPStore("127.0.0.1", port, 1, True, timeout=datetime.timedelta(seconds=5))
    return {
        "hash": (dist.HashStore(), tdist.HashStore()),
        "file": (
            dist.FileStore(str(tmp_path / "ours"), 1),
            tdist.FileStore(str(tmp_path / "t"), 1),
        ),
        "tcp": (ours_tcp, theirs_tcp),
        "prefix": (
            dist.PrefixStore("p", dist.HashStore()),
            tdist.PrefixStore("p", tdist.HashStore()),
        ),
    }


def test_same_answers_as_torch(tmp_path):
    for kind, (ours, theirs) in _pairs(tmp_path).items():
        assert _script(ours) == _script(theirs), kind
        if kind != "tcp":  # a TCPStore also counts its own bookkeeping keys
            assert ours.num_keys() == theirs.num_keys(), kind
        ours.set_timeout(SHORT)
        theirs.set_timeout(SHORT)
        # torch's FileStore polls for 2 s before it times out; its messages are these:
        file_messages = ["Timeout waiting for key: never after 50 ms", "Wait timeout"]
        for i, call in enumerate((lambda s: s.get("never"), lambda s: s.wait(["b", "x"], SHORT))):
            with pytest.raises(dist.DistStoreError) as ours_error:
                call(ours)
            if kind == "file":
                assert str(ours_error.value) == file_messages[i]
                continue
            with pytest.raises(tdist.DistStoreError) as theirs_error:
                call(theirs)
            assert str(ours_error.value) == str(theirs_error.value), kind
        assert ours.timeout == SHORT
        if kind in ("tcp", "file"):
            ours.close()
    assert issubclass(dist.DistStoreError, dist.DistError)
    assert issubclass(dist.DistNetworkError, dist.DistError)


def test_blocking_get_wakes_when_another_client_sets(tmp_path):
    master = dist.TCPStore("127.0.0.1", 0, 2, True, datetime.timedelta(seconds=5), False)
    client = dist.TCPStore("127.0.0.1", master.port, timeout=datetime.timedelta(seconds=5))
    files = [dist.FileStore(str(tmp_path / "f")) for _ in range(2)]
    shared = dist.HashStore()
    prefixed = dist.PrefixStore("job", master)
    for reader, writer in ((master, client), (files[0], files[1]), (shared, shared)):
        got = []
        thread = threading.Thread(target=lambda r=reader, g=got: g.append(r.get("late")))
        thread.start()
        time.sleep(0.05)
        assert not got
        writer.set("late", "here")
        thread.join(5)
        assert got == [b"here"]
        reader.wait(["late"])
    prefixed.set("k", "v")
    assert client.get("job/k") == b"v" and not client.check(["k"])
    assert master.port == client.port > 0 and master.host == "127.0.0.1"
    client.close()
    master.close()
    for f in files:
        f.close()
    assert not (tmp_path / "f").exists()  # the last user of the file removes it


def test_master_waits_for_its_workers():
    """With world_size and wait_for_workers (the defaults), the master's constructor returns
    once world_size stores (its own included) are connected."""
    port = free_port()
    made = []
    thread = threading.Thread(
        target=lambda: made.append(
            dist.TCPStore("127.0.0.1", port, 2, True, datetime.timedelta(seconds=5))
        )
    )
    thread.start()
    time.sleep(0.1)
    assert not made  # still waiting for the second store
    worker = dist.TCPStore("127.0.0.1", port, 2, False, datetime.timedelta(seconds=5))
    thread.join(5)
    assert len(made) == 1
    worker.set("k", "v")
    assert made[0].get("k") == b"v"
    worker.close()
    made[0].close()


def test_argument_errors():
    store = dist.HashStore()
    with pytest.raises(TypeError, match="str or bytes"):
        store.set("k", 1.5)
    with pytest.raises(TypeError, match="timedelta"):
        store.set_timeout(3)
    with pytest.raises(TypeError, match="Store"):
        dist.PrefixStore("p", object())
