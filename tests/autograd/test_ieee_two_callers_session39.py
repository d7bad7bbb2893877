"""``ieee.fp_ignoring`` remembers the settings derived for the last two callers' NumPy error
settings (session 39: an op entered from a forward and from a backward rule alternates
between two): each entry still gives exactly ``np.errstate``'s setting for the caller's."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.ieee import fp_ignoring, quiet_off, quiet_on


def _inside(ctx_factory) -> dict:
    with ctx_factory():
        return np.geterr()


def test_alternating_callers_get_np_errstate_settings():
    ignoring = fp_ignoring("invalid", "over")
    reference = lambda: np.errstate(invalid="ignore", over="ignore")  # noqa: E731
    callers = [
        lambda: np.errstate(),
        lambda: np.errstate(divide="raise"),
        lambda: np.errstate(all="warn", under="raise"),
    ]
    for _ in range(3):  # alternate two callers, then three (a slot replaced each time)
        for caller in (callers[0], callers[1], callers[0], callers[1], callers[2]):
            with caller():
                assert _inside(ignoring) == _inside(reference)
        token = quiet_on()  # a backward pass's setting as the caller's
        try:
            assert _inside(ignoring) == {k: "ignore" for k in np.geterr()}
        finally:
            quiet_off(token)
        assert _inside(ignoring) == _inside(reference)


def test_the_caller_setting_is_restored_after_each_entry():
    ignoring = fp_ignoring("divide")
    with np.errstate(divide="raise", over="warn"):
        before = np.geterr()
        with ignoring():
            assert np.geterr() == dict(before, divide="ignore")
            token = quiet_on()
            with ignoring():
                assert set(np.geterr().values()) == {"ignore"}
            quiet_off(token)
            assert np.geterr() == dict(before, divide="ignore")
        assert np.geterr() == before
