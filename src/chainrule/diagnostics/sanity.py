"""Sanity checks to run before any hyper-parameter tuning.

* :func:`overfit_small_batch`: "the only time you want to overfit" - a correct model and
  training loop drive the loss on a handful (< 30) of examples to ~0 and the accuracy to
  100%. If not, the report says whether gradients were NaN/Inf (exploding), all zero
  (vanishing / disconnected) or the loss simply did not move, with advice.
* :func:`gradient_check`: compares backprop gradients with central finite differences on a
  few random parameter entries of a float64 copy of the model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn.parameter import Parameter
from ..optim import Adam


@dataclass
class OverfitReport:
    """Outcome of :func:`overfit_small_batch`."""

    passed: bool
    initial_loss: float
    final_loss: float
    accuracy: float | None  # on the batch, for classifiers (None otherwise)
    steps: int
    losses: list[float] = field(repr=False, default_factory=list)
    problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        acc = f", accuracy {100 * self.accuracy:.1f}%" if self.accuracy is not None else ""
        head = (
            f"overfit one batch: {'PASSED' if self.passed else 'FAILED'} - loss "
            f"{self.initial_loss:.4g} -> {self.final_loss:.4g} in {self.steps} steps{acc}"
        )
        lines = [head] + [f"  problem: {p}" for p in self.problems]
        lines += [f"  advice: {a}" for a in self.advice]
        return "\n".join(lines)


def _accuracy(out: Any, y: Any) -> float | None:
    o = np.asarray(out._data)
    t = np.asarray(getattr(y, "_data", y))
    if o.ndim == 2 and o.shape[1] > 1 and t.ndim == 1 and t.dtype.kind in "iu":
        return float((o.argmax(axis=1) == t).mean())
    return None


def overfit_small_batch(
    model: Any,
    loss_fn: Callable,
    batch: tuple,
    steps: int = 200,
    optimizer: Any = None,
    lr: float = 1e-2,
    tol: float = 0.05,
    max_examples: int = 30,
) -> OverfitReport:
    """Train on one small batch and check that the model can memorise it.

    Args:
        model: the model (trained in place).
        loss_fn: ``loss_fn(model(x), y)`` -> scalar.
        batch: ``(x, y)`` with at most ``max_examples`` examples.
        steps: optimization steps.
        optimizer: defaults to ``cr.optim.Adam(model.parameters(), lr=lr)``.
        lr: learning rate of the default optimizer.
        tol: pass if the final loss is below ``tol`` (and, for a classifier, accuracy 100%).

    Returns:
        An :class:`OverfitReport`.

    Raises:
        ValueError: if the batch has more than ``max_examples`` examples.
    """
    x, y = batch
    n = x.shape[0]
    if n > max_examples:
        raise ValueError(
            f"overfit_small_batch: use a small batch (at most {max_examples} "
            f"examples), got {n}; slice it, e.g. (x[:20], y[:20])"
        )
    if optimizer is None:
        optimizer = Adam(model.parameters(), lr=lr)
    if hasattr(model, "train"):
        model.train()
    losses: list[float] = []
    problems: list[str] = []
    advice: list[str] = []
    out = None
    for _ in range(steps):
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        lv = float(np.asarray(loss._data))
        losses.append(lv)
        if not math.isfinite(lv):
            problems.append(f"the loss became {lv} at step {len(losses)}")
            break
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if any(not np.isfinite(np.asarray(g._data)).all() for g in grads):
            problems.append(f"NaN/Inf gradients at step {len(losses)} (exploding gradients)")
            advice.append(
                "lower the learning rate, clip gradients, check for log(0) or "
                "division by zero with cr.autograd.detect_anomaly()"
            )
            break
        if not grads or all(not np.asarray(g._data).any() for g in grads):
            problems.append(
                f"all gradients are zero at step {len(losses)} (vanishing "
                "gradients, dead units or a graph cut by .detach()/.numpy())"
            )
            advice.append(
                "check that the loss is computed from the model output without "
                "leaving the graph, and check the initialization (Kaiming for ReLU)"
            )
            break
        optimizer.step()
    if out is not None and math.isfinite(losses[-1]):
        with no_grad():
            out = model(x)
            final = float(np.asarray(loss_fn(out, y)._data))
        acc = _accuracy(out, y)
    else:
        final, acc = (losses[-1] if losses else float("nan")), None
    initial = losses[0] if losses else float("nan")
    passed = not problems and final < tol and (acc is None or acc == 1.0)
    if not passed and not problems:
        if math.isfinite(final) and final > 0.9 * initial:
            problems.append("the loss is not moving")
            advice.append(
                "try a larger or smaller learning rate (x10 / /10), check the "
                "initialization, then check the gradients "
                "(cr.diagnostics.gradient_check)"
            )
        else:
            problems.append(
                f"the loss fell to {final:.4g} but not below {tol}"
                + (f" (accuracy {100 * acc:.0f}%)" if acc is not None else "")
            )
            advice.append(
                "train for more steps or raise the learning rate; if it still "
                "plateaus the model may lack capacity or gradients are wrong"
            )
    return OverfitReport(passed, initial, final, acc, len(losses), losses, problems, advice)


def copy_model(model: Any) -> Any:
    """A deep copy of a module (tensors are not picklable, so they are copied by hand)."""
    memo: dict = {}
    for mod in model.modules():
        for t in list(mod._parameters.values()) + list(mod._buffers.values()):
            if t is None or id(t) in memo:
                continue
            if isinstance(t, Parameter):
                memo[id(t)] = Parameter(t._data.copy(), requires_grad=t.requires_grad)
            else:
                memo[id(t)] = Tensor._make(t._data.copy(), False, None, 0)
    return copy.deepcopy(model, memo)


@dataclass
class GradCheckReport:
    """Outcome of :func:`gradient_check`: one row per checked parameter entry."""

    passed: bool
    max_rel_error: float
    entries: list[dict]

    def __str__(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        lines = [
            f"gradient check: {status} (max relative error {self.max_rel_error:.3g})",
            f"{'parameter':<20} {'index':<14} {'backprop':>13} {'numeric':>13} {'rel err':>9}",
        ]
        for e in self.entries:
            lines.append(
                f"{e['param']:<20} {e['index']!s:<14} {e['analytic']:>13.6g} "
                f"{e['numeric']:>13.6g} {e['rel_error']:>9.2g}"
            )
        return "\n".join(lines)


def gradient_check(
    model: Any,
    batch: tuple,
    loss_fn: Callable,
    n_entries: int = 10,
    eps: float = 1e-6,
    tol: float = 1e-5,
    seed: int = 0,
) -> GradCheckReport:
    """Compare backprop with central finite differences on random parameter entries.

    A float64 deep copy of the model is used (``.double()``), so ``model`` is untouched.
    Use a deterministic model (call ``model.eval()`` if it has dropout).

    Returns:
        A :class:`GradCheckReport`; ``passed`` if every relative error
        ``|a - n| / max(|a| + |n|, 1e-8)`` is below ``tol``.
    """
    x, y = batch
    m = copy_model(model).double()
    x64 = Tensor._new(np.asarray(x._data, dtype=np.float64)) if x.dtype.kind == "f" else x
    y64 = y
    if isinstance(y, Tensor) and y.dtype.kind == "f":
        y64 = Tensor._new(np.asarray(y._data, dtype=np.float64))
    m.zero_grad()
    loss_fn(m(x64), y64).backward()
    params = [(n, p) for n, p in m.named_parameters() if p.grad is not None]
    if not params:
        raise ValueError("gradient_check: no parameter received a gradient from loss_fn")
    rng = np.random.default_rng(seed)
    sizes = np.array([p.numel() for _, p in params], dtype=float)
    entries = []

    def loss_at() -> float:
        with no_grad():
            return float(np.asarray(loss_fn(m(x64), y64)._data))

    for _ in range(n_entries):
        k = rng.choice(len(params), p=sizes / sizes.sum())
        name, p = params[k]
        flat = int(rng.integers(p.numel()))
        idx = np.unravel_index(flat, p.shape)
        old = p._data[idx]
        p._data[idx] = old + eps
        up = loss_at()
        p._data[idx] = old - eps
        down = loss_at()
        p._data[idx] = old
        num = (up - down) / (2 * eps)
        ana = float(np.asarray(p.grad._data)[idx])
        rel = abs(ana - num) / max(abs(ana) + abs(num), 1e-8)
        entries.append(
            {
                "param": name,
                "index": tuple(int(i) for i in idx),
                "analytic": ana,
                "numeric": num,
                "rel_error": rel,
            }
        )
    worst = max(e["rel_error"] for e in entries)
    return GradCheckReport(worst < tol, worst, entries)
