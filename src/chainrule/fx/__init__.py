"""``cr.fx`` (``torch.fx``): capture a model's forward as a graph, edit it, and run it.

- :func:`symbolic_trace` / :class:`Tracer`: record a module or function as a
  :class:`Graph` of :class:`Node` (``placeholder``, ``get_attr``, ``call_function``,
  ``call_method``, ``call_module``, ``output``), by running it on :class:`Proxy` values.
- :class:`GraphModule`: an ``nn.Module`` running a graph as generated Python code
  (``gm.code``); ``recompile()`` after editing ``gm.graph``.
- :class:`Interpreter` / :class:`Transformer`: run a graph node by node, to compute (shape
  propagation) or to rewrite it into a new GraphModule.
- :func:`wrap`: record calls of a global function instead of tracing into it.
- :mod:`.subgraph_rewriter` (``replace_pattern``) and :mod:`.passes` (``shape_prop.ShapeProp``):
  rewrite a traced graph by pattern, record each node's tensor shapes.

Node names, targets and the generated code follow torch's (``linear``, ``relu``, ``add``,
``add_1``; ``operator.add`` for ``+``; ``chainrule.relu`` where torch has ``torch.relu``).
"""

from . import passes, subgraph_rewriter
from .graph import Graph
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, has_side_effect, map_arg
from .proxy import Proxy, TraceError
from .tracer import Tracer, symbolic_trace, wrap

__all__ = [
    "Graph",
    "GraphModule",
    "Interpreter",
    "Node",
    "Proxy",
    "TraceError",
    "Tracer",
    "Transformer",
    "has_side_effect",
    "map_arg",
    "passes",
    "subgraph_rewriter",
    "symbolic_trace",
    "wrap",
]
