"""``cr.utils.dlpack``: ``from_dlpack`` / ``to_dlpack`` (the same functions as
``cr.from_dlpack`` / ``cr.to_dlpack``, as in ``torch.utils.dlpack``) and the DLPack device
codes."""

from __future__ import annotations

import enum

from ..creation import from_dlpack
from ..ops import to_dlpack  # the root function (its binding texts), as torch.utils.dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """The device codes of the DLPack standard (``dlpack.h``'s ``DLDeviceType``)."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17
