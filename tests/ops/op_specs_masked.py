"""Op specs for ``cr.masked``'s functions on dense tensors (``torch.masked.*``): ``sum``,
``prod``, ``amax``, ``amin``, ``mean``, ``median``, ``norm``, ``var``, ``std``,
``logsumexp``, ``cumsum``, ``cumprod``, ``softmax``, ``log_softmax``, ``softmin``,
``normalize`` and ``logaddexp``, each with ``mask=`` (part of the central table,
tests/ops/op_specs.py).

The masks vary: every element in (``mask=None`` and an explicit all-True mask), a mixed
pattern, a mask that broadcasts, and a slice with no element in. Such an empty slice gives
the reduction's identity (0 for ``sum``/``norm``, 1 for ``prod``) or a non-finite value
(NaN for ``mean``/``median``/``var``/``std`` and the softmaxes, -inf for ``amax`` and
``logsumexp``, +inf for ``amin``); ``log_softmax`` is -inf at every masked-out element.
Finite differences cannot differentiate a non-finite output, so such a case is in the table
twice: once whole, forward and backward against PyTorch only (``FB``: the gradient of the
empty slice is 0 in both), and once with the finite part of the output kept (``pick``: the
empty slice is always the last one, so a slice drops it; ``log_softmax`` keeps the
elements in the mask) under every check. ``dtype=`` is passed as the input's own dtype: the
table runs float64 and, for the dtype check, float32 inputs, so a real cast would change
what is compared. ``logaddexp`` takes ``None`` masks nowhere: with ``None`` PyTorch
differentiates the input itself (so an in-place change of it after the forward makes its
backward raise), where chainrule's always goes through the mask's ``where``.

PyTorch's own failures, kept out of the comparison (each says why where it is used):
:data:`TORCH_NAN_GRAD` (``var``/``std`` with an empty slice) and :data:`TORCH_NAN_GG`
(``logaddexp`` with a masked-out operand).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .op_specs_core import ALL, OpSpec, _fit, lib

__all__ = ["SPECS"]

T, F = True, False
FB = frozenset({"fwd", "bwd"})  # a non-finite output: compared with PyTorch, not gradchecked
X = (3, 4)
X3 = (2, 3, 4)

_SOME = np.array([[T, F, T, T], [F, T, T, F], [T, T, F, T]])  # every row and column has some
_ALL_IN = np.ones(X, dtype=bool)
_LAST_ROW_OUT = np.array([[T, F, T, F], [F, T, T, T], [F, F, F, F]])  # row 2: none in
_LAST_COL_OUT = np.array([[T, T, F, F], [F, T, T, F], [T, F, T, F]])  # column 3: none in
_ROW_BCAST = np.array([T, F, T, T])  # broadcasts over the rows of a (3, 4)
# (2, 3, 4): over dims (0, 2), index 2 of dim 1 has no element in; 0 and 1 have some
_M3 = np.array(
    [
        [[T, F, F, T], [F, F, T, F], [F, F, F, F]],
        [[F, T, F, F], [T, F, F, T], [F, F, F, F]],
    ]
)
# (2, 3, 4) with every (dim 0, dim 2) slice non-empty and every dim-1 row non-empty
_M3_SOME = np.array(
    [
        [[T, F, T, T], [F, T, F, T], [T, T, F, F]],
        [[F, T, T, F], [T, F, T, T], [F, T, T, T]],
    ]
)
_ALL_IN_B = np.ones((2, 1, 4), dtype=bool)
_OTHER = np.array([[F, T, F, F], [T, T, F, F], [F, T, F, F]])  # logaddexp's other_mask

_ROWS = (slice(0, 2),)  # drops the last (empty) row of a dim-1 reduction of a (3, 4)
_COLS = (slice(None), slice(0, 3))  # drops the last (empty) column of a (3, 4) result
_KEEP3 = (slice(None), slice(0, 2), slice(None))  # (1, 3, 1) keepdim: drops index 2 of dim 1


def _masked(op: str, mask, *args, pick=None, dtype: bool = False, **kw) -> Callable:
    """``lib(a).masked.<op>(a, *args, mask=mask, **kw)`` for either library: ``mask`` a
    NumPy bool array (None: no mask), ``dtype=True`` passes ``dtype=a.dtype``; ``pick`` is
    an index tuple into the result, or ``"in"`` for the elements in the mask."""

    def call(a):
        m = None if mask is None else _fit(mask, a)
        extra = {"dtype": a.dtype} if dtype else {}
        out = getattr(lib(a).masked, op)(a, *args, mask=m, **extra, **kw)
        if pick is None:
            return out
        if isinstance(pick, str):  # the mask broadcast to the result (a bad input's rank)
            return out[lib(a).broadcast_to(m, out.shape)]
        return out[pick]

    return call


def _spec(name, op, mask, *args, shapes=((X,),), domain="real", checks=ALL, **kw) -> OpSpec:
    return OpSpec(f"masked_{name}", _masked(op, mask, *args, **kw), shapes, domain, checks)


# PyTorch 2.13's masked var/std give the masked-out elements of a slice with no element in
# a NaN gradient (0 * NaN inside its backward), although they do not affect any result, even
# where that slice is not used: chainrule's gradient there is 0, which gradcheck confirms.
# PyTorch's reference for these cases detaches the elements of the empty slices
# (:func:`_torch_nan_grad_free`), so its values are PyTorch's and its gradient is PyTorch's
# for every element that reaches a result.
TORCH_NAN_GRAD = "var/std: PyTorch's gradient of an empty slice's elements is NaN"


def _torch_nan_grad_free(op, mask, dim, *args, pick=None, **kw) -> Callable:
    """PyTorch's ``masked.<op>`` with the elements of the slices over ``dim`` that have no
    element in detached (an input whose shape is not the mask's, a bad input, is passed
    as it is)."""
    used = np.broadcast_to(mask.any(axis=dim, keepdims=True), mask.shape)
    reference = _masked(op, mask, dim, *args, pick=pick, **kw)

    def call(a):
        if tuple(a.shape) == used.shape:
            a = torch.where(_fit(used, a), a, a.detach())
        return reference(a)

    return call


def _empty_pair(
    name, op, mask, *args, pick, shapes=((X,),), domain="real", nan_grad=False, **kw
) -> list:
    """A case whose empty slice is non-finite: whole (``FB``) and with ``pick`` (all).

    ``nan_grad``: PyTorch's own gradient is NaN there (:data:`TORCH_NAN_GRAD`), so its
    reference is :func:`_torch_nan_grad_free`."""
    common = dict(shapes=shapes, domain=domain)
    whole = _spec(f"{name}_whole", op, mask, *args, checks=FB, **common, **kw)
    picked = _spec(name, op, mask, *args, pick=pick, **common, **kw)
    if nan_grad:
        whole.torch_fn = _torch_nan_grad_free(op, mask, *args, **kw)
        picked.torch_fn = _torch_nan_grad_free(op, mask, *args, pick=pick, **kw)
    return [whole, picked]


# Double backward of logaddexp at a masked-out (-inf) operand is NaN in PyTorch 2.13 too
# (its rule g / (1 + e^(b - a)) differentiates to inf / inf there), and chainrule keeps
# PyTorch's rule and value: no gradgradcheck for those cases.
TORCH_NAN_GG = ALL - {"gg"}


def _logaddexp(ma, mb, pick: bool = False) -> Callable:
    def call(a, b):
        ta = None if ma is None else _fit(ma, a)
        tb = None if mb is None else _fit(mb, b)
        out = lib(a).masked.logaddexp(a, b, input_mask=ta, other_mask=tb)
        return out[lib(a).broadcast_to(ta | tb, out.shape)] if pick else out

    return call


SPECS: list = [
    # ---------------------------------------------------------------- sum / prod
    _spec("sum", "sum", _SOME, 1),
    _spec("sum_nomask", "sum", None, 0),
    _spec("sum_all_in", "sum", _ALL_IN, (0, 1), keepdim=True),
    _spec("sum_all_dims", "sum", _SOME),
    _spec("sum_empty_row", "sum", _LAST_ROW_OUT, 1, keepdim=True, dtype=True),
    _spec("sum_bcast_mask", "sum", _ROW_BCAST, 0),
    _spec("sum_dims3", "sum", _M3, (0, 2), shapes=((X3,),)),
    _spec("prod", "prod", _SOME, 1),
    _spec("prod_empty_row", "prod", _LAST_ROW_OUT, -1, dtype=True),
    _spec("prod_all", "prod", _LAST_ROW_OUT),
    _spec("prod_dims3_keep", "prod", _M3, (0, 2), keepdim=True, shapes=((X3,),)),
    # ------------------------------------------------------------- amax / amin
    _spec("amax", "amax", _SOME, 1, domain="distinct"),
    _spec("amax_all_in", "amax", _ALL_IN, 0, keepdim=True, domain="distinct"),
    _spec("amax_all_dims", "amax", _LAST_ROW_OUT, domain="distinct"),
    *_empty_pair("amax_empty_row", "amax", _LAST_ROW_OUT, 1, pick=_ROWS, domain="distinct"),
    _spec("amax_dims3", "amax", _M3_SOME, (0, 2), dtype=True, shapes=((X3,),), domain="distinct"),
    _spec("amin", "amin", _SOME, 0, domain="distinct"),
    _spec("amin_bcast_mask", "amin", _ROW_BCAST, 1, keepdim=True, domain="distinct"),
    *_empty_pair(
        "amin_dims3_keep",
        "amin",
        _M3,
        (0, 2),
        pick=_KEEP3,
        keepdim=True,
        shapes=((X3,),),
        domain="distinct",
    ),
    # -------------------------------------------------------------------- mean
    _spec("mean", "mean", _SOME, 1),
    _spec("mean_nomask", "mean", None, (0, 1)),
    _spec("mean_all_dims", "mean", _LAST_ROW_OUT, dtype=True),
    _spec("mean_bcast_mask_keep", "mean", _ROW_BCAST, 1, keepdim=True),
    *_empty_pair("mean_empty_row", "mean", _LAST_ROW_OUT, 1, pick=_ROWS),
    *_empty_pair(
        "mean_dims3_keep", "mean", _M3, (0, 2), pick=_KEEP3, keepdim=True, shapes=((X3,),)
    ),
    # ------------------------------------------------------------------ median
    _spec("median", "median", _SOME, 1, domain="distinct"),
    _spec("median_default_dim", "median", _ALL_IN, domain="distinct"),
    _spec("median_dim0_keep", "median", _LAST_ROW_OUT, 0, keepdim=True, domain="distinct"),
    *_empty_pair("median_empty_row", "median", _LAST_ROW_OUT, 1, pick=_ROWS, domain="distinct"),
    _spec("median_3d", "median", _M3_SOME, 1, shapes=((X3,),), domain="distinct"),
    # -------------------------------------------------------------------- norm
    _spec("norm", "norm", _SOME, 2.0, 1),
    _spec("norm_all_in_all_dims", "norm", _ALL_IN, 2.0),
    _spec("norm_empty_row", "norm", _LAST_ROW_OUT, 2.0, 1, keepdim=True),
    _spec("norm_p1", "norm", _SOME, 1.0, 0, domain="nokink"),
    # (an empty slice: a zero norm, whose p != 2 second derivative is NaN in PyTorch 2.13
    # too: its norm_backward's masked g / 0^(p-1), kept as PyTorch's in PNorm)
    _spec(
        "norm_p3_dims3",
        "norm",
        _M3,
        3.0,
        (0, 2),
        shapes=((X3,),),
        domain="nokink",
        checks=TORCH_NAN_GG,
    ),
    _spec("norm_p3_dims3_some", "norm", _M3_SOME, 3.0, (0, 2), shapes=((X3,),), domain="nokink"),
    _spec("norm_inf", "norm", _SOME, float("inf"), 1, domain="distinct"),
    _spec("norm_neginf", "norm", _LAST_COL_OUT, -float("inf"), 1, domain="distinct"),
    _spec("norm_dtype", "norm", _ROW_BCAST, 2.0, (0, 1), dtype=True),
    # -------------------------------------------------------------- var / std
    _spec("var", "var", _SOME, 1),
    _spec("var_nomask", "var", None, 0),
    _spec("var_unbiased_false", "var", _SOME, 0, False),
    _spec("var_correction0_keep", "var", _SOME, (0, 1), correction=0, keepdim=True),
    _spec("var_all_dims", "var", _LAST_ROW_OUT, dtype=True),
    *_empty_pair("var_empty_row", "var", _LAST_ROW_OUT, 1, pick=_ROWS, nan_grad=True),
    _spec("var_dims3", "var", _M3_SOME, (0, 2), shapes=((X3,),)),
    _spec("std", "std", _SOME, 1),
    _spec("std_nomask", "std", None, None),
    _spec("std_correction0", "std", _ROW_BCAST, 1, correction=0, keepdim=True),
    *_empty_pair(
        "std_dims3_keep",
        "std",
        _M3,
        (0, 2),
        pick=_KEEP3,
        keepdim=True,
        shapes=((X3,),),
        nan_grad=True,
    ),
    # --------------------------------------------------------------- logsumexp
    _spec("logsumexp", "logsumexp", _SOME, 1),
    _spec("logsumexp_all_in", "logsumexp", _ALL_IN, (0, 1), keepdim=True),
    _spec("logsumexp_all_dims", "logsumexp", _LAST_ROW_OUT, dtype=True),
    *_empty_pair("logsumexp_empty_row", "logsumexp", _LAST_ROW_OUT, 1, pick=_ROWS),
    _spec("logsumexp_dims3", "logsumexp", _M3_SOME, (0, 2), shapes=((X3,),)),
    # ------------------------------------------------------------ cumsum / cumprod
    _spec("cumsum", "cumsum", _SOME, 1),
    _spec("cumsum_empty_row", "cumsum", _LAST_ROW_OUT, 1, dtype=True),
    _spec("cumsum_nomask", "cumsum", None, 0),
    _spec("cumsum_3d", "cumsum", _M3, 2, shapes=((X3,),)),
    _spec("cumprod", "cumprod", _SOME, 1),
    _spec("cumprod_empty_col", "cumprod", _LAST_COL_OUT, 0, dtype=True),
    _spec("cumprod_bcast_mask", "cumprod", _ROW_BCAST, -1),
    # -------------------------------------------------- softmax / log_softmax / softmin
    _spec("softmax", "softmax", _SOME, 1),
    _spec("softmax_nomask", "softmax", None, 0),
    _spec("softmax_dim0", "softmax", _LAST_ROW_OUT, 0, dtype=True),
    *_empty_pair("softmax_empty_row", "softmax", _LAST_ROW_OUT, 1, pick=_ROWS),
    _spec("softmax_3d", "softmax", _M3_SOME, 1, shapes=((X3,),)),
    _spec("log_softmax_all_in", "log_softmax", _ALL_IN, 1),
    *_empty_pair("log_softmax", "log_softmax", _SOME, 1, pick="in"),
    *_empty_pair("log_softmax_empty_row", "log_softmax", _LAST_ROW_OUT, 1, pick="in", dtype=True),
    _spec("softmin", "softmin", _SOME, 0),
    _spec("softmin_bcast_mask", "softmin", _ROW_BCAST, 1),
    *_empty_pair("softmin_empty_col", "softmin", _LAST_COL_OUT, 0, pick=_COLS),
    # --------------------------------------------------------------- normalize
    _spec("normalize", "normalize", _SOME, 2.0, 1),
    _spec("normalize_p1", "normalize", _SOME, 1.0, 0, domain="nokink"),
    _spec("normalize_empty_row", "normalize", _LAST_ROW_OUT, 2.0, 1, dtype=True),
    _spec("normalize_all_in_p3", "normalize", _ALL_IN, 3.0, -1, domain="nokink"),
    _spec("normalize_eps", "normalize", _ROW_BCAST, 2.0, 1, eps=0.7),
    # --------------------------------------------------------------- logaddexp
    OpSpec("masked_logaddexp", _logaddexp(_SOME, _ALL_IN), ((X, X),), checks=TORCH_NAN_GG),
    OpSpec("masked_logaddexp_all_in", _logaddexp(_ALL_IN, _ALL_IN), ((X, X),)),
    OpSpec("masked_logaddexp_bcast", _logaddexp(_ALL_IN[0], _ALL_IN_B), (((4,), (2, 1, 4)),)),
    OpSpec("masked_logaddexp_other", _logaddexp(_ALL_IN, _OTHER), ((X, X),), checks=TORCH_NAN_GG),
    OpSpec("masked_logaddexp_both_out_whole", _logaddexp(_SOME, _OTHER), ((X, X),), checks=FB),
    OpSpec(
        "masked_logaddexp_both_out",
        _logaddexp(_SOME, _OTHER, pick=True),
        ((X, X),),
        checks=TORCH_NAN_GG,
    ),
]
