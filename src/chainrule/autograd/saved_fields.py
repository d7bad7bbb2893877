"""PyTorch's ``grad_fn._saved_<name>`` view of a graph node: what each op's node saved, by
PyTorch's names (``y.grad_fn._saved_exponent``, ``_saved_self is x``), and the names
``dir(grad_fn)`` lists (torchviz's ``make_dot(show_saved=True)`` walks them). Read only when
someone asks (``Node.__getattr__`` / ``Node.__dir__``): recording an op pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as _np

from .saved import SavedInput, SavedOutput, SavedPacked, raw_value
from .saved_view import SavedTensor
from .tensor import Tensor

if TYPE_CHECKING:
    from .node import Node

__all__ = [
    "REDUCTION_ENUM",
    "as_uint64",
    "given",
    "given_dim",
    "given_dims",
    "given_value",
    "input_shape",
    "input_strides",
    "input_tensor",
    "product_fields",
    "saved_attribute_names",
    "saved_fields",
    "saved_number",
    "tensor_field",
]


# ---------------------------------------------------------------------------------------
# PyTorch's ``grad_fn._saved_<name>`` view (``y.grad_fn._saved_exponent``, ``_saved_self is
# x``; torchviz's ``make_dot(show_saved=True)`` lists ``dir(grad_fn)``'s ``_saved_`` names).
#
# A Function declares PyTorch's saved names for its node in a ``saved_fields`` class
# attribute: a dict, or a function of the node returning one (the names depend on the call:
# ``PowBackward0`` / ``PowBackward1``), or None (the default below). Each value is one of:
#
# * an int ``i``: the ``i``-th value the op passed to ``save_for_backward``, as a tensor (an
#   input is the input tensor itself, an output a new tensor of this node; a Python number
#   a 0-d tensor, as PyTorch wraps it; None where nothing was saved there), with its
#   ``_raw_saved_<name>`` record;
# * ``(i, fn)``: the same tensor handed to ``fn(node, tensor)`` (``weight.t()`` where
#   PyTorch saved the transposed weight);
# * a function of the node: a non-tensor value (sizes, dims, flags), computed on access,
#   still readable after backward freed the saved tensors (as PyTorch's); wrapped by
#   :func:`tensor_field` when it returns a tensor (listed with a ``_raw_saved_`` record).
#
# Arguments PyTorch's node shows as the caller gave them (``dim=-1`` as ``2**64 - 1``, a
# stride left out as ``()``) are kept by the op's wrapper with :func:`given` (one dict write
# on the node) and read back with :func:`given_dim` / :func:`given_value`. After backward,
# a slot the op left empty reads None (:func:`_empty_slot`), as PyTorch's.
#
# Nothing is computed while recording: these are read only when someone asks. Without a
# declaration, inputs are named by position (``self``, ``other`` or the Function's
# ``saved_input_names``) and outputs ``result``, ``result1``... (:mod:`.saved_view`).
# ---------------------------------------------------------------------------------------

_ENGINE_SAVED = frozenset({"_saved_values", "_saved_fw"})
_UINT64 = 1 << 64

# PyTorch's reduction enum, as ``_saved_reduction`` shows it
REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}


def saved_fields(node: Node) -> dict | None:
    """The node's declared ``{name: spec}`` (see above), or None: the default naming."""
    spec = getattr(node._forward_cls, "saved_fields", None)
    if spec is None or type(spec) is dict:
        return spec
    return spec(node)


def saved_attribute_names(node: Node) -> list[str]:
    """The ``_saved_<name>`` and ``_raw_saved_<name>`` attributes ``dir(node)`` lists."""
    fields = saved_fields(node)
    if fields is None:
        keys = _default_names(node)
        return [f"_saved_{k}" for k in keys] + [f"_raw_saved_{k}" for k in keys]
    out = [f"_saved_{k}" for k in fields]
    return out + [f"_raw_saved_{k}" for k, v in fields.items() if _is_tensor_spec(v)]


def _default_names(node: Node) -> list[str]:
    """The names :func:`saved_index` resolves for what ``node`` saved (the default)."""
    names = getattr(node._forward_cls, "saved_input_names", ("self", "other"))
    out = [n for n in names if hasattr(node._forward_cls, "saved_input_names")]
    for e in node._saved_values or ():
        kind = type(e)
        role = e.role if kind is SavedPacked else None
        if kind is SavedOutput or role == "output":
            nr = e.index if kind is SavedOutput else e.link
            out.append("result" if nr == 0 else f"result{nr}")
        elif kind is SavedInput or role == "input":
            if 0 <= e.position < len(names):
                out.append(names[e.position])
    return list(dict.fromkeys(out))


