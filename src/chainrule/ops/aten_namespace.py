"""``chainrule.ops.aten``: handles for PyTorch's ATen operators (``torch.ops.aten.mm.default``)
and the map from chainrule's ops to them.

Code written for PyTorch names operators by their ATen overload, e.g. a selective
activation checkpointing policy ``op in [torch.ops.aten.mm.default]``. A drop-in user's
``torch.ops`` is ``chainrule.ops``, so ``chainrule.ops.aten.<name>`` is an
:class:`OpOverloadPacket` whose overloads (``.default``, ``.Tensor``, ...) are
:class:`OpOverload` handles, one object per overload, comparable with ``is``/``==`` and
hashable. Calling one runs chainrule's function with the ATen schema's meaning
(``aten.sum.dim_IntList(x, [0], True)``; the table is ``ops/aten_calls.py``); a packet call
(``aten.add(x, 2)``) picks its overload from the arguments as PyTorch's dispatcher does. An
overload chainrule does not run raises ``NotImplementedError`` naming it.

:func:`op_for` gives the handle of one chainrule op call (a ``Function`` class and its
arguments), as the interception of ``utils/selective_checkpoint.py`` hands it to a policy.
Where chainrule runs one op for what PyTorch decomposes into several (``linear`` is one
``LinearFn``; PyTorch dispatches ``t`` + ``addmm``, with ``view``s around for a batch), the
handle is that of the op doing the work (``addmm``, or ``mm`` without a bias). An op with
no ATen counterpart here gets a handle in the ``chainrule`` namespace
(``chainrule.<op>.default``), which no ``aten`` handle equals.
"""

from __future__ import annotations

from typing import Any

from ..profiler.hooks import op_name
from .aten_calls import CALLS, call_packet

__all__ = ["OpOverload", "OpOverloadPacket", "aten", "op_for"]


class OpOverload:
    """One overload of an operator (PyTorch's ``torch._ops.OpOverload``): ``aten.mm.default``."""

    __slots__ = ("_namespace", "_name", "_overloadname")

    def __init__(self, namespace: str, name: str, overload: str) -> None:
        self._namespace, self._name, self._overloadname = namespace, name, overload

    def name(self) -> str:
        """PyTorch's schema name: ``aten::mm`` (``aten::add.Tensor`` for a named overload)."""
        base = f"{self._namespace}::{self._name}"
        return base if self._overloadname == "default" else f"{base}.{self._overloadname}"

    @property
    def overloadpacket(self) -> OpOverloadPacket:
        return _packet(self._namespace, self._name)

    def __str__(self) -> str:
        return f"{self._namespace}.{self._name}.{self._overloadname}"

    def __repr__(self) -> str:
        return f"<OpOverload(op='{self._namespace}.{self._name}', overload='{self._overloadname}')>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = CALLS.get(f"{self._name}.{self._overloadname}") if self._namespace == "aten" else None
        if fn is None:
            raise NotImplementedError(
                f"{self}: chainrule cannot call this operator handle (it names the op for "
                "policies and comparisons); call the chainrule function instead"
            )
        return fn(*args, **kwargs)


class OpOverloadPacket:
    """An operator with its overloads as attributes (PyTorch's ``OpOverloadPacket``)."""

    def __init__(self, namespace: str, name: str, overloads: tuple[str, ...]) -> None:
        self._namespace, self._name = namespace, name
        self._overloads = {o: OpOverload(namespace, name, o) for o in overloads}

    def overloads(self) -> list[str]:
        """The overload names chainrule knows for this operator."""
        return list(self._overloads)

    def __getattr__(self, name: str) -> OpOverload:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.__dict__["_overloads"][name]
        except KeyError:
            raise AttributeError(
                f"The underlying op of '{self._namespace}.{self._name}' has no overload name "
                f"'{name}'"
            ) from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        overload = call_packet(self._name, list(self._overloads), args, kwargs)
        handle = self._overloads.get(overload)
        if handle is None:
            raise NotImplementedError(
                f"{self}: chainrule has no overload '{overload}' of this operator to call "
                f"(it has {self.overloads()})"
            )
        return handle(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self._namespace}.{self._name}"

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self._namespace}.{self._name}')>"


