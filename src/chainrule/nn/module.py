"""``Module``: the base class of every layer and model.

Assigning a :class:`Parameter`, a Module or a registered buffer to an attribute records
it (PyTorch's ``__setattr__`` registration), so ``parameters()``, ``state_dict()``,
``train()/eval()``, ``to()`` and hooks reach the whole tree without hand-written lists.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.tensor import Tensor
from ..backend import Device, get_array_module, to_device
from ..ops.memory_format import relayout_array
from . import _forward_hooks as _fh
from ._backward_hooks import _wrap_inputs, _wrap_outputs
from ._module_to import parse_module_to
from .parameter import Buffer, Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers and models: subclass it and implement ``forward``."""

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()  # {handle id: hook}, as PyTorch's
        d["_forward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["training"] = True

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call; call "
                "super().__init__() first in your module's __init__"
            )
        params, mods, bufs = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._drop(name, keep="_parameters")
            params[name] = value
        elif isinstance(value, Module):
            self._drop(name, keep="_modules")
            mods[name] = value
        elif isinstance(value, Buffer):
            self._drop(name, keep="_buffers")
            bufs[name] = Tensor._make(value._data, False, None, 0)
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
            mods[name] = None
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} "
                    "(Tensor or None expected)"
                )
            bufs[name] = value
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
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if "." in name or name == "":
            raise KeyError(f"add_module: invalid module name {name!r}")
        self._drop(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r}")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

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

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
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
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
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
        for m in self.modules():
            m.__dict__["training"] = mode
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
                    p.grad._data[...] = 0

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every submodule (children first) and on self, e.g. for init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, fn: Callable[[Tensor], Any]) -> "Module":
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for v in store.values():
                    if v is None:
                        continue
                    new = fn(v)
                    v._data = new
                    if isinstance(v, Parameter) and v.grad is not None:
                        v.grad._data = fn(v.grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move/cast parameters and buffers in place (dtype casts floating tensors only):
        ``to(device, dtype, non_blocking)``, ``to(dtype, non_blocking)`` or ``to(tensor,
        non_blocking)``, read by ``parse_module_to`` as PyTorch reads them; ``memory_format``
        re-lays out the 4-d and 5-d ones (``cr.channels_last``), as PyTorch does."""
        device, dtype, fmt = parse_module_to(args, kwargs)
        device = Device(device) if device is not None else None
        dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        if dtype is not None and dtype.kind not in "fcV":  # V: bfloat16
            raise TypeError(
                f"Module.to: only accepts floating point or complex dtypes, but "
                f"got desired dtype={dtype}"
            )

        def convert(t: Tensor):
            arr = t._data
            if device is not None:
                arr = to_device(arr, device)
            if dtype is not None and arr.dtype.kind in "fV":  # V: bfloat16
                arr = arr.astype(dtype, copy=False)
            if fmt is not None and arr.ndim in (4, 5):
                arr = relayout_array(arr, fmt, "Module.to")
            return arr

        return self._apply_to_tensors(convert)

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def half(self) -> "Module":
        return self.to(np.float16)

    def bfloat16(self) -> "Module":
        return self.to(dtypes.bfloat16_dtype())

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> "Module":
        return self.to(f"cuda:{device or 0}")

    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> "OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by dotted name (detached unless keep_vars)."""
        out = OrderedDict() if destination is None else destination
        for mod_name, mod in self.named_modules(prefix=prefix.rstrip(".")):
            base = f"{mod_name}." if mod_name else ""
            for k, p in mod._parameters.items():
                if p is not None:
                    out[base + k] = p if keep_vars else p.detach()
            for k, b in mod._buffers.items():
                if b is not None and k not in mod._non_persistent:
                    out[base + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into parameters and buffers; report or raise on key mismatches."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            arr = src._data if isinstance(src, Tensor) else np.asarray(src)
            if tuple(arr.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {k}: copying a param with shape "
                    f"{tuple(arr.shape)}, the shape in the current model is "
                    f"{tuple(target.shape)}"
                )
        if strict and (missing or unexpected):
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
            if unexpected:
                errors.append(
                    "Unexpected key(s) in state_dict: " + ", ".join(map(repr, unexpected))
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for k, target in own.items():
            if k in state_dict:
                src = state_dict[k]
                arr = src._data if isinstance(src, Tensor) else np.asarray(src)
                arr = to_device(arr, target.device)
                xp = get_array_module(target._data)
                xp.copyto(target._data, arr.astype(target.dtype, copy=False))
                target._vc[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ calling and hooks
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        backward = d["_backward_hooks"] or d.get("_backward_pre_hooks")
        if not (d["_forward_pre_hooks"] or d["_forward_hooks"] or backward):
            return self.forward(*args, **kwargs)
        args, kwargs = _fh.run_pre_hooks(self, d["_forward_pre_hooks"], args, kwargs)
        state = None
        if backward:
            state = {"grad_output": None}
            args = _wrap_inputs(self, args, state)
        done: set = set()
        try:
            out = self.forward(*args, **kwargs)
            out = _fh.run_hooks(self, d["_forward_hooks"], args, kwargs, out, done)
        except Exception:
            _fh.run_always_called(self, d["_forward_hooks"], args, kwargs, done)
            raise
        if state is not None:
            out = _wrap_outputs(self, out, state)
        return out

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

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        head = f"{type(self).__name__}("
        if not lines:
            return head + extra + ")"
        inner = ([extra] if extra else []) + lines
        return head + "\n  " + "\n  ".join(inner) + "\n)"


def _check_name(op: str, kind: str, name: Any) -> None:
    """Parameter/buffer names are non-empty strings without '.' (dots separate submodules)."""
    if not isinstance(name, str):
        raise TypeError(f"{op}: {kind} name should be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{op}: {kind} name can\'t contain ".", got {name!r}')
    if name == "":
        raise KeyError(f'{op}: {kind} name can\'t be empty string ""')
