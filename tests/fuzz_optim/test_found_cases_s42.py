"""Session 42 of the optimizer fuzzer (seeds 7116-): the differences found, pinned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

__all__: list[str] = []


@pytest.mark.parametrize("sparse", [(), (0,), (1,), (0, 1)])
def test_sgd_group_foreach_takes_sparse_gradients_under_fused_defaults(sparse):
    # found (seed 7117): SGD(fused=True) with a group of foreach=True and a sparse gradient
    # in that group: torch's sgd() picks the multi-tensor path first (foreach before fused)
    # and steps; chainrule refused it as the fused kernel ("does not support sparse
    # gradients"). A sparse gradient in a fused group is refused by both.
    seen = []
    for lib in (torch, cr):
        p0 = lib.nn.Parameter(lib.tensor([1.0, 3.0], dtype=lib.float64))
        p1 = lib.nn.Parameter(lib.tensor([2.0], dtype=lib.float64))
        groups = [{"params": [p0], "foreach": True}, {"params": [p1]}]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                opt = lib.optim.SGD(groups, lr=0.1, fused=True)
                for _ in range(2):
                    for i, p in enumerate((p0, p1)):
                        g = lib.ones_like(p) * 0.5
                        p.grad = g.to_sparse() if i in sparse else g
                    opt.step()
            seen.append((p0.tolist(), p1.tolist()))
        except RuntimeError as exc:
            seen.append(str(exc))
    if isinstance(seen[0], str):
        assert seen[1] == seen[0]
    else:
        np.testing.assert_allclose(seen[1][0], seen[0][0], rtol=1e-12)
        np.testing.assert_allclose(seen[1][1], seen[0][1], rtol=1e-12)
