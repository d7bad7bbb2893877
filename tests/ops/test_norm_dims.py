"""``torch.norm`` with ``dim`` for every ``p`` (the inf norms with a dim tuple raised a
TypeError: the reduction module's own ``any`` op shadowed the builtin)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("p", [float("inf"), float("-inf"), "fro", 1, 2, 3, 0])
@pytest.mark.parametrize("dim", [(1,), 1, (0, 1)])
def test_norm_with_dim_matches_torch(p, dim):
    a = np.random.default_rng(0).standard_normal((2, 3))
    want = torch.norm(torch.tensor(a), p=p, dim=dim).numpy()
    got = cr.norm(cr.tensor(a), p=p, dim=dim).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_inf_norm_of_an_empty_dim_refuses_as_torch():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError):
            lib.norm(lib.zeros(2, 0), p=float("inf"), dim=(1,))
