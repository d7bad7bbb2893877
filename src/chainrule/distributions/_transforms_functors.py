"""Transforms built from a list of other transforms, each acting on its own part of the
input along one dim (the public API of ``torch.distributions.transforms``):

- ``CatTransform``: consecutive blocks of given lengths, as ``cr.cat`` joins them;
- ``StackTransform``: the individual slices at each index, as ``cr.stack`` joins them.

Both check that the tensor has the dim and that its size there matches the parts
(``AssertionError`` otherwise, as PyTorch raises), and build their domain and codomain
from the parts' constraints (``constraints.cat`` / ``constraints.stack``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import chainrule as cr
from chainrule import Tensor

from . import constraints
from ._transform_base import Transform
from .utils import _sum_rightmost, lazy_property

__all__ = ["CatTransform", "StackTransform"]


def _cached_parts(tseq: Sequence[Transform], cache_size: int) -> list[Transform]:
    """Validate the parts and give each the functor's cache size (when it has one)."""
    parts = list(tseq)
    for part in parts:
        if not isinstance(part, Transform):
            raise AssertionError("All elements of tseq must be Transform instances")
    if cache_size:
        parts = [part.with_cache(cache_size) for part in parts]
    return parts


def _check_split(t: Tensor, dim: int, expected: int, what: str, label: str) -> None:
    """Check that ``t`` has dim ``dim`` and that its size there is ``expected``."""
    if not -t.dim() <= dim < t.dim():
        raise AssertionError(f"dim {dim} out of range for {label} with {t.dim()} dimensions")
    size = t.size(dim)
    if size != expected:
        raise AssertionError(f"{label}.size({dim}) = {size} must equal {what} {expected}")


class CatTransform(Transform):
    """Applies ``tseq[i]`` to the ``i``-th block of ``lengths[i]`` entries along ``dim``
    and concatenates the results, mirroring ``cr.cat``.

    ``lengths`` defaults to one entry per transform. The event rank is the largest of the
    parts'; each part's log-det is first summed up to that rank. If ``dim`` then falls in
    the batch dims the blocks' log-dets are concatenated along it, otherwise (``dim`` is
    inside the event) they are added.

    Example::

        # exp on the first 2 columns, identity on the next 3
        t = CatTransform([ExpTransform(), identity_transform], dim=1, lengths=[2, 3])
        y = t(cr.randn(4, 5))
    """

    transforms: list[Transform]

    def __init__(
        self,
        tseq: Sequence[Transform],
        dim: int = 0,
        lengths: Sequence[int] | None = None,
        cache_size: int = 0,
    ) -> None:
        parts = _cached_parts(tseq, cache_size)
        super().__init__(cache_size=cache_size)
        self.transforms = parts
        self.lengths = [1] * len(parts) if lengths is None else list(lengths)
        if len(self.lengths) != len(parts):
            raise AssertionError(
                f"lengths ({len(self.lengths)}) must match transforms ({len(parts)})"
            )
        self.dim = dim

    @lazy_property
    def event_dim(self) -> int:
        return max(part.event_dim for part in self.transforms)

    @lazy_property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _blocks(self, t: Tensor, label: str) -> list[Tensor]:
        """Split ``t`` along ``dim`` into the parts' blocks (after checking its size)."""
        _check_split(t, self.dim, self.length, "length", label)
        blocks, start = [], 0
        for n in self.lengths:
            blocks.append(t.narrow(self.dim, start, n))
            start += n
        return blocks

    def _apply(self, t: Tensor, label: str, fn: Callable[[Transform, Tensor], Tensor]) -> Tensor:
        pieces = [fn(part, b) for part, b in zip(self.transforms, self._blocks(t, label))]
        return cr.cat(pieces, dim=self.dim)

    def _call(self, x: Tensor) -> Tensor:
        return self._apply(x, "x", lambda part, block: part(block))

    def _inverse(self, y: Tensor) -> Tensor:
        return self._apply(y, "y", lambda part, block: part.inv(block))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        x_blocks, y_blocks = self._blocks(x, "x"), self._blocks(y, "y")
        per_block = []
        for part, xb, yb in zip(self.transforms, x_blocks, y_blocks):
            ld = part.log_abs_det_jacobian(xb, yb)
            extra = self.event_dim - part.event_dim
            per_block.append(_sum_rightmost(ld, extra) if extra > 0 else ld)
        # position of ``dim`` counted from the right, among the log-det's (batch) dims
        from_right = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        if from_right < 0:  # a batch dim: the blocks sit side by side
            return cr.cat(per_block, dim=from_right)
        return sum(per_block)  # inside the event: one log-det per event, added up

    @property
    def bijective(self) -> bool:
        return all(part.bijective for part in self.transforms)

    @constraints.dependent_property
    def domain(self) -> constraints.Constraint:
        return constraints.cat([p.domain for p in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self) -> constraints.Constraint:
        return constraints.cat([p.codomain for p in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """Applies ``tseq[i]`` to the slice at index ``i`` along ``dim`` and stacks the
    results back along ``dim``, mirroring ``cr.stack``. The size of ``dim`` must equal
    the number of transforms; the log-dets are stacked the same way.

    Example::

        # exp on column 0, tanh on column 1
        t = StackTransform([ExpTransform(), TanhTransform()], dim=1)
        y = t(cr.randn(4, 2))
    """

    transforms: list[Transform]

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, cache_size: int = 0) -> None:
        parts = _cached_parts(tseq, cache_size)
        super().__init__(cache_size=cache_size)
        self.transforms = parts
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z: Tensor) -> list[Tensor]:
        """The slices of ``z`` at each index along ``dim``."""
        return list(cr.unbind(z, self.dim))

    def _slices(self, t: Tensor, label: str) -> list[Tensor]:
        _check_split(t, self.dim, len(self.transforms), "len(transforms)", label)
        return self._slice(t)

    def _apply(self, t: Tensor, label: str, fn: Callable[[Transform, Tensor], Tensor]) -> Tensor:
        pieces = [fn(part, s) for part, s in zip(self.transforms, self._slices(t, label))]
        return cr.stack(pieces, dim=self.dim)

    def _call(self, x: Tensor) -> Tensor:
        return self._apply(x, "x", lambda part, s: part(s))

    def _inverse(self, y: Tensor) -> Tensor:
        return self._apply(y, "y", lambda part, s: part.inv(s))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        pairs = zip(self.transforms, self._slices(x, "x"), self._slices(y, "y"))
        return cr.stack([part.log_abs_det_jacobian(xs, ys) for part, xs, ys in pairs], self.dim)

    @property
    def bijective(self) -> bool:
        return all(part.bijective for part in self.transforms)

    @constraints.dependent_property
    def domain(self) -> constraints.Constraint:
        return constraints.stack([p.domain for p in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self) -> constraints.Constraint:
        return constraints.stack([p.codomain for p in self.transforms], self.dim)
