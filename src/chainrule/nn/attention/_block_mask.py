"""FlexAttention's masks: ``BlockMask``, ``create_block_mask``, ``create_mask`` and the mask
combinators (PyTorch's ``torch.nn.attention.flex_attention``), re-exported by
:mod:`chainrule.nn.attention.flex_attention`.

A ``mask_mod(b, h, q_idx, kv_idx) -> bool`` says whether query ``q_idx`` of head ``h`` in
batch ``b`` may attend to key ``kv_idx``. PyTorch traces it one element at a time (vmap);
chainrule calls it once, with broadcastable int32 index tensors ``b (B,1,1,1)``,
``h (1,H,1,1)``, ``q_idx (1,1,L,1)``, ``kv_idx (1,1,1,S)``, so functions written with
comparisons, arithmetic, ``cr.where`` and indexing into captured tensors give the whole
(B, H, L, S) mask in one pass. int32 is the dtype PyTorch's eager ``flex_attention`` passes.

A :class:`BlockMask` summarises the mask on a grid of ``Q_BLOCK x KV_BLOCK`` tiles: for each
query-block row, the key blocks that hold at least one allowed pair ("partial" blocks, with
``separate_full_blocks`` only those that also hold a masked pair) and the blocks where every
pair is allowed ("full" blocks). Tiles that run past the sequence ends count the padding as
masked, so a tile cut by the end of the sequence is never full. The row lists are ordered
with the listed blocks first (ascending), then the others (ascending). PyTorch's compiled
kernels use the tiles to skip work; its eager path (the one chainrule mirrors) evaluates
``mask_mod`` densely, so the tiles never change what :func:`flex_attention` computes.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...creation import arange, tensor, zeros
from ...dtypes import float32, int32

__all__ = [
    "BlockMask",
    "and_masks",
    "create_block_mask",
    "create_mask",
    "noop_mask",
    "or_masks",
]

_FIELDS = (
    "kv_num_blocks",
    "kv_indices",
    "full_kv_num_blocks",
    "full_kv_indices",
    "q_num_blocks",
    "q_indices",
    "full_q_num_blocks",
    "full_q_indices",
)
_MORE = (
    "To print out more, set BlockMask.to_string(limit=N)\n"
    "You can also index (BlockMask[batch, head]) to choose a specific batch or head"
)


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """The mask_mod that allows every pair: a scalar ``True`` (it broadcasts)."""
    return tensor(True, device=batch.device)


def _check_mods(mask_mods: tuple) -> None:
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")


def and_masks(*mask_mods: Callable) -> Callable:
    """A mask_mod allowing the pairs that every one of ``mask_mods`` allows (none: all)."""
    _check_mods(mask_mods)

    def and_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = tensor(True, device=b.device)
        for mod in mask_mods:
            result = result & mod(b, h, q_idx, kv_idx)
        return result

    return and_mask


def or_masks(*mask_mods: Callable) -> Callable:
    """A mask_mod allowing the pairs that any of ``mask_mods`` allows (none: no pair)."""
    _check_mods(mask_mods)

    def or_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = tensor(False, device=b.device)
        for mod in mask_mods:
            result = result | mod(b, h, q_idx, kv_idx)
        return result

    return or_mask


def _sliced_mask_mod_error(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
    """The mask_mod of an indexed BlockMask: its indices no longer match the original's."""
    raise RuntimeError(
        "Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask using [], "
        "the mask_mod attribute is reset. Set it from the original BlockMask's mask_mod "
        "(with the offsets of the slice applied to the indices)."
    )


def index_grids(B: int, H: int, L: int, S: int, device: Any) -> tuple[Tensor, ...]:
    """The broadcastable int32 index tensors b (B,1,1,1), h (1,H,1,1), q (1,1,L,1), kv
    (1,1,1,S) that mask_mods and score_mods receive."""
    return (
        arange(B, dtype=int32, device=device).reshape(B, 1, 1, 1),
        arange(H, dtype=int32, device=device).reshape(1, H, 1, 1),
        arange(L, dtype=int32, device=device).reshape(1, 1, L, 1),
        arange(S, dtype=int32, device=device).reshape(1, 1, 1, S),
    )


