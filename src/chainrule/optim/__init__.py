"""Optimizers and learning-rate schedulers, mirroring ``torch.optim``.

Every optimizer updates ``p.data`` in place from ``p.grad`` with array operations (no graph,
no new Tensors per step) and keeps its state as arrays and numbers, so ``state_dict()`` can
be saved without pickle.
"""
from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
           "SGD",
           "Adadelta",
           "Adagrad",
           "Adam",
           "AdamW",
           "Adamax",
           "NAdam",
           "Optimizer",
           "RMSprop",
           "lr_scheduler",
]
