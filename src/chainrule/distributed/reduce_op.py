"""``ReduceOp``: how a collective combines the ranks' values, and its MPI counterpart.

The names mirror ``torch.distributed.ReduceOp``. ``AVG`` has no MPI operation: it is a SUM
followed by an in-place division by the world size (floating-point and complex tensors only).
Boolean tensors follow PyTorch: SUM and MAX are a logical OR, PRODUCT and MIN a logical AND.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

__all__ = ["ReduceOp", "mpi_op"]


class ReduceOp(enum.Enum):
    """Reduction operations for ``all_reduce``, ``reduce`` and ``reduce_scatter``."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"
    PREMUL_SUM = "premul_sum"

    def __repr__(self) -> str:
        return f"<ReduceOp.{self.name}>"


_BOOL = {
    ReduceOp.SUM: "LOR",
    ReduceOp.MAX: "LOR",
    ReduceOp.PRODUCT: "LAND",
    ReduceOp.MIN: "LAND",
    ReduceOp.BOR: "LOR",
    ReduceOp.BAND: "LAND",
    ReduceOp.BXOR: "LXOR",
}
_PLAIN = {
    ReduceOp.SUM: "SUM",
    ReduceOp.AVG: "SUM",
    ReduceOp.PRODUCT: "PROD",
    ReduceOp.MIN: "MIN",
    ReduceOp.MAX: "MAX",
    ReduceOp.BAND: "BAND",
    ReduceOp.BOR: "BOR",
    ReduceOp.BXOR: "BXOR",
}


def mpi_op(MPI: Any, op: Any, dtype: np.dtype, where: str) -> Any:
    """The ``MPI.Op`` for ``op`` on arrays of ``dtype``; a clear error when they don't fit."""
    if not isinstance(op, ReduceOp):
        raise TypeError(
            f"{where}: op must be a cr.distributed.ReduceOp (e.g. ReduceOp.SUM), got {op!r}"
        )
    if op is ReduceOp.PREMUL_SUM:
        raise NotImplementedError(
            f"{where}: ReduceOp.PREMUL_SUM is not implemented; multiply "
            "the tensor first and use ReduceOp.SUM"
        )
    kind = dtype.kind
    if kind == "b":
        if op is ReduceOp.AVG:
            raise ValueError(
                f"{where}: ReduceOp.AVG needs a floating-point or complex tensor, got dtype bool"
            )
        return getattr(MPI, _BOOL[op])
    if op is ReduceOp.AVG and kind not in "fc":
        raise ValueError(
            f"{where}: ReduceOp.AVG needs a floating-point or complex tensor, got "
            f"dtype {dtype}; convert with .float() or use ReduceOp.SUM"
        )
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iu":
        raise ValueError(
            f"{where}: ReduceOp.{op.name} needs an integer or bool tensor, got dtype {dtype}"
        )
    if op in (ReduceOp.MIN, ReduceOp.MAX) and kind == "c":
        raise ValueError(
            f"{where}: ReduceOp.{op.name} is not defined for complex tensors (dtype {dtype})"
        )
    return getattr(MPI, _PLAIN[op])
