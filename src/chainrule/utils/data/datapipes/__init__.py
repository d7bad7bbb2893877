"""DataPipes (PyTorch's ``torch.utils.data.datapipes``): datasets built by chaining small
steps with functional forms, ``IterableWrapper(xs).map(f).shuffle().batch(4)``.

* :mod:`.datapipe`: the base classes ``IterDataPipe``/``MapDataPipe`` and ``DataChunk``;
* :mod:`.decorators`: ``functional_datapipe`` and the validation/determinism decorators;
* :mod:`.iter` / :mod:`.map`: the built-in pipes of each family;
* :mod:`.graph_settings`: what the DataLoader applies to a pipe graph (shuffle switch,
  seeds, worker sharding).
"""

from __future__ import annotations

# PyTorch's submodule names; importing them registers the built-in pipes. They stay out of
# __all__ so that a star import never shadows the builtins iter and map.
from . import iter, map  # noqa: A004
from .datapipe import DataChunk, DFIterDataPipe, IterDataPipe, MapDataPipe
from .decorators import (
    argument_validation,
    functional_datapipe,
    guaranteed_datapipes_determinism,
    non_deterministic,
    runtime_validation,
    runtime_validation_disabled,
)

__all__ = [
    "DFIterDataPipe",
    "DataChunk",
    "IterDataPipe",
    "MapDataPipe",
    "argument_validation",
    "functional_datapipe",
    "guaranteed_datapipes_determinism",
    "non_deterministic",
    "runtime_validation",
    "runtime_validation_disabled",
]
