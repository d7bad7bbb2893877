"""The rules of MaskedTensor's ``__torch_function__``: what each op does with the mask.

- unary pointwise ops (``exp``, ``abs``, ``clamp``, ``pow`` with a number, casts, ``clone``)
  compute on the data and keep the mask; another tensor argument is refused (TypeError);
- binary pointwise ops (``add``, ``mul``, comparisons, ``maximum``, ...) take two
  MaskedTensors with equal masks (ValueError otherwise) or one MaskedTensor and a plain
  tensor or number; the result has the MaskedTensor's mask;
- reductions (``sum``, ``mean``, ``amax``, ``amin``, ``argmax``, ``argmin``, ``prod``,
  ``all``, ``var``, ``std``) are :mod:`chainrule.masked`'s masked reductions of the data;
  a result is in the mask when its slice had an element in it;
- ``softmax`` is the masked softmax; ``where`` picks data and masks alike;
- view ops (``transpose``, ``t``, ``mT``, ``view``, ``reshape``, ``expand``, ``flatten``,
  ``unsqueeze``, indexing, ``select``, ``narrow``, ``split``, ``chunk``, ``cat``,
  ``stack``) apply to the data and to the mask;
- queries (``dim``, ``size``, ``numel``, ``item``, ``requires_grad_``, ``backward``, ...)
  run on the data;
- ``copy_`` takes the source's values and keeps its own mask; ``max``/``min`` with another
  tensor are binary ops (their reductions have no rule); ``sum_to_size`` is a masked sum;
  ``type()`` is a query, ``type(dtype)``/``to(tensor)``/``type_as(tensor)`` casts; uint8
  data, ``alpha=``/``rounding_mode=``/``round(decimals=)`` and a number as ``atan2``'s
  ``other`` are refused with torch's errors;
- everything else raises TypeError, as torch's MaskedTensor (no rule for the op).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .. import ops
from ..autograd import torch_function as _tf
from ..autograd.tensor import Tensor
from ..creation import ones_like
from ..dtype_objects import bool_, uint8
from ..qtypes import scalar_type_name
from . import _reductions as red
from ._common import dims_of, reduced_mask
from ._normalizations import softmax as masked_softmax
from .core import MaskedTensor, mask_leaf_grad, wrap

__all__ = ["torch_function"]

_UNARY = frozenset(
    """abs absolute acos arccos acosh arccosh angle asin arcsin asinh arcsinh atan arctan atanh
    arctanh bitwise_not ceil clamp clip conj_physical cos cosh deg2rad digamma erf erfc erfinv
    exp exp2 expm1 fix floor frac lgamma log log10 log1p log2 logit i0 isnan nan_to_num neg
    negative positive pow rad2deg reciprocal round rsqrt sigmoid sign sgn signbit sin sinc sinh
    sqrt square tan tanh trunc isfinite float double half int long short bool byte char to
    type_as clone detach contiguous conj resolve_conj resolve_neg isreal float_power
    to_dense""".split()
)
_BINARY = frozenset(
    """add sub subtract mul multiply div divide true_divide floor_divide fmod remainder atan2
    arctan2 eq ne lt le gt ge greater less greater_equal less_equal not_equal maximum minimum
    fmin fmax logaddexp logaddexp2 nextafter isclose bitwise_and bitwise_or bitwise_xor
    bitwise_left_shift bitwise_right_shift kron __eq__ __ne__ reversed_div""".split()
)
_REDUCTIONS = frozenset("sum mean amax amin argmax argmin prod all var std".split())
_NO_DTYPE = frozenset("amax amin argmax argmin all var std".split())  # reductions without dtype=
_VIEWS = frozenset(
    """transpose swapaxes swapdims t view reshape expand expand_as view_as reshape_as flatten
    unsqueeze getitem select narrow split chunk cat concat concatenate stack adjoint ravel
    hsplit vsplit tensor_split repeat_interleave""".split()
)
# Queries and autograd calls that read the data only (their result is not a MaskedTensor).
_QUERIES = frozenset(
    """dim ndimension size numel nelement element_size is_contiguous is_floating_point
    is_complex is_signed get_device item requires_grad_ retain_grad register_hook backward
    data_ptr stride storage_offset len __len__ __bool__ __float__ __int__ __index__ bool_
    __format__ __hash__ __reduce_ex__ __deepcopy__ __array__ is_leaf const_data_ptr dim_order
    is_conj is_neg is_inference is_shared is_distributed is_same_size""".split()
)
_INPLACE_OF = {
    f"{n}_": n for n in _UNARY | _BINARY if n not in ("to", "type_as", "to_dense", "reversed_div")
}
# binary ops whose ``other`` must be a Tensor (torch's argument parser refuses a number)
_TENSOR_OTHER = frozenset("atan2 arctan2 atan2_ arctan2_ isclose kron".split())
# keyword-only arguments torch's MaskedTensor refuses (its rules take no kwargs)
_BINARY_KWARGS = frozenset({"alpha", "rounding_mode"})
UINT8_MESSAGE = "torch.uint8 is not supported in MaskedTensor."


def _masks_of(args: tuple) -> list[Tensor]:
    return [a._masked_mask for a in args if isinstance(a, MaskedTensor)]


def _same_masks(masks: list[Tensor]) -> Tensor:
    """The one mask of the MaskedTensor operands (ValueError when they differ)."""
    first = masks[0]
    for other in masks[1:]:
        if tuple(other.shape) != tuple(first.shape) or not bool(ops.equal(other, first)):
            raise ValueError(
                "Input masks must match. If you need support for this, please open an issue "
                "on Github."
            )
    return first


def _run(func: Callable, args: tuple, kwargs: dict) -> Any:
    with _tf.DisableTorchFunctionSubclass():
        return func(*args, **kwargs)


def _with_mask(result: Any, mask: Tensor) -> Any:
    if not isinstance(result, Tensor):
        return result
    if result.dtype == uint8:
        raise TypeError(UINT8_MESSAGE)
    if tuple(result.shape) != tuple(mask.shape):
        mask = ops.broadcast_to(mask, tuple(result.shape))
    return wrap(result, mask)


def _check_round(name: str, args: tuple, kwargs: dict) -> None:
    """torch's MaskedTensor ``round``: no ``decimals`` (positional: TypeError; keyword:
    ValueError, its unary rule takes no kwargs)."""
    if name.startswith("round") and len(args) > 1:
        raise TypeError(f"{name}() takes from 1 to 0 positional arguments but 1 were given")
    if name.startswith("round") and kwargs:
        raise ValueError(
            "MaskedTensor unary ops require that len(kwargs) == 0. If you need support for "
            "this, please open an issue on Github."
        )


def _unary(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    _check_round(name, args, kwargs)
    if name in ("to", "type_as") and len(args) > 1 and isinstance(args[1], Tensor):
        # another tensor: its dtype, as torch's (to(other) / type_as(other))
        func, args = Tensor.to, (args[0], args[1].dtype, *args[2:])
    extra = [a for a in (*args[1:], *kwargs.values()) if isinstance(a, Tensor)]
    if extra:
        raise TypeError("MaskedTensor unary ops do not support additional Tensor arguments")
    return _with_mask(_run(func, args, kwargs), args[0]._masked_mask)


def _check_binary(name: str, args: tuple, kwargs: dict) -> None:
    """torch's refusals of a binary call: ``alpha=`` / ``rounding_mode=`` (ValueError), a
    number as ``other`` of an op whose ``other`` must be a Tensor (TypeError)."""
    if _BINARY_KWARGS & kwargs.keys():
        raise ValueError(
            f"len(kwargs) must equal 0 (MaskedTensor {name}: torch's MaskedTensor takes no "
            f"{sorted(_BINARY_KWARGS & kwargs.keys())} here)"
        )
    other = args[1] if len(args) > 1 else kwargs.get("other")
    if name in _TENSOR_OTHER and not isinstance(other, Tensor):
        raise TypeError(
            f"{name}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}"
        )


def _binary(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    _check_binary(name, args, kwargs)
    mask = _same_masks(_masks_of(args[:2]))
    return _with_mask(_run(func, args, kwargs), mask)


def _inplace(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    base = _INPLACE_OF[name]
    if base in _BINARY:
        _check_binary(name, args, kwargs)
        _same_masks(_masks_of(args[:2]))
    else:
        _check_round(name, args, kwargs)
    if base not in _BINARY and any(isinstance(a, Tensor) for a in (*args[1:], *kwargs.values())):
        raise TypeError("MaskedTensor unary ops do not support additional Tensor arguments")
    _run(func, args, kwargs)
    return args[0]


def _reduction_args(name: str, args: tuple, kwargs: dict) -> dict:
    """The reduction's dim / keepdim / dtype from the method and function forms' positions
    and keywords. As torch's MaskedTensor, ``var``/``std`` take (dim, keepdim) only: their
    ``unbiased=`` / ``correction=`` / ``dtype=`` raise TypeError (the default correction, 1,
    applies)."""
    out = {"dim": None, "keepdim": False, "dtype": None}
    for key, value in zip(("dim", "keepdim"), args[1:]):
        out[key] = value
    for key, value in kwargs.items():
        if key not in out or (key == "dtype" and name in _NO_DTYPE):
            raise TypeError(f"MaskedTensor.{name}() got an unexpected keyword argument {key!r}")
        out[key] = value
    return out


def _reduce(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    mt = args[0]
    mask = mt._masked_mask
    a = _reduction_args(name, args, kwargs)
    dim, keepdim = a["dim"], bool(a["keepdim"])
    if name == "all":
        dims = dims_of(mt, dim)
        filled = ops.where(mask, mt != 0, True)
        data = ops.all(filled, dim=dims, keepdim=keepdim) if dims else filled
    else:
        extra = {} if name in _NO_DTYPE else {"dtype": a["dtype"]}
        data = getattr(red, name)(mt, dim, keepdim=keepdim, mask=mask, **extra)
        dims = dims_of(mt, dim)
    return wrap(data, reduced_mask(mask, dims, keepdim))


def _softmax(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    """The masked softmax; ``dim`` and ``dtype`` read by ``func``'s own signature
    (``cr.softmax(x, dim, dtype)``, ``F.softmax(x, dim, _stacklevel, dtype)``, the method)."""
    mt = args[0]
    try:
        bound = inspect.signature(func).bind(*args, **kwargs).arguments
    except TypeError as exc:
        raise TypeError(f"MaskedTensor {name}: {exc}") from None
    dim, dtype = bound.get("dim"), bound.get("dtype")
    if dim is None:
        raise TypeError("MaskedTensor softmax: dim must be given")
    kind = dtype if dtype is not None else mt.dtype
    if not (kind.is_floating_point or kind.is_complex):
        raise NotImplementedError(
            f"\"masked_softmax\" not implemented for '{scalar_type_name(kind)}' (MaskedTensor "
            "softmax: pass a floating dtype= or a floating MaskedTensor)"
        )
    with _tf.DisableTorchFunctionSubclass():
        out = masked_softmax(mt, dim, dtype=dtype, mask=mt._masked_mask)
    return wrap(out, mt._masked_mask)


def _where(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    bound = inspect.signature(func).bind(*args, **kwargs).arguments  # function or method
    cond, a, b = bound["condition"], bound.get("input", bound.get("self")), bound.get("other")
    if isinstance(cond, MaskedTensor):
        raise TypeError("MaskedTensor where: the condition must be a plain bool Tensor")

    def mask_of(x: Any) -> Any:
        return x._masked_mask if isinstance(x, MaskedTensor) else True

    with _tf.DisableTorchFunctionSubclass():
        data = ops.where(cond, a, b)
        mask = ops.where(cond, mask_of(a), mask_of(b))
    return wrap(data, ops.broadcast_to(mask, tuple(data.shape)))


def _view(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    if name in ("cat", "concat", "concatenate", "stack"):
        seq = args[0]
        datas = list(seq)
        masks = [
            x._masked_mask if isinstance(x, MaskedTensor) else ones_like(x, dtype=bool_)
            for x in seq
        ]
        data = _run(func, (datas, *args[1:]), kwargs)
        mask = _run(func, (masks, *args[1:]), kwargs)
        return wrap(data, mask)
    sizes = args[1] if len(args) > 1 else kwargs.get("split_size_or_sections")
    if name == "split" and isinstance(sizes, (list, tuple)):
        raise TypeError(_no_rule("split_with_sizes"))  # torch has no rule for the sizes form
    mt = args[0]
    rest = tuple(a._masked_mask if isinstance(a, MaskedTensor) else a for a in args[1:])
    data = _run(func, args, kwargs)
    mask = _run(func, (mt._masked_mask, *rest), kwargs)
    if isinstance(data, (tuple, list)):
        return tuple(wrap(d, m) for d, m in zip(data, mask))
    return wrap(data, mask)


def _query(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    if name == "backward":
        grad = kwargs.pop("gradient", args[1] if len(args) > 1 else None)
        if isinstance(grad, MaskedTensor):
            grad = grad.get_data().detach()
        args = (args[0], grad, *args[2:])
    out = _run(func, args, kwargs)
    if name == "requires_grad_":
        mask_leaf_grad(args[0])
    return out


def _copy(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``mt.copy_(src)``: ``src``'s values (a MaskedTensor's data, a tensor or a number)
    into the data; ``mt`` keeps its own mask, as torch's."""
    mt, src = args[0], args[1] if len(args) > 1 else kwargs.pop("src")
    if isinstance(src, MaskedTensor):
        src = src.as_subclass(Tensor)
    elif not isinstance(src, Tensor):
        src = Tensor._new(src)
    _run(func, (mt, src, *args[2:]), kwargs)
    return mt


