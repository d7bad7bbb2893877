"""The model registry: ``register_model``, ``list_models()``, ``get_model(name, **kwargs)``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MODELS: dict[str, Callable[..., Any]] = {}


def register_model(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: make a model builder available to :func:`get_model` under its name."""
    _MODELS[fn.__name__] = fn
    return fn


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
        import difflib

        close = difflib.get_close_matches(name, _MODELS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"get_model: unknown model {name!r}.{hint} Known models: "
                         f"{', '.join(list_models())}")
    return _MODELS[name](**kwargs)
