"""``Module``'s state-dict protocol, as PyTorch's: what ``state_dict()`` saves and how
``load_state_dict()`` loads it, module by module, through methods and hooks a user module
can override.

Why a protocol rather than one flat walk: user modules customise saving and loading. They
override ``_load_from_state_dict`` to rename or convert keys of old checkpoints, keep
non-tensor state with ``get_extra_state``/``set_extra_state``, and register hooks
(``register_load_state_dict_pre_hook``, ``register_state_dict_post_hook``, ...). Each module
of the tree is visited in turn:

* ``state_dict`` records ``{"version": cls._version}`` under the module's prefix in
  ``destination._metadata``, runs the pre hooks, ``_save_to_state_dict`` (parameters,
  persistent buffers, then ``get_extra_state()`` under ``_extra_state``), recurses into the
  children and runs the post hooks (a private ``_register_state_dict_hook`` may return a new
  dict);
* ``load_state_dict`` calls each module's ``_load_from_state_dict`` (which runs the load pre
  hooks, then copies) with the keys under its prefix and its ``local_metadata``, recurses,
  then runs the module's load post hooks, which may clear the missing/unexpected key lists
  to silence ``strict``. Errors are gathered and raised together, with PyTorch's texts.

The mixin holds no state of its own: the hook dicts live in the module's ``__dict__`` under
PyTorch's names (``_state_dict_hooks``, ``_state_dict_pre_hooks``,
``_load_state_dict_pre_hooks``, ``_load_state_dict_post_hooks``).
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from .. import __future__ as _future
from .._user_warnings import warn_at_caller
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from ..meta import MetaArray
from ..ops.inplace import check_writable_memory
from ..ops.sparse_tensor import SparseTensor
from ..utils.hooks import RemovableHandle
from ._state_dict_swap import swap_in
from .parameter import Parameter

__all__ = ["IncompatibleKeys", "StateDictMixin", "T_destination"]

T_destination = TypeVar("T_destination", bound=Mapping)

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

_POSITIONAL = (  # PyTorch's text, which filters match by its start
    "Positional args are being deprecated, use kwargs instead. Refer to "
    "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
    " for details."
)
_POST_HOOK_RETURNED = (
    "Hooks registered with ``register_load_state_dict_post_hook`` are not expected to return "
    "new values, if incompatible_keys need to be modified, it should be done inplace."
)


class _IncompatibleKeys(IncompatibleKeys):
    """What ``load_state_dict`` returns: ``(missing_keys, unexpected_keys)``, printed as
    ``<All keys matched successfully>`` when both are empty."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _PublicPostHook:
    """A ``register_state_dict_post_hook`` hook: unlike the private kind, it must return
    None (it may only change the dict in place)."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable) -> None:
        self.hook = hook

    def __call__(self, *args: Any) -> Any:
        return self.hook(*args)


class _WithModule:
    """A load pre hook that also receives the module it is registered on (held weakly, so
    the module and its hook dict do not keep each other alive; copies rebind to the copy)."""

    def __init__(self, hook: Callable, module: Any) -> None:
        self.hook, self.module = hook, weakref.ref(module)

    def __call__(self, *args: Any) -> Any:
        return self.hook(self.module(), *args)

    def __getstate__(self) -> dict:
        return {"hook": self.hook, "module": self.module()}

    def __setstate__(self, state: dict) -> None:
        self.hook, self.module = state["hook"], weakref.ref(state["module"])


def _hook_dict(module: Any, name: str) -> OrderedDict:
    """The module's hook dict ``name`` (made on first use for modules built without
    ``Module.__init__``'s dicts, e.g. unpickled from an older chainrule)."""
    d = module.__dict__.get(name)
    if d is None:
        d = module.__dict__[name] = OrderedDict()
    return d


def _register(module: Any, name: str, hook: Callable, entry: Any = None) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"{name[1:]}: hook must be callable, got {type(hook).__name__}")
    hooks = _hook_dict(module, name)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook if entry is None else entry
    return handle


