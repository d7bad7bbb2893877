"""One-shot health check of a model at its current weights (``check_health``).

Runs one forward and backward pass on a batch with :func:`record` attached and turns the
statistics into plain-language findings: vanishing or exploding gradients across depth,
saturated tanh/sigmoid units, dead ReLUs, activations collapsing to zero or blowing up with
depth, a loss at initialization far from ``ln(num_classes)``, and which initialization to
use for the activation family the model uses (Xavier for tanh/sigmoid, Kaiming for ReLU).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .stats import Recorder, record

SEVERITIES = ("info", "warning", "error")


@dataclass
class Finding:
    """One diagnosis: ``kind`` (e.g. 'vanishing_gradients'), the layer it concerns (or None),
    ``severity`` ('info' / 'warning' / 'error') and a message with advice."""

    kind: str
    layer: str | None
    severity: str
    message: str

    def __str__(self) -> str:
        where = f" [{self.layer}]" if self.layer else ""
        return f"{self.severity.upper()}: {self.kind}{where}: {self.message}"


class HealthReport(list):
    """The findings of :func:`check_health`: a list of :class:`Finding` (empty when nothing
    looks wrong), with two attributes: ``loss``, the loss of the pass, and ``recorder``, the
    :class:`Recorder` that measured it. It is a plain list otherwise: iteration, ``len``
    and equality are those of the findings (two reports with the same findings are equal).
    """

    def __init__(self, findings: list[Finding], recorder: Recorder, loss: float):
        super().__init__(findings)
        self.recorder = recorder
        self.loss = loss

    def kinds(self) -> set[str]:
        return {f.kind for f in self}

    def __str__(self) -> str:
        if not self:
            return f"loss {self.loss:.4g}: no problems found"
        return f"loss {self.loss:.4g}\n" + "\n".join(str(f) for f in self)

    __repr__ = list.__repr__


def check_health(
    model: Any,
    batch: tuple,
    loss_fn: Callable,
    num_classes: int | None = None,
    vanish_ratio: float = 10.0,
) -> HealthReport:
    """Diagnose ``model`` with one forward/backward pass on ``batch = (inputs, targets)``.

    Args:
        model: a :class:`chainrule.nn.Module`.
        batch: ``(x, y)``; ``loss_fn(model(x), y)`` must return a scalar.
        loss_fn: e.g. ``cr.nn.functional.cross_entropy``.
        num_classes: for the initial-loss check; inferred from a 2-D output with integer
            targets when omitted.
        vanish_ratio: flag gradients whose RMS changes by more than this factor from the
            last layer to the first.

    Returns:
        A :class:`HealthReport` (a list of :class:`Finding`); empty if nothing looks wrong.
        Parameters' ``.grad`` are zeroed before and left filled after.
    """
    x, y = batch
    model.zero_grad() if hasattr(model, "zero_grad") else None
    with record(model) as rec:
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
    loss_v = float(np.asarray(loss._data))
    findings: list[Finding] = []
    findings += _gradient_findings(rec, vanish_ratio)
    findings += _activation_findings(rec)
    findings += _loss_findings(out, y, loss_v, num_classes)
    findings += _init_findings(rec, findings)
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    findings.sort(key=lambda f: order[f.severity])
    return HealthReport(findings, rec, loss_v)


def _weights(rec: Recorder) -> list[tuple[str, dict]]:
    return [(n, r) for n, r in rec.param_stats().items() if len(r["shape"]) >= 2]


def _gradient_findings(rec: Recorder, ratio: float) -> list[Finding]:
    out = []
    ws = _weights(rec)
    bad = [
        n
        for n, r in rec.param_stats().items()
        if r["grad_norm"] != r["grad_norm"] or math.isinf(r["grad_norm"])
    ]
    if bad:
        out.append(
            Finding(
                "nonfinite_gradients",
                bad[0],
                "error",
                f"gradients of {', '.join(bad)} contain NaN or Inf. Gradients are "
                "exploding or an op produced NaN: run the step inside "
                "cr.autograd.detect_anomaly() to find the op, lower the learning "
                "rate, or clip gradients (cr.nn.utils.clip_grad_norm_).",
            )
        )
        return out
    ws = [(n, r) for n, r in ws if r["grad_rms"] == r["grad_rms"]]
    if len(ws) >= 2:
        # compare the first layer with the last *hidden* layer: the output layer's gradient
        # comes straight from the loss and its scale says little about flow through depth
        hidden = ws[:-1] if len(ws) >= 3 else ws
        first_n, first = hidden[0]
        last_n, last = hidden[-1]
        zero = [n for n, r in ws if r["grad_norm"] == 0.0]
        if zero:
            out.append(
                Finding(
                    "zero_gradients",
                    zero[0],
                    "error",
                    f"the gradients of {', '.join(zero)} are exactly zero: no "
                    "signal reaches them (dead units, a detached graph, or a "
                    "saturated layer). Check that the loss depends on them.",
                )
            )
        elif last["grad_rms"] > 0 and first["grad_rms"] / last["grad_rms"] < 1 / ratio:
            f = last["grad_rms"] / first["grad_rms"]
            out.append(
                Finding(
                    "vanishing_gradients",
                    first_n,
                    "warning",
                    f"gradient RMS shrinks {f:.3g}x from {last_n} ({last['grad_rms']:.3g}) to "
                    f"{first_n} ({first['grad_rms']:.3g}): early layers will barely learn. Use "
                    "ReLU-family activations instead of sigmoid/tanh, a matching init (Kaiming "
                    "for ReLU, Xavier for tanh), normalization layers or residual connections.",
                )
            )
        elif last["grad_rms"] > 0 and first["grad_rms"] / last["grad_rms"] > ratio:
            f = first["grad_rms"] / last["grad_rms"]
            out.append(
                Finding(
                    "exploding_gradients",
                    first_n,
                    "warning",
                    f"gradient RMS grows {f:.3g}x from {last_n} ({last['grad_rms']:.3g}) to "
                    f"{first_n} ({first['grad_rms']:.3g}): training will be unstable. Scale the "
                    "initial weights down (Xavier/Kaiming), lower the learning rate, add "
                    "normalization, or clip gradients.",
                )
            )
    big = [n for n, r in ws if r["grad_rms"] > 1e2]
    if big and not any(f.kind == "exploding_gradients" for f in out):
        out.append(
            Finding(
                "exploding_gradients",
                big[0],
                "warning",
                f"very large gradients (RMS > 100) in {', '.join(big)}; lower the "
                "learning rate, clip gradients or rescale the initialization.",
            )
        )
    return out


def _activation_findings(rec: Recorder) -> list[Finding]:
    out = []
    acts = rec.activations()
    for name, st in acts.items():
        if st.activation == "relu" and st.frac_dead == st.frac_dead and st.frac_dead > 0.5:
            sev = "error" if st.frac_dead >= 0.999 else "warning"
            out.append(
                Finding(
                    "dead_relu",
                    name,
                    sev,
                    f"{100 * st.frac_dead:.0f}% of the units after {name} are never active on this "
                    "batch, so they pass no gradient. Their pre-activations are all negative: "
                    "check the init and bias (Kaiming init, bias 0 or small positive), lower the "
                    "learning rate, or use LeakyReLU.",
                )
            )
        if st.activation in ("tanh", "sigmoid") and st.frac_saturated > 0.3:
            out.append(
                Finding(
                    "saturation",
                    name,
                    "warning",
                    f"{100 * st.frac_saturated:.0f}% of the {st.activation} outputs of {name} are "
                    "saturated, where the derivative is ~0 and gradients vanish. The weights are "
                    "too large for this activation: use Xavier init (std 1/sqrt(fan_in)) or "
                    "normalize the inputs.",
                )
            )
    # scale across depth: use the activation layers if any, else all layers
    seq = [(n, s) for n, s in acts.items() if s.activation] or list(acts.items())
    if len(seq) >= 2:
        first_n, first = seq[0]
        last_n, last = seq[-1]
        if first.std > 0 and last.std / first.std < 0.1:
            out.append(
                Finding(
                    "activations_collapse",
                    last_n,
                    "warning",
                    f"activation std falls from {first.std:.3g} ({first_n}) to {last.std:.3g} "
                    f"({last_n}): the signal shrinks toward zero with depth (weights too small).",
                )
            )
        elif first.std > 0 and (last.std / first.std > 10 or last.std > 1e3):
            out.append(
                Finding(
                    "activations_explode",
                    last_n,
                    "warning",
                    f"activation std grows from {first.std:.3g} ({first_n}) to {last.std:.3g} "
                    f"({last_n}): the signal blows up with depth (weights too large).",
                )
            )
    return out


def _loss_findings(out: Any, y: Any, loss: float, num_classes: int | None) -> list[Finding]:
    if not math.isfinite(loss):
        return [
            Finding(
                "nonfinite_loss",
                None,
                "error",
                f"the loss is {loss}: look for log(0), division by zero or overflow "
                "(run under cr.autograd.detect_anomaly()).",
            )
        ]
    if num_classes is None:
        ydata = getattr(y, "_data", y)
        if (
            out.ndim == 2
            and out.shape[1] > 1
            and hasattr(ydata, "dtype")
            and np.asarray(ydata).dtype.kind in "iu"
            and np.asarray(ydata).ndim == 1
        ):
            num_classes = out.shape[1]
    if not num_classes or num_classes < 2:
        return []
    expected = math.log(num_classes)
    if loss > 1.5 * expected or loss < 0.5 * expected:
        return [
            Finding(
                "initial_loss",
                None,
                "warning",
                f"initial loss {loss:.4g} is far from ln({num_classes}) = {expected:.4g}, the loss "
                "of a classifier that starts out guessing uniformly. A much larger loss means "
                "confident wrong predictions: scale the last layer's weights down (or zero them).",
            )
        ]
    return [
        Finding(
            "initial_loss",
            None,
            "info",
            f"initial loss {loss:.4g} is close to ln({num_classes}) = {expected:.4g}, "
            "as expected for a freshly initialized classifier.",
        )
    ]


def _init_findings(rec: Recorder, found: list[Finding]) -> list[Finding]:
    acts = [s for s in rec.activations().values() if s.activation]
    if not acts:
        return []
    kinds = {s.activation for s in acts}
    family = "relu" if kinds == {"relu"} else ("tanh" if "relu" not in kinds else None)
    stds = [s.std for s in acts]
    problem = {
        "activations_collapse",
        "activations_explode",
        "saturation",
        "vanishing_gradients",
        "exploding_gradients",
    } & {f.kind for f in found}
    spread = max(stds) / max(min(stds), 1e-12) if stds else 1.0
    if not problem and spread < 4:
        return []
    layers = ", ".join(f"{s.name}: {s.std:.3g}" for s in acts)
    if family == "relu":
        advice = (
            "for ReLU networks use Kaiming (He) init: "
            "cr.nn.init.kaiming_normal_(w, nonlinearity='relu'), std sqrt(2/fan_in)"
        )
    elif family == "tanh":
        advice = (
            "for tanh/sigmoid networks use Xavier (Glorot) init: "
            "cr.nn.init.xavier_normal_(w), std sqrt(2/(fan_in+fan_out)) ~ 1/sqrt(fan_in)"
        )
    else:
        advice = "use Kaiming init before ReLU layers and Xavier init before tanh/sigmoid layers"
    return [
        Finding(
            "init",
            None,
            "info",
            f"activation std per layer ({layers}) is not stable across depth; {advice}, "
            "so each layer keeps the variance of its input.",
        )
    ]
