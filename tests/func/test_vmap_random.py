"""Random ops inside vmap: ``randomness='error'`` raises as PyTorch does, ``'same'`` shares one
draw across the batch, ``'different'`` draws independently per sample (as one batched draw)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from ._helpers import torch


def _noise(lib):
    return lambda x: x + lib.rand(3)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_error_mode_raises(lib):
    x = lib.zeros(4, 3)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        lib.func.vmap(_noise(lib))(x)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        lib.func.vmap(lambda t: lib.nn.functional.dropout(t, 0.5))(x)
    with pytest.raises(RuntimeError, match="randomness"):
        lib.func.vmap(_noise(lib), randomness="sometimes")(x)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_same_shares_one_draw(lib):
    out = lib.func.vmap(_noise(lib), randomness="same")(lib.zeros(4, 3)).numpy()
    assert out.shape == (4, 3)
    assert np.all(out == out[0]) and np.all((out >= 0) & (out < 1))
    drop = lib.func.vmap(lambda t: lib.nn.functional.dropout(t, 0.5), randomness="same")(
        lib.ones(6, 50)
    ).numpy()
    assert np.all(drop == drop[0])


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_different_draws_per_sample(lib):
    out = lib.func.vmap(_noise(lib), randomness="different")(lib.zeros(4, 3)).numpy()
    assert out.shape == (4, 3)
    assert len({tuple(r) for r in out}) == 4 and np.all((out >= 0) & (out < 1))
    drop = lib.func.vmap(lambda t: lib.nn.functional.dropout(t, 0.5), randomness="different")(
        lib.ones(6, 50)
    ).numpy()
    assert len({tuple(r) for r in drop}) == 6
    assert set(np.unique(drop)) <= {0.0, 2.0}
    like = lib.func.vmap(lambda t: lib.randn_like(t) * 0 + t, randomness="different")(
        lib.ones(3, 2, 5)
    )
    assert tuple(like.shape) == (3, 2, 5)


def test_different_draws_have_the_logical_shape_and_are_reproducible():
    seen = {}

    def f(x):
        r = cr.randn(2, 3)
        seen["shape"] = r.shape
        return x * r

    cr.manual_seed(3)
    a = cr.func.vmap(f, randomness="different")(cr.ones(5, 2, 3))
    cr.manual_seed(3)
    b = cr.func.vmap(f, randomness="different")(cr.ones(5, 2, 3))
    assert seen["shape"] == (2, 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy()[0], a.numpy()[1])


def test_random_draws_outside_vmap_are_unaffected():
    cr.func.vmap(_noise(cr), randomness="different")(cr.zeros(2, 3))
    assert cr.rand(3).shape == (3,)
    assert type(cr.rand(3)._data) is np.ndarray
