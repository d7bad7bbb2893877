"""Op-spec cases whose meta forward or backward still allocates past the sweep's bound
(tests/meta/test_meta_session40.py): strict xfails there, so the list shrinks exactly as
cases are fixed.

Session 40 left 372. Session 41 closed 343 at their roots, nearly all outside the ops'
code: the meta array module (``meta/xp.py``: ``get_array_module`` answers it for a meta
array, so an op's ``xp.zeros``/``xp.empty``/``xp.asarray(order=...)``/
``xp.ascontiguousarray`` make meta arrays), shape rules for the NumPy functions that ran on
zeros (``meta/rules_more.py``: sorting, ``take``, ``clip``, ``tril``/``triu``, the scans,
``pad``, ``roll``, ``tile``), advanced indexing on a zero-byte stand-in
(``MetaArray.__getitem__``), small linalg stand-ins (``meta/functions.py``),
``eye(device='meta')``; a meta branch in three op helpers (order statistics' positions and
median, ``special_more._kernel``, polygamma).

Session 42 closed 20 of the 28 left (and the two at the bound): index grids in the meta
array module (``xp.ogrid``/``mgrid``/``indices``), a meta check where an op built a host
array of its size with ``np.*`` (avg_pool3d's divisor, the dense tap matrices of
``interp_taps``, nearest upsampling's backward masks, pdist's pair indices,
``repeat_interleave``'s index, ``segment_reduce``'s slot copy, addcdiv's ``np.array`` copy).
The sweep now warms up at twice the measured size first (Python's free lists, see
``_peak``), so each case measures the same alone and in any order.
"""

from __future__ import annotations

__all__ = ["ALLOCATING", "BOUND", "NEAR_BOUND"]

# graph bookkeeping that grows with the input, no buffer of its size: one tensor (and its
# graph node) per piece, ~1.7-4 KB each, for split/unbind of a long dim into size-1 pieces;
# measured to grow linearly with the number of pieces (split-0: 99 KB at (22, 55), 711 KB
# at (162, 405)). By design, not a gap: torch's meta split/unbind also return one tensor per
# piece (a list of n views), so the pieces cannot be answered without one array each.
# (Session 43: linalg.vander left this list: it is one cumprod and a cat, as torch builds it,
# instead of a Python loop making one tensor per column.)
BOOKKEEPING = {
    "split-0",
    "split_copy-0",
    "unbind-0",
    "unbind_copy-0",
    "unsafe_split-0",
    "unsafe_split-1",
}

ALLOCATING = frozenset(BOOKKEEPING)

# no case sits within a few KB of the bound any more (non-strict marks)
NEAR_BOUND: frozenset = frozenset()

# cases whose fixed bookkeeping (the same at every size) exceeds the sweep's 64 KB: their
# own bound, under which a full-size float64 buffer (128 KB at the sweep's size) cannot fit.
# gradient(edge_order=2): ~30 small ops per dim, 66-79 KB from (30, 40) to (222, 296)
# (tests/meta/test_meta_session42.py checks it does not grow with the size)
BOUND = {"gradient_edge2-0": 128 * 1024}
