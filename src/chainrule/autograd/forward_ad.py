"""``cr.autograd.forward_ad``: PyTorch's dual-tensor API for forward-mode AD.

Inside ``with dual_level():`` a *dual tensor* ``make_dual(x, t)`` carries a tangent ``t``
beside its value; every op applied to it also pushes the tangent through the op's ``jvp``
rule, so ``unpack_dual(f(make_dual(x, t))).tangent`` is the Jacobian-vector product
J_f(x)·t, computed in the same pass as f(x). This is the API of PyTorch's forward-mode
tutorial; ``cr.func.jvp`` is the functional form of the same machinery.

A level owns its tangents (:class:`~.state.ForwardLevel`): when ``dual_level`` exits they
are gone, so a tensor computed inside it and used again in a later level does not bring its
old tangent along. As in PyTorch only one level exists at a time (per thread): entering a
second one, or calling ``cr.func.jvp`` inside one, raises.

Tangents are plain values (not recorded in the graph): reverse mode over a tangent that
requires grad is not supported and raises ``NotImplementedError``; forward-over-reverse
(``jacfwd(jacrev(f))``, a backward pass inside a level) is.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import dtypes as _dt
from ..backend import get_array_module
from .function import Function
from .state import AutogradState, ForwardLevel, current
from .tensor import Tensor
from .view_base import owns_tangent

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the primal (a view of the dual tensor's value,
    without a tangent) and the tangent (None if the tensor has none in this level)."""

    primal: Tensor
    tangent: Tensor | None


class _Alias(Function):
    """A view of the whole tensor (same memory, gradient passed through): the dual tensor
    ``make_dual`` returns and the primal ``unpack_dual`` returns are such views."""

    raw = True
    is_view = True
    node_name = "AliasBackward0"
    complex_grad = True  # the identity: right for complex tensors as it is

    @staticmethod
    def forward(ctx, x):
        return x.view()

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, t):
        return t


class _TangentWithoutGraph(Function):
    """The tangent ``unpack_dual`` reads from a dual tensor that requires grad: it requires
    grad as in PyTorch, but chainrule's forward mode computes tangents as arrays, without
    the graph that reverse mode would need, so a backward pass through it raises instead
    of leaving out its share of the gradient. ``cr.func.jvp`` supports this case."""

    raw = True
    node_name = "TangentBackward"
    complex_grad = True  # passes values and gradients through: right for complex too

    @staticmethod
    def forward(ctx, x, tan, why=None):
        ctx.why = why
        return tan

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(
            ctx.why
            or "backward through a tangent from autograd.forward_ad.unpack_dual (reverse mode "
            "over forward mode) is not supported: chainrule's forward-mode tangents carry no "
            "graph. Compute it with cr.func.jvp instead (its tangents are differentiable), "
            "or detach the tangent"
        )

    @staticmethod
    def jvp(ctx, tx, ttan, why=None):
        return None  # a tangent has no tangent of its own at this level, as in PyTorch


_NESTED = "Nested forward mode AD is not supported at the moment"


def enter_level(state: AutogradState, api: str) -> ForwardLevel:
    """Open the thread's forward-AD level (shared by ``dual_level`` and ``cr.func.jvp``)."""
    if state.fw_level is not None:
        raise RuntimeError(
            f"{api}: {_NESTED} (one dual_level / jvp at a time; for higher-order derivatives "
            "use cr.func.jacfwd(cr.func.jacrev(f)) or cr.func.hessian)"
        )
    level = ForwardLevel(0, api)
    state.fw_level = level
    state.forward_ad = 1
    return level


def exit_level(state: AutogradState, level: ForwardLevel) -> None:
    """Close ``level``: its tangents read as None from now on."""
    level.alive = False
    state.fw_level = None
    state.forward_ad = 0


def enter_dual_level() -> int:
    """Enter a new forward-AD level and return its index (0: only one level exists)."""
    return enter_level(current(), "enter_dual_level").index


def exit_dual_level(*, level: int | None = None) -> None:
    """Exit the current forward-AD level; every tangent made in it is destroyed."""
    state = current()
    active = state.fw_level
    if active is None:
        raise RuntimeError("exit_dual_level: Dual level must be a positive number (none is open).")
    if level is not None and level != active.index:
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one that was created. "
            "This is not supported."
        )
    exit_level(state, active)


