"""The modules :func:`chainrule.export.unflatten` builds (torch.export.unflatten's
``InterpreterModule`` and ``UnflattenedModule``): each runs its own graph with
:class:`~chainrule.fx.Interpreter`."""

from __future__ import annotations

from typing import Any

from .. import nn
from ..fx.graph import Graph
from ..fx.interpreter import Interpreter
from ..utils._pytree import tree_flatten, tree_unflatten

__all__ = ["InterpreterModule", "UnflattenedModule"]


class InterpreterModule(nn.Module):
    """``torch.export.unflatten.InterpreterModule``: a module of the rebuilt hierarchy,
    running its own ``graph`` (empty for a module whose code never ran, that only
    holds state or children) on its submodules, parameters and buffers."""

    def __init__(self, graph: Graph | None = None) -> None:
        super().__init__()
        self.graph = graph if graph is not None else Graph()

    def forward(self, *args: Any) -> Any:
        if not any(n.op == "output" for n in self.graph.nodes):
            raise RuntimeError(
                f"{type(self).__name__}: this module was not called in the exported program, "
                "so it has no graph to run"
            )
        return Interpreter(self, graph=self.graph).run(*args)


class UnflattenedModule(InterpreterModule):
    """``torch.export.unflatten.UnflattenedModule``: the root of the rebuilt hierarchy;
    called as the exported module (its input tree spec checked), returns the output
    structure."""

    def __init__(self, graph: Graph, in_spec: Any, out_spec: Any) -> None:
        super().__init__(graph)
        self._in_spec = in_spec
        self._out_spec = out_spec

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        leaves, spec = tree_flatten((tuple(args), dict(kwargs)))
        if spec != self._in_spec:  # torch then asks its flat_args_adapter, which is None
            raise TypeError(
                "There is no flat args adapter specified. Are you sure you are calling this "
                "with the right arguments? "
            )
        out = super().forward(*leaves)
        return tree_unflatten(list(out), self._out_spec)
