"""``cr.jit``: PyTorch's TorchScript API, behaving as PyTorch does with the JIT off.

chainrule has no compiler (see ``cr.compile``). PyTorch documents a mode without one:
with the environment variable ``PYTORCH_JIT=0`` ("Disable JIT for Debugging"),
``torch.jit.script`` and ``torch.jit.trace`` return the function or module they are given
and it runs eagerly, as plain Python. chainrule's ``cr.jit`` is always in that mode, checked
against PyTorch run with ``PYTORCH_JIT=0``:

- :func:`script`, :func:`trace`, :func:`trace_module`, :func:`script_method` return their
  argument; ``@ignore``, ``@unused``, ``@export``, ``@interface``,
  :func:`script_if_tracing`, :func:`annotate` and :func:`Attribute` are pass-throughs;
  :func:`is_scripting` and :func:`is_tracing` are False; :func:`isinstance` checks
  container element types (``list[int]``).
- :func:`fork` runs the function at once and returns a completed :class:`Future`;
  :func:`wait` returns its result.
- :func:`freeze` and :func:`optimize_for_inference` need a compiled ``ScriptModule`` and
  raise PyTorch's ``RuntimeError``, as PyTorch does with the JIT off.
- :func:`save` and :func:`load` raise ``NotImplementedError``: a TorchScript archive holds
  compiled code. Save ``model.state_dict()`` with ``cr.save`` instead.
- :class:`ScriptModule` is a plain ``nn.Module``; nothing chainrule returns is an instance
  of :class:`ScriptModule`, :class:`RecursiveScriptModule` or :class:`ScriptFunction`, so
  ``isinstance`` checks take the eager branch.

Like PyTorch 2.13, ``script``, ``trace``, ``trace_module``, ``script_method``,
``interface``, ``fork``, ``wait``, ``freeze`` and ``optimize_for_inference`` warn
``DeprecationWarning`` (hidden by Python's default filters, as PyTorch's is).
"""

from __future__ import annotations

from ._annotations import (
    Attribute,
    Final,
    annotate,
    export,
    fuser,
    ignore,
    interface,
    is_scripting,
    is_tracing,
    isinstance,
    optimized_execution,
    script_if_tracing,
    unused,
)
from ._async import Future, fork, wait
from ._script import (
    Error,
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    ScriptWarning,
    TopLevelTracedModule,
    TracedModule,
    TracerWarning,
    freeze,
    load,
    optimize_for_inference,
    save,
    script,
    script_method,
    trace,
    trace_module,
)

__all__ = [
    "Attribute",
    "Error",
    "Final",
    "Future",
    "RecursiveScriptModule",
    "ScriptFunction",
    "ScriptModule",
    "ScriptWarning",
    "TopLevelTracedModule",
    "TracedModule",
    "TracerWarning",
    "annotate",
    "export",
    "fork",
    "freeze",
    "fuser",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "isinstance",
    "load",
    "optimize_for_inference",
    "optimized_execution",
    "save",
    "script",
    "script_if_tracing",
    "script_method",
    "trace",
    "trace_module",
    "unused",
    "wait",
]

# torchvision's older ops decorate with the private spelling
_script_if_tracing = script_if_tracing
