"""The errors ``cr.export`` raises, named and shaped as torch's: export refusing the module
(:class:`UserError`), a dynamic dimension the code does not keep dynamic
(:class:`ConstraintViolationError`), and Python control flow on traced data
(:class:`GuardOnDataDependentSymNode`)."""

from __future__ import annotations

import os
import traceback

__all__ = [
    "ConstraintViolationError",
    "GuardOnDataDependentSymNode",
    "UserError",
    "user_frame",
    "with_suffix",
]

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


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the machinery between the traced code and an error (export, fx, Module.__call__, the
# standard library and site-packages): frames there are not shown
_MACHINERY = (
    *(os.path.join(_PACKAGE, *p) for p in (("export",), ("fx",), ("nn", "module.py"))),
    os.path.dirname(os.path.abspath(traceback.__file__)),
)


def user_frame() -> str:
    """``  File "...", line N, in fn\\n    code``: the innermost frame of the traced code."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_MACHINERY):
            return (
                f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}'
            )
    return "  (no user frame found)"
