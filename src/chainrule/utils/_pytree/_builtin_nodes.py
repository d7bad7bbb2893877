"""The containers PyTorch knows without registration: tuple, list, dict, namedtuple,
OrderedDict, defaultdict, deque and ``Size``, registered on import."""

from __future__ import annotations

import importlib
from collections import OrderedDict, defaultdict, deque, namedtuple

from ...size import Size
from ._spec import register_pytree_node

__all__: list[str] = []


def _defaultdict_to_json(context: list) -> dict:
    factory, keys = context
    return {
        "default_factory_module": factory.__module__,
        "default_factory_name": factory.__qualname__,
        "dict_context": keys,
    }


def _defaultdict_from_json(obj: dict) -> list:
    module = importlib.import_module(obj["default_factory_module"])
    return [getattr(module, obj["default_factory_name"]), obj["dict_context"]]


register_pytree_node(
    tuple, lambda t: (list(t), None), lambda v, _: tuple(v), serialized_type_name="builtins.tuple"
)
register_pytree_node(
    list, lambda t: (list(t), None), lambda v, _: list(v), serialized_type_name="builtins.list"
)
register_pytree_node(
    dict,
    lambda d: (list(d.values()), list(d.keys())),
    lambda v, keys: dict(zip(keys, v)),
    serialized_type_name="builtins.dict",
)
register_pytree_node(
    namedtuple,
    lambda t: (list(t), type(t)),
    lambda v, cls: cls(*v),
)
register_pytree_node(
    OrderedDict,
    lambda d: (list(d.values()), list(d.keys())),
    lambda v, keys: OrderedDict(zip(keys, v)),
    serialized_type_name="collections.OrderedDict",
)
register_pytree_node(
    defaultdict,
    lambda d: (list(d.values()), [d.default_factory, list(d.keys())]),
    lambda v, c: defaultdict(c[0], zip(c[1], v)),
    serialized_type_name="collections.defaultdict",
    to_dumpable_context=_defaultdict_to_json,
    from_dumpable_context=_defaultdict_from_json,
)
register_pytree_node(
    deque,
    lambda d: (list(d), d.maxlen),
    lambda v, maxlen: deque(v, maxlen=maxlen),
    serialized_type_name="collections.deque",
)
register_pytree_node(
    Size, lambda s: (list(s), None), lambda v, _: Size(v), serialized_type_name="torch.Size"
)
