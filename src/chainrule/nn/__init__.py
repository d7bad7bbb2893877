"""Neural-network building blocks (``cr.nn``): Module, Parameter, layers, losses, init."""

from .._package_dir import package_dir as _package_dir
from . import attention, functional, grad, init, modules, parallel, parameter, utils  # noqa: F401
from .layers import *  # noqa: F401,F403
from .legacy_helpers import Container, factory_kwargs
from .module import Module
from .parallel import DataParallel
from .parameter import Buffer, Parameter

__all__ = [
    "Container",
    "factory_kwargs",
    "Module",
    "Parameter",
    "Buffer",
    "DataParallel",
    "attention",
    "functional",
    "grad",
    "init",
    "parallel",
    "utils",
]


def __getattr__(name: str) -> object:
    # torch.nn.quantized / intrinsic / qat: the modules of cr.ao.nn, loaded on first use
    # (in here: cr.ao imports cr.nn)
    if name in ("quantized", "intrinsic", "qat"):
        import importlib

        return importlib.import_module(f"chainrule.ao.nn.{name}")
    raise AttributeError(f"module 'chainrule.nn' has no attribute {name!r}")


# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(globals(), ("modules", "parameter"), ("quantized", "intrinsic", "qat"))
