"""Helpers the drop-in programs share: moving NumPy state into a model and data into tensors.

Everything here goes through the public API a PyTorch user would call (``load_state_dict``,
``tensor``), so it works the same whether ``torch_like`` is chainrule or torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["load_numpy_state", "state_to_numpy", "as_tensor"]


def load_numpy_state(torch_like: Any, model: Any, init: dict[str, np.ndarray] | None) -> None:
    """Load a state dict of NumPy arrays into ``model`` (no-op when ``init`` is None)."""
    if init is None:
        return
    model.load_state_dict({k: torch_like.tensor(v) for k, v in init.items()})


def state_to_numpy(model: Any) -> dict[str, np.ndarray]:
    """A model's state dict as NumPy arrays (copies), the neutral form both frameworks read."""
    return {k: np.array(v.detach().cpu().numpy()) for k, v in model.state_dict().items()}


def as_tensor(torch_like: Any, array: np.ndarray, **kwargs: Any) -> Any:
    """A tensor holding a copy of ``array`` (dtype kept unless ``dtype=`` is given)."""
    return torch_like.tensor(np.ascontiguousarray(array), **kwargs)
