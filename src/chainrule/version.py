"""``cr.version``: what PyTorch's ``torch.version`` tells a script about the build.

Environment reports and guards read ``torch.version.cuda`` (None on a CPU-only build),
``torch.version.hip`` and ``torch.version.__version__``. Here ``__version__`` (the same as
``cr.__version__``) says which PyTorch API chainrule provides, as programs read it: the
PyTorch release it mirrors and is tested against, with chainrule's own release as the local
label (``2.13.0+chainrule.0.1.0``), a :class:`~chainrule.torch_version.TorchVersion` that
compares as a version. Scripts branch on it (``padding = 1 if torch.__version__ >= '1.5.0'
else 2``); chainrule's own number alone would send them down paths written for PyTorch 0.x.
The package's own release is :data:`chainrule_version` (``pip show chainrule``). ``cuda`` is
the CUDA runtime version of the GPU backend (CuPy) when one is installed and a device is
visible, else None, so ``if torch.version.cuda:`` means what it means in PyTorch: GPU
support is there. ROCm, HIP and XPU builds do not exist for chainrule: those are None.
``debug`` is False.
"""

from __future__ import annotations

from typing import Any

from .torch_version import TorchVersion

__all__ = [  # noqa: F822 - cuda: lazy
    "__version__",
    "chainrule_version",
    "cuda",
    "debug",
    "hip",
    "rocm",
    "torch_api_version",
    "xpu",
]

chainrule_version = "0.1.0"  # this package's release (pyproject.toml's version)
torch_api_version = "2.13.0"  # the PyTorch release whose API chainrule mirrors and tests against
__version__ = TorchVersion(f"{torch_api_version}+chainrule.{chainrule_version}")
debug = False
hip: str | None = None
rocm: str | None = None
xpu: str | None = None


def _cuda_runtime_version() -> str | None:
    """``"major.minor"`` of CuPy's CUDA runtime where a GPU is usable, else None."""
    from . import cuda as _cuda  # noqa: PLC0415 - importing CuPy is slow: only when asked

    if not _cuda.is_available():
        return None
    import cupy  # noqa: PLC0415 - present: is_available() imported it

    v = int(cupy.cuda.runtime.runtimeGetVersion())  # e.g. 12040 for CUDA 12.4
    return f"{v // 1000}.{v % 1000 // 10}"


def __getattr__(name: str) -> Any:
    if name == "cuda":
        value = _cuda_runtime_version()
        globals()["cuda"] = value  # computed once
        return value
    raise AttributeError(f"module 'chainrule.version' has no attribute {name!r}")
