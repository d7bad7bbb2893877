"""What a tensor says about itself that PyTorch code asks before acting: the device and
layout flags of backends chainrule does not have (``x.is_mkldnn``, ``x.is_quantized``,
``x.is_nested``, ... all False), ``x.output_nr``, the removed ``volatile`` flag (False, with
PyTorch's warning), ``x.const_data_ptr()``, ``x.dim_order()`` and ``x.is_distributed()``.

Library code checks these before it acts (``if param.is_meta: ...`` in model loaders); here
they answer for chainrule's dense CPU/CuPy tensors.
"""

from __future__ import annotations

from typing import Any

from .._layout import stride_order
from .._user_warnings import warn_at_caller
from ..autograd.tensor import Tensor
from .binding import tensor_method
from .layout import data_ptr, is_contiguous, stride
from .tensor_queries import _check_tensor

__all__ = ["is_distributed"]

# Flags of devices and layouts chainrule has none of: each a property answering False.
ABSENT_FLAGS: tuple[str, ...] = (
    "is_ipu",
    "is_maia",
    "is_mkldnn",
    "is_mtia",
    "is_nested",
    "is_quantized",
    "is_sparse_csr",
    "is_vulkan",
    "is_xla",
)


def absent(self: Tensor) -> bool:
    """False: chainrule has no such device or layout."""
    return False


def output_nr(self: Tensor) -> int:
    """Which output of its ``grad_fn`` this tensor is: 0 for leaves and single-output ops,
    0, 1, ... for ``split``'s pieces. (chainrule's ``unbind`` makes each piece with a node of
    its own, so each is output 0 where PyTorch numbers them.)"""
    return self._output_nr


def get_volatile(self: Tensor) -> bool:
    """Always False: ``volatile`` was removed from PyTorch (``no_grad`` replaced it)."""
    warn_at_caller("volatile was removed (Variable.volatile is always False)")
    return False


def set_volatile(self: Tensor, value: Any) -> None:
    """Has no effect, with PyTorch's warning."""
    warn_at_caller("volatile was removed and now has no effect. Use `with cr.no_grad():` instead.")


def const_data_ptr(self: Tensor) -> int:
    """The address of the first element (``data_ptr()``; PyTorch's read-only variant)."""
    return data_ptr(self)


def dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple[int, ...]:
    """The dims from outermost to innermost in memory (``(0, 2, 3, 1)`` for a channels-last
    NCHW tensor). Dims whose order the strides do not fix (zero strides, equal strides)
    keep their logical order.

    Args:
        ambiguity_check: True raises when two dims share a stride (the order is then not
            unique). A list of memory formats is not supported (NotImplementedError).

    Raises:
        RuntimeError: ``ambiguity_check=True`` and the order is not unique.
    """
    if not isinstance(ambiguity_check, bool):
        raise NotImplementedError(
            "dim_order: ambiguity_check as a list of memory formats is not supported; "
            "pass True or False"
        )
    shape, strides = tuple(self.shape), tuple(stride(self))
    if ambiguity_check and len(set(strides)) != len(strides):
        raise RuntimeError(
            "The tensor does not have unique dim order, or cannot map to exact one of the "
            "given memory formats."
        )
    if is_contiguous(self):  # row-major whatever the strides of size-1 dims say
        return tuple(range(len(shape)))
    return tuple(reversed(stride_order(shape, strides)))  # stride_order: innermost first


@tensor_method
def is_distributed(input: Tensor) -> bool:  # noqa: A002 - PyTorch's name
    """False: chainrule's tensors are never distributed (``torch.is_distributed``)."""
    _check_tensor("is_distributed", "input", 1, input)
    return False
