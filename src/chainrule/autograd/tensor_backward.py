"""``TensorBackward``: how a Tensor starts and observes reverse mode -- ``backward``,
``register_hook``, ``retain_grad`` -- and the checked root gradient every entry point shares.

A mixin of :class:`~chainrule.autograd.tensor.Tensor`, kept apart so that ``tensor.py`` stays
about what a tensor is (its state, views, versions and ``detach``).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import autograd as _autograd  # the package (for its engine), bound at import time
from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from .view_base import outside_graph

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

__all__ = ["TensorBackward"]

_TENSOR: list = []  # the Tensor class, looked up once (tensor.py imports this module)


def _tensor_type() -> type:
    if not _TENSOR:
        from .tensor import Tensor  # noqa: PLC0415 - a cycle: tensor.py imports this module

        _TENSOR.append(Tensor)
    return _TENSOR[0]


class _RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook off again."""

    def __init__(self, hooks: list, fn: Any):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self) -> _RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        """Leaving a ``with`` block removes the hook (PyTorch's handles do the same)."""
        self.remove()


class TensorBackward:
    """Reverse-mode entry points of ``Tensor`` (which provides ``_data``, ``grad_fn``,
    ``requires_grad``, ``_hooks``, ``_view`` and ``_vc``)."""

    __slots__ = ()

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        view = self._view
        if view is not None and view.version != self._vc[0]:
            self._refresh_view()  # a stale view: retain the gradient of its current history
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): the tensor does not require grad")
        if self.grad_fn is None:
            return
        node = self.grad_fn
        if node._retain is None:
            node._retain = {}
        node._retain[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        node = self._grad_fn  # (the slot: a stale view keeps the mark on its old node)
        return bool(node is not None and node._retain and self._output_nr in node._retain)

    def register_hook(self, hook: Any) -> _RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook(): cannot register a hook on a tensor that doesn't require gradient"
            )
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return _RemovableHandle(self._hooks, hook)
        return _RemovableHandle(self.grad_fn._register_tensor_hook(self._output_nr, hook), hook)

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
        explain: bool = False,
    ):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (reverse mode).

        Args:
            gradient: the upstream gradient; may be omitted only for a single-element tensor.
            retain_graph: keep saved values so backward can run through the graph again
                (defaults to ``create_graph``).
            create_graph: record the backward pass itself, for higher-order gradients.
            inputs: accumulate only into these tensors' ``.grad`` (GradientEdges allowed, as
                in ``autograd.backward``).
            explain: also print and return a step-by-step :mod:`chainrule.explain` account.
        """
        engine = _autograd.engine  # imported by the package after this module (a cycle)
        gradient = _one_gradient(gradient)
        report = None
        if explain:
            from ..explain import backward as _explain

            report = _explain(self, gradient=gradient)
            print(report)

        if retain_graph is None:
            retain_graph = create_graph
        if not self.requires_grad or (self._view is not None and outside_graph(self)):
            raise RuntimeError(  # a view made under no_grad has no gradient edge (PyTorch)
                "backward(): element 0 of tensors does not require grad and does not have a "
                "grad_fn; create the inputs with requires_grad=True"
            )
        gradient = _root_grad(self, gradient, "backward()")
        if inputs is not None:
            single = isinstance(inputs, (_tensor_type(), _autograd.GradientEdge))
            inputs = _autograd.resolve_edges([inputs] if single else list(inputs), "inputs")[0]
            if not inputs:
                raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
            grads = engine.run_backward(
                [self], [gradient], retain_graph, create_graph, inputs, allow_unused=True
            )
            owned = engine.OwnedArrays()  # one for the inputs: what their .grad took
            owned.roots = roots = [gradient]
            for t, g in zip(inputs, grads):
                if g is not None:
                    engine.accumulate_grad(t, g, create_graph, callers_owned(g, roots, owned))
            return report
        engine.run_backward([self], [gradient], retain_graph, create_graph)
        return report


def _one_gradient(gradient: Any) -> Any:
    """``Tensor.backward``'s ``gradient`` as PyTorch reads it: a Tensor or None as it is,
    anything else as a sequence of gradients, one per tensor, of which the first is this
    tensor's (a number raises TypeError, an empty sequence RuntimeError)."""
    if gradient is None or isinstance(gradient, _tensor_type()):
        return gradient
    grads = tuple(gradient)  # TypeError for a number, as PyTorch: not iterable
    if not grads:
        raise RuntimeError("got 1 tensors and 0 gradients")
    return grads[0]


