"""chainrule.random_snapshot: the internal fast rewind of the default generator.

A snapshot must bring back exactly the draws a full ``get_rng_state`` / ``set_rng_state``
round trip brings back (including the cached second Box-Muller normal and the "nothing drawn
yet" flag), survive a reseed or a legacy state set in between, and the replays built on it
(jvp's rerun, jacfwd randomness="same", checkpoint, cond) keep their draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import random_snapshot
from chainrule.random_snapshot import restore, snapshot


def test_engine_layout_was_recognised():
    # on the NumPy versions chainrule supports the fast path is taken (else it silently
    # falls back to get_rng_state, which is correct but 40x slower)
    assert random_snapshot._FAST


@pytest.mark.parametrize("first", ["none", "randn1", "rand", "randint"])
def test_restore_repeats_the_following_draws(first):
    cr.manual_seed(3)
    if first == "randn1":
        cr.randn(1)  # leaves torch's cached second normal
    elif first == "rand":
        cr.rand(5)
    elif first == "randint":
        cr.randint(0, 10, (3,))
    snap = snapshot()
    full = cr.get_rng_state()
    a = [cr.randn(3), cr.rand(2, dtype=cr.float64), cr.randint(0, 100, (4,)), cr.randn(1)]
    restore(snap)
    assert cr.get_rng_state().numpy().tobytes() == full.numpy().tobytes()
    b = [cr.randn(3), cr.rand(2, dtype=cr.float64), cr.randint(0, 100, (4,)), cr.randn(1)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_restore_after_reseed_and_set_state_in_between():
    cr.manual_seed(11)
    snap = snapshot()
    expected = cr.randn(4).numpy()
    cr.manual_seed(99)
    cr.randn(7)
    restore(snap)
    np.testing.assert_array_equal(cr.randn(4).numpy(), expected)
    assert cr.initial_seed() == 11
    # a state of another generator set in between
    cr.manual_seed(11)
    snap = snapshot()
    g = cr.Generator().manual_seed(5)
    cr.set_rng_state(g.get_state())
    restore(snap)
    np.testing.assert_array_equal(cr.randn(4).numpy(), expected)


def test_snapshot_of_a_generator_object_leaves_the_default_alone():
    g = cr.Generator().manual_seed(7)
    cr.manual_seed(1)
    snap = snapshot(g)
    first = cr.randn(3, generator=g).numpy()
    default_next = cr.get_rng_state()
    restore(snap)
    np.testing.assert_array_equal(cr.randn(3, generator=g).numpy(), first)
    assert cr.get_rng_state().numpy().tobytes() == default_next.numpy().tobytes()


def test_numbers_after_restore_are_torchs():
    torch.manual_seed(21)
    cr.manual_seed(21)
    torch.randn(1)
    cr.randn(1)
    snap = snapshot()
    cr.rand(100)
    restore(snap)
    np.testing.assert_array_equal(cr.randn(6).numpy(), torch.randn(6).numpy())


def test_checkpoint_replays_dropout_masks():
    cr.manual_seed(0)
    x = cr.randn(8, 16, requires_grad=True)

    def seg(t):
        return cr.nn.functional.dropout(t, 0.5, training=True) * 2

    for reentrant in (True, False):
        cr.manual_seed(4)
        out = cr.utils.checkpoint.checkpoint(seg, x, use_reentrant=reentrant)
        out.sum().backward()
        mask = out.detach().numpy() != 0
        np.testing.assert_array_equal(x.grad.numpy() != 0, mask)
        x.grad = None
