"""What a node keeps for its backward: one small typed record per saved value.

``ctx.save_for_backward(...)`` values are classified once, when the node is linked:

* :class:`SavedInput` -- an input tensor, with its version at save time;
* :class:`SavedOutput` -- one of the node's own outputs (only the array and the output's
  version counter are kept: holding the Tensor would make a reference cycle);
* :class:`SavedConstant` -- anything else; when it is a view of an input or output (shares its
  memory) it carries that tensor's version counter, so an in-place change is still caught.

``ctx.saved_tensors`` checks every version before handing the values to the backward rule.

Inside ``autograd.graph.saved_tensors_hooks(pack, unpack)`` every saved array is handed to
``pack`` once it is classified, and the node keeps only a :class:`SavedPacked` record: what
``pack`` returned, the ``unpack`` hook, and how to reconnect the unpacked tensor to the graph.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import numpy as np

from .state import LOCAL
from .tensor import Tensor

__all__ = [
    "SavedInput",
    "SavedOutput",
    "SavedConstant",
    "SavedPacked",
    "classify",
    "memory_root",
    "pack",
    "raw_value",
]


class SavedInput(NamedTuple):
    """A saved input tensor, its version at save time (checked on unpack) and its position
    among the op's arguments (-1: unknown), which names it (``grad_fn._saved_self``)."""

    tensor: Tensor
    version: int
    position: int = -1


class SavedOutput(NamedTuple):
    """A saved output of the node itself. Only the array is kept (a Tensor would hold the
    node and make a reference cycle); unpacking rebuilds a Tensor whose ``grad_fn`` is the
    node, after checking the output's version counter."""

    index: int
    array: Any
    version_counter: list
    version: int


class SavedConstant(NamedTuple):
    """Any other saved value (an intermediate array, a number). If the array is a view of an
    input or output (shares its memory), ``version_counter``/``version`` guard it against
    in-place modification of that tensor; otherwise they are None."""

    value: Any
    version_counter: list | None = None
    version: int | None = None


class SavedPacked(NamedTuple):
    """A saved array handed to a ``saved_tensors_hooks`` pack hook; only what the hook
    returned is kept (with the version guard's counter, not the array).

    Attributes:
        packed: what ``pack_hook`` returned.
        unpack_hook: called on ``packed`` when the backward reads the value.
        role: ``"input"``, ``"output"`` or ``"constant"``: how the unpacked tensor rejoins
            the graph.
        link: for an input that requires grad, its graph position: the leaf Tensor itself
            (kept alive by the node's edge anyway) or ``(grad_fn, output_nr)``; for an
            output, its index among the node's outputs; else None.
        version_counter / version: the guard of the memory the value was read from (None
            when unguarded).
        memory: a weak reference to that memory's owner, to tell whether the unpacked tensor
            still reads it (only then can an in-place change make the gradient wrong).
        shape / dtype: the saved tensor's, which the unpacked tensor must have.
        position: an input's position among the op's arguments (-1 otherwise).
    """

    packed: Any
    unpack_hook: Any
    role: str
    link: Any
    version_counter: list | None
    version: int | None
    memory: Any
    shape: tuple
    dtype: Any
    position: int = -1


def pack(entry: Any, pack_hook: Any, unpack_hook: Any, node: Any, results: list) -> Any:
    """``entry`` (a classified saved value of ``node``) as a :class:`SavedPacked` record,
    after calling ``pack_hook`` on it as a Tensor: an input as the input tensor itself, an
    output as the node's output tensor, an intermediate array as a new tensor (as PyTorch
    passes them). Numbers and None are not tensors and stay as they are. The thread's
    saved-tensor hooks are off while ``pack_hook`` runs, so what it computes is not packed
    again (as in PyTorch)."""
    kind = type(entry)
    if kind is SavedInput:
        tensor = entry.tensor
        if not tensor.requires_grad:
            link = None
        elif tensor.grad_fn is None:
            link = tensor
        else:
            link = (tensor.grad_fn, tensor._output_nr)
        role, vc, version = "input", tensor._vc, entry.version
    elif kind is SavedOutput:
        tensor = results[entry.index]
        role, link, vc, version = "output", entry.index, entry.version_counter, entry.version
    elif kind is SavedConstant and hasattr(entry.value, "shape"):
        value = entry.value  # (a sparse tensor is saved whole: see classify)
        tensor = value if isinstance(value, Tensor) else Tensor._make(value, False, None, 0)
        role, link, vc, version = "constant", None, entry.version_counter, entry.version
    else:
        return entry
    data = tensor._data
    try:
        memory = weakref.ref(memory_root(data))
    except TypeError:  # an array type without weak references: no in-place guard
        memory = None
    state = LOCAL.state
    hooks, state.saved_hooks = state.saved_hooks, None
    try:
        packed = pack_hook(tensor)
    finally:
        state.saved_hooks = hooks
    position = entry.position if kind is SavedInput else -1
    return SavedPacked(
        packed, unpack_hook, role, link, vc, version, memory, data.shape, data.dtype, position
    )


def classify(s: Any, args: tuple, outs: tuple, results: list, raw_outs: tuple) -> Any:
    """Classify one saved value: an input, an output, or a constant (version-guarded when it
    is a view of an input or output, so in-place changes to that tensor are caught)."""
    if s is None:
        return None
    sd = s._data if isinstance(s, Tensor) else s
    for p, a in enumerate(args):
        if isinstance(a, Tensor) and (a is s or a._data is sd):
            return SavedInput(a, a._vc[0], p)
    for i, o in enumerate(outs):
        if o is sd or raw_outs[i] is sd:
            vc = results[i]._vc
            return SavedOutput(i, o, vc, vc[0])
    if isinstance(s, Tensor):  # read by the rule but passed as a parameter (an index, a mask,
        # a weight): guarded by its own version counter, so an in-place change raises
        if type(sd) is not np.ndarray and type(s) is not Tensor and s.is_sparse:
            return SavedConstant(s, s._vc, s._vc[0])  # no dense array: kept whole
        return SavedConstant(sd, s._vc, s._vc[0])
    if isinstance(sd, np.generic):
        return SavedConstant(np.asarray(sd))
    if hasattr(sd, "shape"):  # an array: is it (a view of) an input's or output's memory?
        root = memory_root(sd)
        for i, o in enumerate(outs):
            if memory_root(o) is root:
                vc = results[i]._vc
                return SavedConstant(sd, vc, vc[0])
        for a in args:
            if isinstance(a, Tensor) and memory_root(a._data) is root:
                return SavedConstant(sd, a._vc, a._vc[0])
    return SavedConstant(sd)


def memory_root(arr: Any) -> Any:
    """The array that owns ``arr``'s memory (NumPy/CuPy keep ``base`` pointing at it)."""
    base = getattr(arr, "base", None)
    while base is not None and getattr(base, "base", None) is not None:
        base = base.base
    return arr if base is None else base


def raw_value(entry: Any) -> Any:
    """The raw value of a saved entry that is not packed."""
    kind = type(entry)
    if kind is SavedConstant:
        return entry.value
    if kind is SavedInput:
        return entry.tensor._data
    if kind is SavedOutput:
        return entry.array
    return entry
