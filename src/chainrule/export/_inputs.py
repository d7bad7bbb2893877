"""The inputs of ``cr.export.export`` as torch's: positional and keyword arguments that are
tensors, Python constants, or tuples / lists / dicts of them (nested), flattened into one
placeholder per leaf (``xs_0``, ``xs_1_0``, ``d_a``, as torch names them), and the
``dynamic_shapes`` argument matched against that structure with torch's errors
(``Detected mismatch between the structure of `inputs` and `dynamic_shapes`: ...``).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

from .. import nn
from ..autograd.tensor import Tensor
from ._errors import UserError, with_suffix

__all__ = ["Leaf", "flatten_inputs", "leaf_specs", "input_names", "structure_error"]

_SCALARS = (bool, int, float, str, type(None))
_CONTAINERS = (tuple, list, dict)
_DOCS = (
    "For more information about this error, see: https://pytorch.org/docs/main/generated/"
    "exportdb/index.html#dynamic-shapes-validation"
)


@dataclass
class Leaf:
    """One flattened input: its placeholder name, the top-level argument it is in, the
    keys down to it, and its example value."""

    name: str
    arg: str
    keys: tuple
    value: Any

    @property
    def path(self) -> str:
        """How guards name it: ``x``, ``xs[1][0]``, ``d['a']``."""
        return self.arg + "".join(f"[{k!r}]" for k in self.keys)


def input_names(mod: nn.Module, args: tuple, kwargs: dict) -> list[str]:
    """The names of the top-level inputs, args then kwargs (``*args`` entries as
    ``args_0``...)."""
    params = list(inspect.signature(mod.forward).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    names = []
    for i in range(len(args)):
        if i < len(positional):
            names.append(positional[i].name)
        elif var is not None:
            names.append(f"{var}_{i - len(positional)}")
        else:
            raise TypeError(
                f"export: {type(mod).__name__}.forward takes {len(positional)} positional "
                f"inputs but {len(args)} were given"
            )
    inspect.signature(mod.forward).bind(*args, **kwargs)  # TypeError for unknown names
    return names + list(kwargs)


def _sanitize(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]", "_", text)


def flatten_inputs(names: list[str], values: list[Any]) -> list[Leaf]:
    """The leaves of the top-level inputs ``values`` (named ``names``), depth first in
    pytree order. Raises NotImplementedError for a leaf that is neither a tensor nor a
    Python constant."""
    leaves: list[Leaf] = []

    def walk(arg: str, keys: tuple, value: Any) -> None:
        if type(value) in (tuple, list):
            for i, v in enumerate(value):
                walk(arg, (*keys, i), v)
        elif type(value) is dict:
            for k, v in value.items():
                walk(arg, (*keys, k), v)
        elif isinstance(value, (Tensor, *_SCALARS)):
            name = "_".join([arg, *(_sanitize(str(k)) for k in keys)])
            leaves.append(Leaf(name, arg, keys, value))
        else:
            where = arg + "".join(f"[{k!r}]" for k in keys)
            raise NotImplementedError(
                f"export: input {where!r} is a {type(value).__name__}; chainrule.export takes "
                "tensors, Python constants and tuples, lists and dicts of them"
            )

    for name, value in zip(names, values, strict=True):
        walk(name, (), value)
    return leaves


def structure_error(detail: str) -> UserError:
    """torch's error for ``dynamic_shapes`` not shaped as the inputs."""
    return UserError(
        with_suffix(
            "Detected mismatch between the structure of `inputs` and `dynamic_shapes`: "
            f"{detail}\n{_DOCS}"
        )
    )


