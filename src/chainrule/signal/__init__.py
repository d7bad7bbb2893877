"""Signal processing, mirroring ``torch.signal``: its one submodule, ``windows`` (the window
functions ``hann``, ``hamming``, ``kaiser``, ``gaussian``, ...).

``windows`` is imported on first use: ``creation_more`` imports this package's
``_window_math`` (the formulas it shares with ``windows``) while ``chainrule`` itself is
still importing, before the ``ops`` that ``windows`` builds on.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["windows"]


def __getattr__(name: str) -> ModuleType:
    if name == "windows":
        return importlib.import_module(".windows", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
