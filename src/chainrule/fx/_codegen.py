"""Python source for a :class:`~chainrule.fx.Graph` (what ``GraphModule.code`` shows and
runs), in the shape of ``torch.fx``'s: one line per node, operators written infix, each
value released (``x = None``) after its last use, ``self.<path>`` for modules and attributes.
"""

from __future__ import annotations

import builtins
import keyword
import math
import operator
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from .node import Node, _qualified_name

__all__ = ["PythonCode", "python_code"]

_BINARY = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.floordiv: "//",
    operator.mod: "%",
    operator.pow: "**",
    operator.matmul: "@",
    operator.lshift: "<<",
    operator.rshift: ">>",
    operator.and_: "&",
    operator.or_: "|",
    operator.xor: "^",
    operator.eq: "==",
    operator.ne: "!=",
    operator.lt: "<",
    operator.le: "<=",
    operator.gt: ">",
    operator.ge: ">=",
}
_UNARY = {operator.neg: "-", operator.pos: "+", operator.invert: "~", operator.not_: "not "}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class PythonCode:
    """``torch.fx.graph.PythonCode``: the generated ``src`` and the ``globals`` it runs with."""

    src: str
    globals: dict[str, Any] = field(default_factory=dict)


class _Globals:
    """The names the generated code reads: modules it spells out, and objects registered
    under a fresh name when they have no importable spelling."""

    def __init__(self, used: set[str]) -> None:
        self.values: dict[str, Any] = {
            "chainrule": sys.modules["chainrule"],
            "operator": operator,
            "builtins": builtins,
            "math": math,
            "inf": math.inf,
            "nan": math.nan,
            "NoneType": type(None),
        }
        self.used = used
        # nodes whose name would shadow a builtin or keyword (a placeholder ``input`` export
        # names as the argument): the code's name for them, ``input_1``, as torch's
        self.node_names: dict[Node, str] = {}

    def name(self, node: Node) -> str:
        """How the code spells ``node``'s value."""
        return self.node_names.get(node, node.name)

    def add(self, hint: str, obj: Any) -> str:
        for name, value in self.values.items():
            if value is obj and _IDENT.match(name):
                return name
        base = re.sub(r"[^0-9a-zA-Z_]+", "_", hint) or "_obj"
        if base[0].isdigit():
            base = f"_{base}"
        name, i = base, 0
        while name in self.values or name in self.used or keyword.iskeyword(name):
            i += 1
            name = f"{base}_{i}"
        self.values[name] = obj
        return name

    def spell_callable(self, fn: Any) -> str:
        qual = _qualified_name(fn)
        if _resolves(qual, fn):
            return qual
        return self.add(getattr(fn, "__name__", "fn"), fn)


def _resolves(path: str, obj: Any) -> bool:
    head, _, rest = path.partition(".")
    if head not in ("chainrule", "operator", "builtins", "math") or not rest:
        return False
    value: Any = sys.modules.get(head)
    for part in rest.split("."):
        if not _IDENT.match(part):
            return False
        value = getattr(value, part, None)
    return value is obj


def _spell_target(root: str, target: str) -> str:
    """``self.layer.0`` as ``getattr(self.layer, "0")``: attribute paths as valid Python."""
    out = root
    for part in target.split("."):
        out = (
            f"{out}.{part}"
            if _IDENT.match(part) and not keyword.iskeyword(part)
            else (f'getattr({out}, "{part}")')
        )
    return out


def _spell(arg: Any, g: _Globals) -> str:
    if isinstance(arg, Node):
        return g.name(arg)
    if isinstance(arg, tuple) and hasattr(arg, "_fields"):
        cls = g.add(type(arg).__name__, type(arg))
        return f"{cls}(" + ", ".join(_spell(a, g) for a in arg) + ")"
    if isinstance(arg, tuple):
        inner = ", ".join(_spell(a, g) for a in arg)
        return f"({inner},)" if len(arg) == 1 else f"({inner})"
    if isinstance(arg, list):
        return "[" + ", ".join(_spell(a, g) for a in arg) + "]"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{_spell(k, g)}: {_spell(v, g)}" for k, v in arg.items()) + "}"
    if isinstance(arg, slice):
        return f"slice({_spell(arg.start, g)}, {_spell(arg.stop, g)}, {_spell(arg.step, g)})"
    if arg is None or arg is Ellipsis or isinstance(arg, (bool, int, str, bytes)):
        return repr(arg)
    if isinstance(arg, float) and not math.isfinite(arg):
        return repr(arg)  # inf, -inf, nan: names in the code's globals, as torch writes them
    if isinstance(arg, (float, complex)):
        text = repr(arg)
        return text if "inf" not in text and "nan" not in text else g.add("_const", arg)
    text = repr(arg).replace("torch.", "chainrule.")
    if _resolves(text, arg):
        return text
    if isinstance(arg, type) or callable(arg):
        return g.spell_callable(arg)
    return g.add(f"_{type(arg).__name__.lower()}", arg)


