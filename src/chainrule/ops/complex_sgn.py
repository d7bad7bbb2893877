"""``torch.sgn`` of a complex tensor as one node, PyTorch's ``SgnBackward0``.

``sgn(z) = z / |z|`` (0 where ``z == 0``) was composed of ``abs``, two real divisions and
``complex(re, im)`` (six nodes); as one node it saves the input and the result as
PyTorch's does (``_saved_self``, ``_saved_result``). The value is still the two real
divisions ``Re z / |z| + i Im z / |z|`` (NumPy's complex division overflows for a subnormal
``|z|``). With ``s = sgn(z)``, ``r = |z|`` and the real view ``z = x + iy``:

* backward (PyTorch's convention, the gradient ``dL/dx + i dL/dy``): the Jacobian of
  ``(x, y) -> (x, y) / r`` is ``[[y², -xy], [-xy, x²]] / r³``, so the gradient of ``g`` is
  ``-i s Im(conj(g) s) / r``: only the component of ``g`` along ``i s`` passes (``s`` keeps
  unit length);
* forward mode: ``ds = i s Im(conj(s) t) / r``;
* both 0 where ``z == 0``, as the composite (and PyTorch) give. With ``create_graph`` the
  gradient is written with Tensor ops on ``z`` and the saved result, so it differentiates
  again (NaN at ``z == 0``, as PyTorch's ``where`` over a division by ``|z|``).
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .binary import where
from .complex_ops import Imag

__all__ = ["ComplexSgn"]


def _sgn(z: Any) -> Any:
    """``z / |z|`` as two real divisions, 0 where ``z == 0``; ``|z|`` too."""
    xp = get_array_module(z)
    mag = xp.abs(z)
    zero = mag == 0
    safe = xp.where(zero, 1, mag)
    out = xp.asarray(z.real / safe + 1j * (z.imag / safe), dtype=z.dtype)
    return xp.where(zero, xp.zeros((), z.dtype), out), mag


class ComplexSgn(Function):
    """``sgn(z)`` of a complex ``z`` (``SgnBackward0``, saving ``self`` and ``result``)."""

    raw = True
    complex_grad = True  # backward returns PyTorch's convention itself
    node_name = "SgnBackward0"
    saved_fields = {"result": 1, "self": 0}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, z):
        out, _ = _sgn(z)
        ctx.save_for_backward(z, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        z, s = ctx.saved_tensors
        if not ctx.create_graph:
            zd, sd, g = z._data, s._data, grad._data
            xp = get_array_module(zd)
            mag = xp.abs(zd)
            zero = mag == 0
            k = (g.conj() * sd).imag / xp.where(zero, 1, mag)
            gz = xp.asarray(-1j * sd * xp.where(zero, 0, k), dtype=zd.dtype)
            return Tensor._make(gz, False, None, 0)
        # PyTorch's where(|z| == 0, 0, (...) / |z|): the division is by |z| itself, so a
        # second backward sends the zero selected there through it (0 / 0: NaN at z == 0)
        mag = z.abs()
        zero = Tensor._make(mag._data == 0, False, None, 0)
        k = Imag.apply(grad.conj() * s) / mag
        return s * where(zero, 0.0, k) * -1j

    @staticmethod
    def jvp(ctx, t):
        z = ctx.primals[0]
        s = ctx.out
        xp = get_array_module(z)
        mag = xp.abs(z)
        zero = mag == 0
        k = (s.conj() * t).imag / xp.where(zero, 1, mag)
        return xp.asarray(1j * s * xp.where(zero, 0, k), dtype=s.dtype)
