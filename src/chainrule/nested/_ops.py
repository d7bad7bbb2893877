"""The ops on nested tensors: one handler per op name, run by ``NestedTensor``'s
``__torch_function__`` with the public function that was called (``func``).

A handler calls ``func`` itself on dense tensors: the jagged values where the ragged
structure does not matter (pointwise ops, ``linear``, softmax over a regular dim, ...), or
each component (strided layout, reductions over the ragged dim, attention), then wraps the
result as a nested tensor again. What torch refuses raises torch's error; what chainrule's
nested tensors do not provide raises ``NotImplementedError`` naming the op.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..autograd.tensor import Tensor
from ..ops import matmul, where
from ..ops.tensor_queries import strided
from ._inplace import INPLACE_HANDLERS, inplace_handler
from ._tensor import NestedTensor
from ._views import VIEW_HANDLERS, rebuild, with_values

__all__ = ["handle"]

_POINTWISE = (
    "abs neg negative sin cos tan exp log sqrt rsqrt tanh sigmoid relu sign floor ceil round "
    "reciprocal square erf erfc erfinv log1p expm1 sinh cosh asin acos atan asinh acosh atanh "
    "logical_not isnan isinf isfinite clone detach contiguous sgn frac trunc exp2 log2 log10 "
    "nan_to_num gelu silu softplus leaky_relu elu hardtanh mish relu6 hardsigmoid hardswish "
    "selu celu softsign tanhshrink logsigmoid dropout to double float half bfloat16 type "
    "int long short char byte bool "
    "cpu __neg__ __abs__ __pos__ __invert__ positive bitwise_not clamp clip clamp_min clamp_max"
).split()
_STRIDED_POINTWISE = frozenset(
    "abs neg negative sin cos sqrt tanh relu logical_not isnan clone detach contiguous sgn "
    "gelu silu softsign tanhshrink dropout to double float half type cpu __neg__ __abs__ "
    "__pos__ int long short char byte bool bfloat16".split()
)
_BINARY = (
    "add sub mul div true_divide pow maximum minimum eq ne lt gt le ge atan2 remainder fmod "
    "rsub multiply subtract divide greater less greater_equal less_equal not_equal "
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ "
    "__rpow__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __mod__ __rmod__ logical_and "
    "logical_or bitwise_and bitwise_or"
).split()
_STRIDED_NESTED_BINARY = frozenset("add sub mul div true_divide".split())
_STRIDED_SCALAR_BINARY = frozenset("add sub mul div true_divide eq gt ge".split())


def _base(name: str) -> str:
    """The op's plain name: ``add`` for ``__radd__``."""
    if name.startswith("reversed_"):
        return name[len("reversed_") :]
    if name.startswith("__"):
        name = name.strip("_")
        if name.startswith("r") and name not in ("rsub",):
            name = name[1:]
    return name


def _refuse_nested(name: str, rest: Any, kwargs: dict) -> None:
    for a in (*rest, *kwargs.values()):
        if isinstance(a, NestedTensor):
            raise NotImplementedError(
                f"{name}(): a nested tensor is supported only as the first operand(s) here"
            )


def _no_kernel(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"Could not run 'aten::{_base(name)}' with arguments from the 'NestedTensorCPU' "
        f"backend (strided-layout nested tensors do not support {name}; the jagged layout does)"
    )


def _pointwise(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, rest = args[0], args[1:]
    if not isinstance(x, NestedTensor):
        raise NotImplementedError(f"{name}(): a nested tensor is supported as the input only")
    _refuse_nested(name, rest, kwargs)
    if kwargs.get("inplace") and name != "dropout":  # F.relu(nt, inplace=True): relu_

        def inplace(t: Tensor, *a: Any, **k: Any) -> Any:
            return func(t, *a, inplace=True, **k)

        rest_kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}
        return inplace_handler(inplace, f"{_base(name)}_", args, rest_kwargs)
    if kwargs.get("inplace") or (name == "dropout" and len(rest) >= 3 and rest[2]):
        raise NotImplementedError(f"{name}(): inplace=True on a nested tensor")
    if x.layout is strided:
        if name not in _STRIDED_POINTWISE:
            raise _no_kernel(name)
        return NestedTensor._strided([func(c, *rest, **kwargs) for c in x.unbind()])
    return with_values(x, func(x.values(), *rest, **kwargs))


