"""The error for a saved tensor modified in place since it was saved, word for word as
PyTorch's (autograd/node.py ``_raise_modified``): its type and size, the op that made it
(``which is output 0 of Mul``), the versions and the hint that suits the anomaly mode.
Programs that catch it by its text (``"inplace operation" in str(e)``) now see torch's."""

import warnings

import pytest
import torch

import chainrule as cr


def _saved_output(L):
    a = L.randn(3, requires_grad=True)
    b = a.exp()
    b.add_(1)
    return b.sum()


def _saved_constant_input(L):
    a = L.randn(3, requires_grad=True)
    w = L.randn(3)
    y = a * w
    w.add_(1)
    return y.sum()


def _saved_input_from_an_op(L):
    x = L.randn(2, 3, requires_grad=True)
    h = x * 2
    z = h.pow(2)
    h.mul_(2)
    return z.sum()


def _saved_input_renamed_by_its_inplace_op(L):
    x = L.randn(2, 3, requires_grad=True, dtype=L.float64)
    h = x.sigmoid()
    z = h * x
    h.add_(2)
    return z.sum()


CASES = [_saved_output, _saved_constant_input, _saved_input_from_an_op]
CASES += [_saved_input_renamed_by_its_inplace_op]


def _message(L, build, anomaly=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's anomaly-mode traceback warning
        with L.autograd.set_detect_anomaly(anomaly):
            loss = build(L)
            with pytest.raises(RuntimeError) as info:
                loss.backward()
    return str(info.value)


@pytest.mark.parametrize("anomaly", [False, True])
@pytest.mark.parametrize("build", CASES, ids=lambda f: f.__name__)
def test_message_is_torchs(build, anomaly):
    assert _message(cr, build, anomaly) == _message(torch, build, anomaly)
