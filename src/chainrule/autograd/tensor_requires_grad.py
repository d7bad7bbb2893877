"""``TensorRequiresGrad``: reading and setting ``requires_grad`` with PyTorch's rules.

A mixin of :class:`~chainrule.autograd.tensor.Tensor`, kept apart so that ``tensor.py`` stays
about what a tensor is. The flag itself is the ``_rg`` slot, which ``Function.apply`` reads
directly; the property here is what user code reads and assigns: a leaf's only, a Python
bool only, floating and complex dtypes only, and a view without ``grad_fn`` follows its base.
As in PyTorch, ``requires_grad_()`` is refused inside a function that a transform of
``cr.func`` runs (``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap``):
:data:`GRAD_TRANSFORMS` counts the grad transforms' functions running in this thread
(``func/_captures.run_guarded``), ``LOCAL.state.vmap`` the vmap levels. Assigning
``requires_grad`` and chainrule's own factories (``requires_grad=True``) are not refused
(they use :meth:`TensorRequiresGrad._requires_grad_`), as PyTorch's are not.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .state import LOCAL, InferenceMark
from .tensor_conversions import RequiresGradDtypeError
from .tensor_data import python_type_name
from .view_base import outside_graph, requires_grad_of

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

__all__ = ["GRAD_TRANSFORMS", "TensorRequiresGrad"]


class _GradTransforms(threading.local):
    """Per thread: how many functions given to grad transforms of ``cr.func`` run now."""

    def __init__(self) -> None:
        self.running = 0


GRAD_TRANSFORMS = _GradTransforms()

_IN_TRANSFORM = (
    "You are attempting to call Tensor.requires_grad_() (or perhaps using "
    "torch.autograd.functional.* APIs) inside of a function being transformed by a functorch "
    "transform. This is unsupported, please attempt to use the functorch transforms (e.g. "
    "grad, vjp, jacrev, jacfwd, hessian) or call requires_grad_() outside of a function being "
    "transformed instead."
)


class TensorRequiresGrad:
    """``requires_grad`` / ``requires_grad_`` of :class:`Tensor`."""

    __slots__ = ()

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (only floating tensors can require grad; the flag
        must be a Python bool, as PyTorch's argument parser requires: 1 or ``np.True_`` is a
        TypeError)."""
        if type(requires_grad) is not bool:
            raise TypeError(
                "requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                + python_type_name(requires_grad)
            )
        if GRAD_TRANSFORMS.running or LOCAL.state.vmap:  # PyTorch's error (any tensor)
            raise RuntimeError(_IN_TRANSFORM)
        return self._requires_grad_(requires_grad)

    def _requires_grad_(self, requires_grad: bool) -> "Tensor":
        """``requires_grad_`` without the refusal inside transforms of ``cr.func``: what
        assigning ``requires_grad`` and chainrule's factories (``requires_grad=True``) do,
        which PyTorch allows there."""
        if requires_grad and self._data.dtype.kind not in "fcV":  # V: bfloat16
            raise RequiresGradDtypeError(
                f"Only Tensors of floating point and complex dtype can require gradients "
                f"(requires_grad on dtype {self.dtype}); convert first, e.g. "
                "x.float().requires_grad_()"
            )
        if requires_grad and isinstance(self._vc, InferenceMark) and not LOCAL.state.inference:
            raise RuntimeError(  # PyTorch's words first, chainrule's hint on the next line
                "Setting requires_grad=True on inference tensor outside InferenceMode is not "
                "allowed.\nrequires_grad_(): the tensor was created inside "
                "cr.inference_mode(); make a clone() of it outside inference_mode and set "
                "requires_grad on that"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(  # PyTorch's words (a view of a leaf included)
                "you can only change requires_grad flags of leaf variables. If you want to "
                "use a computed variable in a subgraph that doesn't require "
                "differentiation use var_no_grad = var.detach()."
            )
        if not requires_grad and self._view is not None and outside_graph(self):
            return self  # a view made under no_grad requires grad as its base does (PyTorch)
        self._rg = bool(requires_grad)
        return self

    def _set_requires_grad(self, value: bool) -> None:
        if type(value) is not bool:  # PyTorch's setter: 1, None, np.True_ are refused
            raise RuntimeError("requires_grad must be a bool")  # (so _requires_grad_ gets one)
        if self.grad_fn is not None:  # any assignment, True included, as PyTorch's setter
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to "
                "use a computed variable in a subgraph that doesn't require "
                "differentiation use var_no_grad = var.detach()."
            )
        self._requires_grad_(value)

    requires_grad = property(
        requires_grad_of,  # off the per-op path: Function.apply reads _rg itself
        _set_requires_grad,
        doc="Whether ops on this tensor are recorded for backward. As in PyTorch, only a "
        "leaf's can be assigned (a graph output's cannot: use ``detach()``), and only "
        "floating and complex tensors can require grad. A view without a ``grad_fn`` "
        "requires grad while its base does.",
    )