def tensor_field(fn: Callable) -> Callable:
    """Mark ``fn(node)`` as giving a tensor (PyTorch lists a ``_raw_saved_`` record too)."""
    fn.saved_tensor_field = True
    return fn


def _is_tensor_spec(spec: Any) -> bool:
    kind = type(spec)
    return kind is int or kind is tuple or getattr(spec, "saved_tensor_field", False)


def _empty_slot(node: Node, i: int) -> bool:
    """Whether saved value ``i`` of a node whose saved values were freed held nothing (an
    elementwise op saves only what the needed derivatives read: ``x * 2`` no ``x``; an
    optional input left out, as a Function's ``saved_optional_inputs`` ``{saved index:
    input position}`` declares). Such a slot reads None after backward too, as PyTorch's
    undefined saved tensors do."""
    optional = getattr(node._forward_cls, "saved_optional_inputs", None)
    if optional is not None and i in optional:  # saved value i is input optional[i], or None
        pos, meta = optional[i], node.input_meta
        return pos >= len(meta) or meta[pos] is None
    plan = getattr(node._forward_cls, "_save_plan", None)
    needs = node.needs_input_grad
    if plan is None or len(needs) != 2 or i > 2:
        return False
    keep = plan[2 * bool(needs[0]) + bool(needs[1])]
    return keep is None or not keep[i]


def _spec_index(spec: Any) -> int | None:
    kind = type(spec)
    return spec if kind is int else spec[0] if kind is tuple else None


def _tensor_field(node: Node, spec: Any) -> Any:
    """The tensor a tensor ``spec`` names (None where nothing was saved there); after
    backward freed the node, None for a slot that held nothing, else PyTorch's error."""
    if node._freed:
        i = _spec_index(spec)
        if i is not None and _empty_slot(node, i):
            return None
        node._raise_freed()
    if callable(spec):
        return spec(node)
    i, fn = spec if type(spec) is tuple else (spec, None)
    entries = node._saved_values
    if entries is None or i >= len(entries) or entries[i] is None:
        return None
    value = node.saved_tensor(i)
    if value is not None and not isinstance(value, Tensor):  # a number: a 0-d tensor
        value = Tensor._make(_np.asarray(value), False, None, 0)
    return value if fn is None or value is None else fn(node, value)


def _raw_field(node: Node, spec: Any) -> Any:
    """``_raw_saved_<name>``: the saved value's record (register_hooks on it); after
    backward freed the node, a record unpacking None for a slot that held nothing (as
    PyTorch's undefined saved tensors), else PyTorch's error."""
    i = _spec_index(spec)
    if node._freed:
        if i is None or not _empty_slot(node, i):
            node._raise_freed()
    elif i is not None and node._saved_values is not None and i < len(node._saved_values):
        return SavedTensor(node, i)
    return _ComputedSaved(node, spec)


class _ComputedSaved:
    """``_raw_saved_<name>`` of a tensor PyTorch saved that this node computes on access."""

    def __init__(self, node: Node, spec: Any) -> None:
        self._node, self._spec = node, spec

    def unpack(self) -> Any:
        return _tensor_field(self._node, self._spec)

    def register_hooks(self, pack_hook: Any, unpack_hook: Any) -> None:
        raise RuntimeError(
            f"{self._node.name()}: this saved value is computed from what the op kept, so "
            "hooks cannot be registered on it; use autograd.graph.saved_tensors_hooks"
        )


def saved_number(node: Node, i: int) -> Any:
    """Saved value ``i`` as the Python number the op was called with (``x ** 2``'s ``2``)."""
    if node._freed:
        node._raise_freed()
    v = raw_value(node._saved_values[i])
    return v.item() if getattr(v, "ndim", None) == 0 else v


_NOTHING_GIVEN: dict = {}


def given(out: Any, **args: Any) -> Any:
    """Keep arguments as the caller gave them on ``out``'s node (a negative dim, a stride
    left out), for the ``_saved_`` fields that show them so; returns ``out``."""
    fn = getattr(out, "_grad_fn", None)  # (the slot: out was just made, never stale)
    if fn is not None:  # one dict per node (an op calls this once): ~0.1 us
        fn._given_args = args
    return out


