"""Histogram figures for diagnostics (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install chainrule[plot]") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def histogram_panels(
    panels: list[tuple[str, Any]],
    path: str | None = None,
    bins: int = 50,
    title: str | None = None,
    sharex: bool = False,
    xlim: tuple | None = None,
    dpi: int = 80,
):
    """One histogram panel per ``(label, values)`` in a row (wrapping after 8).

    Returns the matplotlib Figure; saves it to ``path`` (PNG/SVG by extension) if given.
    """
    plt = _pyplot()
    n = max(len(panels), 1)
    cols = min(n, 8)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.1 * cols, 2.2 * rows), sharex=sharex, squeeze=False
    )
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    for ax, (label, values) in zip(axes.ravel(), panels):
        v = np.asarray(values, dtype=float).reshape(-1)
        v = v[np.isfinite(v)]
        ax.hist(v, bins=bins, range=xlim, color="#4a7ab5")
        ax.set_title(label, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
    return fig
