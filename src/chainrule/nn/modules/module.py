"""``torch.nn.modules.module`` path: re-exports chainrule's Module base class, the
``load_state_dict`` result type, and the hooks that apply to every module
(``register_module_forward_hook`` and the rest, with their stores under PyTorch's
``_global_*_hooks`` names)."""

from __future__ import annotations

from .._forward_hooks import (  # noqa: F401  (re-exported at PyTorch's path)
    _global_backward_hooks,
    _global_backward_pre_hooks,
    _global_buffer_registration_hooks,
    _global_forward_hooks,
    _global_forward_pre_hooks,
    _global_module_registration_hooks,
    _global_parameter_registration_hooks,
)
from .._global_hooks import (  # noqa: F401  (re-exported at PyTorch's path)
    register_module_backward_hook,
    register_module_buffer_registration_hook,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)
from .._state_dict import _IncompatibleKeys
from ..module import Module

# Only these are star-exported into ``chainrule.nn.modules`` (and checked against ``chainrule.nn``):
# PyTorch has the hooks and their stores under this path alone, not in ``torch.nn.modules`` or
# ``torch.nn``, so they are plain attributes here.
__all__ = ["Module", "_IncompatibleKeys"]
