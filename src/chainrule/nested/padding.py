"""``torch.nested.to_padded_tensor``: a nested tensor as one dense tensor, padded.

Each component is padded (``F.pad`` with ``padding`` as the value) to the largest size of
each dim, or to ``output_size``, and the results stacked: a dense op chain, so backward gives
each component the slice of the padded gradient it came from (``ToPaddedTensorBackward0``).
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..ops import stack
from ..ops.padding import pad
from ..ops.tensor_queries import strided
from ._tensor import NestedTensor

__all__ = ["to_padded_tensor"]


def _pad_to(c: Tensor, sizes: list[int], padding: float) -> Tensor:
    widths: list[int] = []
    for d in reversed(range(c.dim())):
        widths += [0, sizes[d] - c.shape[d]]
    return pad(c, widths, value=padding) if any(widths) else c


def to_padded_tensor(input: NestedTensor, padding: float, output_size: Any = None) -> Tensor:  # noqa: A002
    """A dense tensor of shape ``(B, max sizes...)`` (or ``output_size``) holding each
    component of ``input`` at the start of its row, the rest set to ``padding``. Strided:
    ``output_size`` must name every dim, none smaller than the padded size. Jagged: only its
    ragged-dim entry counts, and a smaller one truncates (as torch)."""
    if not isinstance(input, NestedTensor):
        raise RuntimeError(
            f"to_padded_tensor(): expected a nested tensor, got {type(input).__name__}"
        )
    comps = input.unbind()
    if input.layout is strided:
        if not comps:
            raise RuntimeError("to_padded_tensor(): the nested tensor has no components")
        sizes = [max(c.shape[d] for c in comps) for d in range(comps[0].dim())]
        if output_size is not None:
            output_size = list(output_size)
            if len(output_size) != input.dim():
                raise RuntimeError(
                    "Length of output_size does not match NestedTensor dims. Broadcasting "
                    "is not supported."
                )
            if any(o < s for o, s in zip(output_size[1:], sizes)):
                raise RuntimeError(
                    "Value in output_size is less than NestedTensor padded size. Truncation "
                    "is not supported."
                )
            sizes = output_size[1:]
        return stack([_pad_to(c, sizes, padding) for c in comps])
    if input.lengths() is not None:
        raise RuntimeError("to_padded_tensor(): not supported for nested tensors with holes")
    r = input._ragged_idx - 1
    longest = max(c.shape[r] for c in comps) if comps else 0
    if output_size is not None:
        longest = int(list(output_size)[input._ragged_idx])
    rows = []
    for c in comps:
        if c.shape[r] > longest:
            c = c.narrow(r, 0, longest)
        sizes = list(c.shape)
        sizes[r] = longest
        rows.append(_pad_to(c, sizes, padding))
    return stack(rows)
