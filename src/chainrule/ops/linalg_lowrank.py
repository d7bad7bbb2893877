"""Low-rank and Householder linear algebra at torch's top level: ``svd_lowrank``,
``pca_lowrank``, ``lobpcg``, ``geqrf``, ``orgqr``, ``ormqr``."""

from __future__ import annotations

__all__: list[str] = []
