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
lookup and a strides comparison. Equations with three operands or more take the strides of
their last pair's ``sumproduct_pair`` along opt_einsum's path (:func:`path_layout`, session
47); repeated labels (diagonals) keep NumPy's layout.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from numpy import ndarray as _ndarray

from ._result_layout import elementwise_layout, with_strides

__all__ = [
    "pair_grad_strides",
    "pair_layout",
    "pair_operand_views",
    "pair_result_strides",
    "path_layout",
    "path_result_strides",
]


def _labels(ins: tuple, out: str) -> list[str]:
    """PyTorch's aligned label order: the output's, then the contracted ones by subscript
    (uppercase before lowercase, as ``label_to_subscript`` numbers them)."""
    rest = sorted({c for s in ins for c in s if c not in out}, key=lambda c: (c.islower(), c))
    return list(out) + rest


def pair_result_strides(ins: tuple, out: str, shapes: tuple) -> tuple | None:
    """The result's strides (elements) for two operands with subscripts ``ins`` (no repeated
    label) and ``shapes``; None where PyTorch multiplies elementwise (no label summed over
    both operands) or the equation is not a plain pair."""
    full = _pair_full_strides(ins, out, shapes)
    return None if full is None else full[1][: len(out)]


def _pair_full_strides(ins: tuple, out: str, shapes: tuple) -> tuple | None:
    """(sizes, strides) of ``sumproduct_pair``'s result over every aligned label (the
    contracted ones size 1), or None (see :func:`pair_result_strides`)."""
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
    sizes_kept = [n if i < n_out else 1 for i, n in enumerate(full)]
    return tuple(sizes_kept), tuple(strides)


def _view_strides(old_shape: tuple, old_strides: tuple, new_shape: tuple) -> tuple | None:
    """The strides ``view(new_shape)`` gives a tensor of ``old_shape`` and ``old_strides``
    (PyTorch's ``computeStride``: a size-1 dim of the view takes the stride of the chunk
    it falls in), or None where no view exists."""
    new = [0] * len(new_shape)
    if not old_shape:
        return tuple(1 for _ in new_shape)
    view_d = len(new_shape) - 1
    base = old_strides[-1]
    t_numel = v_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        t_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != t_numel * base):
            while view_d >= 0 and (v_numel < t_numel or new_shape[view_d] == 1):
                new[view_d] = v_numel * base
                v_numel *= new_shape[view_d]
                view_d -= 1
            if v_numel != t_numel:
                return None
            if d > 0:
                base, t_numel, v_numel = old_strides[d - 1], 1, 1
    return tuple(new) if view_d < 0 else None


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


def path_result_strides(ins: tuple, out: str, shapes: tuple, path: tuple) -> tuple | None:
    """The result's strides (elements) for three operands or more contracted pairwise along
    ``path`` (opt_einsum's, or left to right: ``backends/opt_einsum.contraction_path``'s
    pairs), as PyTorch's ``einsum``: each pair goes through ``sumproduct_pair`` in the
    aligned label space, and the result is a view of the last pair's fresh ``bmm`` output
    (session 47), so only the last pair's labels and sizes decide. Labels summed before
    the last pair (or inside one operand) are size 1 there. None for a repeated label or
    where the last pair sums no label over both operands (PyTorch multiplies elementwise,
    laid out by the intermediates' strides)."""
    if any(len(set(s)) != len(s) for s in ins):
        return None
    contracted = _labels(ins, out)[len(out) :]
    ops = [dict(zip(s, n, strict=True)) for s, n in zip(ins, shapes, strict=True)]
    a = b = None
    for i, j in path:
        a, b = ops[i], ops[j]
        for k in sorted((i, j), reverse=True):
            del ops[k]
        needed = set(out).union(*ops)
        both = set(a) | set(b)
        ops.append({c: max(a.get(c, 1), b.get(c, 1)) if c in needed else 1 for c in both})
    if a is None:
        return None
    # the last pair with every contracted label (size 1 where summed before): they sit in
    # PyTorch's ``ro`` group, which decides its swap of the operands
    pair = [dict(a), dict(b)]
    for p in pair:
        for c in contracted:
            p.setdefault(c, 1)
    subs = tuple("".join(p) for p in pair)
    full = _pair_full_strides(subs, out, tuple(tuple(p.values()) for p in pair))
    if full is None:
        return None
    # the result: a view of it without the contracted dims (their sizes are 1 by now)
    return _view_strides(full[0], full[1], full[0][: len(out)])


@lru_cache(maxsize=256)
def _path_byte_strides(ins: tuple, out: str, shapes: tuple, path: tuple, item: int) -> Any:
    """:func:`path_result_strides` in bytes, per item size (one cache lookup a call)."""
    strides = path_result_strides(ins, out, shapes, path)
    return None if strides is None else tuple(s * item for s in strides)


def path_layout(y: Any, arrays: tuple, ins: list, out: str, path: Any) -> Any:
    """The einsum result ``y`` of three operands or more (NumPy's) in PyTorch's layout
    (:func:`path_result_strides`): itself when it already is, has fewer than two dims or no
    elements, is not a NumPy array, or no rule applies."""
    if type(y) is not _ndarray or y.ndim < 2 or y.size == 0 or not isinstance(path, list):
        return y
    pairs = tuple(tuple(p) for p in path[1:])
    shapes = tuple(a.shape for a in arrays)
    want = _path_byte_strides(tuple(ins), out, shapes, pairs, y.itemsize)
    if want is None or y.strides == want:
        return y
    return with_strides(y, [s // y.itemsize for s in want])


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
