"""Op specs for ``ops/linalg_lowrank.py`` (``svd_lowrank``, ``pca_lowrank``, ``geqrf``, ``orgqr``,
``ormqr``); appended to the central table in tests/ops/op_specs.py.
"""

from __future__ import annotations

from .op_specs import OpSpec  # noqa: F401

__all__ = ["SPECS"]

SPECS: list = []
