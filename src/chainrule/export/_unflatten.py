"""``cr.export.unflatten`` (``torch.export.unflatten``): rebuild an exported program's
module hierarchy from the ``nn_module_stack`` each node recorded.

The flat graph is cut, module by module, into the runs of nodes recorded while one child
module was running: each run becomes a ``call_module`` node of its parent's graph and, in
the child, a graph of its own (recursively), whose inputs are the values the run reads
from outside it and whose outputs are the values read after it (one value returned
as itself, several as a tuple, as torch's). Parameters and buffers go back onto the
module that owns them (``u.b1.lin.weight``) and are read there with ``get_attr``; a
child that reads one it does not own (tied weights) or a lifted constant gets it as an
input. A module called again (``L__self__lin@1``) is called again in its parent's graph
and runs its first call's graph, as torch's. Each module is an
:class:`InterpreterModule` running its graph with :class:`~chainrule.fx.Interpreter`; the
root, an :class:`UnflattenedModule`, takes the program's inputs (checked against its input
tree spec) and returns its outputs' structure.
"""

from __future__ import annotations

import operator
from typing import Any

from .. import nn
from ..fx.graph import Graph
from ..fx.interpreter import Interpreter
from ..fx.node import Node
from ..nn.parameter import Parameter
from ..utils._pytree import tree_flatten, tree_unflatten
from .graph_signature import InputKind

__all__ = ["InterpreterModule", "UnflattenedModule", "unflatten"]


class InterpreterModule(nn.Module):
    """``torch.export.unflatten.InterpreterModule``: a module of the rebuilt hierarchy,
    running its own ``graph`` (empty for a module whose code never ran, that only
    holds state or children) on its submodules, parameters and buffers."""

    def __init__(self, graph: Graph | None = None) -> None:
        super().__init__()
        self.graph = graph if graph is not None else Graph()

    def forward(self, *args: Any) -> Any:
        if not any(n.op == "output" for n in self.graph.nodes):
            raise RuntimeError(
                f"{type(self).__name__}: this module was not called in the exported program, "
                "so it has no graph to run"
            )
        return Interpreter(self, graph=self.graph).run(*args)


class UnflattenedModule(InterpreterModule):
    """``torch.export.unflatten.UnflattenedModule``: the root of the rebuilt hierarchy;
    called as the exported module (its input tree spec checked), returns the output
    structure."""

    def __init__(self, graph: Graph, in_spec: Any, out_spec: Any) -> None:
        super().__init__(graph)
        self._in_spec = in_spec
        self._out_spec = out_spec

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        leaves, spec = tree_flatten((tuple(args), dict(kwargs)))
        if spec != self._in_spec:  # torch then asks its flat_args_adapter, which is None
            raise TypeError(
                "There is no flat args adapter specified. Are you sure you are calling this "
                "with the right arguments? "
            )
        out = super().forward(*leaves)
        return tree_unflatten(list(out), self._out_spec)


def unflatten(module: Any, flat_args_adapter: Any = None) -> UnflattenedModule:
    """``torch.export.unflatten``: the exported program ``module`` as a module tree shaped
    as the exported module's (see the module docstring); its outputs equal the program's.

    Raises:
        NotImplementedError: ``flat_args_adapter`` given; a submodule called more than once
            with different computations (its calls share the first call's graph), or nodes
            without ``nn_module_stack`` (a program from an archive that does not keep it).
    """
    if flat_args_adapter is not None:
        raise NotImplementedError("unflatten: flat_args_adapter is not supported")
    graph = module.graph
    kinds = {s.arg.name: s for s in module.graph_signature.input_specs}
    state_of: dict[Node, str] = {}
    users: list[Node] = []
    for node in graph.nodes:
        if node.op == "placeholder":
            spec = kinds[node.name]
            if spec.kind is InputKind.USER_INPUT:
                users.append(node)
            else:
                state_of[node] = spec.target
    body = [n for n in graph.nodes if n.op not in ("placeholder", "output")]
    for n in body:
        if "nn_module_stack" not in n.meta:
            raise NotImplementedError(
                f"unflatten: node {n.name} has no nn_module_stack (a program loaded from a "
                "file keeps no module hierarchy)"
            )
    builder = _Builder(state_of)
    outputs = list(graph.output_node().args[0])
    root_graph = builder.graph_of("", body, users, outputs, as_tuple=True)
    root = UnflattenedModule(root_graph, module.call_spec.in_spec, module.call_spec.out_spec)
    for path in builder.order:  # in the order the calls began, as torch's
        _install(root, path, builder.modules[path][0])
    for fqn, value in {**module.state_dict, **module.constants}.items():
        owner_path, _, attr = fqn.rpartition(".")
        owner = _install(root, owner_path, None) if owner_path else root
        if isinstance(value, Parameter):
            owner.register_parameter(attr, value)
        elif fqn in module.state_dict or _is_buffer(module, fqn):
            owner.register_buffer(attr, value, persistent=fqn in module.state_dict)
        else:
            setattr(owner, attr, value)
    return root


def _is_buffer(ep: Any, fqn: str) -> bool:
    return any(
        s.kind is InputKind.BUFFER and s.target == fqn for s in ep.graph_signature.input_specs
    )


