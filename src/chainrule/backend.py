"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op gets its array module through :func:`get_array_module`, so the same code runs on
either backend (Chainer's ``xp`` idiom). Nothing here chooses a backend from the environment:
a tensor lives where its data lives.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import Any

import numpy as np

from .meta.array import COPY_OUT, MetaArray, as_meta

try:  # CuPy is optional: ``pip install chainrule[gpu]``
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

Array = Any  # numpy.ndarray or cupy.ndarray


class DeviceError(ValueError, RuntimeError):
    """A device string or index chainrule cannot use. PyTorch raises ``RuntimeError``
    (``torch.device("tpu")``); chainrule has raised ``ValueError``: this is both, so code
    written for either keeps catching it."""


class CudaUnavailableError(AssertionError, RuntimeError):
    """CUDA work without a usable GPU. A CPU-only PyTorch raises ``AssertionError("Torch not
    compiled with CUDA enabled")`` and a CUDA build on a machine without a GPU raises
    ``RuntimeError``; chainrule without CuPy is the first, with CuPy but no GPU the second:
    this is both, so code written for either keeps catching it."""


NO_CUDA = "Torch not compiled with CUDA enabled"  # PyTorch's words, CPU-only build
# PyTorch's words for a device given by index (``torch.device(0)``, ``x.to(0)``) without one
NO_ACCELERATOR = "Cannot access accelerator device when none is available."


class UnsupportedDeviceError(NotImplementedError, AssertionError):
    """A device PyTorch names but chainrule cannot compute on (``'mps'``, ``'xpu'``,
    ``'hpu'``, ...). PyTorch raises NotImplementedError, RuntimeError or AssertionError for
    work on such a device, by type; this is all three (NotImplementedError is a RuntimeError),
    so code catching any of them keeps working."""


# PyTorch's device types, in the order its error message lists them: torch.device() accepts
# each of them; chainrule computes on "cpu" (NumPy) and "cuda" (CuPy), and holds shapes
# without data on "meta" (chainrule.meta); the others raise (see to_device).
DEVICE_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
    "vulkan, mps, meta, hpu, mtia, privateuseone"
).split(", ")
COMPUTE_TYPES = ("cpu", "cuda")

_DEVICE_RE = re.compile(r"^([A-Za-z_]+)(?::(0|[1-9][0-9]*))?$")
_MKLDNN_WARNING = (
    "'mkldnn' is no longer used as device type. So torch.device('mkldnn') will be deprecated "
    "and removed in the future. Please use other valid device types instead."
)


def cupy_available() -> bool:
    """Whether CuPy imported and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


# whether ``get_array_module`` looks at its arguments: CuPy imported, or a meta array made
_LOOK = _cupy is not None


def look_for_meta() -> None:
    """Called once, when the first meta array is made: ``get_array_module`` answers the meta
    array module (``meta/xp.py``) for meta arrays from then on."""
    global _LOOK
    _LOOK = True


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, the meta array module
    (``meta/xp.py``: NumPy whose creation functions make meta arrays) if any is a meta
    array, else ``numpy``."""
    if _LOOK:
        for a in arrays:
            if type(a) is MetaArray:
                from .meta.xp import META_NP  # noqa: PLC0415 - meta/xp imports meta/array

                return META_NP
            if _cupy is not None and isinstance(a, _cupy.ndarray):
                return _cupy
    return np


