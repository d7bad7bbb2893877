"""The model registry: ``register_model``, ``list_models()``, ``get_model(name, **kwargs)``."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any

__all__ = ["get_model", "list_models", "register_model"]

_MODELS: dict[str, Callable[..., Any]] = {}


def _check_weights(name: str, weights: Any, pretrained: Any, progress: Any) -> None:
    """torchvision's ``weights=None`` / ``pretrained=False`` build random weights; anything
    that asks for downloaded weights is refused clearly (chainrule never downloads models)."""
    if not isinstance(progress, bool):
        raise TypeError(f"{name}: progress must be a bool, got {progress!r}")
    if weights is not None or pretrained not in (False, None):
        asked = f"weights={weights!r}" if weights is not None else f"pretrained={pretrained!r}"
        raise NotImplementedError(
            f"{name}({asked}): chainrule cannot download pretrained weights. Build the model "
            f"with weights=None, then load a state dict you have: model.load_state_dict("
            "cr.load('weights.pt')) reads torchvision .pth files (see cr.models docs)"
        )


def register_model(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: make a model builder available to :func:`get_model` under its name.

    The registered builder also accepts torchvision's ``weights=None``, ``pretrained=False``
    and ``progress=True`` keywords, so ``models.resnet18(weights=None)`` carries over.
    """

    @functools.wraps(fn)
    def builder(
        *args: Any,
        weights: Any = None,
        pretrained: Any = False,
        progress: bool = True,
        **kwargs: Any,
    ) -> Any:
        _check_weights(fn.__name__, weights, pretrained, progress)
        return fn(*args, **kwargs)

    _MODELS[fn.__name__] = builder
    return builder


def list_models() -> list[str]:
    """Names of all registered model builders, sorted."""
    return sorted(_MODELS)


def get_model(name: str, **kwargs: Any):
    """Build a registered model, e.g. ``get_model('resnet20', num_classes=10, in_channels=1)``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        TypeError: a keyword the builder does not take.
    """
    if name not in _MODELS:
        close = difflib.get_close_matches(name, _MODELS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"get_model: unknown model {name!r}.{hint} Known models: {', '.join(list_models())}"
        )
    return _MODELS[name](**kwargs)
