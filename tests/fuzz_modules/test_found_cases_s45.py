"""Session 45 of the nn-module fuzzer (seeds 59-): the differences found."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

from .case import Case
from .lifecycle import check_lifecycle

__all__: list[str] = []


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_counts_a_batch_whose_channels_are_refused(name, momentum):
    # seed 59 (BatchNorm2d(2) given 3 channels, life cycle): torch's module adds 1 to
    # num_batches_tracked before its kernel refuses the channel count; chainrule refused
    # first (0). The dims are checked before the count in both
    shape = {"BatchNorm1d": (4, 3, 2), "BatchNorm3d": (2, 3, 1, 2, 2)}.get(name, (2, 3, 2, 2))
    seen = []
    for lib in (torch, cr):
        m = getattr(lib.nn, name)(2, momentum=momentum)
        errors = []
        for x in (lib.zeros(shape), lib.zeros(shape[:1])):  # bad channels, then bad dims
            try:
                m(x)
            except (RuntimeError, ValueError) as exc:  # (a ShapeError is a RuntimeError)
                errors.append(RuntimeError if isinstance(exc, RuntimeError) else ValueError)
        m.eval()
        try:
            m(lib.zeros(shape))
        except RuntimeError:
            errors.append(RuntimeError)
        seen.append((errors, int(m.num_batches_tracked.item())))
    assert seen[1] == seen[0]
    assert seen[1][1] == 1


def test_seed_59_case():
    case = Case("BatchNorm2d", ([2],), (), (("f", (3, 3, 2, 3)),), False, 0, True, False)
    assert check_lifecycle(case) == []
