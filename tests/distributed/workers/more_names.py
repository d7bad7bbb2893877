"""What each rank runs in ``test_dist_more_names.py``'s spawned test (a user's rendezvous
handler, ``get_pg_count``, ``split_group`` and ``breakpoint`` on three ranks). It lives here,
in a module that does not import torch, so that each spawned rank starts in a second rather
than three."""

from __future__ import annotations

import datetime
import time
import urllib.parse

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed import debugger


def _outcome(call):
    """``(exception type name, message)`` of ``call()``, or ``("ok", None)``."""
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - compared with torch's
        return type(exc).__name__, str(exc)
    return "ok", None


def _handler(url, **kwargs):
    """A user's rendezvous: a TCPStore on the URL's address, rank 0 serving it."""
    parsed = urllib.parse.urlparse(url)
    query = dict(urllib.parse.parse_qsl(parsed.query))
    rank, size = int(query["rank"]), int(query["world_size"])
    timeout = kwargs["timeout"]
    yield dist.TCPStore(parsed.hostname, parsed.port, size, rank == 0, timeout), rank, size


def _sum_over(group, value):
    t = cr.tensor(np.array([float(value)]))
    dist.all_reduce(t, group=group)
    return float(t._data[0])


def _three_ranks(rank, size, port):
    dist.register_rendezvous_handler("myrdv", _handler)
    dist.init_process_group(
        "gloo", init_method=f"myrdv://127.0.0.1:{port}", rank=rank, world_size=size,
        timeout=datetime.timedelta(seconds=30),
    )  # fmt: skip
    out = {"world_sum": _sum_over(None, rank + 1), "counts": [dist.get_pg_count()]}
    both = dist.new_group([0, 1])
    out["counts"].append(dist.get_pg_count())
    dist.new_group([2])
    out["counts"].append(dist.get_pg_count())
    mine, _ = dist.new_subgroups_by_enumeration([[0], [1, 2]])
    out["counts"].append(dist.get_pg_count())
    dist.destroy_process_group(mine)
    out["counts"].append(dist.get_pg_count())
    # split of the world, by group ranks: {0, 2} and {1}
    g = dist.split_group(split_ranks=[[2, 0], [1]], group_desc="halves")
    out["counts"].append(dist.get_pg_count())
    out["split"] = (dist.get_process_group_ranks(g), g.rank(), _sum_over(g, rank + 1))
    # split of a subgroup: group rank 1 of [0, 1] is global rank 1; rank 0 gets None
    if both != dist.GroupMember.NON_GROUP_MEMBER:
        sub = dist.split_group(both, split_ranks=[[1]])
        out["sub"] = None if sub is None else dist.get_process_group_ranks(sub)
    # breakpoint: rank 1 "debugs" for 0.4 s, the others wait for it in the barrier
    stops = []

    def fake_set_trace(self):
        stops.append(time.monotonic())
        time.sleep(0.4)

    debugger._DistributedPdb.set_trace = fake_set_trace
    start = time.monotonic()
    dist.breakpoint(rank=1)
    out["break"] = (len(stops), time.monotonic() - start)
    # the debugged rank takes longer than timeout_s: the waiting ranks give up
    debugger._DistributedPdb.set_trace = lambda self: time.sleep(1.0)
    out["timeout"] = _outcome(lambda: dist.breakpoint(rank=0, timeout_s=0.2))
    dist.destroy_process_group()
    return out
