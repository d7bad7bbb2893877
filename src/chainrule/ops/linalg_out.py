"""``out=`` on the matrix products and ``cr.linalg``, with PyTorch's dtype rule per op.

PyTorch's linear-algebra kernels write into ``out`` under one of two rules, and which one
is a property of the op (checked by running torch 2.13 with a float32, complex128 and
int64 ``out`` for a float64 result):

- ``exact``: ``out`` must already have the result's dtype (``mm``, ``matmul``, ``inv``,
  ``det``, ``solve``, ``qr``, ``eigh``, ``svd``, the norms, ...). Anything else raises
  ``RuntimeError: Expected out tensor to have dtype double, but got float instead``.
- ``castable``: the result is cast into ``out`` when the cast is safe within PyTorch's
  kinds (float64 into float32 or complex128 is allowed, a float into an int is not):
  ``outer``, ``kron``, ``pinv``, ``cond``, ``matrix_rank``, ``tensorinv``, ``tensorsolve``,
  ``householder_product``, ``eig``/``eigvals`` and the legacy ``torch.cholesky``.

Both then share :func:`~chainrule.ops.keywords.write_out`: a tuple result goes into a tuple
(or list) of tensors, a wrongly shaped ``out`` is resized (with PyTorch's warning when it
had elements), autograd through ``out`` is refused, and ``out`` itself is returned (a
named tuple of them for a named-tuple result).

:func:`with_out` adds the keyword to a function that has none: the wrapper's signature (what
``inspect.signature`` and the generated stub read) is the function's plus ``*, out=None``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..autograd.tensor import Tensor
from .keywords import check_out_dtype, write_out

__all__ = ["with_out", "write_linalg_out"]

F = TypeVar("F", bound=Callable[..., Any])


def _check_exact(op: str, result: Any, out: Any) -> None:
    """PyTorch's ``exact`` rule: every ``out`` tensor has its result's dtype."""
    if isinstance(result, tuple):
        if isinstance(out, (tuple, list)) and len(out) == len(result):
            for r, o in zip(result, out):
                _check_exact(op, r, o)
        return  # a wrong count or type: write_out says so
    if isinstance(out, Tensor):
        check_out_dtype(op, result, out, exact=True)


def write_linalg_out(op: str, result: Any, out: Any, rule: str = "exact") -> Any:
    """Write ``result`` into ``out`` under PyTorch's ``rule`` for ``op`` and return ``out``
    (``result`` itself when ``out`` is ``None``)."""
    if out is None:
        return result
    if rule == "exact":
        _check_exact(op, result, out)
    return write_out(op, result, out)


def with_out(op: str, rule: str = "exact") -> Callable[[F], F]:
    """Give ``fn`` PyTorch's keyword-only ``out=`` (written under ``rule``, see above)."""
    if rule not in ("exact", "castable"):
        raise ValueError(f"with_out: rule must be 'exact' or 'castable', got {rule!r}")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def with_out_keyword(*args: Any, out: Any = None, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            return result if out is None else write_linalg_out(op, result, out, rule)

        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        out_param = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
        if params and params[-1].kind is inspect.Parameter.VAR_KEYWORD:
            params.insert(len(params) - 1, out_param)
        else:
            params.append(out_param)
        with_out_keyword.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return with_out_keyword  # type: ignore[return-value]

    return decorate
