"""The smooth activations of ``nn.functional``: exponential, gated and sigmoid-shaped units.

``elu``, ``selu``, ``celu`` (exponential linear units, one node each), ``gelu``, ``silu``,
``mish``, ``hardswish`` (x times a gate; ``hardswish``, piecewise quadratic, is ``silu``'s
cheap form), ``glu`` (one half gated by the other), ``softsign``, ``logsigmoid`` and
``tanhshrink``: each has a derivative that varies with the input. Split out of
``activation.py`` (session 40), which re-exports every name; the piecewise-linear
activations are in ``activation_piecewise.py``.

Formulas follow PyTorch exactly (including its constants); each is one node or a
composition of differentiable primitives, so backward, double backward and forward mode
come with it. Branches that could overflow (e.g. ``exp`` in ELU for large positive inputs)
are clamped before the non-linearity so a masked-out branch never produces ``inf * 0 = NaN``
in backward. ``inplace=True`` writes through ``ops/inplace.py``, as in PyTorch.
"""

from __future__ import annotations

from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.saved_fields import given  # grad_fn._saved_*
from ...autograd.tensor import Tensor
from ...ops._util import ShapeError, dim_range_error
from ...ops.activation_primitives import Celu, Elu, LogSigmoid, Mish
from ...ops.gated_linear import Glu
from ...ops.gelu import gelu_exact, gelu_tanh
from ...ops.inplace import single_node_result as _node
from ...ops.silu import Silu
from ...ops.single_node_activations import CeluResult, EluResult, Hardswish
from ...ops.sparse_tensor import SPARSE_TYPES
from ...ops.unary import sigmoid, tanh
from ._activation_args import check_floating as _check
from ._arg_types import as_int, as_number, bad_str

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "hardswish",
    "logsigmoid",
    "mish",
    "selu",
    "selu_",
    "silu",
    "softsign",
    "tanhshrink",
]


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    _check(input, "elu")
    alpha = alpha if type(alpha) is float else as_number("elu", "alpha", alpha, 2)
    return _elu(input, inplace, "elu", alpha, 1.0, 1.0)


def _elu(input: Tensor, inplace: bool, name: str, alpha: float, scale: float, inp: float):
    """elu / selu / celu as one node: in place PyTorch's ``EluBackward1`` /
    ``CeluBackward1``, saving the result; else ``EluBackward0`` / ``CeluBackward0``."""
    celu = name == "celu"
    if not inplace:
        return (Celu if celu else Elu).apply(input, alpha=alpha, scale=scale, input_scale=inp)
    node = CeluResult if celu else EluResult
    params = {"alpha": alpha, "scale": scale, "input_scale": inp}
    return _node(input, True, name, lambda t: node.apply(t, **params))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with alpha ≈ 1.6733, scale ≈ 1.0507 (self-normalising)."""
    _check(input, "selu")
    return _elu(input, inplace, "selu", SELU_ALPHA, SELU_SCALE, 1.0)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


class _CeluAlphaError(ValueError, RuntimeError):
    """celu's ``alpha == 0``: PyTorch's RuntimeError, and a ValueError as before."""


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    _check(input, "celu")
    alpha = alpha if type(alpha) is float else as_number("celu", "alpha", alpha, 2)
    if alpha == 0:  # PyTorch's RuntimeError (a ValueError too, as chainrule raised before)
        raise _CeluAlphaError("celu: alpha cannot be 0 (CELU divides by alpha)")
    return _elu(input, inplace, "celu", alpha, 1.0, 1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x) = x/2 (1 + erf(x/√2)); 'tanh': x/2 (1 + tanh(√(2/π)(x + 0.044715 x³)))."""
    _check(input, "gelu")
    if approximate == "none":  # one fused op each way (ops/gelu.py): 5x fewer passes
        return gelu_exact(input)
    if approximate == "tanh":  # one node, PyTorch's GeluBackward0 (ops/gelu.py)
        return gelu_tanh(input)
    bad_str("gelu", "approximate", approximate)  # PyTorch's parser: a str
    raise _GeluApproximateError(
        "approximate argument must be either none or tanh."  # PyTorch's text
    )


class _GeluApproximateError(ValueError, RuntimeError):
    """An unknown ``approximate=``: PyTorch raises RuntimeError, chainrule raised ValueError;
    this is both, so either ``except`` clause catches it."""


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x σ(x) (also called swish). A complex input is computed as PyTorch's complex kernel
    does, without a derivative (recording one raises, as in PyTorch)."""
    if isinstance(input, Tensor) and input.is_complex():
        return _complex_silu(input, inplace)
    _check(input, "silu")
    return _node(input, inplace, "silu", Silu.apply)


def _complex_silu(input: Tensor, inplace: bool) -> Tensor:
    """z σ(z) of a complex ``z``: PyTorch has this kernel but no derivative for it."""
    if is_grad_enabled() and input.requires_grad:
        raise RuntimeError(
            "silu does not support automatic differentiation for outputs with complex dtype "
            "(as in PyTorch); compute it as z * torch.sigmoid(z) for a gradient"
        )
    with no_grad():
        out = input * sigmoid(input)
        return input.copy_(out) if inplace else out


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    _check(input, "mish")
    return _node(input, inplace, "mish", Mish.apply)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · hardsigmoid(x), one node (``HardswishBackward0``), twice differentiable."""
    _check(input, "hardswish")
    return _node(input, inplace, "hardswish", Hardswish.apply)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (an integer input gives the default float dtype, as in PyTorch; a
    complex one is divided by the real 1 + |z|, as in PyTorch)."""
    if not (isinstance(input, Tensor) and input.dtype.kind in "iuc"):
        _check(input, "softsign")
    return input / (abs(input) + 1.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), stable for large |x|."""
    _check(input, "logsigmoid")
    return LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    if type(input) in SPARSE_TYPES:  # a sparse COO tensor minus its tanh: sparse (as torch)
        return input - input.tanh()
    return input - tanh(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a · σ(b), where a and b are the two halves of ``input`` along ``dim``.

    The gate σ(b) decides, per element, how much of a passes (Dauphin et al., 2017, gated
    convolutional language models). ``dim``'s size must be even; the output has half of it.
    """
    _check(input, "glu")
    dim = dim if type(dim) is int else as_int("glu", "dim", dim, 2)  # PyTorch's parser
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise dim_range_error(dim, input.ndim)
    d = dim % input.ndim
    size = input.shape[d]
    if size % 2:
        raise ShapeError(f"glu: Halving dimension must be even, but dimension {d} is size {size}")
    out = Glu.apply(input, d)  # one node, GluBackward0 as PyTorch (ops/gated_linear.py)
    return given(out, dim=dim)  # grad_fn._saved_dim as given