class Device:
    """Where a tensor's data lives: ``Device('cpu')`` or ``Device('cuda:0')``.

    Every device type PyTorch knows (:data:`DEVICE_TYPES`: ``'meta'``, ``'mps'``, ``'xpu'``,
    ...) constructs, prints, compares and hashes as in PyTorch, so code that names them
    imports and runs; tensors live on 'cpu', 'cuda' and 'meta' (shapes without data,
    :mod:`chainrule.meta`), and using any other for data (a factory's ``device=``,
    ``.to()``) raises :class:`UnsupportedDeviceError` in :func:`to_device`.

    ``with cr.device('meta'):`` makes it the default device of factory functions (and so
    of module construction) inside the block, as PyTorch's device context."""

    __slots__ = ("type", "index")

    def __init__(self, spec: "str | Device" = "cpu", index: int | None = None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if isinstance(spec, int) and not isinstance(spec, bool):
            if spec < 0:
                raise DeviceError("Device index must not be negative")  # PyTorch's words
            if not cupy_available():  # PyTorch's RuntimeError (CudaUnavailableError is one)
                raise CudaUnavailableError(NO_ACCELERATOR)
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            if isinstance(spec, np.integer):  # an index, as PyTorch's parser reads it
                self.__init__(int(spec), index)
                return
            raise TypeError(
                f"device: expected a string such as 'cpu' or 'cuda:0', got {type(spec).__name__}"
            )
        m = _DEVICE_RE.match(spec)
        if m is not None and m.group(1) not in DEVICE_TYPES:
            raise DeviceError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device "
                f"string: {spec} (device: invalid device string {spec!r}: no such device type)"
            )
        if m is None:
            raise DeviceError(
                f"device: invalid device string {spec!r}; expected 'cpu', "
                "'cuda' or 'cuda:N' with N a non-negative integer"
            )
        if index is not None and (m.group(2) is not None or int(index) < 0):
            raise DeviceError(f"device: invalid index {index!r} for device string {spec!r}")
        kind, idx = m.group(1), m.group(2)
        if kind == "mkldnn":
            warnings.warn(_MKLDNN_WARNING, UserWarning, stacklevel=2)
        self.type = kind
        # as PyTorch: a bare 'cuda' names the current device and keeps index None, so
        # device('cuda') != device('cuda:0') and its repr shows no index
        self.index = int(idx) if idx else index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self) -> "Device":
        """``with cr.device('meta'):``, PyTorch's device context: factory functions given no
        device make their tensors on this one inside (``'cpu'`` and ``'meta'``; the others
        raise rather than being silently ignored). Blocks nest; leaving one restores the
        default it found."""
        if self.type not in ("cpu", "meta"):
            raise NotImplementedError(
                f"with cr.device({str(self)!r}): chainrule cannot make {self} the default "
                "device of factory functions; pass device= to them or move tensors with .to()"
            )
        _ENTERED.append(DEFAULT_DEVICE[0])
        DEFAULT_DEVICE[0] = None if self.type == "cpu" else self
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if _ENTERED:
            DEFAULT_DEVICE[0] = _ENTERED.pop()
        return None


CPU = Device("cpu")
META = Device("meta")
# The device factory functions use when given none (None: the CPU, PyTorch's default);
# set by cr.set_default_device and ``with cr.device(...)`` (whose entries _ENTERED stacks).
DEFAULT_DEVICE: list = [None]
_ENTERED: list = []


def factory_device(device: Any) -> Any:
    """``device`` as a factory function reads it: None means the default device."""
    return DEFAULT_DEVICE[0] if device is None else device


def is_meta_device(device: Any) -> bool:
    """Whether a factory's ``device`` argument (None: the default) names the meta device."""
    if device is None:
        device = DEFAULT_DEVICE[0]
        if device is None:
            return False
    if isinstance(device, Device):
        return device.type == "meta"
    return isinstance(device, str) and device == "meta"


def check_compute_device(device: Device, op: str = "") -> None:
    """Raise :class:`UnsupportedDeviceError` unless ``device`` is one chainrule computes on
    ('cpu' with NumPy, 'cuda' with CuPy); ``op`` names the caller in the message."""
    if device.type not in COMPUTE_TYPES:
        where = f"{op}: " if op else ""
        raise UnsupportedDeviceError(
            f"{where}device {str(device)!r} is not supported: chainrule computes on 'cpu' "
            "(NumPy) and 'cuda' (CuPy) only, so it cannot place data on a "
            f"{device.type!r} device"
        )


