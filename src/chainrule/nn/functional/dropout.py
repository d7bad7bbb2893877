"""Dropout variants. Masks are drawn from chainrule's default generator, so
``cr.manual_seed`` makes them reproducible. The signatures are torch 2.13's (no
``generator=``), so that ``cr.fx`` records them in torch's form.

Inverted dropout: kept units are scaled by 1/(1-p) during training so the expected
activation is unchanged and evaluation is the identity. ``inplace=True`` writes the result
into the input (through the in-place machinery, as PyTorch's ``dropout_``) and returns it.
"""

from __future__ import annotations

import math
import warnings

import numpy as _np

from ..._layout_marks import carry_layout_mark
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...creation_options import memory_order
from ...meta import MetaArray, meta_empty
from ...ops.inplace import single_node_result as _result
from ...ops.number_arguments import parser_bool
from ...random import Generator, gen

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d"]


def _check_p(p: float, op: str) -> None:
    """PyTorch's check of ``p``, compared as its functional does (``p < 0.0``: None or a
    string is Python's own TypeError), with its text (which names no op)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p != p:  # NaN: PyTorch's Python check passes it, its kernel refuses
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_train(training: object, op: str, inplace: bool) -> None:
    """PyTorch's TypeError for a ``training`` that is no Python bool (``F.dropout(x, 0.5,
    1)``): its functional passes it positionally, as ``train``, to the op named here."""
    if type(training) is not bool:
        parser_bool(op + "_" * bool(inplace), "train", 3, training, keywords=False)


def _keep_mask(shape: tuple, like: Tensor, p: float, generator: Generator | None, laid=None):
    """The elements kept: PyTorch's ``bernoulli_(1 - p)`` (a float64 uniform below
    ``1 - p``), so that a seeded dropout drops what PyTorch's drops. ``laid`` (the input's
    array, for an element-wise mask): PyTorch's noise is ``empty_like(input)``, which keeps
    the input's strides, and is filled in memory order, so a non-contiguous input (the
    transposed output of ``MultiheadAttention`` with ``batch_first``) gets its draws in that
    order; a broadcast input (a zero stride) keeps the row-major fill."""
    if type(like._data) is MetaArray:  # a meta input: a meta mask, nothing drawn (torch)
        return meta_empty(shape, _np.bool_)
    order = None if laid is None else memory_order(laid)  # None: no strides (under vmap)
    if order is not None and 0 in laid.strides:
        order = None
    if order is None:
        arr = gen(generator).bernoulli(1.0 - p, shape)
    else:
        drawn = gen(generator).bernoulli(1.0 - p, tuple(shape[i] for i in order))
        arr = drawn.transpose(_np.argsort(order))
    xp = get_array_module(like._data)
    if xp is not __import__("numpy"):
        arr = xp.asarray(arr)
    return arr


def _masked(input: Tensor, keep, p: float) -> Tensor:
    """``input`` times the kept mask scaled by 1/(1-p), PyTorch's noise: for float32 the
    quotient of float32 1 and float32 (1 - p) (1/(1-p) rounded once differs by an ulp for
    p = 0.45), else 1/(1-p) in float64, cast."""
    dt = input._data.dtype
    scale = dt.type(1) / dt.type(1.0 - p) if dt == _np.float32 else 1.0 / (1.0 - p)
    m = keep.astype(input.dtype, copy=False) * input.dtype.type(scale)  # keeps vmap's marks
    return input * Tensor._make(m, False, None, 0)


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p)."""
    _check_p(p, "dropout")
    _check_train(training, "dropout", inplace)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _result(input, inplace, "dropout", lambda t: t * 0.0)
    _no_complex_mask(input, "dropout")
    keep = _keep_mask(input.shape, input, p, None, input._data)
    return _with_mark(_result(input, inplace, "dropout", lambda t: _masked(t, keep, p)), input)


def _with_mark(out: Tensor, input: Tensor) -> Tensor:
    """``out`` (an element-wise dropout of ``input``, in its layout) with the layout mark of
    ``input``'s array (``_layout_marks.py``: a convolution's result, an attention output), so
    that its strides and a further dropout answer as PyTorch's: its product keeps the input's
    strides. Nothing to do for a row-major input (the common case: one flags test)."""
    src = input._data
    if out is not input and type(src) is _np.ndarray:
        if not src.flags.c_contiguous or 1 in src.shape:  # (a size-1 dim: its stride counts)
            carry_layout_mark(out._data, src)
    return out


def _channel_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, generator, op: str, mask: tuple
) -> Tensor:
    """Zero the slices of ``input`` that share one entry of a mask of shape ``mask``."""
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _result(input, inplace, op, lambda t: t * 0.0)
    _no_complex_mask(input, op)
    keep = _keep_mask(mask, input, p, generator)
    return _result(input, inplace, op, lambda t: _masked(t, keep, p))


def _no_complex_mask(input: Tensor, op: str) -> None:
    """PyTorch draws no Bernoulli mask for a complex tensor (0 < p < 1 in training)."""
    if input.dtype.kind == "c":
        raise NotImplementedError(
            f"{op}: not implemented for complex tensors (got {input.dtype}), as in PyTorch; "
            "apply it to cr.view_as_real(x) if one mask per real number is what you mean"
        )