# the ATen operators chainrule's ops map to, with the overloads that exist for them
_ATEN: dict[str, tuple[str, ...]] = {
    "mm": ("default",),
    "addmm": ("default",),
    "bmm": ("default",),
    "mv": ("default",),
    "dot": ("default",),
    "matmul": ("default",),
    "linear": ("default",),
    "baddbmm": ("default",),
    "add": ("Tensor", "Scalar"),
    "sub": ("Tensor", "Scalar"),
    "mul": ("Tensor", "Scalar"),
    "div": ("Tensor", "Scalar", "Tensor_mode", "Scalar_mode"),
    "pow": ("Tensor_Scalar", "Tensor_Tensor", "Scalar"),
    "maximum": ("default",),
    "minimum": ("default",),
    "eq": ("Tensor", "Scalar"),
    "gt": ("Tensor", "Scalar"),
    "lt": ("Tensor", "Scalar"),
    "where": ("self", "ScalarOther", "ScalarSelf", "Scalar"),
    "clamp": ("default", "Tensor"),
    **{
        u: ("default",)
        for u in "neg exp log sqrt rsqrt tanh sigmoid relu relu_ gelu silu abs sin cos "
        "reciprocal sign".split()
    },
    "sum": ("default", "dim_IntList"),
    "mean": ("default", "dim"),
    "amax": ("default",),
    "amin": ("default",),
    "argmax": ("default",),
    "var": ("default", "dim", "correction"),
    "_softmax": ("default",),
    "_log_softmax": ("default",),
    "native_layer_norm": ("default",),
    "_scaled_dot_product_flash_attention_for_cpu": ("default",),
    "convolution": ("default",),
    "embedding": ("default",),
    "native_dropout": ("default",),
    "view": ("default",),
    "_unsafe_view": ("default",),
    "reshape": ("default",),
    "transpose": ("int",),
    "t": ("default",),
    "permute": ("default",),
    "expand": ("default",),
    "slice": ("Tensor",),
    "select": ("int",),
    "index_select": ("default",),
    "unsqueeze": ("default",),
    "squeeze": ("default", "dim", "dims"),
    "split": ("Tensor", "sizes"),
    "clone": ("default",),
    "cat": ("default",),
    "stack": ("default",),
    "detach": ("default",),
    "zeros_like": ("default",),
    "ones_like": ("default",),
    "full": ("default",),
    "empty": ("memory_format",),
    "zeros": ("default",),
    "ones": ("default",),
}

_packets: dict[tuple[str, str], OpOverloadPacket] = {}


def _packet(namespace: str, name: str) -> OpOverloadPacket:
    key = (namespace, name)
    p = _packets.get(key)
    if p is None:
        # a chainrule-namespace op has only .default, even where an aten op shares its name
        overloads = _ATEN.get(name, ("default",)) if namespace == "aten" else ("default",)
        p = _packets[key] = OpOverloadPacket(namespace, name, overloads)
    return p


class _OpNamespace:
    """``chainrule.ops.aten``: attribute ``mm`` is the packet of ``aten.mm``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, op: str) -> OpOverloadPacket:
        if op.startswith("__") or op not in _ATEN:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute '{op}'")
        return _packet(self.name, op)

    def __dir__(self) -> list[str]:
        return sorted(_ATEN)


aten = _OpNamespace("aten")


def _matmul(args: tuple) -> str:
    nd = tuple(getattr(a, "ndim", 0) for a in args[:2])
    return {(2, 2): "mm", (2, 1): "mv", (1, 1): "dot"}.get(nd, "bmm") + ".default"


def _is_tensor(a: Any) -> bool:
    return hasattr(a, "grad_fn")


_WHERE = {
    (True, True): "where.self",
    (True, False): "where.ScalarOther",
    (False, True): "where.ScalarSelf",
    (False, False): "where.Scalar",
}

# chainrule Function class name -> the ATen overload (a name, or a function of the arguments)
_BY_CLASS: dict[str, Any] = {
    "LinearFn": lambda args: "addmm.default" if args[2] is not None else "mm.default",
    "MatMul": _matmul,
    "Add": "add.Tensor",
    "Sub": "sub.Tensor",
    "Mul": "mul.Tensor",
    "Div": "div.Tensor",
    "Neg": "neg.default",
    "Exp": "exp.default",
    "Log": "log.default",
    "Sqrt": "sqrt.default",
    "Rsqrt": "rsqrt.default",
    "Tanh": "tanh.default",
    "Sigmoid": "sigmoid.default",
    "Relu": "relu.default",
    "Gelu": "gelu.default",
    "Silu": "silu.default",
    "Sum": lambda args: "sum.default" if len(args) < 2 or args[1] is None else "sum.dim_IntList",
    "Mean": lambda args: "mean.default" if len(args) < 2 or args[1] is None else "mean.dim",
    "Softmax": "_softmax.default",
    "LayerNormFn": "native_layer_norm.default",
    "ScaledDotProductAttention": "_scaled_dot_product_flash_attention_for_cpu.default",
    "Reshape": "view.default",
    "TransposeBackward": "transpose.int",
    "PermuteBackward": "permute.default",
    "Split": "split.Tensor",
    "Clone": "clone.default",
    "Cat": "cat.default",
    "Abs": "abs.default",
    "Sin": "sin.default",
    "Cos": "cos.default",
    "Reciprocal": "reciprocal.default",
    "Sign": "sign.default",
    "Maximum": "maximum.default",
    "Minimum": "minimum.default",
    "Amax": "amax.default",
    "Clamp": "clamp.default",
    "Pow": lambda args: "pow.Tensor_" + ("Tensor" if _is_tensor(args[1]) else "Scalar"),
    "Where": lambda args: _WHERE[(_is_tensor(args[0]), _is_tensor(args[1]))],
    "LogSoftmax": "_log_softmax.default",
    "IndexSelect": "index_select.default",
    "Stack": "stack.default",
    "EmbeddingFn": "embedding.default",
    "Conv2dFn": "convolution.default",
}


def op_for(cls: type, args: tuple) -> OpOverload:
    """The handle of one call of op ``cls`` (a ``Function`` class) with ``args``: its ATen
    overload where chainrule's op has one, else ``chainrule.<op name>.default``."""
    how = _BY_CLASS.get(cls.__name__) if cls.__module__.startswith("chainrule.") else None
    if how is None:
        name = op_name(cls)
        return _packet("chainrule", name.removeprefix("chainrule::")).default
    full = how if isinstance(how, str) else how(args)
    name, overload = full.split(".")
    return getattr(_packet("aten", name), overload)
