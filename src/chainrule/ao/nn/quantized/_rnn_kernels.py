"""The arithmetic of PyTorch's dynamically quantized LSTM and GRU (x86/fbgemm engine), found
by experiment against torch.

Per layer and direction, the input-to-hidden product of the *whole sequence* is one dynamic
quantized linear (one activation scale for every time step), and the hidden-to-hidden product
is one per step (the hidden state quantized afresh each step), both as
:func:`._linear_kernels.linear_dynamic_array`; the gate nonlinearities are float32. LSTM gates
``i, f, g, o``: ``c = f * c + i * g``, ``h = o * tanh(c)``. GRU gates ``r, z, n``:
``n = tanh(x_n + r * h_n)``, ``h = (1 - z) * n + z * h``.

The sigmoid and tanh here are NumPy's, rounded from float64; PyTorch's vectorised float32
versions can differ in the last bit, so outputs agree to about 1e-7 relative, and a hidden
value that lands within that of a rounding boundary when it is quantized for the next step can
move by one quantization step (rare).
"""

from __future__ import annotations

import numpy as np

from ._linear_kernels import linear_dynamic_array

__all__ = ["QuantizedWeights", "recurrent_layer"]

_F32 = np.float32


class QuantizedWeights:
    """One layer-direction's int8 weights (rows, scale, zero point) and float biases."""

    __slots__ = ("w_ih", "w_hh", "b_ih", "b_hh")

    def __init__(self, w_ih: tuple, w_hh: tuple, b_ih: np.ndarray | None, b_hh: np.ndarray | None):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = w_ih, w_hh, b_ih, b_hh


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-z.astype(np.float64)))).astype(_F32)


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z.astype(np.float64)).astype(_F32)


def recurrent_layer(
    mode: str, x: np.ndarray, h: np.ndarray, c: np.ndarray | None, w: QuantizedWeights,
    reverse: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:  # fmt: skip
    """Run one direction of one layer over ``x`` (T, B, in) from ``h`` (and ``c`` for an
    LSTM); the outputs (T, B, H) and the final states."""
    gi_all = linear_dynamic_array(x, *w.w_ih, w.b_ih)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    out = np.empty((x.shape[0], x.shape[1], h.shape[-1]), _F32)
    for t in steps:
        gh = linear_dynamic_array(h, *w.w_hh, w.b_hh)
        gi = gi_all[t]
        if mode == "LSTM":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * _tanh(g)
            h = _sigmoid(o) * _tanh(c)
        else:
            xr, xz, xn = np.split(gi, 3, axis=1)
            hr, hz, hn = np.split(gh, 3, axis=1)
            r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
            n = _tanh(xn + r * hn)
            h = (_F32(1) - z) * n + z * h
        out[t] = h
    return out, h, c
