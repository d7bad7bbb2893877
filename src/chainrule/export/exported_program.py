"""``cr.export.ExportedProgram`` (torch.export's): the result of ``export``.

It holds a *functional* graph (``graph_module``/``graph``): the module's parameters,
buffers and constant tensors are placeholders before the user's inputs (``p_l1_weight``,
``b_bn_running_mean``, ``c_lifted_tensor_0``, ``x``), described by ``graph_signature``,
with the values in ``state_dict`` (parameters and persistent buffers, the original
module's own tensors) and ``constants``. It is not called directly: ``module()`` gives the
callable module, which checks its inputs against the export (see :mod:`._unlift`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..autograd.tensor import Tensor
from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..fx.passes.shape_prop import TensorMetadata
from ..nn.parameter import Parameter
from ._unlift import Guard, unlift
from .graph_signature import ExportGraphSignature, InputKind

__all__ = ["CallSpec", "ExportedProgram", "ModuleCallEntry", "ModuleCallSignature"]


@dataclass
class CallSpec:
    """How the user's inputs and outputs flatten: pytree specs of ``(args, kwargs)`` and of
    the output."""

    in_spec: Any
    out_spec: Any


@dataclass
class ModuleCallSignature:
    """``torch.export.ModuleCallSignature``: how a module was called in the program: its
    flattened inputs and outputs (graph values by name, or constants) and their pytree
    specs; ``forward_arg_names`` for the root only."""

    inputs: list[Any]
    outputs: list[Any]
    in_spec: Any
    out_spec: Any
    forward_arg_names: list[str] | None = None


@dataclass
class ModuleCallEntry:
    """``torch.export.ModuleCallEntry``: one module of the exported hierarchy (``fqn``),
    with the call signature export kept for it: the root's, and those named in
    ``preserve_module_call_signature`` (a later call of one as ``fqn@1``); else None."""

    fqn: str
    signature: ModuleCallSignature | None = None


class ExportedProgram:
    """An exported module (see the module docstring)."""

    def __init__(
        self,
        graph_module: GraphModule,
        graph_signature: ExportGraphSignature,
        state_dict: dict[str, Tensor],
        constants: dict[str, Tensor],
        range_constraints: dict[Any, Any],
        example_inputs: tuple[tuple, dict] | None,
        call_spec: CallSpec,
        guards: list[Guard],
        input_paths: list[str] | None = None,
        module_call_graph: list[ModuleCallEntry] | None = None,
    ) -> None:
        self._graph_module = graph_module
        self._graph_signature = graph_signature
        self._state_dict = state_dict
        self._constants = constants
        self._range_constraints = range_constraints
        self._example_inputs = example_inputs
        self._call_spec = call_spec
        self._guards = guards
        self._input_paths = input_paths  # how guards name the user inputs (xs[0], d['a'])
        if module_call_graph is None:  # the root only (a program loaded from an archive)
            names = user_input_names(graph_signature)
            root = ModuleCallSignature([], [], call_spec.in_spec, call_spec.out_spec, names)
            module_call_graph = [ModuleCallEntry("", root)]
        self._module_call_graph = module_call_graph

    # ------------------------------------------------------------ torch's attributes
    @property
    def graph_module(self) -> GraphModule:
        """The functional graph as a module: call it with every input of the signature."""
        return self._graph_module

    @property
    def graph(self) -> Graph:
        """``graph_module.graph``."""
        return self._graph_module.graph

    @property
    def graph_signature(self) -> ExportGraphSignature:
        """Which graph input/output is which (see :mod:`.graph_signature`)."""
        return self._graph_signature

    @property
    def state_dict(self) -> dict[str, Tensor]:
        """Parameters and persistent buffers by name (the exported module's tensors)."""
        return self._state_dict

    @property
    def constants(self) -> dict[str, Tensor]:
        """Constant tensors and non-persistent buffers by name."""
        return self._constants

    @property
    def range_constraints(self) -> dict[Any, Any]:
        """Symbol -> range (``VR[2, 10]``) of each dynamic size."""
        return self._range_constraints

    @property
    def example_inputs(self) -> tuple[tuple, dict] | None:
        """``(args, kwargs)`` given to ``export``."""
        return self._example_inputs

    @property
    def call_spec(self) -> CallSpec:
        """The pytree specs of the inputs and outputs."""
        return self._call_spec

    @property
    def module_call_graph(self) -> list[ModuleCallEntry]:
        """The exported module's hierarchy, root first, with the call signatures kept
        (see :class:`ModuleCallEntry`); :func:`~chainrule.export.unflatten` orders the
        rebuilt modules by it and gives preserved ones their calling convention."""
        return self._module_call_graph

    @property
    def verifiers(self) -> list[Any]:
        """torch's IR verifiers: chainrule's graphs are not verified against an op set."""
        return []

    def parameters(self) -> Iterator[Parameter]:
        """The parameters, in signature order."""
        for name in self._graph_signature.parameters:
            yield self._state_dict[name]

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` in signature order."""
        for name in self._graph_signature.parameters:
            yield name, self._state_dict[name]

    def buffers(self) -> Iterator[Tensor]:
        """The buffers, in signature order."""
        for _, b in self.named_buffers():
            yield b

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """``(name, buffer)`` in signature order (non-persistent ones from ``constants``)."""
        for name in self._graph_signature.buffers:
            yield name, self._state_dict.get(name, self._constants.get(name))

    # ------------------------------------------------------------ use
    def module(self) -> GraphModule:
        """A new callable module running the program on the exported tensors, checking its
        inputs as torch's (see :mod:`._unlift`)."""
        return unlift(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "Unable to call ExportedProgram directly. You should use "
            "`exported_program.module()` instead."
        )

    def run_decompositions(
        self, decomp_table: dict | None = None, decompose_custom_triton_ops: bool = False
    ) -> ExportedProgram:
        """An equivalent program. torch lowers its ops to the core ATen set here;
        chainrule's graphs are already made of its public functions, so the program is
        copied as it is. A non-empty ``decomp_table`` raises NotImplementedError."""
        if decomp_table:
            raise NotImplementedError(
                "ExportedProgram.run_decompositions: a decomp_table is not supported "
                "(chainrule has no ATen decompositions to choose from)"
            )
        if decompose_custom_triton_ops:
            raise NotImplementedError(
                "ExportedProgram.run_decompositions: decompose_custom_triton_ops is not supported"
            )
        graph = copy.deepcopy(self.graph)
        for new, old in zip(graph.nodes, self.graph.nodes, strict=True):
            new.meta = dict(old.meta)
        leaves = {
            n.target: self.graph_module.get_submodule(n.target)
            for n in graph.nodes
            if n.op == "call_module"
        }
        return ExportedProgram(
            GraphModule(leaves, graph, "GraphModule"),
            copy.deepcopy(self._graph_signature),
            self._state_dict,
            self._constants,
            self._range_constraints,
            self._example_inputs,
            self._call_spec,
            self._guards,
            self._input_paths,
            copy.deepcopy(self._module_call_graph),
        )

    def validate(self) -> None:
        """Check the graph is well formed (``Graph.lint``) and matches its signature."""
        self.graph.lint()
        names = [n.name for n in self.graph.nodes if n.op == "placeholder"]
        specs = [s.arg.name for s in self._graph_signature.input_specs]
        if names != specs:
            raise ValueError(
                f"ExportedProgram.validate: placeholders {names} do not match the signature {specs}"
            )

    # ------------------------------------------------------------ printing
    def __str__(self) -> str:
        code = self.graph.python_code(root_module="self", annotate=True).src
        lines = [ln for ln in code.strip("\n ").splitlines() if ln.strip()]
        body = "\n".join(f"        {ln}" for ln in lines)
        sig = "\n".join(f"    {ln}" for ln in str(self._graph_signature).splitlines()[1:])
        ranges = "{" + ", ".join(f"{k}: {v}" for k, v in self._range_constraints.items()) + "}"
        return (
            f"ExportedProgram:\n    class GraphModule(torch.nn.Module):\n{body}\n    \n"
            f"Graph signature: \n{sig}\n    \nRange constraints: {ranges}\n"
        )

    __repr__ = __str__


def tensor_meta(value: Any, shape: Any = None) -> TensorMetadata | None:
    """The ``tensor_meta`` (printed annotation) of a tensor value, with ``shape`` (symbolic
    sizes) in place of its own when given."""
    if not isinstance(value, Tensor):
        return None
    return TensorMetadata(
        tuple(value.shape) if shape is None else shape,
        value.dtype,
        value.requires_grad,
        tuple(value.stride()),
        None,
        False,
        {},
    )


def user_input_names(sig: ExportGraphSignature) -> list[str]:
    """The user inputs' placeholder names."""
    return [s.arg.name for s in sig.input_specs if s.kind is InputKind.USER_INPUT]
