"""Which parameters a PyTorch user can pass by keyword, and which chainrule accepts.

The reading behind ``test_signature_parity.py``. PyTorch's names come from
``inspect.signature`` where it works (functions written in Python) and otherwise from the
signature lines its docstrings start with (``add(input, other, *, alpha=1, out=None) ->
Tensor``) plus the ``.. function::`` / ``.. method::`` lines of further overloads. Docstrings
slip (``Tensor.mul(value)`` where torch takes ``other``), so for a C function each name is
checked against torch's own argument parser before it counts. chainrule's names come from
``inspect.signature``, seeing through its two generic wrappers: the NumPy-keyword wrapper
(``ops/keywords.py``: adds ``out``, ``axis``, ``keepdims``) and the in-place method
(``ops/inplace.py``: forwards to the out-of-place op).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import torch

import chainrule as cr
import chainrule.fft
import chainrule.linalg
import chainrule.nn.functional
import chainrule.special
from chainrule.ops import inplace as cr_inplace
from chainrule.ops import keywords as cr_keywords

__all__ = ["NAMESPACES", "audit", "chainrule_keyword_names", "torch_keyword_names"]

# (torch namespace, chainrule namespace, is a Tensor class)
NAMESPACES: dict[str, tuple[Any, Any, bool]] = {
    "torch": (torch, cr, False),
    "torch.nn.functional": (torch.nn.functional, cr.nn.functional, False),
    "torch.linalg": (torch.linalg, cr.linalg, False),
    "torch.special": (torch.special, cr.special, False),
    "torch.fft": (torch.fft, cr.fft, False),
    "torch.Tensor": (torch.Tensor, cr.Tensor, True),
}

# The code objects of chainrule's generic wrappers, to recognise them.
_KEYWORD_WRAPPER = cr_keywords.accepts_torch_keywords(lambda: None).__code__
_INPLACE_WRAPPER = cr_inplace.make_inplace("probe_", lambda x: x).__code__

_IDENT = re.compile(r"^[A-Za-z]\w*$")


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas that are not inside brackets or quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _keyword_names_of_doc_line(params: str) -> set[str]:
    """Names passable by keyword in one docstring parameter list."""
    items = _split_top_level(params)
    if "/" in items:
        items = items[items.index("/") + 1 :]
    names = set()
    for item in items:
        if item.startswith("*"):
            continue  # the bare ``*`` marker, ``*args`` or ``**kwargs``
        name = re.split(r"[=:]", item, maxsplit=1)[0].strip()
        if _IDENT.match(name) and not name.startswith("_") and name != "self":
            names.add(name)
    return names


def _doc_signatures(doc: str, name: str) -> Iterator[str]:
    """The parameter lists of every ``name(...)`` signature line in ``doc``."""
    lines = doc.strip().splitlines()
    head = re.compile(
        r"^\s*(?:\.\. (?:function|method)::\s*)?(?:[\w.]+\.)?" + re.escape(name) + r"\("
    )
    for i, line in enumerate(lines):
        first = i == 0 or not any(lines[j].strip() for j in range(i))
        if not head.match(line) or not (first or ".. " in line):
            continue
        text = line[head.match(line).end() :]
        j = i
        while text.count("(") + 1 > text.count(")") and j + 1 < len(lines):
            j += 1
            text += " " + lines[j].strip()
        depth = 1
        for k, ch in enumerate(text):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0:
                yield text[:k]
                break


def torch_keyword_names(fn: Any, name: str, is_method: bool) -> set[str] | None:
    """The names a PyTorch user can pass by keyword, or ``None`` when none can be found."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        params = list(sig.parameters.values())[1 if is_method else 0 :]
        named = {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and not p.name.startswith("_")
        }
        if named:
            return named
    lists = list(_doc_signatures(getattr(fn, "__doc__", None) or "", name))
    if not lists:
        return None
    names = set().union(*(_keyword_names_of_doc_line(p) for p in lists))
    return _accepted_by_torch(fn, is_method, names)


class _Probe:
    """A value no torch parameter takes: probing with it never runs the function."""


def _parse_error(fn: Any, is_method: bool, **kwargs: Any) -> str:
    """The TypeError torch's argument parser raises for this call ("" if none)."""
    args = (torch.zeros(1),) if is_method else ()
    try:
        fn(*args, **kwargs)
    except TypeError as err:
        return str(err)
    except Exception:  # noqa: BLE001 - refused after parsing: the keywords were fine
        return ""
    return ""


