"""``infer_schema``: an operator schema from a Python function's type annotations.

PyTorch's ``custom_op`` requires every parameter and the return to be annotated with a type it
can express in a schema (``Tensor``, ``Optional[Tensor]``, ``Sequence[Tensor]``, ``int``,
``float``, ``bool``, ``str``, ``int | float | bool`` (a Scalar), ``dtype``, ``device``, lists
and optionals of the scalars) and builds the schema from them; this module does the same for
chainrule's types (``cr.Tensor``, ``cr.dtype``, ``cr.device``). Errors are ValueErrors that
start ``infer_schema(func):`` and end with the function's signature, as PyTorch's do.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.tensor import Tensor
from ..backend import Device
from ..dtype_rules import dtype as _dtype
from .schema import Argument, FunctionSchema

__all__ = ["infer_schema", "check_mutates_args"]

_SCALARS = {int: "SymInt", float: "float", bool: "bool"}
_LIST_ORIGINS = (list, collections.abc.Sequence)
_VALID_PARAMS = (
    "Tensor, Optional[Tensor], Sequence[Tensor], list[Tensor], Sequence[Optional[Tensor]], "
    "list[Optional[Tensor]], int, Optional[int], Sequence[int], list[int], "
    "Optional[Sequence[int]], float, Optional[float], Sequence[float], list[float], "
    "Optional[Sequence[float]], bool, Optional[bool], Sequence[bool], list[bool], "
    "Optional[Sequence[bool]], str, Optional[str], int | float | bool, "
    "Optional[int | float | bool], Sequence[int | float | bool], dtype, Optional[dtype], "
    "device, Optional[device]"
)
_VALID_RETURNS = (
    "Tensor, list[Tensor], int, float, bool, int | float | bool, a tuple of those, None"
)


def _is_scalar_union(args: tuple) -> bool:
    return set(args) == {int, float, bool}


def _split_optional(ann: Any) -> tuple[Any, bool]:
    """``Optional[X]`` / ``X | None`` -> (X, True); anything else -> (ann, False)."""
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(ann)
        if type(None) in args:
            rest = tuple(a for a in args if a is not type(None))
            if len(rest) == 1:
                return rest[0], True
            if _is_scalar_union(rest):
                return int | float | bool, True
    return ann, False


def _base(ann: Any) -> str | None:
    """The schema base type of a non-list, non-optional annotation, or None."""
    if ann is Tensor:
        return "Tensor"
    if ann in _SCALARS:
        return _SCALARS[ann]
    if ann is str:
        return "str"
    if ann is _dtype:
        return "ScalarType"
    if ann is Device:
        return "Device"
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType) and _is_scalar_union(typing.get_args(ann)):
        return "Scalar"
    return None


def _param_type(ann: Any) -> Argument | None:
    """An Argument (name unset) for a parameter annotation, or None if unsupported."""
    inner, optional = _split_optional(ann)
    base = _base(inner)
    if base is not None:
        return Argument("", base, optional=optional)
    if typing.get_origin(inner) not in _LIST_ORIGINS or len(typing.get_args(inner)) != 1:
        return None
    elem = typing.get_args(inner)[0]
    elem_inner, elem_optional = _split_optional(elem)
    elem_base = _base(elem_inner)
    if elem_base is None or elem_base in ("str", "ScalarType", "Device"):
        return None
    if elem_optional and elem_base != "Tensor":
        return None
    if optional and elem_base == "Tensor":  # PyTorch has no Optional[Sequence[Tensor]]
        return None
    return Argument("", elem_base, is_list=True, optional=optional, elem_optional=elem_optional)


def _return_type(ann: Any) -> Argument | None:
    if ann is Tensor:
        return Argument("", "Tensor")
    if ann in _SCALARS:
        return Argument("", _SCALARS[ann])
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType) and _is_scalar_union(typing.get_args(ann)):
        return Argument("", "Scalar")
    if origin is list and typing.get_args(ann) == (Tensor,):
        return Argument("", "Tensor", is_list=True)
    return None


def _annotations(fn: Callable, sig: inspect.Signature, error: Callable) -> dict:
    """The annotations of ``fn`` with strings (``from __future__ import annotations``)
    evaluated in the function's module."""
    raw = {n: p.annotation for n, p in sig.parameters.items()}
    raw["return"] = sig.return_annotation
    if not any(isinstance(a, str) for a in raw.values()):
        return raw
    namespace = dict(getattr(fn, "__globals__", {}))
    out = {}
    for name, ann in raw.items():
        if not isinstance(ann, str):
            out[name] = ann
            continue
        try:
            out[name] = eval(ann, namespace)  # noqa: S307 - an annotation, as typing does
        except Exception as exc:  # NameError for a name local to a function
            error(
                f"Unsupported type annotation {ann}. It is not a type. ({exc}). If you are using "
                "'from __future__ import annotations', note that annotations are evaluated "
                "lazily as strings; make sure all types referenced in annotations are "
                "importable at module scope, not only inside a local function."
            )
    return out


