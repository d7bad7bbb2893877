"""Op specs for fake quantization (ops/fake_quantize.py); appended to the central table in
tests/ops/op_specs.py.

``fake_quantize_per_tensor_affine``, ``fake_quantize_per_channel_affine`` and the learnable
(learned step size) forms are step functions of their input with a straight-through
gradient: the gradient PyTorch defines (1 inside the quantization range, 0 outside) is not
the derivative finite differences see (0 almost everywhere, a jump at each rounding
boundary). So every spec here leaves out ``gc`` (gradcheck) and ``gg`` (gradgradcheck: the
straight-through rule has no second derivative to check); ``fwd`` and ``bwd`` compare with
PyTorch, and ``jvp`` checks chainrule's forward-mode rule (the same mask times the tangent)
against its reverse mode, since PyTorch has no forward-mode rule for these ops.

The learnable forms run in float32 inside the spec (the float64 inputs cast, the result
cast back): PyTorch's backward of them takes float32 gradients only. Their scale and zero
point gradients are float32 sums in an order of torch's own (the tolerance ``bwd_rtol``;
the first case of each, which the in-place and bad-input tests use, sums two elements,
exactly as torch); their input gradient is the exact mask. The scale is kept positive and
away from 0 (``0.05 + 0.1 s^2``) and the zero point inside the range (``2 z + 5``).
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops.fake_quantize import _fake_quantize_learnable_per_channel_affine

from .op_specs import OpSpec, lib

__all__ = ["SPECS"]

# finite differences see a step function: no gradcheck / gradgradcheck (see the docstring)
_STEP = frozenset({"fwd", "bwd", "jvp"})
_SCALES = np.array([0.1, 0.05, 0.3, 0.02], np.float32)
_ZPS = np.array([3, 0, 10, 250], np.int32)


def _per_tensor(x):
    return lib(x).fake_quantize_per_tensor_affine(x, 0.1, 3, 0, 255)


def _per_tensor_qint8(x):
    return lib(x).fake_quantize_per_tensor_affine(x, 0.02, -5, -128, 127)


def _per_tensor_tensor_qparams(x):
    m = lib(x)
    return m.fake_quantize_per_tensor_affine(
        x, m.tensor([0.05], dtype=m.float32), m.tensor([2], dtype=m.int32), 0, 127
    )


def _per_channel(axis: int):
    def call(x):
        m = lib(x)
        n = x.shape[axis] if axis < x.ndim else 4
        return m.fake_quantize_per_channel_affine(
            x, m.tensor(_SCALES[:n]), m.tensor(_ZPS[:n]), axis, 0, 255
        )

    return call


def _learnable(per_channel: bool, grad_factor: float = 1.0):
    """The learnable form in float32 with a positive scale and an in-range zero point."""

    def call(x, s, z):
        m = lib(x)
        scale = (s * s * 0.1 + 0.05).float()
        zero_point = (z * 2.0 + 5.0).float()
        if per_channel:
            fq = (
                _fake_quantize_learnable_per_channel_affine
                if m is cr
                else m._fake_quantize_learnable_per_channel_affine
            )
            out = fq(x.float(), scale, zero_point, 1, 0, 15, grad_factor)
        else:
            fq = m._fake_quantize_learnable_per_tensor_affine
            out = fq(x.float(), scale, zero_point, 0, 15, grad_factor)
        return out.to(x.dtype)

    return call


SPECS: list = [
    OpSpec("fake_quantize_per_tensor_affine", _per_tensor, (((3, 4),), ((),)), checks=_STEP),
    OpSpec(
        "fake_quantize_per_tensor_affine_qint8",
        _per_tensor_qint8,
        (((2, 3, 4),),),
        checks=_STEP,
    ),
    OpSpec(
        "fake_quantize_per_tensor_affine_tensor_qparams",
        _per_tensor_tensor_qparams,
        (((3, 4),),),
        checks=_STEP,
    ),
    OpSpec("fake_quantize_per_channel_affine", _per_channel(1), (((3, 4),),), checks=_STEP),
    OpSpec(
        "fake_quantize_per_channel_affine_axis0",
        _per_channel(0),
        (((3, 5),), ((2, 3, 2),)),
        checks=_STEP,
    ),
    OpSpec(
        "fake_quantize_learnable_per_tensor_affine",
        _learnable(False),
        (((2,), (1,), (1,)), ((3, 4), (1,), (1,)), ((2, 3, 4), (1,), (1,))),
        checks=_STEP,
        bwd_rtol=1e-5,
    ),
    OpSpec(
        "fake_quantize_learnable_per_channel_affine",
        _learnable(True, 0.5),
        (((2, 4), (4,), (4,)), ((3, 4), (4,), (4,)), ((2, 4, 3), (4,), (4,))),
        checks=_STEP,
        bwd_rtol=1e-5,
    ),
]
