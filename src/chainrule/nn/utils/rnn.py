"""Variable-length sequences: padding and packing (PyTorch's ``torch.nn.utils.rnn``).

A batch of sequences of different lengths is either *padded* into one (T, B, *) tensor or
*packed*: the rows of time step 0 of every sequence, then those of step 1, ..., with the
sequences sorted longest first, so that ``batch_sizes[t]`` (how many sequences are still
running at step t) is non-increasing. Recurrent layers accept a :class:`PackedSequence` and
then never compute on padding.

Every conversion here is one differentiable gather (advanced indexing) from the source
rows plus, where padding appears, one constant row holding ``padding_value``; gradients
flow back to the sequences' values through the gather.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...creation import full, tensor
from ...ops._tensor_args import torch_type_name
from ...ops._util import ShapeError
from ...ops.number_arguments import parser_bool
from ...ops.shape import cat

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


_PackedSequenceBase = namedtuple(
    "_PackedSequenceBase", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
)


class PackedSequence(_PackedSequenceBase):
    """A packed batch of variable-length sequences (see the module docstring).

    Attributes:
        data: (sum(lengths), *) the rows in time-major packed order.
        batch_sizes: int64 tensor (T,): sequences running at each time step.
        sorted_indices: int64 tensor (B,) or None: the original batch index of each packed
            column (set when the batch was sorted by ``enforce_sorted=False``).
        unsorted_indices: int64 tensor (B,) or None: the inverse permutation.
    """

    __slots__ = ()

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if batch_sizes is None:
            raise ValueError(
                "PackedSequence: batch_sizes is required; build packed batches "
                "with pack_padded_sequence or pack_sequence"
            )
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Move or cast ``data`` (the index tensors stay int64 on the CPU, as in PyTorch)."""
        return self._replace(data=self.data.to(*args, **kwargs))

    def cpu(self) -> PackedSequence:
        return self._replace(data=self.data.cpu())

    def double(self) -> PackedSequence:
        return self._replace(data=self.data.double())

    def float(self) -> PackedSequence:
        return self._replace(data=self.data.float())

    def half(self) -> PackedSequence:
        """``data`` as float16 (PyTorch's ``PackedSequence.half``)."""
        return self._replace(data=self.data.half())

    def long(self) -> PackedSequence:
        """``data`` as int64 (PyTorch's ``PackedSequence.long``)."""
        return self._replace(data=self.data.long())

    def int(self) -> PackedSequence:
        """``data`` as int32 (PyTorch's ``PackedSequence.int``)."""
        return self._replace(data=self.data.int())

    def short(self) -> PackedSequence:
        """``data`` as int16 (PyTorch's ``PackedSequence.short``)."""
        return self._replace(data=self.data.short())

    def char(self) -> PackedSequence:
        """``data`` as int8 (PyTorch's ``PackedSequence.char``)."""
        return self._replace(data=self.data.char())

    def byte(self) -> PackedSequence:
        """``data`` as uint8 (PyTorch's ``PackedSequence.byte``)."""
        return self._replace(data=self.data.byte())

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Move ``data`` to a CUDA device: fails as ``Tensor.cuda`` does (no CUDA here)."""
        return self._replace(data=self.data.cuda(*args, **kwargs))

    def is_pinned(self) -> bool:
        """Whether ``data`` is in pinned memory (never, on the CPU-only NumPy backend)."""
        return self.data.is_pinned()

    def pin_memory(self) -> PackedSequence:
        """Pin every tensor's memory: fails as ``Tensor.pin_memory`` does (no accelerator)."""
        return type(self)(
            self.data.pin_memory(),
            self.batch_sizes,
            None if self.sorted_indices is None else self.sorted_indices.pin_memory(),
            None if self.unsorted_indices is None else self.unsorted_indices.pin_memory(),
        )

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation given as an int64 tensor (None stays None)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation._data if isinstance(permutation, Tensor) else permutation)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=perm.dtype)
    return tensor(inv)


