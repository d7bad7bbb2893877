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

import numpy as np

from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.lower_precision import AUTOCAST
from ...autograd.saved_fields import given, product_fields
from ...autograd.tensor import Tensor
from ...ops._util import DtypeError, PaddingIdxError, ShapeError, wide
from ...ops.affine import LinearFn, _linear_backward_arrays
from ...ops.einsum import einsum
from ...ops.embedding import EmbeddingFn
from ...ops.gather_scatter import IndexOutOfBounds
from ...ops.linalg import matmul
from ...ops.permutations import Permute
from ...ops.raw_misc import embedding_renorm_
from ...ops.shape import reshape
from ...ops.views import Reshape, _view_named

__all__ = ["bilinear", "embedding", "linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Apply y = x Wᵀ + b.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"linear: input and weight must be Tensors, got "
            f"{type(input).__name__} and {type(weight).__name__}"
        )
    ws, xs = weight.shape, input.shape  # (each read once: a Size is built per read)
    if len(ws) != 2:
        raise ShapeError(
            f"linear: weight must be 2-d (out_features, in_features), got shape {tuple(ws)}"
        )
    if not xs or xs[-1] != ws[1]:
        raise ShapeError(
            f"linear: input of shape {tuple(xs)} does not match weight of shape "
            f"{tuple(ws)}: the last input dimension must be in_features={ws[1]}"
        )
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
    return _linear_graph(input, weight, bias)


class LinearOfTransposedFn(LinearFn):
    """:class:`LinearFn` given ``weight.t()`` (PyTorch's ``addmm(b, x, w.t())`` / ``mm``:
    the node lists a ``TBackward0`` before the weight). The same GEMMs on the weight's own
    memory (``wt.T`` is the weight's array); the weight's gradient returned transposed (a
    view), which ``TBackward0`` turns back."""

    @staticmethod
    def node_name(ctx):  # addmm whenever a bias is given (one not requiring grad: None)
        if ctx.__dict__.get("has_bias", True):
            return "AddmmBackward0", (2, 0, 1)
        return "MmBackward0", (0, 1)

    @staticmethod
    def saved_fields(node):  # as LinearFn's, the saved matrix being weight.t() itself
        names = ("self", "mat2") if node.name() == "MmBackward0" else ("mat1", "mat2")
        fields = product_fields(names, (0, 1))
        # PyTorch keeps each matrix only where the other's gradient reads it
        fields[names[0]] = (0, lambda n, t: t if n.needs_input_grad[1] else None)
        fields[names[1]] = (1, lambda n, t: t if n.needs_input_grad[0] else None)
        if names[0] == "self":
            return fields
        return {"alpha": lambda n: 1, "beta": lambda n: 1, **fields}

    @staticmethod
    def forward(ctx, x, wt, b):
        y = LinearFn.forward(ctx, x, wt.T, b)
        ctx.save_for_backward(x, wt)
        ctx.has_bias = b is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, wt = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if not ctx.create_graph:
            gx, gw, gb = _linear_backward_arrays(x._data, wt._data.T, grad._data, needs)
            if gw is not None:
                gw = gw._data
                edge = ctx.next_edges[1]
                if gw.base is None and type(edge) is tuple:  # a fresh array: TBackward0
                    edge[0]._fresh = gw  # may hand it on as it is (_WeightT)
                gw = Tensor._make(gw.T, False, None, 0)
            return gx, gw, gb
        gx = gw = gb = None
        if needs[0]:
            gx = matmul(grad, wt.t())
        if needs[1]:
            gw = matmul(x.t(), grad)
        if len(needs) > 2 and needs[2]:
            gb = grad.sum(0)
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        x, wt, _ = ctx.primals
        out = None if tx is None else tx @ wt
        if tw is not None:
            out = x @ tw if out is None else out + x @ tw
        if tb is not None:
            out = tb if out is None else out + tb
        return out


class _WeightT(Permute):
    """``weight.t()`` for F.linear (``TBackward0``). Its backward hands the weight the array
    that :class:`LinearOfTransposedFn` computed, not a transposed view of its transpose (a
    view would be copied again on its way into ``weight.grad``)."""

    node_name = "TBackward0"

    @staticmethod
    def backward(ctx, grad):
        fresh = ctx.__dict__.pop("_fresh", None)  # LinearOfTransposedFn's own new array
        if fresh is not None and type(grad) is Tensor and grad._data.base is fresh:
            a = grad._data
            if a.shape == fresh.shape[::-1] and a.flags.f_contiguous and fresh.flags.c_contiguous:
                return Tensor._make(fresh, False, None, 0), None  # fresh.T.T: fresh itself
        return Permute.backward(ctx, grad)


_UNSQUEEZE = _view_named(Reshape, "UnsqueezeBackward0")


class _SqueezeDims(Reshape):
    """``squeeze(0)`` of matmul's 1-d result as PyTorch's (``squeeze.dims``)."""

    node_name = "SqueezeBackward4"
    saved_fields = {"dim": lambda n: 0, "self_sym_sizes": lambda n: tuple(n.in_shape)}


class _UnsafeView(Reshape):
    """PyTorch's ``_unsafe_view`` (matmul's fold back of the leading dims): the reshape's
    math, a result that is not a view (its own ``UnsafeViewBackward0``)."""

    node_name = "UnsafeViewBackward0"
    saved_fields = {"self_sym_sizes": lambda n: tuple(n.in_shape)}


