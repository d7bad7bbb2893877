"""Per-layer activation and gradient statistics, recorded with module hooks.

``with cr.diagnostics.record(model) as rec:`` attaches a forward hook and a full backward
hook to every leaf module (a module without children) and, for each forward/backward that
runs inside the block, keeps per layer:

* activation (the layer's output) mean, std, min, max, fraction of exact zeros, fraction
  of *dead* units (ReLU family: a unit never active over the whole batch), fraction of
  *saturated* values (tanh: ``|h| > 0.99``; sigmoid: ``h < 0.01`` or ``h > 0.99``), and a
  sample of values for histograms;
* the gradient flowing into the layer's output (norm, std).

Per-parameter gradient norms are read from ``.grad`` by :meth:`Recorder.param_stats`, and
:meth:`Recorder.update_ratios` measures ``||lr * update|| / ||w||`` over one optimizer step
(about 1e-3 is healthy). All hooks are removed when the block exits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .plots import histogram_panels

SAMPLE = 20000  # values kept per layer for histograms


def activation_kind(module: Any) -> str | None:
    """'relu', 'tanh' or 'sigmoid' for activation modules (by class name), else None."""
    name = type(module).__name__.lower()
    if name in ("relu", "relu6"):
        return "relu"
    if name == "tanh":
        return "tanh"
    if name == "sigmoid":
        return "sigmoid"
    return None


def _host(arr) -> np.ndarray:
    return np.asarray(arr.get() if hasattr(arr, "get") else arr, dtype=np.float64)


@dataclass
class LayerStats:
    """Statistics of one leaf module's output (its activation) and the gradient into it."""

    name: str
    kind: str  # the module class name
    activation: str | None  # 'relu' / 'tanh' / 'sigmoid' for activation layers
    shape: tuple = ()
    mean: float = float("nan")
    std: float = float("nan")
    min: float = float("nan")
    max: float = float("nan")
    frac_zero: float = float("nan")
    frac_dead: float = float("nan")  # units never active over the batch (ReLU family)
    frac_saturated: float = float("nan")  # tanh / sigmoid
    sample: np.ndarray | None = field(default=None, repr=False)
    grad_norm: float = float("nan")
    grad_std: float = float("nan")
    calls: int = 0


def activation_stats(arr: Any, activation: str | None = None) -> dict:
    """Mean, std, min, max, zero/dead/saturated fractions of one activation array."""
    a = _host(arr)
    out = {
        "mean": float(a.mean()),
        "std": float(a.std()),
        "min": float(a.min()),
        "max": float(a.max()),
        "frac_zero": float((a == 0).mean()),
    }
    if activation == "relu" and a.ndim >= 1:
        never_active = ~(a > 0).any(axis=0)  # a unit = one feature (or channel x position)
        out["frac_dead"] = float(never_active.mean())
    else:
        out["frac_dead"] = float("nan")
    if activation == "tanh":
        out["frac_saturated"] = float((np.abs(a) > 0.99).mean())
    elif activation == "sigmoid":
        out["frac_saturated"] = float(((a < 0.01) | (a > 0.99)).mean())
    else:
        out["frac_saturated"] = float("nan")
    return out


