"""Op specs for ``slice_inverse`` (ops/view_inverses.py); appended to the central table in
tests/ops/op_specs.py.

``slice_inverse(input, src, ...)`` reads ``input``'s memory with ``src``'s layout, and its
gradient is that of ``slice_scatter(src, input, ...)``. The two agree, so that gradcheck,
forward mode and double backward can check the rules against finite differences, when
``input`` is the slice of ``src``'s own memory: the specs build that case the way
functionalization does (``b = slice_scatter(s, a)``, then ``slice_inverse(b[slice], b)``),
and the case of a slice covering all of ``src`` (fresh contiguous tensors of one shape).
tests/ops/test_slice_inverse_and_gaps.py covers the layouts, errors and the cases where the
two rules differ.
"""

from __future__ import annotations

from .op_specs import OpSpec, lib

__all__ = ["SPECS"]


def _rebuild(dim: int, start: int | None, end: int | None, step: int):
    """``slice_inverse`` of the slice of a fresh tensor ``b`` whose slice is ``a``."""

    def call(a, s):
        b = lib(a).slice_scatter(s, a, dim, start, end, step)
        region = (slice(None),) * dim + (slice(start, end, step),)
        return lib(a).slice_inverse(b[region], b, dim, start, end, step)

    return call


SPECS: list = [
    OpSpec("slice_inverse", _rebuild(1, 2, None, 2), (((3, 3), (3, 8)),)),
    OpSpec("slice_inverse_dim0", _rebuild(0, -3, -1, 1), (((2, 4), (5, 4)),)),
    OpSpec(
        "slice_inverse_whole",  # the slice is all of src: the result is input's memory
        lambda a, s: a.contiguous().slice_inverse(s.contiguous(), 1, 0, 100),
        (((3, 4), (3, 4)),),
    ),
]
