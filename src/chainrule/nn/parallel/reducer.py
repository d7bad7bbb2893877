"""Gradient averaging for ``DistributedDataParallel``: buckets, readiness, overlap.

How gradients are caught as they become ready, using only the public ``Function`` API: while
the wrapped module runs forward, each parameter is replaced by the output of
:class:`_GradReady`, an identity op. The engine runs a node only after every gradient
contribution to its output has been summed (Kahn's order), so ``_GradReady.backward`` receives
the parameter's *complete* gradient for this backward pass, typically long before backward
ends. It hands the gradient to the :class:`Reducer` and returns None, so the engine does not
touch ``.grad`` itself; the reducer writes the averaged gradient there.

The reducer copies each gradient, divided by the world size, into a flat bucket (about
``bucket_cap_mb`` megabytes of parameters, in reverse registration order, which is roughly the
order backward produces them; the first bucket is capped at 1 MB so communication starts
early, as in PyTorch). When a bucket is full it starts a non-blocking ``Iallreduce`` on it
while backward continues with earlier layers. Buckets are launched strictly in index order,
so all ranks issue the same collectives in the same order even when their backward passes
visit parameters differently. When the last expected gradient arrives, the reducer waits for
every bucket and writes the averaged gradients to ``.grad``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import grad_mode
from ...autograd.function import Function
from ...autograd.tensor import Tensor
from ...distributed.group import ProcessGroup, _mpi
from ...distributed.work import Work

__all__ = ["Reducer"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class _GradReady(Function):
    """Identity on a parameter during forward; its backward reports the full gradient."""

    raw = True
    is_view = True

    @staticmethod
    def forward(ctx, p, *, reducer, index):
        ctx.reducer, ctx.index = reducer, index
        return p

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.is_grad_enabled():
            raise NotImplementedError(
                "DistributedDataParallel: double backward (create_graph=True) through the "
                "wrapped module is not supported; call backward without create_graph"
            )
        ctx.reducer.mark_ready(ctx.index, grad._data)
        return None


class _Bucket:
    """A flat buffer holding the gradients of a few parameters of one dtype."""

    def __init__(self, indices: list[int], params: list[Tensor]):
        self.indices = indices
        dtype = params[indices[0]]._data.dtype
        sizes = [params[i]._data.size for i in indices]
        self.buffer = np.zeros(int(sum(sizes)), dtype)
        self.views: dict[int, np.ndarray] = {}
        offset = 0
        for i, n in zip(indices, sizes):
            self.views[i] = self.buffer[offset : offset + n].reshape(params[i]._data.shape)
            offset += n
        self.pending = len(indices)
        self.work: Work | None = None


def _assign_buckets(params: list[Tensor], cap_bytes: int) -> list[list[int]]:
    """Group parameter indices into buckets, last parameter first, one dtype per bucket."""
    buckets: list[list[int]] = []
    open_: dict[Any, tuple[list[int], int]] = {}
    limit = min(_FIRST_BUCKET_BYTES, cap_bytes)
    for i in reversed(range(len(params))):
        arr = params[i]._data
        members, size = open_.get(arr.dtype, ([], 0))
        members.append(i)
        size += arr.nbytes
        if size >= limit:
            buckets.append(members)
            members, size = [], 0
            limit = cap_bytes
        open_[arr.dtype] = (members, size)
    buckets += [members for members, _ in open_.values() if members]
    return buckets


class Reducer:
    """Averages the gradients of ``params`` over the ranks of ``group`` during backward.

    Args:
        params: the parameters that require grad, in registration order.
        group: the process group.
        bucket_cap_bytes: bucket size limit.
        find_unused_parameters: expect only the parameters reachable from the forward output.
        gradient_as_bucket_view: make ``.grad`` a view of the bucket instead of a copy.
        names: the parameters' names, for error messages.
    """

    def __init__(
        self,
        params: list[Tensor],
        group: ProcessGroup,
        bucket_cap_bytes: int,
        find_unused_parameters: bool,
        gradient_as_bucket_view: bool,
        names: list[str] | None = None,
    ):
        self.params = params
        self.names = names or [f"#{i}" for i in range(len(params))]
        self.group = group
        self.find_unused = find_unused_parameters
        self.as_view = gradient_as_bucket_view
        self.bucket_indices = _assign_buckets(params, bucket_cap_bytes)
        self.buckets: list[_Bucket] = []
        self.where: dict[int, _Bucket] = {}
        self._build()
        self.in_flight = False  # between the first gradient of a backward and finalize
        self.expected: set[int] = set()
        self.seen: set[int] = set()
        self.used_map: np.ndarray | None = None
        self.used_work: Work | None = None
        self.next_launch = 0

    def _build(self) -> None:
        self.buckets = [_Bucket(idx, self.params) for idx in self.bucket_indices]
        self.where = {i: b for b in self.buckets for i in b.indices}

    # ------------------------------------------------------------ per iteration
    def check_finished(self) -> None:
        """Raise if the previous backward left gradients unreduced (unused parameters)."""
        if self.in_flight:
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior "
                "iteration before starting a new one. This error indicates that your module has "
                "parameters that were not used in producing loss. You can enable unused "
                "parameter detection by passing the keyword argument "
                "`find_unused_parameters=True` to DistributedDataParallel, and by making sure "
                "all `forward` function outputs participate in calculating loss. Parameters "
                f"that did not receive a gradient: {self._missing()}"
            )

    def prepare(self, used: set[int] | None) -> None:
        """Start an iteration; ``used`` holds the parameters that will get a gradient (None:
        all of them)."""
        self.check_finished()
        n = len(self.params)
        self.expected = set(range(n))
        self.seen = set()
        self.next_launch = 0
        for b in self.buckets:
            b.pending = len(b.indices)
            b.work = None
        self.used_work = None
        self.used_map = None
        if used is not None:
            self.used_map = np.zeros(n, np.uint8)
            self.used_map[list(used)] = 1

    def _start_backward(self) -> None:
        """At the first gradient of an iteration: with ``find_unused_parameters``, share which
        parameters each rank used and mark the locally unused ones ready (with zeros)."""
        self.in_flight = True
        if self.used_map is None:
            return
        # Which parameters some rank used decides which .grad to write at the end.
        local_unused = np.flatnonzero(self.used_map == 0)
        self.used_work = _iallreduce(self.group, self.used_map, "MAX")
        for i in local_unused:
            self._ready(int(i), None)

    def _missing(self) -> list[str]:
        return [self.names[i] for i in sorted(self.expected - self.seen)]

    def mark_ready(self, index: int, grad: np.ndarray) -> None:
        """The full gradient of parameter ``index`` for this backward pass is ``grad``."""
        if index in self.seen:
            raise RuntimeError(
                "DistributedDataParallel: Expected to mark a variable ready only once. This "
                "happens when the wrapped module runs forward more than once before backward, "
                "or a parameter is reached by two backward passes in one iteration (e.g. "
                f"retain_graph=True). Parameter {self.names[index]} was marked twice."
            )
        if not self.in_flight:
            self._start_backward()
        self._ready(index, grad)

    def _ready(self, index: int, grad: np.ndarray | None) -> None:
        self.seen.add(index)
        bucket = self.where[index]
        view = bucket.views[index]
        size = self.group.size()
        p = self.params[index]
        if grad is None:  # unused here: contribute the gradient accumulated so far, or zeros
            if p.grad is None:
                view.fill(0)
            else:
                np.divide(p.grad._data, size, out=view, casting="unsafe")
        elif p.grad is not None:  # accumulated over earlier (no_sync) steps: reduce the sum
            np.add(p.grad._data, grad, out=view)
            view /= size
        else:
            np.divide(grad, size, out=view, casting="unsafe")
        bucket.pending -= 1
        self._launch_ready()
        for b in self.buckets[: self.next_launch]:
            if b.work is not None:
                b.work.is_completed()  # drive MPI progress on in-flight buckets
        if len(self.seen) == len(self.expected):
            self._finalize()

    def _launch_ready(self) -> None:
        while self.next_launch < len(self.buckets) and self.buckets[self.next_launch].pending == 0:
            b = self.buckets[self.next_launch]
            b.work = _iallreduce(self.group, b.buffer, "SUM")
            self.next_launch += 1

    def _finalize(self) -> None:
        globally_used = None
        if self.used_work is not None:
            self.used_work.wait()
            globally_used = self.used_map
        for b in self.buckets:
            b.work.wait()
            for i in b.indices:
                if globally_used is not None and not globally_used[i]:
                    continue  # unused on every rank: .grad stays as it was (as PyTorch)
                self._write_grad(self.params[i], b.views[i])
        self.in_flight = False

    def _write_grad(self, p: Tensor, reduced: np.ndarray) -> None:
        if self.as_view:
            p.grad = Tensor._make(reduced, False, None, 0)
        elif (
            p.grad is not None
            and p.grad._data.shape == reduced.shape
            and p.grad._data.flags.writeable
        ):
            np.copyto(p.grad._data, reduced)
            p.grad._vc[0] += 1
        else:
            p.grad = Tensor._make(reduced.copy(), False, None, 0)


def _iallreduce(group: ProcessGroup, buf: np.ndarray, op: str) -> Work:
    MPI = _mpi()
    req = group.comm.Iallreduce(MPI.IN_PLACE, buf, op=getattr(MPI, op))
    return Work(
        [req],
        None,
        "DistributedDataParallel gradient all-reduce",
        group.timeout_s,
        group.rank(),
        [],
    )
