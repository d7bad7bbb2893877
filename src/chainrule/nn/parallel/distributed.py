"""``DistributedDataParallel``: one model replica per process, gradients averaged over MPI.

Construction checks that every rank holds the same model layout and copies rank 0's
parameters and buffers to the others. Each forward (with gradients on) routes the
parameters through the reducer's ready-hooks (``reducer.py``), so backward starts the
gradient all-reduces bucket by bucket while it is still running, and ends with every
``.grad`` holding the average over the ranks: N processes with batch B compute the same
update as one process with batch N*B.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...autograd import grad_mode
from ...autograd.tensor import Tensor
from ...distributed.group import ProcessGroup, group_of
from ...distributed.work import wait_requests
from ..module import Module
from .reducer import Reducer, _GradReady

__all__ = ["DistributedDataParallel"]

_UNSUPPORTED = (
    "delay_all_reduce_named_params",
    "param_to_hook_all_reduce",
    "mixed_precision",
    "device_mesh",
)


def _flat_broadcast(group: ProcessGroup, tensors: list[Tensor], where: str) -> None:
    """Broadcast ``tensors`` from rank 0 as one message per dtype (coalesced), in place."""
    by_dtype: dict[Any, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for dtype, group_tensors in sorted(by_dtype.items(), key=lambda kv: str(kv[0])):
        flat = (
            np.concatenate([t._data.reshape(-1) for t in group_tensors])
            if group.rank() == 0
            else np.empty(sum(t._data.size for t in group_tensors), dtype)
        )
        req = group.comm.Ibcast(flat, root=0)
        wait_requests([req], group.timeout_s, where, group.rank())
        if group.rank() != 0:
            offset = 0
            for t in group_tensors:
                n = t._data.size
                np.copyto(t._data, flat[offset : offset + n].reshape(t._data.shape))
                t._vc[0] += 1
                offset += n


def _verify_same_model(group: ProcessGroup, module: Module) -> None:
    """Every rank must wrap a model with the same parameter names, shapes and dtypes.

    A digest of the layout is all-gathered first (with the group's timeout); only when the
    digests differ are the full layouts exchanged to say where the models differ.
    """
    layout = [(name, tuple(p.shape), str(p.dtype)) for name, p in module.named_parameters()]
    digest = hashlib.sha256(repr(layout).encode()).digest()[:8]
    mine = np.array([len(layout), int.from_bytes(digest, "little", signed=True)], np.int64)
    table = np.empty((group.size(), 2), np.int64)
    wait_requests(
        [group.comm.Iallgather(mine, table)],
        group.timeout_s,
        "DistributedDataParallel: checking the model on every rank",
        group.rank(),
    )
    if (table == table[0]).all():
        return
    layouts = group.comm.allgather(layout)  # every rank saw the mismatch: all take part
    for r, other in enumerate(layouts):
        if other != layout:
            diff = next(((a, b) for a, b in zip(layout, other) if a != b), None)
            detail = (
                f"first difference: this rank has {diff[0]}, rank {r} has {diff[1]}"
                if diff
                else f"this rank has {len(layout)} parameters, rank {r} has {len(other)}"
            )
            raise RuntimeError(
                f"DistributedDataParallel: DDP expects the same model on all ranks, but rank "
                f"{group.rank()} and rank {r} differ ({detail}). Build the model identically "
                "on every rank."
            )


def _output_tensors(out: Any) -> Iterator[Tensor]:
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _output_tensors(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _output_tensors(o)


def _reachable_nodes(out: Any) -> set[int]:
    """ids of the graph nodes reachable backwards from the tensors in ``out``."""
    seen: set[int] = set()
    stack = [t.grad_fn for t in _output_tensors(out) if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for nxt, _ in node.next_functions:
            if nxt is not None and not isinstance(nxt, Tensor) and id(nxt) not in seen:
                stack.append(nxt)
    return seen


class DistributedDataParallel(Module):
    """Data parallelism over processes (``torch.nn.parallel.DistributedDataParallel``).

    Call ``cr.distributed.init_process_group()`` first, wrap the model, and train as usual;
    give each rank a different part of the data (``DistributedSampler``).

    Args:
        module: the model (identical on every rank).
        device_ids, output_device: must be None (CPU; one process per device).
        dim: the batch dimension; only 0.
        broadcast_buffers: copy rank 0's buffers (e.g. running statistics) to every rank at
            the start of each forward.
        init_sync: broadcast rank 0's parameters and buffers at construction.
        process_group: the group to average over (default: the world).
        bucket_cap_mb: gradient bucket size in MB (default 25, the first bucket 1 MB).
        find_unused_parameters: find the parameters that the forward output does not depend
            on (a graph traversal per iteration) and treat them as ready at once; parameters
            unused on every rank keep their ``.grad`` unchanged.
        check_reduction: deprecated in PyTorch and ignored there too; must be False.
        gradient_as_bucket_view: make ``.grad`` a view into the bucket (saves a copy).
        static_graph: only False.

    Raises:
        ValueError: the default process group is not initialised.
        RuntimeError: the ranks' models differ.

    Note:
        A parameter used outside the wrapped module's forward (e.g. an explicit weight
        penalty computed from ``ddp.parameters()``) gets that extra gradient added after the
        averaging, locally; compute such terms inside the module or use the optimizer's
        ``weight_decay``.
    """

    def __init__(
        self,
        module: Module,
        device_ids: list | None = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: ProcessGroup | None = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        **kwargs: Any,
    ):
        super().__init__()
        where = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{where}: module must be a cr.nn.Module, got {type(module).__name__}")
        for name, value in kwargs.items():
            if name not in _UNSUPPORTED:
                raise TypeError(f"{where}: unexpected keyword argument {name!r}")
            if value not in (None, False):
                raise NotImplementedError(f"{where}: {name} is not implemented")
        if device_ids is not None or output_device is not None:
            raise NotImplementedError(
                f"{where}: device_ids/output_device must be None for CPU modules (got "
                f"{device_ids!r}, {output_device!r}); run one process per device instead"
            )
        if dim != 0:
            raise NotImplementedError(f"{where}: dim={dim}: only dim=0 is supported")
        if check_reduction or static_graph:
            raise NotImplementedError(
                f"{where}: check_reduction/static_graph=True are not implemented"
            )
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        if bucket_cap_mb <= 0:
            raise ValueError(f"{where}: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        group = group_of(process_group)
        self.module = module
        self.process_group = group
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.bucket_bytes_cap = int(bucket_cap_mb * 1024 * 1024)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.dim = dim
        _verify_same_model(group, module)
        if init_sync and group.size() > 1:
            _flat_broadcast(
                group,
                list(module.parameters()) + list(module.buffers()),
                f"{where}: broadcasting rank 0's parameters",
            )
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        params = [p for _, p in named]
        self._params = params
        index = {id(p): i for i, p in enumerate(params)}
        self._locations = [
            (m, name, index[id(p)])
            for m in module.modules()
            for name, p in m._parameters.items()
            if p is not None and id(p) in index
        ]
        self.reducer = Reducer(
            params,
            group,
            self.bucket_bytes_cap,
            self.find_unused_parameters,
            self.gradient_as_bucket_view,
            [n for n, _ in named],
        )

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally without communicating; the first
        backward after the block averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _sync_buffers(self) -> None:
        buffers = list(self.module.buffers())
        if buffers and self.process_group.size() > 1:
            _flat_broadcast(
                self.process_group, buffers, "DistributedDataParallel: broadcasting buffers"
            )

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = (
            self.require_backward_grad_sync and grad_mode.is_grad_enabled() and bool(self._params)
        )
        if sync:
            self.reducer.check_finished()
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._sync_buffers()
        if not sync:
            return self.module(*inputs, **kwargs)
        reducer = self.reducer
        proxies = [
            _GradReady.apply(p, reducer=reducer, index=i) for i, p in enumerate(self._params)
        ]
        for m, name, i in self._locations:
            m._parameters[name] = proxies[i]
        try:
            out = self.module(*inputs, **kwargs)
        finally:
            for m, name, i in self._locations:
                m._parameters[name] = self._params[i]
        used = None
        if self.find_unused_parameters:
            nodes = _reachable_nodes(out)
            used = {i for i, proxy in enumerate(proxies) if id(proxy.grad_fn) in nodes}
        reducer.prepare(used)
        return out

    def extra_repr(self) -> str:
        return (
            f"world_size={tuple(self.process_group.size())}, bucket_cap_mb="
            f"{self.bucket_bytes_cap / 2**20:g}, find_unused_parameters="
            f"{self.find_unused_parameters}"
        )
