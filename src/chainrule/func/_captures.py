"""The grad transforms of ``cr.func`` refuse in-place writes into *captured* tensors.

PyTorch's ``torch.func`` transforms (``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian``) raise when the function they transform changes a tensor in place that it did
not get as an input nor compute itself -- a tensor in a closure or a global, a module's
buffer (``nn.BatchNorm``'s ``num_batches_tracked.add_(1)`` in training mode): "... would
mutate a captured Tensor ...", and the write does not happen. What is an input is what the
transform passes to the function: every positional and keyword argument, differentiated or
not, at any vmap level; a tensor made inside an enclosing transform's function is captured
by an inner one. ``vmap`` alone refuses nothing, and nor do writes that are not in-place ops
of the user's (``F.batch_norm``'s own update of running statistics it is given, PyTorch's
kernel's write).

chainrule finds the captured tensors before the function runs, by the search
:mod:`chainrule.autograd.forward_ad_captures` does for ``jvp`` (closure cells, defaults,
globals named by the code, bound methods, partials, modules' parameters and buffers,
containers, objects' attributes, up to a bounded depth), and refuses writes into their
memory while the function runs (``forward_ad_captures.captured_writes_refused``);
outside these transforms an in-place op pays one test of a counter. A captured tensor the
search does not reach is written, as before. The in-place ops that change only a tensor's
shape or identity (``t_``, ``squeeze_``, ``unsqueeze_``, ``transpose_``, ``swapdims_``,
``as_strided_``, ``resize_``, ``resize_as_``, ``set_``, ``detach_``) are refused on a captured
tensor too, as PyTorch refuses them, and ``requires_grad_()`` on any tensor while the function
runs (PyTorch's "You are attempting to call Tensor.requires_grad_() ..."); assigning
``requires_grad`` or ``.data`` is not refused, in neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.forward_ad_captures import captured_writes_refused, reachable_tensors
from ..autograd.tensor import Tensor
from ..autograd.tensor_requires_grad import GRAD_TRANSFORMS

__all__ = ["guarded", "run_guarded"]


def _tensors_in(tree: Any, into: list) -> list:
    """The tensors of a pytree of arguments (dicts, lists, tuples)."""
    if isinstance(tree, Tensor):
        into.append(tree)
    elif isinstance(tree, dict):
        for v in tree.values():
            _tensors_in(v, into)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            _tensors_in(v, into)
    return into


def guarded(f: Callable) -> Callable:
    """``f``, refusing in-place writes into the tensors it captures while it runs (the
    function given to a grad transform). A function that guards itself already (marked
    ``_guards_captures``) is returned as it is."""
    if getattr(f, "_guards_captures", False) is True:
        return f

    def call(*args: Any, **kwargs: Any) -> Any:
        return run_guarded(f, args, kwargs, f)

    call._guards_captures = True  # type: ignore[attr-defined]
    return call


def run_guarded(f: Callable, args: tuple, kwargs: dict, reach: Any) -> Any:
    """``f(*args, **kwargs)``, refusing in-place writes into what ``reach`` (``f``, or an
    object that holds ``f`` and what it reads) captures, except the arguments; and, as
    PyTorch, refusing ``requires_grad_()`` on any tensor while ``f`` runs
    (:data:`~chainrule.autograd.tensor_requires_grad.GRAD_TRANSFORMS`)."""
    inputs = _tensors_in(kwargs, _tensors_in(args, []))
    with captured_writes_refused(reachable_tensors(reach), inputs):
        GRAD_TRANSFORMS.running += 1
        try:
            return f(*args, **kwargs)
        finally:
            GRAD_TRANSFORMS.running -= 1