def dense_mask(mask_mod: Callable, B: int, H: int, L: int, S: int, device: Any) -> Tensor:
    """``mask_mod`` evaluated on every (b, h, q, kv): a bool Tensor of shape (B, H, L, S)."""
    with no_grad():
        out = mask_mod(*index_grids(B, H, L, S, device))
        if not isinstance(out, Tensor):
            out = tensor(out, device=device)
    if out.dtype != np.dtype(bool):
        raise AssertionError(
            f"mask_mod must return a bool Tensor: mask.dtype must be bool, got {out.dtype}"
        )
    return out.expand(B, H, L, S)


def _n_positional(fn: Callable) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume a mask_mod
        return 4
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return 4
    return sum(p.kind in kinds for p in params)


def create_mask(
    mod_fn: Callable, B: int | None, H: int | None, Q_LEN: int, KV_LEN: int, device: Any = None
) -> Tensor:
    """The dense (B, H, Q_LEN, KV_LEN) mask of a mask_mod (what it returns, broadcast), or of
    a score_mod (5 arguments): True where it does not turn a zero score into ``-inf``.
    ``B``/``H`` of ``None`` mean 1."""
    B, H = B or 1, H or 1
    n = _n_positional(mod_fn)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    grids = index_grids(B, H, Q_LEN, KV_LEN, device)
    with no_grad():
        if n == 4:
            out = mod_fn(*grids)
            out = out if isinstance(out, Tensor) else tensor(out, device=device)
            return out.expand(B, H, Q_LEN, KV_LEN).contiguous()
        score = zeros(B, H, Q_LEN, KV_LEN, dtype=float32, device=device)
        out = mod_fn(score, *grids)
        return (out != float("-inf")).expand(B, H, Q_LEN, KV_LEN).contiguous()