# F.linear's graph as PyTorch's (TBackward0 under AddmmBackward0 / MmBackward0, and the views
# around other input ranks) when True. Off by default: the extra nodes cost ~12-15 us per
# forward + backward (about +3.5% at (64, 256) x (256, 256), single thread), where F.linear
# must not get slower; with False F.linear is one fused AddmmBackward0 / MmBackward0 node
# listing the weight itself (tests/autograd/test_graph_fidelity_session33.py turns it on).
LINEAR_GRAPH_AS_TORCH = False


def _linear_graph(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """PyTorch's F.linear graph: 2-d ``addmm(b, x, w.t())`` / ``mm(x, w.t())``; other ranks
    with a bias ``addmm`` on ``x.view(-1, in)``, then a view back; without one ``matmul``
    (``mm`` then ``_unsafe_view``; a 1-d input unsqueezed, then squeezed). The ``TBackward0``
    node only where the weight takes a gradient (else PyTorch's node lists None there)."""
    if not LINEAR_GRAPH_AS_TORCH:  # one fused node (faster: see LINEAR_GRAPH_AS_TORCH)
        if input.ndim == 1:
            return reshape(LinearFn.apply(reshape(input, (1, -1)), weight, bias), (-1,))
        return LinearFn.apply(input, weight, bias)
    # under vmap (a BatchedTensor argument) LinearFn's own batching rule applies
    batched = "BatchedTensor" in (type(input).__name__, type(weight).__name__, type(bias).__name__)
    if weight.requires_grad and is_grad_enabled() and not batched:
        fn, w = LinearOfTransposedFn, _WeightT.apply(weight, (1, 0))
    else:
        fn, w = LinearFn, weight
    if input.ndim == 2:
        return fn.apply(input, w, bias)
    out_shape = input.shape[:-1] + (weight.shape[0],)
    if input.ndim == 1 and bias is None:
        row = given(_UNSQUEEZE.apply(input, (1, input.shape[0])), dim=0)
        return _SqueezeDims.apply(fn.apply(row, w, None), out_shape)
    rows = reshape(input, (math.prod(input.shape[:-1]), input.shape[-1]))
    y = fn.apply(rows, w, bias)
    if bias is not None:
        return reshape(y, out_shape)
    out = _UnsafeView.apply(y, out_shape)
    if out._view is not None:  # not a view of the (unreachable) product: its own counter
        out._view, out._vc = None, [out._vc[0]]
    return out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., k] = Σ_ij x1[..., i] A[k, i, j] x2[..., j] + b[k].

    Shapes: input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out,).
    """
    named = [("input1", input1), ("input2", input2), ("weight", weight), ("bias", bias)]
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


class TrilinearFn(Function):
    """``y[n, k] = Σ_ij a[n, i] w[k, i, j] c[n, j]``: PyTorch's ``_trilinear`` as bilinear
    calls it (``TrilinearBackward0``); each gradient the other two contracted with it."""

    node_name = "TrilinearBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's (bilinear's fixed dims)
        "expand1": lambda n: (1, 3),
        "expand2": lambda n: (0,),
        "expand3": lambda n: (1, 2),
        "i1": 0,
        "i2": 1,
        "i3": 2,
        "sumdim": lambda n: (2, 3),
    }
    raw = True

    @staticmethod
    def forward(ctx, a, w, c):
        ctx.save_for_backward(a, w, c)
        y = np.einsum("ni,kij,nj->nk", wide(a), wide(w), wide(c), optimize=True)
        return np.asarray(y, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, w, c = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = einsum("nk,kij,nj->ni", grad, w, c) if needs[0] else None
        gw = einsum("nk,ni,nj->kij", grad, a, c) if needs[1] else None
        gc = einsum("nk,kij,ni->nj", grad, w, a) if needs[2] else None
        return ga, gw, gc

    @staticmethod
    def jvp(ctx, ta, tw, tc):
        a, w, c = ctx.primals
        out = None
        for spec, ops in (
            ("ni,kij,nj->nk", (ta, w, c)),
            ("ni,kij,nj->nk", (a, tw, c)),
            ("ni,kij,nj->nk", (a, w, tc)),
        ):
            if all(o is not None for o in ops):
                term = np.einsum(spec, *ops, optimize=True)
                out = term if out is None else out + term
        return out


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
    if getattr(idx, "dtype", None) is None:
        raise TypeError(f"embedding: indices must be an integer tensor, got {type(idx).__name__}")
    if idx.dtype not in (np.int64, np.int32):
        raise DtypeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {idx.dtype} instead (while checking arguments for "
            "embedding)"
        )
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding: 'weight' must be 2-D (num_embeddings, embedding_dim), "
            f"got shape {tuple(weight.shape)}"
        )
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexOutOfBounds(
            f"embedding: index out of range: indices span [{int(idx.min())}, "
            f"{int(idx.max())}] but there are only {n} embeddings"
        )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise PaddingIdxError(
                f"Padding_idx must be within num_embeddings (embedding: padding_idx "
                f"{padding_idx} is outside [-{n}, {n}))"
            )
        if padding_idx < 0:
            padding_idx += n
    if max_norm is not None:  # renormalise looked-up rows in place, as PyTorch
        with no_grad():
            embedding_renorm_(
                weight,
                input if isinstance(input, Tensor) else Tensor._new(idx),
                max_norm,
                norm_type,
            )
    return EmbeddingFn.apply(
        weight,
        input if isinstance(input, Tensor) else idx,
        padding_idx,
        bool(scale_grad_by_freq),
        bool(sparse),
    )
