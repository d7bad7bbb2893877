"""``cr.export.export`` (``torch.export.export``): trace a module on example inputs into an
:class:`~chainrule.export.ExportedProgram`.

The module is traced by :class:`~chainrule.export._trace.ExportTracer` (``cr.fx`` with
real values beside the proxies), then the graph is *lifted*: every ``get_attr`` of a
parameter, buffer or constant becomes a placeholder in front of the user's inputs, named
as torch's (``p_<fqn>``, ``b_<fqn>``, ``c_<name>``), and recorded in the graph signature.
The call checks (``Guard failed: ...``) of the program's module come from the example
sizes and ``dynamic_shapes`` (:mod:`.dynamic_shapes`).
"""

from __future__ import annotations

from typing import Any

from .. import nn
from ..autograd.tensor import Tensor
from ..creation import arange
from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..fx.proxy import Proxy
from ..utils._pytree import tree_flatten, tree_unflatten
from ._errors import UserError, with_suffix
from ._guard_build import build_guards, range_constraints
from ._inputs import flatten_inputs, input_names, leaf_specs
from ._trace import OPAQUE_LAYERS, ExportTracer, lookup
from .dynamic_shapes import ShapesCollection, Symbol, resolve
from .exported_program import (
    CallSpec,
    ExportedProgram,
    ModuleCallEntry,
    ModuleCallSignature,
    tensor_meta,
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

__all__ = ["export"]


def _resized(value: Any, dims: list[Symbol | None] | None) -> Any:
    """``value`` with each dynamic dimension resized to its symbol's ``alt`` size."""
    if dims is None:
        return value
    out = value.detach()
    for d, sym in enumerate(dims):
        if sym is not None and sym.alt is not None:
            out = out.index_select(d, arange(sym.alt) % sym.hint)
    return out


def _sym_shape(val: Tensor, val2: Any, symbols: list[Symbol]) -> tuple:
    """The sizes of ``val`` with those that follow a symbol written as one (``s0``,
    ``2*s0``, ``s0 + 1``)."""
    if not isinstance(val2, Tensor) or val2.dim() != val.dim():
        return tuple(int(s) for s in val.shape)
    out: list[Any] = []
    for a, b in zip(val.shape, val2.shape, strict=True):
        a, b = int(a), int(b)
        out.append(a if a == b else _expr(a, b, symbols))
    return tuple(out)


def _expr(a: int, b: int, symbols: list[Symbol]) -> Any:
    for s in symbols:
        if (s.hint, s.alt) == (a, b):
            return s.name
    for s in symbols:
        if s.alt is None or (b - a) % (s.alt - s.hint):
            continue
        k = (b - a) // (s.alt - s.hint)
        c = a - k * s.hint
        term = s.name if k == 1 else f"{k}*{s.name}"
        return term if c == 0 else f"{term} + {c}" if c > 0 else f"{term} - {-c}"
    return a


def _trace(
    mod: nn.Module,
    names: list[str],
    values: list[Any],
    layout: list,
    symbols: list[Symbol],
    in_spec: Any,
    preserved: tuple[str, ...],
) -> tuple[ExportTracer, Graph, Any]:
    """Trace ``mod``; a ``Dim.AUTO`` size the code fixes makes the trace start again with
    it static."""

    def call(root: nn.Module, inputs: list[Any]) -> Any:
        args, kwargs = tree_unflatten(inputs, in_spec)
        return root(*args, **kwargs)

    while True:
        tracer = ExportTracer(symbols, preserved)
        alts = [_resized(v, dims) for v, dims in zip(values, layout, strict=True)]
        try:
            graph, out_spec = tracer.trace_export(mod, names, values, call, alts)
            kept = {  # a preserved module's outputs stay, used or not, as torch's
                leaf.node
                for _, _, outs, _ in tracer.signatures.values()
                for leaf in outs
                if isinstance(leaf, Proxy)
            }
            # size queries of shape checks that were answered
            graph.eliminate_dead_code(lambda n, kept=kept: n.is_impure() or n in kept)
            return tracer, graph, out_spec
        except UserError:
            loose = [s for s in symbols if not s.strict and s.alt is not None]
            if not loose:
                raise
            for s in loose:  # Dim.AUTO: the code fixes the size, so it is static
                s.alt = None


def export(
    mod: nn.Module,
    args: tuple,
    kwargs: dict | None = None,
    *,
    dynamic_shapes: Any = None,
    strict: bool = False,
    preserve_module_call_signature: tuple = (),
) -> ExportedProgram:
    """``torch.export.export``: trace ``mod`` on ``args``/``kwargs`` into an
    :class:`ExportedProgram` (see the module docstring). Inputs are tensors, Python
    constants (specialized, checked at call time) or tuples, lists and dicts of them (one
    placeholder per leaf, named as torch's: ``xs_0``, ``d_a``); ``dynamic_shapes`` (a dict
    by input name or a tuple over the inputs, each entry shaped as its input, a tensor's
    ``{dim: Dim}`` or a tuple of dims; ``2 * dim`` and ``dim + 1`` are derived dims) marks
    sizes that may vary. ``strict`` traces the same way (chainrule has no bytecode tracer
    to be strict with). ``preserve_module_call_signature`` names submodules (``"sub"``)
    whose calls' flattened inputs, outputs and pytree specs are kept in the program's
    ``module_call_graph`` (``sub``, ``sub@1``...), for :func:`unflatten`.

    Raises:
        ValueError / UserError: ``mod`` not a module, ``args`` not a tuple, a malformed
            ``dynamic_shapes`` or a dynamic size the code fixes.
        GuardOnDataDependentSymNode: Python control flow on tensor values.
        AttributeError: a ``preserve_module_call_signature`` path that is not a
            submodule (as torch's).
        AssertionError: a preserved module called twice with differently structured
            inputs or outputs (as torch's).
        NotImplementedError: an input leaf that is not a tensor or a Python constant.
    """
    if not isinstance(mod, nn.Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got {type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(
            with_suffix(
                f"Expecting `args` to be a tuple of example positional inputs, got {type(args)}"
            )
        )
    if kwargs is not None and not isinstance(kwargs, dict):
        raise UserError(with_suffix(f"Expecting `kwargs` to be a dict, got {type(kwargs)}"))
    if not isinstance(strict, bool):
        raise TypeError(f"export: strict must be a bool, got {type(strict).__name__}")
    preserved = tuple(preserve_module_call_signature)
    for fqn in preserved:  # torch looks each one up on the module
        if not isinstance(fqn, str):
            raise TypeError(
                "export: preserve_module_call_signature takes module paths (str), got "
                f"{type(fqn).__name__}"
            )
        owner, _, attr = fqn.rpartition(".")
        getattr(mod.get_submodule(owner) if owner else mod, attr)
    if isinstance(mod, OPAQUE_LAYERS) and not isinstance(mod, nn.RNNBase):
        raise NotImplementedError(
            f"export: a bare {type(mod).__name__} cannot be exported (chainrule records it as "
            "one call); export a module that holds it"
        )
    kwargs = dict(kwargs or {})
    top = input_names(mod, args, kwargs)
    leaves = flatten_inputs(top, [*args, *kwargs.values()])
    names = [leaf.name for leaf in leaves]
    values = [leaf.value for leaf in leaves]
    if isinstance(dynamic_shapes, ShapesCollection):
        dynamic_shapes = dynamic_shapes.dynamic_shapes(mod, args, kwargs)
    specs, where = leaf_specs(dynamic_shapes, mod, args, kwargs, top)
    sources = [f"L[{leaf.arg!r}]" + "".join(f"[{k!r}]" for k in leaf.keys) for leaf in leaves]
    layout, symbols = resolve(specs, where, sources, values)
    in_spec = tree_flatten((tuple(args), dict(kwargs)))[1]
    before = _state_versions(mod)
    tracer, traced, out_spec = _trace(mod, names, values, layout, symbols, in_spec, preserved)
    changed = [n for n, v in _state_versions(mod).items() if before.get(n) != v]
    if changed:  # updates through buffer reads and assignments are recorded; not these
        raise NotImplementedError(
            f"export: forward changes the module's state {changed} in a way the trace "
            "cannot record (through .data, NumPy or a reference kept outside the module)"
        )
    paths = [leaf.path for leaf in leaves]
    return _lift(mod, tracer, traced, paths, values, layout, symbols, args, kwargs, out_spec)


def _state_versions(mod: nn.Module) -> dict[str, tuple[int, int]]:
    """Identity and version counter of each parameter and buffer."""
    state = [*mod.named_parameters(), *mod.named_buffers()]
    return {name: (id(t), t._version) for name, t in state}


def _lift(
    mod: nn.Module,
    tracer: ExportTracer,
    traced: Graph,
    paths: list[str],
    values: list[Any],
    layout: list,
    symbols: list[Symbol],
    args: tuple,
    kwargs: dict,
    out_spec: Any,
) -> ExportedProgram:
    params = dict(mod.named_parameters())
    buffers = dict(mod.named_buffers())
    non_persistent = {
        f"{prefix}.{b}" if prefix else b
        for prefix, m in mod.named_modules()
        for b in m._non_persistent_buffers_set
    }
    used = [n.target for n in traced.nodes if n.op == "get_attr"]
    const_names = [t for t in dict.fromkeys(used) if t not in params and t not in buffers]
    state: dict[str, Tensor] = {}
    constants: dict[str, Tensor] = {}
    specs: list[InputSpec] = []
    graph = Graph()
    env: dict[Any, Any] = {}
    by_target: dict[str, Any] = {}

    def state_input(prefix: str, target: str, value: Tensor, kind: InputKind, pers: Any) -> None:
        node = graph.placeholder(f"{prefix}_{target.replace('.', '_')}")
        node.meta["tensor_meta"] = tensor_meta(value)
        node.meta["val"] = value
        by_target[target] = node
        specs.append(InputSpec(kind, TensorArgument(node.name), target, pers))

    for fqn, p in params.items():
        state[fqn] = p
        state_input("p", fqn, p, InputKind.PARAMETER, None)
    for fqn, b in buffers.items():
        persistent = fqn not in non_persistent
        (state if persistent else constants)[fqn] = b
        state_input("b", fqn, b, InputKind.BUFFER, persistent)
    for target in const_names:
        value = _attr(mod, tracer, target)
        constants[target] = value
        state_input("c", target, value, InputKind.CONSTANT_TENSOR, None)
    for node in traced.nodes:
        if node.op == "placeholder":
            new = graph.node_copy(node)
            new.name = node.target  # `input` as the argument, not `input_1`: as torch's
            val = node.meta.get("val")
            new.meta = {"val": val}
            if isinstance(val, Tensor):
                new.meta["tensor_meta"] = tensor_meta(
                    val, _sym_shape(val, node.meta.get("val2"), symbols)
                )
                specs.append(InputSpec(InputKind.USER_INPUT, TensorArgument(new.name), None))
            else:
                specs.append(InputSpec(InputKind.USER_INPUT, ConstantArgument(new.name, val), None))
            env[node] = new
        elif node.op == "get_attr":
            env[node] = by_target[node.target]
        elif node.op == "output":
            out = tuple(env[a] if hasattr(a, "op") else a for a in node.args[0])
            graph.output(out)
        else:
            new = graph.node_copy(node, lambda a: env[a])
            val = node.meta.get("val")
            new.meta = {"val": val, "nn_module_stack": node.meta.get("nn_module_stack", {})}
            meta = (
                tensor_meta(val, _sym_shape(val, node.meta.get("val2"), symbols))
                if isinstance(val, Tensor)
                else None
            )
            if meta is not None:
                new.meta["tensor_meta"] = meta
            env[node] = new
    outs = [
        OutputSpec(
            OutputKind.USER_OUTPUT,
            TensorArgument(a.name) if hasattr(a, "op") else ConstantArgument("", a),
            None,
        )
        for a in graph.output_node().args[0]
    ]
    in_spec = tree_flatten((tuple(args), dict(kwargs)))[1]
    root = ModuleCallSignature(
        [], [], in_spec, out_spec, [s.arg.name for s in specs if s.kind is InputKind.USER_INPUT]
    )
    call_graph = _module_call_graph(mod, root, tracer.signatures, env)
    ranges = range_constraints(layout)
    leaves = {n.target: lookup(mod, n.target) for n in graph.nodes if n.op == "call_module"}
    return ExportedProgram(
        GraphModule(leaves, graph, "GraphModule"),
        ExportGraphSignature(specs, outs),
        state,
        constants,
        ranges,
        (tuple(args), dict(kwargs)),
        CallSpec(in_spec, out_spec),
        build_guards(layout, values),
        paths,
        call_graph,
    )


def _module_call_graph(
    mod: nn.Module, root: ModuleCallSignature, signatures: dict[str, tuple], env: dict
) -> list[ModuleCallEntry]:
    """torch's ``module_call_graph``: every module of ``mod`` (duplicates included), root
    first, then the later calls of preserved ones (``sub@1``); the root's signature and
    the preserved modules' (their values named as in the lifted graph)."""

    def argument(leaf: Any) -> Any:
        if isinstance(leaf, Proxy):
            return TensorArgument(env[leaf.node].name)
        return ConstantArgument("", leaf)

    kept = {
        name: ModuleCallSignature(
            [argument(a) for a in ins], [argument(a) for a in outs], in_spec, out_spec
        )
        for name, (ins, in_spec, outs, out_spec) in signatures.items()
    }
    fqns = [name for name, _ in mod.named_modules(remove_duplicate=False)]
    entries = [ModuleCallEntry(f, root if not f else kept.get(f)) for f in fqns]
    return entries + [ModuleCallEntry(f, s) for f, s in kept.items() if f not in fqns]


def _attr(mod: nn.Module, tracer: ExportTracer, target: str) -> Tensor:
    """The constant tensor at ``target``: a lifted one, or a module attribute."""
    if target in tracer.constants:
        return tracer.constants[target]
    value: Any = mod
    for atom in target.split("."):
        value = getattr(value, atom)
    return value
