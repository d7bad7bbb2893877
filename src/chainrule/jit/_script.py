"""``script``, ``trace`` and the ScriptModule classes, as PyTorch runs them with the JIT off.

With ``PYTORCH_JIT=0`` PyTorch's ``script``/``trace``/``trace_module`` return what they are
given, unchanged, and ``freeze``/``optimize_for_inference`` refuse anything that is not a
compiled ``ScriptModule`` (none exists then). chainrule behaves so always. Like PyTorch
2.13, the TorchScript entry points warn ``DeprecationWarning``; the warning is attributed
to chainrule's own module, so Python's default filters hide it as they hide PyTorch's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..nn.module import Module

__all__ = [
    "Error",
    "RecursiveScriptModule",
    "ScriptFunction",
    "ScriptModule",
    "ScriptWarning",
    "TopLevelTracedModule",
    "TracedModule",
    "TracerWarning",
    "freeze",
    "load",
    "optimize_for_inference",
    "save",
    "script",
    "script_method",
    "trace",
    "trace_module",
]


def warn_deprecated(name: str) -> None:
    """PyTorch 2.13's deprecation of the TorchScript entry point ``name``."""
    warnings.warn(
        f"`cr.jit.{name}` is deprecated, as `torch.jit.{name}` is in PyTorch. chainrule has "
        "no TorchScript: the code runs eagerly, as PyTorch runs it with PYTORCH_JIT=0.",
        DeprecationWarning,
        stacklevel=1,  # attributed to chainrule, hidden by default as PyTorch's warning is
    )


class Error(Exception):
    """``torch.jit.Error``: the exception TorchScript code raises (never raised here, kept so
    that ``except torch.jit.Error`` clauses work)."""


class TracerWarning(Warning):
    """``torch.jit.TracerWarning``, for ``warnings.filterwarnings(category=...)``."""


class ScriptWarning(Warning):
    """``torch.jit.ScriptWarning``, for ``warnings.filterwarnings(category=...)``."""


class ScriptModule(Module):
    """``torch.jit.ScriptModule`` with the JIT off: a plain :class:`~chainrule.nn.Module`.

    Subclassing it (with ``@cr.jit.script_method`` methods) gives an ordinary eager module.
    :func:`script` and :func:`trace` never return one: they return the module they get.
    """


class RecursiveScriptModule(ScriptModule):
    """The class of a scripted module in PyTorch; nothing is an instance of it here."""


class TracedModule(ScriptModule):
    """The class of a traced module in PyTorch; nothing is an instance of it here."""


class TopLevelTracedModule(TracedModule):
    """The class of a traced top-level module in PyTorch; nothing is an instance of it here."""


