"""The errors ``cr.export`` raises, named and shaped as torch's: export refusing the module
(:class:`UserError`), a dynamic dimension the code does not keep dynamic
(:class:`ConstraintViolationError`), and Python control flow on traced data
(:class:`GuardOnDataDependentSymNode`)."""

from __future__ import annotations

__all__ = ["ConstraintViolationError", "GuardOnDataDependentSymNode", "UserError"]

_SUFFIX = (
    "\n\nThe error above occurred when calling torch.export.export. If you would like to view "
    "some more information about this error, and get a list of all other errors that may "
    "occur in your export call, you can replace your `export()` call with `draft_export()`."
)


class UserError(RuntimeError):
    """``torch._dynamo.exc.UserError``: what was passed to ``export`` cannot be exported as
    given (bad ``dynamic_shapes``, a dynamic dimension the code specializes)."""


class ConstraintViolationError(RuntimeError):
    """``torch.fx.experimental.symbolic_shapes.ConstraintViolationError``: an example
    input's size is outside the range its ``Dim`` allows."""


class GuardOnDataDependentSymNode(RuntimeError):
    """``torch.fx.experimental.symbolic_shapes.GuardOnDataDependentSymNode``: the exported
    code branches on (or converts to a Python number) a value computed from tensor data."""


def with_suffix(msg: str) -> str:
    """``msg`` followed by torch's note on where the error came from."""
    return msg + _SUFFIX
