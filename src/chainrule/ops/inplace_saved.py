"""What an in-place op's own node saved, made right after the write: the old value of the
tensor written into (PyTorch's ``original_self``), a saved result that now lives in that
tensor (guarded by its version counter), and a written view's re-taken alias.

An in-place op computes its result out of place and copies it into ``x``
(:func:`.inplace.apply_inplace`); the node that computed it saved ``x`` or its result as an
out-of-place op would. These functions rewrite the node's saved values so that its backward
sees what PyTorch's would: the value before the write, or the written tensor itself, so that
a later in-place change makes the backward raise instead of silently reading stale data.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import _SavedCopy, keep_private_copies, repack_private_copy
from ..autograd.saved import SavedConstant, SavedInput, SavedOutput, SavedPacked
from ..autograd.tensor import Tensor

__all__ = ["guard_saved_result", "keep_old_self", "save_written_view"]


def keep_old_self(node: Any, x: Tensor, overlapping: bool = False) -> None:
    """The in-place op's own node saved ``x`` (or a view of its memory), which is about to be
    overwritten: keep a copy of the old value instead, as PyTorch saves ``original_self``
    (``y.mul_(w)`` with ``w`` requiring grad needs the old ``y`` for ``w``'s gradient).
    ``overlapping``: the op computed from ``overlapping_write_input(x)``, whose history has
    the gradient of the write; PyTorch's ``original_self`` is a clone of ``x`` with ``x``'s
    own history (the gradients of elements sharing a location summed), which a double
    backward differentiates through, so the copy is taken of ``x`` itself."""
    if overlapping:
        copy = None
        entries = []
        for e in node._saved_values:
            if type(e) is SavedInput and e.tensor._vc is x._vc:
                if copy is None:
                    copy = _SavedCopy.apply(x)  # (the copy keep_private_copies takes)
                e = SavedInput(copy, 0, e.position)
            entries.append(e)
        node._saved_values = tuple(entries)
    keep_private_copies(node, lambda t: t._vc is x._vc)
    node._saved_values = tuple(
        _private_copy(node, e) if getattr(e, "version_counter", None) is x._vc else e
        for e in node._saved_values
    )


def guard_saved_result(node: Any, out: Tensor, x: Tensor) -> None:
    """The in-place op's node saved its result ``out`` (``exp_``, ``sigmoid_``, ``relu_``
    save their output), whose value now lives in ``x``: guard it with ``x``'s version counter
    at its new version, so that changing ``x`` in place again makes the backward raise, as
    PyTorch's does (the result it saved is ``x`` itself), instead of silently reading the
    private result array. The saved array becomes ``x``'s memory (same values), so the
    result is not kept twice (PyTorch saves ``x`` itself)."""
    vc, version, data = x._vc, x._vc[0], x._data
    node._saved_values = tuple(
        _saved_in(e, data)._replace(version_counter=vc, version=version)
        if getattr(e, "version_counter", None) is out._vc
        else e
        for e in node._saved_values
    )
    raw, old = node._saved, out._data
    if raw and any(v is old for v in raw) and _same_array_kind(old, data):
        node._saved = tuple(data if v is old else v for v in raw)  # (the rules' raw arrays)


def save_written_view(node: Any, x: Tensor) -> None:
    """The in-place op on ``x``, a view whose elements overlap in memory, saved its result
    (``sigmoid_``, ``exp_``): as PyTorch's (a result saved in place on a view is unpacked
    with the view's history after the write, ``AsStridedBackward0`` over the base's
    ``CopySlices``), the saved result is ``x`` as re-taken then, so that a double backward
    sums the gradients of the elements sharing a location before the write's rule (the
    node's own history would keep them apart). Holding it makes a reference cycle through
    the node, left to the cycle collector (this case only)."""
    vc = x._vc
    alias = Tensor._make(x._data, True, x._grad_fn, x._output_nr)
    alias._vc = vc
    node._saved_values = tuple(
        SavedInput(alias, vc[0]) if type(e) is SavedOutput and e.version_counter is vc else e
        for e in node._saved_values
    )


def _saved_in(entry: Any, data: Any) -> Any:
    """A saved result read from ``data`` (the tensor it was written into) when it is the
    same array layout-free (shape and dtype): no second copy of the result stays alive."""
    if type(entry) is SavedOutput and _same_array_kind(entry.array, data):
        return entry._replace(array=data)
    return entry


def _same_array_kind(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype


def _private_copy(node: Any, entry: Any) -> Any:
    """A copy of a saved value guarded by the overwritten tensor's counter: a constant's
    array, or (inside ``saved_tensors_hooks``) a packed value, unpacked, copied, repacked."""
    if type(entry) is SavedPacked:
        return repack_private_copy(node, entry)
    if type(entry) is SavedConstant:
        return SavedConstant(entry.value.copy())
    return entry
