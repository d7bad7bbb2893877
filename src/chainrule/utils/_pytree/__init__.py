"""``cr.utils._pytree``: nested containers as a flat list of leaves plus a structure.

PyTorch's ``torch.utils._pytree`` is private by name but public in practice: training
scripts ``tree_map`` a function over a batch dict, libraries flatten model outputs. This
module mirrors PyTorch 2.13's behaviour, checked against it in the tests:

- **Containers** (nodes) are exactly ``tuple``, ``list``, ``dict``, ``OrderedDict``,
  ``defaultdict``, ``deque``, ``cr.Size``, any namedtuple (chainrule's ``return_types``
  included) and the classes given to :func:`register_pytree_node`. Anything else,
  ``None`` and subclasses of ``dict``/``list`` included, is a leaf.
- **Order**: dict leaves come in the dict's insertion order (keys are *not* sorted), so
  ``{'a': 1, 'b': 2}`` and ``{'b': 2, 'a': 1}`` have different, unequal specs.
- :class:`TreeSpec` equality compares node types, contexts (dict keys, the namedtuple
  class, a deque's ``maxlen``) and children; leaves are all alike.
- ``tree_map(f, tree, *rests)`` flattens each of ``rests`` *up to* ``tree``'s structure
  (a leaf of ``tree`` may face a whole subtree) and matches dict entries by key.
- :func:`treespec_dumps` writes PyTorch's JSON format (protocol 1), so specs move between
  the two libraries.

Not provided: the ``*_with_path`` functions and key paths, ``register_dataclass``,
``register_constant`` and the ``FutureWarning`` PyTorch attaches to ``isinstance(spec,
LeafSpec)``.
"""

from __future__ import annotations

from . import _builtin_nodes  # noqa: F401 - registers tuple, list, dict, ... on import
from ._api import (
    tree_all,
    tree_all_only,
    tree_any,
    tree_any_only,
    tree_flatten,
    tree_is_leaf,
    tree_iter,
    tree_leaves,
    tree_map,
    tree_map_,
    tree_map_only,
    tree_map_only_,
    tree_structure,
    tree_unflatten,
)
from ._serialize import treespec_dumps, treespec_loads, treespec_pprint
from ._spec import (
    SUPPORTED_NODES,
    LeafSpec,
    NodeDef,
    TreeSpec,
    is_namedtuple,
    is_namedtuple_class,
    is_namedtuple_instance,
    register_pytree_node,
)

__all__ = [
    "LeafSpec",
    "NodeDef",
    "SUPPORTED_NODES",
    "TreeSpec",
    "is_namedtuple",
    "is_namedtuple_class",
    "is_namedtuple_instance",
    "register_pytree_node",
    "tree_all",
    "tree_all_only",
    "tree_any",
    "tree_any_only",
    "tree_flatten",
    "tree_is_leaf",
    "tree_iter",
    "tree_leaves",
    "tree_map",
    "tree_map_",
    "tree_map_only",
    "tree_map_only_",
    "tree_structure",
    "tree_unflatten",
    "treespec_dumps",
    "treespec_loads",
    "treespec_pprint",
]
