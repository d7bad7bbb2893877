"""``torch._C``: the few names of PyTorch's C extension that Python code uses directly
when it subclasses Tensor (see :mod:`chainrule.autograd.torch_function`)."""

from __future__ import annotations

from .autograd.torch_function import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
)
from .autograd.torch_function import (
    disabled_torch_function_impl as _disabled_torch_function_impl,
)

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass", "_disabled_torch_function_impl"]
