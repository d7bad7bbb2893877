"""The pruning methods of ``torch.nn.utils.prune``: which entries or channels to zero.

Each ``compute_mask(t, default_mask)`` returns ``default_mask`` with more zeros: the
``amount`` (a count, or a fraction rounded half to even) of entries (unstructured) or of
channels along ``dim`` (structured) with the smallest magnitude / L``n`` norm, or drawn at
random from chainrule's generator. Among equal magnitudes the lowest index is pruned first
(chainrule's ``topk`` order; PyTorch's choice among ties follows its selection algorithm and
is not specified).
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ...creation import ones
from ...creation_random import rand
from ...linalg.norms import matrix_norm, vector_norm
from ...ops.search import topk
from ..module import Module
from ._prune_base import BasePruningMethod, _channel_dim, _count, _validate_amount

__all__ = [
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "RandomStructured",
    "RandomUnstructured",
]


def _zero_entries(default_mask: Tensor, index: Tensor) -> Tensor:
    """A copy of ``default_mask`` with the flat positions ``index`` set to zero."""
    mask = default_mask.clone().contiguous()
    if index.numel():
        mask.view(-1)[index] = 0
    return mask


def _zero_channels(default_mask: Tensor, dim: int, index: Tensor) -> Tensor:
    """``default_mask`` times a 0/1 channel mask zero at ``index`` along ``dim``."""
    size = default_mask.shape[dim]
    keep = ones(size, dtype=default_mask.dtype, device=default_mask.device)
    if index.numel():
        keep[index] = 0
    shape = [1] * default_mask.dim()
    shape[dim] = size
    return default_mask * keep.view(shape)


def _channel_norms(t: Tensor, n: Any, dim: int) -> Tensor:
    """The L``n`` norm of each channel of ``t`` along ``dim`` (``torch.norm``'s ``p``:
    a number, inf, -inf, ``'fro'`` or ``'nuc'``; the last two over at most / exactly two
    remaining dims)."""
    dims = tuple(d for d in range(t.dim()) if d != dim)
    if isinstance(n, str):
        if n not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {n} not supported.")
        if len(dims) != 2 and (n == "nuc" or len(dims) > 2):
            got = " ".join(str(d) for d in dims)
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {got}")
        if n == "nuc":
            return matrix_norm(t, "nuc", dim=dims)
        return vector_norm(t, 2, dim=dims)
    return vector_norm(t, n, dim=dims)


class Identity(BasePruningMethod):
    """Prunes nothing: the re-parametrization with a mask of ones."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> BasePruningMethod:  # type: ignore[override]
        """Add the identity pruning of ``module.<name>``."""
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` of the (unpruned) entries, drawn uniformly at random.

    Args:
        amount: a count (int >= 0) or a fraction (float in [0, 1]) of the entries.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        k = _count(self.amount, t.numel())
        if k == 0:
            return default_mask.clone()
        draws = rand(t.numel(), device=t.device)
        return _zero_entries(default_mask, topk(draws, k).indices)

    @classmethod
    def apply(cls, module: Module, name: str, amount: int | float) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` (unpruned) entries of smallest magnitude.

    Args:
        amount: a count (int >= 0) or a fraction (float in [0, 1]) of the entries.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        k = _count(self.amount, t.numel())
        if k == 0:
            return default_mask.clone()
        smallest = topk(t.detach().abs().reshape(-1), k, largest=False).indices
        return _zero_entries(default_mask, smallest)

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: Module,
        name: str,
        amount: int | float,
        importance_scores: Tensor | None = None,
    ) -> BasePruningMethod:
        """Prune the ``amount`` entries of ``module.<name>`` (or of ``importance_scores``) of
        smallest magnitude."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` of the (unpruned) channels along ``dim``, drawn at random.

    Args:
        amount: a count (int >= 0) or a fraction (float in [0, 1]) of the channels.
        dim: the dim indexing the channels.
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, dim: int = -1) -> None:
        _validate_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        dim = _channel_dim(t, self.dim)
        k = _count(self.amount, t.shape[dim])
        if k == 0:
            return default_mask.clone()
        draws = rand(t.shape[dim], device=t.device)
        # PyTorch keeps the channels of the largest draws: the same seed prunes the same ones
        return _zero_channels(default_mask, dim, topk(draws, k, largest=False).indices)

    @classmethod
    def apply(  # type: ignore[override]
        cls, module: Module, name: str, amount: int | float, dim: int = -1
    ) -> BasePruningMethod:
        """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` (unpruned) channels along ``dim`` of smallest L``n`` norm.

    Args:
        amount: a count (int >= 0) or a fraction (float in [0, 1]) of the channels.
        n: the norm's order, as ``torch.norm``'s ``p`` (number, inf, -inf, 'fro', 'nuc').
        dim: the dim indexing the channels.
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, n: Any, dim: int = -1) -> None:
        _validate_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        dim = _channel_dim(t, self.dim)
        k = _count(self.amount, t.shape[dim])
        norms = _channel_norms(t.detach(), self.n, dim)  # first: a bad n raises even for k=0
        if k == 0:
            return default_mask.clone()
        return _zero_channels(default_mask, dim, topk(norms, k, largest=False).indices)

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: Module,
        name: str,
        amount: int | float,
        n: Any,
        dim: int,
        importance_scores: Tensor | None = None,
    ) -> BasePruningMethod:
        """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest
        L``n`` norm (of ``importance_scores`` when given)."""
        return super().apply(
            module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores
        )


class CustomFromMask(BasePruningMethod):
    """Prunes with a given mask (``'global'``: it applies to the whole tensor).

    Args:
        mask: a tensor of the pruned tensor's shape; it multiplies ``default_mask``.
    """

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        if not isinstance(mask, Tensor):
            raise TypeError(f"CustomFromMask: mask must be a Tensor, got {type(mask).__name__}")
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise AssertionError(
                f"default_mask shape {default_mask.shape} must match self.mask shape "
                f"{self.mask.shape}"
            )
        return default_mask * self.mask.to(dtype=default_mask.dtype, device=default_mask.device)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``module.<name>`` with ``mask``."""
        return super().apply(module, name, mask=mask)
