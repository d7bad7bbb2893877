"""``cr.fx.passes`` (``torch.fx.passes``): analyses that run over a traced graph.

- :mod:`.shape_prop`: :class:`~chainrule.fx.passes.shape_prop.ShapeProp` records each
  node's tensor shape, dtype and strides in ``node.meta["tensor_meta"]``.
"""

from . import shape_prop

__all__ = ["shape_prop"]
