"""``nn.utils.parametrize``: express a tensor of a module as a function of other tensors.

``register_parametrization(module, "weight", P)`` moves the module's ``weight`` into
``module.parametrizations.weight.original`` (or ``original0``, ``original1``, ... when
``P.right_inverse`` returns several tensors) and makes ``module.weight`` a computed property
``P(original)``. Assigning ``module.weight = X`` stores ``P.right_inverse(X)`` in the
originals. The names, and so the ``state_dict`` keys, are PyTorch's; like PyTorch the module's
class is swapped for a per-instance subclass ``Parametrized<Class>`` that holds the property.

Why this design: training updates the originals, while the rest of the module (``forward``,
hooks) keeps reading ``self.weight`` unchanged — the same trick PyTorch uses, so weight norm,
spectral norm and user parametrizations (orthogonal, symmetric, ...) all share one mechanism.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ..layers.container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "transfer_parametrizations_and_params",
    "type_before_parametrizations",
]

_cache_depth = 0
_cache: dict = {}


@contextmanager
def cached() -> Iterator[None]:
    """Inside this context each parametrized tensor is computed once and reused."""
    global _cache_depth, _cache
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache = {}


def _set_data(target: Tensor, value: Tensor) -> None:
    """PyTorch's ``target.set_(value)`` under no_grad: take value's storage, bump the version."""
    target._data = value._data
    target._vc[0] += 1


def _register(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, plus its original tensor(s).

    Args:
        modules: the parametrizations (Modules); the first receives the originals.
        original: the tensor being parametrized (a Parameter or a buffer).
        unsafe: skip the shape/dtype consistency checks.
    """

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = tuple(original.shape), original.dtype
        with no_grad():
            new: Any = original
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:
                        pass  # PyTorch: registering keeps the tensor; assigning will raise
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(
                f"'right_inverse' must return a Tensor or a Sequence of tensors "
                f"(list, tuple...). Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != dtype:
                raise ValueError(
                    f"When `right_inverse` outputs one tensor, it may not change "
                    f"the dtype.\noriginal.dtype: {dtype}\n"
                    f"right_inverse(original).dtype: {new.dtype}"
                )
            if new is not original:
                _set_data(original, new.detach())
            _register(self, "original", original)
        else:
            for i, t in enumerate(new):
                if not isinstance(t, Tensor):
                    raise ValueError(
                        f"'right_inverse' must return a Tensor or a Sequence of "
                        f"tensors. Got element {i} of type {type(t).__name__}"
                    )
                t = t.detach()
                if isinstance(original, Parameter):
                    t = Parameter(t, original.requires_grad)
                _register(self, f"original{i}", t)
        if not unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
            if z.dtype != dtype or tuple(z.shape) != shape:
                raise ValueError(
                    f"Registering a parametrization may not change the dtype or "
                    f"shape of the tensor, unless `unsafe` flag is enabled.\n"
                    f"unparametrized dtype: {dtype}, shape {shape}\n"
                    f"parametrized dtype: {z.dtype}, shape {tuple(z.shape)}"
                )

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` by running every ``right_inverse`` backwards into the originals."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(
                        f"parametrization {type(m).__name__} does not implement right_inverse."
                    )
                value = m.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(
                        f"`right_inverse` should return a tensor. Got {type(value).__name__}"
                    )
                if value.dtype != self.original.dtype:
                    raise ValueError(
                        f"The tensor returned by `right_inverse` has dtype "
                        f"{value.dtype} while `original` has dtype "
                        f"{self.original.dtype}"
                    )
                _set_data(self.original, value.detach())
            else:
                if not isinstance(value, Sequence) or len(value) != self.ntensors:
                    raise ValueError(
                        f"'right_inverse' must return a sequence of {self.ntensors} tensors."
                    )
                for i, t in enumerate(value):
                    _set_data(getattr(self, f"original{i}"), t.detach())

    def forward(self) -> Tensor:
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _parametrized_class(base: type) -> type:
    """A fresh ``Parametrized<Base>`` subclass: assignment to a parametrized name runs the
    property's setter; deep copies get their own class; pickling is refused (as PyTorch)."""

    def __setattr__(self: Module, name: str, value: Any) -> None:
        if name in type(self)._parametrized_names:
            if isinstance(value, Parameter):  # PyTorch registers it, and the name is taken
                raise KeyError(f"attribute '{name}' already exists")
            object.__setattr__(self, name, value)  # the property's setter: right_inverse
        else:
            base.__setattr__(self, name, value)

    def __deepcopy__(self: Module, memo: dict) -> Module:
        if id(self) in memo:
            return memo[id(self)]
        cls = type(self)
        new_cls = _parametrized_class(base)
        for n in cls._parametrized_names:
            setattr(new_cls, n, cls.__dict__[n])
            new_cls._parametrized_names.add(n)
        replica = object.__new__(new_cls)
        memo[id(self)] = replica
        replica.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return replica

    def __getstate__(self: Module) -> Any:
        raise RuntimeError(
            "Serialization of parametrized modules is only supported through state_dict()."
        )

    return type(
        f"Parametrized{base.__name__}",
        (base,),
        {
            "__setattr__": __setattr__,
            "__deepcopy__": __deepcopy__,
            "__getstate__": __getstate__,
            "_parametrized_names": set(),
        },
    )


def _inject_new_class(module: Module) -> None:
    """Give ``module`` its own subclass, so parametrized properties stay per instance."""
    module.__class__ = _parametrized_class(module.__class__)


def _inject_property(module: Module, tensor_name: str) -> None:
    def get_parametrized(self: Module) -> Tensor:
        plist = self.parametrizations[tensor_name]
        if _cache_depth:
            key = (id(self), tensor_name)
            if key not in _cache:
                _cache[key] = plist()
            return _cache[key]
        return plist()

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))
    module.__class__._parametrized_names.add(tensor_name)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has any parametrization (or one on ``tensor_name``)."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Parametrize ``module.<tensor_name>`` as ``parametrization(original)``.

    Args:
        module: the module owning the tensor.
        tensor_name: name of a parameter or buffer (or an already parametrized tensor, to
            chain another parametrization after the existing ones).
        parametrization: a Module whose ``forward`` maps the original(s) to the tensor; an
            optional ``right_inverse`` maps a tensor back to the original(s).
        unsafe: skip checking that dtype and shape are preserved.

    Returns:
        The module (its class is now ``Parametrized<Class>``).

    Raises:
        TypeError: ``parametrization`` is not a Module.
        ValueError: no such tensor, or the parametrization changes its shape or dtype.
    """
    if not isinstance(parametrization, Module):
        raise TypeError(
            f"register_parametrization: parametrization must be an nn.Module, got "
            f"{type(parametrization).__name__}"
        )
    # PyTorch's: the parametrization takes the host's mode before its first call (the
    # check below), so a spectral_norm registered on a module in eval mode runs no power
    # iteration there
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor) or x.dtype != y.dtype or x.shape != y.shape:
                raise ValueError(
                    "Registering a parametrization may not change the dtype or "
                    "shape of the tensor, unless `unsafe` flag is enabled."
                )
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
        return module
    if tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
        return module
    raise ValueError(
        f"Module '{type(module).__name__}' does not have a parameter, a buffer, or "
        f"a parametrized element with name '{tensor_name}'"
    )


def remove_parametrizations(
    module: Module, tensor_name: str, leave_parametrized: bool = True
) -> Module:
    """Undo :func:`register_parametrization` on ``tensor_name``.

    Args:
        leave_parametrized: keep the current parametrized value (True) or the original (False;
            only possible when a single original tensor exists).
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(
            f"Module {type(module).__name__} does not have a parametrization on {tensor_name}"
        )
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
            _set_data(original, t.detach())
    else:
        if not leave_parametrized:
            raise ValueError(
                "Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                "that is parametrized in terms of a sequence of tensors."
            )
        with no_grad():
            t = getattr(module, tensor_name)
        if isinstance(plist.original0, Parameter):
            original = Parameter(t.detach(), plist.original0.requires_grad)
        else:
            original = t.detach()
    delattr(module.__class__, tensor_name)
    module.__class__._parametrized_names.discard(tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class as it was before parametrization (``Linear`` for the per-instance
    ``ParametrizedLinear``)."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(
    from_module: Module, to_module: Module, tensor_name: str | None = None
) -> Module:
    """Register on ``to_module`` the parametrizations of ``from_module`` (all, or only
    ``tensor_name``'s) and make it share their original tensors; a tensor that ``to_module``
    lacks is first created there as a Parameter (``torch.nn.utils.parametrize``).

    Returns:
        ``to_module``.
    """
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        source = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name)))
        for param_func in source:
            register_parametrization(to_module, name, param_func)
        target = to_module.parametrizations[name]
        if hasattr(source, "original"):
            target.original = source.original
        else:
            num = 0
            while hasattr(source, f"original{num}"):
                setattr(target, f"original{num}", getattr(source, f"original{num}"))
                num += 1
    return to_module
