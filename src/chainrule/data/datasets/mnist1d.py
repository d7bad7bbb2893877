"""MNIST-1D (Greydanus, 2020): a small 1-D benchmark that separates good models from bad.

Generated offline with NumPy by the published procedure (arXiv:2011.14439; reference code
github.com/greydanus/mnist1d). Ten hand-made digit templates of length 12 are normalised
(zero mean, unit std, shifted to start at 0, divided by 6); each example then

1. is padded with 36..60 zeros at the end and linearly interpolated to length 72;
2. is scaled by ``1 + 0.4 (u - 0.5)`` and circularly shifted by 0..47 steps;
3. gets correlated noise (Gaussian-smoothed normal noise, scale 0.25, sigma 2) where the
   signal is exactly zero, and iid normal noise (scale 0.02) everywhere;
4. is sheared (a linear ramp with slope ``0.75 (u - 0.5)`` subtracted) and interpolated down
   to length 40.

500 examples per class are shuffled, the whole set is standardised by its global mean and
std, and the first 4,000 are the training split, the last 1,000 the test split (seed 42).
Draws are made from ``np.random.RandomState(seed)`` in the reference's order, so the arrays
match the reference generator up to floating-point rounding; the only deviations are that
the Gaussian filter and linear interpolation are NumPy re-implementations of SciPy's
``gaussian_filter`` (mode 'reflect', truncate 4) and ``interp1d``, and that ``data`` is stored
as float32 (the reference keeps float64). Generated arrays are cached as ``.npz``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...autograd.tensor import Tensor
from ...utils.data.dataset import Dataset
from ._files import cache_root

__all__ = ["MNIST1D", "make_mnist1d"]

_DIGITS = [
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
]

DEFAULTS = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": (36, 60),
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "final_seq_length": 40,
    "seed": 42,
}


def templates() -> np.ndarray:
    """The ten normalised digit templates, shape (10, 12)."""
    x = np.asarray(_DIGITS, dtype=np.float64)
    x = x - x.mean(1, keepdims=True)
    x = x / x.std(1, keepdims=True)
    x = x - x[:, :1]  # each signal starts (and ends) at 0
    return x / 6.0


def _interp(x: np.ndarray, n: int) -> np.ndarray:
    """Linear resampling of ``x`` onto ``n`` equally spaced points of the same interval."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _gaussian_smooth(x: np.ndarray, sigma: float = 2.0, truncate: float = 4.0) -> np.ndarray:
    """1-D Gaussian filter with half-sample-symmetric ("reflect") borders, like SciPy's."""
    radius = int(truncate * sigma + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    w /= w.sum()
    padded = np.pad(x, radius, mode="symmetric")
    return np.convolve(padded, w, mode="valid")


def _transform(x: np.ndarray, rs: np.random.RandomState, a: dict, eps: float = 1e-8) -> np.ndarray:
    low, high = a["padding"]
    p = low + int(rs.rand() * (high - low + 1))
    x = np.concatenate([x + eps, np.zeros(p)])
    x = _interp(x, a["template_len"] + high)
    x = x * (1 + a["scale_coeff"] * (rs.rand() - 0.5))
    k = int(rs.choice(a["max_translation"]))
    x = np.roll(x, k)
    corr = _gaussian_smooth(a["corr_noise_scale"] * rs.randn(*x.shape), 2.0)
    x = np.where(x != 0, x, corr)
    x = x + a["iid_noise_scale"] * rs.randn(*x.shape)
    coeff = a["shear_scale"] * (rs.rand() - 0.5)
    x = x - coeff * np.linspace(-0.5, 0.5, len(x))
    return _interp(x, a["final_seq_length"])


def make_mnist1d(**overrides: Any) -> dict[str, np.ndarray]:
    """Generate MNIST-1D; returns float64 ``x`` (4000, 40), ``y`` and ``x_test``, ``y_test``.

    Keyword arguments override ``DEFAULTS`` (e.g. ``seed=0``, ``num_samples=1000``).
    """
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(
            f"make_mnist1d: unknown arguments {sorted(unknown)}; valid: {sorted(DEFAULTS)}"
        )
    a = {**DEFAULTS, **overrides}
    rs = np.random.RandomState(int(a["seed"]))
    temps = templates()
    per_class = a["num_samples"] // len(temps)
    xs = np.stack(
        [_transform(temps[c], rs, a) for c in range(len(temps)) for _ in range(per_class)]
    )
    ys = np.repeat(np.arange(len(temps), dtype=np.int64), per_class)
    order = rs.permutation(len(ys))
    xs, ys = xs[order], ys[order]
    xs = (xs - xs.mean()) / xs.std()
    split = int(len(ys) * a["train_split"])
    return {"x": xs[:split], "y": ys[:split], "x_test": xs[split:], "y_test": ys[split:]}


class MNIST1D(Dataset):
    """The MNIST-1D dataset: 40-step 1-D signals in 10 classes (4,000 train / 1,000 test).

    Args:
        root: folder for the cached ``mnist1d_seed<seed>.npz`` (default: the chainrule cache,
            ``$CHAINRULE_DATA`` or ``~/.cache/chainrule``, under ``MNIST1D/``).
        train: the training split (else the test split).
        transform: applied to each float32 (40,) signal; default: a (1, 40) Tensor, the
            channel-first layout a ``Conv1d`` expects.
        target_transform: applied to each int label.
        seed: generation seed (42 is the published dataset).
        regenerate: ignore (and overwrite) the cache.

    Attributes:
        data: float32 array (N, 40).
        targets: int64 array (N,).
    """

    classes: ClassVar[list[str]] = [str(i) for i in range(10)]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        seed: int = 42,
        regenerate: bool = False,
        download: bool = False,
    ):
        folder = (Path(root).expanduser() if root is not None else cache_root()) / "MNIST1D"
        path = folder / f"mnist1d_seed{int(seed)}.npz"
        arrays = None
        if path.is_file() and not regenerate:
            try:
                with np.load(path, allow_pickle=False) as f:
                    arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
            except (OSError, ValueError, KeyError):
                arrays = None  # a damaged cache is regenerated
        if arrays is None:
            arrays = make_mnist1d(seed=int(seed))
            self._save(path, arrays)
        split = ("x", "y") if train else ("x_test", "y_test")
        self.root, self.train = folder, bool(train)
        self.data = np.asarray(arrays[split[0]], dtype=np.float32)
        self.targets = np.asarray(arrays[split[1]], dtype=np.int64)
        self.transform, self.target_transform = transform, target_transform

    @staticmethod
    def _save(path: Path, arrays: dict) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except OSError:
            pass  # caching is an optimisation; a read-only home still works

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, target = self.data[index], int(self.targets[index])
        x = (
            self.transform(x)
            if self.transform is not None
            else Tensor._make(x[None].copy(), False, None, 0)
        )
        if self.target_transform is not None:
            target = self.target_transform(target)
        return x, target

    def as_arrays(self, channel: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """float32 signals (N, 40) (or (N, 1, 40) with ``channel``) and int64 labels."""
        x = self.data[:, None] if channel else self.data
        return x.copy(), self.targets.copy()
