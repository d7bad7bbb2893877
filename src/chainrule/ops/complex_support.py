"""Which ops take complex tensors through autograd, and how (``Function.complex_grad``).

A rule written for real numbers is wrong for complex ones unless the op is one of two kinds:

- **holomorphic** (complex differentiable): ``z1 * z2``, ``exp(z)``, ``a @ b``... Its rule
  ``g * f'(z)`` becomes PyTorch's conjugate convention ``g * conj(f'(z))`` when the engine
  conjugates the incoming gradient and the result (``autograd/engine.py``).
- **real-linear with real coefficients**: sums, reshapes, indexing, joining. Its backward
  (the transpose) is already right for complex gradients.

Every other op refuses a complex input that requires grad (NotImplementedError naming the op)
instead of returning a wrong gradient. Ops written for complex numbers state their own rule
(``complex_grad = True`` in the class: ``ops/complex_ops.py``, ``Abs``), and ops whose real
kernel cannot take complex numbers have a complex twin that the public function picks from
a dtype branch it already had (``ComplexSigmoid`` in ``ops/complex_elementwise.py``). Real
norms and variances of complex tensors are composed from real ops (``ops/complex_norms.py``,
``var``), so they need no entry here. Each entry is tested against PyTorch in
``tests/autograd/test_complex_autograd.py``, ``test_complex_autograd_more.py`` and
``test_complex_autograd_wave3.py`` (the fused layers: linear, convolution, fold).
"""

from __future__ import annotations

from ..autograd.view_replay import AsStrided, CopySlices, GatherFlat, ScatterFlat, ZeroFlat
from ..linalg.cross_product import Cross
from ..linalg.solve import Det, Inv, Solve
from ._misc_more_strided import AsStrided as AsStridedView
from .affine import LinearFn
from .binary import Add, Div, Mul, Sub, Where
from .cast import Cast, Clone
from .circular_padding import CircularPad, CircularPadBackward
from .conv_functions import Conv2dFn, ConvTranspose2dFn, ConvWeightFn
from .cumulative import Cumprod, Cumsum
from .edge_padding import EdgePad, EdgePadBackward
from .einsum import Einsum
from .fold import FoldFn
from .fused_grads import TanhGrad
from .gather_scatter import Gather, Scatter, ScatterAdd
from .indexing import GetItem, IndexAdd, IndexPut
from .joining import Cat, Split, Unbind
from .layout import Contiguous
from .linalg import MatMul
from .masked_scatter import MaskedScatter, MaskedScatterSourceGrad
from .padding import Pad
from .permutations import Permute
from .power import Pow
from .rearranging import Flip, Repeat, Roll
from .reduction import Mean, Prod, Sum
from .special import Sinc
from .structural import Diagonal, DiagonalScatter, FoldWindows, Unfold
from .trig import Acos, Asin, Asinh, Atan, Atanh, Cos, Cosh, Sin, Sinh, Tan
from .unary import Exp, Exp2, Expm1, Log, Log1p, Neg, Reciprocal, Sqrt, Tanh
from .views import BroadcastTo, Reshape, SumTo

__all__ = ["HOLOMORPHIC", "REAL_LINEAR"]

HOLOMORPHIC = (Add, Sub, Neg, Mul, Div, Pow, Reciprocal, Exp, Log, Sqrt, Sin, Cos, Sinh, Cosh)
HOLOMORPHIC += (Tan, Tanh, Log1p, Expm1, Asin, Acos, Atan, Asinh, Atanh)
HOLOMORPHIC += (MatMul, Einsum, Prod, Cumprod, Exp2, Sinc, Inv, Solve, Det, Cross)
HOLOMORPHIC += (TanhGrad,)  # g (1 - y^2): tanh's backward, recorded under create_graph
HOLOMORPHIC += (LinearFn,)  # x Wᵀ + b: complex bilinear in (x, W), so its rules are g W, gᵀ x
HOLOMORPHIC += (Conv2dFn, ConvTranspose2dFn, ConvWeightFn)  # bilinear: each the others' rule

REAL_LINEAR = (Sum, Mean, SumTo, BroadcastTo, Reshape, Permute, GetItem, Cat, Split, Flip, Roll)
REAL_LINEAR += (Clone, Contiguous, Cast, Where, Cumsum, Diagonal, Unfold, Pad)
REAL_LINEAR += (Gather, ScatterAdd, IndexAdd, IndexPut, CopySlices, GatherFlat, ZeroFlat)
REAL_LINEAR += (ScatterFlat, AsStrided, Scatter, DiagonalScatter, FoldFn, FoldWindows)
REAL_LINEAR += (Repeat,)
REAL_LINEAR += (Unbind, EdgePad, EdgePadBackward, CircularPad, CircularPadBackward)
REAL_LINEAR += (MaskedScatter, MaskedScatterSourceGrad, AsStridedView)

for _op in HOLOMORPHIC:
    _op.complex_grad = "holomorphic"
for _op in REAL_LINEAR:
    _op.complex_grad = True