def _ordered(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row counts and index lists of a (..., R, C) bool block grid: listed blocks first."""
    num = dense.sum(-1).astype(np.int32)
    idx = np.argsort(~dense, axis=-1, kind="stable").astype(np.int32)
    return num, idx


def _from_ordered(num: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The (..., R, C) bool grid that row counts and index lists describe (entries past a
    row's count are ignored, whatever they hold)."""
    cols = idx.shape[-1]
    listed = np.arange(cols) < num[..., None]
    one_hot = idx[..., :, None] == np.arange(cols)
    return (one_hot & listed[..., None]).any(-2)


def _block_size(BLOCK_SIZE: Any) -> tuple[int, int]:
    if isinstance(BLOCK_SIZE, int):
        return BLOCK_SIZE, BLOCK_SIZE
    q_block, kv_block = BLOCK_SIZE
    return int(q_block), int(kv_block)


class BlockMask:
    """The block-sparse summary of an attention mask (PyTorch's ``BlockMask``).

    ``kv_num_blocks`` (..., QB) and ``kv_indices`` (..., QB, KB) list, per query-block row,
    the key blocks that need ``mask_mod``; ``full_kv_*`` the blocks allowed entirely (or
    ``None``); ``q_*`` / ``full_q_*`` are the same lists per key-block column. All are int32
    Tensors. ``mask_mod`` is the function :func:`flex_attention` evaluates densely.
    """

    def __init__(
        self,
        seq_lengths: tuple[int, int],
        kv_num_blocks: Tensor,
        kv_indices: Tensor,
        full_kv_num_blocks: Tensor | None,
        full_kv_indices: Tensor | None,
        q_num_blocks: Tensor | None,
        q_indices: Tensor | None,
        full_q_num_blocks: Tensor | None,
        full_q_indices: Tensor | None,
        BLOCK_SIZE: tuple[int, int] = (128, 128),
        mask_mod: Callable = noop_mask,
    ) -> None:
        if kv_indices.ndim < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided")
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        self.BLOCK_SIZE = _block_size(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(
        cls,
        kv_num_blocks: Tensor,
        kv_indices: Tensor,
        full_kv_num_blocks: Tensor | None = None,
        full_kv_indices: Tensor | None = None,
        BLOCK_SIZE: int | tuple[int, int] = 128,
        mask_mod: Callable | None = None,
        seq_lengths: tuple[int, int] | None = None,
        compute_q_blocks: bool = True,
    ) -> BlockMask:
        """A BlockMask from its key-block lists; the query-block lists are derived from them
        (unless ``compute_q_blocks=False``). ``seq_lengths`` defaults to the padded grid."""
        if kv_indices.ndim < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided")
        bq, bkv = _block_size(BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * bq, kv_indices.shape[-1] * bkv)
        q_lists: list[Tensor | None] = [None] * 4
        if compute_q_blocks:
            device = kv_indices.device
            pairs = [(kv_num_blocks, kv_indices), (full_kv_num_blocks, full_kv_indices)]
            for i, (num, idx) in enumerate(pairs):
                if num is None:
                    continue
                grid = _from_ordered(num.numpy(), idx.numpy())
                q_num, q_idx = _ordered(np.swapaxes(grid, -1, -2))
                q_lists[2 * i] = tensor(q_num, device=device)
                q_lists[2 * i + 1] = tensor(q_idx, device=device)
        return cls(
            seq_lengths,
            kv_num_blocks,
            kv_indices,
            full_kv_num_blocks,
            full_kv_indices,
            *q_lists,
            BLOCK_SIZE=(bq, bkv),
            mask_mod=noop_mask if mask_mod is None else mask_mod,
        )

    @property
    def shape(self) -> tuple[int, ...]:
        """(*batch dims, Q_LEN, KV_LEN): the leading dims of the block lists, then the
        sequence lengths."""
        return tuple(self.kv_num_blocks.shape[:-1]) + self.seq_lengths

    def numel(self) -> int:
        """The number of (b, h, q, kv) pairs the mask covers, ignoring sparsity."""
        return math.prod(self.shape)

    def sparsity(self) -> float:
        """The percentage of the pairs that fall in blocks that are skipped."""
        blocks = int(self.kv_num_blocks.numpy().sum())
        if self.full_kv_num_blocks is not None:
            blocks += int(self.full_kv_num_blocks.numpy().sum())
        return 100 * (1 - blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1] / self.numel())

    def _dense_blocks(self) -> np.ndarray:
        grid = _from_ordered(self.kv_num_blocks.numpy(), self.kv_indices.numpy())
        if self.full_kv_num_blocks is not None:
            grid |= _from_ordered(self.full_kv_num_blocks.numpy(), self.full_kv_indices.numpy())
        return grid

    def to_dense(self) -> Tensor:
        """The (..., QB, KB) int32 grid: 1 for every block that is computed (partial or full)."""
        return tensor(self._dense_blocks().astype(np.int32), device=self.kv_num_blocks.device)

    def to_string(self, grid_size: int | tuple[int, int] = (20, 20), limit: int = 4) -> str:
        """A drawing of the block grid per batch/head: ``██`` computed, blank skipped; a grid
        larger than ``grid_size`` (``-1``: never) is shrunk, ``░░`` marking mixed cells."""
        dense = self._dense_blocks()
        rows, cols = dense.shape[-2:]
        if grid_size == -1:
            step_r = step_c = 1
        else:
            gr, gc = (grid_size, grid_size) if isinstance(grid_size, int) else grid_size
            step_r = 1 if rows <= gr else -(-rows // gr)
            step_c = 1 if cols <= gc else -(-cols // gc)
        pieces = []
        lead = list(np.ndindex(*dense.shape[:-2]))
        for count, pos in enumerate(lead):
            if count >= limit:
                break
            lines = []
            for r in range(0, rows, step_r):
                cells = []
                for c in range(0, cols, step_c):
                    frac = dense[pos][r : r + step_r, c : c + step_c].mean()
                    cells.append("██" if frac == 1 else "  " if frac == 0 else "░░")
                lines.append("".join(cells))
            pieces.append(f"{pos}\n" + "\n".join(lines) + "\n")
        text = "\n".join(pieces)
        if len(lead) > limit:
            text += "\n...\n" + _MORE
        return text

    def __str__(self) -> str:
        drawing = self.to_string().rstrip()
        return f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n{drawing}\n)"

    def _lists(self) -> tuple[Tensor | None, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __repr__(self) -> str:
        sizes = [f"{n}={'None' if t is None else t.shape}" for n, t in zip(_FIELDS, self._lists())]
        name = getattr(self.mask_mod, "__name__", repr(self.mask_mod))
        fields = sizes + [
            f"BLOCK_SIZE={self.BLOCK_SIZE}",
            f"shape={self.shape}",
            f"sparsity={self.sparsity():.2f}%",
            f"mask_mod={name}",
        ]
        return "BlockMask(\n" + ",\n".join(f"    {f}" for f in fields) + "\n)"

    def __getitem__(self, index: Any) -> BlockMask:
        """The BlockMask of some batches/heads/query-block rows (an integer keeps its dim).
        Its ``mask_mod`` raises: the indices it would receive no longer match."""
        parts = index if isinstance(index, tuple) else (index,)
        parts = tuple(
            slice(p, p + 1 if p != -1 else None) if isinstance(p, int) else p for p in parts
        )

        def pick(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[parts]

        full_num, full_idx = pick(self.full_kv_num_blocks), pick(self.full_kv_indices)
        return BlockMask.from_kv_blocks(
            pick(self.kv_num_blocks),
            pick(self.kv_indices),
            full_num,
            full_idx,
            BLOCK_SIZE=self.BLOCK_SIZE,
            mask_mod=_sliced_mask_mod_error,
            seq_lengths=self.seq_lengths,
            compute_q_blocks=self.q_indices is not None,
        )

    def to(self, device: Any) -> BlockMask:
        """A BlockMask with every tensor on ``device``."""
        moved = [None if t is None else t.to(device) for t in self._lists()]
        return BlockMask(
            self.seq_lengths, *moved, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod
        )

    def as_tuple(self, flatten: bool = True) -> tuple[Any, ...]:
        """The fields in PyTorch's order (sequence lengths, the eight block lists, four
        ``None`` dQ-ordering slots chainrule never fills, block size, mask_mod); ``flatten``
        spreads the two pairs into separate entries."""
        tensors = self._lists() + (None,) * 4
        if flatten:
            return (*self.seq_lengths, *tensors, *self.BLOCK_SIZE, self.mask_mod)
        return (self.seq_lengths, *tensors, self.BLOCK_SIZE, self.mask_mod)


def create_block_mask(
    mask_mod: Callable,
    B: int | None,
    H: int | None,
    Q_LEN: int,
    KV_LEN: int,
    device: Any = None,
    BLOCK_SIZE: int | tuple[int, int] = 128,
    _compile: bool = False,
    separate_full_blocks: bool = True,
    compute_dq_write_order: bool = False,
    dq_kv_order: bool = True,
) -> BlockMask:
    """The :class:`BlockMask` of ``mask_mod`` on (B, H, Q_LEN, KV_LEN) (``None`` B/H: 1).

    ``mask_mod`` is evaluated once on broadcast int32 index tensors. ``_compile`` (PyTorch
    compiles the evaluation), ``compute_dq_write_order`` and ``dq_kv_order`` (metadata for a
    deterministic fused GPU backward) change nothing chainrule computes and are accepted for
    portability; ``separate_full_blocks=False`` lists every computed block as partial.
    """
    if _n_positional(mask_mod) != 4:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    B, H = B or 1, H or 1
    bq, bkv = _block_size(BLOCK_SIZE)
    mask = dense_mask(mask_mod, B, H, Q_LEN, KV_LEN, device).numpy()
    qb, kb = -(-Q_LEN // bq), -(-KV_LEN // bkv)
    padded = np.zeros((B, H, qb * bq, kb * bkv), dtype=bool)
    padded[..., :Q_LEN, :KV_LEN] = mask
    tiles = padded.reshape(B, H, qb, bq, kb, bkv)
    any_ = tiles.any(axis=(3, 5))
    full = tiles.all(axis=(3, 5))
    num, idx = _ordered(any_ & ~full if separate_full_blocks else any_)
    kv = [tensor(num, device=device), tensor(idx, device=device)]
    if separate_full_blocks:
        fnum, fidx = _ordered(full)
        kv += [tensor(fnum, device=device), tensor(fidx, device=device)]
    else:
        kv += [None, None]
    return BlockMask.from_kv_blocks(
        *kv, BLOCK_SIZE=(bq, bkv), mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN)
    )
