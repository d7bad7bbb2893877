"""``rendezvous``/``register_rendezvous_handler``, ``get_pg_count``, ``get_backend_config``,
``BackendConfig``, ``GroupName``, ``split_group`` and ``breakpoint`` against PyTorch 2.13.

In-process checks compare errors and answers with torch's on one-rank worlds; one spawned
3-rank run (Gloo transport) checks a user's rendezvous handler forming a real world, the
group count, ``split_group`` of the world and of a subgroup, and ``breakpoint`` with the
debugger replaced (no terminal in a test).
"""

from __future__ import annotations

import datetime
import itertools
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch.distributed as tdist

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed import debugger

from .test_tcp_collectives import free_port, run_ranks
from .workers.more_names import _outcome, _three_ranks  # spawned: no torch import

_SCHEMES = itertools.count()


def _both(make_call):
    """The outcome of ``make_call(module)`` for chainrule's and torch's distributed."""
    return _outcome(make_call(dist)), _outcome(make_call(tdist))


@pytest.mark.parametrize(
    "url, kwargs",
    [
        (5, {}),
        ("tcp://127.0.0.1:1", {"rank": "0", "world_size": 1}),
        ("tcp://127.0.0.1:1", {"rank": 0, "world_size": 1.0}),
        ("tcp://127.0.0.1:1?rank=0", {"world_size": 1}),
        ("nope://x", {}),
        ("", {}),
        ("tcp://127.0.0.1", {}),
        ("tcp://127.0.0.1:1", {}),
        ("tcp://127.0.0.1:1?rank=0", {}),
        ("file://relative?rank=0&world_size=1", {}),
        ("file:///tmp/x", {"rank": 0}),
    ],
)
def test_rendezvous_errors_match_torch(url, kwargs):
    ours, theirs = _both(lambda m: lambda: next(m.rendezvous(url, **kwargs)))
    assert ours == theirs and ours[0] != "ok"


@pytest.mark.parametrize("missing", ["RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"])
def test_env_rendezvous_names_the_missing_variable(monkeypatch, missing):
    env = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    ours, theirs = _both(lambda m: lambda: next(m.rendezvous("env://")))
    assert ours == theirs and ours[0] == "ValueError"


@pytest.mark.parametrize("scheme", ["tcp", "file", "env"])
def test_builtin_rendezvous_yields_a_store_once(tmp_path, monkeypatch, scheme):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("RANK", "5")  # the rank and world size given below take precedence
    monkeypatch.setenv("WORLD_SIZE", "9")
    answers = []
    for module in (dist, tdist):
        port = free_port()
        monkeypatch.setenv("MASTER_PORT", str(port))
        url = {
            "tcp": f"tcp://127.0.0.1:{port}",
            "file": f"file://{tmp_path}/{module.__name__}",
            "env": "env://",
        }[scheme]
        it = module.rendezvous(url, rank=0, world_size=1, timeout=datetime.timedelta(seconds=5))
        store, rank, size = next(it)
        store.set("k", "v")
        again = _outcome(lambda it=it: next(it))
        answers.append((type(store).__name__, store.get("k"), rank, size, again))
    assert answers[0] == answers[1]
    assert answers[0][4][0] == "RuntimeError"


def test_registered_handler_gets_torchs_url_and_arguments():
    seen = {dist: [], tdist: []}

    def handler_for(module):
        def handler(url, **kwargs):
            seen[module].append((url, sorted(kwargs)))
            yield module.HashStore(), 0, 1

        return handler

    scheme = f"crtest{next(_SCHEMES)}"
    for module in (dist, tdist):
        module.register_rendezvous_handler(scheme, handler_for(module))
        next(module.rendezvous(f"{scheme}://host/p?x=1", rank=3, world_size=4, foo=5))
        next(module.rendezvous(f"{scheme}://host", world_size=2))
        next(module.rendezvous(f"{scheme}://"))
    assert seen[dist] == seen[tdist]
    assert seen[dist][0][0] == f"{scheme}://host/p?x=1&rank=3&world_size=4"
    for name in (scheme, "tcp", "env"):
        ours, theirs = _both(lambda m, name=name: lambda: m.register_rendezvous_handler(name, None))
        assert ours == theirs and ours[0] == "RuntimeError"


