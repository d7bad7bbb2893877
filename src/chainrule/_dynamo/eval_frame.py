"""``torch._dynamo.eval_frame``: where code finds ``OptimizedModule`` (``isinstance(model,
torch._dynamo.eval_frame.OptimizedModule)`` tells a compiled model from its original). The
class lives in :mod:`chainrule.nn._optimized_module`, beside ``Module``.
"""

from __future__ import annotations

from ..nn._optimized_module import OptimizedModule

__all__ = ["OptimizedModule"]
