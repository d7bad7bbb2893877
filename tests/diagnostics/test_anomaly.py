"""cr.autograd.detect_anomaly: names the op and the user's source line; free when off."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _forward_log0():
    x = cr.tensor([1.0, 0.0, 2.0], requires_grad=True)
    y = x * 2.0
    return cr.log(y - y.min() * 1.0)  # log(0) on the middle element  <- user line


def test_forward_log0_names_op_and_line():
    with cr.autograd.detect_anomaly(), pytest.raises(RuntimeError) as info:
        _forward_log0()
    msg = str(info.value)
    assert "Log" in msg
    assert "test_anomaly.py" in msg
    assert "cr.log(y - y.min() * 1.0)" in msg


def test_backward_nan_names_forward_op():
    # sqrt(0) is fine forward but its gradient 0.5/sqrt(0) is Inf in backward
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = cr.sqrt(x)  # the op whose backward produces Inf
        loss = y.sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert "Sqrt" in msg
    assert "y = cr.sqrt(x)" in msg


def test_without_anomaly_nan_passes_silently():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"):
        cr.sqrt(x).sum().backward()
    assert np.isinf(x.grad.numpy()[0])
    assert not cr.autograd.is_anomaly_enabled()


def test_anomaly_is_restored_on_exit_and_as_decorator():
    @cr.autograd.detect_anomaly()
    def f():
        return cr.autograd.is_anomaly_enabled()

    assert f() is True
    assert cr.autograd.is_anomaly_enabled() is False
    with pytest.raises(RuntimeError), cr.autograd.detect_anomaly():
        cr.log(cr.tensor([0.0], requires_grad=True))
    assert cr.autograd.is_anomaly_enabled() is False


def test_no_checks_run_when_off(monkeypatch):
    """With anomaly mode off, neither the forward check nor the stack capture runs."""
    from chainrule.autograd import function, rules

    def forbidden(*args, **kwargs):
        raise AssertionError("anomaly check ran while anomaly mode was off")

    monkeypatch.setattr(function, "check_forward_outputs", forbidden)
    monkeypatch.setattr(function.traceback, "extract_stack", forbidden)
    monkeypatch.setattr(rules, "_check_finite", forbidden)
    x = cr.randn(8, requires_grad=True)
    y = (x * 1.5 + 1.0).log().sum()  # NaNs pass silently when off
    y.backward()
    assert x.grad.shape == (8,)
