"""The TCP ("gloo") backend of ``cr.distributed``: CPU processes on one or more machines
connected by TCP sockets, found through a PyTorch-style rendezvous (``env://``, ``tcp://``,
``file://`` or a store).

Layout: ``wire`` (socket helpers), ``store``/``tcp_store``/``file_store`` (the key-value
stores of the rendezvous), ``rendezvous`` (store + mesh set-up), ``mesh`` (the connections
and the mailbox that matches messages), ``requests`` and ``namespace`` (mpi4py's request,
status and constant names), ``algorithms`` (collectives from point-to-point messages) and
``comm`` (the communicator with mpi4py's method names). Tensors travel as raw NumPy bytes;
objects (``*_object*`` collectives, ``Split``) are pickled, so, as with PyTorch, the ranks
must trust each other: only connect processes you started.
"""

from __future__ import annotations

from . import namespace
from .comm import Comm
from .file_store import FileStore
from .rendezvous import init_world
from .store import DistNetworkError, DistStoreError, HashStore, PrefixStore, Store
from .tcp_store import TCPStore

__all__ = [
    "Comm",
    "DistNetworkError",
    "DistStoreError",
    "FileStore",
    "HashStore",
    "PrefixStore",
    "Store",
    "TCPStore",
    "init_world",
    "namespace",
]
