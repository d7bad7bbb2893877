"""The lectures' weight-initialization experiment: activation statistics across depth.

A stack of ``depth`` fully connected layers of ``width`` units, ``h = act(h @ W)``, fed a
standard-normal batch. With the weights drawn as

* ``small``:   W = 0.01 * randn       -> activations shrink toward 0 layer after layer,
* ``large``:   W = 0.05 * randn       -> tanh saturates at +-1 (gradients vanish),
* ``xavier``:  W = randn / sqrt(Din)  -> well scaled for tanh (Glorot & Bengio 2010),
* ``kaiming``: W = randn * sqrt(2/Din) -> well scaled for ReLU (He et al. 2015),

the per-layer mean/std and histograms show why initialization matters. Run it as
``cr.diagnostics.init_study(...)`` or ``chainrule inspect-init``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import ops
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from .plots import histogram_panels

INITS = ("small", "large", "xavier", "kaiming")
ACTIVATIONS = ("tanh", "relu", "sigmoid")


def weight_scale(init: str | float, fan_in: int) -> float:
    """The standard deviation of W for an init name (or a number used as-is)."""
    if isinstance(init, (int, float)):
        return float(init)
    if init == "small":
        return 0.01
    if init == "large":
        return 0.05
    if init == "xavier":
        return 1.0 / math.sqrt(fan_in)
    if init == "kaiming":
        return math.sqrt(2.0 / fan_in)
    raise ValueError(
        f"init_study: unknown init {init!r}; use one of {', '.join(INITS)} or a "
        "number (the weight std)"
    )


@dataclass
class InitStudy:
    """Per-layer statistics of the experiment; ``layers[i]`` is a dict for layer i+1."""

    activation: str
    init: str | float
    depth: int
    width: int
    batch: int
    layers: list[dict] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def means(self) -> list[float]:
        return [r["mean"] for r in self.layers]

    @property
    def stds(self) -> list[float]:
        return [r["std"] for r in self.layers]

    def table(self) -> str:
        """The mean/std table, one row per layer."""
        extra = "saturated%" if self.activation in ("tanh", "sigmoid") else "zero%"
        key = "frac_saturated" if extra == "saturated%" else "frac_zero"
        lines = [
            f"{self.activation} network, {self.depth} layers x {self.width} units, "
            f"batch {self.batch}, init={self.init} (W std {self.layers[0]['w_std']:.4g})"
            if self.layers
            else "",
            f"{'layer':>5}  {'mean':>10}  {'std':>10}  {extra:>10}",
            f"{'-' * 5}  {'-' * 10}  {'-' * 10}  {'-' * 10}",
        ]
        for i, r in enumerate(self.layers, 1):
            lines.append(f"{i:>5}  {r['mean']:>10.6f}  {r['std']:>10.6f}  {100 * r[key]:>10.1f}")
        return "\n".join(lines)

    def plot(self, path: str | None = None, bins: int = 40):
        """The lecture-style figure: one histogram of activation values per layer."""
        lo, hi = {"tanh": (-1, 1), "sigmoid": (0, 1)}.get(self.activation, (None, None))
        xlim = (lo, hi) if lo is not None else None
        panels = [
            (f"layer {i}\nmean {r['mean']:.2g} std {r['std']:.2g}", s)
            for i, (r, s) in enumerate(zip(self.layers, self.samples), 1)
        ]
        return histogram_panels(
            panels,
            path,
            bins=bins,
            xlim=xlim,
            sharex=False,
            title=f"{self.activation}, init={self.init}",
        )


def init_study(
    activation: str = "tanh",
    init: str | float = "small",
    depth: int = 7,
    width: int = 4096,
    batch: int = 16,
    seed: int = 0,
    sample: int = 20000,
) -> InitStudy:
    """Forward a random batch through ``depth`` layers and record activation statistics.

    Args:
        activation: ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
        init: ``"small"`` (0.01·randn), ``"large"`` (0.05·randn), ``"xavier"``
            (randn/sqrt(Din)), ``"kaiming"`` (randn·sqrt(2/Din)) or a float weight std.
        depth, width, batch: network depth, layer width and batch size.
        seed: the random seed (weights and input).

    Returns:
        An :class:`InitStudy` with per-layer ``mean``, ``std``, ``frac_saturated``,
        ``frac_zero`` and histogram samples; ``.table()`` and ``.plot(path)`` show them.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"init_study: unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}"
        )
    if depth < 1 or width < 1 or batch < 1:
        raise ValueError(
            f"init_study: depth, width and batch must be >= 1, got {depth}, {width}, {batch}"
        )
    act = {"tanh": ops.tanh, "relu": ops.relu, "sigmoid": ops.sigmoid}[activation]
    rng = np.random.default_rng(seed)
    h = Tensor._new(rng.standard_normal((batch, width), dtype=np.float32))
    study = InitStudy(activation, init, depth, width, batch)
    with no_grad():
        for _ in range(depth):
            std = weight_scale(init, width)
            w = Tensor._new(rng.standard_normal((width, width), dtype=np.float32) * np.float32(std))
            h = act(h @ w)
            a = np.asarray(h._data, dtype=np.float64)
            row = {
                "mean": float(a.mean()),
                "std": float(a.std()),
                "w_std": std,
                "frac_zero": float((a == 0).mean()),
            }
            if activation == "tanh":
                row["frac_saturated"] = float((np.abs(a) > 0.99).mean())
            elif activation == "sigmoid":
                row["frac_saturated"] = float(((a < 0.01) | (a > 0.99)).mean())
            else:
                row["frac_saturated"] = float("nan")
            study.layers.append(row)
            flat = a.reshape(-1)
            if flat.size > sample:
                flat = rng.choice(flat, sample, replace=False)
            study.samples.append(flat)
    return study
