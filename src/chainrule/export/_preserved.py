"""The modules ``cr.export.unflatten`` rebuilds for the submodules named in
``export(..., preserve_module_call_signature=...)``: called as the original (positional
and keyword arguments, nested tuples, lists and dicts), returning the original's output
structure, as torch's.

The program recorded each call's flattened inputs and outputs and their pytree specs
(``ep.module_call_graph``); the module's graph takes the tensor leaves of its inputs and
returns every output leaf, and :class:`PreservedModule` flattens the arguments against the
recorded spec and rebuilds the output structure around the graph.
"""

from __future__ import annotations

from typing import Any

from ..fx.graph import Graph
from ..utils._pytree import tree_flatten, tree_unflatten
from ._unflatten_modules import InterpreterModule

__all__ = ["PreservedModule", "leaf_paths"]


class PreservedModule(InterpreterModule):
    """An :class:`InterpreterModule` called with the preserved module's own arguments.

    Args:
        graph: takes the tensor leaves of the flattened ``(args, kwargs)`` (those at
            ``tensor_positions``) and returns every leaf of the output.
        in_spec, out_spec: the recorded pytree specs of ``(args, kwargs)`` and the output.
    """

    def __init__(
        self, graph: Graph, in_spec: Any, out_spec: Any, tensor_positions: list[int]
    ) -> None:
        super().__init__(graph)
        self._in_spec = in_spec
        self._out_spec = out_spec
        self._tensor_positions = tensor_positions

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        leaves, spec = tree_flatten((tuple(args), dict(kwargs)))
        if spec != self._in_spec:
            raise TypeError(
                f"{type(self).__name__}: called with inputs structured as {spec}, but the "
                f"exported call was structured as {self._in_spec}"
            )
        out = super().forward(*(leaves[i] for i in self._tensor_positions))
        return tree_unflatten(list(out), self._out_spec)


def leaf_paths(spec: Any) -> list[tuple]:
    """The keys from the root down to each leaf of ``spec``, in leaf order (``((0,),
    (1, "a"))``): how a parent graph reads each output leaf with ``getitem`` nodes."""
    marked = tree_unflatten(list(range(spec.num_leaves)), spec)
    paths: list[tuple] = [()] * spec.num_leaves

    def walk(value: Any, keys: tuple) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*keys, k))
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(v, (*keys, i))
        else:
            paths[value] = keys

    walk(marked, ())
    return paths
