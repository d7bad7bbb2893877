"""``cr.export.load``: read a ``.pt2`` archive written by :func:`chainrule.export.save` or by
torch (see :mod:`._serde` for the layout and the safety rules): JSON and raw bytes only,
every size checked against the archive before anything is allocated, every target
resolved through an allow-list (:mod:`._serde_graph`)."""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from typing import Any

from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..fx.passes.shape_prop import TensorMetadata
from ..nn.parameter import Parameter
from ..utils._pytree import TreeSpec, tree_unflatten
from ._derived import DerivedSymbol, linear_text
from ._guard_build import build_guards
from ._serde import _read_entry, _read_tensor
from ._serde_graph import check_name, decode_arg, decode_node, dtype_of_code, resolve_target
from .dynamic_shapes import Symbol, ValueRanges
from .exported_program import (
    CallSpec,
    ExportedProgram,
    ModuleCallEntry,
    ModuleCallSignature,
)
from .graph_signature import (
    ConstantArgument,
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)

__all__ = ["load"]

_SYMBOL = re.compile(r"^Symbol\('([A-Za-z_][A-Za-z0-9_]*)'")
_SREPR = re.compile(
    r"^(?:Add\((?:Integer\((?P<o1>-?\d+)\), )?)?(?:Mul\(Integer\((?P<coeff>\d+)\), )?"
    r"Symbol\('(?P<name>[A-Za-z_][A-Za-z0-9_]*)'[^)]*\)\)?(?:, Integer\((?P<o2>-?\d+)\)\))?$"
)
_LINEAR = re.compile(r"^(?:(\d+)\*)?([A-Za-z_][A-Za-z0-9_]*)(?: ([+-]) (\d+))?$")


def _json(z: zipfile.ZipFile, path: str) -> Any:
    try:
        return json.loads(_read_entry(z, path))
    except json.JSONDecodeError as e:
        raise ValueError(f"chainrule.export.load: {path} is not valid JSON ({e})") from None


def _treespec(obj: Any) -> TreeSpec:
    if not isinstance(obj, dict):
        raise ValueError(f"chainrule.export.load: malformed tree spec {obj!r}")
    kind = obj.get("type")
    children = [_treespec(c) for c in obj.get("children_spec", [])]
    if kind is None:
        return TreeSpec(None, None, [])
    types = {"builtins.tuple": tuple, "builtins.list": list, "builtins.dict": dict}
    if kind not in types:
        raise NotImplementedError(
            f"chainrule.export.load: inputs/outputs of type {kind} are not supported"
        )
    context = json.loads(obj["context"]) if kind == "builtins.dict" else None
    if kind == "builtins.dict":
        if not isinstance(context, list) or len(context) != len(children):
            raise ValueError(f"chainrule.export.load: malformed dict spec context {context!r}")
        context = [check_name(k, "keyword") for k in context]
    return TreeSpec(types[kind], context, children)


def _spec_field(sig: dict[str, Any], key: str) -> TreeSpec | None:
    text = sig.get(key)
    if not isinstance(text, str):
        return None
    data = json.loads(text)
    if not isinstance(data, list) or len(data) != 2:
        raise ValueError(f"chainrule.export.load: malformed {key}")
    return _treespec(data[1])


def _size(s: dict[str, Any]) -> tuple[Any, str | None]:
    """A saved size: (int, None) or (hint, symbol name or expression)."""
    if "as_int" in s:
        return s["as_int"], None
    expr = s.get("as_expr", {})
    text = str(expr.get("expr_str", ""))
    m = _SYMBOL.match(text)
    return expr.get("hint", {}).get("as_int"), (m[1] if m else _sympy_linear(text))


def _sympy_linear(text: str) -> str:
    """torch's sympy form of a derived size (``Add(Mul(Integer(2), Symbol('s77', ...)),
    Integer(-1))``) as its printed form (``2*s77 - 1``); other text as it is."""
    m = _SREPR.match(text)
    if m is None:
        return text
    offset = int(m["o1"] or m["o2"] or 0)
    return linear_text(m["name"], int(m["coeff"] or 1), offset)


