"""PyTorch's device error types at the top level: ``cr.OutOfMemoryError`` (also
``cr.cuda.OutOfMemoryError``, as ``torch.cuda.OutOfMemoryError is torch.OutOfMemoryError``)
and ``cr.AcceleratorError``, so that ``except torch.cuda.OutOfMemoryError:`` clauses run.

chainrule raises :class:`OutOfMemoryError` where it reports a device running out of memory
itself; NumPy's ``MemoryError`` on the CPU is left as it is (PyTorch reports a failed CPU
allocation as a plain ``RuntimeError``, not as this type, either).
"""

from __future__ import annotations

__all__ = ["AcceleratorError", "OutOfMemoryError"]


class OutOfMemoryError(RuntimeError):
    """Exception raised when device is out of memory"""


class AcceleratorError(RuntimeError):
    """Exception raised while executing on device"""
