"""``cr.export`` (``torch.export``): capture a module as a graph for deployment.

- :func:`export` traces a module on example inputs (``cr.fx`` with real values alongside,
  as torch's non-strict export) into an :class:`ExportedProgram`: a functional graph whose
  parameters, buffers and constants are inputs (``graph_signature``), with ``module()``
  giving back a callable module that checks its inputs' sizes against the export.
- :class:`Dim` (and ``Dim.AUTO``/``STATIC``/``DYNAMIC``, :class:`ShapesCollection`) mark
  dynamic sizes through ``dynamic_shapes``.
- :func:`save` / :func:`load` write and read a ``.pt2`` zip archive laid out as torch's,
  with JSON and raw tensor bytes only (no pickle).

- :func:`unflatten` rebuilds the module hierarchy (an :class:`UnflattenedModule` of
  :class:`InterpreterModule` s) from the ``nn_module_stack`` every node records.

Inputs may be nested tuples, lists and dicts of tensors, with ``dynamic_shapes`` shaped
alike; ``2 * dim`` / ``dim + 1`` are derived dims. Python control flow on tensor values is
refused at export, as torch's. ``preserve_module_call_signature`` keeps the named
submodules' calling conventions in ``ExportedProgram.module_call_graph``, so that
``unflatten`` rebuilds them as modules called with their original arguments.
"""

from . import dynamic_shapes, graph_signature
from ._errors import ConstraintViolationError, GuardOnDataDependentSymNode, UserError
from ._export import export
from ._serde import save
from ._serde_load import load
from ._unflatten import InterpreterModule, UnflattenedModule, unflatten
from .dynamic_shapes import Dim, ShapesCollection
from .exported_program import CallSpec, ExportedProgram, ModuleCallEntry, ModuleCallSignature
from .graph_signature import (
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)

__all__ = [
    "CallSpec",
    "ConstraintViolationError",
    "Dim",
    "ExportGraphSignature",
    "ExportedProgram",
    "GuardOnDataDependentSymNode",
    "InputKind",
    "InputSpec",
    "InterpreterModule",
    "ModuleCallEntry",
    "ModuleCallSignature",
    "OutputKind",
    "OutputSpec",
    "ShapesCollection",
    "TensorArgument",
    "UnflattenedModule",
    "UserError",
    "dynamic_shapes",
    "export",
    "graph_signature",
    "load",
    "save",
    "unflatten",
]