def _tensor_metadata(meta: dict[str, Any]) -> TensorMetadata:
    shape = tuple(sym if sym is not None else v for v, sym in map(_size, meta.get("sizes", [])))
    return TensorMetadata(
        shape,
        dtype_of_code(meta.get("dtype")),
        bool(meta.get("requires_grad")),
        (),
        None,
        False,
        {},
    )


def load(
    f: Any, *, extra_files: dict | None = None, expected_opset_version: Any = None
) -> ExportedProgram:
    """``torch.export.load``: the program saved in ``f`` (a path or a readable binary
    file). Archives from torch load when their ops are in the supported ATen set; other
    contents raise NotImplementedError naming what is unsupported, malformed ones
    ValueError."""
    if extra_files or expected_opset_version:
        raise NotImplementedError(
            "chainrule.export.load: extra_files and expected_opset_version are not supported"
        )
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _load(fh)
    return _load(f)


def _load(fh: Any) -> ExportedProgram:
    try:
        z = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as e:
        raise ValueError(f"chainrule.export.load: not a .pt2 zip archive ({e})") from None
    with z:
        fmt = [n for n in z.namelist() if n.endswith("/archive_format") and n.count("/") == 1]
        if not fmt:
            raise ValueError("chainrule.export.load: the archive has no archive_format entry")
        root = fmt[0].rsplit("archive_format", 1)[0]
        if _read_entry(z, fmt[0], None).strip() != b"pt2":
            raise NotImplementedError(
                "chainrule.export.load: only the 'pt2' archive format is supported"
            )
        models = [n for n in z.namelist() if n.startswith(root + "models/") and n.endswith(".json")]
        if models != [root + "models/model.json"]:
            raise NotImplementedError(
                f"chainrule.export.load: archives with models {models} are not supported "
                "(only one, models/model.json)"
            )
        state = _tensors(z, root, "weights", "model_weights_config.json")
        consts = _tensors(z, root, "constants", "model_constants_config.json")
        model = _json(z, root + "models/model.json")
        sample = _sample_inputs(z, root)
    return _program(model, state, consts, sample)


def _tensors(z: zipfile.ZipFile, root: str, folder: str, config: str) -> dict[str, Any]:
    path = f"{root}data/{folder}/{config}"
    if path not in z.namelist():
        return {}
    out = {}
    for name, entry in _json(z, path).get("config", {}).items():
        check_name(name, "state name")
        if entry.get("use_pickle"):
            raise NotImplementedError(
                f"chainrule.export.load: {name} is stored pickled; pickled tensors are never loaded"
            )
        file = check_name(entry.get("path_name"), "tensor file")
        t = _read_tensor(z, f"{root}data/{folder}/{file}", entry.get("tensor_meta", {}))
        out[name] = (
            Parameter(t, requires_grad=bool(entry["tensor_meta"].get("requires_grad", True)))
            if entry.get("is_param")
            else t
        )
    return out


def _sample_inputs(z: zipfile.ZipFile, root: str) -> tuple[list[Any], bool] | None:
    path = f"{root}data/sample_inputs/chainrule_inputs.json"
    if path not in z.namelist():
        return None  # torch's sample inputs are pickled: not read
    values = []
    entries = _json(z, path)
    for i in range(len(entries)):
        e = entries[str(i)]
        if "value" in e:
            values.append(decode_arg(e["value"], {}))
        else:
            file = check_name(e.get("path_name"), "tensor file")
            values.append(
                _read_tensor(z, f"{root}data/sample_inputs/{file}", e.get("tensor_meta", {}))
            )
    return values, True


