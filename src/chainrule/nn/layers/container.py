"""Containers: Sequential, ModuleList, ModuleDict."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from ..module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _check_index(op: str, idx: Any, n: int) -> int:
    """An int index in [-n, n) (PyTorch's containers raise IndexError / TypeError otherwise).

    Anything ``operator.index`` accepts is an index, as in PyTorch: a bool, a NumPy integer, a
    one-element integer tensor (Mixtral's ``self.experts[expert_idx]`` with ``expert_idx`` a row
    of ``nonzero()``)."""
    try:
        idx = operator.index(idx)
    except TypeError as err:
        raise TypeError(
            f"{op} indices must be integers or slices, not {type(idx).__name__} ({err})"
        ) from None
    if not -n <= idx < n:
        raise IndexError(f"{op}: index {idx} is out of range for a container of length {n}")
    return idx


def _delete(container: Module, idx: Any) -> None:
    """``del container[idx]`` (an int or a slice), then the keys renumbered ``0..n-1`` as
    PyTorch's ``Sequential`` and ``ModuleList`` do, so that indexing stays contiguous."""
    keys = list(container._modules.keys())
    if isinstance(idx, slice):
        doomed = keys[idx]
    else:
        doomed = [keys[_check_index(type(container).__name__, idx, len(keys))]]
    for key in doomed:
        del container._modules[key]
    modules = list(container._modules.values())
    container._modules.clear()
    for i, module in enumerate(modules):
        container._modules[str(i)] = module


class Sequential(Module):
    """Apply modules in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Also accepts an OrderedDict of named modules, like PyTorch.
    """

    def __init__(self, *modules: Any):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        items = list(self._modules.values())
        return items[_check_index("Sequential", idx, len(items))]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules.keys())
        self.add_module(keys[_check_index("Sequential", idx, len(keys))], module)

    def __delitem__(self, idx: Any) -> None:
        _delete(self, idx)

    def pop(self, key: Any) -> Any:
        """Remove and return the module (or the ``Sequential`` of a slice) at ``key``."""
        v = self[key]
        del self[key]
        return v

    def insert(self, index: int, module: Module) -> "Sequential":
        """Put ``module`` before position ``index`` (``-len <= index <= len``), shifting the
        numbered modules after it up by one."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        for i in range(n, index, -1):
            self._modules[str(i)] = self._modules[str(i - 1)]
        self._modules[str(index)] = module
        return self

    def extend(self, sequential: Iterable[Module]) -> "Sequential":
        for layer in sequential:
            self.append(layer)
        return self

    def __add__(self, other: Any) -> "Sequential":
        """A new ``Sequential`` of this one's modules then ``other``'s (the same objects)."""
        if not isinstance(other, Sequential):
            raise ValueError(
                "add operator supports only objects of Sequential class, but "
                f"{type(other)} is given."
            )
        return Sequential(*self, *other)

    def __iadd__(self, other: Any) -> "Sequential":
        if not isinstance(other, Sequential):
            raise ValueError(
                "add operator supports only objects of Sequential class, but "
                f"{type(other)} is given."
            )
        return self.extend(list(other))

    def _repeat_count(self, other: Any) -> int:
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        return other

    def __mul__(self, other: Any) -> "Sequential":
        """A new ``Sequential`` repeating these modules ``other`` times (shared, not copied)."""
        return Sequential(*(list(self) * self._repeat_count(other)))

    __rmul__ = __mul__

    def __imul__(self, other: Any) -> "Sequential":
        """Repeat in place: the copies are read back by their numbered keys ``"0"``, ``"1"``...
        (a Sequential of named modules raises KeyError, as PyTorch's)."""
        n = len(self)
        for offset in range(n, n * self._repeat_count(other), n):
            for i in range(n):
                self.add_module(str(i + offset), self._modules[str(i)])
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        for m in modules or []:
            self.append(m)

    def __getitem__(self, idx: Any) -> Any:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(items[idx])
        return items[_check_index("ModuleList", idx, len(items))]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules.keys())
        key = keys[_check_index("ModuleList", idx, len(keys))]
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def __delitem__(self, idx: Any) -> None:
        _delete(self, idx)

    def pop(self, key: Any) -> Any:
        """Remove and return the module (or the ``ModuleList`` of a slice) at ``key``."""
        v = self[key]
        del self[key]
        return v

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        """A new ``ModuleList`` of these modules then ``other``'s (the same objects)."""
        return ModuleList(chain(self, other))

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleList.extend should be called with an iterable, but got "
                + type(modules).__name__
            )
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def __repr__(self) -> str:
        """Runs of identical layers print once, ``(0-5): 6 x Block(...)``, as in PyTorch, so a
        deep stack of blocks stays readable."""
        if not self._modules:
            return f"{type(self).__name__}()"
        runs: list[list] = []  # [first index, last index, repr]
        for i, m in enumerate(self._modules.values()):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [
            (f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace("\n", "\n  ")
            for a, b, text in runs
        ]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of named modules whose parameters are registered."""

    def __init__(self, modules: Any = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def pop(self, key: str) -> Module:
        """Remove the module named ``key`` and return it (KeyError when absent)."""
        v = self[key]
        del self[key]
        return v

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules: Any) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)
