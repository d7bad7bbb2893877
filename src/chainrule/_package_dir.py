"""``dir()`` of chainrule's packages: their names, without the internal ones that
importing them binds.

A package's ``__init__`` that runs ``from .engine import backward`` also binds the
submodule ``engine`` as an attribute of the package, and ``from __future__ import
annotations`` binds the compiler feature ``annotations``; ``dir(cr.func)`` then listed
``jacobians``, ``transforms`` and ``annotations``, which ``dir(torch.func)`` does not. A
package defines ``__dir__ = package_dir(globals(), public_submodules)``-style hooks with
:func:`package_dir` so that ``dir()`` (and so tab completion) shows what ``torch``'s does:
every name except the feature and the package's own submodules that are not public (in
``__all__`` or in ``public_submodules``, the submodules PyTorch's package also exposes).
The attributes themselves stay (``import chainrule.func.jacobians`` and
``cr.func.jacobians`` still work); only the listing changes.
"""

from __future__ import annotations
import __future__

import types
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["package_dir"]

_HOOKS = frozenset({"__dir__", "__getattr__"})  # the module hooks, not in torch's dir()


def package_dir(
    namespace: dict[str, Any],
    public_submodules: Iterable[str] = (),
    extra: Iterable[str] = (),
    *,
    public_only: bool = False,
) -> Callable[[], list[str]]:
    """A module ``__dir__`` for the package whose globals are ``namespace``.

    Args:
        namespace: the package's ``globals()`` (read at each call, so names bound later
            are listed).
        public_submodules: the package's submodules that ``dir()`` lists (beside those in
            its ``__all__``), e.g. ``cr.nn``'s ``functional`` and ``init``.
        extra: names the package resolves through its ``__getattr__`` on first use.
        public_only: list only the public names (``__all__``, ``public_submodules``,
            ``extra``) and the module's own dunder attributes (``__doc__``, ``__name__``,
            ...): for a package whose ``__init__`` holds code, so that the helpers it imports
            (``np``, ``Any``, ``Tensor``, private functions) stay out of ``dir()``, as they
            are out of ``dir(torch.<package>)`` (``cr.fft``, ``cr.autograd``).
    """
    kept = frozenset(public_submodules)
    lazy = tuple(extra)

    def __dir__() -> list[str]:  # noqa: N807 - the module hook's name
        prefix = namespace["__name__"] + "."
        public = kept.union(namespace.get("__all__", ()))
        if public_only:
            dunders = {n for n in namespace if n.startswith("__") and n.endswith("__")}
            return sorted((dunders - _HOOKS) | public | set(lazy))
        names = {
            name
            for name, value in namespace.items()
            if name in public
            or not (
                value is __future__.annotations
                or (isinstance(value, types.ModuleType) and value.__name__.startswith(prefix))
            )
        }
        return sorted(names.union(lazy))

    return __dir__