@pytest.mark.parametrize("backend", [None, "gloo", "cpu:gloo"])
def test_init_with_a_registered_scheme(backend):
    """init_process_group calls the user's handler (with the rank, world size and timeout it
    was given); group count and backend config as torch answers."""
    seen = {dist: [], tdist: []}
    scheme = f"crinit{next(_SCHEMES)}"
    answers = {}
    for module in (dist, tdist):

        def handler(url, module=module, **kwargs):
            seen[module].append((url, kwargs))
            yield module.HashStore(), 0, 1

        module.register_rendezvous_handler(scheme, handler)
        module.init_process_group(
            backend, init_method=f"{scheme}://h:1/p", rank=0, world_size=1,
            timeout=datetime.timedelta(seconds=20),
        )  # fmt: skip
        try:
            counts = [module.get_pg_count()]
            sub = module.new_group([0], backend="cpu:gloo")
            counts.append(module.get_pg_count())
            configs = (module.get_backend_config(), module.get_backend_config(sub))
            module.destroy_process_group(sub)
            counts.append(module.get_pg_count())
            destroyed = _outcome(lambda sub=sub, m=module: m.get_backend_config(sub))[0]
            answers[module] = (counts, configs, destroyed, module.get_world_size())
        finally:
            module.destroy_process_group()
        answers[module] += (module.get_pg_count(),)
    assert seen[dist] == seen[tdist]
    assert seen[dist][0][0].endswith("?rank=0&world_size=1")
    assert answers[dist] == answers[tdist]


def test_unregistered_scheme_in_init_process_group():
    ours, theirs = _both(
        lambda m: lambda: m.init_process_group("gloo", init_method="nope://x", rank=0, world_size=1)
    )
    assert ours == theirs and ours[0] == "RuntimeError"


@pytest.mark.parametrize(
    "text",
    ["gloo", "GLOO", "mpi", "nccl", "ucc", "xccl", "fake", "undefined", "cpu:gloo",
     "CPU:GLOO,cuda:nccl", "foo:gloo", "cpu:gloo,nccl", "cpu:gloo,cpu:mpi"],
)  # fmt: skip
def test_backend_config_matches_torch(text):
    def describe(module):
        try:
            config = module.BackendConfig(text)
        except ValueError as exc:
            return "ValueError", str(exc).split(".")[0].split()
        return str(config), repr(config), config.get_device_backend_map()

    assert describe(dist) == describe(tdist)


def test_backend_config_of_an_unknown_backend_warns_as_torch():
    answers = []
    for module in (dist, tdist):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = module.BackendConfig("foo")
        answers.append((str(config), [type(w.message) for w in caught][:1]))
    assert answers[0] == answers[1] == ("cpu:foo,cuda:foo,xpu:foo", [UserWarning])
    assert dist.BackendConfig(dist.Backend("gloo")).get_device_backend_map() == {
        "cpu": "gloo",
        "cuda": "gloo",
    }


def test_group_name_is_a_str_newtype_as_torch():
    assert dist.GroupName.__name__ == tdist.GroupName.__name__ == "GroupName"
    assert dist.GroupName.__supertype__ is tdist.GroupName.__supertype__ is str
    assert dist.GroupName("g") == "g"


def test_queries_before_init_match_torch():
    # torch answers 0 in a fresh process (after a failed init_process_group torch's counter
    # stays raised, which other tests in this process may have left)
    assert dist.get_pg_count() == 0
    for name in ("get_backend_config", "breakpoint"):
        ours, theirs = _both(lambda m, name=name: getattr(m, name))
        assert ours == theirs and ours[0] == "ValueError"