def _program(
    model: dict[str, Any], state: dict[str, Any], consts: dict[str, Any], sample: Any
) -> ExportedProgram:
    gm_json = model.get("graph_module", {})
    gj = gm_json.get("graph", {})
    nodes = gj.get("nodes", [])
    bad = sorted({n.get("target") for n in nodes if not _resolvable(n)})
    if bad:
        raise NotImplementedError(
            f"chainrule.export.load: unsupported operators in the archive: {bad}"
        )
    graph, env = Graph(), {}
    tvals = gj.get("tensor_values", {})
    for inp in gj.get("inputs", []):
        name = check_name(
            inp.get("as_tensor", {}).get("name") if "as_tensor" in inp else None, "input name"
        )
        env[name] = graph.placeholder(name)
        env[name].name = name  # `input` as written, not `input_1`: as export names it
    for entry in nodes:
        decode_node(entry, graph, env)
    for name, node in env.items():
        if name in tvals:
            node.meta["tensor_meta"] = _tensor_metadata(tvals[name])
            node.meta["tensor_json"] = tvals[name]
    outputs = tuple(decode_arg(a, env) for a in gj.get("outputs", []))
    graph.output(outputs)
    sig_json = gm_json.get("signature", {})
    in_specs = [_input_spec(s) for s in sig_json.get("input_specs", [])]
    out_specs = [_output_spec(s) for s in sig_json.get("output_specs", [])]
    names = [n for n in env if env[n].op == "placeholder"]
    if [s.arg.name for s in in_specs] != names:
        raise ValueError("chainrule.export.load: the signature does not match the graph's inputs")
    state_dict = {
        s.target: state[s.target]
        for s in in_specs
        if s.kind in (InputKind.PARAMETER,) or (s.kind is InputKind.BUFFER and s.persistent)
    }
    constants = {k: v for k, v in consts.items()}
    symbols: dict[str, Any] = {}
    bounds = {}
    for k, v in model.get("range_constraints", {}).items():
        hi = v.get("max_val")
        hi = math.inf if hi is None or (isinstance(hi, (int, float)) and hi > 2**62) else int(hi)
        bounds[k] = (int(v.get("min_val", 0)), hi)
    for k, (lo, hi) in bounds.items():  # the roots first: derived sizes refer to them
        m = _LINEAR.match(k)
        if m is None or not (m[1] or m[3]):
            symbols[k] = Symbol(check_name(k, "symbol"), None, lo, hi, 0)
            symbols[k].alt = 0  # dynamic (the guards only ask whether it is)
    for k in bounds:
        _symbol_of(k, symbols)
    users = [s for s in in_specs if s.kind is InputKind.USER_INPUT]
    layout, values = _layout(users, tvals, symbols)
    ranges = {symbols[k]: ValueRanges(*bounds[k]) for k in bounds}
    guards = build_guards(layout, values)
    mcg = gm_json.get("module_call_graph") or [{}]
    sig = (mcg[0] or {}).get("signature") or {}
    in_spec = _spec_field(sig, "in_spec") or TreeSpec(
        tuple,
        None,
        [TreeSpec(tuple, None, [TreeSpec(None, None, [])] * len(users)), TreeSpec(dict, [], [])],
    )
    out_spec = _spec_field(sig, "out_spec") or TreeSpec(
        tuple, None, [TreeSpec(None, None, [])] * len(outputs)
    )
    example = None
    if sample is not None:
        values = sample[0]
        if len(values) != in_spec.num_leaves:
            raise ValueError(
                f"chainrule.export.load: {len(values)} sample inputs for {in_spec.num_leaves} "
                "inputs in the archive"
            )
        example = tree_unflatten(values, in_spec)
    return ExportedProgram(
        GraphModule({}, graph, "GraphModule"),
        ExportGraphSignature(in_specs, out_specs),
        state_dict,
        constants,
        ranges,
        example,
        CallSpec(in_spec, out_spec),
        guards,
        None,
        _module_call_graph(mcg, in_spec, out_spec, users),
    )


def _module_call_graph(
    entries: list[Any], in_spec: Any, out_spec: Any, users: list[InputSpec]
) -> list[ModuleCallEntry]:
    """The root's entry and the module paths of the archive's ``module_call_graph`` (the
    order :func:`~chainrule.export.unflatten` gives the modules); the signatures of
    preserved modules are refused (NotImplementedError), not dropped."""
    kept = [e.get("fqn") for e in entries[1:] if isinstance(e, dict) and e.get("signature")]
    if kept:
        raise NotImplementedError(
            "chainrule.export.load: the archive keeps module call signatures "
            f"(preserve_module_call_signature: {kept}), which chainrule does not read"
        )
    names = [s.arg.name for s in users]
    root = ModuleCallEntry("", ModuleCallSignature([], [], in_spec, out_spec, names))
    fqns = [e.get("fqn") for e in entries[1:] if isinstance(e, dict)]
    return [root, *(ModuleCallEntry(f, None) for f in fqns if isinstance(f, str) and f)]


