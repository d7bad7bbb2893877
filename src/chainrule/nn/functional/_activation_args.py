"""The input check that the activations of ``nn.functional`` share.

Kept apart from ``activation_piecewise.py`` and ``activation_smooth.py`` (both import it)
so that neither family module imports the other.
"""

from __future__ import annotations

from ...autograd.tensor import Tensor
from ...ops._tensor_args import torch_type_name
from ...ops._util import DtypeError
from ...ops.checked_arguments import kernel_dtype_error

__all__ = ["check_floating"]

_ATEN_NAMES = {"logsigmoid": "log_sigmoid"}  # the ATen function's name, where it differs
_NOT_PARSED = frozenset({"softsign", "glu"})  # composed in Python by PyTorch: no parser
# the CPU kernel PyTorch's "not implemented for 'Long'" names, per activation
_KERNELS = {
    "leaky_relu": "leaky_relu_cpu",
    "rrelu": "leaky_relu_cpu",
    "hardsigmoid": "hardsigmoid_cpu",
    "hardshrink": "hardshrink_cpu",
    "softshrink": "softshrink_check",
    "elu": "elu_cpu",
    "selu": "elu_cpu",
    "celu": "elu_cpu",
    "gelu": "GeluKernelImpl",
    "silu": "silu_cpu",
    "mish": "mish_cpu",
    "hardswish": "hardswish_cpu",
    "logsigmoid": "log_sigmoid_cpu",
    "glu": "glu_cpu",
    "prelu": "prelu_cpu",
    "softsign": "abs_cpu",
    "threshold": "threshold_cpu",
}


def check_floating(x: object, op: str) -> None:
    """Refuse anything but a floating-point Tensor (bfloat16 included): a TypeError for a
    non-Tensor, a DtypeError otherwise. Integer and complex inputs that an activation does
    take (``hardtanh``, ``threshold``, ``silu``, ``softsign``) are routed before this."""
    if not isinstance(x, Tensor):
        if op in _NOT_PARSED:  # PyTorch's Python code fails on it (AttributeError)
            raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
        raise TypeError(  # PyTorch's parser of the ATen function
            f"{_ATEN_NAMES.get(op, op)}(): argument 'input' (position 1) must be Tensor, "
            f"not {torch_type_name(x)}"
        )
    if x.dtype.kind not in "fV":  # V: bfloat16 (its Functions run in float32)
        kernel = _KERNELS.get(op)
        if op == "hardtanh":  # (integers it takes) PyTorch's words for bool and complex
            kind = x._data.dtype.kind
            raise DtypeError(
                "Bool inputs not supported for hardtanh"
                if kind == "b"
                else "clamp is not supported for complex types"
                if kind == "c"
                else f"{op}: expected a floating-point tensor, got dtype {x.dtype}"
            )
        if kernel is None:
            raise DtypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype}")
        hint = f"({op} takes floating-point tensors: convert the input with .float())"
        raise kernel_dtype_error(kernel, x._data.dtype, hint)