def _lengths_array(lengths: Any, where: str) -> np.ndarray:
    """``lengths`` as PyTorch reads them (``as_tensor(lengths, dtype=int64)``, then its
    kernel's 1-d check): an int64 array, or PyTorch's errors in its words."""
    if lengths is None:  # as_tensor(None, dtype=int64): Python's words
        raise TypeError(
            f"'NoneType' object cannot be interpreted as an integer\n{where}: lengths must be "
            "a 1-d tensor or a list of ints"
        )
    if isinstance(lengths, (str, bytes)):  # as_tensor's parser
        raise TypeError(f"new(): invalid data type '{type(lengths).__name__}'")
    ndim = lengths.ndim if isinstance(lengths, Tensor) else np.ndim(lengths)
    if ndim != 1:  # a RuntimeError, as PyTorch's (and a ValueError, as before)
        raise ShapeError(
            f"'lengths' argument should be a 1D CPU int64 tensor, but got {ndim}D cpu Long "
            f"tensor\n{where}: got lengths of shape {tuple(np.shape(lengths))}"
        )
    if isinstance(lengths, Tensor):
        arr = np.asarray(lengths._data)
    else:
        arr = np.asarray(list(lengths))
    if arr.dtype.kind == "f":  # PyTorch converts with as_tensor(lengths, dtype=int64)
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{where}: lengths must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    """Sequences still running at each step, for lengths sorted longest first."""
    steps = np.arange(int(sorted_lengths[0]))
    return (sorted_lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)