def _accepted_by_torch(fn: Any, is_method: bool, names: set[str]) -> set[str]:
    """The docstring names that torch's own argument parser accepts.

    Docstrings slip (``x.mul(value)`` where torch takes ``other``): a C function is asked.
    With several overloads its parser lists their real signatures in its error; with one, a
    name it does not know is reported as an unexpected keyword argument.
    """
    if not isinstance(fn, (type(torch.add), type(torch.Tensor.add))):
        return names  # a Python function: inspect.signature or its docstring is the truth
    message = _parse_error(fn, is_method, __probe__=_Probe())
    if "takes no keyword arguments" in message:
        return set()  # every parameter is positional-only
    if "expected one of" in message:
        listed = set()
        for line in message.splitlines():
            found = re.match(r"^\s*\* \((.*)\)\s*$", line)
            for item in _split_top_level(found.group(1)) if found else ():
                listed.add(item.split("=")[0].split()[-1])
        return names & listed
    # one overload: a parser that misses a required argument says so before it looks at the
    # keywords, so the operator's schema is asked too (where it has more than ``self``).
    schema = _schema_names(getattr(fn, "__name__", ""), is_method)
    return {
        n
        for n in names
        if f"unexpected keyword argument '{n}'" not in _parse_error(fn, is_method, **{n: _Probe()})
        and (not schema or n in schema or n in ("out", "requires_grad"))
    }


def _schema_names(op: str, is_method: bool) -> set[str]:
    """Argument names of the overloads of ``aten::<op>``, less ``self`` for a method."""
    op = op.replace("linalg.", "linalg_").replace("special.", "special_").replace("fft.", "fft_")
    names = {
        a.name
        for schema in torch._C._jit_get_schemas_for_operator(f"aten::{op}")
        for a in schema.arguments
    }
    if "self" in names:
        names.discard("self")
        names |= set() if is_method else {"input"}
    return names


def _unwrap_chainrule(fn: Any) -> tuple[Any, set[str]]:
    """The function behind chainrule's generic wrappers, and the keywords they add."""
    if getattr(fn, "deprecated_overloads", False):  # ops/deprecated_overloads.py's wrappers
        return _unwrap_chainrule(fn.__wrapped__)
    code = getattr(fn, "__code__", None)
    dense = getattr(fn, "dense_form", None)  # a root function also taking sparse tensors
    if dense is not None:
        return _unwrap_chainrule(dense)
    added = getattr(fn, "torch_keywords", None)  # ops/keywords.py's partial wrappers
    if added is not None and hasattr(fn, "__wrapped__"):
        return fn.__wrapped__, set(added)
    if code is _KEYWORD_WRAPPER:
        return fn.__wrapped__, {"out", "axis", "keepdims"}
    if code is _INPLACE_WRAPPER:  # x.f_(...) forwards its arguments to f(x, ...)
        return _unwrap_chainrule(fn.inplace_of)
    return fn, set()


def chainrule_keyword_names(fn: Any, is_method: bool) -> set[str] | None:
    """The names chainrule's ``fn`` accepts by keyword (``"**"`` for ``**kwargs``).

    A method's first parameter is the tensor itself, whatever its name.
    """
    fn, extra = _unwrap_chainrule(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if is_method and params and params[0].kind != params[0].VAR_POSITIONAL:
        params = params[1:]
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        inner = inspect.getclosurevars(fn).nonlocals.get("fn") if hasattr(fn, "__code__") else None
        if callable(inner):  # a wrapper that forwards its keywords to the function it wraps
            return names | extra | (chainrule_keyword_names(inner, False) or set())
        names.add("**")  # handled by the function itself (checked by hand: flip, to, ...)
    return names | extra


def _public_names(torch_ns: Any, cr_ns: Any, is_class: bool) -> list[str]:
    """Public callables (no classes, modules or properties) in both namespaces."""
    names = []
    for name in sorted(set(dir(torch_ns)) & set(dir(cr_ns))):
        if name.startswith("_"):
            continue
        t_obj = getattr(torch_ns, name, None)
        c_obj = inspect.getattr_static(cr_ns, name, None) if is_class else getattr(cr_ns, name)
        if is_class and isinstance(c_obj, (property, staticmethod, classmethod)):
            continue
        if is_class:
            c_obj = getattr(cr_ns, name)
        if not callable(t_obj) or not callable(c_obj) or isinstance(c_obj, type):
            continue
        if isinstance(t_obj, type) or inspect.ismodule(c_obj):
            continue
        names.append(name)
    return names


def audit() -> list[tuple[str, str, set[str], set[str], set[str]]]:
    """Every compared callable: (namespace, name, torch names, chainrule names, missing)."""
    rows = []
    for ns, (torch_ns, cr_ns, is_class) in NAMESPACES.items():
        for name in _public_names(torch_ns, cr_ns, is_class):
            t_names = torch_keyword_names(getattr(torch_ns, name), name, is_class)
            c_names = chainrule_keyword_names(getattr(cr_ns, name), is_class)
            if t_names is None or c_names is None:
                continue
            missing = set() if "**" in c_names else t_names - c_names
            rows.append((ns, name, t_names, c_names, missing))
    return rows
