"""A user ``autograd.Function``'s own batching rule: its ``vmap`` staticmethod.

PyTorch lets a ``Function`` written in the ``setup_context`` style state how it batches:
``vmap(info, in_dims, *args) -> (outputs, out_dims)``, where ``info`` carries the batch size
and the randomness mode, ``in_dims`` says which dim of each argument is mapped (None: not
batched at this level) and ``out_dims`` which dim of each output is. :func:`cr.func.vmap`
calls it for such a Function instead of running the Function once per sample, so that the
user's rule decides the result, as in PyTorch. The rule sees the physical values (mapped dim
first, so every batched argument's entry in ``in_dims`` is 0).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..ops.shape import movedim
from ._batched import BatchedTensor, Level, wrap

__all__ = ["VmapInfo", "has_user_rule", "user_rule"]


class VmapInfo(NamedTuple):
    """What a ``Function.vmap`` staticmethod learns of the vmap it runs under."""

    batch_size: int
    randomness: str


def has_user_rule(cls: type) -> bool:
    """Whether ``cls`` is a user's ``setup_context``-style Function with a ``vmap`` rule."""
    return cls._user and cls._separate_ctx and getattr(cls, "vmap", None) is not None


def user_rule(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """``cls.vmap`` on the physical arguments of ``level``; its outputs wrapped back.

    NotImplemented while a gradient is being recorded through the call: the per-sample
    fallback then runs the Function itself, so that its gradient is the Function's
    ``backward`` (as PyTorch's, whose vmap rule gives the values only) rather than the
    derivative of the ops the rule happens to use."""
    in_dims = tuple(0 if type(a) is BatchedTensor and a._level is level else None for a in args)
    phys = tuple(a._value if d is not None else a for a, d in zip(args, in_dims))
    if LOCAL.state.grad_enabled and any(_requires_grad(a) for a in phys):
        return NotImplemented
    res = cls.vmap(VmapInfo(level.size, level.randomness), in_dims, *phys, **kwargs)
    if not isinstance(res, tuple) or len(res) != 2:
        raise RuntimeError(
            "Expected the vmap staticmethod to have two returns, an output and out_dims with "
            f"pytree structure compatible with the output. Got a {type(res)} instead"
        )
    out, out_dims = res
    if isinstance(out, tuple):
        dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(out)
        if len(dims) != len(out):
            raise RuntimeError(
                f"The autograd.Function's vmap staticmethod returned an incompatible (output, "
                f"out_dims) tuple. Expected out_dims={out_dims} to be compatible with the "
                f"structure of `output` ({len(out)} outputs)"
            )
        return tuple(_rewrap(o, d, level) for o, d in zip(out, dims))
    if isinstance(out_dims, tuple):
        raise RuntimeError(
            f"The autograd.Function's vmap staticmethod returned an incompatible (output, "
            f"out_dims) tuple. Expected out_dims={out_dims} to be compatible with the "
            "structure of `output` (one output)"
        )
    return _rewrap(out, out_dims, level)


def _rewrap(out: Any, dim: int | None, level: Level) -> Any:
    """One output of the rule: mapped dim ``dim`` moved first and wrapped for ``level``;
    an output with ``dim`` None (or not a Tensor) is not batched."""
    if dim is None or not isinstance(out, Tensor):
        return out
    return wrap(movedim(out, dim, 0), level)


def _requires_grad(a: Any) -> bool:
    """Whether ``a`` (a physical value, maybe batched by an outer level) requires grad."""
    while type(a) is BatchedTensor:
        a = a._value
    return isinstance(a, Tensor) and a.requires_grad