def device_of(array: Any) -> Device:
    """The :class:`Device` an array lives on."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return Device("cuda", array.device.id)
    if type(array) is MetaArray:
        return META
    return CPU


def to_device(array: Any, device: "str | Device") -> Any:
    """Move an array to ``device`` (a no-op when it is already there).

    To ``'meta'``: an array of the same shape and dtype without data (nothing is copied).

    Raises:
        UnsupportedDeviceError: a device type PyTorch knows but chainrule cannot compute on
            (``'mps'``, ``'xpu'``, ...): never a CPU array reported as living there.
        NotImplementedError: a meta array to a device with data (PyTorch's "Cannot copy out
            of meta tensor; no data!").
    """
    device = Device(device)
    if device.type == "meta":
        return as_meta(array)
    if type(array) is MetaArray:
        raise NotImplementedError(COPY_OUT)
    check_compute_device(device)
    if device.type == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return array
    if _cupy is None:
        raise CudaUnavailableError(
            f"{NO_CUDA}\n(chainrule: device 'cuda' needs CuPy: install it with `pip install "
            "chainrule[gpu]` or the cupy wheel matching your CUDA version)"
        )
    with _cupy.cuda.Device(device.index):
        return _cupy.asarray(array)


def errstate(xp: Any, **kwargs: str):
    """``numpy.errstate(**kwargs)`` for NumPy arrays; a no-op context for CuPy, whose kernels
    never warn about floating-point errors (and which has no ``errstate``)."""
    return np.errstate(**kwargs) if xp is np else contextlib.nullcontext()


def strided_view(array: Any, shape: tuple, strides: tuple, writeable: bool = False) -> Any:
    """A view of ``array`` with ``shape`` and byte ``strides`` (NumPy's ``as_strided``), on
    either backend. Read-only by default on NumPy; CuPy's views cannot be made read-only, so
    callers of a read-only view must not write through it on either backend."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.lib.stride_tricks.as_strided(array, shape, strides)
    if array.dtype.kind == "f" and array.dtype.itemsize == 1:  # float8_e5m2: NumPy cannot
        raw = array.view(np.uint8)  # read its array interface ('<f1'); through its bytes
        out = np.lib.stride_tricks.as_strided(raw, shape, strides, writeable=writeable)
        return out.view(array.dtype)
    return np.lib.stride_tricks.as_strided(array, shape, strides, writeable=writeable)


def host(array: Any) -> np.ndarray:
    """``array`` as a NumPy array: a NumPy array itself (subclasses too), a host copy of a
    CuPy array, anything else through ``numpy.asarray``. For small metadata (indices,
    sizes, flags) a host algorithm needs, and for writing files; not for bulk data an op
    could compute where it lives."""
    if isinstance(array, np.ndarray):
        return array
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return np.asarray(array)


def is_writeable(array: Any) -> bool:
    """Whether ops may write into ``array`` in place: NumPy's ``flags.writeable``. CuPy has
    no read-only arrays, so there a broadcast view (a zero stride over more than one
    element, whose elements alias) counts as read-only, as NumPy's ``broadcast_to`` makes it."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return not any(s == 0 and n > 1 for s, n in zip(array.strides, array.shape))
    return bool(array.flags.writeable)


CUPY_IMPORTED = _cupy is not None  # ops pay for mixed-device handling only where CuPy is


def arrays_to_device(arrays: list) -> list:
    """``arrays`` with each NumPy array moved to the GPU when another one is a CuPy array.

    PyTorch treats a 0-d CPU tensor beside CUDA tensors as a scalar, and CuPy's kernels
    refuse NumPy arrays (even 0-d ones). Ops also build small host constants inside their
    graphs (an identity mask, the positions of a sequence, a column of ones): those follow
    the data to its device here, once, instead of at every site. A user's n-d CPU tensor
    beside a GPU tensor in a binary op is refused before this (``ops._util.promote``)."""
    gpu = next((a for a in arrays if isinstance(a, _cupy.ndarray)), None)
    if gpu is None:
        return arrays
    with gpu.device:
        return [_cupy.asarray(a) if type(a) is np.ndarray else a for a in arrays]
