"""overfit_small_batch and gradient_check on models with known behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd.function import Function
from chainrule.cli import main


def _data(n=20, d=10, c=3):
    cr.manual_seed(0)
    return cr.randn(n, d), cr.randint(0, c, (n,))


def test_overfit_passes_for_a_working_mlp():
    x, y = _data()
    model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 3))
    rep = cr.diagnostics.overfit_small_batch(model, F.cross_entropy, (x, y), steps=150)
    assert rep.passed and rep.accuracy == 1.0 and rep.final_loss < 0.05
    assert rep.losses[0] > 10 * rep.final_loss
    assert "PASSED" in str(rep)


def test_overfit_detects_zero_gradients():
    x, y = _data()
    lin = nn.Linear(10, 3)

    class Cut(nn.Module):  # a bug: the output leaves the graph
        def __init__(self):
            super().__init__()
            self.lin = lin

        def forward(self, x):
            return self.lin(x) * 0.0

    rep = cr.diagnostics.overfit_small_batch(Cut(), F.cross_entropy, (x, y), steps=20)
    assert not rep.passed and any("zero" in p for p in rep.problems)
    assert rep.advice


def test_overfit_detects_loss_not_moving():
    x, y = _data()
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    rep = cr.diagnostics.overfit_small_batch(model, F.cross_entropy, (x, y), steps=20, lr=1e-7)
    assert not rep.passed and "not moving" in rep.problems[0]
    assert "learning rate" in rep.advice[0]


def test_overfit_rejects_large_batch():
    x, y = _data(n=64)
    with pytest.raises(ValueError, match="small batch"):
        cr.diagnostics.overfit_small_batch(nn.Linear(10, 3), F.cross_entropy, (x, y))


class _WrongSquare(Function):
    """x**2 with a deliberately wrong derivative (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


class _Net(nn.Module):
    def __init__(self, wrong: bool):
        super().__init__()
        self.lin = nn.Linear(10, 3)
        self.wrong = wrong

    def forward(self, x):
        h = self.lin(x)
        return _WrongSquare.apply(h) if self.wrong else h * h


def test_gradient_check_passes_and_catches_a_wrong_rule():
    x, y = _data()
    good = cr.diagnostics.gradient_check(_Net(False), (x, y), F.cross_entropy, n_entries=6)
    assert good.passed and good.max_rel_error < 1e-6 and len(good.entries) == 6
    net = _Net(True)
    w0 = net.lin.weight.detach().numpy().copy()
    bad = cr.diagnostics.gradient_check(net, (x, y), F.cross_entropy, n_entries=6)
    assert not bad.passed and bad.max_rel_error > 0.1
    assert net.lin.weight.dtype == np.float32  # the original model is untouched
    np.testing.assert_array_equal(net.lin.weight.detach().numpy(), w0)
    assert "FAILED" in str(bad)


def test_cli_sanity(capsys):
    code = main(["sanity", "--model", "mlp", "--data", "random", "--steps", "80"])
    out = capsys.readouterr().out
    assert code == 0
    assert "gradient check: PASSED" in out and "overfit one batch: PASSED" in out
