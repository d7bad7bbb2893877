"""``torch._dynamo.exc``: the exception classes scripts catch around compiled code.

chainrule traces nothing; the one raised here is ``UncapturedHigherOrderOpError``, by
``cr.cond`` and ``cr.while_loop`` for what PyTorch's tracer refuses in a branch or loop body
(mutating or returning an input, branches of different structure).
"""

from __future__ import annotations

__all__ = ["TorchDynamoException", "UncapturedHigherOrderOpError"]


class TorchDynamoException(RuntimeError):
    """The base of ``torch._dynamo``'s exceptions (a ``RuntimeError``)."""


class UncapturedHigherOrderOpError(TorchDynamoException):
    """A higher-order op (``cond``, ``while_loop``) whose function could not be traced."""
