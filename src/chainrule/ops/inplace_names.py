"""PyTorch's node names for the in-place methods made by :func:`.inplace.make_inplace`, and
a renaming helper for ops whose node is another op's (``deg2rad`` is a ``Mul``).

An in-place method computes its out-of-place op and writes the result into the tensor, so
its node is the out-of-place op's. PyTorch names some in-place nodes apart (its
``derivatives.yaml`` has separate entries): ``acosh_`` is ``AcoshBackward1``, ``clamp_min_``
``ClampMinBackward0`` (a number) / ``ClampMinBackward1`` (a tensor), ``eq_`` ... ``le_``
``EqBackward0`` / ``EqBackward1``, ``copysign_`` with a number ``CopysignBackward1``,
``polygamma_`` ``PolygammaBackward1``, ``igamma_`` ``IgammaBackward0``, ``fill_``
``FillBackward2`` / ``FillBackward3`` and ``zero_`` ``ZeroBackward0`` (one node: see
:func:`filled`), ``conj_physical_`` on a real tensor ``ConjPhysicalBackward1`` (an identity
node). ``logical_and_`` / ``or_`` / ``xor_`` / ``not_`` are not recorded at all: the tensor
keeps its node (and a leaf may be written), as in PyTorch.

:func:`named_as_torch` wraps an in-place method's op when its name is in :data:`_IN_PLACE`
(looked up once, when the method is made: the other methods pay nothing per call); the
recorded node is renamed as :func:`.inplace_views._in_place_node` renames the in-place view
nodes: its Function becomes a cached subclass carrying PyTorch's name, listed inputs and
``saved_fields`` (:func:`renamed_node`). The computation, gradient and tangent are the op's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.node import _node_type
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .no_derivative import NotImplementedDerivative
from .rearranging import Copy

__all__: list[str] = []  # no public ops: helpers for ops/inplace.py and the op modules

_RENAMED: dict[tuple, type] = {}


def renamed_node(node: Any, name: str, fields: Any = None, inputs: Any = None) -> None:
    """Show ``node`` as PyTorch's ``name``: ``fields`` its ``saved_fields`` (None: the op's
    own), ``inputs`` the argument positions its ``next_functions`` lists (None: those that
    receive a gradient). The Function class is made once per (op, name, fields, inputs):
    ``fields`` is one of the module-level dicts (keyed by identity). A node renamed before is
    renamed from its op's own Function."""
    fn = node._forward_cls
    if fn is None:
        return
    fn = fn.__dict__.get("_renamed_from", fn)
    key = (fn, name, id(fields), inputs)
    cls = _RENAMED.get(key)
    if cls is None:
        attrs: dict[str, Any] = {
            "node_name": name if inputs is None else (name, inputs),
            "__module__": fn.__module__,
        }
        if fields is not None:
            attrs["saved_fields"] = fields
        cls = type(name.rstrip("0123456789"), (fn,), attrs)
        cls._node_type = _node_type(name)
        cls._renamed_from = fn
        _RENAMED[key] = cls
    node._forward_cls = cls
    node.__class__ = cls._node_type


def _renaming(fn: Callable, pick: Callable) -> Callable:
    """``fn`` whose recorded node is renamed by ``pick(x, args, kwargs) -> (name, fields,
    inputs)`` (None: kept)."""

    def op(x: Any, *args: Any, **kwargs: Any) -> Any:
        out = fn(x, *args, **kwargs)
        node = getattr(out, "grad_fn", None)
        if node is not None:
            choice = pick(x, args, kwargs)
            if choice is not None:
                renamed_node(node, *choice)
        return out

    op.__name__ = getattr(fn, "__name__", "op")
    return op


def _operand(args: tuple, kwargs: dict) -> Any:
    return args[0] if args else next(iter(kwargs.values()), None)


def _fixed(name: str, fields: Any = None, inputs: Any = None) -> Callable:
    return lambda x, args, kwargs: (name, fields, inputs)