def _resolvable(entry: dict[str, Any]) -> bool:
    try:
        resolve_target(entry.get("target"), entry.get("op", "call_function"))
    except (NotImplementedError, ValueError):
        return False
    return True


def _input_spec(s: dict[str, Any]) -> InputSpec:
    ((kind, v),) = s.items()
    if kind == "parameter":
        return InputSpec(
            InputKind.PARAMETER,
            TensorArgument(check_name(v["arg"]["name"], "input")),
            check_name(v["parameter_name"], "parameter"),
        )
    if kind == "buffer":
        return InputSpec(
            InputKind.BUFFER,
            TensorArgument(check_name(v["arg"]["name"], "input")),
            check_name(v["buffer_name"], "buffer"),
            bool(v.get("persistent", True)),
        )
    if kind == "tensor_constant":
        return InputSpec(
            InputKind.CONSTANT_TENSOR,
            TensorArgument(check_name(v["arg"]["name"], "input")),
            check_name(v["tensor_constant_name"], "constant"),
        )
    if kind == "user_input":
        arg = v["arg"]
        if "as_tensor" in arg:
            return InputSpec(
                InputKind.USER_INPUT,
                TensorArgument(check_name(arg["as_tensor"]["name"], "input")),
                None,
            )
        if "as_constant" in arg:
            c = arg["as_constant"]
            return InputSpec(
                InputKind.USER_INPUT,
                ConstantArgument(check_name(c["name"], "input"), decode_arg(c["value"], {})),
                None,
            )
    raise NotImplementedError(f"chainrule.export.load: input spec {kind!r} ({v}) is not supported")


def _output_spec(s: dict[str, Any]) -> OutputSpec:
    ((kind, v),) = s.items()
    if kind != "user_output":
        raise NotImplementedError(f"chainrule.export.load: output spec {kind!r} is not supported")
    arg = v["arg"]
    name = arg.get("as_tensor", {}).get("name") or arg.get("as_sym_int", {}).get("as_name")
    if name is None:
        return OutputSpec(OutputKind.USER_OUTPUT, ConstantArgument("", decode_arg(arg, {})), None)
    return OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(check_name(name, "output")), None)


def _symbol_of(text: str, symbols: dict[str, Any]) -> Any:
    """The symbol (``s0``) or derived size (``2*s0 + 1``) a saved size names."""
    if text not in symbols:
        m = _LINEAR.match(text)
        if m is None or m[2] not in symbols:
            raise NotImplementedError(
                f"chainrule.export.load: unsupported size expression {text!r} (chainrule reads "
                "symbols and increasing linear functions of one symbol)"
            )
        coeff = int(m[1] or 1)
        offset = int(m[4] or 0) * (-1 if m[3] == "-" else 1)
        symbols[text] = DerivedSymbol(symbols[m[2]], coeff, offset)
    return symbols[text]


def _layout(
    users: list[InputSpec], tvals: dict[str, Any], symbols: dict[str, Any]
) -> tuple[list[Any], list[Any]]:
    """Per user input the symbol of each dimension (None: static) and its example sizes
    (or its constant), as ``build_guards`` reads them."""
    layout: list[Any] = []
    values: list[Any] = []
    for spec in users:
        if isinstance(spec.arg, ConstantArgument):
            layout.append(None)
            values.append(spec.arg.value)
            continue
        sizes = [_size(s) for s in tvals.get(spec.arg.name, {}).get("sizes", [])]
        layout.append([None if sym is None else _symbol_of(sym, symbols) for _, sym in sizes])
        values.append(tuple(value for value, _ in sizes))
    return layout, values
