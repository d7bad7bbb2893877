"""First-order backward rules on plain arrays, without recording Tensor ops.

A backward rule written with Tensor ops (``g * b``, ``-g``, ``tanh_grad(g, y)``) goes
through ``Function.apply`` once per op even when no graph is built (``create_graph=False``):
1-3 us of Python per op on small tensors. For a first-order pass over plain float NumPy
arrays the rule can take the very NumPy steps those ops' forwards take (the same kernels, in
the same order, so bit for bit the same result, in the same layout) and wrap the array once.
Session 38 did this for sum/mean/log_softmax/matmul/div/softmax/cat/permute inside their own
files, session 39 for the elementwise rules (mul, sub, exp, tanh, sigmoid, relu); since
session 40 all of them ask this module (one rule for all).

:func:`grad_array` says whether the fast path applies to a node's incoming gradient
(:func:`grad_view` for rules that only view it, any dtype; :func:`grad_arrays` for several
gradients). It does not when the recorded ops would do more than compute: a graph being
built (``ctx.create_graph``, which forward mode also sets), autocast (it may cast the
operands), a layout mark on the gradient's memory (``_layout_marks.py``: ``Function.apply``
passes marks on to the results of a marked input, a convolution's result or its gradient;
left to it rather than repeated here; :func:`unmarked`, and :func:`plain_array` for the
saved operands), a profiler or FLOP counter recording (it swaps ``Function.apply`` to see
every op, the backward's too, as PyTorch's shows ``aten::mul`` under ``MulBackward0``), a
Tensor subclass or a batched (vmap) gradient, an array that is not NumPy's (CuPy, the meta
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

__all__ = [
    "FUNCTION_SLOTS",
    "PLAIN_APPLY",
    "BackwardProduct",
    "autocast_products",
    "grad_array",
    "grad_arrays",
    "grad_tensor",
    "grad_view",
    "plain_array",
    "unmarked",
    "wrapped",
]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_ndarray = np.ndarray
# a live view of Function's attributes: profiler/hooks.py swaps "apply" while a profiler or
# FLOP counter records. Fused rules that are no copy of a recorded path (softmax's compiled
# kernel, binary_cross_entropy's) test ``FUNCTION_SLOTS["apply"] is PLAIN_APPLY`` inline
FUNCTION_SLOTS = _FUNCTION = Function.__dict__
PLAIN_APPLY = _PLAIN_APPLY = _FUNCTION["apply"]
_MARKS = LAYOUT_MARKS


class BackwardProduct:
    """The matrix products of a backward rule whose PyTorch formula calls ``mm``/``bmm``
    (``MmBackward0``, ``BmmBackward0``, ``AddmmBackward0``, matmul's folded forms): a backward
    run inside a CPU autocast block casts their operands as the forward's ``mm`` would
    (PyTorch's engine runs the backward in the caller's autocast state, and those ``mm``
    calls go through autocast). A class only for its name, which autocast's cast lists hold
    (``amp/autocast_mode.py``); the other rules' products are not cast (their PyTorch
    formulas call no op of autocast's lists: ``mv``, ``dot``, convolution's backward)."""


def autocast_products(*tensors: Any) -> tuple:
    """``tensors`` (Tensors or None) as a :class:`BackwardProduct` receives them: cast to the
    autocast dtype inside an enabled CPU autocast block (float32 and float16 ones), else as
    they are. Called by the rules only while ``AUTOCAST[0]`` (a block is on somewhere)."""
    return AUTOCAST[1](BackwardProduct, tensors)


def unmarked(a: np.ndarray) -> bool:
    """Whether no layout mark can reach the recorded ops on ``a`` (a NumPy array): none is
    alive, or none is on ``a``'s memory (any view of it). ``Function.apply`` passes marks on
    only from a marked input (``_layout_carry.carry_input_marks`` returns at once without
    one), and the ops' own layout rules read an input's mark only (``contiguous``,
    ``reshape``, ``clone``), so a rule whose gradient and saved operands are all unmarked
    gets from its recorded ops the very arrays its array path computes, unmarked (session
    40: the layers of a CNN after its convolutions, a classifier head, take the array paths
    while the convolutions' results live)."""
    if not _MARKS:
        return True
    b = a.base
    while b is not None and hasattr(b, "shape"):  # (memory_owner, inlined: the root array)
        a = b
        b = getattr(a, "base", None)
    return id(a) not in _MARKS


def grad_array(ctx: Any, grad: Any) -> np.ndarray | None:
    """``grad``'s float32/float64 NumPy array when ``ctx``'s rule may compute on arrays
    (first order, plain Tensor, outside autocast, no layout mark on it, no profiler
    recording: see the module), else None (the recorded Tensor ops). The rule tests its
    saved operands with :func:`plain_array` (or :func:`unmarked`)."""
    if ctx.create_graph or type(grad) is not Tensor:
        return None
    g = grad._data
    if type(g) is not _ndarray or (g.dtype is not _F32 and g.dtype is not _F64):
        return None
    if AUTOCAST[0] or _FUNCTION["apply"] is not _PLAIN_APPLY:
        return None
    if _MARKS and not unmarked(g):
        return None
    return g


def grad_view(ctx: Any, grad: Any) -> np.ndarray | None:
    """:func:`grad_array` for a rule that only views or slices the gradient (sum's expand,
    cat's slices, a permutation's inverse): the same conditions but any dtype (a view
    computes nothing, so halves, bfloat16 and complex views are the recorded ones)."""
    if ctx.create_graph or type(grad) is not Tensor:
        return None
    g = grad._data
    if type(g) is not _ndarray or AUTOCAST[0] or _FUNCTION["apply"] is not _PLAIN_APPLY:
        return None
    if _MARKS and not unmarked(g):
        return None
    return g


def grad_arrays(ctx: Any, grads: tuple) -> list | None:
    """The arrays of a multi-output rule's gradients (split's and unbind's, which join them
    with their array module's ``concatenate``/``stack``, a CuPy, meta or vmap array's too)
    when :func:`grad_view`'s conditions but the NumPy one hold for each, else None (the
    recorded ``cat``/``stack``, which a profiler lists as torch's does)."""
    if ctx.create_graph or AUTOCAST[0] or _FUNCTION["apply"] is not _PLAIN_APPLY:
        return None
    out = []
    for grad in grads:
        if type(grad) is not Tensor:
            return None
        g = grad._data
        if _MARKS and type(g) is _ndarray and not unmarked(g):
            return None
        out.append(g)
    return out


def plain_array(t: Any, g: np.ndarray) -> Any:
    """What a saved operand ``t`` is to the recorded op beside the gradient array ``g``: the
    NumPy array of a Tensor of ``g``'s very dtype whose class dispatches nothing (a
    Parameter too), or a Python float or int as it is (``x * 2.0`` saves the number; the
    recorded ``g * 2.0`` multiplies by it in ``g``'s dtype); None for anything else (a
    ``__torch_function__`` subclass, another dtype the recorded op would promote, a bool,
    an array with a layout mark on its memory: :func:`unmarked`)."""
    tt = type(t)
    if tt is Tensor or (isinstance(t, Tensor) and not is_dispatching_type(tt)):
        d = t._data
        if type(d) is not _ndarray or d.dtype is not g.dtype:
            return None
        return d if not _MARKS or unmarked(d) else None
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
