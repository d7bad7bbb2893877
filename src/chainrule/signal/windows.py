"""Window functions, mirroring ``torch.signal.windows`` (SciPy's ``signal.windows`` names).

A window of ``M`` points tapers a signal segment before a Fourier transform. ``sym=True``
(the default) gives the symmetric window, for filter design; ``sym=False`` the periodic one,
for spectral analysis: the symmetric window of M + 1 points less its last point. Every
function takes PyTorch's keywords (``dtype``, ``layout``, ``device``, ``requires_grad``) and
returns a new leaf tensor of float32 or float64 (the default dtype unless ``dtype`` says
otherwise); ``M = 0`` gives an empty window and ``M = 1`` the window ``[1.]``.

The values are computed in float64 by ``signal/_window_math.py`` (which the top-level
``cr.hann_window`` family shares) and then cast.

>>> import chainrule as cr
>>> from chainrule.signal import windows
>>> windows.hann(5, dtype=cr.float64)
tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000], dtype=torch.float64)
>>> windows.bartlett(4, sym=False)
tensor([0.0000, 0.5000, 1.0000, 0.5000])

Differences from PyTorch: with ``requires_grad=True`` the window is a leaf (PyTorch returns
the output of its internal computation, a non-leaf whose gradient reaches no user tensor);
the error messages of ``hann``, ``hamming`` and ``nuttall`` name those functions (PyTorch's
name ``general_cosine``, which they call); a float32 window is computed in float64 and then
rounded, so float32 ``kaiser`` stays finite up to beta ~ 713 as float64 does (PyTorch's float32
I0(beta) overflows to NaN past beta ~ 90).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..creation_options import _finish
from ..ops.tensor_queries import strided
from . import _window_math as _wm

__all__ = [
    "bartlett",
    "blackman",
    "cosine",
    "exponential",
    "gaussian",
    "general_cosine",
    "general_hamming",
    "hamming",
    "hann",
    "kaiser",
    "nuttall",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)


def _length(op: str, M: Any) -> int:
    """``M`` as a Python int: an int, a NumPy integer or a 0-d integer tensor."""
    if isinstance(M, Tensor) and M.ndim == 0 and M.dtype.kind in "iub":
        M = M.item()
    if not isinstance(M, (int, np.integer)):
        raise TypeError(f"{op}(): M must be an int (the number of points), got {M!r}")
    if M < 0:
        raise ValueError(f"{op} requires non-negative window length, got M={M}")
    return int(M)


def _options(op: str, M: Any, dtype: Any, layout: Any, requires_grad: Any) -> tuple[int, Any]:
    """Check what every window takes, in PyTorch's order (length, layout, dtype); return the
    length and the result dtype."""
    n = _length(op, M)
    if layout is not strided:
        raise ValueError(f"{op} is implemented for strided tensors only, got: {layout}")
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if d not in _FLOATS:
        raise ValueError(f"{op} expects float32 or float64 dtypes, got: {d}")
    if not isinstance(requires_grad, bool):
        raise TypeError(
            f"{op}(): argument 'requires_grad' must be bool, not {type(requires_grad).__name__}"
        )
    return n, d


def _real(op: str, name: str, value: Any) -> float:
    """A window parameter: a real Python/NumPy number or a one-element real tensor."""
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype.kind in "iuf":
        return float(value.item())
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}(): {name} must be a real number, got {value!r}")
    return float(value)


def _build(
    n: int, sym: Any, formula: _wm.Formula, d: Any, device: Any, requires_grad: bool
) -> Tensor:
    return _finish(_wm.window(n, bool(sym), formula), d, device, requires_grad)


def _coefficients(op: str, a: Any) -> tuple[float, ...]:
    """``general_cosine``'s ``a``: a non-empty iterable of real numbers (a list, a tuple, a
    generator, a 1-D array or tensor)."""
    if isinstance(a, (Tensor, np.ndarray)) and a.ndim == 1:
        a = a.tolist()
    if isinstance(a, (str, bytes, Tensor, np.ndarray)) or not isinstance(a, Iterable):
        raise TypeError(f"{op}(): Coefficients must be a list/tuple of real numbers, got {a!r}")
    coefs = tuple(_real(op, "each coefficient", c) for c in a)
    if not coefs:
        raise ValueError(f"{op}(): Coefficients cannot be empty")
    return coefs


def _cosine_window(
    op: str,
    M: Any,
    coefs: Any,
    sym: Any,
    dtype: Any,
    layout: Any,
    device: Any,
    requires_grad: Any,
) -> Tensor:
    """A generalized cosine window; ``coefs`` is read only when the formula runs (M >= 2),
    as PyTorch reads them."""
    n, d = _options(op, M, dtype, layout, requires_grad)

    def formula(m: int) -> np.ndarray:
        return _wm.cosine_sum(*_coefficients(op, coefs))(m)

    return _build(n, sym, formula, d, device, requires_grad)


def general_cosine(
    M: int,
    *,
    a: Iterable,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The generalized cosine window sum_k (-1)^k a_k cos(2 pi k n / (M - 1)).

    Args:
        M: the number of points (>= 0).
        a: the coefficients a_0, a_1, ... (a non-empty iterable of real numbers).
        sym: symmetric window (True) or periodic window (False).
        dtype, layout, device, requires_grad: as for the tensor creation functions.

    Returns:
        The window, a 1-D tensor of M points.
    """
    return _cosine_window("general_cosine", M, a, sym, dtype, layout, device, requires_grad)


