"""``Module``: the base class of every layer and model.

Assigning a :class:`Parameter`, a Module or a registered buffer to an attribute records
it (PyTorch's ``__setattr__`` registration), so ``parameters()``, ``state_dict()``,
``train()/eval()``, ``to()`` and hooks reach the whole tree without hand-written lists.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from .._compile_arguments import check_compile_arguments, warn_runs_eagerly
from ..autograd.tensor import Tensor
from . import _forward_hooks as _fh
from . import _global_hooks as _gh
from ._forward_hooks import (
    _global_buffer_registration_hooks,
    _global_call_hooks,
    _global_module_registration_hooks,
    _global_parameter_registration_hooks,
)
from ._module_conversions import ModuleConversions
from ._state_dict import IncompatibleKeys, StateDictMixin, T_destination, _IncompatibleKeys
from .parameter import Buffer, Parameter

__all__ = ["IncompatibleKeys", "Module", "T_destination", "_IncompatibleKeys"]

_LEGACY_BACKWARD_HOOK = (
    "Module.register_backward_hook: PyTorch's deprecated non-full backward hook receives the "
    "gradients of the last autograd node of forward (for Linear: addmm's bias, input and "
    "weight.T), which depend on how each framework records the graph, so chainrule cannot "
    "reproduce them. Use register_full_backward_hook(hook): its grad_input are the gradients "
    "with respect to the module's inputs and its grad_output those of the module's outputs "
    "(register_full_backward_pre_hook(hook) if you only need grad_output)"
)


class Module(StateDictMixin, ModuleConversions):
    """Base class for layers and models: subclass it and implement ``forward``.

    ``state_dict``/``load_state_dict`` and their hooks come from
    :class:`~chainrule.nn._state_dict.StateDictMixin`.
    """

    training: bool
    dump_patches: bool = False
    call_super_init: bool = False  # True: __init__ passes its arguments on to the next class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not self.call_super_init and kwargs:
            raise TypeError(
                f"Module.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'"
            )
        if not self.call_super_init and args:
            raise TypeError(
                f"Module.__init__() takes 1 positional argument but {len(args) + 1} were given"
            )
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_non_persistent_buffers_set"] = d["_non_persistent"]  # PyTorch's name, same set
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()  # {handle id: hook}, as PyTorch's
        d["_forward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()
        d["training"] = True
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            # PyTorch lets plain attributes in before ``super().__init__()`` (TabNet's
            # ``self.dim = dim`` comes first); only the registered kinds need the stores
            kinds = ((Parameter, "parameters"), (Module, "module"), (Buffer, "buffer"))
            kind = next((k for t, k in kinds if isinstance(value, t)), None)
            if kind is None:
                object.__setattr__(self, name, value)
                return
            raise AttributeError(
                f"cannot assign {kind} before Module.__init__() call ({name!r}: call "
                "super().__init__() first in your module's __init__)"
            )
        params, mods, bufs = d["_parameters"], d["_modules"], d["_buffers"]
        # the Tensor test first: Parameter's metaclass check (a user's subclass flagged as a
        # parameter) runs in Python, so most values (numbers, modules) skip it
        if isinstance(value, Tensor) and isinstance(value, Parameter):
            self._drop(name, keep="_parameters")
            params[name] = _registered(_global_parameter_registration_hooks, self, name, value)
        elif isinstance(value, Module):
            self._drop(name, keep="_modules")
            mods[name] = _registered(_global_module_registration_hooks, self, name, value)
        elif isinstance(value, Buffer):
            self._drop(name, keep="_buffers")
            buf = Tensor._make(value._data, False, None, 0)
            bufs[name] = _registered(_global_buffer_registration_hooks, self, name, buf)
            if not value.persistent:
                d["_non_persistent"].add(name)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif name in mods:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module "
                    f"{name!r} (nn.Module or None expected)"
                )
            mods[name] = _registered(_global_module_registration_hooks, self, name, None)
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} "
                    "(Tensor or None expected)"
                )
            bufs[name] = _registered(_global_buffer_registration_hooks, self, name, value)
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name: str, keep: str = "") -> None:
        """Remove ``name`` from the plain attributes and from every store but ``keep``: a
        re-assigned parameter, module or buffer keeps its place in its own store (PyTorch's
        order of ``children()``, ``state_dict()`` and ``parameters()``)."""
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_modules", "_buffers"):
            if key != keep:
                d[key].pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d[key]:
                del d[key][name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be an nn.Parameter or None, "
                f"got {type(param).__name__}"
            )
        _check_name("register_parameter", "parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"register_parameter: attribute {name!r} already exists")
        self._drop(name, keep="_parameters")
        if param is not None:  # PyTorch's hooks see no None parameter
            param = _registered(_global_parameter_registration_hooks, self, name, param)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is saved in ``state_dict`` but not trained (e.g. running mean)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        _check_name("register_buffer", "buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        self._drop(name, keep="_buffers")
        self._buffers[name] = _registered(_global_buffer_registration_hooks, self, name, tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        # PyTorch's checks, in its order and with its texts
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._drop(name, keep="_modules")
        self._modules[name] = _registered(_global_module_registration_hooks, self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` (``""``: this module)."""
        return self._walk(target.split(".") if target else [])

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (``"block.linear.weight"``)."""
        *path, name = target.split(".")
        mod = self._walk(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def _walk(self, path: list[str]) -> "Module":
        """The submodule at the dotted ``path``, with PyTorch's error texts."""
        mod = self
        for item in path:
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``"block.bn.running_mean"``)."""
        *path, name = target.split(".")
        mod = self._walk(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``; the parent must exist, and with
        ``strict`` the replaced submodule too. An existing non-module attribute there is an
        error."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        *path, name = target.split(".")
        parent = self._walk(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    # ------------------------------------------------------------ traversal
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, "Module"]]:
        stack = [(prefix, self)]
        seen = memo if memo is not None else set()
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
            yield name, mod
            kids = [
                (f"{name}.{k}" if name else k, m) for k, m in mod._modules.items() if m is not None
            ]
            stack.extend(reversed(kids))

    def modules(self, remove_duplicate: bool = True) -> Iterator["Module"]:
        """This module and every submodule, depth first (a module reached twice is given once
        unless ``remove_duplicate=False``)."""
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        seen = set()
        for mod_name, mod in mods:
            for k, v in getattr(mod, store).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_name}.{k}" if mod_name else k), v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of parameter elements (shared parameters counted once)."""
        return int(
            sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
        )

    # ------------------------------------------------------------ modes and state
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError("train(): mode is expected to be a bool")
        self.__dict__["training"] = mode
        for child in self.children():  # each child's own train(), as torch (overrides run)
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:  # PyTorch's: detached in place, then zero_()
                        g.detach_()
                    elif g.requires_grad:
                        g.requires_grad_(False)
                    g._data[...] = 0
                    g._vc[0] += 1  # PyTorch's zero_(): an in-place change

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every submodule (children first) and on self, e.g. for init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ calling and hooks
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if not (
            d["_forward_pre_hooks"]
            or d["_forward_hooks"]
            or d["_backward_hooks"]
            or d.get("_backward_pre_hooks")
            or _global_call_hooks  # hooks for every module (register_module_*_hook)
        ):
            return self.forward(*args, **kwargs)
        return _gh.call_hooked(self, args, kwargs)

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> _fh.RemovableHandle:
        """``hook(module, args)`` runs before forward; may return replacement args. With
        ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``.
        ``prepend`` runs it before the hooks already registered."""
        return _fh.register(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> _fh.RemovableHandle:
        """``hook(module, args, output)`` runs after forward; may return a new output. With
        ``with_kwargs``: ``hook(module, args, kwargs, output)``. ``always_call`` also runs it
        (with output None) when forward raises; ``prepend`` puts it first."""
        return _fh.register(self._forward_hooks, hook, prepend, with_kwargs, always_call)

    def register_full_backward_hook(
        self, hook: Callable, prepend: bool = False
    ) -> _fh.RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's inputs are computed; may return a replacement ``grad_input`` tuple."""
        return _fh.register(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> _fh.RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradients with respect to the module's
        outputs are computed, before ``grad_input``; may return a replacement ``grad_output``
        tuple (of the same length)."""
        hooks = self.__dict__.setdefault("_backward_pre_hooks", OrderedDict())
        return _fh.register(hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable) -> _fh.RemovableHandle:
        """PyTorch's deprecated non-full backward hook: not available (see the error).

        Raises:
            NotImplementedError: always, naming ``register_full_backward_hook``.
        """
        raise NotImplementedError(_LEGACY_BACKWARD_HOOK)

    def compile(
        self,
        *,
        fullgraph: bool = False,
        dynamic: bool | None = None,
        backend: str | Callable | None = None,
        mode: str | None = None,
        options: dict | None = None,
        name: str | None = None,
        disable: bool = False,
        recompile_limit: int | None = None,
        isolate_recompiles: bool = False,
        shapes_spec: Any = None,
    ) -> None:
        """``Module.compile``: PyTorch compiles the module's call in place with
        :func:`cr.compile`'s arguments. chainrule has no compiler, so the arguments are
        checked as ``cr.compile`` checks them, a ``UserWarning`` says the module runs
        eagerly, and the module is left as it is (``disable=True``: silently)."""
        check_compile_arguments(backend, mode, options, where="Module.compile")
        if not disable:
            warn_runs_eagerly("Module.compile")

    # ------------------------------------------------------------ printing
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        # as torch: a one-line extra_repr without children stays inline; otherwise each line
        # of extra_repr and each child goes on its own line, indented by two spaces
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            child_lines.append(f"({name}): {body}")
        head = f"{self._get_name()}("
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        lines = extra_lines + child_lines
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _registered(hooks: OrderedDict, module: Module, name: str, value: Any) -> Any:
    """``value`` as the global registration ``hooks`` leave it (itself when there are none)."""
    return _gh.registered(hooks, module, name, value) if hooks else value


def _check_name(op: str, kind: str, name: Any) -> None:
    """Parameter/buffer names are non-empty strings without '.' (dots separate submodules)."""
    if not isinstance(name, str):
        raise TypeError(f"{op}: {kind} name should be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{op}: {kind} name can\'t contain ".", got {name!r}')
    if name == "":
        raise KeyError(f'{op}: {kind} name can\'t be empty string ""')
