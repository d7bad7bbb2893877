"""Op specs for the session-33 root functions (appended to the central table in
tests/ops/op_specs.py): ``native_batch_norm`` (training and evaluation),
``native_group_norm``, ``native_channel_shuffle``, ``conv_tbc`` and the SyncBatchNorm
kernels ``batch_norm_stats``/``batch_norm_elemt``. PyTorch's CPU build has no kernel for the
last two (CUDA only), so their specs compare with the same formulas in PyTorch ops.
tests/test_root_functions_session33*.py cover the tuple results, running statistics and
errors."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

from .op_specs import OpSpec, const, lib

__all__ = ["SPECS"]


def _stats(x, w, b):
    """Running statistics sized to ``x``'s channels (so rank mutations meet the op)."""
    c = x.shape[1] if x.ndim >= 2 else 1
    return const(x, np.linspace(-0.5, 0.5, c)), const(x, np.linspace(0.5, 2.0, c))


def _bn_train(x, w, b):
    return lib(x).native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0]


def _bn_eval(x, w, b):
    rm, rv = _stats(x, w, b)
    return lib(x).native_batch_norm(x, w, b, rm, rv, False, 0.1, 1e-3)[0]


def _gn(x, w, b):
    n = x.shape[0] if x.ndim else 1
    hw = int(np.prod(x.shape[2:])) if x.ndim > 2 else 1
    return lib(x).native_group_norm(x, w, b, n, 6, hw, 3, 1e-5)[0]


def _bn_stats(x):
    if isinstance(x, cr.Tensor):
        return cr.stack(cr.batch_norm_stats(x, 1e-3))
    axes = (0, *range(2, x.ndim))
    mean = x.mean(axes)
    var = x.var(axes, unbiased=False)
    return torch.stack([mean, (var + 1e-3).rsqrt()])


def _bn_elemt(x, w, b, m, i):
    if isinstance(x, cr.Tensor):
        return cr.batch_norm_elemt(x, w, b, m, i**2 + 0.5, 1e-5)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (i**2 + 0.5).reshape(shape)
    return (x - m.reshape(shape)) * inv * w.reshape(shape) + b.reshape(shape)


_NB = ((3, 4, 5), (4,), (4,))

SPECS: list = [
    OpSpec("native_batch_norm_train", _bn_train, (_NB, ((6, 4), (4,), (4,)))),
    OpSpec("native_batch_norm_eval", _bn_eval, (_NB, ((2, 4, 2, 3), (4,), (4,)))),
    OpSpec("native_group_norm", _gn, (((2, 6, 5), (6,), (6,)), ((2, 6, 2, 2), (6,), (6,)))),
    OpSpec(
        "native_channel_shuffle",
        lambda x: lib(x).native_channel_shuffle(x, 3),
        (((2, 6, 2, 2),), ((1, 6, 3),)),
        # torch.native_channel_shuffle has no derivative: compare with torch.channel_shuffle
        torch_fn=lambda x: torch.channel_shuffle(x, 3),
    ),
    OpSpec(
        "conv_tbc",
        lambda x, w, b: lib(x).conv_tbc(x, w, b, 1),
        (((7, 2, 4), (3, 4, 5), (5,)), ((5, 1, 3), (2, 3, 2), (2,))),
    ),
    OpSpec(
        "conv_tbc_crop",
        lambda x, w, b: lib(x).conv_tbc(x, w, b, -1),
        (((7, 2, 4), (2, 4, 3), (3,)),),
    ),
    OpSpec("batch_norm_stats", _bn_stats, (((3, 4, 5),), ((6, 4),))),
    OpSpec("batch_norm_elemt", _bn_elemt, (((3, 4, 5), (4,), (4,), (4,), (4,)),)),
]
