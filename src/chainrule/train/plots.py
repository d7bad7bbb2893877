"""Training curves as a PNG (matplotlib, Agg backend; an optional extra)."""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["plot_history"]


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "plotting training curves needs matplotlib: pip install matplotlib "
            "(or pip install chainrule[plot])"
        ) from exc
    matplotlib.use("Agg", force=False)  # no display needed; never opens a window
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict[str, Sequence], path: str, title: str | None = None) -> str:
    """Plot loss (left) and accuracy (right) per epoch, training and validation.

    Args:
        history: ``{"epoch": [...], "loss": [...], "val_loss": [...], "acc": [...], ...}``
            (e.g. ``trainer.history.history``); missing keys are skipped.
        path: the PNG file to write (written to a temporary name, then renamed).
        title: optional figure title.

    Returns:
        The path written.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    n = max((len(v) for v in history.values()), default=0)
    epochs = [e + 1 for e in history.get("epoch", range(n))]
    has_acc = any(history.get(k) for k in ("acc", "val_acc"))
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5, 3.8))
    axes = list(axes) if has_acc else [axes]
    panels = [("loss", axes[0])] + ([("acc", axes[1])] if has_acc else [])
    for metric, ax in panels:
        for prefix, label, style in (("", "train", "-o"), ("val_", "validation", "-s")):
            values = history.get(prefix + metric)
            if values and any(v is not None for v in values):
                xs = [e for e, v in zip(epochs, values) if v is not None]
                ys = [v for v in values if v is not None]
                ax.plot(xs, ys, style, markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("accuracy" if metric == "acc" else "loss")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    root, ext = os.path.splitext(path)
    tmp = f"{root}.tmp{ext or '.png'}"
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
