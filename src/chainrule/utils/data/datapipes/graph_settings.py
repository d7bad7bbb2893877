"""Walking a DataPipe graph and the settings the DataLoader applies to it (PyTorch's
``torch.utils.data.graph`` / ``graph_settings``): the shuffle switch, per-epoch shuffle
seeds and worker sharding.

The graph is found by looking at each pipe's attributes: another pipe, a list/tuple/dict
of pipes, or the shared state of a fork/demux, is an input of it. ``traverse_dps`` returns
``{id(dp): (dp, <graph of its inputs>)}`` as PyTorch's does.
"""

from __future__ import annotations

import warnings
from typing import Any

from ....random import Generator, gen
from .datapipe import IterDataPipe, MapDataPipe
from .iter.combinatorics import ShufflerIterDataPipe
from .iter.sharding import SHARDING_PRIORITIES
from .iter.splitting import _Splitter

__all__ = [
    "DataPipeGraph",
    "apply_random_seed",
    "apply_sharding",
    "apply_shuffle_settings",
    "get_all_graph_pipes",
    "traverse_dps",
]

DataPipeGraph = dict[int, tuple[Any, "DataPipeGraph"]]


def _inputs(dp: Any) -> list[Any]:
    found: list[Any] = []
    todo = list(vars(dp).values()) if hasattr(dp, "__dict__") else []
    while todo:
        value = todo.pop(0)
        if isinstance(value, (IterDataPipe, MapDataPipe)):
            found.append(value)
        elif isinstance(value, _Splitter):
            found.append(value.datapipe)
        elif isinstance(value, (list, tuple)):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
    return found


def traverse_dps(datapipe: Any) -> DataPipeGraph:
    """The graph of ``datapipe`` and everything it reads from (each pipe once per path)."""

    def walk(dp: Any, path: frozenset[int]) -> DataPipeGraph:
        children: DataPipeGraph = {}
        for child in _inputs(dp):
            if id(child) not in path:  # a cycle would recurse forever
                children[id(child)] = (child, walk(child, path | {id(child)}))
        return children

    return {id(datapipe): (datapipe, walk(datapipe, frozenset({id(datapipe)})))}


def get_all_graph_pipes(graph: DataPipeGraph) -> list[Any]:
    """Every pipe of a graph from :func:`traverse_dps`, each once, parents first."""
    seen: dict[int, Any] = {}

    def collect(g: DataPipeGraph) -> None:
        for key, (dp, sub) in g.items():
            seen.setdefault(key, dp)
            collect(sub)

    collect(graph)
    return list(seen.values())


def apply_sharding(
    datapipe: Any,
    num_of_instances: int,
    instance_id: int,
    sharding_group: SHARDING_PRIORITIES = SHARDING_PRIORITIES.DEFAULT,
) -> Any:
    """Shard every shardable pipe (``sharding_filter``) of the graph: share ``instance_id``
    of ``num_of_instances``. Returns ``datapipe``.

    Raises:
        RuntimeError: when one path from the output to a source holds two sharding pipes
            (the second would keep a share of a share and lose data).
    """

    def visit(g: DataPipeGraph, applied: Any) -> None:
        for dp, sub in g.values():
            here = applied
            if callable(getattr(dp, "is_shardable", None)) and dp.is_shardable():
                if applied is not None:
                    raise RuntimeError(
                        "Sharding twice on a single pipeline is likely unintended and will "
                        f"cause data loss. Sharding already applied to {applied} while "
                        f"trying to apply to {dp}"
                    )
                dp.apply_sharding(num_of_instances, instance_id, sharding_group=sharding_group)
                here = dp
            visit(sub, here)

    visit(traverse_dps(datapipe), None)
    return datapipe


def _shufflers(datapipe: Any) -> list[Any]:
    return [
        dp
        for dp in get_all_graph_pipes(traverse_dps(datapipe))
        if callable(getattr(dp, "set_shuffle", None)) and callable(getattr(dp, "set_seed", None))
    ]


def apply_shuffle_settings(datapipe: Any, shuffle: bool | None = None) -> Any:
    """Switch every shuffle of the graph on or off (``None``: leave them as they are).

    Asking for ``shuffle=True`` on a graph without one warns and returns the graph with a
    ``shuffle()`` appended (the DataLoader, like PyTorch's, keeps its own dataset).
    """
    if shuffle is None:
        return datapipe
    found = _shufflers(datapipe)
    if not found and shuffle:
        warnings.warn(
            "`shuffle=True` was set, but the datapipe does not contain a `Shuffler`. Adding "
            "one at the end. Be aware that the default buffer size might not be sufficient "
            "for your task.",
            UserWarning,
            stacklevel=2,
        )
        return ShufflerIterDataPipe(datapipe)
    for dp in found:
        dp.set_shuffle(shuffle)
    return datapipe


def apply_random_seed(datapipe: Any, rng: Generator | None) -> Any:
    """Give every shuffle of the graph a seed for its next iteration, drawn from ``rng``
    in graph order (so copies of one graph seeded from equal generators agree)."""
    draws = gen(rng)
    for dp in _shufflers(datapipe):
        dp.set_seed(int(draws.integers(0, 2**63 - 1)))
    return datapipe