def _shape_str(nt: NestedTensor) -> str:
    return "(" + ", ".join(str(s) for s in nt.size()) + ")"


def _binary(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    a, b, rest = args[0], args[1], args[2:]
    _refuse_nested(name, rest, kwargs)
    base = _base(name)
    if isinstance(a, NestedTensor) and isinstance(b, NestedTensor):
        if a.layout is not b.layout:
            raise RuntimeError(
                f"{base}(): cannot combine nested tensors of layouts {a.layout!r} and {b.layout!r}"
            )
        if a.layout is strided:
            ca, cb = a.unbind(), b.unbind()
            if base not in _STRIDED_NESTED_BINARY:
                raise _no_kernel(name)
            if len(ca) != len(cb) or any(x.shape != y.shape for x, y in zip(ca, cb)):
                raise RuntimeError(
                    f"{base} does not support broadcasting when given a NestedTensor"
                )
            return NestedTensor._strided([func(x, y, *rest, **kwargs) for x, y in zip(ca, cb)])
        if a.size() != b.size():
            raise RuntimeError(
                f"cannot call binary pointwise function {base}.Tensor with inputs of shapes "
                f"{_shape_str(a)} and {_shape_str(b)}"
            )
        if a.lengths() is not None or b.lengths() is not None:
            comps = [func(x, y, *rest, **kwargs) for x, y in zip(a.unbind(), b.unbind())]
            return rebuild(a, comps)
        return with_values(a, func(a.values(), b.values(), *rest, **kwargs))
    nt, first = (a, True) if isinstance(a, NestedTensor) else (b, False)
    other = b if first else a

    def call(x: Any, y: Any) -> Any:
        return func(x, y, *rest, **kwargs) if first else func(y, x, *rest, **kwargs)

    if nt.layout is strided:
        if isinstance(other, Tensor) and other.dim() > 0:
            who = (
                "a nested self and non-nested other"
                if first
                else "a non-nested self and nested other"
            )
            raise RuntimeError(f"Expected both self and other to be nested, but got {who}")
        reversed_op = name.startswith("reversed_") or name in ("__rsub__", "__rtruediv__", "rsub")
        if base not in _STRIDED_SCALAR_BINARY or (reversed_op and base in ("sub", "div")):
            raise _no_kernel(name)
        return NestedTensor._strided([call(c, other) for c in nt.unbind()])
    if not isinstance(other, Tensor):
        return with_values(nt, call(nt.values(), other))
    n, ragged = nt.dim(), nt._ragged_idx
    if other.dim() > n:
        raise RuntimeError(
            f"{base}(): a dense operand of dim {other.dim()} cannot broadcast with a nested "
            f"tensor of dim {n}"
        )
    if other.dim() == n and other.shape[0] != 1:
        if other.shape[0] != len(nt) or other.shape[ragged] != 1:
            raise RuntimeError(
                f"{base}(): cannot broadcast a dense operand of shape {tuple(other.shape)} with "
                f"a nested tensor of shape {_shape_str(nt)}: its batch dim must be 1 or "
                f"{len(nt)} and its ragged dim 1"
            )
        return rebuild(nt, [call(c, other[i]) for i, c in enumerate(nt.unbind())])
    dense = other[0] if other.dim() == n else other
    from_right = (n - 1) - (ragged - 1)
    if dense.dim() >= from_right and dense.shape[dense.dim() - from_right] != 1:
        raise RuntimeError(
            f"{base}(): cannot broadcast a dense operand of shape {tuple(other.shape)} along "
            f"the ragged dim {ragged} of a nested tensor of shape {_shape_str(nt)}"
        )
    if nt.lengths() is not None:
        return rebuild(nt, [call(c, dense) for c in nt.unbind()])
    return with_values(nt, call(nt.values(), dense))


def _linear(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, rest = args[0], args[1:]
    if not isinstance(x, NestedTensor):
        raise NotImplementedError(f"{name}(): a nested weight or bias is not supported")
    _refuse_nested(name, rest, kwargs)
    if x.layout is strided:
        return NestedTensor._strided([func(c, *rest, **kwargs) for c in x.unbind()])
    if x._ragged_idx == x.dim() - 1:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim (the last)")
    return with_values(x, func(x.values(), *rest, **kwargs))


def _matmul(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    a, b = args[0], args[1]
    _refuse_nested(name, args[2:], kwargs)
    if isinstance(a, NestedTensor) and isinstance(b, NestedTensor):
        if a.layout is strided and b.layout is strided:
            ca, cb = a.unbind(), b.unbind()
            if len(ca) != len(cb):
                raise RuntimeError(
                    f"{name}(): expected nested tensors of the same batch size, got "
                    f"{len(ca)} and {len(cb)}"
                )
            return NestedTensor._strided([matmul(x, y) for x, y in zip(ca, cb)])
        if a.layout is b.layout and a._ragged_idx == b._ragged_idx and a._ragged_idx < a.dim() - 2:
            if a.size(a._ragged_idx) == b.size(b._ragged_idx):
                return rebuild(a, [matmul(x, y) for x, y in zip(a.unbind(), b.unbind())])
        shown = "torch.Size([" + _shape_str(b)[1:-1] + "])" if b.layout is not strided else "?"
        raise RuntimeError(
            f"matmul(): not supported between inputs of shapes {_shape_str(a)} and {shown}"
        )
    nt, first = (a, True) if isinstance(a, NestedTensor) else (b, False)
    other = b if first else a
    if nt.layout is strided or not first:
        who = (
            "a nested self and non-nested other" if first else "a non-nested self and nested other"
        )
        if nt.layout is strided:
            raise RuntimeError(f"Expected both to be nested, but got {who}")
        raise NotImplementedError(f"{name}(): a dense tensor @ a jagged nested tensor")
    if not isinstance(other, Tensor) or other.dim() > 2:
        raise NotImplementedError(
            f"{name}(): a jagged nested tensor @ a dense operand of dim > 2 (got "
            f"{getattr(other, 'dim', lambda: '?')()})"
        )
    if nt._ragged_idx == nt.dim() - 1:
        raise RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim (the last)")
    return with_values(nt, func(nt.values(), other))


def _softmax(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0]
    if "dim" in kwargs:
        dim = kwargs["dim"]
    elif len(args) > 1:
        dim = args[1]
    else:
        raise NotImplementedError(f"{name}(): dim=None (implicit dim) on a nested tensor")
    d = x._norm_dim(dim, name)

    def call(t: Tensor, new: int) -> Tensor:
        if "dim" in kwargs:
            return func(t, *args[1:], **{**kwargs, "dim": new})
        return func(t, new, *args[2:], **kwargs)

    if d == 0:
        if x.layout is strided:
            raise RuntimeError("Cannot apply softmax across nested dimension 0")
        raise RuntimeError(
            f"{_base(name)}(): not supported when reducing across the batch dimension for "
            f"NestedTensor"
        )
    if x.layout is strided or d == x._ragged_idx or x.lengths() is not None:
        comps = [call(c, d - 1) for c in x.unbind()]
        return NestedTensor._strided(comps) if x.layout is strided else rebuild(x, comps)
    return with_values(x, call(x.values(), d - 1))


def _layer_norm(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    x, rest = args[0], args[1:]
    _refuse_nested(name, rest, kwargs)
    if x.layout is strided:
        weight = rest[1] if len(rest) > 1 else kwargs.get("weight")
        bias = rest[2] if len(rest) > 2 else kwargs.get("bias")
        if weight is None or bias is None:
            raise ValueError("NestedTensor layer_norm requires weight and bias")
        return NestedTensor._strided([func(c, *rest, **kwargs) for c in x.unbind()])
    shape = rest[0] if rest else kwargs["normalized_shape"]
    k = 1 if isinstance(shape, int) else len(shape)
    if x._ragged_idx >= x.dim() - k:
        raise RuntimeError(
            f"layer_norm(): normalizing over the ragged dim {x._ragged_idx} of a nested "
            f"tensor of shape {_shape_str(x)} is not supported"
        )
    return with_values(x, func(x.values(), *rest, **kwargs))


def _sdpa(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    q, k, v = bound.pop("query"), bound.pop("key"), bound.pop("value")
    if not all(isinstance(t, NestedTensor) for t in (q, k, v)):
        raise NotImplementedError(
            f"{name}(): query, key and value must all be nested tensors (mixing with dense "
            f"tensors is not supported)"
        )
    if q.layout is not k.layout or q.layout is not v.layout:
        raise RuntimeError(f"{name}(): query, key and value must have the same nested layout")
    if q.layout is strided:
        # torch's CPU path for strided nested inputs refuses non-contiguous ones (a
        # ``transpose``, a ``narrow`` over the batch) before checking shapes
        if not all(t.is_contiguous() for t in (q, k, v)):
            raise RuntimeError(f"{name}: If inputs are nested tensors they must be contiguous")
    else:
        if bound.get("attn_mask") is not None:
            raise ValueError("Masks are not yet supported!")
        # torch's CPU (math) backend for jagged inputs refuses causal masking and inputs that
        # are not contiguous after ``transpose(1, 2)`` (e.g. q/k/v from ``torch.chunk``)
        if bound.get("is_causal") or not all(t.transpose(1, 2).is_contiguous() for t in (q, k, v)):
            raise RuntimeError("No viable backend for scaled_dot_product_attention was found.")
    qs, ks, vs = q.unbind(), k.unbind(), v.unbind()
    if not len(qs) == len(ks) == len(vs):
        raise RuntimeError(f"{name}(): query, key and value must have the same batch size")
    comps = [func(a, b, c, **bound) for a, b, c in zip(qs, ks, vs)]
    return NestedTensor._strided(comps) if q.layout is strided else rebuild(q, comps)


def _where(func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """``where(condition, input, other)`` on jagged nested tensors of one structure (the
    condition must be one), numbers, or dense tensors broadcasting over the regular dims
    after the ragged one."""
    bound = inspect.signature(func).bind(*args, **kwargs).arguments  # function or method
    cond, a, b = bound["condition"], bound.get("input", bound.get("self")), bound.get("other")
    if isinstance(cond, NestedTensor) and cond.layout is strided:
        raise RuntimeError(f"{name}(): strided-layout nested tensors are not supported")
    if not isinstance(cond, NestedTensor):
        raise ValueError(
            "NestedTensor where_self(condition: jt_all, self: any, other: any): expected "
            "condition to be a jagged layout NestedTensor"
        )
    if cond.lengths() is not None:
        raise NotImplementedError(f"{name}(): a jagged view with holes as the condition")
    trailing = cond.dim() - 1 - cond._ragged_idx

    def values_of(x: Any) -> Any:
        if isinstance(x, NestedTensor):
            if x.layout is strided or x.size() != cond.size() or x.lengths() is not None:
                raise RuntimeError(
                    f"{name}(): expected nested tensors of the condition's structure "
                    f"{_shape_str(cond)}, got {_shape_str(x) if x.layout is not strided else x}"
                )
            return x.values()
        if isinstance(x, Tensor) and x.dim() > trailing:
            raise NotImplementedError(
                f"{name}(): a dense operand of shape {tuple(x.shape)} broadcast over the "
                f"batch or ragged dim of a nested tensor of shape {_shape_str(cond)}"
            )
        return x

    return with_values(cond, where(cond.values(), values_of(a), values_of(b)))


def _is_contiguous(func: Callable, name: str, args: tuple, kwargs: dict) -> bool:
    x = args[0]
    if x.layout is strided:
        return _strided_contiguous(x.__dict__["_comps"])
    return x.lengths() is None and x.values().is_contiguous()


def _memory_owner(arr: Any) -> Any:
    """The array at the root of ``arr``'s chain of views (the holder of its memory)."""
    while isinstance(getattr(arr, "base", None), type(arr)):
        arr = arr.base
    return arr


def _strided_contiguous(comps: list[Tensor]) -> bool:
    """PyTorch's ``is_contiguous()`` of a strided nested tensor: every component row-major
    (a ``transpose(1, 2)`` of the nested tensor is not) and, where they share memory (a
    leaf's buffer and views of it), laid one after another from its start (so
    ``nt.narrow(0, 1, 1)`` is not). Components in memory of their own (the per-component
    results of an op) stand for the one new buffer PyTorch's op would fill."""
    if not all(c.is_contiguous() for c in comps):
        return False
    arrays = [c._data for c in comps]
    owners = {id(_memory_owner(a)) for a in arrays}
    if len(owners) != 1 or not all(hasattr(a, "ctypes") for a in arrays):
        return True  # separate memory (or a CuPy array: no address compared)
    at = _memory_owner(arrays[0]).ctypes.data
    for a in arrays:
        if a.size and a.ctypes.data != at:
            return False
        at += a.nbytes
    return True


def _is_floating_point(func: Callable, name: str, args: tuple, kwargs: dict) -> bool:
    return args[0].dtype.is_floating_point


HANDLERS: dict[str, Callable] = {
    **dict.fromkeys(_POINTWISE, _pointwise),
    **dict.fromkeys(_BINARY, _binary),
    "linear": _linear,
    "matmul": _matmul,
    "bmm": _matmul,
    "__matmul__": _matmul,
    "softmax": _softmax,
    "log_softmax": _softmax,
    "layer_norm": _layer_norm,
    "scaled_dot_product_attention": _sdpa,
    "where": _where,
    "is_contiguous": _is_contiguous,
    "is_floating_point": _is_floating_point,
    **VIEW_HANDLERS,
    **INPLACE_HANDLERS,
    **dict.fromkeys(
        [f"{_base(n)}_" for n in (*_POINTWISE, *_BINARY) if not n.startswith("__")]
        + ["zero_", "fill_", "copy_", "detach_"],
        inplace_handler,
    ),
}


_OPERATOR_NAMES = ("__rpow__", "__rmod__", "__rsub__", "__rtruediv__", "__pos__", "where")


def _op_name(func: Callable) -> str:
    """The handler key of ``func``: its name, or for the operators bound as generic
    functions (``__rpow__`` is a ``method``, ``__pos__`` a lambda) the operator's name."""
    name = getattr(func, "__name__", repr(func))
    if name in HANDLERS or name.startswith("reversed_"):
        return name
    for op in _OPERATOR_NAMES:
        held = Tensor.__dict__.get(op)
        if held is func or getattr(held, "operator_of", None) is func:
            return op
    return name


def handle(func: Callable, args: tuple, kwargs: dict) -> Any:
    """Run the handler of ``func`` (a public op called with a nested tensor)."""
    name = _op_name(func)
    handler = HANDLERS.get(name)
    if handler is None and name.startswith("reversed_") and name[9:] in HANDLERS:
        handler = HANDLERS[name[9:]]
    if handler is None:
        raise NotImplementedError(
            f"{name}(): not supported on nested tensors in chainrule (supported: pointwise "
            f"ops, linear, matmul/bmm, softmax, layer_norm, scaled_dot_product_attention, "
            f"transpose, reshape/view, chunk/split, cat, where, sum/mean, to_padded_tensor)"
        )
    return handler(func, name, args, kwargs)
