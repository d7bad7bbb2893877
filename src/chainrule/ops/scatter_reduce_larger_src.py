"""PyTorch's refusals of ``scatter_reduce``'s derivatives when ``src`` is larger than
``index`` (only ``src``'s leading ``index.shape`` block is read).

The value is defined then, but PyTorch's ``ScatterReduceBackward0`` is not: for sum/mean
its ``src`` gradient has the index's shape, which the engine refuses (only when ``src``
needs a gradient); for prod/amax/amin its formula combines ``src`` with index-shaped
tensors and fails to broadcast (whichever input needs a gradient), and so does the amax/amin
tangent. chainrule could compute these (the gradient is 0 outside the block), but mirrors
the refusal so that a program behaves the same in both libraries.
"""

from __future__ import annotations

__all__ = ["refuse_larger_src"]


def _mismatch(src_shape: tuple, idx_shape: tuple) -> int | None:
    """The dim PyTorch's broadcasting reports: the last one where the sizes differ and
    neither is 1; None where they broadcast."""
    for d in range(len(src_shape) - 1, -1, -1):
        a, b = src_shape[d], idx_shape[d]
        if a != b and a != 1 and b != 1:
            return d
    return None


def refuse_larger_src(
    reduce: str, src_shape: tuple, idx_shape: tuple, src_grad: bool, forward: bool = False
) -> None:
    """Raise PyTorch's RuntimeError for a derivative of ``scatter_reduce`` whose ``src`` is
    larger than its ``index`` (``forward``: the tangent, which PyTorch computes for
    sum/mean/prod). Nothing when the shapes agree."""
    src_shape, idx_shape = tuple(src_shape), tuple(idx_shape)
    if src_shape == idx_shape or len(src_shape) != len(idx_shape):
        return
    if reduce in ("sum", "mean"):
        # the engine sums an index-shaped gradient to src's shape where src's shape expands
        # to it (a size-1 src dim over an empty index dim): then no refusal, the gradient is 0
        expandable = all(s in (i, 1) for s, i in zip(src_shape, idx_shape, strict=True))
        if src_grad and not forward and not expandable:
            raise RuntimeError(
                f"Function ScatterReduceBackward0 returned an invalid gradient at index 1 - "
                f"got {list(idx_shape)} but expected shape compatible with {list(src_shape)}"
            )
        return
    if forward and reduce == "prod":
        return
    d = _mismatch(src_shape, idx_shape)
    if d is not None:
        raise RuntimeError(
            f"The size of tensor a ({src_shape[d]}) must match the size of tensor b "
            f"({idx_shape[d]}) at non-singleton dimension {d}"
        )
