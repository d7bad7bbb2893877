"""In-place random fills of a tensor in the autograd graph, recorded as PyTorch records them.

PyTorch's ``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``, ``cauchy_``,
``log_normal_``, ``geometric_`` and ``random_`` on a tensor that requires grad (a non-leaf:
a leaf raises, as for every in-place op) replace its value by the draws under one node
(``UniformBackward0``, ``BernoulliBackward1``/``2``, ``RandomBackward0``/``1``/``2``, ...)
whose gradient is zero, and a forward-mode tangent becomes zero. ``bernoulli_`` with a
tensor ``p`` that requires grad is recorded the same way (zero gradient for ``p`` too).
:func:`in_graph` wraps a fill of ``ops/sampling.py`` so: the draws are taken (and the
arguments validated) by the fill itself on a copy, then written through
:func:`~chainrule.ops.inplace.apply_inplace` as a zero-derivative result, so views, version
counters and retained gradients behave as for any other in-place op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from .inplace import apply_inplace, writes_into_graph
from .no_derivative import record_zero_derivative

__all__ = ["in_graph"]

_NODES = {
    "uniform_": "UniformBackward0",
    "normal_": "NormalBackward0",
    "exponential_": "ExponentialBackward0",
    "cauchy_": "CauchyBackward0",
    "log_normal_": "LogNormalBackward0",
    "geometric_": "GeometricBackward0",
}


def _node(name: str, args: tuple, kwargs: dict, tensor_p: bool) -> str:
    """PyTorch's node for the fill ``name`` called with ``args``/``kwargs``."""
    if name == "bernoulli_":
        return "BernoulliBackward1" if tensor_p else "BernoulliBackward2"
    if name == "random_":  # random_(from, to) / random_(to) / random_()
        given = len(args) + len({"from", "from_", "to"} & set(kwargs))
        return f"RandomBackward{max(0, 2 - given)}"
    return _NODES[name]


def in_graph(fill: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``fill`` (an in-place random fill ``fill(x, *args, **kwargs)``), recorded as one
    zero-derivative node when ``x`` is in the graph (or carries a forward-mode tangent), or
    ``bernoulli_``'s tensor ``p`` requires grad; unchanged otherwise."""
    name = fill.__name__

    @functools.wraps(fill)
    def op(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        p = args[0] if args else kwargs.get("p")
        tensor_p = (
            name == "bernoulli_"
            and isinstance(p, Tensor)
            and p.requires_grad
            and grad_mode.is_grad_enabled()
        )
        if type(x) is not Tensor or not (
            tensor_p or writes_into_graph(x) or x._fw_tangent is not None
        ):
            return fill(x, *args, **kwargs)
        node = _node(name, args, kwargs, isinstance(p, Tensor))

        def draw(t: Tensor, *params: Tensor) -> Tensor:
            with grad_mode.no_grad():
                values = fill(t.detach().clone(), *args, **kwargs)
            return record_zero_derivative(values, t, *params, node=node)

        return apply_inplace(x, name, draw, *([p] if tensor_p else []))

    return op