def callers_owned(g: Any, roots: list, owned: set | None = None) -> set | None:
    """``accumulate_grad``'s ``owned`` for a gradient ``backward(..., inputs=...)`` got back
    from the engine: the id of ``g``'s array when it is the caller's own root gradient (the
    engine returns it as a ``detach()``: a new view of the same array, sharing its version
    counter, which a view a backward rule made does not), so that ``.grad`` is a copy of
    version 1, as PyTorch's ``AccumulateGrad`` copies a gradient the caller holds; else None
    (copied, keeping ``g``'s version, as PyTorch's that takes a gradient nothing holds).
    With ``owned`` (one ``OwnedArrays`` for all the inputs, its ``roots`` the callers'
    gradients) that set, the id added for the caller's own gradient: a view of the caller's
    gradient is then taken as ``.grad`` as it is, as PyTorch's (``leaf_grad``)."""
    arr = getattr(g, "_data", None)
    if type(g) is not _tensor_type() or type(arr) is not np.ndarray:
        return None
    for r in roots:
        root = getattr(r, "_data", None)
        if (
            g._vc is getattr(r, "_vc", None)
            and g._view is getattr(r, "_view", None)  # (not a view of it: view_of_root)
            and type(root) is np.ndarray
            and root.shape == arr.shape
            and root.strides == arr.strides
            and root.__array_interface__["data"][0] == arr.__array_interface__["data"][0]
        ):
            if owned is None:
                return {id(arr)}
            owned.add(id(arr))
            return owned
    return owned


def _root_grad(t: Tensor, gradient: Any, where: str, index: int = 0) -> Tensor:
    """The gradient a backward starts from: ones for a one-element output, else
    ``gradient`` as a Tensor of the output's shape (checked) and dtype: PyTorch's engine
    casts a caller's gradient of another dtype to the output's (a new tensor; float16, an
    integer or bool gradient included) and refuses a complex gradient of a real output or
    the other way round. ``index`` is the output's position, for the message."""
    tensor_cls = _tensor_type()
    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError(  # PyTorch's line, then chainrule's hint
                "grad can be implicitly created only for scalar outputs\n"
                f"{where}: the output has shape {tuple(t.shape)}; pass gradient= (a tensor of "
                "that shape) or reduce it first, e.g. y.sum().backward()"
            )
        if t._data.dtype.kind == "c":  # PyTorch: d(complex)/d(...) has no implied seed
            raise RuntimeError(  # PyTorch's line, then chainrule's hint
                f"grad can be implicitly created only for real scalar outputs but got "
                f"{t.dtype}\n{where}: pass gradient= explicitly (or take .real / .abs() first)"
            )
        if type(t._data) is MetaArray:  # a meta output: a meta seed (no data)
            return tensor_cls._make(meta_empty(t._data.shape, t._data.dtype), False, None, 0)
        xp = get_array_module(t._data)
        return tensor_cls._make(xp.ones(t._data.shape, t._data.dtype), False, None, 0)
    if not isinstance(gradient, tensor_cls):
        raise TypeError(
            f"gradients can be either Tensors or None, but got {type(gradient).__name__}"
        )
    if gradient.shape != t.shape:
        raise RuntimeError(
            f"{where}: gradient has shape {tuple(gradient.shape)} but the output has shape "
            f"{tuple(t.shape)}"
        )
    dtype = t._data.dtype
    if gradient._data.dtype != dtype:
        if (gradient._data.dtype.kind == "c") != (dtype.kind == "c"):
            raise RuntimeError(  # PyTorch's words
                "For complex Tensors, both grad_output and output are required to have the "
                f"same dtype. Mismatch in dtype: grad_output[{index}] has a dtype of "
                f"{gradient.dtype} and output[{index}] has a dtype of {t.dtype}."
            )
        return gradient.to(t.dtype)  # recorded when gradient requires grad, as PyTorch's
    return gradient