def test_split_group_argument_errors():
    ours, theirs = _both(lambda m: lambda: m.split_group(split_ranks=None))
    assert ours == ("ValueError", "split_ranks cannot be None or empty") and ours[0] == theirs[0]
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        assert _outcome(lambda: dist.split_group(split_ranks=[]))[0] == "ValueError"
        for bad, kind in (
            ([[0, 1]], "ValueError"),  # rank 1 is not in a 1-rank world
            ([[0], [0]], "ValueError"),
            ([[]], "ValueError"),
            ([0], "TypeError"),
        ):
            assert _outcome(lambda bad=bad: dist.split_group(split_ranks=bad))[0] == kind, bad
        for kwargs, kind in (
            ({"timeout": 5}, "TypeError"),
            ({"backend": "cuda:nccl"}, "ValueError"),
            ({"pg_options": object()}, "NotImplementedError"),
        ):
            got = _outcome(lambda kwargs=kwargs: dist.split_group(split_ranks=[[0]], **kwargs))
            assert got[0] == kind, kwargs
        assert dist.get_pg_count() == 1  # failed calls create no group
        g = dist.split_group(split_ranks=[[0]], group_desc="d", backend="cpu:gloo")
        assert g.group_desc == "d" and dist.get_backend_config(g) == "cpu:gloo"
        assert dist.get_pg_count() == 2
    finally:
        dist.destroy_process_group()


def test_breakpoint_on_one_rank_with_skips(monkeypatch, capsys):
    stops = []
    monkeypatch.setattr(debugger._DistributedPdb, "set_trace", lambda self: stops.append(self))
    monkeypatch.setattr(debugger._Skips, "count", 0)
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        dist.breakpoint()
        assert len(stops) == 1
        assert "Type 'up' to get to the frame that called dist.breakpoint(rank=0)" in (
            capsys.readouterr().out
        )
        for _ in range(3):
            dist.breakpoint(skip=2)  # the first two calls with a skip pass, the third stops
        assert len(stops) == 2
        dist.breakpoint(rank=1)  # another rank's breakpoint: only the barrier here
        assert len(stops) == 2
    finally:
        dist.destroy_process_group()


_DEBUGGED = """
import os, sys
import chainrule.distributed as dist
sys.stdin = open(os.devnull)  # as in a rank started by multiprocessing
dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
answer = 6
dist.breakpoint()
print("after", answer)
dist.destroy_process_group()
"""


def test_breakpoint_debugger_reads_the_terminal():
    """The real pdb: it stops inside breakpoint() (``up`` reaches the caller) and reads its
    commands from the process's terminal although ``sys.stdin`` is /dev/null."""
    env = dict(os.environ, PYTHONPATH=str(Path(cr.__file__).parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", _DEBUGGED],
        input="up\np answer * 7\nanswer = 1\nc\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "(Pdb) 42" in done.stdout and "after 1" in done.stdout, done.stdout


# -- three ranks, Gloo transport ----------------------------------------------------------
def test_three_ranks_handler_counts_split_and_breakpoint():
    results = run_ranks(_three_ranks, 3, free_port(), timeout=60)
    for rank, out in enumerate(results):
        assert out["world_sum"] == 6.0
        # torch 2.13 (gloo, measured): 1 after init, +1 per new_group (non-members too),
        # +1 per subgroup of new_subgroups_by_enumeration, destroying one does not lower it
        assert out["counts"] == [1, 2, 3, 5, 5, 6], (rank, out["counts"])
        assert out["split"] == ([[0, 2], [1], [0, 2]][rank], [0, 0, 1][rank], [4.0, 2.0, 4.0][rank])
        assert out.get("sub", "absent") == [None, [1], "absent"][rank]
        assert out["break"][0] == (rank == 1)
        assert out["break"][1] > 0.3  # every rank waited for the debugged one
    # the debugged rank finds the others gone (they gave up and left): a broken group, as
    # with torch's Gloo
    assert results[0]["timeout"][0] in ("ok", "TransportFailure"), results[0]["timeout"]
    for out in results[1:]:
        assert out["timeout"][0] == "DistBackendError", out["timeout"]
        assert "timed out after 0.2 s" in out["timeout"][1]
