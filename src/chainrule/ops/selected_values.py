"""The values output of the ops that select elements: ``max``/``min`` along a dim, ``sort``,
``topk``, ``cummax``/``cummin``, ``median``/``nanmedian``/``kthvalue``/``mode`` along a dim.

Each computes its indices without the graph, then reads the values at them: a ``gather``
(and, without ``keepdim``, a squeeze), whose gradient scatters back to the selected elements.
:class:`SelectedValues` does both in one node under the op's PyTorch name (``MaxBackward0``,
``SortBackward0``, ``MedianBackward1``, ...), so ``grad_fn`` reads as in PyTorch and the
graph holds one node per selection instead of two.
"""

from __future__ import annotations

from typing import Any

from ..autograd.saved_fields import given_dim, input_tensor, tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ._result_layout import like_layout
from .gather_scatter import Gather, _gathered
from .views import unsqueeze

__all__ = ["SELECTIONS", "SelectedValues", "selected_values"]


class SelectedValues(Gather):
    """``x`` gathered at ``index`` along ``dim``, that dim dropped unless ``keepdim``; the
    gradient is added into zeros at the selected positions (Gather's rule)."""

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's MaxBackward0... (saved_fields.py)
        out = {
            "dim": lambda n: given_dim(n, default=n.dim),  # as given where the op kept it
            "indices": (0, lambda n, t: t if n.keepdim else t.squeeze(n.dim)),
            "keepdim": lambda n: n.keepdim,
            "self_sym_sizes": lambda n: tuple(n.in_shape),
        }
        name = node.name()
        if name in ("TopkBackward0", "SortBackward0"):  # PyTorch's keep no keepdim
            del out["keepdim"]
        elif name in ("CummaxBackward0", "CumminBackward0"):  # PyTorch's keep the input
            del out["keepdim"], out["self_sym_sizes"]
            out["self"] = tensor_field(lambda n: input_tensor(n, 0))  # where reachable
        return out

    @staticmethod
    def forward(ctx, x, dim, index, keepdim=True):
        ctx.keepdim = keepdim
        out = Gather.forward(ctx, x, dim, index)
        return out if keepdim else out.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        out = Gather.backward(ctx, grad if ctx.keepdim else unsqueeze(grad, ctx.dim))
        out[0]._vc[0] = 2  # PyTorch's: zeros (zero_) then scatter_: version 2
        return out

    @staticmethod
    def jvp(ctx, t, *_):
        out = _gathered(t, ctx.dim, ctx.primals[2])
        return out if ctx.keepdim else out.squeeze(ctx.dim)


def _sort_forward(ctx, x, dim, index, keepdim=True):
    """sort's values in ``torch.empty_like(x)``'s layout, as PyTorch's sort gives them."""
    return like_layout(SelectedValues.forward(ctx, x, dim, index, keepdim), x)


def _named(node_name: str) -> type:
    attrs: dict[str, Any] = {"node_name": node_name}
    if node_name == "SortBackward0":
        attrs["forward"] = staticmethod(_sort_forward)
    return type(node_name[:-9], (SelectedValues,), attrs)


# op -> its Function, named as PyTorch names the op's node
SELECTIONS = {
    op: _named(name)
    for op, name in {
        "max": "MaxBackward0",
        "min": "MinBackward0",
        "sort": "SortBackward0",
        "topk": "TopkBackward0",
        "cummax": "CummaxBackward0",
        "cummin": "CumminBackward0",
        "median": "MedianBackward1",
        "nanmedian": "NanmedianBackward1",
        "kth": "KthvalueBackward0",
        "mode": "ModeBackward0",
    }.items()
}


def selected_values(op: str, x: Tensor, dim: int, index: Any, keepdim: bool = True) -> Tensor:
    """``x``'s values at ``index`` (a Tensor with ``x``'s dims, size of the selection along
    ``dim``) for the selecting op ``op``, ``dim`` (non-negative) dropped unless ``keepdim``."""
    return SELECTIONS[op].apply(x, dim, index, keepdim=keepdim)
