"""Operator schemas: ``ns::op(Tensor x, SymInt n=2) -> Tensor`` as data, parsed and printed.

A schema is PyTorch's way of writing an operator's signature: each argument has a type
(``Tensor``, ``Tensor?``, ``Tensor[]``, ``SymInt``, ``float``, ``bool``, ``str``, ``Scalar``,
``ScalarType``, ``Device``, lists ``T[]`` and optionals ``T?`` of them), a name, a default,
and, for a tensor the op writes into, an alias annotation ``Tensor(a!)``. Arguments after a
``*`` are keyword-only. :func:`custom_op` infers a schema from type annotations
(:mod:`.infer`); ``Library.define`` parses one written out (:func:`parse_schema`). The
schema then checks every call's arguments (:mod:`.binding`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Argument", "FunctionSchema", "parse_schema", "split_qualname", "format_default"]

# Base types a schema may name (PyTorch's spelling); ``int`` is a synonym of ``SymInt``.
BASE_TYPES = frozenset(
    {"Tensor", "SymInt", "int", "float", "bool", "str", "Scalar", "ScalarType", "Device"}
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class Argument:
    """One argument (or return) of a schema.

    Attributes:
        name: the argument's name ("" for a return).
        base: the base type ("Tensor", "SymInt", "float", ...).
        is_list: ``T[]``.
        optional: ``T?`` (``Tensor?[]`` is a list of optional tensors: ``elem_optional``).
        elem_optional: for a list, whether its elements may be None.
        mutable: written in place by the op (``Tensor(a!)``).
        alias: the alias set name (``a``, ``a0``), or "".
        default: the default value, or ``NO_DEFAULT``.
        kwarg_only: declared after ``*``.
    """

    name: str
    base: str
    is_list: bool = False
    optional: bool = False
    elem_optional: bool = False
    mutable: bool = False
    alias: str = ""
    default: Any = field(default=None)
    has_default: bool = False
    kwarg_only: bool = False

    @property
    def is_tensor_like(self) -> bool:
        """A tensor or a list of tensors (what autograd and mutation act on)."""
        return self.base == "Tensor"

    def type_str(self) -> str:
        """The type as a schema writes it: ``Tensor(a0!)?[]``, ``SymInt[]?``."""
        text = self.base
        if self.alias:
            text += f"({self.alias}{'!' if self.mutable else ''})"
        if self.is_list:
            text += ("?" if self.elem_optional else "") + "[]"
        if self.optional:
            text += "?"
        return text

    def format(self, python_floats: bool = False) -> str:
        text = self.type_str()
        if self.name:
            text += f" {self.name}"
        if self.has_default:
            text += f"={format_default(self.default, python_floats)}"
        return text

    def __str__(self) -> str:
        return self.format()


@dataclass
class FunctionSchema:
    """A whole schema: a name (``"ns::op"`` or just the op's name), arguments and returns."""

    name: str
    arguments: list[Argument]
    returns: list[Argument]
    overload_name: str = ""

    def __str__(self) -> str:
        return self.format()

    def format(self, python_floats: bool = False) -> str:
        """The schema as text; a float default is written as PyTorch's dispatcher writes it
        (``2.``), or with ``python_floats`` as ``infer_schema`` writes it (``2.0``)."""
        args = []
        star = False
        for a in self.arguments:
            if a.kwarg_only and not star:
                args.append("*")
                star = True
            args.append(a.format(python_floats))
        rets = [r.type_str() + (f" {r.name}" if r.name else "") for r in self.returns]
        ret = rets[0] if len(rets) == 1 and not self.returns[0].name else f"({', '.join(rets)})"
        return f"{self.name}({', '.join(args)}) -> {ret}"

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)


