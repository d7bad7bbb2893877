"""A short run of the printing fuzzer in CI: a few fixed seeds, each a few dozen random
tensors printed by torch 2.13 and chainrule every way :func:`tests.fuzz_repr.compare.render`
does, which must agree character for character. The long hunt is
``python -m tests.fuzz_repr.hunt COUNT SEED``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .cases import Case, draw
from .compare import check, printing

SEEDS = (11, 12, 13)
PER_SEED = 40


@pytest.mark.parametrize("seed", SEEDS)
def test_random_reprs_match_torch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for n in range(PER_SEED):
        case = draw(rng, n)
        diffs = check(case)
        assert not diffs, f"{case!r}\n{diffs[0]}"


def test_options_are_restored_after_a_case() -> None:
    """A case's print options and default dtype do not outlive it (in either library)."""
    case = Case("float64", np.ones(3), {"precision": 1, "sci_mode": True}, "float64")
    check(case)
    assert repr(cr.tensor([1.5])) == repr(torch.tensor([1.5])) == "tensor([1.5000])"
    assert cr.get_default_dtype() == cr.float32


def test_a_difference_is_reported() -> None:
    """The comparison can fail: a chainrule option that torch does not share shows up."""
    case = Case("float32", np.array([1.5, 2.0]))
    with printing(case):
        cr.set_printoptions(precision=2)  # chainrule only: the texts now differ
        want, got = repr(torch.tensor([1.5, 2.0])), repr(cr.tensor([1.5, 2.0]))
    assert want != got
