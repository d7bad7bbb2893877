"""``cr.utils.model_zoo``: PyTorch's older name for loading weights by URL.

``load_url`` is :func:`chainrule.hub.load_state_dict_from_url` itself (the same function
object, as ``torch.utils.model_zoo.load_url`` is ``torch.hub.load_state_dict_from_url``).
"""

from __future__ import annotations

from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url"]
