"""Optimizers and learning-rate schedulers, mirroring ``torch.optim``.

Every optimizer updates ``p._data`` in place from ``p.grad`` with array operations (no graph,
no new Tensors per step) and keeps its state as arrays and numbers, so ``state_dict()`` can
be saved without pickle.
"""

from __future__ import annotations

from .._package_dir import package_dir as _package_dir
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = [
    "ASGD",
    "SGD",
    "SparseAdam",
    "Adafactor",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "LBFGS",
    "Muon",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
    "swa_utils",
]

# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(globals())
