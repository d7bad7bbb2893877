"""The checks and PyTorch's errors for writes into views and uses of stale views.

Split from ``view_replay.py`` (session 38). As in PyTorch: a view of a leaf that requires
grad may not be modified in place while grad mode is on; a view made under ``no_grad``
(or a view of one) may not be modified in place with grad mode on, nor used with grad
mode on after its base changed; the views an op returned together (``split``, ``chunk``,
``unbind``) may not be modified in place, nor used after their base changed. The messages
are PyTorch's, word for word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    from .tensor import Tensor

__all__ = [
    "CUSTOM_FUNCTION_VIEW",
    "LEAF_MESSAGE",
    "VIEW_OF_LEAF_MESSAGE",
    "check_view_write",
    "refuse_multi_output_view",
    "refuse_no_grad_view",
    "refuse_stale_no_grad_view",
]

# PyTorch's messages, word for word (they name no op)
LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF_MESSAGE = f"a view of {LEAF_MESSAGE}"
# ``ViewInfo.multi_output`` of an output of a Function that returned its input as-is (the
# full backward hooks' BackwardHookFunction): PyTorch refuses to modify it in place, or to
# use it after its base changed, as for the views ``split`` returns, in other words
CUSTOM_FUNCTION_VIEW = "custom Function"


def check_view_write(view: Tensor, name: str) -> Tensor:
    """Called by an in-place op ``name`` on ``view`` *before* it writes: returns the base,
    after checking that the write may be recorded (PyTorch's rules for views of leaves and
    views made under ``no_grad``). PyTorch's messages name no op, so ``name`` is not used
    in them."""
    info = view._view
    base = info.base
    if not info.grad_mode:  # the write is recorded (grad mode is on), the view is not
        refuse_no_grad_view(view, "is being modified")
    if info.multi_output is not None:
        refuse_multi_output_view(view, "is being modified")
    # The root is a leaf and the view requires grad: either the leaf does, or the view was
    # taken from a leaf made from a view (``b.mT.requires_grad_()``); PyTorch refuses both.
    if base._grad_fn is None and (base.requires_grad or view.requires_grad):
        raise RuntimeError(VIEW_OF_LEAF_MESSAGE)
    return base


_NO_GRAD_VIEW_ADVICE = (
    " inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, "
    "it is forbidden. You can clarify your code by moving both the view and the inplace either "
    "both inside the no_grad block (if you don't want the inplace to be tracked) or both "
    "outside (if you want the inplace to be tracked)."
)


def refuse_stale_no_grad_view(view: Tensor) -> None:
    """PyTorch's error on reading ``grad_fn`` / ``is_leaf`` of a view made under
    ``no_grad`` whose base (which requires grad) was modified in place since
    (:func:`~.view_base.stale_no_grad_view`)."""
    refuse_no_grad_view(view, "its base or another view of its base has been modified")


def refuse_no_grad_view(view: Tensor, what: str) -> None:
    """PyTorch's error for a view made under ``no_grad`` (or a view of one) that is modified
    in place, or whose base was, while grad mode is on: the view is outside the graph, so
    the change could not be tracked. ``what`` says which of the two happened."""
    node = view._grad_fn  # (the slot: the property re-takes a stale view's)
    if node is None:
        raise RuntimeError(f"A view was created in no_grad mode and {what}{_NO_GRAD_VIEW_ADVICE}")
    if view._view.multi_output is not None:  # PyTorch names the multi-output rule first
        refuse_multi_output_view(view, what)
    op = node.name()
    op = op[: op.rfind("Backward")] if "Backward" in op else op
    raise RuntimeError(
        f"Output {view._output_nr} of {op} is a view of a view which was created in no_grad "
        f"mode and {what}{_NO_GRAD_VIEW_ADVICE}"
    )


def refuse_multi_output_view(view: Tensor, what: str) -> None:
    """PyTorch's error for one of the views an op returned together (``split``, ``chunk``,
    ``unbind``; or a view of one) that is modified in place, or used after its base was
    (``what`` says which): the op is named from the view's own node (``Select`` for
    ``x.split(1)[0][0]``, as PyTorch), or from the multi-output op where it has none."""
    node = view._grad_fn  # (the slot: the property re-takes a stale view's)
    if node is None:  # (a view of a base that did not require grad then): PyTorch's words
        head = f"A view was created in no_grad mode and {what} inplace with grad mode enabled."
    else:
        op = node.name()
        op = op[: op.rfind("Backward")] if "Backward" in op else op
        head = f"Output {view._output_nr} of {op} is a view and {what} inplace."
    if view._view.multi_output == CUSTOM_FUNCTION_VIEW:
        raise RuntimeError(
            f"{head} This view was created inside a custom Function (or because an input was "
            "returned as-is) and the autograd logic to handle view+inplace would override the "
            "custom backward associated with the custom Function, leading to incorrect "
            "gradients. This behavior is forbidden. You can fix this by cloning the output of "
            "the custom Function."
        )
    raise RuntimeError(
        f"{head} This view is the output of a function that returns multiple views. Such "
        "functions do not allow the output views to be modified inplace. You should replace "
        "the inplace operation by an out-of-place one."
    )
