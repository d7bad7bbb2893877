"""The arguments of a convolution as PyTorch reads them: ints or tuples of ints per spatial
dim (``int_tuple``), its checks of stride, dilation and padding in its order
(``check_geometry``), string padding ('same' / 'valid', with PyTorch's warning for a
lopsided 'same', ``padding_pairs``) and the bias dtype rule of string padding
(``string_padding_bias``). Shared by the 1-d/2-d convolutions (``conv.py``) and the 3-d ones
(``nn/functional/conv3d.py``)."""

from __future__ import annotations

from typing import Any

from .._user_warnings import warn_once
from ..autograd.tensor import Tensor
from ._util import ShapeError

__all__ = ["check_geometry", "int_tuple", "padding_pairs", "string_padding_bias"]


def int_tuple(v: Any, n: int, name: str, op: str) -> tuple:
    if isinstance(v, int):
        return (int(v),) * n
    if isinstance(v, str) or any(isinstance(e, str) for e in v):  # 'same' for a transpose
        raise TypeError(
            f"{op}(): argument '{name}' must be tuple of ints, got {v!r} (string padding such "
            "as 'same' or 'valid' is for the forward convolutions only)"
        )
    t = tuple(int(e) for e in v)
    if len(t) == 1:
        t = t * n
    if len(t) != n:  # PyTorch's RuntimeError (a ShapeError is one, and a ValueError)
        raise ShapeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    return t


def check_geometry(
    op: str, stride: tuple, dil: tuple, padding: tuple = (), output_padding: tuple = ()
) -> None:
    """PyTorch's checks of a convolution's numbers, in its order, each a RuntimeError (a
    ShapeError is one, and a ValueError) with PyTorch's words."""
    if min(padding, default=0) < 0:
        raise ShapeError(f"{op}: negative padding is not supported, got {tuple(padding)}")
    if min(output_padding, default=0) < 0:
        raise ShapeError(
            f"{op}: negative output_padding is not supported, got {tuple(output_padding)}"
        )
    if min(stride) < 1:
        raise ShapeError(f"{op}: non-positive stride is not supported, got {tuple(stride)}")
    if min(dil) < 1:
        raise ShapeError(f"{op}: dilation should be greater than zero, but got {list(dil)}")


def _warn_same_asymmetric(before: Any, after: Any) -> None:
    """PyTorch's once-per-process warning when ``padding='same'`` pads one side more (an even
    kernel with an odd dilation: ``dilation * (k - 1)`` odd along some axis)."""
    if any(a != b for a, b in zip(before, after)):
        warn_once(
            "conv_same_asymmetric",
            "Using padding='same' with even kernel lengths and odd dilation may require a "
            "zero-padded copy of the input be created",
        )


def string_padding_bias(input: Any, bias: Any, padding: Any) -> Any:
    """The bias, cast to a real input's dtype where ``padding`` is 'same' or 'valid': PyTorch's
    convolution with a padding string adds a bias of any other real dtype (int64, bool,
    float64 to float32...) in the input's dtype, where a numeric padding refuses it ("Input
    type and bias type should be the same"). Its float32 oneDNN kernels still refuse a batch
    of more than one or groups > 1 there: a backend accident, not mirrored."""
    if (
        isinstance(padding, str)
        and isinstance(bias, Tensor)
        and isinstance(input, Tensor)
        and bias.dtype != input.dtype
        and input.dtype.kind in "fV"
        and bias.dtype.kind in "biufV"
    ):
        return bias.to(input.dtype)
    return bias


def padding_pairs(padding: Any, k: tuple, stride: tuple, dil: tuple, op: str) -> tuple:
    """``padding`` as one ``(before, after)`` pair per spatial dim; 'same' puts any odd extra
    element at the end of the axis, as PyTorch does (and warns, once, that it does)."""
    n = len(k)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":  # PyTorch's RuntimeError (a ShapeError is one, and a ValueError)
            raise ShapeError(
                f"{op}: padding must be an int, a tuple of {n} ints, 'same' or 'valid', "
                f"got {padding!r}"
            )
        if any(s != 1 for s in stride):
            raise ShapeError(
                f"{op}: padding='same' is not supported for strided convolutions "
                f"(stride={stride}); use an explicit padding"
            )
        out = tuple((d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for kk, d in zip(k, dil))
        _warn_same_asymmetric([a for a, _ in out], [b for _, b in out])
        return out
    p = int_tuple(padding, n, "padding", op)
    check_geometry(op, stride, dil, p)
    return tuple((v, v) for v in p)