def given_value(node: Node, name: str, default: Any = None) -> Any:
    """Argument ``name`` as :func:`given` kept it, or ``default``."""
    return node.__dict__.get("_given_args", _NOTHING_GIVEN).get(name, default)


def given_dim(node: Node, name: str = "dim", default: Any = None) -> Any:
    """Dim argument ``name`` as given (:func:`given`), shown as PyTorch's int64 fields are
    (``-1`` as ``2**64 - 1``), a sequence of dims as a tuple of them; ``default`` where the
    op did not keep it."""
    v = node.__dict__.get("_given_args", _NOTHING_GIVEN).get(name, default)
    if isinstance(v, (tuple, list)):
        return tuple(as_uint64(int(d)) for d in v)
    return v if v is None else as_uint64(int(v))


def given_dims(node: Node, default: Any, name: str = "dim") -> tuple:
    """:func:`given_dim` as a tuple (one dim given alone too: ``sum(-1)``'s ``(2**64 - 1,)``);
    ``default`` (the op's own dims) where the op did not keep them."""
    v = given_dim(node, name)
    if v is None:
        return tuple(default)
    return v if type(v) is tuple else (v,)


def as_uint64(v: int) -> int:
    """An int64 argument as PyTorch's ``_saved_`` attributes show it (``-1`` reads as
    ``2**64 - 1``: PyTorch converts the saved int64 through an unsigned type)."""
    return v + _UINT64 if v < 0 else v


def input_tensor(node: Node, i: int) -> Any:
    """Positional input ``i`` of ``node`` where it can still be reached: saved by the op, the
    leaf itself (the edge keeps it), or an output its producer saved; else None."""
    for k, e in enumerate(node._saved_values or ()):
        if type(e) is SavedInput and e.position == i:
            return node.saved_tensor(k)
    edge = node.next_edges[i] if i < len(node.next_edges) else None
    if isinstance(edge, Tensor):
        return edge
    if type(edge) is tuple:
        producer, nr = edge
        for k, e in enumerate(getattr(producer, "_saved_values", None) or ()):  # () if freed
            if type(e) is SavedOutput and e.index == nr:
                return producer.saved_tensor(k)
    return None


def input_shape(node: Node, i: int) -> tuple | None:
    """Positional input ``i``'s shape (``_saved_self_sym_sizes``), where known."""
    meta = node.input_meta[i] if i < len(node.input_meta) else None
    if meta is not None:
        return tuple(meta[0])
    t = input_tensor(node, i)
    return None if t is None else tuple(t.shape)


def input_strides(node: Node, i: int) -> tuple:
    """``_saved_<input>_sym_strides``: the strides of input ``i`` where it receives a gradient
    (PyTorch keeps them to lay the gradient out), else ``()``."""
    if i >= len(node.needs_input_grad) or not node.needs_input_grad[i]:
        return ()
    t = input_tensor(node, i)
    if t is not None:
        return tuple(t.stride())
    shape, out, step = input_shape(node, i) or (), [], 1
    for n in reversed(shape):  # not reachable: row-major strides
        out.append(step)
        step *= max(n, 1)
    return tuple(reversed(out))


def product_fields(names: tuple, inputs: tuple, transposed: bool = False) -> dict:
    """PyTorch's saved names of a matrix product node (``MmBackward0``: ``self``, ``mat2``;
    ``AddmmBackward0``: ``mat1``, ``mat2``): the two matrices, saved values 0 and 1, with
    the sizes and strides of the op's inputs ``inputs``. ``transposed``: the op saved the
    second matrix untransposed (``F.linear``'s weight; PyTorch saves ``weight.t()``)."""
    (a, b), (i, j) = names, inputs

    def flip(v: Any) -> Any:
        return v if v is None or not transposed else tuple(reversed(v))

    if transposed:  # the op saved both; PyTorch each only where the other's gradient reads it
        first = (0, lambda n, t: t if n.needs_input_grad[j] else None)
        second = (1, lambda n, t: t.t() if n.needs_input_grad[i] else None)
    else:
        first, second = 0, 1
    return {
        a: first,
        f"{a}_sym_sizes": lambda n: input_shape(n, i),
        f"{a}_sym_strides": lambda n: input_strides(n, i),
        b: second,
        f"{b}_sym_sizes": lambda n: flip(input_shape(n, j)),
        f"{b}_sym_strides": lambda n: flip(input_strides(n, j)),
    }
