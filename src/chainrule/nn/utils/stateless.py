"""``torch.nn.utils.stateless``: the deprecated home of ``functional_call``.

``cr.nn.utils.stateless.functional_call(module, parameters_and_buffers, args, kwargs, *,
tie_weights=True, strict=False)`` is PyTorch 1.x's API, deprecated since PyTorch 2.0 in favour
of ``cr.func.functional_call`` (a drop-in replacement that also takes a sequence of dicts).
As in PyTorch, it takes one dict only and warns with a ``FutureWarning`` on every call.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from ..module import Module
from ._functional_call import functional_call as _functional_call

__all__ = ["functional_call"]


def functional_call(
    module: Module,
    parameters_and_buffers: dict,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` (one
    dict, names as in ``named_parameters()`` / ``named_buffers()``) in place of its own.

    Deprecated (a ``FutureWarning``): use ``cr.func.functional_call``, which behaves the same.

    Raises:
        AttributeError: ``parameters_and_buffers`` is not a dict (as in PyTorch, where only
            ``torch.func.functional_call`` takes a sequence of dicts). Otherwise as
            ``cr.func.functional_call``.
    """
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be "
        "removed in a future version of PyTorch. Please use `torch.func.functional_call` "
        "instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    if not isinstance(parameters_and_buffers, Mapping):
        raise AttributeError(
            "stateless.functional_call: parameters_and_buffers must be a dict of tensors, got "
            f"{type(parameters_and_buffers).__name__} (torch.func.functional_call takes a "
            "sequence of dicts)"
        )
    return _functional_call(
        module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict
    )