def _feature_mask(shape: tuple) -> tuple:
    """One draw per (batch, channel) pair, the first two dims (PyTorch's feature dropout)."""
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return shape[:2] + (1,) * (len(shape) - 2)


def _deprecated_rank(op: str, ndim: int, spatial: int) -> None:
    """PyTorch 2.13's warning for a rank that the op still accepts but will refuse."""
    warnings.warn(
        f"{op}: Received a {ndim}-D input to {op}, which is deprecated and will result in an "
        "error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {op} exists to provide channel-wise dropout on inputs "
        f"with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).",
        UserWarning,
        stacklevel=3,
    )


def dropout1d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
) -> Tensor:
    """Zero whole channels of (N, C, L) / (C, L) inputs."""
    _check_p(p, "dropout1d")
    _check_train(training, "feature_dropout", inplace)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    if input.ndim == 2:  # unbatched (C, L)
        return unbatched(
            input,
            inplace,
            lambda t, batched: _channel_dropout(
                t, p, training, inplace, None, "dropout1d", t.shape[:-1] + (1,)
            ),
        )
    mask = input.shape[:-1] + (1,)
    return _channel_dropout(input, p, training, inplace, None, "dropout1d", mask)


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
) -> Tensor:
    """Zero whole channels (feature maps) of (N, C, H, W) inputs.

    As PyTorch 2.13: every input is read as batched, one draw per (N, C) pair. A 3-D input is
    (N, C, L) -- channel-wise 1-D dropout, with a warning that this will change -- and any
    rank but 3 or 4 (a 2-D (N, C) input zeroes single elements) warns that it is deprecated.
    """
    _check_p(p, "dropout2d")
    _check_train(training, "feature_dropout", inplace)
    if input.ndim not in (3, 4):
        _deprecated_rank("dropout2d", input.ndim, 2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    mask = _feature_mask(input.shape)
    return _channel_dropout(input, p, training, inplace, None, "dropout2d", mask)


def dropout3d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) inputs.

    As PyTorch 2.13: any rank but 5 is read as unbatched (one draw per leading-dim entry), and
    a rank other than 4 or 5 warns that it is deprecated.
    """
    _check_p(p, "dropout3d")
    _check_train(training, "feature_dropout", inplace)
    if input.ndim not in (4, 5):
        _deprecated_rank("dropout3d", input.ndim, 3)
    if input.ndim == 5:
        mask = _feature_mask(input.shape)
        return _channel_dropout(input, p, training, inplace, None, "dropout3d", mask)

    def run(t: Tensor, batched: bool) -> Tensor:
        mask = _feature_mask(t.shape) if batched else _feature_mask((1, *t.shape))[1:]
        return _channel_dropout(t, p, training, inplace, None, "dropout3d", mask)

    return unbatched(input, inplace, run)


def alpha_dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean 0 / variance 1.

    Dropped units are set to α' = -λα (SELU's negative saturation); the result is then
    affinely corrected: y = a (x·keep + α'(1-keep)) + b with
    a = ((1-p)(1 + p α'²))^(-1/2) and b = -a α' p.
    """
    _check_p(p, "alpha_dropout")
    _check_train(training, "alpha_dropout", inplace)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _result(input, inplace, "alpha_dropout", lambda t: t * 0.0)
    alpha_p = -1.7580993408473766  # -SELU_SCALE * SELU_ALPHA
    a = 1.0 / math.sqrt((alpha_p**2 * p + 1) * (1 - p))
    keep = _keep_mask(input.shape, input, p, None, input._data)
    k = keep.astype(input.dtype, copy=False)  # keeps vmap's per-sample marks
    b = (1 - k) * (alpha_p * a) + (-a * alpha_p * p)
    scale, shift = Tensor._make(k * a, False, None, 0), Tensor._make(b, False, None, 0)
    return _with_mark(_affine(input, inplace, "alpha_dropout", scale, shift), input)


def _affine(input: Tensor, inplace: bool, op: str, scale: Tensor, shift: Tensor) -> Tensor:
    """``input * scale + shift``; in place two writes (``mul_`` then ``add_``: two versions,
    ``AddBackward0`` over ``MulBackward0``), as PyTorch's alpha dropouts."""
    if not inplace:  # the product's add_ (version 1), as PyTorch's
        return (input * scale).add_(shift)
    _result(input, True, op, lambda t: t * scale)
    return _result(input, True, op, lambda t: t + shift)


def unbatched(input: Tensor, inplace: bool, run) -> Tensor:
    """``run(input, batched)`` for an unbatched input of ``dropout1d`` / ``dropout3d``,
    which PyTorch runs on ``input.unsqueeze(0)`` and squeezes back (``SqueezeBackward1`` over
    ``UnsqueezeBackward0``, a new tensor even in evaluation); in place on
    ``input.unsqueeze_(0)``, squeezed back with ``squeeze_(0)`` (``SqueezeBackward4`` over
    ``UnsqueezeBackward1``). The mask, one per channel of the batch of one, draws what the
    unbatched one would."""
    if not inplace and isinstance(input, Tensor):
        return run(input.unsqueeze(0), True).squeeze(0)
    if type(input) is not Tensor:
        return run(input, False)
    input.unsqueeze_(0)
    try:
        run(input, True)
    finally:
        input.squeeze_(0)
    return input