class dual_level:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) for forward AD: ``with dual_level(): ...``.

    Dual tensors are made and unpacked inside it; on exit their tangents are deleted
    (``unpack_dual(out).tangent`` is None afterwards), as in PyTorch.
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()

    def __call__(self, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with dual_level():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


def _active(level: int | None, api: str) -> ForwardLevel | None:
    """The level ``api`` works in: the open one, checked against an explicit ``level``."""
    active = current().fw_level
    if level is not None and (active is None or level != active.index):
        raise RuntimeError(f"{api}: forward AD level {level} does not exist")
    return active


def check_dual_pair(primal: Tensor, tangent: Tensor) -> None:
    """PyTorch's checks on a primal and its tangent (``make_dual``, ``cr.func.jvp``): both
    floating (float16/32/64, bfloat16) or complex, the dtypes may differ; same shape."""
    for name, t in (("primal", primal), ("tangent", tangent)):
        if not (_dt.is_floating(t.dtype) or t.dtype.kind == "c"):  # bfloat16: kind 'V'
            raise ValueError(f"Expected {name} to be floating point or complex, but got: {t.dtype}")
    if tuple(tangent.shape) != tuple(primal.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(primal.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}."
        )


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A dual tensor: a view of ``tensor`` (same storage; differentiable in reverse mode
    with respect to ``tensor``) that carries ``tangent`` as its forward-mode tangent.

    ``tangent`` must have ``tensor``'s shape and a floating dtype (it may differ from the
    primal's, as in PyTorch); it is kept as is, so ``unpack_dual`` returns the same object.
    """
    active = _active(level, "make_dual")
    if active is None:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    for name, t in (("tensor", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"make_dual(): argument '{name}' must be Tensor, not {type(t).__name__}"
            )
    check_dual_pair(tensor, tangent)
    if tensor._fw_tangent is not None:
        raise RuntimeError(
            "Making a dual Tensor based on a Tensor that already has a forward gradient at the "
            f"same level {active.index} is not supported."
        )
    if tangent.requires_grad:
        raise NotImplementedError(
            "make_dual: a tangent that requires grad (reverse mode over forward mode) is not "
            "supported by chainrule; use forward over reverse (cr.func.jacfwd(cr.func.jacrev(f)))"
        )
    dual = _Alias.apply(tensor)
    owns_tangent(dual)  # as in PyTorch: writes through its views change this tangent, not x's
    if _layout(tangent._data) != _layout(tensor._data):
        # as in PyTorch, a tangent laid out unlike its primal is copied into the primal's
        # layout (in-place ops on the dual then write into the copy, not the user's tangent)
        arr = get_array_module(tensor._data).empty_like(tensor._data, dtype=tangent._data.dtype)
        arr[...] = tangent._data
        tangent = Tensor._make(arr, False, None, 0)
    dual._fw = (active, tangent._data, tangent)
    return dual


def _layout(arr: Any) -> tuple:
    """An array's strides in elements over its dims longer than one (what decides whether
    a tangent is laid out as its primal; byte strides differ between dtypes)."""
    return tuple(st // arr.itemsize for n, st in zip(arr.shape, arr.strides) if n > 1)


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` in the current level.

    ``primal`` is a view of ``tensor``'s value without the tangent (still connected to the
    graph for reverse mode); ``tangent`` is None where ``tensor`` has none. Outside any level
    the tensor itself and None are returned, as in PyTorch.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
            f"{type(tensor).__name__}"
        )
    active = _active(level, "unpack_dual")
    if active is None:
        return UnpackedDualTensor(tensor, None)
    primal = _Alias.apply(tensor)  # first: a stale view re-takes its tangent here
    primal._fw = None  # the primal view carries no tangent (and owns the one it may get)
    owns_tangent(primal)
    tan = tensor._fw_tangent
    fw = tensor._fw
    if tan is None:
        return UnpackedDualTensor(primal, None)
    given = fw[2]
    if given is not None and given._data is tan:
        return UnpackedDualTensor(primal, given)
    if tensor.requires_grad and current().grad_enabled:
        # the tangent depends on what the primal depends on, but is an array without a
        # graph: differentiating it (reverse over forward) would silently miss that part
        return UnpackedDualTensor(primal, _TangentWithoutGraph.apply(tensor, tan))
    return UnpackedDualTensor(primal, Tensor._make(tan, False, None, 0))
