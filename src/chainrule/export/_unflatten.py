"""``cr.export.unflatten`` (``torch.export.unflatten``): rebuild an exported program's
module hierarchy from the ``nn_module_stack`` each node recorded.

The flat graph is cut, module by module, into the runs of nodes recorded while one child
module was running: each run becomes a ``call_module`` node of its parent's graph and, in
the child, a graph of its own (recursively), whose inputs are the values the run reads
from outside it and whose outputs are the values read after it (one value returned
as itself, several as a tuple, as torch's). Parameters and buffers go back onto the
module that owns them (``u.b1.lin.weight``) and are read there with ``get_attr``; a
child that reads one it does not own (tied weights) or a lifted constant gets it as an
input. A module called again (``L__self__lin@1``) is called again in its parent's graph:
where the call's graph equals an earlier call's, that call's module runs it; where it
computes something else (``if flag:``, other constants), the call gets a module of its own
beside the first, ``lin@1``, sharing its state and children, as torch's. A module named
in ``preserve_module_call_signature`` is rebuilt as a :class:`~._preserved.PreservedModule`
taking its original arguments (see :mod:`._preserved`). Children are ordered as the
exported module's (``module_call_graph``). Each module is an
:class:`InterpreterModule` running its graph with :class:`~chainrule.fx.Interpreter`; the
root, an :class:`UnflattenedModule`, takes the program's inputs (checked against its input
tree spec) and returns its outputs' structure.
"""

from __future__ import annotations

import operator
from typing import Any

from .. import nn
from ..autograd.tensor import Tensor
from ..fx.graph import Graph
from ..fx.node import Node, map_arg
from ..nn.parameter import Parameter
from ..utils._pytree import tree_unflatten
from ._preserved import PreservedModule, leaf_paths
from ._unflatten_modules import InterpreterModule, UnflattenedModule
from .graph_signature import InputKind, TensorArgument

__all__ = ["InterpreterModule", "UnflattenedModule", "unflatten"]


