"""Activation functions of ``nn.functional`` (``F.relu``, ``F.gelu``, ...): the family's
public face, re-exporting the two files that define them.

- ``activation_piecewise.py``: the piecewise-linear ones (the ReLU family: ``relu``,
  ``relu6``, ``hardtanh``, ``leaky_relu``, ``prelu``, ``rrelu``, ``threshold``, and
  ``hardsigmoid``, ``hardshrink``, ``softshrink``, ``maxout``);
- ``activation_smooth.py``: the smooth ones (``elu``/``selu``/``celu``, ``gelu``, ``silu``,
  ``mish``, ``hardswish``, ``glu``, ``softsign``, ``logsigmoid``, ``tanhshrink``);
- their shared input check in ``_activation_args.py``; ``sigmoid``, ``softplus`` and
  ``tanh`` are the ops of ``ops/unary.py``, offered here as ``F.*`` as PyTorch does.

The file was split by those responsibilities in session 40; every name it offered (this
``__all__``, ``SELU_ALPHA``/``SELU_SCALE``) is still importable from here, and the
functions are the same objects (no wrapper between ``F.relu`` and its definition).
"""

from __future__ import annotations

from ...ops.unary import sigmoid, softplus, tanh  # F.sigmoid, F.softplus, F.tanh, as torch
from . import activation_piecewise, activation_smooth
from .activation_piecewise import *  # noqa: F403
from .activation_smooth import *  # noqa: F403
from .activation_smooth import SELU_ALPHA, SELU_SCALE  # noqa: F401 - selu's constants

# every family's names (the form type checkers read), and the three ops of ops/unary.py
__all__ = ["sigmoid", "softplus", "tanh"]
__all__ += activation_piecewise.__all__
__all__ += activation_smooth.__all__
