"""``grad_fn._saved_self`` / ``_saved_result`` and ``_raw_saved_*``: PyTorch's view of what a
node saved for its backward, by name.

PyTorch names a node's saved values after the arguments of its op (``self``, ``other``,
``mat2``, ...) and ``result`` for its output; ``_saved_<name>`` unpacks one (the input tensor
itself, or a new tensor for an output) and ``_raw_saved_<name>`` is the :class:`SavedTensor`
record, whose ``register_hooks(pack, unpack)`` packs that one value (the per-tensor form of
``saved_tensors_hooks``). chainrule names an input by its position among the op's
arguments: ``self``, ``other`` by default, or the Function's ``saved_input_names``; its
outputs ``result`` (``result1``, ... for more). Ops save what their rules need, which is
PyTorch's choice for the common ones (``exp`` its result, ``sin`` its input, ``mul`` both
inputs); other names do not exist (AttributeError), as in PyTorch. A name the Function
declares in ``saved_input_names`` but did not save this time (mm's ``mat2`` when only
``mat2`` needs a gradient) reads as None, as PyTorch's unfilled slots do.
"""

from __future__ import annotations

from typing import Any

from .saved import SavedInput, SavedOutput, SavedPacked, pack

__all__ = ["SavedTensor", "saved_index"]

_DEFAULT_NAMES = ("self", "other")


def saved_index(node: Any, name: str) -> int | None:
    """The position in ``node``'s saved values of the one PyTorch would call ``name``."""
    names = getattr(node._forward_cls, "saved_input_names", _DEFAULT_NAMES)
    for i, e in enumerate(node._saved_values or ()):
        kind = type(e)
        role = e.role if kind is SavedPacked else None
        if kind is SavedOutput or role == "output":
            nr = e.index if kind is SavedOutput else e.link
            if name == ("result" if nr == 0 else f"result{nr}"):
                return i
        elif kind is SavedInput or role == "input":
            if 0 <= e.position < len(names) and names[e.position] == name:
                return i
    return None


class SavedTensor:
    """One saved value of a node (PyTorch's ``torch._C._autograd.SavedTensor``)."""

    def __init__(self, node: Any, index: int) -> None:
        self._node, self._index = node, index

    def unpack(self) -> Any:
        """The value, as ``grad_fn._saved_<name>`` gives it."""
        return self._node.saved_tensor(self._index)

    def register_hooks(self, pack_hook: Any, unpack_hook: Any) -> None:
        """Pack this value now with ``pack_hook`` and unpack it with ``unpack_hook`` whenever
        it is read (the backward included), as ``saved_tensors_hooks`` does for all.

        Raises:
            RuntimeError: hooks were set on it already (one pair only, as PyTorch).
            TypeError: a hook that is not callable.
        """
        for label, hook in (("pack_hook", pack_hook), ("unpack_hook", unpack_hook)):
            if not callable(hook):
                raise TypeError(f"register_hooks: {label} must be callable")
        node = self._node
        if node._freed:
            node._raise_freed()
        entries = list(node._saved_values)
        entry = entries[self._index]
        if type(entry) is SavedPacked:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor whose hooks have already been set. "
                "Hint: only one pair of hooks is allowed at a time."
            )
        node.saved_tensor(self._index)  # raises if it was modified in place since
        results = {}
        if type(entry) is SavedOutput:
            results[entry.index] = node._output_tensor(entry.array, entry.index)
        entries[self._index] = pack(entry, pack_hook, unpack_hook, node, results)
        node._saved_values = tuple(entries)
        node._saved = None  # the raw values: only through the entries now
