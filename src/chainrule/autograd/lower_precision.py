"""Lower-precision floating point in the op layer: how ops on bfloat16 tensors compute in
float32 and round once (:func:`run_in_float32`, called by ``Function.apply``), and where CPU
autocast hooks into ops (``AUTOCAST``, the cast rules for composed ops and the decorators
``autocast_float32_op`` / ``autocast_lower_precision_op``, the blocks autocast stays out of).

Kept apart from the conversions (``tensor_conversions.py``) because both ``Function.apply``
and dozens of ops import these hooks, while ``chainrule.amp`` (built on autograd) fills in the
casting rule itself.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import dtypes as _dt
from .tensor_conversions import TensorConversions

__all__ = [
    "AUTOCAST",
    "Float32Composite",
    "LowerPrecisionComposite",
    "autocast_arguments",
    "autocast_float32",
    "autocast_float32_op",
    "autocast_lower_precision",
    "autocast_lower_precision_op",
    "computing_in_float32",
    "in_float32_rerun",
    "in_float32_rounded_once",
    "outside_autocast",
    "run_in_float32",
    "without_autocast",
]

# Autocast's link into Function.apply: AUTOCAST[0] counts the enabled autocast contexts
# (a cheap test on every op), AUTOCAST[1] is the function that casts an op's arguments
# (set by chainrule.amp, which Function.apply cannot import: amp is built on autograd).
AUTOCAST: list[Any] = [0, None]
_LOCAL = threading.local()  # .float32: inside run_in_float32, where autocast stays out

# Ops that run on bfloat16 arrays as they are: conversions (running them in float32 would
# recurse) and ops found to return a view of their input (a float32 copy would cut the
# view's link to its base). run_in_float32 adds each view-returning op it meets.
_NATIVE_BF16 = {"Cast", "Clone", "ToDevice", "GetItem"}
# Ops PyTorch has no bfloat16 kernel for (decompositions, solvers, FFTs): the Function's
# class name and the op's name in PyTorch's error.
_NO_BF16_KERNEL = {
    "Inv": "linalg.inv",
    "Solve": "linalg.solve",
    "Det": "linalg.det",
    "SlogDet": "linalg.slogdet",
    "ComplexSlogDet": "linalg.slogdet",
    "Pinv": "linalg.pinv",
    "LUFactor": "linalg.lu_factor",
    "SVD": "linalg.svd",
    "SVDVals": "linalg.svdvals",
    "Cholesky": "linalg.cholesky",
    "QR": "linalg.qr",
    "Eigh": "linalg.eigh",
    "Geqrf": "geqrf",
    "LOBPCGFn": "lobpcg",
    "FftTransform": "fft",
}

# The Cast subclass that rounds an op's float32 result back to bfloat16 under the op's own
# node name (``y.grad_fn`` of a bfloat16 product reads ``MulBackward0``, not
# ``ToCopyBackward0``); built on first use, see _rounding_cast.
_ROUNDING_CAST: list[type] = []


def _root(arr: Any) -> Any:
    """The array owning ``arr``'s memory."""
    while getattr(arr, "base", None) is not None:
        arr = arr.base
    return arr


def _keeps_bfloat16(args: tuple) -> bool:
    """Whether a result computed in float32 from these arguments is bfloat16 in PyTorch: no
    other floating tensor of the same rank takes part (bfloat16 with float16 or float32 is
    float32; a 0-d float32 tensor beside a bfloat16 one with dimensions does not count)."""
    bf16_dims = any(
        isinstance(a, TensorConversions) and _dt.is_bfloat16(a._data.dtype) and a._data.ndim
        for a in args
    )
    for a in args:
        if isinstance(a, TensorConversions):
            d = a._data
            if d.dtype.kind in "fc" and (d.ndim or not bf16_dims):
                return False
    return True


def _rounding_cast() -> type:
    """The Cast Function whose node carries the name of the op it rounds (read from its
    input edge, :func:`_rounded_op_name`; same forward, backward and jvp as Cast, so gradients
    are unchanged; ``__name__`` stays ``Cast`` for the tables that key on it, and vmap finds
    Cast's rule through the base class). One class serves every op."""
    if not _ROUNDING_CAST:
        from ..ops.cast import Cast  # in here: ops are built on autograd

        attrs = {"node_name": staticmethod(_rounded_op_name), "__module__": Cast.__module__}
        sub = type("Cast", (Cast,), attrs)
        sub.__qualname__ = "Cast[rounding]"
        _ROUNDING_CAST.append(sub)
    return _ROUNDING_CAST[0]


