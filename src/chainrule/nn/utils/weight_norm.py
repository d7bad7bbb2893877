"""The legacy, hook-based ``torch.nn.utils.weight_norm`` / ``remove_weight_norm``.

The parameter ``<name>`` is replaced by ``<name>_g`` (the norms) and ``<name>_v`` (the
direction); a forward pre-hook recomputes ``module.<name> = g * v / ||v||`` before each
forward, as PyTorch's deprecated API does (same parameter names, so ``state_dict`` keys and
checkpoints carry over). New code should use :func:`chainrule.nn.utils.parametrizations.
weight_norm`; calling this one emits PyTorch's ``FutureWarning``.
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ...autograd.tensor import Tensor
from ...ops.number_arguments import parser_int
from ..layers.lazy import UninitializedParameter
from ..module import Module
from ..parameter import Parameter
from .parametrizations import _norm_except_dim

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]

T_module = TypeVar("T_module", bound=Module)


class _NoSuchAttribute(AttributeError, ValueError):
    """weight_norm of a name the module does not have (PyTorch: AttributeError)."""


class _NotAParameter(KeyError, ValueError):
    """weight_norm of an attribute that is no parameter (PyTorch: KeyError)."""

    def __str__(self) -> str:  # the message, not KeyError's quoted repr of it
        return str(self.args[0])


class _NoneParameter(TypeError, ValueError):
    """weight_norm of a parameter slot holding None (PyTorch: TypeError)."""


class WeightNorm:
    """The forward pre-hook: recomputes ``module.<name>`` from ``<name>_g`` and ``<name>_v``.

    Args:
        name: the reparametrized parameter's name.
        dim: the dim kept by the norm; None or -1: one norm for the whole tensor.
    """

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        """w = v * (g / ||v||), norms over every dim but ``dim`` (a graph through g and v)."""
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        """Replace ``module.<name>`` by ``<name>_g``/``<name>_v`` and register the hook.

        Emits PyTorch's ``FutureWarning`` (its ``apply`` is the ``@deprecated`` part, so a
        program calling ``WeightNorm.apply`` directly, as CloserLookFewShot's ``distLinear``
        does, is warned too), attributed to the caller's line."""
        warnings.warn(
            "`torch.nn.utils.weight_norm` is deprecated in favor of "
            "`torch.nn.utils.parametrizations.weight_norm`.",
            FutureWarning,
            stacklevel=2,
        )
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        fn = WeightNorm(name, dim)
        weight = module._parameters.get(name)
        if isinstance(weight, UninitializedParameter):
            raise ValueError(
                "The module passed to `WeightNorm` can't have uninitialized parameters. "
                "Make sure to run the dummy forward before applying weight normalization"
            )
        if not isinstance(weight, Parameter):
            names = [k for k, p in module._parameters.items() if p is not None]
            message = (
                f"weight_norm: module {type(module).__name__} has no parameter named "
                f"{name!r} (parameters: {names})"
            )
            # PyTorch's types: no such attribute (AttributeError), a None parameter (its
            # norm_except_dim's TypeError), an attribute that is no parameter (KeyError);
            # each a ValueError too, as chainrule raised before
            if name in module._parameters:
                raise _NoneParameter(message)
            if not hasattr(module, name):
                raise _NoSuchAttribute(message)
            raise _NotAParameter(message)
        if fn.dim != -1 and not -weight.ndim <= fn.dim < weight.ndim:
            raise IndexError(
                f"weight_norm: dim {fn.dim} is out of range for a parameter with {weight.ndim} dims"
            )
        del module._parameters[name]
        data = weight.detach()
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(data, fn.dim)))
        module.register_parameter(name + "_v", Parameter(data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        """Fold g and v back into one Parameter ``<name>``."""
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: T_module, name: str = "weight", dim: int = 0) -> T_module:
    """Weight normalisation w = g · v / ||v|| (Salimans & Kingma, 2016) through a forward
    pre-hook: PyTorch's deprecated ``torch.nn.utils.weight_norm``.

    Args:
        module: the module to change (in place).
        name: the parameter to reparametrize.
        dim: the dim kept by the norm (0: one norm per output unit); None: one norm for the
            whole tensor.

    Returns:
        The module, with parameters ``<name>_g`` and ``<name>_v``.

    Raises:
        RuntimeError: ``name`` already has a weight_norm hook.
        ValueError: ``name`` is not an initialised parameter of ``module``.
    """
    if dim is not None and type(dim) is not int:  # PyTorch's norm_except_dim parser
        dim = parser_int("norm_except_dim", "dim", 3, dim, keywords=False)
    WeightNorm.apply(module, name, dim)  # warns (there, as PyTorch's: a direct call warns too)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`weight_norm`: ``module.<name>`` is a plain Parameter again.

    Raises:
        ValueError: ``module`` has no weight_norm hook for ``name``.
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
