"""Data preprocessing fitted on the training set and re-applied to validation/test data.

Following the lectures: zero-centre the data, optionally normalise its scale, decorrelate it
with PCA, or whiten it. For images one usually only centres (mean image or per-channel mean).
The statistics are computed once with ``fit(train)`` and reused with ``transform(x)``, so the
test data is shifted by the *training* mean, never by its own.

Each preprocessor's ``state_dict()`` holds only NumPy arrays and Python numbers, so it can be
saved next to a model with safetensors (arrays) and JSON (numbers). Inputs may be Tensors or
NumPy arrays; outputs are of the same kind. Statistics are computed in float64; outputs keep
a floating input dtype (integer inputs such as uint8 images give float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["PCA", "MeanSubtraction", "Standardize", "ZCAWhitening"]


def _unwrap(x: Any, where: str) -> tuple[np.ndarray, bool]:
    if isinstance(x, Tensor):
        arr, is_tensor = x._data, True
    elif isinstance(x, np.ndarray):
        arr, is_tensor = x, False
    else:
        raise TypeError(f"{where}: expected a Tensor or numpy.ndarray, got {type(x).__name__}")
    if not hasattr(arr, "__array_interface__"):  # e.g. a CuPy array: work on a host copy
        arr = arr.get()
    if arr.ndim < 2:
        raise ValueError(
            f"{where}: expected data of shape (N, ...) with N samples and at "
            f"least one feature dimension, got shape {tuple(arr.shape)}"
        )
    return arr, is_tensor


def _out_dtype(arr: np.ndarray) -> np.dtype:
    return arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)


def _wrap(arr: np.ndarray, is_tensor: bool) -> Any:
    return Tensor._make(arr, False, None, 0) if is_tensor else arr


class _Preprocessor:
    """Shared fit/transform plumbing; subclasses implement ``_fit``, ``_forward``, ``_inverse``."""

    _arrays: tuple[str, ...] = ()
    _numbers: tuple[str, ...] = ()
    _fitted = False

    def fit(self, x: Any) -> _Preprocessor:
        """Compute the statistics from training data ``x`` of shape (N, ...)."""
        arr, _ = _unwrap(x, f"{type(self).__name__}.fit")
        if arr.shape[0] < 1:
            raise ValueError(f"{type(self).__name__}.fit: needs at least one sample")
        self._fit(arr.astype(np.float64))
        self.feature_shape_ = tuple(int(s) for s in arr.shape[1:])
        self._fitted = True
        return self

    def _check(self, arr: np.ndarray, where: str) -> None:
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__}.{where}: call fit(train_data) first")

    def transform(self, x: Any) -> Any:
        """Apply the fitted preprocessing to ``x`` (same feature shape as the training data)."""
        arr, is_tensor = _unwrap(x, f"{type(self).__name__}.transform")
        self._check(arr, "transform")
        if tuple(arr.shape[1:]) != self.feature_shape_:
            raise ValueError(
                f"{type(self).__name__}.transform: fitted on samples of shape "
                f"{self.feature_shape_}, got data of shape {tuple(arr.shape)}"
            )
        out = self._forward(arr.astype(np.float64))
        return _wrap(out.astype(_out_dtype(arr), copy=False), is_tensor)

    def fit_transform(self, x: Any) -> Any:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, y: Any) -> Any:
        """Map preprocessed data back to the original space (exact up to rounding, or the
        best reconstruction for PCA with fewer components)."""
        arr, is_tensor = _unwrap(y, f"{type(self).__name__}.inverse_transform")
        self._check(arr, "inverse_transform")
        out = self._inverse(arr.astype(np.float64))
        return _wrap(out.astype(_out_dtype(arr), copy=False), is_tensor)

    def state_dict(self) -> dict[str, Any]:
        """The fitted state: NumPy arrays and Python numbers only (safetensors + JSON ready).

        Arrays are C-contiguous copies: safetensors writes non-contiguous arrays wrongly.
        """
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__}.state_dict: nothing to save before fit")
        state: dict[str, Any] = {k: np.array(getattr(self, k), order="C") for k in self._arrays}
        for k in self._numbers:
            v = getattr(self, k)
            state[k] = float(v) if isinstance(v, float) else int(v)
        state["feature_shape"] = np.asarray(self.feature_shape_, dtype=np.int64)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by ``state_dict`` (arrays may be Tensors or arrays)."""
        missing = [k for k in (*self._arrays, *self._numbers, "feature_shape") if k not in state]
        if missing:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {missing}")
        for k in self._arrays:
            v = state[k]
            setattr(self, k, np.asarray(v._data if isinstance(v, Tensor) else v, np.float64))
        for k in self._numbers:
            cur = getattr(self, k, None)
            v = state[k]
            v = v.item() if hasattr(v, "item") else v
            setattr(self, k, bool(v) if isinstance(cur, bool) else v)
        self.feature_shape_ = tuple(int(s) for s in np.asarray(state["feature_shape"]).ravel())
        self._after_load()
        self._fitted = True

    def _after_load(self) -> None:
        pass

    def _fit(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _reduce_axes(x: np.ndarray, per_channel: bool, where: str) -> tuple[int, ...]:
    if not per_channel:
        return (0,)
    if x.ndim < 3:
        raise ValueError(
            f"{where}: per_channel=True needs data of shape (N, C, ...) such as "
            f"(N, C, H, W), got shape {tuple(x.shape)}"
        )
    return (0,) + tuple(range(2, x.ndim))


class MeanSubtraction(_Preprocessor):
    """Zero-centre the data: subtract the mean image, or one mean per channel.

    ``x' = x - mu``, with ``mu`` the per-feature (per-pixel) training mean, or for
    ``per_channel=True`` and data (N, C, H, W) the mean over N, H, W of each channel (3 numbers
    for RGB images, as in the lecture's VGG example).

    Args:
        per_channel: one mean per channel (axis 1) instead of one per feature.
    """

    _arrays = ("mean",)
    _numbers = ("per_channel",)

    def __init__(self, per_channel: bool = False):
        self.per_channel = bool(per_channel)

    def _fit(self, x: np.ndarray) -> None:
        axes = _reduce_axes(x, self.per_channel, "MeanSubtraction.fit")
        self.mean = x.mean(axis=axes, keepdims=True)[0]

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return x - self.mean

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        return y + self.mean


class Standardize(_Preprocessor):
    """Zero mean and unit variance per feature (or per channel): ``x' = (x - mu) / sigma``.

    ``sigma`` is the population standard deviation of the training data; features whose
    ``sigma`` is below ``eps`` (constant features) are divided by 1 instead, so they become 0
    rather than inf/NaN.

    Args:
        per_channel: statistics per channel (axis 1) for (N, C, H, W) data.
        eps: threshold below which a standard deviation counts as zero.
    """

    _arrays = ("mean", "std")
    _numbers = ("per_channel", "eps")

    def __init__(self, per_channel: bool = False, eps: float = 1e-8):
        if eps < 0:
            raise ValueError(f"Standardize: eps must be non-negative, got {eps}")
        self.per_channel = bool(per_channel)
        self.eps = float(eps)

    def _fit(self, x: np.ndarray) -> None:
        axes = _reduce_axes(x, self.per_channel, "Standardize.fit")
        self.mean = x.mean(axis=axes, keepdims=True)[0]
        self.std = x.std(axis=axes, keepdims=True)[0]

    def _scale(self) -> np.ndarray:
        return np.where(self.std < self.eps, 1.0, self.std)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self._scale()

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        return y * self._scale() + self.mean


def _eig_cov(x2: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors (columns) of the data covariance."""
    xc = x2 - mean
    cov = xc.T @ xc / max(x2.shape[0] - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals = np.clip(evals[order], 0.0, None)
    evecs = evecs[:, order]
    # deterministic signs: the largest-magnitude entry of each eigenvector is positive
    rows = np.argmax(np.abs(evecs), axis=0)
    signs = np.sign(evecs[rows, np.arange(evecs.shape[1])])
    signs[signs == 0] = 1.0
    return evals, evecs * signs


class PCA(_Preprocessor):
    """Principal component analysis: decorrelate the data and optionally reduce its dimension.

    Samples are flattened to vectors; with the training mean ``mu`` and the covariance
    ``Cov = Xc^T Xc / (N - 1) = U diag(S) U^T`` (eigenvalues descending),
    ``transform(x) = (x - mu) @ U[:, :k]`` (divided by ``sqrt(S[:k] + eps)`` when ``whiten``,
    the lecture's PCA whitening) and ``inverse_transform(z) = z @ U[:, :k]^T + mu``, the best
    rank-k reconstruction in the least-squares sense.

    Args:
        n_components: number of components ``k`` (int), or a float in (0, 1] giving the
            fraction of the variance to keep (the smallest ``k`` reaching it), or None for all.
        whiten: also scale every component to unit variance.
        eps: added to the eigenvalues before the square root when whitening.

    Attributes:
        components_: (k, D) principal axes (rows); signs fixed so runs are deterministic.
        explained_variance_: (k,) variances along the axes.
        explained_variance_ratio_: (k,) fraction of the total variance per axis.
    """

    _arrays = ("mean", "components_", "explained_variance_", "explained_variance_ratio_")
    _numbers = ("n_components_", "whiten", "eps")

    def __init__(self, n_components: float | None = None, whiten: bool = False, eps: float = 1e-5):
        if n_components is not None:
            if isinstance(n_components, bool) or not isinstance(n_components, (int, float)):
                raise TypeError(
                    f"PCA: n_components must be an int, a float in (0, 1] or None, "
                    f"got {n_components!r}"
                )
            if isinstance(n_components, float) and not 0.0 < n_components <= 1.0:
                raise ValueError(
                    f"PCA: a float n_components is a variance fraction in (0, 1], "
                    f"got {n_components}"
                )
            if isinstance(n_components, int) and n_components < 1:
                raise ValueError(f"PCA: n_components must be >= 1, got {n_components}")
        self.n_components = n_components
        self.whiten = bool(whiten)
        self.eps = float(eps)

    def _fit(self, x: np.ndarray) -> None:
        x2 = x.reshape(x.shape[0], -1)
        dim = x2.shape[1]
        self.mean = x2.mean(axis=0)
        evals, evecs = _eig_cov(x2, self.mean)
        total = evals.sum()
        ratio = evals / total if total > 0 else np.zeros_like(evals)
        nc = self.n_components
        if nc is None:
            k = dim
        elif isinstance(nc, float):
            k = int(np.searchsorted(np.cumsum(ratio), nc - 1e-12) + 1)
            k = min(max(k, 1), dim)
        else:
            if nc > dim:
                raise ValueError(f"PCA.fit: n_components={nc} exceeds the number of features {dim}")
            k = nc
        self.n_components_ = int(k)
        self.components_ = evecs[:, :k].T.copy()
        self.explained_variance_ = evals[:k].copy()
        self.explained_variance_ratio_ = ratio[:k].copy()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        z = (x.reshape(x.shape[0], -1) - self.mean) @ self.components_.T
        if self.whiten:
            z = z / np.sqrt(self.explained_variance_ + self.eps)
        return z

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        if z.ndim != 2 or z.shape[1] != self.n_components_:
            raise ValueError(
                f"PCA.inverse_transform: expected shape (N, {self.n_components_}), got "
                f"{tuple(z.shape)}"
            )
        if self.whiten:
            z = z * np.sqrt(self.explained_variance_ + self.eps)
        return (z @ self.components_ + self.mean).reshape((z.shape[0], *self.feature_shape_))


class ZCAWhitening(_Preprocessor):
    """ZCA ("zero-phase") whitening: decorrelate to identity covariance, staying close to ``x``.

    With ``Cov = U diag(S) U^T`` of the centred training data, the whitening matrix is
    ``W = U diag(1 / sqrt(S + epsilon)) U^T`` and ``transform(x) = (x - mu) @ W`` (reshaped
    back to the sample shape), so the whitened training data has covariance
    ``U diag(S / (S + epsilon)) U^T``, close to the identity when ``epsilon << S``. Unlike PCA
    whitening the result is rotated back to the original axes, so images still look like images.

    Args:
        epsilon: regulariser added to the eigenvalues (avoids blowing up tiny directions).
    """

    _arrays = ("mean", "eigenvalues", "eigenvectors")
    _numbers = ("epsilon",)

    def __init__(self, epsilon: float = 1e-5):
        if epsilon < 0:
            raise ValueError(f"ZCAWhitening: epsilon must be non-negative, got {epsilon}")
        self.epsilon = float(epsilon)

    def _fit(self, x: np.ndarray) -> None:
        x2 = x.reshape(x.shape[0], -1)
        self.mean = x2.mean(axis=0)
        self.eigenvalues, self.eigenvectors = _eig_cov(x2, self.mean)
        self._after_load()

    def _after_load(self) -> None:
        s = self.eigenvalues + self.epsilon
        if np.any(s <= 0):
            raise ValueError("ZCAWhitening: zero-variance directions need epsilon > 0")
        u = self.eigenvectors
        self.matrix_ = (u / np.sqrt(s)) @ u.T
        self.inverse_matrix_ = (u * np.sqrt(s)) @ u.T

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ((x.reshape(x.shape[0], -1) - self.mean) @ self.matrix_).reshape(x.shape)

    def _inverse(self, y: np.ndarray) -> np.ndarray:
        y2 = y.reshape(y.shape[0], -1)
        if y2.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"ZCAWhitening.inverse_transform: expected samples of shape "
                f"{self.feature_shape_}, got {tuple(y.shape)}"
            )
        return (y2 @ self.inverse_matrix_ + self.mean).reshape((y.shape[0], *self.feature_shape_))
