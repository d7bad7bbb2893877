"""The order of ``torch.topk(..., sorted=False)``: the selection PyTorch's CPU kernel makes.

With ``sorted=False`` and ``k * 64 > n`` PyTorch's CPU ``topk`` pairs every value with its
index and runs the C++ standard library's ``std::nth_element`` (libstdc++'s introselect) on
the pairs, comparing values only, then returns the first ``k`` pairs in the order the
selection left them. That order is part of what a program sees (``indices[:, 0]``, a
``scatter`` by position), so chainrule replays the same selection rather than returning the
sorted top-k: median-of-three pivots moved to the front, Hoare's unguarded partition,
insertion sort of the last (at most three) elements, and the heap selection past the
recursion limit. (Checked against PyTorch 2.13 on random and tied data, NaN included; with
``k * 64 <= n`` PyTorch's partial sort returns the top-k in sorted order, as chainrule does.)

Each partition is computed with NumPy: the positions where the left scan stops (values not
ahead of the pivot) and where the right scan stops (values the pivot is not ahead of) pair
up into the swaps the scan makes, up to the first pair that has crossed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["nth_element_order"]


def _ahead(values: np.ndarray, largest: bool) -> Any:
    """``comp(a, b)``: a comes before b (NaN counts as the largest value, as in PyTorch)."""
    if values.dtype.kind in "fV":
        nan = np.isnan(values.astype(np.float64) if values.dtype.kind == "V" else values)

        def comp(a: Any, b: Any) -> Any:
            va, vb = values[a], values[b]
            na, nb = nan[a], nan[b]
            return (na & ~nb) | (va > vb) if largest else (~na & nb) | (va < vb)

        return comp

    def plain(a: Any, b: Any) -> Any:
        return values[a] > values[b] if largest else values[a] < values[b]

    return plain


def _scalar_ahead(values: np.ndarray, largest: bool) -> Any:
    """``comp(a, b)`` on Python numbers (short rows: Python beats NumPy's call overhead)."""
    keys = (values.astype(np.float64) if values.dtype.kind == "V" else values).tolist()
    if values.dtype.kind in "fV":
        if largest:
            return lambda a, b: (keys[a] != keys[a] and keys[b] == keys[b]) or keys[a] > keys[b]
        return lambda a, b: (keys[a] == keys[a] and keys[b] != keys[b]) or keys[a] < keys[b]
    if largest:
        return lambda a, b: keys[a] > keys[b]
    return lambda a, b: keys[a] < keys[b]


def _scalar_partition(perm: list, first: int, last: int, comp: Any) -> int:
    """libstdc++'s ``__unguarded_partition(first + 1, last, pivot=first)``, step by step."""
    p, lo, hi = perm[first], first + 1, last
    while True:
        while comp(perm[lo], p):
            lo += 1
        hi -= 1
        while comp(p, perm[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        perm[lo], perm[hi] = perm[hi], perm[lo]
        lo += 1


def _partition(perm: np.ndarray, first: int, last: int, comp: Any) -> int:
    """libstdc++'s ``__unguarded_partition(first + 1, last, pivot=first)`` on ``perm`` (the
    pairs, as indices into the values), in place; returns the cut."""
    p = perm[first]
    window = perm[first + 1 : last]
    left = np.flatnonzero(~comp(window, p)) + first + 1  # where the left scan stops
    whole = perm[first:last]
    right = (np.flatnonzero(~comp(p, whole)) + first)[::-1]  # the right scan (pivot: sentinel)
    n = min(len(left), len(right))
    crossed = np.flatnonzero(left[:n] >= right[:n])
    s = int(crossed[0]) if len(crossed) else n
    if s:
        lo, hi = left[:s], right[:s]
        perm[lo], perm[hi] = perm[hi], perm[lo].copy()
    if s < len(left):  # the scan stops at the next left stop, or at the last swapped slot
        return int(min(left[s], right[s - 1])) if s else int(left[0])
    return int(right[s - 1])


def _median_to_first(perm: np.ndarray, result: int, a: int, b: int, c: int, comp: Any) -> None:
    """libstdc++'s ``__move_median_to_first``."""
    pa, pb, pc = perm[a], perm[b], perm[c]
    if comp(pa, pb):
        pick = b if comp(pb, pc) else c if comp(pa, pc) else a
    elif comp(pa, pc):
        pick = a
    elif comp(pb, pc):
        pick = c
    else:
        pick = b
    perm[result], perm[pick] = perm[pick], perm[result]


def _adjust_heap(perm: np.ndarray, first: int, hole: int, length: int, value: int, comp) -> None:
    """libstdc++'s ``__adjust_heap`` then ``__push_heap`` (a max-heap under ``comp``)."""
    top, child = hole, hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if comp(perm[first + child], perm[first + child - 1]):
            child -= 1
        perm[first + hole] = perm[first + child]
        hole = child
    if (length & 1) == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        perm[first + hole] = perm[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and comp(perm[first + parent], value):
        perm[first + hole] = perm[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    perm[first + hole] = value


def _heap_select(perm: np.ndarray, first: int, middle: int, last: int, comp: Any) -> None:
    """libstdc++'s ``__heap_select`` (the recursion-limit fallback; rare)."""
    length = middle - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(perm, first, parent, length, perm[first + parent], comp)
            if parent == 0:
                break
            parent -= 1
    for i in range(middle, last):
        if comp(perm[i], perm[first]):
            value = perm[i]
            perm[i] = perm[first]
            _adjust_heap(perm, first, 0, length, value, comp)


def _insertion_sort(perm: np.ndarray, first: int, last: int, comp: Any) -> None:
    """libstdc++'s ``__insertion_sort`` (stable for equal values)."""
    for i in range(first + 1, last):
        value = perm[i]
        if comp(value, perm[first]):
            perm[first + 1 : i + 1] = perm[first:i].copy()
            perm[first] = value
        else:
            j = i
            while comp(value, perm[j - 1]):
                perm[j] = perm[j - 1]
                j -= 1
            perm[j] = value


def nth_element_order(values: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """The first ``k`` indices of 1-d ``values`` in the order ``std::nth_element`` (nth =
    ``k - 1``) leaves them, with the comparison of PyTorch's ``topk`` (``largest`` or
    smallest first, NaN as the largest value)."""
    n = len(values)
    if k <= 0 or k > n or n < 2:
        return np.arange(k, dtype=np.int64)
    if n <= _SHORT:
        perm: Any = list(range(n))
        comp, partition = _scalar_ahead(values, largest), _scalar_partition
    else:
        perm = np.arange(n, dtype=np.int64)
        comp, partition = _ahead(values, largest), _partition
    _select(perm, k - 1, n, comp, partition)
    return np.asarray(perm[:k], dtype=np.int64)


_SHORT = 64  # rows up to this length are selected in Python lists, longer ones with NumPy


def _select(perm: Any, nth: int, n: int, comp: Any, partition: Any) -> None:
    """libstdc++'s ``__introselect`` on ``perm`` (a list or an int64 array), in place."""
    first, last = 0, n
    depth = 2 * int(math.log2(n))
    while last - first > 3:
        if depth == 0:
            _heap_select(perm, first, nth + 1, last, comp)
            perm[first], perm[nth] = perm[nth], perm[first]
            return
        depth -= 1
        mid = first + (last - first) // 2
        _median_to_first(perm, first, first + 1, mid, last - 1, comp)
        cut = partition(perm, first, last, comp)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(perm, first, last, comp)