def _match(value: Any, spec: Any, path: str, out: list[tuple[Any, str]]) -> None:
    """Append ``(spec, location)`` for each leaf of ``value`` (see :func:`leaf_specs`)."""
    if type(value) not in _CONTAINERS:
        out.append((spec, f"`dynamic_shapes{path}`"))
        return
    if type(spec) is not type(value):
        what = f"is a {type(spec)}" if isinstance(spec, _CONTAINERS) else "is not"
        raise structure_error(
            f"`inputs{path}` is a {type(value)}, but `dynamic_shapes{path}` {what}"
        )
    if len(spec) != len(value):
        raise structure_error(
            f"`inputs{path}` has {len(value)} elements, but `dynamic_shapes{path}` has "
            f"{len(spec)} elements"
        )
    if isinstance(value, dict):
        if set(value) != set(spec):
            raise structure_error(
                f"`inputs{path}` has keys {list(value)}, but `dynamic_shapes{path}` has keys "
                f"{list(spec)}"
            )
        for k, v in value.items():
            _match(v, spec[k], f"{path}[{k!r}]", out)
    else:
        for i, (v, s) in enumerate(zip(value, spec, strict=True)):
            _match(v, s, f"{path}[{i}]", out)


def leaf_specs(
    dynamic_shapes: Any, mod: nn.Module, args: tuple, kwargs: dict, names: list[str]
) -> tuple[list[Any], list[str]]:
    """Per leaf (in the order of :func:`flatten_inputs` over ``names``) its entry of
    ``dynamic_shapes`` and where that entry is (for errors). ``dynamic_shapes`` is None, a
    dict by argument name, or a tuple/list over the arguments in signature order, each
    entry shaped as its input (a tensor's entry: None, a dict or a tuple of its dims)."""
    signature = inspect.signature(mod.forward)
    params = signature.parameters
    top: dict[str, Any] = {}  # input name -> value, in signature order
    var_of: dict[str, tuple[str, int]] = {}  # xs_1 -> ("xs", 1): an entry of *xs
    for key, value in signature.bind(*args, **kwargs).arguments.items():
        if params[key].kind is inspect.Parameter.VAR_POSITIONAL:
            top[key] = tuple(value)  # one input holding a tuple, as torch's _combine_args
            var_of.update({f"{key}_{i}": (key, i) for i in range(len(value))})
        elif params[key].kind is inspect.Parameter.VAR_KEYWORD:
            top.update(value)
        else:
            top[key] = value
    if dynamic_shapes is None:
        per_input = {n: (_nones(v), f"[{n!r}]") for n, v in top.items()}
    elif isinstance(dynamic_shapes, dict):
        if sorted(dynamic_shapes) != sorted(top):
            raise UserError(
                with_suffix(
                    "When `dynamic_shapes` is specified as a dict, its top-level keys must be "
                    f"the arg names {list(top)} of `inputs`, but here they are "
                    f"{list(dynamic_shapes)}. Alternatively, you could also ignore arg names "
                    "entirely and specify `dynamic_shapes` as a list/tuple matching `inputs`. "
                    f"{_DOCS}"
                )
            )
        per_input = {n: (dynamic_shapes[n], f"[{n!r}]") for n in top}
    elif isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(top):
            raise structure_error(
                f"`inputs` has {len(top)} elements, but `dynamic_shapes` has "
                f"{len(dynamic_shapes)} elements"
            )
        per_input = {n: (s, f"[{i}]") for i, (n, s) in enumerate(zip(top, dynamic_shapes))}
    else:
        raise UserError(
            with_suffix(
                f"Unexpected dynamic_shapes {dynamic_shapes!r}: expected a dict, tuple or list"
            )
        )
    specs: list[Any] = []
    where: list[str] = []
    for name in names:
        out: list[tuple[Any, str]] = []
        if name in var_of:  # the tuple of *xs matched whole, then this entry of it
            key, i = var_of[name]
            spec, path = per_input[key]
            if i == 0:
                _match(top[key], spec, path, [])
            value, spec, path = top[key][i], spec[i], f"{path}[{i}]"
        else:
            value = top[name]
            spec, path = per_input[name]
        _match(value, spec, path, out)
        specs.extend(s for s, _ in out)
        where.extend(w for _, w in out)
    return specs, where


def _nones(value: Any) -> Any:
    """``value``'s structure with None at every leaf (no dynamic dims)."""
    if type(value) in (tuple, list):
        return type(value)(_nones(v) for v in value)
    if type(value) is dict:
        return {k: _nones(v) for k, v in value.items()}
    return None
