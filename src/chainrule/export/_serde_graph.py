"""The graph half of ``cr.export.save``/``load``: nodes and their arguments as the JSON of
torch's ``.pt2`` ``models/model.json`` (``{"as_tensor": {"name": ...}}``, ``{"as_int": 3}``,
...), and back.

Loading never evaluates text: a node's target must be a public function of an allowed
namespace (``chainrule``, ``chainrule.nn.functional``, ``chainrule.linalg``,
``chainrule.special``, ``chainrule.fft``), an :mod:`operator` function, or one of the ATen
ops of torch's archives that map one-to-one onto chainrule functions (:data:`ATEN`);
``call_method`` names must be public Tensor methods; every name must be a Python identifier.
Anything else is a ``NotImplementedError`` naming it.
"""

from __future__ import annotations

import builtins
import importlib
import math
import operator
import re
from typing import Any

from .. import device
from ..autograd.tensor import Tensor
from ..fx.graph import Graph
from ..fx.node import Node, _qualified_name

__all__ = [
    "ATEN",
    "DTYPE_CODES",
    "check_name",
    "decode_module_stack",
    "decode_node",
    "dtype_of_code",
    "encode_node",
    "resolve_target",
]

DTYPE_CODES = {
    "uint8": 1,
    "int8": 2,
    "int16": 3,
    "int32": 4,
    "int64": 5,
    "float16": 6,
    "float32": 7,
    "float64": 8,
    "complex64": 10,
    "complex128": 11,
    "bool": 12,
}
_NAMESPACES = (
    "chainrule",
    "chainrule.nn.functional",
    "chainrule.linalg",
    "chainrule.special",
    "chainrule.fft",
)
# the modules fx prints for torch's (``chainrule.functional.einsum``,
# ``chainrule._C._nn.gelu``) saved as the namespaces that hold the same functions
_SAVED_AS = (
    ("chainrule.functional.", "chainrule."),
    ("chainrule._C._nn.", "chainrule.nn.functional."),
)
_OPERATORS = frozenset(
    "add sub mul truediv floordiv mod pow matmul neg pos abs invert getitem lshift rshift "
    "and_ or_ xor eq ne lt le gt ge".split()
)
# torch's ATen targets whose arguments line up with a chainrule function's
ATEN = {
    "torch.ops.aten.linear.default": "chainrule.nn.functional.linear",
    "torch.ops.aten.relu.default": "chainrule.relu",
    "torch.ops.aten.sigmoid.default": "chainrule.sigmoid",
    "torch.ops.aten.tanh.default": "chainrule.tanh",
    "torch.ops.aten.add.Tensor": "chainrule.add",
    "torch.ops.aten.sub.Tensor": "chainrule.sub",
    "torch.ops.aten.mul.Tensor": "chainrule.mul",
    "torch.ops.aten.div.Tensor": "chainrule.div",
    "torch.ops.aten.matmul.default": "chainrule.matmul",
    "torch.ops.aten.conv2d.default": "chainrule.nn.functional.conv2d",
    "torch.ops.aten.max_pool2d.default": "chainrule.nn.functional.max_pool2d",
    "torch.ops.aten.flatten.using_ints": "chainrule.flatten",
    "torch.ops.aten.softmax.int": "chainrule.softmax",
    "torch.ops.aten.sum.default": "chainrule.sum",
    "torch.ops.aten.t.default": "chainrule.t",
    "torch.ops.aten.reshape.default": "chainrule.reshape",
    "torch.ops.aten.cat.default": "chainrule.cat",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(name: Any, what: str) -> str:
    """``name`` if it is a plain identifier or a dotted path of identifiers and indices
    (``h.0.ln_1.weight``: a ``ModuleList`` entry), else ValueError."""
    atoms = name.split(".") if isinstance(name, str) else [None]
    if not all(isinstance(p, str) and (_IDENT.match(p) or p.isdecimal()) for p in atoms):
        raise ValueError(f"chainrule.export.load: invalid {what} {name!r} in the archive")
    return name


def _target_name(node: Node) -> str:
    if node.op == "call_method":
        return node.target
    name = _qualified_name(node.target)
    for printed, saved in _SAVED_AS:  # as before session 40, whatever fx prints
        if name.startswith(printed):
            name = saved + name[len(printed) :]
    module, _, attr = name.rpartition(".")
    ok = (module == "operator" and attr in _OPERATORS) or (
        module in _NAMESPACES and not attr.startswith("_")
    )
    if name == "builtins.getattr":
        ok = True
    if not ok:
        raise NotImplementedError(
            f"chainrule.export.save: node {node.name} calls {name}, which is not a public "
            f"function of {', '.join(_NAMESPACES)} or operator; it cannot be saved"
        )
    return name


def resolve_target(name: str, op: str) -> Any:
    """The callable (or method name) a saved target names (see the module docstring)."""
    if op == "call_method":
        check_name(name, "method name")
        if name.startswith("_") or not callable(getattr(Tensor, name, None)):
            raise NotImplementedError(f"chainrule.export.load: unsupported Tensor method {name!r}")
        return name
    name = ATEN.get(name, name)
    module, _, attr = name.rpartition(".")
    if name == "builtins.getattr":
        return builtins.getattr
    if module == "operator" and attr in _OPERATORS:
        return getattr(operator, attr)
    if module in _NAMESPACES and _IDENT.match(attr) and not attr.startswith("_"):
        fn = getattr(importlib.import_module(module), attr, None)
        if callable(fn):
            return fn
    raise NotImplementedError(
        f"chainrule.export.load: unsupported operator {name!r} (chainrule loads its own "
        f"functions and the ATen ops {sorted(ATEN)})"
    )


def dtype_of_code(code: Any) -> Any:
    """The chainrule dtype of torch's ScalarType code ``code``."""
    names = {v: k for k, v in DTYPE_CODES.items()}
    if code not in names:
        raise NotImplementedError(f"chainrule.export.load: unsupported dtype code {code!r}")
    return getattr(importlib.import_module("chainrule"), names[code])


def encode_arg(a: Any) -> Any:
    """One argument as torch's Argument JSON (with chainrule's ``as_list``/``as_slice``...
    for what torch's schema has no form for)."""
    if isinstance(a, Node):
        if isinstance(a.meta.get("val"), Tensor) or "tensor_json" in a.meta:
            return {"as_tensor": {"name": a.name}}
        return {"as_sym_int": {"as_name": a.name}}
    if a is None:
        return {"as_none": True}
    if isinstance(a, bool):
        return {"as_bool": a}
    if isinstance(a, int):
        return {"as_int": a}
    if isinstance(a, float):
        return {"as_float": a if math.isfinite(a) else repr(a)}
    if isinstance(a, str):
        return {"as_string": a}
    if a is Ellipsis:
        return {"as_ellipsis": True}
    if isinstance(a, slice):
        return {"as_slice": [encode_arg(a.start), encode_arg(a.stop), encode_arg(a.step)]}
    if isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        if a and all(isinstance(x, int) and not isinstance(x, bool) for x in a):
            return {"as_ints": list(a)} if isinstance(a, list) else {"as_int_tuple": list(a)}
        return {"as_list" if isinstance(a, list) else "as_tuple": [encode_arg(x) for x in a]}
    name = str(a).rsplit(".", 1)[-1]
    if type(a).__name__ == "dtype" and name in DTYPE_CODES:
        return {"as_scalar_type": DTYPE_CODES[name]}
    if isinstance(a, device):
        return {"as_device": {"type": a.type, "index": a.index}}
    raise NotImplementedError(
        f"chainrule.export.save: an argument of type {type(a).__name__} ({a!r}) cannot be saved"
    )


def decode_arg(a: Any, env: dict[str, Node]) -> Any:
    """The argument ``encode_arg`` wrote (or torch's forms of it)."""
    if not isinstance(a, dict) or len(a) != 1:
        raise ValueError(f"chainrule.export.load: malformed argument {a!r}")
    ((kind, v),) = a.items()
    if kind == "as_tensor":
        return env[check_name(v["name"], "value name")]
    if kind == "as_sym_int" and isinstance(v, dict) and "as_name" in v:
        return env[check_name(v["as_name"], "value name")]
    if kind == "as_tensors":
        return [env[check_name(t["name"], "value name")] for t in v]
    if kind in ("as_int", "as_bool", "as_string") or (
        kind == "as_float" and not isinstance(v, str)
    ):
        expected = {"as_int": int, "as_bool": bool, "as_string": str, "as_float": (int, float)}[
            kind
        ]
        if not isinstance(v, expected):
            raise ValueError(f"chainrule.export.load: malformed {kind} {v!r}")
        return float(v) if kind == "as_float" else v
    if kind == "as_float" and v in ("inf", "-inf", "nan"):
        return float(v)
    if kind == "as_none":
        return None
    if kind == "as_ellipsis":
        return Ellipsis
    if kind in ("as_ints", "as_int_tuple", "as_floats", "as_bools"):
        if not isinstance(v, list):
            raise ValueError(f"chainrule.export.load: malformed {kind} {v!r}")
        return tuple(v) if kind == "as_int_tuple" else list(v)
    if kind in ("as_list", "as_tuple"):
        items = [decode_arg(x, env) for x in v]
        return items if kind == "as_list" else tuple(items)
    if kind == "as_slice":
        return slice(*(decode_arg(x, env) for x in v))
    if kind == "as_scalar_type":
        return dtype_of_code(v)
    if kind == "as_device":
        return device(v["type"], v["index"])
    raise NotImplementedError(f"chainrule.export.load: unsupported argument kind {kind!r}")


def encode_node(node: Node) -> dict[str, Any]:
    """A ``call_function``/``call_method`` node as torch's node JSON (``op`` added for
    methods)."""
    inputs = [{"name": f"arg{i}", "arg": encode_arg(a), "kind": 1} for i, a in enumerate(node.args)]
    inputs += [{"name": k, "arg": encode_arg(v), "kind": 2} for k, v in node.kwargs.items()]
    tensor = isinstance(node.meta.get("val"), Tensor) or "tensor_json" in node.meta
    out = {"as_tensor": {"name": node.name}} if tensor else {"as_name": node.name}
    entry = {"target": _target_name(node), "inputs": inputs, "outputs": [out], "name": node.name}
    if node.op == "call_method":
        entry["op"] = "call_method"
    stack = node.meta.get("nn_module_stack")
    if stack:  # torch's text: key,path,class;key,path,class (outermost first)
        entry["metadata"] = {
            "nn_module_stack": ";".join(f"{k},{p},{c}" for k, (p, c) in stack.items())
        }
    return entry


def decode_module_stack(text: Any) -> dict[str, tuple[str, str]]:
    """A node's ``nn_module_stack`` from torch's metadata text."""
    if not isinstance(text, str) or not text:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for item in text.split(";"):
        parts = item.split(",")
        if len(parts) != 3:
            raise ValueError(f"chainrule.export.load: malformed nn_module_stack {text!r}")
        out[parts[0]] = (parts[1], parts[2])
    return out


def decode_node(entry: dict[str, Any], graph: Graph, env: dict[str, Node]) -> Node:
    """Add the node ``entry`` describes to ``graph`` (its inputs looked up in ``env``)."""
    op = entry.get("op", "call_function")
    if op not in ("call_function", "call_method"):
        raise NotImplementedError(f"chainrule.export.load: unsupported node op {op!r}")
    target = resolve_target(entry["target"], op)
    args, kwargs = [], {}
    for inp in entry["inputs"]:
        value = decode_arg(inp["arg"], env)
        if inp.get("kind", 1) == 2:
            kwargs[check_name(inp["name"], "keyword")] = value
        else:
            args.append(value)
    outputs = entry.get("outputs") or [{}]
    first = outputs[0]
    name = entry.get("name") or first.get("as_tensor", {}).get("name")
    if len(outputs) != 1 or name is None:
        raise NotImplementedError(
            f"chainrule.export.load: node {entry['target']} with {len(outputs)} outputs is not "
            "supported"
        )
    if target is builtins.getattr and (len(args) != 2 or not str(args[1])[:1].isalpha()):
        raise ValueError(f"chainrule.export.load: getattr of {args[1:]!r} is not allowed")
    node = graph.create_node(op, target, tuple(args), kwargs, check_name(name, "node name"))
    stack = (entry.get("metadata") or {}).get("nn_module_stack")
    if stack is not None:
        node.meta["nn_module_stack"] = decode_module_stack(stack)
    env[name] = node
    return node
