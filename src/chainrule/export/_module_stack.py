"""The module hierarchy an export records: each node's ``meta["nn_module_stack"]``, as
torch's, an ordered dict from ``"L__self__<path>"`` to ``(path, "<module>.<class>")`` for
every module whose ``forward`` was running when the node was recorded, outermost first
(the root's path is ``""``; a module's second call is keyed ``L__self__<path>@1``).
:func:`chainrule.export.unflatten` rebuilds the module tree from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..utils._pytree import tree_flatten

__all__ = ["ModuleStack", "keep_signature", "stack_key"]


def stack_key(path: str) -> str:
    """torch's key for the module at ``path`` (``L__self__``, ``L__self__b1.lin``)."""
    return f"L__self__{path}"


class ModuleStack:
    """The modules being called while a trace runs, outermost first."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, tuple[str, str]]] = []
        self._calls: dict[str, int] = {}

    @contextmanager
    def entered(self, path: str, module: Any) -> Iterator[None]:
        """``module`` (at ``path``) is running for the duration of the block; its second
        and later calls are keyed ``L__self__<path>@1``, ``@2``... as torch's."""
        cls = type(module)
        n = self._calls.get(path, 0)
        self._calls[path] = n + 1
        key = stack_key(path) + (f"@{n}" if n else "")
        self._entries.append((key, (path, f"{cls.__module__}.{cls.__qualname__}")))
        try:
            yield
        finally:
            self._entries.pop()

    def calls(self, path: str) -> int:
        """How many calls of the module at ``path`` have begun."""
        return self._calls.get(path, 0)

    def snapshot(self) -> dict[str, tuple[str, str]]:
        """The stack as torch records it on a node."""
        return dict(self._entries)


def keep_signature(
    signatures: dict[str, tuple], path: str, n: int, inputs: tuple[tuple, dict], out: Any
) -> None:
    """Record call ``n`` of the module at ``path`` (named in
    ``preserve_module_call_signature``) in ``signatures``, under its call name (``sub``,
    ``sub@1``): its inputs ``(args, kwargs)`` and output, flattened, with their specs.
    Calls after the first must match its specs, as torch asserts."""
    args, kwargs = inputs
    ins, in_spec = tree_flatten((tuple(args), dict(kwargs)))
    outs, out_spec = tree_flatten(out)
    first = signatures.get(path)
    if first is not None:
        for what, old, new in (("in_spec", first[1], in_spec), ("out_spec", first[3], out_spec)):
            if old != new:
                raise AssertionError(f"{what} mismatch for {path}: {old} != {new}")
    signatures[path if n == 0 else f"{path}@{n}"] = (ins, in_spec, outs, out_spec)
