"""Argument checks shared by the collectives: tensors in, buffers out, and the cross-rank check.

MPI trusts every rank to pass matching buffers; a mismatch (rank 0 sends 4 floats, rank 1
expects 3 doubles) silently corrupts data, fails with an opaque truncation error, or hangs. So
before each collective chainrule runs one tiny ``Iallgather`` of a 16-integer fingerprint per
rank (which collective, shape, dtype, root, reduce op). Every rank receives the same table, so
on a mismatch *all* ranks raise the same clear error rather than some of them hanging. It costs
one small message round (~10-50 µs in shared memory); ``set_debug_level(DebugLevel.OFF)`` or
``TORCH_DISTRIBUTED_DEBUG=OFF`` skips it. ``DistributedDataParallel`` checks its parameter
layout once at construction and skips the per-bucket check.
"""

from __future__ import annotations

import enum
import os

import numpy as np

from ..autograd.tensor import Tensor
from .work import wait_requests

__all__ = [
    "DebugLevel",
    "array_of",
    "check_consistent",
    "get_debug_level",
    "set_debug_level",
    "writable_buffer",
]


class DebugLevel(enum.Enum):
    """How much checking the collectives do (``torch.distributed.DebugLevel``)."""

    OFF = 0
    INFO = 1
    DETAIL = 2


def _level_from_env() -> DebugLevel:
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "INFO").upper()
    if value not in DebugLevel.__members__:
        raise ValueError(f"TORCH_DISTRIBUTED_DEBUG={value!r}: expected OFF, INFO or DETAIL")
    return DebugLevel[value]


_LEVEL = [_level_from_env()]


def get_debug_level() -> DebugLevel:
    """The current level; the cross-rank consistency check runs unless it is ``OFF``."""
    return _LEVEL[0]


def set_debug_level(level: DebugLevel) -> None:
    """Set the level (``OFF`` skips the cross-rank shape/dtype check before collectives)."""
    if not isinstance(level, DebugLevel):
        raise TypeError(f"set_debug_level: expected a DebugLevel, got {level!r}")
    _LEVEL[0] = level


def array_of(t: object, where: str, name: str = "tensor") -> np.ndarray:
    """The NumPy array behind tensor ``t``; a clear error for anything else."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{where}: {name} must be a cr.Tensor, got {type(t).__name__}")
    arr = t._data
    if not isinstance(arr, np.ndarray):
        raise NotImplementedError(
            f"{where}: {name} lives on {t.device}; the MPI backend moves CPU (NumPy) tensors "
            "only. Copy it with .cpu() first (a CuPy + NCCL path is not implemented)."
        )
    return arr


def writable_buffer(t: Tensor, where: str, name: str = "tensor"):
    """A C-contiguous array MPI can write into, and a function to call after it did.

    Contiguous tensors are used in place (no copy); others go through a temporary that the
    returned ``done`` copies back. ``done`` also bumps the tensor's version counter, as any
    in-place change does.
    """
    arr = array_of(t, where, name)
    if not arr.flags.writeable:
        raise ValueError(f"{where}: {name} is read-only; pass a writable tensor")
    if arr.flags.c_contiguous:

        def done() -> None:
            t._vc[0] += 1

        return arr, done
    tmp = np.ascontiguousarray(arr)

    def copy_back() -> None:
        np.copyto(arr, tmp)
        t._vc[0] += 1

    return tmp, copy_back


_OPS = (
    "all_reduce",
    "broadcast",
    "all_gather",
    "all_gather_into_tensor",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "gather",
    "scatter",
    "reduce",
    "barrier",
    "all_to_all_single",
    "all_to_all",
)
_WIDTH = 16
_MAX_DIMS = 8


def _dtype_code(dtype: np.dtype) -> int:
    return int.from_bytes(np.dtype(dtype).str.encode()[:8].ljust(8, b"\0"), "little")


def _dtype_name(code: int) -> str:
    return str(np.dtype(code.to_bytes(8, "little").rstrip(b"\0").decode()))


def _fingerprint(op: str, shape: tuple, dtype: np.dtype, extra: tuple) -> np.ndarray:
    vec = np.zeros(_WIDTH, np.int64)
    vec[0] = _OPS.index(op)
    vec[1], vec[2] = extra[0], extra[1]
    vec[3] = _dtype_code(dtype) if dtype is not None else 0
    vec[4] = len(shape)
    vec[5] = hash(tuple(shape[_MAX_DIMS:])) if len(shape) > _MAX_DIMS else 0
    vec[6 : 6 + min(len(shape), _MAX_DIMS)] = shape[:_MAX_DIMS]
    return vec


def _describe(row: np.ndarray, extra_names: tuple) -> str:
    op = _OPS[int(row[0])] if 0 <= row[0] < len(_OPS) else f"op#{row[0]}"
    if op == "barrier":
        return "barrier()"
    nd = int(row[4])
    shape = tuple(int(s) for s in row[6 : 6 + min(nd, _MAX_DIMS)])
    text = f"{op}(shape={shape}{'+...' if nd > _MAX_DIMS else ''}, dtype={_dtype_name(int(row[3]))}"
    for label, value in zip(extra_names, (row[1], row[2])):
        if label:
            text += f", {label}={int(value)}"
    return text + ")"


def check_consistent(
    group,
    op: str,
    shape: tuple = (),
    dtype: np.dtype | None = None,
    extra: tuple = (0, 0),
    extra_names: tuple = ("", ""),
) -> None:
    """Raise the same ``RuntimeError`` on every rank when the ranks' calls do not match.

    Args:
        group: the ProcessGroup the collective runs on.
        op: the collective's name.
        shape, dtype: the tensor every rank must agree on.
        extra: two integers that must also agree (root rank, reduce op), named by
            ``extra_names`` in the message.
    """
    size = group.size()
    if size == 1 or _LEVEL[0] is DebugLevel.OFF:
        return
    mine = _fingerprint(op, tuple(shape), dtype, extra)
    table = np.empty((size, _WIDTH), np.int64)
    where = f"cr.distributed.{op}"
    req = group.comm.Iallgather(mine, table)
    wait_requests([req], group.timeout_s, where, group.rank())
    if (table == table[0]).all():
        return
    lines = "; ".join(f"rank {r}: {_describe(table[r], extra_names)}" for r in range(size))
    raise RuntimeError(
        f"{where}: the ranks' calls do not match ({lines}). Every rank must call the same "
        "collectives in the same order, with tensors of the same shape and dtype and the same "
        "root and op."
    )
