"""``cr.fx.passes.shape_prop`` (``torch.fx.passes.shape_prop``): run a GraphModule on example
inputs and record, on each node, what its value looked like.

After ``ShapeProp(gm).propagate(*args)`` every node has ``node.meta["type"]`` (the type of
its value) and, when the value holds tensors, ``node.meta["tensor_meta"]``: a
:class:`TensorMetadata` for a tensor, or the value's structure (tuples, lists, dicts) with
each tensor replaced by its metadata. Passes that need shapes (fusion, memory planning,
readable printing) read it instead of running the model again.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ...autograd.tensor import Tensor
from ...ops.memory_format import channels_last, channels_last_3d, contiguous_format
from ..interpreter import Interpreter
from ..node import Node, map_aggregate

__all__ = ["ShapeProp", "TensorMetadata"]


class TensorMetadata(NamedTuple):
    """``torch.fx.passes.shape_prop.TensorMetadata``: what a pass needs to know about a
    tensor without holding it."""

    shape: Any
    dtype: Any
    requires_grad: bool
    stride: tuple[int, ...]
    memory_format: Any
    is_quantized: bool
    qparams: dict[str, Any]


def _memory_format(t: Tensor) -> Any:
    """The first memory format ``t`` is laid out in (None: none of them), in torch's order."""
    for fmt in (contiguous_format, channels_last, channels_last_3d):
        try:
            if t.is_contiguous(memory_format=fmt):
                return fmt
        except (RuntimeError, ValueError):  # channels_last of a tensor that is not 4-d
            continue
    return None


def _extract_tensor_metadata(result: Tensor) -> TensorMetadata:
    """The :class:`TensorMetadata` of ``result``."""
    return TensorMetadata(
        result.shape,
        result.dtype,
        result.requires_grad,
        tuple(result.stride()),
        _memory_format(result),
        False,
        {},
    )


class ShapeProp(Interpreter):
    """``torch.fx.passes.shape_prop.ShapeProp``: an Interpreter that stores each node's
    ``tensor_meta`` and ``type`` in ``node.meta`` as it runs (see the module docstring).

    Args:
        gm: the GraphModule to run.
        fake_mode: torch's fake-tensor mode; not supported (chainrule has no fake tensors).
    """

    def __init__(self, gm: Any, fake_mode: Any = None) -> None:
        if fake_mode is not None:
            raise NotImplementedError(
                "ShapeProp: fake_mode is not supported (chainrule has no fake tensors); "
                "propagate real example inputs"
            )
        super().__init__(gm)

    def run_node(self, n: Node) -> Any:
        """Run ``n``, then record its value's metadata and type in ``n.meta``."""
        result = super().run_node(n)
        found = []

        def extract(obj: Any) -> Any:
            if isinstance(obj, Tensor):
                found.append(True)
                return _extract_tensor_metadata(obj)
            return obj

        meta = map_aggregate(result, extract)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args: Any) -> Any:
        """Run the module on ``args`` (example inputs), filling every node's meta; returns
        the module's output."""
        return self.run(*args)
