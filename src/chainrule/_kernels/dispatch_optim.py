"""The optimizer hooks: one fused compiled update of a parameter and its state in place
(:mod:`.optim`, :mod:`.optim_more`), or False (nothing done) when the kernel does not
apply, in which case the optimizer runs its own NumPy sequence (the same float operations,
so the same bits).

Every size takes the compiled loop (serial): one compiled call costs less than the NumPy
sequence's many passes even for a bias of a few elements, since each NumPy call has a fixed
cost and each float32 fused multiply-add costs two or three NumPy calls. The arrays must be
NumPy arrays of one float dtype, C-contiguous and of one shape (:func:`.jit.eligible`).
The scalars go to a kernel as one tuple of Python floats (cheaper than making an array for
each call), which the kernel rounds to that dtype, as PyTorch rounds its Python-float
scalars.
"""

from __future__ import annotations

import numpy as np

from . import jit, optim, optim_more

__all__ = ["fused_step", "rmsprop", "rule_mode", "sgd"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _matching(param: np.ndarray, grad: object, *states: object) -> bool:
    """The compiled path is on, ``param`` (a NumPy array) is a C-contiguous, aligned,
    writeable float32 or float64 array, ``grad`` a C-contiguous NumPy array of its dtype and
    shape, and every state array one of its dtype and shape, C-contiguous, aligned and
    writeable (the arrays the update writes; a read-only one goes to NumPy, which refuses it
    with its ValueError): :func:`.jit.eligible` and the shapes, in fewer attribute reads
    (this check is a good part of a small parameter's update: ``flags.carray`` is
    C-contiguous, aligned and writeable in one read, a dtype is compared by identity first)."""
    if jit._backend != "numba":  # noqa: SLF001 - read at each call, as eligible does
        return False
    dtype = param.dtype
    if not (dtype is _F32 or dtype is _F64 or dtype == _F32 or dtype == _F64):
        return False
    if not param.flags.carray:
        return False
    shape = param.shape
    if type(grad) is not np.ndarray:
        return False
    d = grad.dtype
    if (d is not dtype and d != dtype) or grad.shape != shape or not grad.flags.c_contiguous:
        return False
    for a in states:
        if type(a) is not np.ndarray:
            return False
        d = a.dtype
        if (d is not dtype and d != dtype) or a.shape != shape or not a.flags.carray:
            return False
    return True


def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-d view of a C-contiguous array (itself when 1-d)."""
    return a if a.ndim == 1 else a.ravel()


def sgd(
    param: np.ndarray,
    grad: object,
    buf: object,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    first: bool,
) -> bool:
    """SGD's update of ``param`` in place (PyTorch's single-tensor sequence, see
    :func:`.optim.sgd_step`), with the momentum buffer ``buf`` when ``momentum != 0``
    (``first``: ``buf`` is a new array the update fills with the first gradient; otherwise
    it is read and updated). ``buf`` is ignored without momentum. False (nothing done) when
    the kernel does not apply."""
    if momentum != 0:
        if not _matching(param, grad, buf):
            return False
        mode = optim.MOMENTUM
        if first:
            mode |= optim.FIRST
        if nesterov:
            mode |= optim.NESTEROV
    else:
        if not _matching(param, grad):
            return False
        mode, buf = 0, param  # not read without MOMENTUM
    if maximize:
        mode |= optim.MAXIMIZE
    if weight_decay != 0:
        mode |= optim.WEIGHT_DECAY
    if param.ndim != 1:  # flat views (C-contiguous: no copies)
        param, grad, buf = param.ravel(), grad.ravel(), buf.ravel()
    # the scalars as Python floats (a tuple of one type: one compiled specialisation),
    # rounded to the dtype by the kernel
    optim.sgd_step.compiled(
        param, grad, buf, (-lr, float(weight_decay), float(momentum), 1.0 - dampening), mode
    )
    return True


def rmsprop(
    param: np.ndarray,
    grad: object,
    square_avg: object,
    grad_avg: object,
    buf: object,
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    weight_decay: float,
    maximize: bool,
) -> bool:
    """RMSprop's update of ``param`` and ``square_avg`` in place (PyTorch's single-tensor
    sequence, see :func:`.optim.rmsprop_step`), centered when ``grad_avg`` is an array, with
    the momentum buffer ``buf`` when ``momentum > 0``. False (nothing done) when the kernel
    does not apply."""
    mode = optim.MAXIMIZE if maximize else 0
    arrays = [grad, square_avg]
    if grad_avg is not None:
        arrays.append(grad_avg)
        mode |= optim.CENTERED
    if momentum > 0:
        arrays.append(buf)
        mode |= optim.MOMENTUM
    if not _matching(param, *arrays):
        return False
    if weight_decay != 0:
        mode |= optim.WEIGHT_DECAY
    p = _flat(param)
    alpha = float(alpha)
    scalars = (-lr, float(weight_decay), alpha, 1.0 - alpha, float(eps), float(momentum), 1.0)
    optim.rmsprop_step.compiled(
        p,
        _flat(grad),
        _flat(square_avg),
        p if grad_avg is None else _flat(grad_avg),
        _flat(buf) if mode & optim.MOMENTUM else p,
        scalars,
        mode,
    )
    return True


def rule_mode(group: dict) -> int:
    """The mode bits of an update rule's gradient for a parameter group, as
    ``optim._update_helpers`` computes it: ``MAXIMIZE``; ``WEIGHT_DECAY`` (the L2 term) or,
    when the group's decay is ``decoupled_weight_decay``, ``DECAY`` (AdamW's shrink)."""
    mode = optim.MAXIMIZE if group.get("maximize") else 0
    if group.get("weight_decay", 0) != 0:
        mode |= optim_more.DECAY if group.get("decoupled_weight_decay") else optim.WEIGHT_DECAY
    return mode


def fused_step(
    kernel: jit.Kernel, param: np.ndarray, grad: object, states: tuple, scalars: tuple, mode: int
) -> bool:
    """``kernel(param, grad, *states, scalars, mode)`` on flat views, the scalars passed as
    a tuple of Python floats that the kernel rounds to the parameter's dtype (a kernel of
    :mod:`.optim` or :mod:`.optim_more`); False (nothing done) when the arrays do not suit
    it (:func:`_matching`)."""
    if not _matching(param, grad, *states):
        return False
    scalars = tuple(map(float, scalars))  # one tuple type: one compiled specialisation
    if param.ndim == 1:
        kernel.compiled(param, grad, *states, scalars, mode)
    else:
        kernel.compiled(param.ravel(), grad.ravel(), *[s.ravel() for s in states], scalars, mode)
    return True
