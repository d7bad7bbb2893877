"""What calling a ``chainrule.ops.aten`` handle runs: ATen overload -> chainrule function.

PyTorch code calls kernels through their ATen overloads (``torch.ops.aten.mm.default(a, b)``,
``torch.ops.aten.sum.dim_IntList(x, [0], True)``) in decompositions, quantization helpers,
custom autograd code and FX graphs. :data:`CALLS` maps each overload chainrule can run to an
adapter that takes the ATen schema's arguments (order, names, keyword-only parts, defaults;
``torch.ops.aten.<op>.<overload>._schema``) and calls the chainrule function with the same
meaning, so that gradients flow through the call as through the function. :data:`PICK` is how
a packet call (``torch.ops.aten.add(x, 2)``) chooses its overload from the arguments, as
PyTorch's dispatcher matches the schemas: a packet with one runnable overload uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr  # the package's functions, looked up at call time (after its import)

from ..autograd.tensor import Tensor

__all__ = ["CALLS", "PICK", "call_packet"]

_F = None  # chainrule.nn.functional, bound on first use (ops/ is imported before nn/)


def _fn() -> Any:
    global _F
    if _F is None:
        _F = cr.nn.functional
    return _F


def _all_if_empty(dim: Any) -> Any:
    """ATen's ``int[1]? dim``: ``None`` or ``[]`` reduce over every dimension."""
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return None
    return dim


