"""``ExportedProgram.module()``: the exported graph as a callable module again. The
placeholders of parameters, buffers and constants become ``get_attr`` reads of the
program's own tensors (the module's parameters are the original module's, so gradients
reach them), and the call is checked against the export as torch's unlifted module does:

- the arguments' structure (a :class:`ValueError` for a wrong number of inputs, other
  keyword arguments or nested inputs shaped otherwise), by a forward pre-hook, which
  then passes the flattened inputs on to the graph (one placeholder per tensor);
- each input's sizes and Python constants (``AssertionError: Guard failed: x.size()[1] ==
  4``, ``xs[1]['a'].size()[0] == ...`` for a nested one, ``... <= 10`` for a ``Dim``'s
  range, ``y.size()[0] == 2 * x.size()[0]`` for a derived dim), by the ``_guards_fn``
  submodule the graph calls first. Like torch's, the guards check sizes, not dtypes.
"""

from __future__ import annotations

from typing import Any

from .. import nn
from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..utils._pytree import tree_flatten, tree_unflatten
from .graph_signature import InputKind

__all__ = ["Guard", "GuardsFn", "unlift"]

# ("static", i, d, size) | ("min", i, d, lo) | ("max", i, d, hi) | ("eq", i, d, j, d2)
# | ("lin", i, d, j, d2, c, o, bc, bo): sizes c*r + o and bc*r + bo of one root r (derived
# dims) | ("const", i, value): i, j index the user inputs
Guard = tuple


class GuardsFn(nn.Module):
    """Checks the user inputs' sizes against the export (see the module docstring); named
    as torch's, whose name ``print(ep.module())`` shows."""

    def __init__(self, names: list[str], guards: list[Guard]) -> None:
        super().__init__()
        self.names = names
        self.guards = guards

    def forward(self, *args: Any) -> None:
        """Raise ``AssertionError('Guard failed: <expr>')`` for the first guard failing."""
        names = self.names
        for g in self.guards:
            kind, i = g[0], g[1]
            if kind == "const":
                ok, expr = args[i] == g[2], f"{names[i]} == {g[2]!r}"
            else:
                size = args[i].size()[g[2]]
                ref = f"{names[i]}.size()[{g[2]}]"
                if kind == "static":
                    ok, expr = size == g[3], f"{ref} == {g[3]}"
                elif kind == "min":
                    ok, expr = size >= g[3], f"{ref} >= {g[3]}"
                elif kind == "max":
                    ok, expr = size <= g[3], f"{ref} <= {g[3]}"
                elif kind == "eq":
                    other = args[g[3]].size()[g[4]]
                    ok, expr = size == other, f"{ref} == {names[g[3]]}.size()[{g[4]}]"
                else:  # "lin": c, o here and bc, bo at the base place, of one root
                    c, o, bc, bo = g[5:]
                    other = args[g[3]].size()[g[4]]
                    ok = bc * (size - o) == c * (other - bo)
                    expr = f"{ref} == {_linear_guard(f'{names[g[3]]}.size()[{g[4]}]', g[5:])}"
            if not ok:
                raise AssertionError(f"Guard failed: {expr}")


def _linear_guard(ref: str, coeffs: tuple) -> str:
    """The right side of a derived size's guard as torch prints it: ``1 + x.size()[0]``,
    ``-1 + 2 * x.size()[0]`` (base place of coefficient 1), else ``(c*ref + k) / bc``."""
    c, o, bc, bo = coeffs
    if bc == 1:
        k = o - c * bo
        term = ref if c == 1 else f"{c} * {ref}"
        return term if k == 0 else f"{k} + {term}"
    return f"({c} * {ref} + {bc * o - c * bo}) / {bc}"


def _check_spec_hook(in_spec: Any, kwarg_names: list[str]) -> Any:
    def hook(module: Any, args: tuple, kwargs: dict) -> None:
        if sorted(kwargs) != sorted(kwarg_names):
            raise ValueError(
                f"Ran into a kwarg keyword mismatch: Got the following keywords {list(kwargs)} "
                f"but expected {kwarg_names}"
            )
        leaves, got = tree_flatten((tuple(args), {k: kwargs[k] for k in kwarg_names}))
        if got != in_spec:
            raise ValueError(
                f"Trying to flatten user inputs with exported input tree spec: \n{in_spec}\n"
                f"but actually got inputs with tree spec of: \n{got}.\nPlease check that the "
                "inputs have the same number and type of args and kwargs as the ones you used "
                "when tracing."
            )
        return tuple(leaves), {}  # the graph takes the flattened inputs

    return hook


def unlift(ep: Any) -> GraphModule:
    """The callable module of exported program ``ep`` (see the module docstring)."""
    graph = Graph()
    env: dict[Any, Any] = {}
    sig = ep.graph_signature
    kinds = {s.arg.name: s for s in sig.input_specs}
    placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]
    user = [n for n in placeholders if kinds[n.name].kind is InputKind.USER_INPUT]
    for n in user:
        env[n] = graph.node_copy(n)
    root: dict[str, Any] = {}
    state = {**ep.constants, **ep.state_dict}
    for n in placeholders:
        spec = kinds[n.name]
        if spec.kind is not InputKind.USER_INPUT:
            env[n] = graph.get_attr(spec.target)
            env[n].meta = dict(n.meta)
            root[spec.target] = state[spec.target]
    names = ep._input_paths or [n.name for n in user]
    root["_guards_fn"] = GuardsFn(names, list(ep._guards))
    graph.call_module("_guards_fn", tuple(env[n] for n in user))
    out = None
    for n in ep.graph.nodes:
        if n.op == "call_module":  # an opaque layer (see _trace.py): the program's own
            root[n.target] = ep.graph_module.get_submodule(n.target)
        if n.op == "output":
            leaves = [env[a] if hasattr(a, "op") else a for a in n.args[0]]
            out = tree_unflatten(leaves, ep.call_spec.out_spec)
        elif n.op != "placeholder":
            env[n] = graph.node_copy(n, lambda a: env[a])
    graph.output(out)
    gm = GraphModule(root, graph, "GraphModule")
    for s in sig.input_specs:
        *prefix, field = s.target.split(".") if s.target else [""]
        if s.kind is InputKind.BUFFER and s.persistent is False:
            gm.get_submodule(".".join(prefix))._non_persistent_buffers_set.add(field)
        elif s.kind is InputKind.CONSTANT_TENSOR:  # a plain attribute, as torch's
            owner = gm.get_submodule(".".join(prefix))
            value = owner._buffers.pop(field)
            owner.__dict__[field] = value
    gm.register_forward_pre_hook(
        _check_spec_hook(ep.call_spec.in_spec, list(ep.call_spec.in_spec.child(1).context)),
        with_kwargs=True,
    )
    gm.meta["exported_program"] = True
    return gm
