"""``cr.__future__`` (``torch.__future__``): switches that opt into behaviour PyTorch plans to
make the default, read by ``nn.Module``'s conversions and ``load_state_dict``.

- ``set_overwrite_module_params_on_conversion(True)``: ``module.to()``/``float()``/``cpu()``/
  ``to_empty()`` put *new* ``Parameter`` objects into the module instead of writing the
  converted values into the existing ones (an optimizer built before then keeps the old ones).
- ``set_swap_module_params_on_conversion(True)``: the conversions and ``load_state_dict`` keep
  each parameter object but swap its whole content (class, attributes, data, dtype, autograd
  state) with the converted tensor through :func:`chainrule.utils.swap_tensors`; it takes
  precedence over the overwrite switch.
"""

from __future__ import annotations

__all__ = [
    "get_overwrite_module_params_on_conversion",
    "get_swap_module_params_on_conversion",
    "set_overwrite_module_params_on_conversion",
    "set_swap_module_params_on_conversion",
]

_overwrite_module_params_on_conversion: bool = False
_swap_module_params_on_conversion: bool = False


def set_overwrite_module_params_on_conversion(value: bool) -> None:
    """Whether converting a module (``to``, ``float``, ``cpu``, ``to_empty``, ...) assigns
    new parameters instead of changing the existing ones in place."""
    global _overwrite_module_params_on_conversion
    _overwrite_module_params_on_conversion = value


def get_overwrite_module_params_on_conversion() -> bool:
    """The overwrite switch (default False): see
    :func:`set_overwrite_module_params_on_conversion`."""
    return _overwrite_module_params_on_conversion


def set_swap_module_params_on_conversion(value: bool) -> None:
    """Whether module conversions and ``load_state_dict`` swap each parameter's content with
    :func:`~chainrule.utils.swap_tensors` (``load_state_dict`` swaps in
    ``param.module_load(state_dict[key])``) instead of setting it in place."""
    global _swap_module_params_on_conversion
    _swap_module_params_on_conversion = value


def get_swap_module_params_on_conversion() -> bool:
    """The swap switch (default False): see :func:`set_swap_module_params_on_conversion`."""
    return _swap_module_params_on_conversion