def format_default(value: Any, python_floats: bool = False) -> str:
    """A default as a schema prints it: ``None``, ``True``, ``2``, ``"hi"``, ``inf``, a float
    as ``2.`` (C++) or ``2.0`` (``python_floats``)."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    text = repr(value)
    if isinstance(value, float) and not python_floats and text.endswith(".0"):
        return text[:-1]
    return text


def split_qualname(qualname: Any, where: str) -> tuple[str, str]:
    """``"ns::op"`` -> ``("ns", "op")``, with PyTorch's error types for bad names: a name
    without exactly one ``::`` is a ValueError, an invalid identifier a RuntimeError."""
    if not isinstance(qualname, str):
        raise AttributeError(f"'{type(qualname).__name__}' object has no attribute 'split'")
    parts = qualname.split("::")
    if len(parts) != 2:
        raise ValueError(
            f'{where}: Expected `qualname` to be of the form "namespace::name", but got '
            f"{qualname}. The qualname passed to the library APIs must consist of a namespace "
            "and a name, e.g. mylib::sin"
        )
    ns, name = parts
    for what, ident in (("namespace", ns), ("op name", name)):
        if not _IDENT.match(ident):
            raise RuntimeError(
                f"{where}: the {what} {ident!r} of {qualname!r} is not a valid identifier "
                "(letters, digits and underscores, not starting with a digit)"
            )
    if name.endswith(".default"):
        raise RuntimeError("default is not a legal overload name for aten operators")
    if "." in name:
        raise RuntimeError(
            f"{where}: {qualname!r}: overload names are not supported (chainrule's operators "
            "have only the 'default' overload)"
        )
    return ns, name


# --- parsing (``Library.define``) -------------------------------------------------------------

_TYPE = re.compile(
    r"(?P<base>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:\((?P<alias>[a-z][a-z0-9]*)(?P<bang>!?)\))?"
    r"(?P<elemopt>\?)?(?P<list>\[\d*\])?(?P<opt>\?)?\Z"
)


def _parse_default(text: str, arg: Argument) -> Any:
    if text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    if text.startswith(('"', "'")) and text.endswith(text[0]) and len(text) >= 2:
        return text[1:-1]
    if arg.is_list and text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_parse_scalar(t.strip()) for t in inner.split(",")] if inner else []
    if arg.is_list:  # ``int[2] stride=1``: one value for every element
        return _parse_scalar(text)
    return _parse_scalar(text)


def _parse_scalar(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise RuntimeError(f"schema: cannot parse the default value {text!r}") from None


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    out, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [p.strip() for p in out if p.strip()]


def _parse_arg(text: str, schema: str, kwarg_only: bool, is_return: bool) -> Argument:
    decl, eq, default = text.partition("=")
    pieces = decl.split()
    if not pieces or len(pieces) > 2:
        raise RuntimeError(f"schema: cannot parse the argument {text!r} in {schema!r}")
    m = _TYPE.match(pieces[0])
    if m is None or m.group("base") not in BASE_TYPES:
        raise RuntimeError(
            f"schema: unknown type {pieces[0]!r} in {schema!r}; valid base types are "
            f"{', '.join(sorted(BASE_TYPES))}, with T? (optional), T[] (list) and Tensor(a!)"
        )
    name = pieces[1] if len(pieces) == 2 else ""
    if not is_return and not name:
        raise RuntimeError(f"schema: the argument {text!r} in {schema!r} has no name")
    base = m.group("base")  # "int" and "SymInt" accept the same values here
    is_list = m.group("list") is not None
    arg = Argument(
        name=name,
        base=base,
        is_list=is_list,
        optional=bool(m.group("opt")) or (bool(m.group("elemopt")) and not is_list),
        elem_optional=bool(m.group("elemopt")) and is_list,
        mutable=bool(m.group("bang")),
        alias=m.group("alias") or "",
        kwarg_only=kwarg_only,
    )
    if eq:
        if is_return:
            raise RuntimeError(f"schema: a return cannot have a default ({schema!r})")
        arg.default = _parse_default(default.strip(), arg)
        arg.has_default = True
    return arg


def parse_schema(text: str, name: str | None = None) -> FunctionSchema:
    """Parse ``"op(Tensor x, *, float s=1.0) -> (Tensor, Tensor)"``; with ``name`` given, the
    text has no name (``"(Tensor x) -> Tensor"``, as ``custom_op(schema=...)`` takes it)."""
    text = text.strip()
    head, arrow, ret = text.partition("->")
    if not arrow:
        raise RuntimeError(f"schema: expected '->' and the returns in {text!r}")
    head = head.strip()
    open_at = head.find("(")
    if open_at < 0 or not head.endswith(")"):
        raise RuntimeError(f"schema: expected 'name(arguments) -> returns', got {text!r}")
    op_name = head[:open_at].strip() if name is None else name
    if name is None:
        base_name, _, overload = op_name.partition(".")
        if not _IDENT.match(base_name) or (overload and not _IDENT.match(overload)):
            raise RuntimeError(f"schema: {op_name!r} is not a valid operator name in {text!r}")
    elif head[:open_at].strip():
        raise RuntimeError(f"schema: expected the schema without the op's name, got {text!r}")
    arguments, kwarg_only = [], False
    for piece in _split_top(head[open_at + 1 : -1]):
        if piece == "*":
            kwarg_only = True
            continue
        arguments.append(_parse_arg(piece, text, kwarg_only, is_return=False))
    ret = ret.strip()
    if ret.startswith("(") and ret.endswith(")"):
        returns = [_parse_arg(p, text, False, is_return=True) for p in _split_top(ret[1:-1])]
    else:
        returns = [_parse_arg(ret, text, False, is_return=True)]
    base_name, _, overload = op_name.partition(".")
    return FunctionSchema(base_name, arguments, returns, overload)