def check_mutates_args(mutates_args: Any) -> tuple[str, ...] | str:
    """``mutates_args`` must be the string ``"unknown"`` or an iterable of argument names."""
    if isinstance(mutates_args, str):
        if mutates_args != "unknown":
            raise ValueError(
                "mutates_args must either be a sequence of the names of the arguments that are "
                "mutated or the string 'unknown'. "
            )
        return "unknown"
    if not isinstance(mutates_args, Iterable):
        raise TypeError(
            "mutates_args must be an iterable of argument names or the string 'unknown', got "
            f"{type(mutates_args).__name__}"
        )
    return tuple(mutates_args)


def infer_schema(
    prototype_function: Callable,
    /,
    *,
    mutates_args: str | Iterable[str],
    op_name: str | None = None,
    tags: Any = (),
) -> str:
    """The schema of ``prototype_function`` from its annotations (PyTorch's
    ``torch.library.infer_schema``): ``"(Tensor x, SymInt n) -> Tensor"``, or
    ``"op_name(...) -> ..."`` when ``op_name`` is given.

    Tensors named in ``mutates_args`` (all tensors with ``"unknown"``) get an alias
    annotation ``Tensor(a<i>!)``, where ``i`` is the argument's position.

    >>> import chainrule as cr
    >>> def f(x: cr.Tensor, n: int, *, scale: float = 2.0) -> cr.Tensor: ...
    >>> cr.library.infer_schema(f, mutates_args=())
    '(Tensor x, SymInt n, *, float scale=2.0) -> Tensor'
    """
    if tags:
        raise NotImplementedError(f"infer_schema: tags={tags!r} are not supported")
    schema = infer_function_schema(prototype_function, mutates_args, op_name or "")
    return schema.format(python_floats=True)


def infer_function_schema(fn: Callable, mutates_args: Any, name: str) -> FunctionSchema:
    """:func:`infer_schema` as a :class:`FunctionSchema`."""
    mutates = check_mutates_args(mutates_args)
    sig = inspect.signature(fn)

    def error(what: str) -> None:
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    anns = _annotations(fn, sig, error)
    arguments = []
    for i, (pname, p) in enumerate(sig.parameters.items()):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            error("We do not support positional-only args, varargs, or varkwargs.")
        if p.annotation is inspect.Parameter.empty:
            error(f"Parameter {pname} must have a type annotation.")
        arg = _param_type(anns[pname])
        if arg is None:
            error(
                f"Parameter {pname} has unsupported type {anns[pname]}. The valid types are: "
                f"{_VALID_PARAMS}."
            )
        arg.name = pname
        arg.kwarg_only = p.kind is p.KEYWORD_ONLY
        if p.default is not inspect.Parameter.empty:
            if p.default is not None and not isinstance(p.default, (int, float, bool, str)):
                error(
                    f"Parameter {pname} has an unsupported default value type "
                    f"{type(p.default)}; a default must be None, an int, a float, a bool or a str."
                )
            arg.default, arg.has_default = p.default, True
        if (
            arg.base == "Tensor"
            and mutates == "unknown"
            or (mutates != "unknown" and pname in mutates)
        ):
            if arg.base != "Tensor":
                error(
                    f"Parameter {pname} is in mutable_args but only Tensors or collections of "
                    "Tensors can be mutated"
                )
            arg.mutable, arg.alias = True, f"a{i}"
        arguments.append(arg)
    if mutates != "unknown":
        missing = set(mutates) - set(sig.parameters)
        if missing:
            error(
                f"{missing} in mutates_args were not found in the custom op's signature. "
                "mutates_args should contain the names of all args that the custom op mutates, "
                "or just the string 'unknown' if you don't know."
            )
    return FunctionSchema(name, arguments, _returns(anns["return"], sig, error))


def _returns(ann: Any, sig: inspect.Signature, error: Callable) -> list[Argument]:
    if ann is inspect.Signature.empty:
        error("No return type annotation was provided. Please add one.")
    if ann is None or ann is type(None):
        return []
    if typing.get_origin(ann) is tuple:
        elems = typing.get_args(ann)
        out = [_return_type(e) for e in elems]
        if not elems or any(r is None for r in out):
            error(f"Return has unsupported type {ann}. The valid types are: {_VALID_RETURNS}.")
        return out
    ret = _return_type(ann)
    if ret is None:
        error(f"Return has unsupported type {ann}. The valid types are: {_VALID_RETURNS}.")
    return [ret]
