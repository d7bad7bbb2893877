"""Affine maps and lookups: ``linear`` (y = x Wᵀ + b), ``bilinear`` (y_k = x1ᵀ A_k x2 + b_k)
and ``embedding`` (rows of a table at integer indices), as in ``torch.nn.functional``.

These functions check their arguments and call the ops; the derivative rules are in
``ops/affine.py`` (:class:`~chainrule.ops.affine.LinearFn`: one fused matmul + bias forward,
two matmuls and a column sum backward) and ``ops/embedding.py``
(:class:`~chainrule.ops.embedding.EmbeddingFn` and its scatter-add gradient).
``bilinear`` is an ``einsum``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.lower_precision import AUTOCAST
from ...autograd.saved_fields import given
from ...autograd.tensor import Tensor
from ...ops._tensor_args import first_not_tensor, not_tensor
from ...ops._util import DtypeError, PaddingIdxError, ShapeError
from ...ops.affine import LinearFn
from ...ops.checked_arguments import scalar_types_error
from ...ops.einsum import einsum
from ...ops.embedding import EmbeddingFn
from ...ops.gather_scatter import IndexOutOfBounds
from ...ops.grouped_mm import grouped_mm as _grouped_mm
from ...ops.linalg import matmul
from ...ops.linear_graph import (
    LinearOfTransposedFn,
    SqueezeDims,
    TrilinearFn,
    UnsafeView,
    WeightT,
)
from ...ops.raw_misc import embedding_renorm_
from ...ops.shape import reshape
from ...ops.views import Reshape, _row_major_first, _view_named
from ..parameter import Parameter
from ._arg_types import as_float, bad_bool, parser_type_name

__all__ = ["bilinear", "embedding", "grouped_mm", "linear"]


def _linear_irregular(x: Tensor, w: Tensor, b: Tensor | None, xs: tuple, ws: tuple) -> Tensor:
    """``linear`` off its path: a 1-d weight, which PyTorch takes (``x @ w``, a bias then only
    a 0-d one and not for a 2-d input), or PyTorch's error, its words, for a 0-d argument, a
    weight of more than 2 dims or an input whose last size is not ``in_features``."""
    if not xs or not ws:
        raise ShapeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{len(xs)}D and {len(ws)}D"
        )
    if len(ws) > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {len(ws)}D")
    rows = math.prod(xs[:-1])
    if len(ws) == 2:
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{xs[-1]} and {ws[1]}x{ws[0]})"
        )
    if b is not None and (len(xs) == 2 or b.ndim > 0):  # PyTorch's addmm path
        raise ShapeError(f"mat2 must be a matrix, got {len(ws)}-D tensor")
    if xs[-1] != ws[0]:
        if len(xs) == 1:
            raise ShapeError(
                f"inconsistent tensor size, expected tensor [{xs[0]}] and src [{ws[0]}] to have "
                f"the same number of elements, but got {xs[0]} and {ws[0]} elements respectively"
            )
        raise ShapeError(f"size mismatch, got input ({rows}), mat ({rows}x{xs[-1]}), vec ({ws[0]})")
    out = matmul(x, w)
    return out if b is None else out + b


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Apply y = x Wᵀ + b.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("linear", (("input", input), ("weight", weight)))
    if bias is not None and not isinstance(bias, Tensor):
        raise not_tensor("linear", "bias", 3, bias)
    # each read once (a Size is built per read, ~1 us; a plain Tensor's array shape is
    # a tuple already, equal to it)
    ws = weight._data.shape if type(weight) in _PLAIN else weight.shape
    xs = input._data.shape if type(input) is Tensor else input.shape
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        return _linear_irregular(input, weight, bias, tuple(xs), tuple(ws))
    if bias is not None and bias.shape != (ws[0],):
        raise ShapeError(f"linear: bias must have shape ({ws[0]},), got {tuple(bias.shape)}")
    if AUTOCAST[0]:  # autocast casts the three arguments before the dtype check
        input, weight, bias = AUTOCAST[1](LinearFn, (input, weight, bias))
    dt = input.dtype
    if weight.dtype is not dt and weight.dtype != dt:
        raise DtypeError(  # a TypeError and, as in PyTorch, a RuntimeError
            f"linear: input dtype {dt} differs from weight dtype "
            f"{weight.dtype}; convert one, e.g. x.to({weight.dtype})"
        )
    if bias is not None and bias.dtype is not dt and bias.dtype != dt:
        raise DtypeError(  # PyTorch promotes nothing here: a RuntimeError
            f"linear: bias dtype {bias.dtype} differs from the dtype {dt} of input "
            f"and weight; convert it with bias.to({dt})"
        )
    if type(input) is Tensor and input.ndim != 2 and not LINEAR_GRAPH_AS_TORCH:
        return _linear_views(input, weight, bias, xs, ws[0])
    return _linear_graph(input, weight, bias)


_UNSQUEEZE = _view_named(Reshape, "UnsqueezeBackward0")
_PLAIN = (Tensor, Parameter)  # classes whose array's shape is their shape (not vmap's)

# F.linear's graph as PyTorch's (TBackward0 under AddmmBackward0 / MmBackward0, and the views
# around other input ranks) when True. Off by default for 2-d inputs: the extra TBackward0
# node costs ~12-15 us per forward + backward (about +3.5% at (64, 256) x (256, 256), single
# thread); with False F.linear is one fused AddmmBackward0 / MmBackward0 node listing the
# weight itself (tests/autograd/test_graph_fidelity_session33.py turns it on). Other ranks
# get torch's views around that node either way (session 40): the grad_fn is torch's
# ViewBackward0 / UnsafeViewBackward0 / SqueezeBackward4, and with a bias the leaves'
# post-accumulate-grad hooks fire in torch's order (bias, weight, input). The views cost
# less than the TBackward0 node (measured under heavy load on (4, 8, 64) x (64, 64), forward
# + backward: one fused node 358 us, with the views 427 us, torch's whole graph 576 us).
LINEAR_GRAPH_AS_TORCH = False


def _batched(*args: Any) -> bool:
    """Under vmap (a BatchedTensor argument) LinearFn's own batching rule applies."""
    return "BatchedTensor" in [type(a).__name__ for a in args]


