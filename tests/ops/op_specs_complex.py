"""Op specs for complex-valued rules, appended to tests/ops/op_specs.py.

The table's harness is real (float64 inputs and outputs, float32 kept float32), so each spec
is a real-in / real-out composition: ``view_as_complex`` of a (..., 2) input (or
``complex(re, im)``, ``polar(r, theta)``) builds the complex operand and ``view_as_real``,
``abs``, ``angle``, ``.real`` / ``.imag`` bring the result back. The gradient through the
complex middle follows PyTorch's conjugate Wirtinger convention, so the real gradients
compared here check the complex rules themselves.
"""

from __future__ import annotations

from .op_specs import B, OpSpec, lib, nnf


def _z(a, b):
    """The complex tensor a + ib."""
    return lib(a).complex(a, b)


def _vr(z):
    """The complex ``z`` as a real tensor with a trailing (re, im) axis."""
    return lib(z).view_as_real(z)


def _vc(a):
    """``a`` (..., 2) as complex; contiguous first, since a complex view needs the (re, im)
    pairs adjacent (PyTorch refuses other strides as well)."""
    return lib(a).view_as_complex(a.contiguous())


_Z = (((3, 4, 2),), ((2,),))  # (..., 2): (re, im) pairs, seen as complex by _vc

SPECS: list = [
    OpSpec("complex_view_as_real", lambda a, b: _vr(_z(a, b) * _z(b, a)), (B,)),
    OpSpec("complex_view_as_complex", lambda a: _vr(_vc(a).conj() + 1.0), _Z),
    OpSpec("complex_abs", lambda a: _vc(a).abs(), _Z),
    OpSpec("complex_angle", lambda a: lib(a).angle(_vc(a)), _Z),
    OpSpec("complex_real_imag", lambda a: (_vc(a) ** 2).real * (_vc(a) ** 3).imag, _Z),
    OpSpec("complex_polar", lambda r, t: _vr(lib(r).polar(r, t)), (B,), "positive"),
    OpSpec("matrix_exp_complex", lambda a: _vr(lib(a).matrix_exp(_vc(a) * 0.7)), (((3, 3, 2),),)),
    OpSpec(
        "complex_F_linear",
        lambda x, w, b: _vr(nnf(x).linear(_vc(x), _vc(w), _vc(b))),
        (((3, 4, 2), (2, 4, 2), (2, 2)),),
    ),
    OpSpec(
        "complex_F_linear_abs",
        lambda x, w: nnf(x).linear(_vc(x), _vc(w)).abs(),
        (((2, 3, 2), (4, 3, 2)),),
    ),
]