class ScriptFunction:
    """The class of a scripted function in PyTorch; it has no constructor, and :func:`script`
    returns the function itself, so nothing is an instance of it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("ScriptFunction: No constructor defined!")


def script(
    obj: Any,
    optimize: None = None,
    _frames_up: int = 0,
    _rcb: Callable[[str], Any] | None = None,
    example_inputs: list[tuple] | dict[Callable, list[tuple]] | None = None,
) -> Any:
    """Return ``obj`` unchanged: a function, an ``nn.Module`` instance or a class.

    ``optimize`` (deprecated in PyTorch), ``_frames_up``/``_rcb`` (name resolution for
    the compiler) and ``example_inputs`` (type profiling) only steer compilation, which
    chainrule does not do.
    """
    warn_deprecated("script")
    return obj


def script_method(fn: Callable) -> Callable:
    """Return the method unchanged (it runs eagerly on a :class:`ScriptModule` subclass)."""
    warn_deprecated("script_method")
    return fn


def trace(
    func: Any,
    example_inputs: Any = None,
    optimize: Any = None,
    check_trace: bool = True,
    check_inputs: list | None = None,
    check_tolerance: float = 1e-5,
    strict: bool = True,
    _force_outplace: bool = False,
    _module_class: Any = None,
    _compilation_unit: Any = None,
    example_kwarg_inputs: dict | None = None,
    _store_inputs: bool = True,
) -> Any:
    """Return ``func`` (a function or module) unchanged; it keeps running eagerly.

    Tracing records the ops one call makes; an eager function needs no record and also
    keeps its data-dependent control flow, which a trace would freeze. The example inputs
    (``example_inputs``, ``example_kwarg_inputs``) and the checks of the recorded trace
    (``check_trace``, ``check_inputs``, ``check_tolerance``, ``strict``) have nothing to act
    on, as in PyTorch with the JIT off.
    """
    warn_deprecated("trace")
    return func


def trace_module(
    mod: Any,
    inputs: Any,
    optimize: Any = None,
    check_trace: bool = True,
    check_inputs: list | None = None,
    check_tolerance: float = 1e-5,
    strict: bool = True,
    _force_outplace: bool = False,
    _module_class: Any = None,
    _compilation_unit: Any = None,
    example_inputs_is_kwarg: bool = False,
    _store_inputs: bool = True,
) -> Any:
    """Return ``mod`` unchanged (``inputs`` maps method names to example inputs, which only
    tracing would use); see :func:`trace`."""
    warn_deprecated("trace_module")
    return mod


def _refuse(mod: Any, what: str, subject: str) -> None:
    """PyTorch's error for a module that is not a compiled ScriptModule, or chainrule's for a
    subclass of its eager :class:`ScriptModule`."""
    if not isinstance(mod, ScriptModule):
        raise RuntimeError(
            f"{subject} expects a ScriptModule as input. Please use torch.jit.script or "
            "torch.jit.trace to script your 'nn.Module'. (chainrule's cr.jit.script returns "
            "the module itself, so no module is ever a compiled ScriptModule: use the module "
            "as it is, in eval mode.)"
        )
    raise NotImplementedError(
        f"cr.jit.{what}: {type(mod).__name__} subclasses cr.jit.ScriptModule, which is an "
        "eager nn.Module in chainrule; there is no compiled graph to optimize: use the module "
        "as it is, in eval mode"
    )


def freeze(
    mod: Any, preserved_attrs: list[str] | None = None, optimize_numerics: bool = True
) -> Any:
    """Refuse, as PyTorch does with the JIT off: freezing needs a compiled ScriptModule.

    Raises:
        RuntimeError: ``mod`` is not a ScriptModule (PyTorch's error), or is one still in
            training mode.
        NotImplementedError: ``mod`` subclasses :class:`ScriptModule` (an eager module
            here).
    """
    warn_deprecated("freeze")
    if isinstance(mod, ScriptModule) and mod.training:
        raise RuntimeError(
            "Freezing is currently only implemented for modules in eval mode. Please call "
            ".eval() on your module before freezing."
        )
    _refuse(mod, "freeze", "Freezing")


def optimize_for_inference(mod: Any, other_methods: list[str] | None = None) -> Any:
    """Refuse, as PyTorch does with the JIT off; see :func:`freeze`.

    Raises:
        RuntimeError: ``mod`` is not a ScriptModule (PyTorch's error).
        NotImplementedError: ``mod`` subclasses :class:`ScriptModule`.
    """
    warn_deprecated("optimize_for_inference")
    _refuse(mod, "optimize_for_inference", "optimize_for_inference")


def save(m: Any, f: Any, _extra_files: dict | None = None) -> None:
    """Refuse: a TorchScript archive holds compiled code, which chainrule cannot produce.

    Raises:
        NotImplementedError: always; save the weights instead.
    """
    raise NotImplementedError(
        "cr.jit.save: chainrule cannot write TorchScript archives (it has no TorchScript "
        "compiler). Save the weights with cr.save(model.state_dict(), f) and, to use them, "
        "build the model in Python and call model.load_state_dict(cr.load(f))"
    )


def load(
    f: Any,
    map_location: Any = None,
    _extra_files: dict | None = None,
    _restore_shapes: bool = False,
) -> Any:
    """Refuse: a TorchScript archive holds compiled code, which chainrule cannot run.

    Raises:
        NotImplementedError: always; load a state dict instead.
    """
    raise NotImplementedError(
        "cr.jit.load: chainrule cannot read TorchScript archives (they hold compiled "
        "TorchScript code, which chainrule cannot run). In PyTorch, save the weights with "
        "torch.save(model.state_dict(), f); here build the model in Python and call "
        "model.load_state_dict(cr.load(f))"
    )
