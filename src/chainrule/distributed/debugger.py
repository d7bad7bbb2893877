"""``breakpoint``: stop one rank in the debugger while the others wait for it.

A plain ``breakpoint()`` in a distributed script stops every rank at once, each fighting for
the terminal, and the ranks that are not being debugged soon time out in their next
collective. ``cr.distributed.breakpoint(rank=0)`` opens ``pdb`` on one rank only and holds
the others in a barrier (for up to ``timeout_s`` seconds) until you continue.
"""

from __future__ import annotations

import logging
import pdb
import sys
from typing import Any

from .group import get_rank, group_of
from .work import wait_requests

__all__ = ["breakpoint"]

_log = logging.getLogger(__name__)


class _Skips:
    count = 0  # calls with skip > 0 so far in this process (PyTorch's counter is global too)


class _DistributedPdb(pdb.Pdb):
    """``pdb`` that reads the terminal (``/dev/stdin``) while it stops: a rank started by
    ``multiprocessing`` has its ``sys.stdin`` on ``/dev/null``."""

    def interaction(self, *args: Any, **kwargs: Any) -> None:
        saved = sys.stdin
        try:
            terminal = open("/dev/stdin")  # noqa: SIM115 - closed in the finally below
        except OSError:  # no terminal to reopen (e.g. no /dev/stdin): keep the current stdin
            terminal = None
        try:
            if terminal is not None:
                sys.stdin = terminal
            super().interaction(*args, **kwargs)
        finally:
            sys.stdin = saved
            if terminal is not None:
                terminal.close()


def breakpoint(rank: int = 0, skip: int = 0, timeout_s: float = 3600) -> None:  # noqa: A001
    """Open ``pdb`` on global rank ``rank`` only; every rank then waits in a barrier.

    Every rank must call it (it ends with a barrier on the default group). The debugger
    stops inside this function: type ``up`` to reach the caller. With ``skip > 0`` the first
    ``skip`` calls with a ``skip`` in this process return at once (no barrier): to stop in
    the n-th pass through a loop.

    Args:
        rank: the global rank that opens the debugger (the others just wait).
        skip: how many calls to let pass before stopping.
        timeout_s: how long the waiting ranks wait for the debugged one, in seconds.

    Raises:
        ValueError: the default process group is not initialised.
        DistBackendError: the barrier did not complete within ``timeout_s``.
    """
    if skip > 0:
        _Skips.count += 1
        if _Skips.count <= skip:
            _log.warning("Skip the breakpoint, counter=%d", _Skips.count)
            return
    if get_rank() == rank:
        debugger = _DistributedPdb()
        debugger.message(
            "\n!!! ATTENTION !!!\n\n"
            f"Type 'up' to get to the frame that called dist.breakpoint(rank={rank})\n"
        )
        debugger.set_trace()
    # A bare barrier: barrier()'s call check (debug level INFO/DETAIL) would wait for the
    # debugged rank with the group's timeout instead of timeout_s.
    world = group_of(None)
    wait_requests([world.comm.Ibarrier()], timeout_s, "cr.distributed.breakpoint", world.rank())
