"""``torch._dynamo.config``: the settings scripts assign (``suppress_errors``,
``cache_size_limit``, ...), with PyTorch's defaults.

chainrule compiles nothing (see ``chainrule._compile``), so no setting changes what runs;
they are kept so that ``torch._dynamo.config.cache_size_limit = 64`` at the top of a script
runs, and a misspelt name fails as in PyTorch (``AttributeError``) instead of passing.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = [
    "accumulated_cache_size_limit",
    "accumulated_recompile_limit",
    "assume_static_by_default",
    "automatic_dynamic_shapes",
    "cache_size_limit",
    "capture_dynamic_output_shape_ops",
    "capture_scalar_outputs",
    "dynamic_shapes",
    "force_parameter_static_shapes",
    "guard_nn_modules",
    "inline_inbuilt_nn_modules",
    "optimize_ddp",
    "recompile_limit",
    "specialize_int",
    "suppress_errors",
    "verbose",
]

suppress_errors = False
verbose = False
cache_size_limit = 8
recompile_limit = 8
accumulated_cache_size_limit = 256
accumulated_recompile_limit = 256
optimize_ddp = True
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True
specialize_int = False
force_parameter_static_shapes = True
inline_inbuilt_nn_modules = True
guard_nn_modules = True
dynamic_shapes = True


class _ConfigModule(types.ModuleType):
    """A module that refuses to create settings it does not have, as PyTorch's does."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("__") and name not in __all__:
            raise AttributeError(f"torch._dynamo.config.{name} does not exist")
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ConfigModule
