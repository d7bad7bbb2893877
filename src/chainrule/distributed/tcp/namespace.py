"""The TCP backend seen through mpi4py's names: what ``cr.distributed`` reads from ``MPI``.

``group._mpi()`` returns this module instead of ``mpi4py.MPI`` while the default process group
runs on the TCP ("gloo") backend, so the collectives keep writing ``MPI.IN_PLACE``,
``MPI.SUM``, ``MPI.Request.Testall``, ``MPI.Status()`` and the rest unchanged. A reduction
operation here is the NumPy ufunc that combines two ranks' arrays.
"""

from __future__ import annotations

import builtins

import numpy as np

from .mesh import ANY_SOURCE
from .requests import REQUEST_NULL, Request, Status

__all__ = [
    "ANY_SOURCE",
    "ANY_TAG",
    "BAND",
    "BOR",
    "BXOR",
    "BYTE",
    "COMM_NULL",
    "Exception",
    "IN_PLACE",
    "LAND",
    "LOR",
    "LXOR",
    "MAX",
    "MIN",
    "Op",
    "PROD",
    "REQUEST_NULL",
    "Request",
    "SUM",
    "Status",
    "TAG_UB",
    "UNDEFINED",
]


class Exception(builtins.Exception):  # noqa: A001 - mpi4py's name
    """``MPI.Exception``, which ``work.py`` catches to re-word MPI's errors. Nothing raises
    it here: the TCP backend raises ``TransportFailure`` (a ``DistBackendError``) whose
    message already says which peer failed and how, so it reaches the caller unchanged."""

    def Get_error_string(self) -> str:  # noqa: N802 - mpi4py's name
        return str(self)


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<tcp.{self.name}>"


IN_PLACE = _Marker("IN_PLACE")
BYTE = _Marker("BYTE")
COMM_NULL = _Marker("COMM_NULL")
UNDEFINED = -32766  # the color that leaves a process out of Split (mpi4py's value)
ANY_TAG = -1
TAG_UB = 2**31 - 1  # the largest tag; chainrule reserves it and the one below


class Op:
    """A reduction: combines two arrays elementwise into the first."""

    def __init__(self, name: str, ufunc: np.ufunc):
        self.name = name
        self.ufunc = ufunc

    def combine(self, acc: np.ndarray, other: np.ndarray) -> None:
        """``acc = acc (op) other``, in place (``acc`` keeps its dtype)."""
        self.ufunc(acc, other, out=acc, casting="unsafe")

    def __repr__(self) -> str:
        return f"<tcp.Op {self.name}>"


SUM = Op("SUM", np.add)
PROD = Op("PROD", np.multiply)
MIN = Op("MIN", np.minimum)
MAX = Op("MAX", np.maximum)
LAND = Op("LAND", np.logical_and)
LOR = Op("LOR", np.logical_or)
LXOR = Op("LXOR", np.logical_xor)
BAND = Op("BAND", np.bitwise_and)
BOR = Op("BOR", np.bitwise_or)
BXOR = Op("BXOR", np.bitwise_xor)
