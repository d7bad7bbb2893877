"""``cr.cuda``: PyTorch's CUDA queries, answered through CuPy.

chainrule runs on an NVIDIA GPU through CuPy (``pip install chainrule[gpu]``). Every answer
here is real: :func:`is_available` is True only when CuPy imports *and* sees a GPU, and the
device queries ask CuPy's runtime. Without a GPU the queries that need one raise a clear
error that is both PyTorch's ``AssertionError`` ("Torch not compiled with CUDA enabled")
and a ``RuntimeError``, while the seeding and cache functions are silently ignored, as in PyTorch
(so ``torch.cuda.manual_seed_all(0)`` in a CPU script keeps working).
``cr.cuda.amp`` holds PyTorch's deprecated ``torch.cuda.amp`` spellings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .. import backend, random
from ..errors import OutOfMemoryError

if TYPE_CHECKING:  # for the annotations only: torch.cuda has no ``Tensor`` attribute either
    from ..autograd.tensor import Tensor

__all__ = [
    "OutOfMemoryError",
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "get_rng_state",
    "get_rng_state_all",
    "initial_seed",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
    "seed",
    "seed_all",
    "set_device",
    "set_rng_state",
    "set_rng_state_all",
    "synchronize",
]


def __getattr__(name: str) -> Any:
    if name == "amp":  # loaded on first use: it imports cr.amp, which imports this module
        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module 'chainrule.cuda' has no attribute {name!r}")


def _cupy() -> Any:
    return backend._cupy


def is_available() -> bool:
    """Whether a CUDA GPU can be used: CuPy is installed and sees at least one device."""
    return backend.cupy_available()


def is_initialized() -> bool:
    """Whether CUDA can be used (CuPy initialises its runtime lazily, on first use)."""
    return is_available()


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 without CuPy or without a GPU)."""
    if not is_available():
        return 0
    return int(_cupy().cuda.runtime.getDeviceCount())


def _require(op: str) -> Any:
    """CuPy, when it sees a GPU; else :class:`~chainrule.backend.CudaUnavailableError` (an
    AssertionError and a RuntimeError), starting with PyTorch's words: a CPU-only PyTorch's
    when CuPy is missing, a CUDA build's on a machine without a GPU when CuPy sees none."""
    if not is_available():
        if _cupy() is None:
            torch_words, reason = (
                backend.NO_CUDA,
                "CuPy is not installed (`pip install chainrule[gpu]`)",
            )
        else:
            torch_words, reason = "No CUDA GPUs are available", "CuPy sees no CUDA device"
        raise backend.CudaUnavailableError(
            f"{torch_words}: cr.cuda.{op}: no CUDA GPU is available: {reason}; check "
            "cr.cuda.is_available() first"
        )
    return _cupy()


def _index(op: str, device: Any) -> int:
    if device is None:
        return current_device()
    if isinstance(device, int):
        idx = device
    else:
        dev = backend.Device(device)
        if dev.type != "cuda":
            raise ValueError(f"cr.cuda.{op}: expected a CUDA device, got {device!r}")
        idx = dev.index if dev.index is not None else current_device()  # bare 'cuda'
    count = device_count()
    if not 0 <= idx < count:
        raise ValueError(f"cr.cuda.{op}: invalid device index {idx}; {count} device(s) seen")
    return idx


def current_device() -> int:
    """The index of the CUDA device CuPy currently uses."""
    return int(_require("current_device").cuda.runtime.getDevice())


def set_device(device: Any) -> None:
    """Make ``device`` (an index, ``'cuda:N'`` or a ``cr.device``) CuPy's current device."""
    cp = _require("set_device")
    cp.cuda.runtime.setDevice(_index("set_device", device))


