"""Session 45 of the nn-module fuzzer, second wave (seeds 61-62): the differences found."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .programs import Case, check

__all__: list[str] = []


def test_seed_62_case():
    case = Case(
        "AdaptiveLogSoftmaxWithLoss",
        (2, 5, [1, 2]),
        (),
        (("f", (2, 2)), ("i", (2,), 0, 5)),
        False,
        0,
        False,
        True,
    )
    assert check(case) == []


@pytest.mark.parametrize("targets", [[0, 4], [4, 3, 0, 2], [0, 0], [3, 1]])
def test_adaptive_log_softmax_runs_the_tails_before_the_head(targets):
    # seed 62: a global forward hook saw chainrule's head (Linear) before the tail clusters
    # (Sequential of two Linears); torch's forward runs the clusters first, the head after
    seen = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        m = lib.nn.AdaptiveLogSoftmaxWithLoss(8, 6, [1, 3], div_value=2.0)
        calls: list = []
        register = lib.nn.modules.module.register_module_forward_hook
        handle = register(lambda mod, args, out, calls=calls: calls.append(type(mod).__name__))
        x = lib.tensor(np.cos(np.arange(8.0 * len(targets))).reshape(-1, 8), dtype=lib.float32)
        try:
            out = m(x, lib.tensor(targets))
        finally:
            handle.remove()
        seen.append(calls)
        assert calls[-2:] == ["Linear", "AdaptiveLogSoftmaxWithLoss"]
        assert out.output.shape == (len(targets),)
    assert seen[1] == seen[0]
