"""``cr.export.graph_signature`` (torch.export's): what each input and output of an exported
program's graph is. The graph takes the module's parameters (``p_<fqn>``), buffers
(``b_<fqn>``) and constant tensors (``c_<name>``) as inputs before the user's, so the
signature says which placeholder is which state entry and which outputs are the user's."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

__all__ = [
    "ConstantArgument",
    "ExportGraphSignature",
    "InputKind",
    "InputSpec",
    "OutputKind",
    "OutputSpec",
    "TensorArgument",
]


class InputKind(Enum):
    """``torch.export.graph_signature.InputKind``."""

    USER_INPUT = auto()
    PARAMETER = auto()
    BUFFER = auto()
    CONSTANT_TENSOR = auto()
    CUSTOM_OBJ = auto()
    TOKEN = auto()


class OutputKind(Enum):
    """``torch.export.graph_signature.OutputKind``."""

    USER_OUTPUT = auto()
    LOSS_OUTPUT = auto()
    BUFFER_MUTATION = auto()
    PARAMETER_MUTATION = auto()
    GRADIENT_TO_PARAMETER = auto()
    GRADIENT_TO_USER_INPUT = auto()
    USER_INPUT_MUTATION = auto()
    TOKEN = auto()


@dataclass
class TensorArgument:
    """A graph value that is a tensor, by its node name."""

    name: str


@dataclass
class ConstantArgument:
    """A graph input that is a Python constant (specialized at export)."""

    name: str
    value: Any


@dataclass
class InputSpec:
    """One graph input: its kind, placeholder (``arg``), state name (``target``) and, for
    buffers, whether it is in the state dict (``persistent``)."""

    kind: InputKind
    arg: Any
    target: str | None
    persistent: bool | None = None


@dataclass
class OutputSpec:
    """One graph output: its kind, value (``arg``) and, for mutations, what it updates."""

    kind: OutputKind
    arg: Any
    target: str | None


def _spec_line(spec: Any) -> str:
    line = f"{spec.arg.name}: {spec.kind.name}"
    if spec.target is not None:
        line += f" target={spec.target!r}"
    if getattr(spec, "persistent", None) is not None:
        line += f" persistent={spec.persistent}"
    return line


@dataclass
class ExportGraphSignature:
    """``torch.export.ExportGraphSignature``: the input and output specs, with torch's views
    of them (``parameters``, ``buffers``, ``user_inputs``, ``inputs_to_parameters``...)."""

    input_specs: list[InputSpec]
    output_specs: list[OutputSpec]

    def _inputs(self, kind: InputKind) -> list[InputSpec]:
        return [s for s in self.input_specs if s.kind is kind]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameters' names, in graph order."""
        return tuple(s.target for s in self._inputs(InputKind.PARAMETER))

    @property
    def buffers(self) -> tuple[str, ...]:
        """The buffers' names, in graph order."""
        return tuple(s.target for s in self._inputs(InputKind.BUFFER))

    @property
    def non_persistent_buffers(self) -> tuple[str, ...]:
        """The buffers not saved in the state dict."""
        return tuple(s.target for s in self._inputs(InputKind.BUFFER) if s.persistent is False)

    @property
    def lifted_tensor_constants(self) -> tuple[str, ...]:
        """The constant tensors' names."""
        return tuple(s.target for s in self._inputs(InputKind.CONSTANT_TENSOR))

    @property
    def user_inputs(self) -> tuple[Any, ...]:
        """The placeholders (or constants) of the user's inputs."""
        return tuple(
            s.arg.value if isinstance(s.arg, ConstantArgument) else s.arg.name
            for s in self._inputs(InputKind.USER_INPUT)
        )

    @property
    def user_outputs(self) -> tuple[str, ...]:
        """The graph values returned to the user."""
        return tuple(s.arg.name for s in self.output_specs if s.kind is OutputKind.USER_OUTPUT)

    @property
    def inputs_to_parameters(self) -> dict[str, str]:
        """Placeholder name -> parameter name."""
        return {s.arg.name: s.target for s in self._inputs(InputKind.PARAMETER)}

    @property
    def inputs_to_buffers(self) -> dict[str, str]:
        """Placeholder name -> buffer name."""
        return {s.arg.name: s.target for s in self._inputs(InputKind.BUFFER)}

    @property
    def inputs_to_lifted_tensor_constants(self) -> dict[str, str]:
        """Placeholder name -> constant name."""
        return {s.arg.name: s.target for s in self._inputs(InputKind.CONSTANT_TENSOR)}

    @property
    def buffers_to_mutate(self) -> dict[str, str]:
        """Output name -> buffer it updates (chainrule's graphs update buffers in place)."""
        return {
            s.arg.name: s.target for s in self.output_specs if s.kind is OutputKind.BUFFER_MUTATION
        }

    def __str__(self) -> str:
        inputs = "\n".join(_spec_line(s) for s in self.input_specs)
        outputs = "\n".join(_spec_line(s) for s in self.output_specs)
        return f"\n# inputs\n{inputs}\n\n# outputs\n{outputs}\n"