def _linear_graph(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """PyTorch's F.linear graph: 2-d ``addmm(b, x, w.t())`` / ``mm(x, w.t())``; other ranks
    with a bias ``addmm`` on ``x.view(-1, in)``, then a view back; without one ``matmul``
    (``mm`` then ``_unsafe_view``; a 1-d input unsqueezed, then squeezed). The ``TBackward0``
    node only where the weight takes a gradient (else PyTorch's node lists None there)."""
    if not LINEAR_GRAPH_AS_TORCH:  # one fused node listing the weight itself, other ranks
        if input.ndim == 2:  # within torch's views (see LINEAR_GRAPH_AS_TORCH)
            return LinearFn.apply(input, weight, bias)
        fn, w = LinearFn, weight
    elif weight.requires_grad and is_grad_enabled() and not _batched(input, weight, bias):
        fn, w = LinearOfTransposedFn, WeightT.apply(weight, (1, 0))
    else:
        fn, w = LinearFn, weight
    if input.ndim == 2:
        return fn.apply(input, w, bias)
    out_shape = input.shape[:-1] + (weight.shape[0],)
    if input.ndim == 1 and bias is None:
        row = given(_UNSQUEEZE.apply(input, (1, input.shape[0])), dim=0)
        return _squeezed_(fn.apply(row, w, None), out_shape)
    rows = reshape(input, (math.prod(input.shape[:-1]), input.shape[-1]))
    y = fn.apply(rows, w, bias)
    if bias is not None:
        return reshape(y, out_shape)
    out = UnsafeView.apply(y, out_shape)
    if out._view is not None:  # not a view of the (unreachable) product: its own counter
        out._view, out._vc = None, [out._vc[0]]
    return out


def _linear_views(input: Tensor, weight: Tensor, bias: Tensor | None, xs: tuple, n: int) -> Tensor:
    """:func:`_linear_graph`'s default graph for a plain Tensor ``input`` of shape ``xs``
    (not 2-d) and ``n`` outputs: the same ops without re-reading shapes or re-checking
    reshape's arguments (their sizes are known valid: -6 us per call of the 15 us the
    views cost, session 41); ``reshape``'s one layout step (a convolution's channel-major
    result laid out row-major first) kept."""
    out_shape = xs[:-1] + (n,)
    if len(xs) == 1 and bias is None:
        row = given(_UNSQUEEZE.apply(input, (1, xs[0])), dim=0)
        return _squeezed_(LinearFn.apply(row, weight, None), out_shape)
    _row_major_first(input)
    y = LinearFn.apply(Reshape.apply(input, (math.prod(xs[:-1]), xs[-1])), weight, bias)
    if bias is not None:
        return Reshape.apply(y, out_shape)
    out = UnsafeView.apply(y, out_shape)
    if out._view is not None:  # not a view of the (unreachable) product: its own counter
        out._view, out._vc = None, [out._vc[0]]
    return out


def _squeezed_(y: Tensor, out_shape: tuple) -> Tensor:
    """``y`` (1, n) squeezed to ``out_shape`` (n,) as PyTorch's matmul of a 1-d input does it:
    ``squeeze_(0)`` in place on the fresh product, so the result is not a view (``_base``
    None) and its version is 1 (SqueezeBackward4 either way), with or without grad mode."""
    out = SqueezeDims.apply(y, out_shape)
    out._view, out._vc = None, [1]  # its own counter: the product is unreachable
    return out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., k] = Σ_ij x1[..., i] A[k, i, j] x2[..., j] + b[k].

    Shapes: input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out,).
    """
    named = [("input1", input1), ("input2", input2), ("weight", weight), ("bias", bias)]
    if not (
        isinstance(input1, Tensor)
        and isinstance(input2, Tensor)
        and isinstance(weight, Tensor)
        and (bias is None or isinstance(bias, Tensor))
    ):  # PyTorch's TypeError (an optional bias may be None)
        raise first_not_tensor("bilinear", [(n, t) for n, t in named if t is not None])
    dts = {getattr(t, "dtype", None) for _, t in named if t is not None}
    if len(dts) > 1:  # PyTorch promotes nothing here: a RuntimeError
        got = ", ".join(
            f"{n}: {getattr(t, 'dtype', type(t).__name__)}" for n, t in named if t is not None
        )
        raise DtypeError(
            f"bilinear: all tensors must have the same dtype, got {got}; convert them to one "
            f"dtype, e.g. with .to({input1.dtype})"
        )
    if (
        weight.ndim != 3
        or input1.shape[-1] != weight.shape[1]
        or input2.shape[-1] != weight.shape[2]
        or input1.shape[:-1] != input2.shape[:-1]
    ):
        raise ShapeError(
            f"bilinear: incompatible shapes input1 {tuple(input1.shape)}, input2 "
            f"{tuple(input2.shape)}, weight {tuple(weight.shape)} (expected (*, in1), (*, in2), "
            "(out, in1, in2))"
        )
    if "c" in (input1.dtype.kind, weight.dtype.kind):  # complex: einsum's rules
        y = einsum("...i,kij,...j->...k", input1, weight, input2)
        return y if bias is None else y + bias
    # PyTorch's graph: _trilinear (TrilinearBackward0) on the inputs viewed as rows, its
    # result viewed back, then the bias added
    rows = math.prod(input1.shape[:-1])
    a = reshape(input1, (rows, input1.shape[-1]))
    c = reshape(input2, (rows, input2.shape[-1]))
    y = reshape(TrilinearFn.apply(a, weight, c), input1.shape[:-1] + (weight.shape[0],))
    return y if bias is None else y + bias


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, dim) at integer indices ``input``.

    Returns shape input.shape + (dim,). Rows at ``padding_idx`` receive no gradient.
    """
    idx = input._data if isinstance(input, Tensor) else input
    if getattr(idx, "dtype", None) is None or isinstance(idx, np.generic):  # (a NumPy scalar)
        raise TypeError(
            "embedding(): argument 'indices' (position 2) must be Tensor, not "
            f"{parser_type_name(idx)}"
        )
    if idx.dtype not in (np.int64, np.int32):
        raise DtypeError(scalar_types_error(1, "indices", "Long, Int", idx.dtype, "embedding"))
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding: 'weight' must be 2-D (num_embeddings, embedding_dim), "
            f"got shape {tuple(weight.shape)}"
        )
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexOutOfBounds(
            "index out of range in self\n"
            f"embedding: index out of range: indices span [{int(idx.min())}, "
            f"{int(idx.max())}] but there are only {n} embeddings"
        )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise PaddingIdxError(
                f"Padding_idx must be within num_embeddings (embedding: padding_idx "
                f"{padding_idx} is outside [-{n}, {n}))"
            )
        if isinstance(padding_idx, bool):  # PyTorch's parser refuses it after that check
            raise TypeError(
                "embedding(): argument 'padding_idx' (position 3) must be int, not bool"
            )
        if padding_idx < 0:
            padding_idx += n
    if max_norm is not None:  # renormalise looked-up rows in place, as PyTorch
        if type(max_norm) is not float or type(norm_type) is not float:  # PyTorch's parser
            max_norm = as_float("embedding_renorm_", "max_norm", max_norm, 3)
            norm_type = as_float("embedding_renorm_", "norm_type", norm_type, 4)
        with no_grad():
            embedding_renorm_(
                weight,
                input if isinstance(input, Tensor) else Tensor._new(idx),
                max_norm,
                norm_type,
            )
    if type(scale_grad_by_freq) is not bool or type(sparse) is not bool:
        bad_bool("embedding", "scale_grad_by_freq", scale_grad_by_freq, 4)  # PyTorch's parser
        bad_bool("embedding", "sparse", sparse, 5)
    return EmbeddingFn.apply(
        weight,
        input if isinstance(input, Tensor) else idx,
        padding_idx,
        bool(scale_grad_by_freq),
        bool(sparse),
    )


def grouped_mm(
    mat_a: Tensor,
    mat_b: Tensor,
    *,
    offs: Tensor | None = None,
    bias: Tensor | None = None,
    out_dtype: Any = None,
) -> Tensor:
    """One matrix product per group of ``offs`` (Mixture-of-Experts layers): PyTorch's
    keyword-only form of ``torch._grouped_mm`` (``ops/grouped_mm.py`` has the layouts)."""
    return _grouped_mm(mat_a, mat_b, offs=offs, bias=bias, out_dtype=out_dtype)