def _rounded_op_name(ctx: Any) -> str:
    """The node name of a cast rounding an op's float32 result to bfloat16: the name of the
    op's own node (its input), so ``y.grad_fn.name()`` reads as in PyTorch."""
    inner = ctx.next_edges[0] if ctx.next_edges else None
    return inner[0].name() if type(inner) is tuple else "ToCopyBackward0"


def run_in_float32(cls: type, args: tuple, kwargs: dict) -> Any:
    """Run the op ``cls`` on bfloat16 tensors in float32 and round its floating results
    back to bfloat16 once, as PyTorch's CPU kernels compute bfloat16 ops; or
    ``NotImplemented`` for ops that run on bfloat16 as they are (conversions, views, and
    Functions marked ``native_bfloat16 = True``, which compute in float32 inside their own
    node and round once: PyTorch's one node, no casts around it).

    The casts are recorded ops, so gradients flow to bfloat16 leaves (and arrive in
    bfloat16). An op returning a view of its float32 input is rerun on the bfloat16 input
    (a view must share its base's memory) and remembered as such."""
    if any(isinstance(a, TensorConversions) and _dt.is_float8(a._data.dtype) for a in args):
        return _run_float8(cls, args, kwargs)
    name = cls.__name__
    native = getattr(cls, "native_bfloat16", False)  # True, or a test of the arguments
    if name in _NATIVE_BF16 or native is True or (native and native(args)):
        return NotImplemented  # (native_bfloat16: the op computes in float32 inside its node)
    if name in _NO_BF16_KERNEL:
        raise NotImplementedError(
            f"{_NO_BF16_KERNEL[name]}: not implemented for 'BFloat16' (PyTorch has no "
            "bfloat16 kernel for it either); convert the input with .float() first"
        )
    ups = []
    roots = []
    for a in args:
        if isinstance(a, TensorConversions) and _dt.is_bfloat16(a._data.dtype):
            a = a.to(_dt.float32)
            roots.append(_root(a._data))
        ups.append(a)
    outer = getattr(_LOCAL, "float32", False)
    _LOCAL.float32 = True  # autocast must not cast these float32 arguments back
    try:
        out = cls.apply(*ups, **kwargs)
    finally:
        _LOCAL.float32 = outer
    outs = out if isinstance(out, tuple) else (out,)
    if any(
        isinstance(o, TensorConversions) and any(_root(o._data) is r for r in roots) for o in outs
    ):
        _NATIVE_BF16.add(name)  # a view: rerun on the bfloat16 tensors themselves
        return NotImplemented
    if not _keeps_bfloat16(args):
        return out
    bf16 = _dt.bfloat16_dtype()
    rounding = _rounding_cast()
    back = tuple(
        rounding.apply(o, bf16)
        if isinstance(o, TensorConversions) and o._data.dtype == _dt.float32
        else o
        for o in outs
    )
    return back if isinstance(out, tuple) else back[0]


def _run_float8(cls: type, args: tuple, kwargs: dict) -> Any:
    """An op on float8 tensors as PyTorch runs it (``float8.check_op``): on the float8
    arrays as they are (``NotImplemented``), in float32 rounded once to the float8 type
    (``abs``, ``mul``), or PyTorch's error."""
    from ..float8 import check_op  # float8.py imports dtypes, which this module needs first

    raw = [a._data if isinstance(a, TensorConversions) else a for a in args]
    if check_op(cls, args, raw) == "native":
        return NotImplemented
    f8 = next(a.dtype for a in raw if _dt.is_float8(getattr(a, "dtype", None)))
    ups = [
        a.to(_dt.float32)
        if isinstance(a, TensorConversions) and _dt.is_float8(a._data.dtype)
        else a
        for a in args
    ]
    return _rounding_cast().apply(cls.apply(*ups, **kwargs), f8)


def autocast_arguments(cls: type, args: tuple) -> tuple:
    """``args`` as an active autocast would pass them to the op ``cls``: for a composed op
    (``conv3d``) that must cast all its arguments, bias included, before its own checks,
    rather than have each inner op cast its part."""
    return AUTOCAST[1](cls, args) if AUTOCAST[0] else args


class Float32Composite:
    """Stands for a composed op of PyTorch's CPU autocast float32 list (``mse_loss``,
    ``l1_loss``, ``kl_div``, ...) in :func:`autocast_float32` (chainrule.amp casts for it)."""


class LowerPrecisionComposite:
    """Stands for a composed op of PyTorch's CPU autocast lower-precision list (``addmm``,
    ``baddbmm``, ``addbmm``, ``prelu``, ``linalg.vecdot``) in
    :func:`autocast_lower_precision` (chainrule.amp casts for it)."""


