"""``AccumulateGrad``: how a leaf tensor appears in ``grad_fn.next_functions``.

PyTorch gives every leaf that requires grad a graph node, ``AccumulateGrad``, which writes the
gradient into the leaf's ``.grad``; walking ``next_functions`` from a loss ends at these nodes,
and ``node.variable`` is the leaf. chainrule's engine has no such node (an edge holds the
leaf tensor itself and the engine writes ``.grad`` directly), so this class is its public
view: one object per leaf, built the first time a walk meets the leaf and kept while the leaf
lives, so that ``a.grad_fn.next_functions[0][0] is b.grad_fn.next_functions[0][0]`` holds for
two ops on the same leaf, as in PyTorch. Its pre and post hooks are real: the engine runs
them around writing ``.grad`` (``engine._write_leaf``, through :data:`HOOKED`).

``Tensor`` has fixed slots, so the objects are kept here by the tensor's ``id``; a
``weakref.finalize`` drops the entry when the tensor dies (before its ``id`` can be reused).
The object holds the leaf through a weak reference: the leaf keeps its view alive, not the
other way round.

The version helpers below give ``.grad`` the version PyTorch's would have after backward sums
or copies into it (``leaf_grad.accumulate_grad`` calls them).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .hooks import _checked as checked_hook_result  # (node hooks' checks)
from .tensor import Tensor
from .tensor_backward import _RemovableHandle

__all__ = [
    "HOOKED",
    "AccumulateGrad",
    "accumulate_grad_node",
    "relaid_version",
    "summed_version",
]

_NODES: dict[int, AccumulateGrad] = {}
# id(leaf) -> its node, for leaves whose node has hooks: the engine reads it when it writes a
# leaf's .grad (empty, and so skipped, unless someone registered such a hook)
HOOKED: dict[int, AccumulateGrad] = {}


class AccumulateGrad:
    """The graph node of a leaf tensor that requires grad (PyTorch's ``AccumulateGrad``).

    Attributes:
        next_functions: always ``()``: a leaf is where backward ends.
    """

    __slots__ = ("_leaf", "_metadata", "_pre", "_post", "__weakref__")
    next_functions: tuple = ()

    def __init__(self, leaf: Tensor) -> None:
        self._leaf = weakref.ref(leaf)
        self._pre: list = []
        self._post: list = []

    @property
    def variable(self) -> Tensor:
        """The leaf tensor whose ``.grad`` this node fills."""
        leaf = self._leaf()
        if leaf is None:  # only reachable by keeping this object after the leaf died
            raise RuntimeError("AccumulateGrad.variable: the leaf tensor no longer exists")
        return leaf

    def name(self) -> str:
        """PyTorch's name for the node: ``'torch::autograd::AccumulateGrad'``."""
        return "torch::autograd::AccumulateGrad"

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node (empty at first), as
        PyTorch's ``Node.metadata``."""
        try:
            return self._metadata
        except AttributeError:
            self._metadata = {}
            return self._metadata

    def register_hook(self, hook: Callable) -> Any:
        """Call ``hook(grad_inputs, grad_outputs)`` after the leaf's ``.grad`` was written:
        ``grad_inputs`` is ``()`` (a leaf has no inputs), ``grad_outputs`` the gradient that
        was added; the hook must return None (PyTorch's ``AccumulateGrad`` post hook)."""
        return self._add(self._post, hook, "register_hook")

    def register_prehook(self, hook: Callable) -> Any:
        """Call ``hook(grad_outputs)`` before the gradient is added into ``.grad`` (after the
        leaf's tensor hooks); a returned tuple replaces it (PyTorch's pre hook)."""
        return self._add(self._pre, hook, "register_prehook")

    def _add(self, hooks: list, hook: Callable, where: str) -> _RemovableHandle:
        if not callable(hook):
            raise TypeError(f"AccumulateGrad.{where}: expected a callable, got {hook!r}")
        leaf = self.variable
        key = id(leaf)
        if HOOKED.get(key) is not self:
            HOOKED[key] = self
            weakref.finalize(leaf, HOOKED.pop, key, None)
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def run_prehooks(self, g: Tensor) -> Tensor | None:
        """The gradient after the pre hooks (each may return a replacement tuple), checked
        as PyTorch checks a node pre hook's result: a tuple of one gradient of the same size
        and dtype (its words: "expected tuple", "has returned an incorrect number of values",
        "has changed the size of value" / "the type of value"); None where a hook returned
        ``(None,)`` (PyTorch then accumulates nothing)."""
        for hook in tuple(self._pre):
            out = hook((g,))
            if out is not None:
                if g is None:  # an earlier hook dropped it: nothing to compare with
                    g = out[0] if isinstance(out, tuple) and len(out) == 1 else g
                    continue
                g = checked_hook_result(hook, self, (g,), out, "output")[0]
        return g

    def run_posthooks(self, g: Tensor) -> None:
        """Call the post hooks with the gradient that was added (they return nothing)."""
        for hook in tuple(self._post):
            out = hook((), (g,))
            if out is not None and len(out):
                name = getattr(hook, "__name__", type(hook).__name__)
                raise RuntimeError(
                    f"hook '{name}' has returned an incorrect number of values (got "
                    f"{len(out)}, but expected 0)"
                )

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def accumulate_grad_node(leaf: Tensor) -> AccumulateGrad:
    """The one :class:`AccumulateGrad` of ``leaf`` (made on first use, kept while it lives)."""
    key = id(leaf)
    node = _NODES.get(key)
    if node is None or node._leaf() is not leaf:
        node = _NODES[key] = AccumulateGrad(leaf)
        weakref.finalize(leaf, _NODES.pop, key, None)
    return node


# ``.grad``'s version counter as PyTorch's (session 40). PyTorch's engine sums the gradients a
# leaf receives in its input buffer, in place when it holds the only reference to a dense
# tensor (``old.add_(new)``: the version moves by one), and its AccumulateGrad takes the sum
# as ``.grad`` when it may (the version shows), else copies it into the leaf's layout
# (``new_empty_strided(...).copy_(grad)``: version 1). chainrule's engine sums out of place
# and copies where PyTorch's would; these give the result the version PyTorch's would have.


def summed_version(old: Tensor, new: Tensor, out: Tensor) -> None:
    """``out = old + new``, two gradients of one leaf summed during backward (not
    differentiably): ``out`` takes ``old``'s version plus one where PyTorch's input buffer
    adds in place -- ``old`` a fresh dense array that nothing else holds (not the caller's:
    those are views or shared), not the very gradient added -- else keeps version 0 (PyTorch's
    out-of-place ``old + new``, a sum's expanded gradient for one)."""
    a = old._data
    if (
        type(a) is np.ndarray
        and a.base is None
        and a.flags.owndata
        and a is not new._data
        and type(out) is Tensor
    ):
        out._vc[0] = old._vc[0] + 1


def relaid_version(leaf: object) -> int:
    """The version of a leaf's first ``.grad`` copied into another layout: 1 when the leaf
    is dense (PyTorch's ``new_empty_strided(...).copy_(grad)``), 0 when it is not (PyTorch's
    ``grad.clone()``)."""
    flags = getattr(leaf, "flags", None)
    if flags is None or flags.c_contiguous or flags.f_contiguous:
        return 1
    strides, shape = getattr(leaf, "strides", ()), getattr(leaf, "shape", ())
    dims = sorted((abs(st), n) for st, n in zip(strides, shape) if n > 1)
    expected = getattr(leaf, "itemsize", 1)
    for st, n in dims:  # dense: the dims, smallest stride first, tile the memory exactly
        if st != expected:
            return 0
        expected *= n
    return 1
