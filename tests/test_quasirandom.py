"""``cr.quasirandom.SobolEngine`` against ``torch.quasirandom.SobolEngine``: the unscrambled
sequence point for point, drawing, skipping and resetting, and the errors; scrambled
sequences are checked for what every scrambling keeps (reproducible from a seed, inside the
unit cube, each coordinate's points stratified)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

Cr, Torch = cr.quasirandom.SobolEngine, torch.quasirandom.SobolEngine


@pytest.mark.parametrize("dimension", [1, 2, 7, 40, 21201])
def test_unscrambled_points_are_torchs(dimension: int) -> None:
    c, t = Cr(dimension), Torch(dimension)
    n = 4 if dimension > 1000 else 70
    got = c.draw(n, dtype=cr.float64).numpy()
    want = t.draw(n, dtype=torch.float64).numpy()
    np.testing.assert_array_equal(got, want)
    assert c.num_generated == t.num_generated == n


def test_draw_skip_reset_and_base2_follow_torch() -> None:
    c, t = Cr(3), Torch(3)
    for step in ("draw3", "ff5", "draw2", "reset", "base2", "draw1", "base2_bad"):
        if step.startswith("draw"):
            n = int(step[4:])
            np.testing.assert_array_equal(c.draw(n).numpy(), t.draw(n).numpy())
        elif step == "ff5":
            assert c.fast_forward(5) is c
            t.fast_forward(5)
        elif step == "reset":
            assert c.reset() is c
            t.reset()
        elif step == "base2":
            np.testing.assert_array_equal(c.draw_base2(2).numpy(), t.draw_base2(2).numpy())
        else:
            for engine in (c, t):
                with pytest.raises(ValueError, match="power of 2"):
                    engine.draw_base2(1)
        assert c.num_generated == t.num_generated


def test_dtype_out_and_repr() -> None:
    assert Cr(2).draw(3).dtype == cr.get_default_dtype()
    assert Cr(2).draw(3, dtype=cr.float64).dtype == cr.float64
    out = cr.empty(1, 1)
    assert Cr(2).draw(4, out=out) is out and tuple(out.shape) == (4, 2)
    for args in ((2,), (2, True), (2, True, 3)):
        assert repr(Cr(*args)) == repr(Torch(*args))


@pytest.mark.parametrize("dimension", [0, -1, 21202])
def test_bad_dimension(dimension: int) -> None:
    for engine in (Cr, Torch):
        with pytest.raises(ValueError, match="21201"):
            engine(dimension)


def test_negative_draw_is_refused() -> None:
    for engine in (Cr, Torch):
        with pytest.raises(RuntimeError, match="negative dimension"):
            engine(2).draw(-1)


def test_scrambled_points() -> None:
    a = Cr(4, scramble=True, seed=7).draw(64).numpy()
    b = Cr(4, scramble=True, seed=7).draw(64).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, Cr(4, scramble=True, seed=8).draw(64).numpy())
    assert not np.array_equal(a, Cr(4).draw(64).numpy())
    assert (a >= 0).all() and (a < 1).all()
    for column in a.T:  # 64 points of a (0, 2)-sequence: one in each interval of width 1/64
        assert sorted(np.floor(column * 64).astype(int)) == list(range(64))
    cr.manual_seed(11)
    c = Cr(2, scramble=True).draw(8).numpy()
    cr.manual_seed(11)
    np.testing.assert_array_equal(Cr(2, scramble=True).draw(8).numpy(), c)