def get_device_name(device: Any = None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    cp = _require("get_device_name")
    name = cp.cuda.runtime.getDeviceProperties(_index("get_device_name", device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device: Any = None) -> tuple[int, int]:
    """The device's compute capability as ``(major, minor)``."""
    cp = _require("get_device_capability")
    props = cp.cuda.runtime.getDeviceProperties(_index("get_device_capability", device))
    return int(props["major"]), int(props["minor"])


class _CudaDeviceProperties:
    """What :func:`get_device_properties` returns: the fields of PyTorch's
    ``_CudaDeviceProperties`` that CuPy's runtime reports."""

    __slots__ = ("major", "minor", "multi_processor_count", "name", "total_memory")

    def __init__(self, props: dict) -> None:
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.total_memory = int(props["totalGlobalMem"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // (1024 * 1024)}MB, "
            f"multi_processor_count={self.multi_processor_count})"
        )


def get_device_properties(device: Any = None) -> _CudaDeviceProperties:
    """The device's name, compute capability (``major``, ``minor``), ``total_memory`` in
    bytes and ``multi_processor_count``, from CuPy's runtime."""
    cp = _require("get_device_properties")
    return _CudaDeviceProperties(
        cp.cuda.runtime.getDeviceProperties(_index("get_device_properties", device))
    )


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on ``device`` has finished."""
    cp = _require("synchronize")
    with cp.cuda.Device(_index("synchronize", device)):
        cp.cuda.Device().synchronize()


def empty_cache() -> None:
    """Return CuPy's cached, unused GPU blocks to the driver (no-op without a GPU)."""
    if is_available():
        _cupy().get_default_memory_pool().free_all_blocks()
        _cupy().get_default_pinned_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed CuPy's random generator for the current GPU; ignored without one (as PyTorch).

    chainrule draws its random numbers from ``cr.manual_seed``'s generator on every device,
    so this only affects code that calls ``cupy.random`` directly.
    """
    if is_available():
        _cupy().random.seed(int(seed) % (2**32))


def manual_seed_all(seed: int) -> None:
    """Seed CuPy's random generator on every GPU; ignored without one (as PyTorch)."""
    if is_available():
        cp = _cupy()
        for i in range(device_count()):
            with cp.cuda.Device(i):
                cp.random.seed(int(seed) % (2**32))


def seed() -> None:
    """Seed CuPy's generator for the current GPU with a random number; ignored without one
    (PyTorch queues it until CUDA starts, which on a machine without a GPU is never)."""
    if is_available():
        _cupy().random.seed()


def seed_all() -> None:
    """:func:`seed` on every GPU; ignored without one (as PyTorch)."""
    if is_available():
        cp = _cupy()
        for i in range(device_count()):
            with cp.cuda.Device(i):
                cp.random.seed()


def get_rng_state(device: Any = "cuda") -> Tensor:
    """The random state used for GPU tensors: chainrule draws them from ``cr.manual_seed``'s
    generator on every device, so this is ``cr.get_rng_state()``, a 1-d ``uint8`` CPU tensor
    (PyTorch's is a CPU ``ByteTensor`` too).

    Raises:
        RuntimeError: no CUDA GPU can be used (PyTorch fails there too).
    """
    _require("get_rng_state")
    return random.get_rng_state()


def set_rng_state(new_state: Tensor, device: Any = "cuda") -> None:
    """Restore :func:`get_rng_state`'s state tensor (checked as ``cr.set_rng_state`` checks
    it); ignored without a GPU (PyTorch queues it until CUDA starts, which on a machine
    without a GPU is never)."""
    if is_available():
        random.set_rng_state(new_state)


def get_rng_state_all() -> list[Tensor]:
    """One :func:`get_rng_state` per GPU: ``[]`` without one, as PyTorch."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states: Any) -> None:
    """Restore :func:`get_rng_state_all`'s states (one per GPU; nothing without a GPU)."""
    for state in list(new_states)[: device_count()]:
        set_rng_state(state)


def initial_seed() -> int:
    """The seed of the generator GPU tensors are drawn from (``cr.initial_seed()``).

    Raises:
        RuntimeError: no CUDA GPU can be used (PyTorch fails there too).
    """
    _require("initial_seed")
    return random.initial_seed()


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False without a GPU, as PyTorch (``cr.bfloat16`` itself works on the CPU)."""
    return False


def memory_allocated(device: Any = None) -> int:
    """Bytes of GPU memory held by live arrays in CuPy's pool (0 without a GPU, as PyTorch)."""
    if not is_available():
        return 0
    with _cupy().cuda.Device(_index("memory_allocated", device)):
        return int(_cupy().get_default_memory_pool().used_bytes())


def memory_reserved(device: Any = None) -> int:
    """Bytes of GPU memory CuPy's pool holds, used or cached (0 without a GPU)."""
    if not is_available():
        return 0
    with _cupy().cuda.Device(_index("memory_reserved", device)):
        return int(_cupy().get_default_memory_pool().total_bytes())


def mem_get_info(device: Any = None) -> tuple[int, int]:
    """``(free, total)`` bytes on the device, from the CUDA driver."""
    cp = _require("mem_get_info")
    with cp.cuda.Device(_index("mem_get_info", device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)