def _install(root: nn.Module, path: str, module: nn.Module | None) -> nn.Module:
    """The module at ``path`` under ``root`` (``module`` put there, or an empty
    InterpreterModule where none is), with empty ones for missing levels above it."""
    parent = root
    atoms = path.split(".")
    for atom in atoms[:-1]:
        child = parent._modules.get(atom)
        if child is None:
            child = InterpreterModule()
            parent.add_module(atom, child)
        parent = child
    here = parent._modules.get(atoms[-1])
    if module is not None:
        if here is not None:  # an empty holder made earlier: keep its children
            for name, child in here._modules.items():
                module.add_module(name, child)
        parent.add_module(atoms[-1], module)
        return module
    if here is None:
        here = InterpreterModule()
        parent.add_module(atoms[-1], here)
    return here


def _calls(node: Node) -> list[tuple[str, str]]:
    """The module calls running when ``node`` was recorded, outermost (the root) first:
    (stack key, module path); a module's second call has its own key (``@1``)."""
    return [(key, path) for key, (path, _) in node.meta["nn_module_stack"].items()]


class _Builder:
    """Cuts the flat graph into one graph per module (see the module docstring)."""

    def __init__(self, state_of: dict[Node, str]) -> None:
        self.state_of = state_of
        self.modules: dict[str, tuple[InterpreterModule, Graph]] = {}
        self.order: list[str] = []

    def _owned(self, node: Node, path: str) -> str | None:
        """The path of state ``node`` relative to module ``path``, where that module owns
        it (the root owns every one, lifted constants included); else None."""
        fqn = self.state_of.get(node)
        if fqn is None:
            return None
        if not path:
            return fqn
        return fqn[len(path) + 1 :] if fqn.startswith(path + ".") else None

    def _child_call(self, node: Node, path: str) -> tuple[str, str] | None:
        """The call (stack key, path) of the module below ``path`` that was running when
        ``node`` was recorded."""
        calls = [c for c in _calls(node) if c[1]]
        paths = [p for _, p in calls]
        if not path:
            return calls[0] if calls else None
        if path not in paths:
            raise AssertionError(f"unflatten: {node.name} is not inside {path}")
        i = paths.index(path)
        return calls[i + 1] if i + 1 < len(calls) else None

    def _child(self, node: Node, path: str) -> str | None:
        """The path of the module below ``path`` running when ``node`` was recorded."""
        call = self._child_call(node, path)
        return None if call is None else call[1]

    def graph_of(
        self, path: str, nodes: list[Node], inputs: list[Node], outputs: list[Any], as_tuple: bool
    ) -> Graph:
        """The graph of module ``path``: ``nodes`` (in order) with ``inputs`` as its
        placeholders, returning ``outputs``."""
        g = Graph()
        env: dict[Node, Node] = {}
        for inp in inputs:
            ph = g.placeholder(inp.name)
            ph.meta = dict(inp.meta)
            env[inp] = ph
        for n in nodes:  # the state read here (or handed to a child), after the inputs
            child = self._child(n, path)
            for a in n.all_input_nodes:
                owned = self._owned(a, path)
                if owned is None or a in env:
                    continue
                if child is None or self._owned(a, child) is None:
                    env[a] = g.get_attr(owned)

        def value(n: Node) -> Node:
            if n not in env:
                owned = self._owned(n, path)
                if owned is None:
                    raise AssertionError(f"unflatten: {n.name} is not an input of {path!r}")
                env[n] = g.get_attr(owned)
            return env[n]

        i = 0
        while i < len(nodes):
            child = self._child(nodes[i], path)
            if child is None:
                env[nodes[i]] = g.node_copy(nodes[i], value)
                i += 1
                continue
            call = self._child_call(nodes[i], path)
            j = i
            while j < len(nodes) and self._child_call(nodes[j], path) == call:
                j += 1
            run = nodes[i:j]
            self._call_child(g, path, child, run, value, env)
            i = j
        result = [value(o) if isinstance(o, Node) else o for o in outputs]
        g.output(tuple(result) if as_tuple or len(result) != 1 else result[0])
        return g

    def _call_child(
        self, g: Graph, path: str, child: str, run: list[Node], value: Any, env: dict
    ) -> None:
        """Record ``run`` as one call of module ``child`` in ``g``; its graph is built
        from the first call (a later call of the module runs that graph, as torch's)."""
        inside = set(run)
        inputs: list[Node] = []
        for n in run:
            for a in n.all_input_nodes:
                if a not in inside and a not in inputs and self._owned(a, child) is None:
                    inputs.append(a)
        inputs.sort(key=lambda a: a in self.state_of)  # values first, then state, as torch's
        outputs = [n for n in run if any(u not in inside for u in n.users)]
        sub_graph = self.graph_of(child, run, inputs, outputs, as_tuple=False)
        if child not in self.modules:
            self.order.append(child)
            self.modules[child] = (InterpreterModule(sub_graph), sub_graph)
        elif _signature(self.modules[child][1]) != _signature(sub_graph):
            raise NotImplementedError(
                f"unflatten: module {child!r} is called twice with different computations "
                "(torch gives such calls copies of the module); chainrule keeps one graph"
            )
        rel = child[len(path) + 1 :] if path else child
        call = g.create_node(
            "call_module", rel, tuple(value(a) for a in inputs), {}, rel.replace(".", "_")
        )
        if len(outputs) == 1:
            env[outputs[0]] = call
        else:
            for k, out in enumerate(outputs):
                env[out] = g.call_function(operator.getitem, (call, k))


def _signature(graph: Graph) -> list[tuple[str, Any]]:
    """What two calls of one module must share to run one graph: each node's kind and
    target, and the number of inputs and outputs."""
    return [(n.op, n.target if n.op != "placeholder" else None) for n in graph.nodes]
