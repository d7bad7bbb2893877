"""``ParameterList`` and ``ParameterDict``: hold parameters by index or key, like PyTorch's.

Each entry is registered on the container under PyTorch's attribute name (``"0"``, ``"1"``, ...
for a list, the key for a dict), so ``named_parameters()`` and ``state_dict()`` give the same
names (``"plist.0"``, ``"pdict.alpha"``) as a PyTorch model and checkpoints load across. A plain
Tensor put into either container is wrapped in a :class:`Parameter`; other objects are stored
as ordinary attributes, as PyTorch does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ...autograd.tensor import Tensor
from ..module import Module, _check_name
from ..parameter import Parameter
from .container import _check_index

__all__ = ["ParameterDict", "ParameterList"]


def _as_param(value: Any) -> Any:
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _entry_repr(p: Any, legacy_type: bool = False) -> str:
    """One entry's line as PyTorch prints it: ``[torch.float32 of size 2x3]`` in a list,
    the legacy type name (``[torch.FloatTensor of size 2x3]``) in a dict."""
    if isinstance(p, Tensor):
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        size = "x".join(str(s) for s in p.shape)
        dev = "" if str(p.device) == "cpu" else f" ({p.device})"
        name = str(p.dtype)  # torch.float32
        if legacy_type:
            try:
                name = p.type()
            except TypeError:  # no legacy name (complex): the dtype's name
                pass
        return f"{kind} containing: [{name} of size {size}{dev}]"
    return f"Object of type: {type(p).__name__}"


class _ParamContainer(Module):
    def _put(self, name: str, value: Any) -> None:
        """Set entry ``name``; replacing a parameter keeps its place in the order (as torch)."""
        value = _as_param(value)
        if isinstance(value, Parameter) and name in self._parameters:
            self.register_parameter(name, value)  # in place (registration hooks see it)
        else:
            setattr(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{type(self).__name__} should not be called.")

    def _lines(self) -> list[str]:
        raise NotImplementedError

    def extra_repr(self) -> str:
        # torch's layout: the entries as extra_repr lines, indented two spaces, so one entry
        # prints inline (``ParameterList(  (0): Parameter containing: [...])``)
        return "\n".join("  " + s for s in self._lines())


class ParameterList(_ParamContainer):
    """A list of parameters registered as ``"0"``, ``"1"``, ... (``torch.nn.ParameterList``).

    Args:
        values: an iterable of Parameters (plain tensors are wrapped in Parameter).
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return type(self)(self[i] for i in range(len(self))[idx])
        i = _check_index("ParameterList", idx, self._size) % self._size
        return getattr(self, str(i))

    def __setitem__(self, idx: int, param: Any) -> None:
        i = _check_index("ParameterList", idx, self._size) % self._size
        self._put(str(i), param)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __iadd__(self, parameters: Iterable[Any]) -> ParameterList:
        return self.extend(parameters)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end, registered as ``str(len(self))``."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append every element of ``values``."""
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(
                f"ParameterList.extend should be called with an iterable, but got "
                f"{type(values).__name__}"
            )
        for v in values:
            self.append(v)
        return self

    def _lines(self) -> list[str]:
        return [f"({i}): {_entry_repr(p)}" for i, p in enumerate(self)]


class ParameterDict(_ParamContainer):
    """An ordered dict of parameters registered under their keys (``torch.nn.ParameterDict``).

    Insertion order is kept; ``update`` with a plain (unordered) ``dict`` inserts in sorted key
    order, as PyTorch does.

    Args:
        parameters: a mapping or an iterable of (key, value) pairs.
    """

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        _check_name("ParameterDict", "parameter", key)
        if key not in self._keys and hasattr(self, key):
            raise KeyError(
                f"ParameterDict: key {key!r} clashes with an attribute of the "
                "container; choose another key"
            )
        self._keys[key] = None
        self._put(key, value)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Iterable[str]:
        return self._keys.keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        return ((k, self[k]) for k in self._keys)

    def values(self) -> Iterable[Any]:
        return (self[k] for k in self._keys)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str) -> Any:
        v = self[key]
        del self[key]
        return v

    def popitem(self) -> tuple[str, Any]:
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        k = list(self._keys)[-1]
        return k, self.pop(k)

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameter objects."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> ParameterDict:
        return ParameterDict((k, default) for k in keys)

    def update(self, parameters: Any) -> None:
        """Insert from a mapping (a plain dict in sorted key order) or (key, value) pairs."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs: Iterable = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        elif isinstance(parameters, Iterable) and not isinstance(parameters, (str, Tensor)):
            pairs = []
            for j, p in enumerate(parameters):
                if not isinstance(p, Iterable) or isinstance(p, (str, Tensor)) or len(p) != 2:
                    raise ValueError(
                        f"ParameterDict update sequence element #{j} should be a "
                        f"(key, value) pair, got {p!r}"
                    )
                pairs.append(tuple(p))
        else:
            raise TypeError(
                f"ParametersDict.update should be called with an iterable of "
                f"key/value pairs, but got {type(parameters).__name__}"
            )
        for k, v in pairs:
            self[k] = v

    def __or__(self, other: ParameterDict) -> ParameterDict:
        out = self.copy()
        out.update(other)
        return out

    def __ior__(self, other: Any) -> ParameterDict:
        self.update(other)
        return self

    def _lines(self) -> list[str]:
        return [f"({k}): {_entry_repr(p, legacy_type=True)}" for k, p in self.items()]
