"""PyTorch's multi-tensor ops, ``torch._foreach_*``: one op applied to every tensor of a list.

Training scripts reach for them to update many parameters at once - a hand-written EMA of the
weights (``_foreach_mul_(ema, decay)`` then ``_foreach_add_(ema, params, alpha=1 - decay)``,
or ``_foreach_lerp_``), gradient norms (``_foreach_norm``), custom optimizers
(``_foreach_addcdiv_``). PyTorch fuses each into a few kernel launches; here each is the
per-tensor op in a loop, which computes the same numbers (the same elementwise formula, so
also the same derivatives: the out-of-place forms are differentiable).

The second argument follows PyTorch's overloads: a number (applied to every tensor), a list
of numbers or of tensors (one per tensor), or a 0-d tensor; ``alpha`` scales a tensor
argument of ``add``/``sub``. In-place forms (trailing ``_``) return the list they were given;
the others return a tuple of new tensors. These functions are ``chainrule._foreach_*``
(``chainrule.__getattr__`` loads this module on first use), kept out of ``chainrule.__all__``
as they are out of ``torch.__all__``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

from ..autograd.tensor import Tensor
from ..creation import tensor as as_scalar_tensor
from ..dtype_rules import can_cast
from ..linalg.norms import vector_norm
from . import binary, extremes, power

__all__ = [  # the unary and binary families are appended below, as they are made
    "_foreach_addcdiv",
    "_foreach_addcdiv_",
    "_foreach_addcmul",
    "_foreach_addcmul_",
    "_foreach_clone",
    "_foreach_copy_",
    "_foreach_lerp",
    "_foreach_lerp_",
    "_foreach_max",
    "_foreach_norm",
    "_foreach_zero_",
]

# One input: ``_foreach_<name>(tensors)`` and ``_foreach_<name>_(tensors)``.
UNARY = (
    "abs",
    "acos",
    "asin",
    "atan",
    "ceil",
    "cos",
    "cosh",
    "erf",
    "erfc",
    "exp",
    "expm1",
    "floor",
    "frac",
    "lgamma",
    "log",
    "log10",
    "log1p",
    "log2",
    "neg",
    "reciprocal",
    "round",
    "rsqrt",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
    "trunc",
)

# Two inputs: the op's name and what ``alpha`` (which scales the second argument) comes with:
# a list of tensors or a 0-d tensor ("tensor"), a list of tensors only ("list"), or nothing.
BINARY = {
    "add": "tensor",
    "sub": "list",
    "mul": None,
    "div": None,
    "pow": None,
    "maximum": None,
    "minimum": None,
    "clamp_min": None,
    "clamp_max": None,
}


def _tensors(op: str, tensors: Any, what: str = "self") -> Sequence[Tensor]:
    """``tensors`` checked to be a non-empty list or tuple of tensors (PyTorch's errors)."""
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        kinds = sorted({type(t).__name__ for t in tensors}) if isinstance(tensors, list) else ""
        raise TypeError(
            f"{op}: {what} must be a list or tuple of Tensors, got {type(tensors).__name__}"
            + (f" of {', '.join(kinds)}" if kinds else "")
        )
    if not tensors:
        raise RuntimeError(f"{op}: Tensor list must have at least one tensor.")
    return tensors


_UNSET: Any = object()  # an argument not given


def _per_tensor(op: str, n: int, other: Any, what: str = "other") -> list[Any]:
    """The second argument as one value per tensor: a number or a 0-d tensor repeated, or a
    list (of numbers or of tensors) of the same length."""
    if isinstance(other, Tensor):
        if other.ndim != 0:
            raise RuntimeError(
                f"{op}: scalar tensor expected to be 0 dim but it has {other.ndim} dimensions "
                f"and {other.numel()} elements."
            )
        return [other] * n
    if isinstance(other, Number):
        return [other] * n
    if isinstance(other, (list, tuple)) and all(isinstance(o, (Tensor, Number)) for o in other):
        if len(other) != n:
            if other and all(isinstance(o, Tensor) for o in other):
                raise RuntimeError(
                    f"{op}: Tensor lists must have the same number of tensors, "
                    f"got {n} and {len(other)}"
                )
            raise RuntimeError(
                f"{op}: Tensor list must have same number of elements as scalar list."
            )
        return list(other)
    raise TypeError(
        f"{op}: {what} must be a number, a 0-d Tensor, or a list of numbers or of Tensors "
        f"(one per tensor), got {type(other).__name__}"
    )


def _scalar_values(op: str, n: int, scalars: Any, value: Any) -> list[Any]:
    """The multipliers of addcmul/addcdiv, as PyTorch's overloads take them: the fourth
    positional argument (``scalars``) is a number, a list of numbers, or a 1-d tensor of n
    numbers (the ``Tensor scalars`` overload); the keyword ``value`` is one number only (a 0-d
    tensor that needs no gradient reads as its number), the same for every tensor."""
    if value is not _UNSET:
        if scalars is not _UNSET:
            raise TypeError(f"{op}() got multiple values for argument 'value'")
        if isinstance(value, Tensor) and value.ndim == 0 and not value.requires_grad:
            value = value.item()
        if not isinstance(value, Number):
            raise TypeError(
                f"{op}: value must be a number (one for every tensor; a list or a 1-d tensor of "
                f"them is the positional argument scalars), got {type(value).__name__}"
            )
        return [value] * n
    if scalars is _UNSET:
        return [1] * n
    if isinstance(scalars, Tensor):
        if scalars.ndim != 1 or scalars.numel() != n:
            raise RuntimeError(
                f"{op}: expected a 1-D tensor of {n} scalars, got shape {tuple(scalars.shape)}"
            )
        return scalars.tolist()
    return _per_tensor(op, n, scalars, "scalars")


def _scalars_argument(op: str, given: tuple, scalars: Any) -> Any:
    """addcmul/addcdiv's ``scalars``: the fourth positional argument (a number, a list of
    numbers or a 1-d tensor) or the keyword ``scalars=``, which PyTorch takes for a list or a
    tensor only (its number overload names that argument ``value``: ``scalars=2`` is a
    TypeError there, probed on torch 2.13)."""
    if len(given) > 1:
        raise TypeError(
            f"{op}() takes from 3 to 4 positional arguments but {3 + len(given)} were given"
        )
    if given:
        if scalars is not _UNSET:
            raise TypeError(f"{op}() got multiple values for argument 'scalars'")
        return given[0]
    if scalars is not _UNSET and not isinstance(scalars, (list, tuple, Tensor)):
        raise TypeError(
            f"{op}(): keyword argument 'scalars' must be a list of numbers or a Tensor, got "
            f"{type(scalars).__name__} (one number for every tensor is value=)"
        )
    return scalars


def _lerp_weight(op: str, weight: Any) -> Any:
    """lerp's ``weight``: one tensor is PyTorch's Scalar overload, so it must be 0-d and need
    no gradient (else a TypeError there, even under no_grad, probed on torch 2.13)."""
    if isinstance(weight, Tensor) and (weight.ndim != 0 or weight.requires_grad):
        raise TypeError(
            f"{op}(): argument 'weight' must be a number, a 0-d Tensor that does not require "
            f"grad, or a list (one per tensor), got a {weight.ndim}-d Tensor"
            + (" that requires grad" if weight.requires_grad else "")
        )
    return weight


def _unary(name: str) -> tuple[Callable, Callable]:
    op, op_ = f"_foreach_{name}", f"_foreach_{name}_"

    def out_of_place(self: Sequence[Tensor]) -> tuple[Tensor, ...]:
        return tuple(getattr(t, name)() for t in _tensors(op, self))

    def in_place(self: Sequence[Tensor]) -> Sequence[Tensor]:
        for t in _tensors(op_, self):
            getattr(t, f"{name}_")()
        return self

    out_of_place.__doc__ = f"``{name}`` of every tensor of a list (``torch.{op}``)."
    in_place.__doc__ = f"``{name}_`` on every tensor of a list, in place (``torch.{op_}``)."
    return out_of_place, in_place


def _extreme(name: str) -> Callable[[Tensor, Any], Tensor]:
    """``maximum``/``minimum`` with a number or a tensor (torch.maximum takes tensors only)."""
    fn = getattr(binary, name)
    return lambda t, o: fn(t, o if isinstance(o, Tensor) else as_scalar_tensor(o))


def _binary(name: str, alpha_with: str | None) -> tuple[Callable, Callable]:
    op, op_ = f"_foreach_{name}", f"_foreach_{name}_"
    extreme = _extreme(name) if name in ("maximum", "minimum") else None

    def arguments(fname: str, self: Any, other: Any, alpha: Any) -> tuple[Sequence, list, dict]:
        tensors = _tensors(fname, self)
        others = _per_tensor(fname, len(tensors), other)
        if alpha is None:
            return tensors, others, {}
        if alpha_with is None:
            raise TypeError(f"{fname}() got an unexpected keyword argument 'alpha'")
        if not isinstance(others[0], Tensor) or (
            alpha_with == "list" and not isinstance(other, (list, tuple))
        ):
            takes = "a list of Tensors" if alpha_with == "list" else "a Tensor or a list of Tensors"
            raise TypeError(
                f"{fname}: alpha is taken only with {takes}, got {type(other).__name__}"
            )
        return tensors, others, {"alpha": alpha}

    def out_of_place(self: Any, other: Any, *, alpha: Any = None) -> tuple[Tensor, ...]:
        if name == "pow" and isinstance(self, Number):  # a number raised to each tensor
            return tuple(power.pow(self, t) for t in _tensors(op, other, "exponent"))
        tensors, others, kw = arguments(op, self, other, alpha)
        if extreme is not None:
            return tuple(extreme(t, o) for t, o in zip(tensors, others))
        return tuple(getattr(t, name)(o, **kw) for t, o in zip(tensors, others))

    def in_place(self: Any, other: Any, *, alpha: Any = None) -> Any:
        tensors, others, kw = arguments(op_, self, other, alpha)
        for t, o in zip(tensors, others):
            if extreme is None:
                getattr(t, f"{name}_")(o, **kw)
                continue
            result = extreme(t, o)  # no Tensor.maximum_: computed, checked, copied back
            if not can_cast(result.dtype, t.dtype):
                raise RuntimeError(
                    f"{op_}: result type {result.dtype} can't be cast to the desired output "
                    f"type {t.dtype}"
                )
            t.copy_(result)
        return self

    out_of_place.__doc__ = (
        f"``{name}`` of every tensor of a list and its argument (``torch.{op}``)."
    )
    in_place.__doc__ = f"``{name}`` of every tensor of a list, in place (``torch.{op_}``)."
    return out_of_place, in_place


def _publish(name: str, pair: tuple[Callable, Callable]) -> None:
    """Make ``_foreach_<name>`` and ``_foreach_<name>_`` module functions, named as such."""
    for fn, public in zip(pair, (f"_foreach_{name}", f"_foreach_{name}_")):
        fn.__name__ = fn.__qualname__ = public
        globals()[public] = fn
        __all__.append(public)


for _name in UNARY:
    _publish(_name, _unary(_name))
for _name, _alpha in BINARY.items():
    _publish(_name, _binary(_name, _alpha))
del _name, _alpha


def _ternary(op: str, self: Any, ends: Any, others: Any) -> tuple:
    """The tensor arguments of addcmul/addcdiv/lerp: the tensors and one or two lists."""
    tensors = _tensors(op, self)
    n = len(tensors)
    firsts = _per_tensor(op, n, _tensors(op, ends, "tensor1"), "tensor1")
    seconds = None if others is None else _per_tensor(op, n, _tensors(op, others, "tensor2"))
    return tensors, firsts, seconds


def _foreach_addcmul(
    self: Any, tensor1: Any, tensor2: Any, *given: Any, scalars: Any = _UNSET, value: Any = _UNSET
) -> tuple:
    """``self[i] + value * tensor1[i] * tensor2[i]`` for each i, or with ``scalars[i]``
    (a list of numbers or a 1-d tensor) in place of ``value`` (``torch._foreach_addcmul``)."""
    op = "_foreach_addcmul"
    scalars = _scalars_argument(op, given, scalars)
    ts, ones, twos = _ternary(op, self, tensor1, tensor2)
    vs = _scalar_values(op, len(ts), scalars, value)
    return tuple(t.addcmul(a, b, value=v) for t, a, b, v in zip(ts, ones, twos, vs))


def _foreach_addcmul_(
    self: Any, tensor1: Any, tensor2: Any, *given: Any, scalars: Any = _UNSET, value: Any = _UNSET
) -> Any:
    """In place :func:`_foreach_addcmul` (``torch._foreach_addcmul_``)."""
    op = "_foreach_addcmul_"
    scalars = _scalars_argument(op, given, scalars)
    ts, ones, twos = _ternary(op, self, tensor1, tensor2)
    for t, a, b, v in zip(ts, ones, twos, _scalar_values(op, len(ts), scalars, value)):
        t.addcmul_(a, b, value=v)
    return self


def _foreach_addcdiv(
    self: Any, tensor1: Any, tensor2: Any, *given: Any, scalars: Any = _UNSET, value: Any = _UNSET
) -> tuple:
    """``self[i] + value * tensor1[i] / tensor2[i]`` for each i, or with ``scalars[i]``
    (a list of numbers or a 1-d tensor) in place of ``value`` (``torch._foreach_addcdiv``)."""
    op = "_foreach_addcdiv"
    scalars = _scalars_argument(op, given, scalars)
    ts, ones, twos = _ternary(op, self, tensor1, tensor2)
    vs = _scalar_values(op, len(ts), scalars, value)
    return tuple(t.addcdiv(a, b, value=v) for t, a, b, v in zip(ts, ones, twos, vs))


def _foreach_addcdiv_(
    self: Any, tensor1: Any, tensor2: Any, *given: Any, scalars: Any = _UNSET, value: Any = _UNSET
) -> Any:
    """In place :func:`_foreach_addcdiv` (``torch._foreach_addcdiv_``)."""
    op = "_foreach_addcdiv_"
    scalars = _scalars_argument(op, given, scalars)
    ts, ones, twos = _ternary(op, self, tensor1, tensor2)
    for t, a, b, v in zip(ts, ones, twos, _scalar_values(op, len(ts), scalars, value)):
        t.addcdiv_(a, b, value=v)
    return self


def _foreach_lerp(self: Any, tensors1: Any, weight: Any) -> tuple:
    """``self[i] + weight[i] * (tensors1[i] - self[i])`` for each i (``torch._foreach_lerp``)."""
    ts, ends, _ = _ternary("_foreach_lerp", self, tensors1, None)
    ws = _per_tensor("_foreach_lerp", len(ts), _lerp_weight("_foreach_lerp", weight), "weight")
    return tuple(t.lerp(e, w) for t, e, w in zip(ts, ends, ws))


def _foreach_lerp_(self: Any, tensors1: Any, weight: Any) -> Any:
    """In place :func:`_foreach_lerp`: the EMA update ``ema += w * (p - ema)``."""
    ts, ends, _ = _ternary("_foreach_lerp_", self, tensors1, None)
    ws = _per_tensor("_foreach_lerp_", len(ts), _lerp_weight("_foreach_lerp_", weight), "weight")
    for t, e, w in zip(ts, ends, ws):
        t.lerp_(e, w)
    return self


def _foreach_norm(self: Any, ord: Any = 2, dtype: Any = None) -> tuple[Tensor, ...]:
    """The ``ord``-norm of each tensor, flattened, as 0-d tensors (``torch._foreach_norm``)."""
    return tuple(vector_norm(t, ord, dtype=dtype) for t in _tensors("_foreach_norm", self))


def _foreach_max(self: Any) -> tuple[Tensor, ...]:
    """The largest element of each tensor (``torch._foreach_max``)."""
    return tuple(extremes.max(t) for t in _tensors("_foreach_max", self))


def _foreach_clone(self: Any) -> tuple[Tensor, ...]:
    """A copy of each tensor (``torch._foreach_clone``)."""
    return tuple(t.clone() for t in _tensors("_foreach_clone", self))


def _foreach_copy_(self: Any, src: Any, non_blocking: bool = False) -> Any:
    """Copy ``src[i]`` into ``self[i]`` for each i (``torch._foreach_copy_``)."""
    tensors = _tensors("_foreach_copy_", self)
    sources = _per_tensor("_foreach_copy_", len(tensors), _tensors("_foreach_copy_", src, "src"))
    for t, s in zip(tensors, sources):
        t.copy_(s, non_blocking=non_blocking)
    return self


def _foreach_zero_(self: Any) -> Any:
    """Fill every tensor of a list with zeros (``torch._foreach_zero_``)."""
    for t in _tensors("_foreach_zero_", self):
        t.zero_()
    return self
