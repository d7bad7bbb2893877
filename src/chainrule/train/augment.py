"""Old import path of the batch-level image augmentation, which is data preparation and lives
in :mod:`chainrule.data.augment`; re-exported here for code that imports it from here."""

from __future__ import annotations

from ..data.augment import AugmentedTensorDataset, random_shift_flip

__all__ = ["AugmentedTensorDataset", "random_shift_flip"]