def unflatten(module: Any, flat_args_adapter: Any = None) -> UnflattenedModule:
    """``torch.export.unflatten``: the exported program ``module`` as a module tree shaped
    as the exported module's (see the module docstring); its outputs equal the program's.

    Raises:
        NotImplementedError: ``flat_args_adapter`` given, or nodes without
            ``nn_module_stack`` (a program from an archive that does not keep it).
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
    by_name = {n.name: n for n in graph.nodes}
    signatures = {
        e.fqn: e.signature
        for e in getattr(module, "module_call_graph", [])
        if e.fqn and e.signature is not None
    }
    builder = _Builder(state_of, signatures, by_name)
    outputs = list(graph.output_node().args[0])
    root_graph, children = builder.graph_of("", body, users, outputs, as_tuple=True)
    root = UnflattenedModule(root_graph, module.call_spec.in_spec, module.call_spec.out_spec)
    for rel, child in children:  # in the order the calls began, as torch's
        _install(root, rel, child)
    for fqn, value in {**module.state_dict, **module.constants}.items():
        owner_path, _, attr = fqn.rpartition(".")
        owner = _install(root, owner_path, None) if owner_path else root
        if isinstance(value, Parameter):
            owner.register_parameter(attr, value)
        elif fqn in module.state_dict or _is_buffer(module, fqn):
            owner.register_buffer(attr, value, persistent=fqn in module.state_dict)
        else:
            setattr(owner, attr, value)
    for path, copy in builder.copies:
        _share_state(_install(root, path, None), copy)
    rank: dict[str, int] = {}
    for fqn in [e.fqn for e in getattr(module, "module_call_graph", [])]:
        rank.setdefault(fqn, len(rank))
    for fqn, _ in root.named_modules(remove_duplicate=False):  # sub@1...: after them all
        rank.setdefault(fqn, len(rank))
    _reorder(root, rank, "")
    return root


def _reorder(parent: nn.Module, rank: dict[str, int], prefix: str) -> None:
    """Order each module's children by ``rank``: the exported module's order
    (``module_call_graph``), then the calls' own modules (``sub@1``), as torch's
    ``_reorder_submodules`` (which looks a copy's children up under the copied path)."""
    children = []
    for name, child in parent._modules.items():
        fqn = prefix + name
        base = fqn.split("@")[0]
        if child is not None:
            _reorder(child, rank, base + ".")
        children.append((rank.get(fqn, rank.get(base, len(rank))), name, child))
    children.sort(key=lambda c: c[0])
    parent._modules.clear()
    parent._modules.update((name, child) for _, name, child in children)


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
        if here is module:  # a module shared by two calls' graphs, installed once
            return module
        if here is not None:  # an empty holder made earlier: keep its children
            for name, child in here._modules.items():
                module.add_module(name, child)
        parent.add_module(atoms[-1], module)
        return module
    if here is None:
        here = InterpreterModule()
        parent.add_module(atoms[-1], here)
    return here


def _share_state(primary: nn.Module, copy: nn.Module) -> None:
    """Give ``copy`` (the module of a later call with a computation of its own, ``sub@1``)
    the parameters, buffers, constants and children of the module at its path, shared, as
    torch's copies hold them."""
    for name, p in primary._parameters.items():
        if name not in copy._parameters and p is not None:
            copy.register_parameter(name, p)
    for name, b in primary._buffers.items():
        if name not in copy._buffers and b is not None:
            copy.register_buffer(
                name, b, persistent=name not in primary._non_persistent_buffers_set
            )
    for name, value in vars(primary).items():
        if isinstance(value, Tensor) and name not in vars(copy):
            setattr(copy, name, value)
    for name, child in primary._modules.items():
        if name not in copy._modules and child is not None:
            copy.add_module(name, child)


def _call_index(key: str) -> int:
    """The call count in a stack key (``L__self__sub@1``: 1; the first call's key: 0)."""
    _, at, n = key.rpartition("@")
    return int(n) if at and n.isdigit() else 0


def _calls(node: Node) -> list[tuple[str, str]]:
    """The module calls running when ``node`` was recorded, outermost (the root) first:
    (stack key, module path); a module's second call has its own key (``@1``)."""
    return [(key, path) for key, (path, _) in node.meta["nn_module_stack"].items()]


class _Builder:
    """Cuts the flat graph into one graph per module (see the module docstring)."""

    def __init__(
        self, state_of: dict[Node, str], signatures: dict[str, Any], by_name: dict[str, Node]
    ) -> None:
        self.state_of = state_of
        self.signatures = signatures  # call name -> ModuleCallSignature (preserved ones)
        self.by_name = by_name
        # module path -> (call name, module) of each call with a computation of its own
        self.calls: dict[str, list[tuple[str, InterpreterModule]]] = {}
        self.copies: list[tuple[str, InterpreterModule]] = []  # (path, module of sub@1...)

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
    ) -> tuple[Graph, list[tuple[str, InterpreterModule]]]:
        """The graph of module ``path``: ``nodes`` (in order) with ``inputs`` as its
        placeholders, returning ``outputs``; and the modules its ``call_module`` nodes
        call, by their names relative to it, in the order of their first call."""
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

        children: dict[str, InterpreterModule] = {}
        i = 0
        while i < len(nodes):
            call = self._child_call(nodes[i], path)
            if call is None:
                env[nodes[i]] = g.node_copy(nodes[i], value)
                i += 1
                continue
            j = i
            while j < len(nodes) and self._child_call(nodes[j], path) == call:
                j += 1
            rel, module = self._call_child(g, path, call, nodes[i:j], value, env)
            children.setdefault(rel, module)
            i = j
        result = [value(o) if isinstance(o, Node) else o for o in outputs]
        g.output(tuple(result) if as_tuple or len(result) != 1 else result[0])
        return g, list(children.items())

    def _call_child(
        self,
        g: Graph,
        path: str,
        call: tuple[str, str],
        run: list[Node],
        value: Any,
        env: dict,
    ) -> tuple[str, InterpreterModule]:
        """Record ``run``, one call (stack key, path) of a module below ``path``, as a
        ``call_module`` node of ``g``; returns the called module and its name relative to
        ``path``. A later call whose graph equals an earlier call's calls that call's
        module; one with a computation of its own gets a module of its own, ``sub@1``
        (the call's count), as torch's."""
        key, child = call
        n = _call_index(key)
        inside = set(run)
        inputs: list[Node] = []
        for node in run:
            for a in node.all_input_nodes:
                if a not in inside and a not in inputs and self._owned(a, child) is None:
                    inputs.append(a)
        inputs.sort(key=lambda a: a in self.state_of)  # values first, then state, as torch's
        outputs = [node for node in run if any(u not in inside for u in node.users)]
        signature = self.signatures.get(child if n == 0 else f"{child}@{n}")
        if signature is not None:
            return self._call_preserved(g, path, call, run, value, env, signature, inputs)
        sub_graph, children = self.graph_of(child, run, inputs, outputs, as_tuple=False)
        return self._record_call(g, path, call, sub_graph, children, inputs, outputs, value, env)

    def _record_call(
        self,
        g: Graph,
        path: str,
        call: tuple[str, str],
        sub_graph: Graph | InterpreterModule,
        children: list[tuple[str, InterpreterModule]],
        inputs: Any,
        outputs: list[Node],
        value: Any,
        env: dict,
    ) -> tuple[str, InterpreterModule]:
        """The module of a call whose graph is ``sub_graph`` (a new one, or an earlier
        call's with an equal graph) and its ``call_module`` node in ``g``, with
        ``inputs`` (nodes, or ``(args, kwargs)`` of a preserved call) as its arguments;
        ``outputs`` read from it (a preserved call's by their paths in its output)."""
        key, child = call
        n = _call_index(key)
        module = sub_graph if isinstance(sub_graph, InterpreterModule) else None
        graph = module.graph if module is not None else sub_graph
        seen = self.calls.setdefault(child, [])
        dump = _graph_dump(graph)
        found = next(((name, m) for name, m in seen if _graph_dump(m.graph) == dump), None)
        if found is None:
            name = child if n == 0 or not seen else f"{child}@{n}"
            found = (name, module if module is not None else InterpreterModule(graph))
            for rel_name, grandchild in children:
                _install(found[1], rel_name, grandchild)
            if seen:
                self.copies.append((child, found[1]))
            seen.append(found)
        name, module = found
        rel = name[len(path) + 1 :] if path else name
        node_name = (child[len(path) + 1 :] if path else child).replace(".", "_")
        if isinstance(inputs, list):
            args, kwargs = tuple(value(a) for a in inputs), {}
        else:
            args, kwargs = inputs
        node = g.create_node("call_module", rel, args, kwargs, node_name)
        if isinstance(outputs, dict):  # a preserved call: each leaf by its path
            for out, keys in outputs.items():
                read = node
                for k in keys:
                    read = g.call_function(operator.getitem, (read, k))
                env[out] = read
        elif len(outputs) == 1:
            env[outputs[0]] = node
        else:
            for k, out in enumerate(outputs):
                env[out] = g.call_function(operator.getitem, (node, k))
        return rel, module

    def _call_preserved(
        self,
        g: Graph,
        path: str,
        call: tuple[str, str],
        run: list[Node],
        value: Any,
        env: dict,
        signature: Any,
        reads: list[Node],
    ) -> tuple[str, InterpreterModule]:
        """A call of a module named in ``preserve_module_call_signature``: its graph takes
        the call's recorded tensor inputs and returns all its output leaves, and the
        parent calls it with the original arguments' structure (see :mod:`._preserved`)."""
        _, child = call

        def node_of(arg: Any) -> Any:
            if isinstance(arg, TensorArgument):
                return self.by_name[arg.name]
            return arg.value

        leaves = [node_of(a) for a in signature.inputs]
        tensors = [i for i, a in enumerate(leaves) if isinstance(a, Node)]
        inputs = [leaves[i] for i in tensors]
        extra = [a.name for a in reads if a not in inputs]
        if extra:
            raise NotImplementedError(
                f"unflatten: the preserved module {child!r} reads {extra}, which are not among "
                "its call's inputs (preserve_module_call_signature of a module reading state "
                "it does not own, or values from outside its arguments)"
            )
        outs = [node_of(a) for a in signature.outputs]
        inside = set(run)
        used = {o for o in run if any(u not in inside for u in o.users)}
        if not used <= {o for o in outs if isinstance(o, Node)}:
            raise NotImplementedError(
                f"unflatten: values computed in the preserved module {child!r} are used "
                "outside it other than through its outputs"
            )
        sub_graph, children = self.graph_of(child, run, inputs, outs, as_tuple=True)
        module = PreservedModule(sub_graph, signature.in_spec, signature.out_spec, tensors)
        paths = leaf_paths(signature.out_spec)
        read = {o: paths[i] for i, o in enumerate(outs) if o in used}
        arguments = tree_unflatten(
            [value(a) if isinstance(a, Node) else a for a in leaves], signature.in_spec
        )
        return self._record_call(g, path, call, module, children, arguments, read, value, env)


def _graph_dump(graph: Graph) -> list[str]:
    """What two calls of one module must share to run one graph, as torch's
    ``_check_graph_equivalence`` writes it: each node's kind, target and arguments (nodes
    by their position). The called module's name is kept too: two calls of ``sub`` whose
    ``lin`` calls differ are different."""
    index: dict[Node, int] = {}
    out = []
    for i, n in enumerate(graph.nodes):
        args = map_arg((n.args, n.kwargs), lambda a: f"%{index[a]}")
        target = "" if n.op in ("placeholder", "output") else n.target
        out.append(f"{i}: {n.op}[{target}]{args!s}")
        index[n] = i
    return out