def autocast_lower_precision(*tensors: Any) -> tuple:
    """``tensors`` as an active CPU autocast passes them to an op of its lower-precision list:
    float32 (and float16) ones cast to the autocast dtype, so that every argument of a
    composed op (the added term of ``addmm`` too) is cast before its dtype checks, as in
    PyTorch. Outside autocast the tensors are returned as is."""
    return AUTOCAST[1](LowerPrecisionComposite, tensors) if AUTOCAST[0] else tensors


def autocast_float32(*tensors: Any) -> tuple:
    """``tensors`` as an active CPU autocast passes them to an op of its float32 list:
    bfloat16 ones cast to float32 (the op then computes and returns float32, as PyTorch's).
    For composed ops, called first thing; outside autocast the tensors are returned as is."""
    return AUTOCAST[1](Float32Composite, tensors) if AUTOCAST[0] else tensors


def _cast_first(fn: Callable, cast: Callable) -> Callable:
    """``fn`` with its tensor arguments passed through ``cast`` (an autocast rule) while
    CPU autocast is on, and its own parts then left alone (PyTorch runs one kernel below
    autocast). Outside autocast the call costs one integer test."""

    @functools.wraps(fn)
    def cast_then_call(*args: Any, **kwargs: Any) -> Any:
        if not AUTOCAST[0]:
            return fn(*args, **kwargs)
        args = cast(*args)
        if kwargs:
            kwargs = dict(zip(kwargs, cast(*kwargs.values())))
        with computing_in_float32():  # its parts are not cast again
            return fn(*args, **kwargs)

    return cast_then_call


def autocast_float32_op(fn: Callable) -> Callable:
    """Decorator for a public op of PyTorch's CPU autocast float32 list (the FFTs, the
    linear-algebra solvers and decompositions, 3-d and fractional max pooling, reflection and
    replication padding, several losses, ``quantile``, ``stft``, ``polar``): inside an
    active CPU autocast its float16 and bfloat16 tensor arguments are cast to float32 first,
    before the op's own dtype checks, so it computes and returns float32 as in PyTorch."""
    return _cast_first(fn, autocast_float32)


def autocast_lower_precision_op(fn: Callable) -> Callable:
    """Decorator for a public op that PyTorch's CPU autocast runs in the autocast dtype
    because its own parts are on the lower-precision list (the RNN cells are linear layers,
    ``scaled_dot_product_attention``): inside an active CPU autocast its float32 (and other
    half) tensor arguments are cast to the autocast dtype first."""
    return _cast_first(fn, autocast_lower_precision)


@contextlib.contextmanager
def computing_in_float32() -> Iterator[None]:
    """A block that computes a composed bfloat16 op in float32 (to round it once): autocast
    leaves its float32 ops alone, as inside :func:`run_in_float32`."""
    outer = getattr(_LOCAL, "float32", False)
    _LOCAL.float32 = True
    try:
        yield
    finally:
        _LOCAL.float32 = outer


def outside_autocast() -> contextlib.AbstractContextManager[None]:
    """A block whose ops autocast leaves alone: for ops that PyTorch's autocast does not cast
    (``mv``, ``dot``, ``addmv``, adaptive average pooling) but that chainrule composes from
    ops that it does cast (matmul). The same switch as :func:`computing_in_float32`."""
    return computing_in_float32()


def without_autocast(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with CPU autocast leaving the ops ``fn`` is composed of alone: for ops on
    none of PyTorch's autocast lists that chainrule composes from ops on them (``mv``,
    ``dot``, ``addmv``, adaptive average pooling). A plain call when no autocast is active."""
    if not AUTOCAST[0]:
        return fn(*args)
    with outside_autocast():
        return fn(*args)


def in_float32_rounded_once(fn: Any, input: Any, *args: Any) -> Any:  # noqa: A002
    """``fn(input, *args)`` for an op that PyTorch's CPU kernels compute in float32 for a
    bfloat16 ``input``, rounding the result once (adaptive average pooling); other dtypes
    run as they are. Autocast leaves the ops of ``fn`` alone (:func:`without_autocast`)."""
    if isinstance(input, TensorConversions) and _dt.is_bfloat16(input._data.dtype):
        with computing_in_float32():  # autocast stays out too
            return fn(input.float(), *args).to(input.dtype)
    return without_autocast(fn, input, *args)


def in_float32_rerun() -> bool:
    """Whether this thread is inside :func:`run_in_float32` (autocast leaves ops alone)."""
    return getattr(_LOCAL, "float32", False)