def _call(node: Node, g: _Globals) -> str:
    args = [_spell(a, g) for a in node.args]
    kwargs = [f"{k} = {_spell(v, g)}" for k, v in node.kwargs.items()]
    target = node.target
    if node.op == "call_method":
        return f"{args[0]}.{target}({', '.join(args[1:] + kwargs)})"
    if node.op == "call_module":
        return f"{_spell_target('self', target)}({', '.join(args + kwargs)})"
    if node.op == "get_attr":
        return _spell_target("self", target)
    if not kwargs:
        if target in _BINARY and len(args) == 2:
            return f"{args[0]} {_BINARY[target]} {args[1]}"
        if target in _UNARY and len(args) == 1:
            return f"{_UNARY[target]}{args[0]}"
        if target is operator.getitem and len(args) == 2:
            return f"{args[0]}[{args[1]}]"
        attr = node.args[1] if len(node.args) == 2 else None
        if target is builtins.getattr and isinstance(attr, str) and _IDENT.match(attr):
            return f"{args[0]}.{attr}"
    return f"{g.spell_callable(target)}({', '.join(args + kwargs)})"


_DTYPE_ABBR = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "bfloat16": "bf16",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint8": "u8",
    "bool": "b8",
    "complex64": "c64",
    "complex128": "c128",
}


def _annotation(node: Node) -> str:
    """``: "f32[2, 3]"`` for a node whose ``meta["tensor_meta"]`` describes one tensor (as a
    shape-propagation pass leaves it), else nothing: torch's readable annotations."""
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "dtype") or not hasattr(meta, "shape"):
        return ""
    name = str(meta.dtype).rsplit(".", 1)[-1]
    sizes = ", ".join(str(s) for s in meta.shape)
    return f': "{_DTYPE_ABBR.get(name, name)}[{sizes}]"'


def python_code(graph: Any, root_module: str = "self", annotate: bool = False) -> PythonCode:
    """The source of ``forward(self, <placeholders>)`` for ``graph`` and its globals;
    ``annotate`` adds torch's readable shape annotations (``x: "f32[2, 4]"``) where shape
    propagation left them."""
    nodes = list(graph.nodes)
    g = _Globals({n.name for n in nodes})
    last_use: dict[Node, Node] = {}
    for node in nodes:
        for used in node.all_input_nodes:
            last_use[used] = node
    freed: dict[Node, list[Node]] = {}
    for node in nodes:  # released in the order the node reads them, as torch's
        freed[node] = [n for n in node.all_input_nodes if last_use[n] is node]
    taken = {n.name for n in nodes} | set(g.values)
    for node in nodes:
        if keyword.iskeyword(node.name) or hasattr(builtins, node.name):
            i = 1
            while f"{node.name}_{i}" in taken:
                i += 1
            g.node_names[node] = f"{node.name}_{i}"
            taken.add(g.node_names[node])
    params: list[str] = []
    body: list[str] = []
    names = {n.name for n in nodes}
    taken_params: set[str] = set()
    for node in nodes:
        if node.op == "placeholder":
            # the argument is named as the input (its target), as torch's: ``def
            # forward(self, input)``, then ``input_1 = input`` where the node is named apart
            raw = node.target.lstrip("*")
            stars = node.target[: len(node.target) - len(raw)]
            if raw in taken_params or (raw in names and raw != node.name):
                raw = g.name(node)  # two placeholders of one target: torch's code breaks
            taken_params.add(raw)
            note = _annotation(node) if annotate else ""
            default = f" = {_spell(node.args[0], g)}" if node.args and not stars else ""
            params.append(f"{stars}{raw}{note}{default}")
            if raw != g.name(node):
                body.append(f"{g.name(node)} = {raw}")
            continue
        if node.op == "output":
            body.append(f"return {_spell(node.args[0], g)}")
            continue
        note = _annotation(node) if annotate else ""
        line = f"{g.name(node)}{note} = {_call(node, g)}"
        released = [g.name(n) for n in freed.get(node, [])]
        if not node.users:
            released.append(g.name(node))
        if released:
            line += ";  " + " = ".join(released) + " = None"
        body.append(line)
    if not any(n.op == "output" for n in nodes):
        body.append("pass")
    signature = ", ".join([root_module, *params])
    src = f"\n\n\ndef forward({signature}):\n" + "".join(f"    {b}\n" for b in body) + "    "
    return PythonCode(src, dict(g.values))