def _by_operand(number: tuple, tensor: tuple | None) -> Callable:
    """One choice for a number argument, another (None: the op's own) for a tensor."""
    return lambda x, args, kwargs: tensor if isinstance(_operand(args, kwargs), Tensor) else number


NOTHING_SAVED: dict = {}  # PyTorch's node saves nothing (its rule needs no tensor)
_CLAMP_MIN = {"min": lambda n: n.params["lo"], "self": 0}  # Clamp's params, saved input
_CLAMP_MAX = {"max": lambda n: n.params["hi"], "self": 0}
_POLYGAMMA = {"n": lambda n: n.params["n"], "self": 0}


def _comparison(stem: str) -> Callable:
    """``EqBackward0`` (a number) or ``EqBackward1`` listing self and other, either as
    ``(None, 0)`` without a gradient (``logical._ZeroDerivative``'s inputs are the comparison's
    value, then those of self and other that require grad; a missing position shows None)."""

    def pick(x: Any, args: tuple, kwargs: dict) -> tuple:
        other = _operand(args, kwargs)
        if not isinstance(other, Tensor):
            return f"{stem}Backward0", NOTHING_SAVED, None
        first = 1 if x.requires_grad else _ABSENT
        second = (1 + x.requires_grad) if other.requires_grad else _ABSENT
        return f"{stem}Backward1", NOTHING_SAVED, (first, second)

    return pick


_ABSENT = 9  # an input position past the node's inputs: listed as (None, 0)


_IN_PLACE: dict[str, Callable] = {
    "clamp_min_": _by_operand(  # (a tensor bound: clamp's node lists self, min, max)
        ("ClampMinBackward0", _CLAMP_MIN, None),
        ("ClampMinBackward1", {"min": 1, "self": 0}, (0, 1)),
    ),
    "clamp_max_": _by_operand(
        ("ClampMaxBackward0", _CLAMP_MAX, None),
        ("ClampMaxBackward1", {"max": 2, "self": 0}, (0, 2)),
    ),
    "copysign_": _by_operand(
        ("CopysignBackward1", None, None), ("CopysignBackward0", None, (0, 1))
    ),
    "polygamma_": _fixed("PolygammaBackward1", _POLYGAMMA),
    "igamma_": _fixed("IgammaBackward0", None, (0, 1)),
    "igammac_": _fixed("IgammacBackward0", None, (0, 1)),
}
for _stem in ("Acosh", "Asinh", "Atanh"):
    _IN_PLACE[_stem.lower() + "_"] = _IN_PLACE["arc" + _stem[1:].lower() + "_"] = _fixed(
        f"{_stem}Backward1", NOTHING_SAVED
    )
for _stem, _names in (
    ("Eq", ("eq_",)),
    ("Ne", ("ne_", "not_equal_")),
    ("Lt", ("lt_", "less_")),
    ("Le", ("le_", "less_equal_")),
    ("Gt", ("gt_", "greater_")),
    ("Ge", ("ge_", "greater_equal_")),
):
    for _name in _names:
        _IN_PLACE[_name] = _comparison(_stem)

# In-place methods PyTorch does not record: the tensor keeps its node, a leaf may be written,
# and a forward-mode tangent stays as it was (apply_inplace reads this too)
UNRECORDED = frozenset({"logical_and_", "logical_or_", "logical_xor_", "logical_not_"})


def named_as_torch(name: str, fn: Callable) -> Callable:
    """``fn`` for the in-place method ``name``: as it is, or recording PyTorch's node."""
    pick = _IN_PLACE.get(name)
    if pick is not None:
        return _renaming(fn, pick)
    if name == "conj_physical_":
        return _conj_physical(fn)
    if name == "scatter_":
        return _named_in_place(fn, name)
    return fn


