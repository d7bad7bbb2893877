"""PyTorch's refusal of an in-place op writing per-sample values into a tensor that the vmap
level batching them does not batch (``x.add_(y)``, ``y`` batched, ``x`` not), in each op's
own words.

chainrule computes an in-place op out of place and then copies the result into the target's
array (``ops/inplace.py``); under vmap that copy of a batched result into a plain array is
where the refusal is raised (:class:`UnbatchedWrite`, from ``_logical.LogicalArray``), before
the op's name is known. ``apply_inplace`` then asks it for the op's words
(:meth:`UnbatchedWrite.for_inplace_op`). PyTorch words it three ways, by how the op is
batched there:

* its binary-op batching rule (``sub_``, ``mul_``, ``div_``, ``copy_``, ...): "inplace
  arithmetic ... in a vmap" (the default, :data:`~._logical.INPLACE_UNBATCHED`); the ops
  whose own rule checks ``self`` (``index_add_``, ``scatter_add_``, ...) name themselves;
* its in-place fallback (``lerp_``, ``pow_``, ``addcmul_``, comparisons, ...): the same text
  naming ``aten::<op>`` and the level number (one per transform entered, grad ones too);
* ``add_``, ``atan2_``, ``copysign_``, which run on the physical tensors: the broadcast error of
  a ``self`` without the batch dims the result has.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UnbatchedWrite", "unbatched_write"]

_INPLACE_TEXT = (
    "vmap: {op}(self, *extra_args) is not possible because there exists a Tensor `other` in "
    "extra_args that has more elements than `self`. This happened due to `other` being "
    "vmapped over but `self` not being vmapped over {where}. Please try to use "
    "out-of-place operators instead of {op}. If said operator is being called inside the "
    "PyTorch framework, please file a bug report instead."
)

# ops PyTorch batches on the physical tensors: its broadcast error (the result's batch dims)
_BROADCAST_WORDS = frozenset({"add_", "atan2_", "copysign_"})
# ops whose PyTorch batching rule checks ``self`` itself: the op's name, "in a vmap"
_NAMED_WORDS = frozenset(
    {"fill_", "index_add_", "index_fill_", "index_put_", "scatter_add_", "scatter_reduce_"}
)
# ops PyTorch runs through its in-place fallback: ``aten::<op>`` at a level number
_ATEN_WORDS = frozenset(
    {
        "addcdiv_",
        "addcmul_",
        "clamp_",
        "embedding_renorm_",
        "eq_",
        "float_power_",
        "floor_divide_",
        "fmod_",
        "ge_",
        "gt_",
        "heaviside_",
        "hypot_",
        "igamma_",
        "igammac_",
        "index_copy_",
        "ldexp_",
        "le_",
        "lerp_",
        "lt_",
        "masked_fill_",
        "masked_scatter_",
        "ne_",
        "nextafter_",
        "pow_",
        "put_",
        "remainder_",
        "scatter_",
        "xlogy_",
    }
)


class UnbatchedWrite(RuntimeError):
    """Per-sample values written into an unbatched tensor of ``shape`` under vmap ``levels``
    (outermost first; those batching the values). Its text is PyTorch's binary-op words until
    :meth:`for_inplace_op` names the op."""

    def __init__(self, shape: tuple, levels: tuple, broadcast: tuple | None = None) -> None:  # noqa: D107
        super().__init__(_INPLACE_TEXT.format(op="inplace arithmetic", where="in a vmap"))
        self.shape, self.levels = tuple(shape), tuple(levels)
        # (target's shape, broadcast shape) of the broadcast words, where the target is
        # batched too (``_logical._unbatched_write``); else the levels' sizes and ``shape``
        self.broadcast = broadcast

    def for_inplace_op(self, name: str, args: tuple = ()) -> RuntimeError:
        """The refusal in PyTorch's words for the in-place op ``name`` (e.g. ``"lerp_"``)
        called with the arguments ``args`` after ``self``."""
        if name == "masked_fill_" and not (len(args) > 1 and hasattr(args[1], "_data")):
            name = "masked_fill_.Scalar"  # a number: PyTorch's own rule, the default words
        if name in _BROADCAST_WORDS:
            mine, full = self.broadcast or (
                list(self.shape),
                [*(lv.size for lv in self.levels), *self.shape],
            )
            return RuntimeError(
                f"output with shape {mine} doesn't match the broadcast shape {full}"
            )
        if name in _ATEN_WORDS:
            return RuntimeError(
                _INPLACE_TEXT.format(op=f"aten::{name}", where=f"at level {_number(self.levels)}")
            )
        op = name if name in _NAMED_WORDS else "inplace arithmetic"
        return RuntimeError(_INPLACE_TEXT.format(op=op, where="in a vmap"))  # (not a subclass)


def unbatched_write(name: str, target: Any, value: Any) -> RuntimeError | None:
    """PyTorch's refusal (None: none) of the in-place op ``name`` writing into the raw array
    ``target`` what depends on the raw array ``value``, where a vmap level batches ``value``
    and not ``target``: for ops whose kernel reads ``value`` directly (``embedding_renorm_``'s
    indices) rather than through an out-of-place result copied back."""
    own = _levels(target)
    missing = tuple(lv for lv in _levels(value) if not any(lv is o for o in own))
    if not missing:
        return None
    return UnbatchedWrite(tuple(target.shape), missing).for_inplace_op(name)


def _levels(arr: Any) -> tuple:
    """The vmap levels batching the raw array ``arr`` (outermost first; none for a plain
    array or a batch-less meta array)."""
    level = getattr(arr, "level", None) if getattr(type(arr), "vmap_raw_array", False) else None
    return () if level is None else getattr(level, "levels", (level,))


def _number(levels: tuple) -> int:
    """PyTorch's number of the innermost level: one per transform entered before it (vmap
    levels and grad transforms)."""
    inner: Any = levels[-1]
    return inner.id + getattr(inner, "grads", 0)