class Recorder:
    """Collects :class:`LayerStats` for every leaf module; use via :func:`record`."""

    def __init__(self, model: Any, sample: int = SAMPLE):
        self.model = model
        self.sample = sample
        self.layers: dict[str, LayerStats] = {}
        self._handles: list = []
        self._ratios: dict[str, float] = {}
        self._rng = np.random.default_rng(0)

    # ------------------------------------------------------------ hooks
    def attach(self) -> Recorder:
        for name, mod in self.model.named_modules():
            if any(True for _ in mod.children()):
                continue
            label = name or type(mod).__name__
            self.layers[label] = LayerStats(label, type(mod).__name__, activation_kind(mod))
            self._handles.append(mod.register_forward_hook(self._forward_hook(label)))
            self._handles.append(mod.register_full_backward_hook(self._backward_hook(label)))
        return self

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> Recorder:  # noqa: PYI034
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def _forward_hook(self, label: str):
        def hook(module, args, output):
            out = output[0] if isinstance(output, tuple) else output
            if not hasattr(out, "_data"):
                return
            st = self.layers[label]
            a = _host(out._data)
            for k, v in activation_stats(a, st.activation).items():
                setattr(st, k, v)
            st.shape = tuple(a.shape)
            flat = a.reshape(-1)
            if flat.size > self.sample:
                flat = self._rng.choice(flat, self.sample, replace=False)
            st.sample = flat
            st.calls += 1

        return hook

    def _backward_hook(self, label: str):
        def hook(module, grad_input, grad_output):
            g = grad_output[0] if grad_output else None
            if g is None:
                return
            a = _host(g._data)
            st = self.layers[label]
            st.grad_norm = float(np.sqrt((a * a).sum()))
            st.grad_std = float(a.std())

        hook._quiet_on_outputs = True  # reads grad_output only: no "firing on outputs" warning
        return hook

    # ------------------------------------------------------------ results
    def param_stats(self) -> dict[str, dict]:
        """Per parameter: value std, gradient norm, gradient RMS and std (NaN without grad)."""
        out = {}
        for name, p in self.model.named_parameters():
            w = _host(p._data)
            row = {
                "shape": tuple(w.shape),
                "std": float(w.std()) if w.size > 1 else 0.0,
                "norm": float(np.sqrt((w * w).sum())),
                "grad_norm": float("nan"),
                "grad_rms": float("nan"),
                "grad_std": float("nan"),
            }
            if p.grad is not None:
                g = _host(p.grad._data)
                row["grad_norm"] = float(np.sqrt((g * g).sum()))
                row["grad_rms"] = float(np.sqrt((g * g).mean()))
                row["grad_std"] = float(g.std())
            out[name] = row
        return out

    def update_ratios(self, optimizer: Any = None) -> dict[str, float]:
        """Update-to-weight ratio ``||w_after - w_before|| / ||w_before||`` per parameter.

        With ``optimizer`` given, takes one ``optimizer.step()`` (after your ``backward()``)
        and measures it; without, returns the ratios of the last measured step. A healthy
        ratio is around 1e-3: much smaller means learning is too slow, much larger that the
        learning rate is too high.
        """
        if optimizer is None:
            return dict(self._ratios)
        params = list(self.model.named_parameters())
        before = {n: _host(p._data).copy() for n, p in params}
        optimizer.step()
        ratios = {}
        for n, p in params:
            w0 = before[n]
            denom = float(np.sqrt((w0 * w0).sum()))
            diff = _host(p._data) - w0
            ratios[n] = float(np.sqrt((diff * diff).sum())) / (denom if denom > 0 else 1.0)
        self._ratios = ratios
        return dict(ratios)

    def activations(self) -> dict[str, LayerStats]:
        """Layers that produced an output inside the block, in forward order."""
        return {k: v for k, v in self.layers.items() if v.calls > 0}

    def table(self, print_it: bool = True) -> str:
        """A per-layer summary (activations, dead/saturated fractions, gradient norms)."""
        head = [
            "layer",
            "type",
            "shape",
            "mean",
            "std",
            "min",
            "max",
            "zero%",
            "dead%",
            "sat%",
            "grad norm",
        ]
        rows = []
        for st in self.activations().values():
            rows.append(
                [
                    st.name,
                    st.kind,
                    "x".join(str(s) for s in st.shape),
                    _g(st.mean),
                    _g(st.std),
                    _g(st.min),
                    _g(st.max),
                    _pct(st.frac_zero),
                    _pct(st.frac_dead),
                    _pct(st.frac_saturated),
                    _g(st.grad_norm),
                ]
            )
        text = _format_table(head, rows)
        pstats = self.param_stats()
        if pstats:
            ratios = self._ratios
            prow = [
                [
                    n,
                    "x".join(str(s) for s in r["shape"]),
                    _g(r["std"]),
                    _g(r["grad_norm"]),
                    _g(r["grad_std"]),
                    _g(ratios.get(n, float("nan"))),
                ]
                for n, r in pstats.items()
            ]
            text += "\n\n" + _format_table(
                ["parameter", "shape", "std", "grad norm", "grad std", "update/weight"], prow
            )
        if print_it:
            print(text)
        return text

    def plot_activations(self, path: str | None = None, bins: int = 50):
        """One histogram panel per layer of its output values (like the lecture figures)."""
        acts = self.activations()
        return histogram_panels(
            [
                (f"{n} ({s.kind})\nmean {s.mean:.3g} std {s.std:.3g}", s.sample)
                for n, s in acts.items()
                if s.sample is not None
            ],
            path,
            bins=bins,
            title="activations per layer",
        )

    def plot_gradients(self, path: str | None = None, bins: int = 50):
        """One histogram panel per parameter of its gradient values."""
        panels = []
        for n, p in self.model.named_parameters():
            if p.grad is not None:
                g = _host(p.grad._data).reshape(-1)
                panels.append((f"{n}\nnorm {np.sqrt((g * g).sum()):.3g} std {g.std():.3g}", g))
        return histogram_panels(panels, path, bins=bins, title="parameter gradients")


def record(model: Any, sample: int = SAMPLE) -> Recorder:
    """Context manager recording per-layer statistics of ``model`` (hooks removed on exit).

    Example:
        >>> with cr.diagnostics.record(model) as rec:      # doctest: +SKIP
        ...     loss_fn(model(x), y).backward()
        >>> rec.table()                                     # doctest: +SKIP
    """
    return Recorder(model, sample=sample)


def _g(v: float) -> str:
    if math.isnan(v):
        return "-"
    return f"{v:.3g}"


def _pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{100 * v:.1f}"


def _format_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)
