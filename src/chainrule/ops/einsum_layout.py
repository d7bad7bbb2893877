"""The strides of a two-operand ``einsum`` result, as PyTorch 2.13 lays it out.

PyTorch aligns both operands on all labels (the output's in output order, then the
contracted ones), sums a contracted label present in one operand only (keepdim), and hands
the pair to ``sumproduct_pair`` (``aten/src/ATen/native/Linear.cpp``): the labels split into
``lro`` (in both, kept), ``lo`` (left only), ``ro`` (right only, or size 1 in both), each in
label order; when ``ro``'s last label comes before ``lo``'s first the two operands swap.
One ``bmm`` then writes the result densely in the order ``lro, lo, summed (size 1), ro``,
outermost first, and the summed size-1 dims are viewed away: the output dims keep those
strides (``'ij,jk->ki'`` of any inputs: ``(5, 1)`` for a (3, 5) result, where NumPy's
einsum gives ``(1, 3)``). Without a label summed over both operands PyTorch multiplies the
aligned operands elementwise instead (:func:`pair_operand_views`, laid out by the
elementwise rule).

The strides depend only on the labels and on which sizes are 1, so they are computed once
per equation, shapes and item size (``lru_cache``): a repeated call costs one dictionary
lookup and a strides comparison. Equations with three operands or more (contracted along
opt_einsum's path) and repeated labels (diagonals) keep NumPy's layout.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from numpy import ndarray as _ndarray

from ._result_layout import elementwise_layout, with_strides

__all__ = ["pair_grad_strides", "pair_layout", "pair_operand_views", "pair_result_strides"]


def _labels(ins: tuple, out: str) -> list[str]:
    """PyTorch's aligned label order: the output's, then the contracted ones by subscript
    (uppercase before lowercase, as ``label_to_subscript`` numbers them)."""
    rest = sorted({c for s in ins for c in s if c not in out}, key=lambda c: (c.islower(), c))
    return list(out) + rest


def pair_result_strides(ins: tuple, out: str, shapes: tuple) -> tuple | None:
    """The result's strides (elements) for two operands with subscripts ``ins`` (no repeated
    label) and ``shapes``; None where PyTorch multiplies elementwise (no label summed over
    both operands) or the equation is not a plain pair."""
    if len(ins) != 2 or any(len(set(s)) != len(s) for s in ins):
        return None
    labels = _labels(ins, out)
    sizes = [
        {c: n for c, n in zip(sub, shp, strict=True)} for sub, shp in zip(ins, shapes, strict=True)
    ]
    n_out = len(out)
    lro, lo, ro, summed = [], [], [], []
    for i, c in enumerate(labels):
        sl, sr = sizes[0].get(c, 1) != 1, sizes[1].get(c, 1) != 1
        if i >= n_out and sl and sr:
            summed.append(i)
        elif i >= n_out:  # summed inside one operand first (keepdim): size 1 in both
            ro.append(i)
        elif sl and sr:
            lro.append(i)
        elif sl:
            lo.append(i)
        else:
            ro.append(i)
    if not summed:
        return None
    if lo and ro and ro[-1] < lo[0]:  # PyTorch's swap_lo_ro
        lo, ro = ro, lo
    full = [max(sizes[0].get(c, 1), sizes[1].get(c, 1)) for c in labels]
    strides = [0] * len(labels)
    step = 1
    for i in reversed(lro + lo + summed + ro):  # dense, the last one innermost
        size = 1 if i in summed or i >= n_out else full[i]  # (summed: size 1, keepdim)
        strides[i] = step
        step *= size
    return tuple(strides[:n_out])


def pair_grad_strides(ins: tuple, out: str, shapes: tuple, i: int) -> tuple | None:
    """The strides (elements) of operand ``i``'s gradient as PyTorch's autograd returns it
    through ``sumproduct_pair`` (session 46): ``bmm``'s backward writes a row-major
    ``(lro, lo, summed)`` gradient for the left operand and ``(lro, summed, ro)`` for the
    right one (after the swap), which the backward of the reshape views and that of the
    permutes permutes back: ``(20, 1, 5)`` for ``'bkj'`` of ``'bij,bkj->bik'``. None where
    :func:`pair_result_strides` is (no label summed over both operands), where operand ``i``
    sums a label of its own (its gradient is expanded) or repeats one."""
    if pair_result_strides(ins, out, shapes) is None:
        return None
    sub = ins[i]
    if any(c not in out and c not in ins[1 - i] for c in sub):
        return None
    labels = _labels(ins, out)
    sizes = [dict(zip(s, n, strict=True)) for s, n in zip(ins, shapes, strict=True)]
    n_out = len(out)
    lro, lo, ro, summed = [], [], [], []
    for k, c in enumerate(labels):
        sl, sr = sizes[0].get(c, 1) != 1, sizes[1].get(c, 1) != 1
        if k >= n_out:
            summed.append(k)
        elif sl and sr:
            lro.append(k)
        elif sl:
            lo.append(k)
        else:
            ro.append(k)
    left = i == 0
    if lo and ro and ro[-1] < lo[0]:  # PyTorch's swap_lo_ro: the operands swap too
        lo, ro, left = ro, lo, not left
    order = lro + lo + summed + ro if left else lro + summed + ro + lo  # outermost first
    own = sizes[i]
    strides = [0] * len(labels)
    step = 1
    for k in reversed(order):  # row-major in the permuted order (the operand's own sizes)
        strides[k] = step
        step *= own.get(labels[k], 1)
    return tuple(strides[labels.index(c)] for c in sub)


def pair_operand_views(arrays: tuple, ins: tuple, out: str) -> list | None:
    """The two operands as PyTorch multiplies them when no label is summed over both: each
    permuted to the aligned label order (:func:`_labels`) with its missing labels
    unsqueezed, an operand that sums a label of its own first a new row-major array (a
    keepdim sum); None for a repeated label."""
    if any(len(set(s)) != len(s) for s in ins):
        return None
    labels = _labels(ins, out)
    views = []
    for a, sub in zip(arrays, ins, strict=True):
        v = a.transpose([sub.index(c) for c in labels if c in sub])
        missing = [i for i, c in enumerate(labels) if c not in sub]
        if missing:
            v = v[tuple(None if i in missing else slice(None) for i in range(len(labels)))]
        own = [i for i, c in enumerate(labels) if c not in out and v.shape[i] != 1]
        if own:  # (only the strides of this stand-in are read)
            shape = tuple(1 if i in own else n for i, n in enumerate(v.shape))
            v = _ndarray(shape, dtype=bool)
        views.append(v)
    return views


@lru_cache(maxsize=256)
def _pair_byte_strides(ins: tuple, out: str, sa: tuple, sb: tuple, item: int) -> tuple | None:
    """:func:`pair_result_strides` in bytes, per item size (one cache lookup a call)."""
    strides = pair_result_strides(ins, out, (sa, sb))
    return None if strides is None else tuple(s * item for s in strides)


def pair_layout(y: Any, arrays: tuple, ins: list, out: str) -> Any:
    """The two-operand einsum result ``y`` (NumPy's) in PyTorch's layout: itself when it
    already is, has fewer than two dims or no elements, or is not a NumPy array."""
    if type(y) is not _ndarray or y.ndim < 2 or y.size == 0:
        return y
    a, b = arrays
    want = _pair_byte_strides(tuple(ins), out, a.shape, b.shape, y.itemsize)
    if want is not None:
        return y if y.strides == want else with_strides(y, [s // y.itemsize for s in want])
    views = pair_operand_views(arrays, ins, out)
    if views is None:
        return y
    extra = views[0].ndim - y.ndim  # contracted labels, size 1 after the product: viewed away
    if not extra:
        return elementwise_layout(y, *views)
    full = elementwise_layout(y[(...,) + (None,) * extra], *views)
    return full[(...,) + (0,) * extra]
