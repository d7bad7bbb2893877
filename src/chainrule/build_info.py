"""What this build of chainrule has, as PyTorch's top-level flags say it, and which module
serves a device type (``torch.get_device_module``).

- ``has_lapack``: True (NumPy's linear algebra is LAPACK).
- ``has_spectral``: True (``cr.fft`` is NumPy's FFT).
- ``has_mkl``: whether NumPy's BLAS is Intel's MKL (PyPI's NumPy uses OpenBLAS: False).
- ``has_openmp``: whether chainrule's compiled kernels run on OpenMP
  (``cr.backends.openmp.is_available()``); looked up when first read, since asking imports
  Numba, which ``import chainrule`` does not.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from .backend import Device
from .backends import openmp
from .settings import get_default_device

# ``has_openmp`` is a lazy module attribute (see ``__getattr__``), so not in ``__all__``.
__all__ = ["get_device_module", "has_lapack", "has_mkl", "has_spectral"]

# The device types with a module here (torch.cpu, torch.cuda, torch.mps, torch.xpu); the
# other types torch.device accepts have none, and get_device_module refuses them as torch.
_DEVICE_MODULES = ("cpu", "cuda", "mps", "xpu")


def _numpy_blas_is_mkl() -> bool:
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
        return "mkl" in str(deps.get("blas", {}).get("name", "")).lower()
    except (KeyError, TypeError, ValueError):  # an older NumPy's config layout
        return False


has_lapack: bool = True
has_spectral: bool = True
has_mkl: bool = _numpy_blas_is_mkl()


def __getattr__(name: str) -> Any:
    if name == "has_openmp":
        return openmp.is_available()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_device_module(device: Any = None) -> ModuleType:
    """The module of a device type: ``cr.cpu`` for ``"cpu"``, ``cr.cuda`` for ``"cuda"``
    (a ``cr.device``, a device string, or None for the default device's type).

    Raises:
        RuntimeError: ``device`` is not a device, a device string or None, or is a string
            that names no device chainrule knows.
    """
    if device is None:
        device = get_default_device()
    if isinstance(device, str):
        device = Device(device)
    if not isinstance(device, Device):
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or None")
    if device.type not in _DEVICE_MODULES:
        raise RuntimeError(
            f"Device '{device.type}' does not have a corresponding module registered as "
            f"'torch.{device.type}'."
        )
    return importlib.import_module(f".{device.type}", __package__)