def _max_min(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``max(mt, other)`` / ``min(mt, other)``: the binary (elementwise) forms are pointwise
    ops, as torch's; the reductions (no ``other``, or a dim) have no rule."""
    other = args[1] if len(args) > 1 else kwargs.get("other")
    if not isinstance(other, Tensor):
        raise TypeError(_no_rule(name))
    return _binary(name, func, args, kwargs)


def _sum_to_size(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``mt.sum_to_size(*size)``: the masked sum over the dims that shrink (a result is in
    the mask when its slice had an element in it), as torch's."""
    mt = args[0]
    size = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
    size = tuple(kwargs.pop("size", size))
    data = _run(func, (mt.as_subclass(Tensor).detach(), *size), {})  # the shape check
    lead = mt.dim() - len(size)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(size) if n == 1 and mt.shape[lead + i] != 1
    )
    out = red.sum(mt.as_subclass(Tensor), dims, keepdim=True, mask=mt._masked_mask)
    mask = reduced_mask(mt._masked_mask, dims, True)
    shape = tuple(data.shape)
    return wrap(out.reshape(shape), mask.reshape(shape))


def _type(name: str, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``mt.type()``: the type's name (a query); ``mt.type(dtype)``: a cast, as ``to``."""
    if len(args) == 1 and not kwargs:
        return _run(func, args, kwargs)
    return _unary(name, func, args, kwargs)


_HANDLERS: dict[str, Callable] = {
    **dict.fromkeys(_UNARY, _unary),
    **dict.fromkeys(_BINARY, _binary),
    **dict.fromkeys(_INPLACE_OF, _inplace),
    **dict.fromkeys(_REDUCTIONS, _reduce),
    **dict.fromkeys(_VIEWS, _view),
    **dict.fromkeys(_QUERIES, _query),
    "softmax": _softmax,
    "where": _where,
    "copy_": _copy,
    "max": _max_min,
    "min": _max_min,
    "sum_to_size": _sum_to_size,
    "type": _type,
}
_MT_NAMES = frozenset({"mT", "_matrix_transpose"})  # the mT property's getter


def _no_rule(name: str) -> str:
    return (
        f"MaskedTensor does not support {name!r}: torch's MaskedTensor has no rule "
        "for it (torch raises TypeError: all __torch_dispatch__ handlers returned "
        "NotImplemented); use .get_data() or .to_tensor(value) for a plain tensor"
    )


def _op_name(func: Callable) -> str:
    """The op's public name: a method defined apart from the function of the same name
    (``log10_method_``, ``polygamma_method``) counts as that op."""
    name = getattr(func, "__name__", "")
    if name.endswith("_method_"):
        return name[: -len("_method_")] + "_"
    return name.removesuffix("_method")


def torch_function(
    cls: type, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None
) -> Any:
    """MaskedTensor's ``__torch_function__``: the rule of ``func`` (by name) applied to the
    call; TypeError for an op torch's MaskedTensor does not support."""
    kwargs = dict(kwargs or {})
    name = _op_name(func)
    handler = _HANDLERS.get(name)
    if handler is None and name in _MT_NAMES:
        handler = _view
    if handler is None:
        raise TypeError(_no_rule(name or repr(func)))
    if not isinstance(args[0] if args else None, MaskedTensor) and handler not in (
        _where,
        _view,
        _binary,
    ):
        raise TypeError(f"MaskedTensor: {name} expects a MaskedTensor as its first argument")
    with _tf.DisableTorchFunctionSubclass():  # the rules compute on the data as plain tensors
        return handler(name, func, args, kwargs)


MaskedTensor.__torch_function__ = classmethod(torch_function)  # after the class: see core.py
