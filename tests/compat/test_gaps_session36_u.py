"""Gaps found by the session-36 (batch u) drop-in programs (``makemore_mlp_bengio``,
``transformer_tutorial_lm``, ``metric_learning_arcface_triplet``), each checked against PyTorch.

The three programs matched PyTorch's values as first written except for one idiom of the
``nn.Transformer`` tutorial, ``StepLR(optimizer, 1.0, gamma=0.95)`` (a float step size):

- ``StepLR`` turned an integral float ``step_size`` into an ``int`` (the state dict read
  ``'step_size': 1`` where PyTorch keeps ``1.0``) and refused a fractional one; PyTorch takes
  any positive step and decays where ``last_epoch % step_size == 0`` (and in the closed form
  ``last_epoch // step_size``). Non-positive, infinite, NaN or non-numeric step sizes still
  raise a ValueError naming ``StepLR`` (PyTorch fails later, or never, on them).
- ``LinearLR`` likewise stored ``total_iters=3.0`` as ``3``; it now keeps the value as given.

Probed around them and found to agree already: ``torch.cdist`` for p in {0, 0.5, 1, 2, 3, inf}
(values, gradients at zero distance, compute modes, batch broadcasting, errors),
``torch.Generator().manual_seed(...)`` with ``randn``/``multinomial(generator=g)``, uint8
masks (``.byte()``, ``^ 1``, ``fill_diagonal_``, one-argument ``torch.where``),
``nn.Transformer.generate_square_subsequent_mask`` and ``TransformerEncoder`` masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _lrs(m: Any, cls: str, *args: Any, steps: int = 6) -> tuple[list[float], dict, list[float]]:
    """The per-step lrs, state dict and closed-form lr of scheduler ``cls`` in framework ``m``."""
    opt = m.optim.SGD(m.nn.Linear(2, 2).parameters(), lr=1.0)
    sched = getattr(m.optim.lr_scheduler, cls)(opt, *args)
    lrs = []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs, sched.state_dict(), sched._get_closed_form_lr()


@pytest.mark.parametrize("step_size", [1.0, 2.0, 1.5, 2.5, 0.5, 2, np.int64(3)])
def test_step_lr_float_step_size_matches_torch(step_size: Any) -> None:
    lrs, state, closed = _lrs(chainrule, "StepLR", step_size, 0.5)
    t_lrs, t_state, t_closed = _lrs(torch, "StepLR", step_size, 0.5)
    assert lrs == t_lrs
    assert closed == t_closed
    assert state == t_state
    assert type(state["step_size"]) is type(t_state["step_size"])


def _tutorial_resume(m: Any) -> tuple[dict, list[float]]:
    """The tutorial's ``StepLR(optimizer, 1.0, gamma=0.95)``, saved and loaded mid-run."""
    opt = m.optim.SGD(m.nn.Linear(2, 2).parameters(), lr=5.0)
    sched = m.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.95)
    opt.step()
    sched.step()
    state = sched.state_dict()
    opt2 = m.optim.SGD(m.nn.Linear(2, 2).parameters(), lr=5.0)
    sched2 = m.optim.lr_scheduler.StepLR(opt2, 1.0, gamma=0.95)
    sched2.load_state_dict(state)
    opt2.step()
    sched2.step()
    return state, sched2.get_last_lr() + sched2._get_closed_form_lr()


def test_step_lr_tutorial_state_dict_round_trip() -> None:
    state, lrs = _tutorial_resume(chainrule)
    t_state, t_lrs = _tutorial_resume(torch)
    assert state == t_state and isinstance(state["step_size"], float)
    assert lrs == t_lrs


# ("2" and None construct, as PyTorch's, and fail at the first step():
# tests/test_argument_types_session45.py::test_schedulers_fail_at_the_first_step_as_torch)
@pytest.mark.parametrize("step_size", [0, -1, 0.0, float("inf"), float("nan")])
def test_step_lr_rejects_bad_step_size(step_size: Any) -> None:
    opt = chainrule.optim.SGD(chainrule.nn.Linear(2, 2).parameters(), lr=1.0)
    with pytest.raises(ValueError, match="StepLR"):
        chainrule.optim.lr_scheduler.StepLR(opt, step_size)


@pytest.mark.parametrize("total_iters", [3.0, 3, 1.0])
def test_linear_lr_keeps_total_iters_as_given(total_iters: Any) -> None:
    lrs, state, closed = _lrs(chainrule, "LinearLR", 0.5, 1.0, total_iters)
    t_lrs, t_state, t_closed = _lrs(torch, "LinearLR", 0.5, 1.0, total_iters)
    np.testing.assert_allclose(lrs, t_lrs, rtol=1e-12)
    np.testing.assert_allclose(closed, t_closed, rtol=1e-12)
    assert state.keys() == t_state.keys()
    assert state["total_iters"] == t_state["total_iters"]
    assert type(state["total_iters"]) is type(t_state["total_iters"])


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 2.0, 3.0, float("inf")])
def test_cdist_grad_with_zero_distances_matches_torch(p: float) -> None:
    """The metric-learning idiom ``torch.cdist(emb, emb)``: its diagonal distances are 0."""
    x_np = np.random.default_rng(0).standard_normal((5, 3))
    w_np = np.random.default_rng(1).standard_normal((5, 5))
    grads = []
    for m in BOTH:
        x = m.tensor(x_np, requires_grad=True)
        d = m.cdist(x, x, p=p)
        (d * m.tensor(w_np)).sum().backward()
        grads.append((d.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-10, atol=1e-12)
