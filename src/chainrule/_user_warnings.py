"""Warnings reported at the user's line, and PyTorch's warn-once-per-process warnings.

A fixed ``stacklevel`` points at the right line only while the call path from the user's
code to ``warnings.warn`` has a known length; in chainrule it does not: ``F.softmin`` calls
``F.softmax``, ``nn.Softmax`` calls it through ``Module.__call__``, and ``cr.overrides``
may put a dispatching wrapper around any public function. :func:`warn_at_caller` therefore
counts the frames itself and reports the first frame outside the chainrule package, the
line PyTorch's own warnings point at when they are raised from Python.

:func:`warn_once` is PyTorch's ``TORCH_WARN_ONCE``: the warning is issued the first time
only, in the whole process, whatever the ``warnings`` filters say (``simplefilter("always")``
does not bring it back), as PyTorch's C++ warnings of that kind behave.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn_at_caller", "warn_once"]

# every module of chainrule lives under this directory (with the trailing separator, so that
# a user's "chainrule_experiments/" next to it does not count as chainrule)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# the keys of the warn-once warnings already issued in this process
_issued: set[str] = set()


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that ``warnings.warn`` needs, when called from
    :func:`warn_at_caller`, to name the first frame outside chainrule."""
    frame = sys._getframe(1)  # warn_at_caller (or warn_once's call of it)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue ``message`` as a ``category`` warning attributed to the user's line: the
    innermost frame on the stack that is not chainrule's own code."""
    warnings.warn(message, category, stacklevel=_caller_stacklevel())


def warn_once(key: str, message: str, category: type[Warning] = UserWarning) -> None:
    """Issue the warning the first time ``key`` is seen in this process, at the user's line
    (PyTorch's ``TORCH_WARN_ONCE``); later calls with the same key do nothing."""
    if key in _issued:
        return
    _issued.add(key)
    warnings.warn(message, category, stacklevel=_caller_stacklevel())
