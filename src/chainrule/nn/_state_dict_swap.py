"""``load_state_dict`` under ``cr.__future__.set_swap_module_params_on_conversion(True)``:
each parameter or buffer keeps its object and swaps in ``param.module_load(value,
assign=assign)`` (wrapped in a ``Parameter`` for a parameter) through
:func:`~chainrule.utils.swap_tensors`, as PyTorch's ``Module._load_from_state_dict``."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..autograd.swap import swap_tensors
from ..autograd.tensor import Tensor
from .parameter import Parameter

__all__ = ["swap_in"]


def swap_in(target: Tensor, value: Tensor, key: str, assign: bool, errors: list) -> None:
    """Swap the checkpoint's ``value`` (through ``target.module_load``) into ``target``; a
    failure is appended to ``errors`` in PyTorch's words."""
    try:
        with no_grad():
            new = target.module_load(value, assign=assign)
            if new is value or new is target:
                raise RuntimeError(
                    "module_load returned one of self or other, please .detach() the result "
                    "if returning one of the inputs in module_load"
                )
            if isinstance(target, Parameter):
                if not isinstance(new, Parameter):
                    new = Parameter(new, requires_grad=target.requires_grad)
                else:
                    new.requires_grad_(target.requires_grad)
            swap_tensors(target, new)
            del new
    except Exception as ex:
        errors.append(
            f'While swapping the parameter named "{key}", whose dimensions in the model are '
            f"{target.size()} and whose dimensions in the checkpoint are {value.size()}, "
            f"an exception occurred : {ex.args}."
        )