def general_hamming(
    M: int,
    *,
    alpha: float = 0.54,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The generalized Hamming window alpha - (1 - alpha) cos(2 pi n / (M - 1)): the cosine
    window with coefficients (alpha, 1 - alpha), 2 alpha - 1 at the ends and 1 at the centre
    (alpha = 0.54 is Hamming's, 0.5 Hann's)."""
    op = "general_hamming"
    alpha = _real(op, "alpha", alpha)
    return _cosine_window(op, M, (alpha, 1.0 - alpha), sym, dtype, layout, device, requires_grad)


def hann(
    M: int,
    *,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Hann window 0.5 - 0.5 cos(2 pi n / (M - 1)): a raised cosine, 0 at both ends."""
    return _cosine_window("hann", M, (0.5, 0.5), sym, dtype, layout, device, requires_grad)


def hamming(
    M: int,
    *,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Hamming window 0.54 - 0.46 cos(2 pi n / (M - 1)), whose 0.08 pedestal cancels the
    first side lobe."""
    return _cosine_window("hamming", M, (0.54, 0.46), sym, dtype, layout, device, requires_grad)


def blackman(
    M: int,
    *,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Blackman window 0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))."""
    coefs = (0.42, 0.5, 0.08)
    return _cosine_window("blackman", M, coefs, sym, dtype, layout, device, requires_grad)


def nuttall(
    M: int,
    *,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Nuttall's minimum 4-term Blackman-Harris window: the cosine window with coefficients
    (0.3635819, 0.4891775, 0.1365995, 0.0106411), whose side lobes stay below -93 dB."""
    return _cosine_window("nuttall", M, _NUTTALL, sym, dtype, layout, device, requires_grad)


def bartlett(
    M: int,
    *,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Bartlett (triangular) window 1 - |2 n / (M - 1) - 1|."""
    n, d = _options("bartlett", M, dtype, layout, requires_grad)
    return _build(n, sym, _wm.bartlett, d, device, requires_grad)


def cosine(
    M: int,
    *,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The cosine (sine) window sin(pi (n + 1/2) / M): half a sine period, nonzero at the
    ends."""
    n, d = _options("cosine", M, dtype, layout, requires_grad)
    return _build(n, sym, _wm.cosine, d, device, requires_grad)


def gaussian(
    M: int,
    *,
    std: float = 1.0,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Gaussian window exp(-(n - (M - 1) / 2)^2 / (2 std^2)).

    Args:
        M: the number of points (>= 0).
        std: the standard deviation in points (> 0).
        sym, dtype, layout, device, requires_grad: as for ``general_cosine``.

    Raises:
        ValueError: ``std`` is not positive (checked for every M).
    """
    op = "gaussian"
    n, d = _options(op, M, dtype, layout, requires_grad)
    s = _real(op, "std", std)
    if s <= 0:
        raise ValueError(f"{op}(): Standard deviation must be positive, got: {std} instead.")
    return _build(n, sym, _wm.gaussian(s), d, device, requires_grad)


def exponential(
    M: int,
    *,
    center: float | None = None,
    tau: float = 1.0,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The exponential (Poisson) window exp(-|n - center| / tau).

    Args:
        M: the number of points (>= 0).
        center: where the window peaks; None is the middle, (M - 1) / 2 (of the M + 1
            points a periodic window is cut from). Only a periodic window (``sym=False``)
            may move it.
        tau: the decay length in points (> 0).
        sym, dtype, layout, device, requires_grad: as for ``general_cosine``.

    Raises:
        ValueError: ``tau`` is not positive, or ``center`` is given with ``sym=True``.
    """
    op = "exponential"
    n, d = _options(op, M, dtype, layout, requires_grad)
    t = _real(op, "tau", tau)
    if t <= 0:
        raise ValueError(f"{op}(): Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError(f"{op}(): Center must be None for symmetric windows")
    c = None if center is None else _real(op, "center", center)
    formula = _wm.exponential(c, t)
    if n == 1:  # PyTorch evaluates the one point (at 0), so a moved centre lowers it
        return _finish(formula(1), d, device, requires_grad)
    return _build(n, sym, formula, d, device, requires_grad)


def kaiser(
    M: int,
    *,
    beta: float = 12.0,
    sym: bool = True,
    dtype: Any = None,
    layout: Any = strided,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Kaiser window I0(beta sqrt(1 - (2 n / (M - 1) - 1)^2)) / I0(beta).

    Args:
        M: the number of points (>= 0).
        beta: the shape (>= 0): 0 is the rectangular window, larger values narrow it and
            lower its side lobes.
        sym, dtype, layout, device, requires_grad: as for ``general_cosine``.

    Raises:
        ValueError: ``beta`` is negative (checked for every M).
    """
    op = "kaiser"
    n, d = _options(op, M, dtype, layout, requires_grad)
    b = _real(op, "beta", beta)
    if b < 0:
        raise ValueError(f"{op}(): beta must be non-negative, got: {beta} instead.")
    return _build(n, sym, _wm.kaiser(b), d, device, requires_grad)
