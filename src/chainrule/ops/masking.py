"""Boolean-mask ops of PyTorch's API: ``masked_fill`` and ``masked_select``.

``masked_fill`` is ``where(mask, value, x)`` recorded under PyTorch's node names
(``MaskedFill``); ``masked_select``'s node is in ``masked_selection.py``. Also here:
``refuse_grad_into_integer``, the check that the ops writing a value into a tensor share
(``masked_fill``, ``index_put``'s fill path, ``index_fill``, ``select``/``slice``/
``diagonal_scatter``): an integer tensor cannot take a value that requires grad. Moved out
of ``indexing.py`` (session 40), which re-exports these names under their old import path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..scalar_range import fit_scalar
from ._tensor_args import PYTHON_DATA, invalid_combination, tensor_operand
from ._util import ShapeError, as_tensor, broadcast_error
from .binary import Where, where_as
from .binding import tensor_method
from .masked_selection import MaskedSelect
from .overload_errors import is_number_or_tensor, number_or_tensor_error

__all__ = ["masked_fill", "masked_select"]


class _MaskDtypeError(TypeError, RuntimeError):
    """A non-bool mask to ``masked_fill``/``masked_select``: PyTorch raises RuntimeError
    ("masked_fill_ only supports boolean masks"); chainrule raised TypeError: this is both,
    so code written for either keeps catching it."""


class MaskedFill(Where):
    """``where(mask, value, x)`` under PyTorch's node: ``MaskedFillBackward0`` lists ``x``;
    with a value tensor that requires grad, ``MaskedFillBackward1`` lists ``x`` and it."""

    saved_fields = {"mask": 0}  # grad_fn._saved_mask as PyTorch's (saved_fields.py)

    @staticmethod
    def node_name(ctx):
        if ctx.next_edges[0] is not None:
            return "MaskedFillBackward1", (1, 0)
        return "MaskedFillBackward0", (1,)

    @classmethod
    def backward(cls, ctx, grad):
        """``where``'s gradients, ``x``'s row-major: PyTorch's ``grad.masked_fill(mask, 0)``
        clones ``grad`` contiguous whatever the mask's layout (session 45)."""
        gv, gx = Where.backward.__func__(cls, ctx, grad)
        return gv, None if gx is None else gx.contiguous()


def refuse_grad_into_integer(x: Tensor, value: Any) -> None:
    """A fill of an integer or bool ``x`` with a value that requires grad: PyTorch's error
    (the result would have to require grad, which such a tensor cannot)."""
    if (
        isinstance(value, Tensor)
        and value.requires_grad
        and grad_mode.is_grad_enabled()
        and x.dtype.kind in "biu"
    ):
        name = {"b": "Bool", "i": "Long", "u": "Byte"}[x.dtype.kind]
        if x.dtype.kind == "i" and x.dtype.itemsize != 8:
            name = {1: "Char", 2: "Short", 4: "Int"}[x.dtype.itemsize]
        raise RuntimeError(
            f"Autograd not support dtype: {name} (the fill value requires grad; detach it, or "
            "fill a floating tensor)"
        )


_MASKED_FILL_FORMS = (
    "(Tensor input, Tensor mask, Tensor value)",
    "(Tensor input, Tensor mask, Number value)",
)


@tensor_method(inplace=True)
def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """``x`` with ``value`` (a number or a 0-d tensor) where the bool ``mask`` (broadcast to
    ``x``) is True; the result keeps ``x``'s dtype and is C-contiguous, as PyTorch's. A value
    tensor that requires grad receives the gradient of every filled element."""
    if type(value) is not float and type(value) is not int and not is_number_or_tensor(value):
        raise number_or_tensor_error(
            "masked_fill", [("input", x), ("mask", mask), ("value", value)]
        )
    refuse_grad_into_integer(x, value)
    if isinstance(mask, Tensor):
        m = mask
    elif isinstance(mask, PYTHON_DATA):  # PyTorch's parser: no overload takes it
        params = (("input", x), ("mask", mask), ("value", value))
        raise invalid_combination("masked_fill", params, _MASKED_FILL_FORMS)
    else:
        m = as_tensor(mask)
    if m.dtype.kind != "b":
        # in here: keywords imports _misc_more_strided, which imports index_ops, which imports us
        from .keywords import torch_dtype_word

        raise _MaskDtypeError(
            "masked_fill_ only supports boolean masks, but got mask with dtype "
            + torch_dtype_word(m._data.dtype)  # PyTorch's words: "unsigned char", "long int"
        )
    try:
        np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ShapeError(
            f"masked_fill: mask of shape {tuple(m.shape)} and input of shape "
            f"{tuple(x.shape)} cannot be broadcast together"
        ) from None
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    v = (
        value.item()
        if isinstance(value, Tensor)
        and value.numel() == 1
        and not value.requires_grad
        and value._fw_tangent is None  # a forward-mode tangent must flow through where
        and type(value).__name__ != "BatchedTensor"  # per-sample values (cr.func.vmap)
        else value
    )
    if isinstance(v, np.bool_):  # a float to PyTorch (cast to x's dtype below)
        v = float(v)
    if isinstance(v, (bool, int, float, complex, np.number)):  # PyTorch's overflow check
        v = fit_scalar("masked_fill", v, x._data.dtype).item()
    if isinstance(v, (bool, int, float)) and x.dtype.kind in "biu":  # keeps x's integer dtype
        # (PyTorch casts the value to it; float tensors already keep theirs under promotion)
        v = Tensor._make(get_array_module(x._data).asarray(v).astype(x.dtype), False, None, 0)
    if isinstance(v, Tensor) and v.dtype.kind == "c" and x.dtype.kind != "c":
        # a complex value that requires grad into a real x: PyTorch casts it to x's dtype
        # (after its overflow check: a nonzero imaginary part raises), the gradient goes to
        # its real part; the result stays real (was complex)
        if v.numel() == 1:
            fit_scalar("masked_fill", complex(v.detach().item()), x._data.dtype)
        v = v.real
    if isinstance(v, Tensor) and v.dtype != x.dtype and v.dtype.kind != "c":
        v = v.to(x.dtype)  # the result keeps x's dtype, as PyTorch's (a 0-d x would promote)
    return where_as(MaskedFill, m, v, x).contiguous()  # C order whatever x's, as PyTorch's


@tensor_method(keywords=True)
def masked_select(input: Tensor, mask: Any) -> Tensor:
    """``input``'s elements where the boolean ``mask`` is True (the two broadcast), as a 1-d
    tensor: one node, ``MaskedSelectBackward0`` (:mod:`.masked_selection`)."""
    m = mask if isinstance(mask, Tensor) else tensor_operand("masked_select", "mask", 2, mask)
    if m.dtype.kind != "b":  # a uint8 mask would be read as indices below
        raise _MaskDtypeError(f"masked_select: expected BoolTensor for mask, got dtype {m.dtype}")
    try:
        np.broadcast_shapes(input.shape, m.shape)  # checked here; the node broadcasts them
    except ValueError:
        raise broadcast_error("masked_select", m, input) from None  # PyTorch: mask first
    return MaskedSelect.apply(input, m)
