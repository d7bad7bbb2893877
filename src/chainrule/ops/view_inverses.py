"""Inverses of view ops, as functionalization writes them: ``slice_inverse``.

``torch.slice_inverse(input, src, dim, start, end, step)`` undoes a slice: ``input`` is
(the mutated copy of) ``src[..., start:end:step, ...]`` and the result is the tensor that
slice was taken from. What PyTorch 2.13 computes (measured, not documented):

- the values are a *view of ``input``'s memory* laid out as ``src`` is: ``src``'s sizes,
  strides and storage offset applied to ``input``'s storage (``input.as_strided(src.size(),
  src.stride(), src.storage_offset())``). ``dim``, ``start``, ``end`` and ``step`` play no
  part in the values and are not checked there; a layout that reaches past ``input``'s
  storage raises. The result has ``input``'s dtype, whatever ``src``'s;
- the gradient treats the op as ``slice_scatter(src, input, dim, start, end, step)``: the
  output gradient read at the slice goes to ``input``, the rest (the slice zeroed) to
  ``src``. That is where ``dim``/``step`` are checked (an out-of-range ``dim`` raises
  ``IndexError``, a step below 1 ``RuntimeError``).

Both agree when ``input`` really is that slice of ``src``'s memory (the case
functionalization produces): the view *is* ``src`` with the slice replaced by ``input``.
The forward-mode rule here is the one that agrees with the gradient, ``slice_scatter`` of the
tangents; PyTorch's own forward mode takes the view of ``input``'s tangent, which gives the
same tangent in that case. One difference remains outside it: after an in-place change of
the result, chainrule's ``CopySlices`` sends the view's gradient through this op's rule
(which then needs ``input`` of the slice's shape), where PyTorch sends it to the base.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._misc_more_strided import _strided_view
from ._util import constant, norm_dim
from .binding import tensor_method
from .index_ops import slice_scatter
from .tensor_queries import _check_tensor, storage_offset

__all__ = ["slice_inverse"]


def _int_arg(name: str, value: Any, optional: bool) -> int | None:
    """``value`` as a Python int: ints, NumPy integers and 0-d integer tensors pass (as in
    PyTorch); ``None`` only where the argument is optional; bools and floats raise."""
    if value is None and optional:
        return None
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "iu":
        return int(value.item())
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"slice_inverse(): argument '{name}' must be int, not {type(value).__name__}"
        )
    return int(value)


def _region(ndim: int, dim: int, start: int | None, end: int | None, step: int) -> tuple:
    """(normalised dim, the index tuple of the slice) for the gradient rules."""
    if ndim == 0:
        raise IndexError("slice_inverse(): slice() cannot be applied to a 0-dim tensor")
    d = norm_dim(dim, ndim, "slice_inverse")[0]
    if step <= 0:
        raise RuntimeError(f"slice_inverse(): slice step must be positive, got {step}")
    return d, (slice(None),) * d + (slice(start, end, step), Ellipsis)


def _as_int64_field(v: int | None) -> int | None:
    """An int64 argument as PyTorch's ``_saved_`` fields show it (None stays None)."""
    return None if v is None else as_uint64(v)


class SliceInverse(Function):
    """``input``'s memory viewed with ``src``'s layout; gradient of ``slice_scatter(src,
    input)`` (see the module doc)."""

    raw = True
    is_view = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): the arguments as given
        "dim": lambda n: _as_int64_field(n.args[0]),
        "end": lambda n: _as_int64_field(n.args[2]),
        "start": lambda n: _as_int64_field(n.args[1]),
        "step": lambda n: _as_int64_field(n.args[3]),
    }

    @staticmethod
    def forward(ctx, x, s, src_layout, dim, start, end, step):
        size, stride, offset = src_layout
        view = _strided_view("slice_inverse", Tensor._make(x, False, None, 0), size, stride, offset)
        ctx.in_shape, ctx.src_dtype = x.shape, s.dtype
        ctx.args = (dim, start, end, step)
        return view[0]

    @staticmethod
    def backward(ctx, grad):
        dim, start, end, step = ctx.args
        d, region = _region(grad.ndim, dim, start, end, step)
        g_in = grad[region] if ctx.needs_input_grad[0] else None
        g_src = None
        if ctx.needs_input_grad[1]:
            want = grad._data[region].shape
            if tuple(want) != tuple(ctx.in_shape):
                raise RuntimeError(
                    f"slice_inverse(): backward to src needs input of the slice's shape: "
                    f"slice size = {list(want)}, input size = {list(ctx.in_shape)}"
                )
            zero = constant(get_array_module(grad._data).zeros(want, grad.dtype))
            g_src = slice_scatter(grad, zero, d, start, end, step)
            if g_src.dtype != ctx.src_dtype:
                g_src = g_src.to(ctx.src_dtype)
        return g_in, g_src, None, None, None, None, None

    @staticmethod
    def jvp(ctx, t_in, t_src, *_):
        out = ctx.out
        dim, start, end, step = ctx.args
        region = _region(out.ndim, dim, start, end, step)[1]
        xp = get_array_module(out)
        tan = xp.zeros(out.shape, out.dtype)
        if t_src is not None:
            tan[...] = t_src.real if out.dtype.kind != "c" and t_src.dtype.kind == "c" else t_src
        if t_in is not None:
            try:
                tan[region] = t_in
            except ValueError:
                raise RuntimeError(
                    f"slice_inverse(): forward mode needs input of the slice's shape: slice "
                    f"size = {list(tan[region].shape)}, input size = {list(t_in.shape)}"
                ) from None
        return tan


@tensor_method
def slice_inverse(
    input: Tensor,  # noqa: A002 - PyTorch's name
    src: Tensor,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """``torch.slice_inverse``: the tensor ``src`` that ``input`` is the slice
    ``src[..., start:end:step, ...]`` of (along ``dim``), as functionalization rebuilds it.

    The result is a view of ``input``'s memory with ``src``'s sizes, strides and storage
    offset, in ``input``'s dtype; its gradient is that of ``slice_scatter(src, input, dim,
    start, end, step)`` (``input`` gets the gradient at the slice, ``src`` the rest). See
    the module doc for how the two meet.

    >>> import chainrule as cr
    >>> base = cr.arange(6.0).reshape(3, 2)
    >>> cr.slice_inverse(base[1:], base, 0, 1)
    tensor([[0., 1.],
            [2., 3.],
            [4., 5.]])

    Raises:
        TypeError: ``input``/``src`` not tensors, or ``dim``/``start``/``end``/``step`` not
            ints.
        RuntimeError: ``src``'s layout reaches past ``input``'s storage.
        NotImplementedError: ``src`` has a negative stride (a reversed NumPy view, which no
            PyTorch tensor has).
    """
    _check_tensor("slice_inverse", "input", 1, input)
    _check_tensor("slice_inverse", "src", 2, src)
    args = (
        _int_arg("dim", dim, False),
        _int_arg("start", start, True),
        _int_arg("end", end, True),
        _int_arg("step", step, False),
    )
    isz = src._data.itemsize
    stride = tuple(s // isz for s in src._data.strides)
    if any(s < 0 for s in stride):
        raise NotImplementedError(
            f"slice_inverse(): src has negative strides {list(stride)} (a reversed NumPy "
            "view, which PyTorch tensors cannot have); pass src.contiguous()"
        )
    layout = (tuple(src.shape), stride, storage_offset(src))
    return SliceInverse.apply(input, src, layout, *args)
