"""``torch._C``: the few names of PyTorch's C extension that Python code uses directly
when it subclasses Tensor (see :mod:`chainrule.autograd.torch_function`)."""

from __future__ import annotations

from . import _c_nn as _nn  # noqa: F401 (torch._C._nn, which cr.fx prints)
from .autograd.torch_function import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
)
from .autograd.torch_function import (
    disabled_torch_function_impl as _disabled_torch_function_impl,
)

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass", "_disabled_torch_function_impl"]
