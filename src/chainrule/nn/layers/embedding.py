"""Embedding: a lookup table of learnable vectors indexed by integers; EmbeddingBag: the sums,
means or maxima of bags of its rows (``F.embedding_bag``), as in ``torch.nn``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...creation import empty
from ...creation_options import NegativeSizeError, _shape
from ...ops._util import PaddingIdxError
from .. import init
from ..functional.embedding_bag import embedding_bag
from ..functional.linear import embedding
from ..module import Module
from ..parameter import Parameter


class PretrainedShapeError(ValueError, AssertionError):
    """``from_pretrained`` given embeddings that are not 2-d: PyTorch's AssertionError
    ("Embeddings parameter is expected to be 2-dimensional"), and a ValueError as chainrule
    raised before."""


__all__ = ["Embedding", "EmbeddingBag"]


class _WeightShapeError(ValueError, AssertionError):
    """A ``_weight`` whose shape is not (num_embeddings, embedding_dim): PyTorch's
    AssertionError, and a ValueError as chainrule raised before."""


class _SizeTypeError(TypeError, ValueError):
    """A table size that is not an int: PyTorch's TypeError (from ``empty()``), and a
    ValueError as chainrule raised before."""


def _check_sizes(owner: str, num_embeddings: Any, embedding_dim: Any) -> None:
    """The table's sizes as PyTorch's ``empty((num_embeddings, embedding_dim))`` reads them:
    its TypeError (a ValueError too, as chainrule raised before) for a size that is not an
    int (a bool is read as one for ``embedding_dim``, not for ``num_embeddings``), its
    RuntimeError for a negative one (``NegativeSizeError``, a ValueError too). Called after
    the ``padding_idx`` check, PyTorch's order. PyTorch's message comes first; the layer
    and its arguments follow it."""
    try:
        _shape(((num_embeddings, embedding_dim),), "empty")
    except NegativeSizeError as err:
        raise NegativeSizeError(
            f"{err} ({owner}: num_embeddings={num_embeddings!r}, "
            f"embedding_dim={embedding_dim!r}; both must be >= 0)"
        ) from None
    except TypeError as err:
        raise _SizeTypeError(str(err)) from None


def _padding_index(owner: str, padding_idx: Any, num_embeddings: Any) -> Any:
    """``padding_idx`` checked against the table's size as PyTorch's two checks are written
    (a NaN size passes them; 0 is not checked), a negative one counted from the end."""
    if padding_idx is not None:
        if (
            padding_idx > 0
            and padding_idx >= num_embeddings
            or (padding_idx < 0 and padding_idx < -num_embeddings)
        ):
            raise PaddingIdxError(
                f"Padding_idx must be within num_embeddings ({owner}: padding_idx "
                f"{padding_idx} is outside [-{num_embeddings}, {num_embeddings}))"
            )
        if padding_idx < 0:
            padding_idx += num_embeddings
    return padding_idx


def _table(
    owner: str,
    num_embeddings: Any,
    embedding_dim: Any,
    weight: Tensor | None,
    dtype: Any,
    device: Any,
    requires_grad: bool = True,
) -> Parameter:
    """The layer's weight: ``weight`` (``_weight=``) when given, which must have the table's
    shape, else a new uninitialised table (the caller's ``reset_parameters`` fills it)."""
    if weight is None:
        table = empty(num_embeddings, embedding_dim, dtype=dtype, device=device)
        return Parameter(table, requires_grad=requires_grad)
    if tuple(weight.shape) != (num_embeddings, embedding_dim):
        raise _WeightShapeError(
            f"Shape of weight does not match num_embeddings and embedding_dim "
            f"({owner}: _weight has shape {tuple(weight.shape)}, expected "
            f"({num_embeddings}, {embedding_dim}))"
        )
    return Parameter(weight, requires_grad=requires_grad)


def _reset_table(weight: Parameter, padding_idx: Any) -> None:
    """N(0, 1) values, the ``padding_idx`` row zero, as PyTorch's ``reset_parameters`` (not
    for a bool ``padding_idx``: PyTorch's ``weight[True].fill_(0)`` fills a copy, the result
    of indexing with a bool, and leaves the weight as drawn)."""
    init.normal_(weight)
    if padding_idx is not None and not isinstance(padding_idx, bool):
        if not isinstance(padding_idx, int | np.integer):  # a float: PyTorch's IndexError
            _ = weight.detach()[padding_idx]  # (its ``weight[padding_idx]``, its words)
        weight._data[padding_idx] = 0


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) for each index i.

    Weights start as N(0, 1); the ``padding_idx`` row starts at zero and never receives a
    gradient.

    Shape:
        input (*) integer -> output (*, embedding_dim).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        padding_idx = _padding_index("Embedding", padding_idx, num_embeddings)
        _check_sizes("Embedding", num_embeddings, embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.weight = _table(
            "Embedding", num_embeddings, embedding_dim, _weight, dtype, device, not _freeze
        )
        if _weight is None:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_table(self.weight, self.padding_idx)

    def forward(self, input: Tensor) -> Tensor:
        return embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding holding ``embeddings`` (2-d); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise PretrainedShapeError(
                f"Embedding.from_pretrained: Embeddings parameter is expected to be "
                f"2-dimensional, got shape "
                f"{tuple(embeddings.shape)}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=embeddings,
            _freeze=freeze,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:  # PyTorch's repr lists the non-default options
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of rows of ``weight`` (num_embeddings, embedding_dim),
    computed without the per-index embeddings (``F.embedding_bag``): the bag-of-words layer
    of fastText-style text classifiers.

    Weights start as N(0, 1); the ``padding_idx`` row starts at zero, is left out of every
    bag (and of the mean's count) and never receives a gradient.

    Shape:
        input (B, N) integer (B bags of N indices, ``offsets`` None), or (L,) with
        ``offsets`` (B,) (``include_last_offset``: (B + 1,)) -> output (B, embedding_dim).
        ``per_sample_weights``: ``input``'s shape, mode='sum' only.

    Example:
        >>> import chainrule as cr
        >>> bag = cr.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(cr.tensor([1, 2, 4, 5, 4]), cr.tensor([0, 2])).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        padding_idx = _padding_index("EmbeddingBag", padding_idx, num_embeddings)
        _check_sizes("EmbeddingBag", num_embeddings, embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.padding_idx = scale_grad_by_freq, padding_idx
        self.weight = _table("EmbeddingBag", num_embeddings, embedding_dim, _weight, dtype, device)
        if _weight is None:
            self.reset_parameters()
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def reset_parameters(self) -> None:
        """N(0, 1) weights, the ``padding_idx`` row zero (as PyTorch)."""
        _reset_table(self.weight, self.padding_idx)

    def forward(
        self,
        input: Tensor,
        offsets: Tensor | None = None,
        per_sample_weights: Tensor | None = None,
    ) -> Tensor:
        return embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag holding ``embeddings`` (2-d, used as is: the ``padding_idx`` row
        is not zeroed); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise PretrainedShapeError(
                f"EmbeddingBag.from_pretrained: Embeddings parameter is expected to be "
                f"2-dimensional, got shape "
                f"{tuple(embeddings.shape)}"
            )
        rows, cols = embeddings.shape
        bag = cls(
            rows,
            cols,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            _weight=embeddings,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s