def _reduce(name: str) -> Callable:
    def call(self: Tensor, dim: Any, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        d = _all_if_empty(dim)
        if d is None:
            d = tuple(range(self.ndim))
        fn = getattr(cr, name)
        return fn(self, d, keepdim, dtype=dtype) if self.ndim else fn(self, dtype=dtype)

    return call


def _amax(name: str) -> Callable:
    def call(self: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
        d = _all_if_empty(dim)
        return getattr(cr, name)(self, tuple(range(self.ndim)) if d is None else d, keepdim)

    return call


def _softmax(name: str) -> Callable:
    def call(self: Tensor, dim: int, half_to_float: bool) -> Tensor:
        if half_to_float:  # PyTorch's CPU kernel refuses it; chainrule runs on the CPU
            raise RuntimeError("softmax with half to float conversion is not supported on CPU")
        return getattr(cr, name)(self, dim)

    return call


def _slice(self: Tensor, dim: int = 0, start: Any = None, end: Any = None, step: int = 1) -> Tensor:
    if step <= 0:  # the index form's step < 0 message points at flip(); ATen's says this
        raise RuntimeError("slice step must be positive")
    d = dim + self.ndim if dim < 0 else dim
    return self[(slice(None),) * d + (slice(start, end, step),)]


def _squeeze(self: Tensor, dim: Any = None) -> Tensor:
    return cr.squeeze(self) if dim is None else cr.squeeze(self, dim)


def _convolution(
    input: Tensor,
    weight: Tensor,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    transposed: bool,
    output_padding: Any,
    groups: int,
) -> Tensor:
    n = input.ndim - 2
    if n not in (1, 2, 3):
        raise NotImplementedError(
            f"aten.convolution.default: chainrule runs 1-, 2- and 3-d convolutions; got an "
            f"input of {input.ndim} dimensions"
        )
    F = _fn()
    if transposed:
        conv = getattr(F, f"conv_transpose{n}d")
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{n}d")(input, weight, bias, stride, padding, dilation, groups)


def _embedding(
    weight: Tensor,
    indices: Tensor,
    padding_idx: int = -1,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    pad = None if padding_idx < 0 else padding_idx  # ATen: -1 is "no padding index"
    return _fn().embedding(
        indices, weight, pad, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse
    )


def _factory(name: str) -> Callable:
    def call(
        size: Any,
        *,
        dtype: Any = None,
        layout: Any = None,
        device: Any = None,
        pin_memory: Any = None,
    ) -> Tensor:
        fn = getattr(cr, name)
        return fn(size, dtype=dtype, layout=layout, device=device, pin_memory=bool(pin_memory))

    return call


def _like(name: str) -> Callable:
    def call(
        self: Tensor,
        *,
        dtype: Any = None,
        layout: Any = None,
        device: Any = None,
        pin_memory: Any = None,
        memory_format: Any = None,
    ) -> Tensor:
        return getattr(cr, name)(
            self,
            dtype=dtype,
            layout=layout,
            device=device,
            pin_memory=bool(pin_memory),
            memory_format=memory_format,
        )

    return call


def _full(
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: Any = None,
) -> Tensor:
    return cr.full(
        size, fill_value, dtype=dtype, layout=layout, device=device, pin_memory=bool(pin_memory)
    )


def _empty(
    size: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: Any = None,
    memory_format: Any = None,
) -> Tensor:
    return cr.empty(
        size,
        dtype=dtype,
        layout=layout,
        device=device,
        pin_memory=bool(pin_memory),
        memory_format=memory_format,
    )


def _unary(name: str) -> Callable:
    return lambda self: getattr(cr, name)(self)


def _clone(self: Tensor, *, memory_format: Any = None) -> Tensor:
    return cr.clone(self) if memory_format is None else cr.clone(self, memory_format=memory_format)


_UNARY = "neg exp log sqrt rsqrt tanh sigmoid relu relu_ abs sin cos reciprocal sign t detach"

# "<op>.<overload>" -> adapter taking the ATen schema's arguments
CALLS: dict[str, Callable] = {f"{n}.default": _unary(n) for n in _UNARY.split()}
CALLS.update(
    {
        "mm.default": lambda self, mat2: cr.mm(self, mat2),
        "bmm.default": lambda self, mat2: cr.bmm(self, mat2),
        "mv.default": lambda self, vec: cr.mv(self, vec),
        "dot.default": lambda self, tensor: cr.dot(self, tensor),
        "matmul.default": lambda self, other: cr.matmul(self, other),
        "linear.default": lambda input, weight, bias=None: _fn().linear(input, weight, bias),
        "addmm.default": lambda self, mat1, mat2, *, beta=1, alpha=1: cr.addmm(
            self, mat1, mat2, beta=beta, alpha=alpha
        ),
        "baddbmm.default": lambda self, batch1, batch2, *, beta=1, alpha=1: cr.baddbmm(
            self, batch1, batch2, beta=beta, alpha=alpha
        ),
        "add.Tensor": lambda self, other, *, alpha=1: cr.add(self, other, alpha=alpha),
        "add.Scalar": lambda self, other, alpha=1: cr.add(self, other, alpha=alpha),
        "sub.Tensor": lambda self, other, *, alpha=1: cr.sub(self, other, alpha=alpha),
        "sub.Scalar": lambda self, other, alpha=1: cr.sub(self, other, alpha=alpha),
        "mul.Tensor": lambda self, other: cr.mul(self, other),
        "mul.Scalar": lambda self, other: cr.mul(self, other),
        "div.Tensor": lambda self, other: cr.div(self, other),
        "div.Scalar": lambda self, other: cr.div(self, other),
        "div.Tensor_mode": lambda self, other, *, rounding_mode: cr.div(
            self, other, rounding_mode=rounding_mode
        ),
        "div.Scalar_mode": lambda self, other, *, rounding_mode: cr.div(
            self, other, rounding_mode=rounding_mode
        ),
        "pow.Tensor_Tensor": lambda self, exponent: cr.pow(self, exponent),
        "pow.Tensor_Scalar": lambda self, exponent: cr.pow(self, exponent),
        "pow.Scalar": lambda self, exponent: cr.pow(self, exponent),
        "maximum.default": lambda self, other: cr.maximum(self, other),
        "minimum.default": lambda self, other: cr.minimum(self, other),
        "eq.Tensor": lambda self, other: cr.eq(self, other),
        "eq.Scalar": lambda self, other: cr.eq(self, other),
        "gt.Tensor": lambda self, other: cr.gt(self, other),
        "gt.Scalar": lambda self, other: cr.gt(self, other),
        "lt.Tensor": lambda self, other: cr.lt(self, other),
        "lt.Scalar": lambda self, other: cr.lt(self, other),
        "where.self": lambda condition, self, other: cr.where(condition, self, other),
        "where.ScalarOther": lambda condition, self, other: cr.where(condition, self, other),
        "where.ScalarSelf": lambda condition, self, other: cr.where(condition, self, other),
        "where.Scalar": lambda condition, self, other: cr.where(condition, self, other),
        "clamp.default": lambda self, min=None, max=None: cr.clamp(self, min, max),
        "clamp.Tensor": lambda self, min=None, max=None: cr.clamp(self, min, max),
        "gelu.default": lambda self, *, approximate="none": _fn().gelu(self, approximate),
        "silu.default": lambda self: _fn().silu(self),
        "sum.default": lambda self, *, dtype=None: cr.sum(self, dtype=dtype),
        "sum.dim_IntList": _reduce("sum"),
        "mean.default": lambda self, *, dtype=None: cr.mean(self, dtype=dtype),
        "mean.dim": _reduce("mean"),
        "amax.default": _amax("amax"),
        "amin.default": _amax("amin"),
        "argmax.default": lambda self, dim=None, keepdim=False: cr.argmax(self, dim, keepdim),
        "var.default": lambda self, unbiased=True: cr.var(self, unbiased=unbiased),
        "var.dim": lambda self, dim, unbiased=True, keepdim=False: cr.var(
            self, _all_if_empty(dim), unbiased=unbiased, keepdim=keepdim
        ),
        "var.correction": lambda self, dim=None, *, correction=None, keepdim=False: cr.var(
            self, _all_if_empty(dim), correction=correction, keepdim=keepdim
        ),
        "_softmax.default": _softmax("softmax"),
        "_log_softmax.default": _softmax("log_softmax"),
        "native_layer_norm.default": lambda *args: cr.native_layer_norm(*args),
        "view.default": lambda self, size: self.view(list(size)),
        "_unsafe_view.default": lambda self, size: cr.reshape(self, list(size)),
        "reshape.default": lambda self, shape: cr.reshape(self, list(shape)),
        "transpose.int": lambda self, dim0, dim1: cr.transpose(self, dim0, dim1),
        "permute.default": lambda self, dims: cr.permute(self, list(dims)),
        "expand.default": lambda self, size, *, implicit=False: self.expand(list(size)),
        "slice.Tensor": _slice,
        "select.int": lambda self, dim, index: cr.select(self, dim, index),
        "index_select.default": lambda self, dim, index: cr.index_select(self, dim, index),
        "unsqueeze.default": lambda self, dim: cr.unsqueeze(self, dim),
        "squeeze.default": _squeeze,
        "squeeze.dim": lambda self, dim: cr.squeeze(self, dim),
        "squeeze.dims": lambda self, dim: cr.squeeze(self, tuple(dim)),
        "split.Tensor": lambda self, split_size, dim=0: list(cr.split(self, split_size, dim)),
        "split.sizes": lambda self, split_size, dim=0: list(cr.split(self, list(split_size), dim)),
        "clone.default": _clone,
        "cat.default": lambda tensors, dim=0: cr.cat(list(tensors), dim),
        "stack.default": lambda tensors, dim=0: cr.stack(list(tensors), dim),
        "convolution.default": _convolution,
        "embedding.default": _embedding,
        "native_dropout.default": lambda input, p, train: cr.native_dropout(input, p, train),
        "zeros_like.default": _like("zeros_like"),
        "ones_like.default": _like("ones_like"),
        "full.default": _full,
        "empty.memory_format": _empty,
        "zeros.default": _factory("zeros"),
        "ones.default": _factory("ones"),
    }
)


def _arg(args: tuple, kwargs: dict, i: int, name: str) -> Any:
    return args[i] if len(args) > i else kwargs.get(name)


def _binary(a: tuple, k: dict) -> str:
    return "Tensor" if isinstance(_arg(a, k, 1, "other"), Tensor) else "Scalar"


def _div(a: tuple, k: dict) -> str:
    return _binary(a, k) + ("_mode" if "rounding_mode" in k else "")


def _pow(a: tuple, k: dict) -> str:
    if not isinstance(_arg(a, k, 0, "self"), Tensor):
        return "Scalar"
    return "Tensor_" + ("Tensor" if isinstance(_arg(a, k, 1, "exponent"), Tensor) else "Scalar")


def _where(a: tuple, k: dict) -> str:
    s = isinstance(_arg(a, k, 1, "self"), Tensor)
    o = isinstance(_arg(a, k, 2, "other"), Tensor)
    return {(True, True): "self", (True, False): "ScalarOther", (False, True): "ScalarSelf"}.get(
        (s, o), "Scalar"
    )


def _clamp(a: tuple, k: dict) -> str:
    lo, hi = _arg(a, k, 1, "min"), _arg(a, k, 2, "max")
    return "Tensor" if isinstance(lo, Tensor) or isinstance(hi, Tensor) else "default"


def _has(i: int, name: str, yes: str, no: str) -> Callable[[tuple, dict], str]:
    return lambda a, k: yes if len(a) > i or name in k else no


def _var(a: tuple, k: dict) -> str:
    if "correction" in k:
        return "correction"
    dim = _arg(a, k, 1, "dim")
    return "default" if dim is None or isinstance(dim, bool) else "dim"


def _squeeze_pick(a: tuple, k: dict) -> str:
    dim = _arg(a, k, 1, "dim")
    return "default" if dim is None else "dims" if isinstance(dim, (list, tuple)) else "dim"


# packet name -> the overload a packet call runs, chosen from (args, kwargs)
PICK: dict[str, Callable[[tuple, dict], str]] = {
    "add": _binary,
    "sub": _binary,
    "mul": _binary,
    "eq": _binary,
    "gt": _binary,
    "lt": _binary,
    "div": _div,
    "pow": _pow,
    "where": _where,
    "clamp": _clamp,
    "sum": _has(1, "dim", "dim_IntList", "default"),
    "mean": _has(1, "dim", "dim", "default"),
    "squeeze": _squeeze_pick,
    "var": _var,
    "split": lambda a, k: (
        "sizes" if isinstance(_arg(a, k, 1, "split_size"), (list, tuple)) else "Tensor"
    ),
}


def call_packet(name: str, overloads: list[str], args: tuple, kwargs: dict) -> str:
    """The overload of packet ``aten.<name>`` that a call with ``args``/``kwargs`` runs."""
    pick = PICK.get(name)
    if pick is not None:
        return pick(args, kwargs)
    runnable = [o for o in overloads if f"{name}.{o}" in CALLS]
    return runnable[0] if len(runnable) == 1 else "default"