def _is_placeholder(value: Any) -> bool:
    """An ``UninitializedParameter``/``UninitializedBuffer`` of a lazy module (shapeless)."""
    return isinstance(value, Tensor) and hasattr(type(value), "materialize")


def _as_array(value: Any) -> Any:
    """The array of a Tensor or a NumPy/CuPy array (chainrule's tensor-likes), else None."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "__array__") and hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    return None


def _size(shape: Any) -> str:
    return f"torch.Size({list(shape)})"


class StateDictMixin:
    """``Module``'s ``state_dict``/``load_state_dict`` and everything they call."""

    _version: int = 1
    T_destination = T_destination

    # ------------------------------------------------------------ extra state
    def get_extra_state(self) -> Any:
        """Override to return the module's non-tensor state; ``state_dict`` saves it under
        ``prefix + '_extra_state'`` (only for classes that override this method)."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called: "
            "override get_extra_state() in your module to save extra state"
        )

    def set_extra_state(self, state: Any) -> None:
        """Override to restore what ``get_extra_state`` returned; ``load_state_dict`` then
        expects the ``_extra_state`` key."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called: "
            "override set_extra_state() in your module to load extra state"
        )

    def _overrides(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(StateDictMixin, name)

    # ------------------------------------------------------------ hook registration
    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, prefix, keep_vars)`` runs before ``state_dict`` saves the module."""
        return _register(self, "_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` runs after the module and its
        children are saved; it may change ``state_dict`` in place and must return None."""
        return _register(self, "_state_dict_hooks", hook, _PublicPostHook(hook))

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """Private form of the post hook: a returned dict replaces this call's result."""
        return _register(self, "_state_dict_hooks", hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` runs before the module's keys are loaded (it may rename
        keys of ``state_dict`` in place)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(
        self, hook: Callable, with_module: bool = False
    ) -> RemovableHandle:
        """Private form: without ``with_module`` the hook gets no module argument."""
        entry = _WithModule(hook, self) if with_module and callable(hook) else None
        return _register(self, "_load_state_dict_pre_hooks", hook, entry)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, incompatible_keys)`` runs after the module's subtree is loaded; it
        may clear ``incompatible_keys.missing_keys``/``unexpected_keys`` in place (silencing
        ``strict``) and must return None."""
        return _register(self, "_load_state_dict_post_hooks", hook)

    # ------------------------------------------------------------ saving
    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        """Put this module's own state (not its children's) into ``destination``: parameters,
        persistent buffers (detached unless ``keep_vars``; a lazy module's placeholders as
        they are, as PyTorch saves them), then the extra state."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars or _is_placeholder(p) else p.detach()
        skip = self._non_persistent
        for name, b in self._buffers.items():
            if b is not None and name not in skip:
                destination[prefix + name] = b if keep_vars or _is_placeholder(b) else b.detach()
        if self._overrides("get_extra_state"):
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> Any:
        """Parameters, persistent buffers and extra state of the whole tree by dotted name.

        Args:
            destination: a dict to fill (default: a new ``OrderedDict`` carrying
                ``_metadata``, the ``{"version": ...}`` of every module by prefix).
            prefix: put before every key (``"model."``).
            keep_vars: keep the tensors attached to autograd (default: detached views).

        Passing these by position still works but warns (``FutureWarning``), as in PyTorch.
        """
        if args:
            if len(args) > 3:
                raise TypeError(
                    f"Module.state_dict takes at most 3 positional arguments (destination, "
                    f"prefix, keep_vars), got {len(args)}"
                )
            warnings.warn(_POSITIONAL, FutureWarning, stacklevel=2)
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in list(_hook_dict(self, "_state_dict_pre_hooks").values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(
                    destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
                )
        for hook in list(_hook_dict(self, "_state_dict_hooks").values()):
            result = hook(self, destination, prefix, local_metadata)
            if isinstance(hook, _PublicPostHook):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:
                destination = result
        return destination

    # ------------------------------------------------------------ loading
    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Load this module's own keys (``prefix + name``) from ``state_dict``; append to
        ``missing_keys``/``unexpected_keys``/``error_msgs`` instead of raising. Override it
        to rename or convert keys of old checkpoints, then call ``super()``."""
        lists = (missing_keys, unexpected_keys, error_msgs)
        for hook in list(_hook_dict(self, "_load_state_dict_pre_hooks").values()):
            hook(state_dict, prefix, local_metadata, strict, *lists)
        skip = self._non_persistent
        local = {k: v for k, v in self._parameters.items() if v is not None}
        local.update((k, v) for k, v in self._buffers.items() if v is not None and k not in skip)
        assign = bool(local_metadata.get("assign_to_params_buffers", False))
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            _load_one(self, name, key, target, state_dict[key], assign, error_msgs)
        extra_key = prefix + "_extra_state"
        own_keys = {prefix + k for k in local}
        if self._overrides("set_extra_state"):
            own_keys.add(extra_key)
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key not in own_keys:
                    head = key[len(prefix) :].split(".", 1)[0]
                    if head not in self._modules:
                        unexpected_keys.append(key)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Load parameters, buffers and extra state from ``state_dict`` into the whole tree.

        Args:
            state_dict: name -> tensor (or NumPy array), e.g. from ``state_dict()`` or
                ``cr.load``; its ``_metadata`` (module versions), if any, is passed on.
            strict: raise when keys are missing or unexpected (after the post hooks ran).
            assign: replace the parameters and buffers by the given tensors (keeping each
                parameter's ``requires_grad``) instead of copying values into them.

        Returns:
            ``_IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            TypeError: ``state_dict`` is not a mapping.
            RuntimeError: size mismatches, non-tensor values, failed copies, or (``strict``)
                missing/unexpected keys, all listed in one message.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list = []
        unexpected: list = []
        errors: list = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module: Any, local_state: dict, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(
                local_state, prefix, local_metadata, True, missing, unexpected, errors
            )
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = f"{prefix}{name}."
                    child_state = {
                        k: v for k, v in local_state.items() if k.startswith(child_prefix)
                    }
                    load(child, child_state, child_prefix)
            keys = _IncompatibleKeys(missing, unexpected)
            for hook in list(_hook_dict(module, "_load_state_dict_post_hooks").values()):
                if hook(module, keys) is not None:
                    raise AssertionError(_POST_HOOK_RETURNED)

        load(self, state_dict)
        if strict:
            if unexpected:
                listed = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {listed}. ")
            if missing:
                listed = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {listed}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)


_META_NO_OP = (  # PyTorch's words
    "for {}: copying from a non-meta parameter in the checkpoint to a meta parameter in the "
    "current model, which is a no-op. (Did you mean to pass `assign=True` to assign items in "
    "the state dictionary to their corresponding key in the module instead of copying them in "
    "place?)"
)


def _load_one(
    module: Any, name: str, key: str, target: Tensor, value: Any, assign: bool, errors: list
) -> None:
    """Load ``value`` into the parameter/buffer ``name`` of ``module`` (copy, or replace
    with ``assign``); a problem is appended to ``errors``."""
    arr = _as_array(value)
    if arr is None:
        errors.append(
            f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
            f"object from checkpoint but received {type(value)}"
        )
        return
    if isinstance(target, SparseTensor) or isinstance(value, SparseTensor):
        _load_sparse(module, name, key, target, value, assign, errors)
        return
    if _is_placeholder(target):
        if _is_placeholder(value):  # both shapeless: nothing to load yet
            return
    else:
        # a placeholder's shape raises (loading a lazy checkpoint into a built module)
        shape = tuple(value.shape) if isinstance(value, Tensor) else tuple(arr.shape)
        if len(target.shape) == 0 and shape == (1,):  # PyTorch reads a (1,) into a 0-d one
            arr = arr.reshape(())
        elif shape != tuple(target.shape):
            errors.append(
                f"size mismatch for {key}: copying a param with shape {_size(shape)} from "
                f"checkpoint, the shape in current model is {_size(target.shape)}."
            )
            return
    if _future.get_swap_module_params_on_conversion():
        if not isinstance(value, Tensor) or tuple(value.shape) != arr.shape:
            value = Tensor._make(arr, False, None, 0)
        swap_in(target, value, key, assign, errors)
        return
    if assign:
        new = value if isinstance(value, Tensor) else Tensor._make(arr, False, None, 0)
        if isinstance(target, Parameter):
            if isinstance(new, Parameter):
                new.requires_grad_(target.requires_grad)
            else:
                new = Parameter(new, requires_grad=target.requires_grad)
        setattr(module, name, new)
        return
    if type(target._data) is MetaArray and type(arr) is not MetaArray:  # nowhere to copy to
        warn_at_caller(_META_NO_OP.format(key))
        return
    try:
        _copy_into(target, arr)
    except Exception as ex:
        errors.append(
            f'While copying the parameter named "{key}", whose dimensions in the model are '
            f"{_size(target.shape)} and whose dimensions in the checkpoint are "
            f"{_size(arr.shape)}, an exception occurred : {ex.args}."
        )


def _load_sparse(
    module: Any, name: str, key: str, target: Tensor, value: Any, assign: bool, errors: list
) -> None:
    """:func:`_load_one` where the model's tensor or the checkpoint's is sparse COO: a sparse
    value is copied into a sparse buffer in place (its dtype and device kept), as torch's
    ``copy_`` does; dense into sparse or sparse into dense is torch's error."""
    shape = tuple(value.shape)
    if shape != tuple(target.shape):
        errors.append(
            f"size mismatch for {key}: copying a param with shape {_size(shape)} from "
            f"checkpoint, the shape in current model is {_size(target.shape)}."
        )
        return
    if assign and isinstance(value, Tensor):
        setattr(module, name, value)
        return
    if not (isinstance(target, SparseTensor) and isinstance(value, SparseTensor)):
        kinds = (t.type() if isinstance(t, Tensor) else type(t).__name__ for t in (target, value))
        errors.append(
            f'While copying the parameter named "{key}", whose dimensions in the model are '
            f"{_size(target.shape)} and whose dimensions in the checkpoint are "
            f"{_size(shape)}, an exception occurred : ('copy_() between dense and sparse "
            f"Tensors is not implemented! Found self type = {next(kinds)} and src type = "
            f"{next(kinds)}',)."
        )
        return
    fresh = value.detach().to(device=target.device, dtype=target.dtype).clone()
    target._sp_pattern, target._sp_values = fresh._sp_pattern, fresh._sp_values
    target._data = fresh._data
    target._vc[0] += 1


def _copy_into(target: Tensor, arr: Any) -> None:
    """``target.copy_(arr)`` without autograd: device move, dtype cast, version bump."""
    if np.iscomplexobj(arr) and not np.issubdtype(np.dtype(target._data.dtype), np.complexfloating):
        warnings.warn(
            "Casting complex values to real discards the imaginary part", UserWarning, stacklevel=5
        )
        arr = arr.real
    arr = to_device(arr, target.device)
    # an ``expand``ed buffer whose elements each have their own memory (BLIP-2 / HF BERT's
    # ``position_ids = torch.arange(n).expand((1, -1))``) is written through a writable alias,
    # as ``copy_`` does; one with shared elements is PyTorch's RuntimeError
    check_writable_memory(target, "copy_")
    xp = get_array_module(target._data)
    xp.copyto(target._data, arr.astype(target._data.dtype, copy=False))
    target._vc[0] += 1