def pad_sequence(
    sequences: Sequence[Tensor] | Tensor,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes (L_i, *) into (T, B, *) (or (B, T, *)), T = max L_i.

    Args:
        sequences: tensors of equal trailing shape.
        batch_first: return (B, T, *) instead of (T, B, *).
        padding_value: the value of the padded positions.
        padding_side: "right" (sequences start at step 0) or "left" (they end at T - 1).
    """
    if type(padding_side) is not str:  # PyTorch's ATen call, positionally: its parser's words
        raise TypeError(
            "pad_sequence(): argument 'padding_side' (position 4) must be str, not "
            f"{torch_type_name(padding_side)}"
        )
    if padding_side not in ("left", "right"):
        raise RuntimeError(  # PyTorch's error type
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    if type(batch_first) is not bool:  # PyTorch's parser: a Python bool only
        raise TypeError(
            "pad_sequence(): argument 'batch_first' (position 2) must be bool, not "
            f"{torch_type_name(batch_first)}"
        )
    if not isinstance(padding_value, (Real, np.number, Tensor)):  # PyTorch's float parser
        raise TypeError(
            "pad_sequence(): argument 'padding_value' (position 3) must be float, not "
            f"{torch_type_name(padding_value)}"
        )
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if sequences[0].ndim == 0:  # PyTorch: RuntimeError for the first, IndexError for others
        raise RuntimeError(
            "pad_sequence: every sequence needs a length (dim 0); sequence 0 is 0-dimensional"
        )
    for i, s in enumerate(sequences):
        if s.ndim == 0:
            raise IndexError(
                f"pad_sequence: Dimension specified as 0 but tensor has no dimensions "
                f"(sequence {i} is 0-dimensional)"
            )
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    total = int(lengths.max())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(total)[:, None]
    pos = steps if padding_side == "right" else steps - (total - lengths)[None, :]
    valid = (pos >= 0) & (pos < lengths[None, :])
    index = np.where(valid, offsets[None, :] + pos, int(lengths.sum()))  # (T, B)
    ref = sequences[0]
    pad_row = full((1,) + tuple(ref.shape[1:]), padding_value, dtype=ref.dtype, device=ref.device)
    # the result has the first sequence's dtype (PyTorch copies into a tensor of it); cat
    # alone would promote
    sequences = [s if s.dtype == ref.dtype else s.to(ref.dtype) for s in sequences]
    rows = cat(sequences + [pad_row], 0)
    # a C-ordered index: NumPy lays a fancy-indexed result out as its index, and PyTorch's
    # padded batch is contiguous in both layouts (``.view(-1)`` of it works)
    return rows[np.ascontiguousarray(index.T) if batch_first else index]


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded (T, B, *) (or (B, T, *)) batch whose sequence b has ``lengths[b]`` steps.

    With ``enforce_sorted=True`` the lengths must be non-increasing; otherwise the batch is
    sorted here and ``sorted_indices``/``unsorted_indices`` record the permutation.
    """
    lens = _lengths_array(lengths, "pack_padded_sequence")
    if type(batch_first) is not bool:  # PyTorch's _VF call, after its Python-level steps
        parser_bool("_pack_padded_sequence", "batch_first", 3, batch_first, keywords=False)
    if input.numel() == 0:  # PyTorch's check, before those of the lengths
        raise RuntimeError(
            f"Cannot pack empty tensors. (pack_padded_sequence got an input of shape "
            f"{tuple(input.shape)}; every sequence needs at least one step of features)"
        )
    width = input.shape[0] if batch_first else input.shape[1]
    if lens.shape[0] != width:
        raise ShapeError(  # a RuntimeError, as PyTorch's (and a ValueError, as before)
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.shape[0]} "
            f"(batch_size={width})\npack_padded_sequence: got {lens.shape[0]} lengths for a "
            f"batch of {width} sequences (input shape {tuple(input.shape)}, batch_first="
            f"{batch_first})"
        )
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order, sorted_indices = np.arange(width), None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = tensor(order.astype(np.int64))
    slens = lens[order]
    if width and slens[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an "
            "element in 'lengths' that is <= 0"
        )
    max_steps = input.shape[1] if batch_first else input.shape[0]
    if slens[0] > max_steps:
        raise RuntimeError(
            f"pack_padded_sequence: a length of {int(slens[0])} exceeds the "
            f"{max_steps} time steps of the input (shape {tuple(input.shape)})"
        )
    sizes = _batch_sizes(slens)
    t_idx = np.repeat(np.arange(len(sizes)), sizes)
    b_idx = order[np.concatenate([np.arange(s) for s in sizes])]
    data = input[(b_idx, t_idx) if batch_first else (t_idx, b_idx)]
    return PackedSequence(data, tensor(sizes), sorted_indices, invert_permutation(sorted_indices))


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_padded_sequence`: returns (padded, lengths) in the original order.

    ``total_length`` pads to that many steps (it must be at least the longest length).
    """
    data = sequence.data
    sizes = np.asarray(sequence.batch_sizes._data, dtype=np.int64)
    steps, width = len(sizes), int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"Expected total_length to be at least the length of the longest "
                f"sequence in input, but got total_length={total_length} and max "
                f"sequence length being {steps}"
            )
        steps = total_length
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    s = np.arange(width)[None, :]
    t = np.arange(steps)[:, None]
    in_range = t < len(sizes)
    t_c = np.minimum(t, len(sizes) - 1)
    valid = in_range & (s < sizes[t_c])
    index = np.where(valid, offsets[t_c] + s, data.shape[0])  # (T, B) in sorted order
    sorted_lengths = valid.sum(0)
    if sequence.unsorted_indices is not None:
        unsort = np.asarray(sequence.unsorted_indices._data)
        index, sorted_lengths = index[:, unsort], sorted_lengths[unsort]
    pad_row = full(
        (1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device
    )
    rows = cat([data, pad_row], 0)
    # NumPy lays a fancy-indexed result out as its index. PyTorch's layouts: the (T, B, *)
    # batch contiguous, batch_first its transpose (a non-contiguous view), and contiguous
    # again after the unsorting index_select
    if sequence.unsorted_indices is not None:
        index = np.ascontiguousarray(index.T if batch_first else index)
    else:
        index = np.ascontiguousarray(index).T if batch_first else np.ascontiguousarray(index)
    return rows[index], tensor(sorted_lengths.astype(np.int64))


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences (equivalent to pad_sequence + pack_padded_sequence)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Any, batch_first: bool = False
) -> list[Tensor]:
    """Split a padded batch back into a list of its sequences (inverse of pad_sequence).
    ``lengths`` is a 1-d tensor, as PyTorch's (which reads ``lengths.device``, then zips
    the batch with ``lengths``: anything else fails there, a list too)."""
    if not isinstance(lengths, Tensor):
        if not hasattr(lengths, "device"):  # (a NumPy scalar has one)
            kind = type(lengths)
            name = kind.__name__ if kind.__module__ == "builtins" else kind.__qualname__
            raise AttributeError(f"'{name}' object has no attribute 'device'")
        iter(lengths)  # Python's TypeError for what PyTorch's zip cannot iterate
    elif lengths.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    lens = _lengths_array(lengths, "unpad_sequence")
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, : int(n)] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences in a PackedSequence, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
