"""First-order backward rules on plain arrays, without recording Tensor ops.

A backward rule written with Tensor ops (``g * b``, ``-g``, ``tanh_grad(g, y)``) goes
through ``Function.apply`` once per op even when no graph is built (``create_graph=False``):
1-3 us of Python per op on small tensors. For a first-order pass over plain float NumPy
arrays the rule can take the very NumPy steps those ops' forwards take (the same kernels, in
the same order, so bit for bit the same result, in the same layout) and wrap the array once.
Session 38 did this for sum/mean/log_softmax/matmul/div/softmax/cat inside their own files;
this module holds the checks the elementwise rules share (mul, sub, exp, tanh, sigmoid,
relu: session 39).

:func:`grad_array` says whether the fast path applies to a node's incoming gradient. It does
not when the recorded ops would do more than compute: a graph being built
(``ctx.create_graph``, which forward mode also sets), autocast (it may cast the operands),
a live layout mark (``_layout_marks.py``: ``Function.apply`` passes marks on to the
gradients of a convolution's result; left to it rather than repeated here), a profiler or
FLOP counter recording (it swaps ``Function.apply`` to see every op, the backward's too, as
PyTorch's shows ``aten::mul`` under ``MulBackward0``), a Tensor
subclass or a batched (vmap) gradient, an array that is not NumPy's (CuPy, the meta
device's ``MetaArray``, vmap's per-sample arrays), or a dtype other than float32/float64
(halves, bfloat16 and complex have their own rules in ``Function.apply`` and the ops).
Anomaly mode needs no test: the engine turns it off while a rule runs and checks the rule's
results itself (``rules._call_with_anomaly_checks``). :func:`plain_array` is the same test
for a saved operand; :func:`grad_tensor` wraps a result as ``Function.apply`` wraps an
elementwise op's output (in PyTorch's layout for the operands).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout_marks import LAYOUT_MARKS
from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST
from ..autograd.tensor import Tensor
from ..autograd.torch_function import is_dispatching_type
from ._result_layout import in_elementwise_layout

__all__ = ["FUNCTION_SLOTS", "PLAIN_APPLY", "grad_array", "grad_tensor", "plain_array", "wrapped"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_ndarray = np.ndarray
# a live view of Function's attributes: profiler/hooks.py swaps "apply" while a profiler or
# FLOP counter records. The array paths of other files (sum, mean, matmul, div, softmax,
# log_softmax, cat, permute/transpose backward) test ``FUNCTION_SLOTS["apply"] is
# PLAIN_APPLY`` inline: one dict lookup and one identity test, no call
FUNCTION_SLOTS = _FUNCTION = Function.__dict__
PLAIN_APPLY = _PLAIN_APPLY = _FUNCTION["apply"]


def grad_array(ctx: Any, grad: Any) -> np.ndarray | None:
    """``grad``'s float32/float64 NumPy array when ``ctx``'s rule may compute on arrays
    (first order, plain Tensor, outside autocast, no layout mark alive, no profiler
    recording: see the module), else None (the recorded Tensor ops)."""
    if ctx.create_graph or type(grad) is not Tensor:
        return None
    g = grad._data
    if type(g) is not _ndarray or (g.dtype is not _F32 and g.dtype is not _F64):
        return None
    if AUTOCAST[0] or LAYOUT_MARKS or _FUNCTION["apply"] is not _PLAIN_APPLY:
        return None
    return g


def plain_array(t: Any, g: np.ndarray) -> Any:
    """What a saved operand ``t`` is to the recorded op beside the gradient array ``g``: the
    NumPy array of a Tensor of ``g``'s very dtype whose class dispatches nothing (a
    Parameter too), or a Python float or int as it is (``x * 2.0`` saves the number; the
    recorded ``g * 2.0`` multiplies by it in ``g``'s dtype); None for anything else (a
    ``__torch_function__`` subclass, another dtype the recorded op would promote, a bool)."""
    tt = type(t)
    if tt is Tensor or (isinstance(t, Tensor) and not is_dispatching_type(tt)):
        d = t._data
        return d if type(d) is _ndarray and d.dtype is g.dtype else None
    if tt is float or tt is int:
        return t
    return None


def grad_tensor(y: Any, *operands: Any) -> Tensor:
    """The array ``y`` an elementwise op computed from ``operands`` as ``Function.apply``
    returns it with nothing recorded: in PyTorch's layout for the operands (what
    ``BinaryElementwise.forward`` does), a NumPy scalar as a 0-d array, a graph-less Tensor."""
    if y.ndim > 1:
        y = in_elementwise_layout(y, *operands)
    return wrapped(y)


def wrapped(y: Any) -> Tensor:
    """The array ``y`` an op computed (not relaid: ``ReluGrad``'s) as ``Function.apply``
    returns it with nothing recorded and no layout mark alive: a NumPy scalar as a 0-d
    array, a graph-less Tensor."""
    if type(y) is not _ndarray:  # NumPy gives a scalar for 0-d operands
        y = np.asarray(y)
    return Tensor._make(y, False, None, 0)