def _named_in_place(fn: Callable, name: str) -> Callable:
    """``fn`` whose ``NotImplemented`` node (``scatter(reduce=)``: no derivative) names the
    in-place op in its backward error, as PyTorch's ("aten::scatter_")."""

    def op(x: Any, *args: Any, **kwargs: Any) -> Any:
        out = fn(x, *args, **kwargs)
        node = getattr(out, "grad_fn", None)
        cls = getattr(node, "_forward_cls", None)
        if isinstance(cls, type) and issubclass(cls, NotImplementedDerivative):
            node.op = name
        return out

    op.__name__ = getattr(fn, "__name__", "op")
    return op


def unrecorded(name: str, method: Callable) -> Callable:
    """``method`` run outside the graph where PyTorch records nothing for ``name``."""
    if name not in UNRECORDED:
        return method

    def outside(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if type(self) is not Tensor:  # (a vmap batched tensor has its own in-place path)
            return method(self, *args, **kwargs)
        with grad_mode.no_grad():
            return method(self, *args, **kwargs)

    outside.__name__, outside.__doc__ = method.__name__, method.__doc__
    return outside


class _Same(Copy):
    """The identity as one node (:class:`Copy`'s rules): ``conj_physical_`` of a real tensor
    (``ConjPhysicalBackward1``)."""

    node_name = "ConjPhysicalBackward1"
    saved_fields = NOTHING_SAVED


def _conj_physical(fn: Callable) -> Callable:
    """``conj_physical_``'s op: one ``ConjPhysicalBackward1`` node, an identity one for a
    real tensor (whose out-of-place ``conj_physical`` is the tensor itself)."""

    def op(x: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(x, Tensor) and x.requires_grad and grad_mode.is_grad_enabled()):
            return fn(x, *args, **kwargs)
        if x._data.dtype.kind != "c":
            return _Same.apply(x)
        out = fn(x, *args, **kwargs)
        if out._grad_fn is not None:
            renamed_node(out._grad_fn, "ConjPhysicalBackward1")
        return out

    op.__name__ = getattr(fn, "__name__", "conj_physical")
    return op


class _Fill(Function):
    """``fill_`` / ``zero_`` as one node: the value everywhere, a zero gradient for the old
    value, the sum of the gradient for a tensor value (PyTorch's ``FillBackward2`` for a
    number, ``FillBackward3`` for a tensor, ``ZeroBackward0``; none saves anything)."""

    raw = True
    saved_fields = NOTHING_SAVED

    @staticmethod
    def node_name(node):  # FillBackward3 lists the value, (None, 0) without a gradient
        return (node.fill_name, (0, 1)) if node.fill_name == "FillBackward3" else node.fill_name

    @staticmethod
    def forward(ctx, x, value, node="FillBackward2"):
        ctx.fill_name = node
        ctx.meta = x.shape, x.dtype, getattr(value, "dtype", None)
        out = get_array_module(x).empty_like(x)
        out[...] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad._data)
        shape, dtype, value_dtype = ctx.meta
        zero = Tensor._make(xp.zeros(shape, dtype), False, None, 0)
        if ctx.fill_name != "FillBackward3":
            return zero, None
        total = grad.sum()
        return zero, total if total._data.dtype == value_dtype else total.to(value_dtype)

    @staticmethod
    def jvp(ctx, tx, tv=None):
        shape, dtype, _ = ctx.meta
        out = get_array_module(tx if tx is not None else tv).zeros(shape, dtype)
        if tv is not None:
            out[...] = tv
        return out


def filled(name: str) -> Callable:
    """``fill_`` / ``zero_``'s op for ``apply_inplace``: ``(x, value) -> filled x``."""
    if name == "zero_":
        return lambda t, v: _Fill.apply(t, v, node="ZeroBackward0")
    return lambda t, v: _Fill.apply(
        t, v, node="FillBackward3" if isinstance(v, Tensor) else "FillBackward2"
    )


def value_in_graph(value: Any) -> bool:
    """Whether ``fill_``'s value is a tensor that requires grad, with grad mode on: PyTorch
    then records ``FillBackward3`` even into a tensor outside the graph."""
    return isinstance(value, Tensor) and value.requires_grad and grad_mode.is_grad_enabled()
