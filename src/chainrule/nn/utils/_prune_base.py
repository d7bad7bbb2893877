"""The machinery of ``torch.nn.utils.prune``: :class:`BasePruningMethod` (the forward pre-hook
that re-parametrizes ``module.<name>`` as ``<name>_orig * <name>_mask``) and
:class:`PruningContainer` (the history of an iteratively pruned tensor).

Pruning ``<name>`` moves the Parameter to ``<name>_orig``, stores the 0/1 mask as the buffer
``<name>_mask`` and makes ``module.<name>`` a plain attribute holding ``orig * mask``, which
the hook recomputes before every forward: gradients reach ``<name>_orig`` masked, and
``state_dict`` holds ``<name>_orig`` and ``<name>_mask`` as in PyTorch. Pruning the same
tensor again combines the masks: the new method only sees what is still unpruned (the
remaining entries, the remaining channels, or, for ``'global'`` methods, everything).
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

from ...autograd.tensor import Tensor
from ...creation import ones_like
from ..module import Module

__all__ = ["BasePruningMethod", "PruningContainer"]


def _pre_hooks(module: Module) -> list:
    """The module's forward pre-hooks, in order."""
    return list(module._forward_pre_hooks.values())


def _drop_pre_hook(module: Module, hook: Any) -> None:
    """Unregister ``hook`` from the module's forward pre-hooks."""
    hooks = module._forward_pre_hooks
    for key in [k for k, h in hooks.items() if h is hook]:
        del hooks[key]


def _find_method(module: Module, name: str) -> BasePruningMethod | None:
    """The pruning hook acting on ``module.<name>``, if any (there is at most one)."""
    for hook in _pre_hooks(module):
        if isinstance(hook, BasePruningMethod) and getattr(hook, "_tensor_name", None) == name:
            return hook
    return None


def _check_scores(scores: Tensor, param: Tensor, name: str, module: Module) -> None:
    if not isinstance(scores, Tensor):
        raise TypeError(f"prune: importance_scores must be a Tensor, got {type(scores).__name__}")
    if tuple(scores.shape) != tuple(param.shape):
        raise AssertionError(
            f"importance_scores should have the same shape as parameter {name} of {module}, "
            f"got {scores.shape} vs {param.shape}"
        )


class BasePruningMethod(ABC):
    """Abstract base of pruning methods: subclasses set ``PRUNING_TYPE`` (``'unstructured'``,
    ``'structured'`` or ``'global'``) and implement :meth:`compute_mask`.

    An instance applied to a module is that module's forward pre-hook for ``_tensor_name``.
    """

    _tensor_name: str

    def __call__(self, module: Module, inputs: Any) -> None:
        """Forward pre-hook: ``module.<name> = <name>_orig * <name>_mask``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for ``t`` (its importance scores), on top of ``default_mask`` (the mask of
        earlier pruning, ones if none): entries zero in ``default_mask`` stay zero.
        """

    def apply_mask(self, module: Module) -> Tensor:
        """The pruned tensor ``<name>_orig * <name>_mask`` of ``module`` (a graph through
        ``<name>_orig``, so its gradient is masked)."""
        name = self._tensor_name
        return getattr(module, name + "_orig") * getattr(module, name + "_mask")

    @classmethod
    def apply(
        cls,
        module: Module,
        name: str,
        *args: Any,
        importance_scores: Tensor | None = None,
        **kwargs: Any,
    ) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, on top of earlier pruning.

        The first time, ``<name>`` becomes the Parameter ``<name>_orig`` plus the buffer
        ``<name>_mask`` and this method is registered as a forward pre-hook; afterwards the
        method joins the tensor's :class:`PruningContainer` (re-registered last) and the
        combined mask replaces ``<name>_mask``. Nothing changes when the method raises.

        Args:
            module: the module holding the parameter.
            name: the parameter's name in ``module``.
            *args: the method's constructor arguments.
            importance_scores: scores of ``<name>``'s shape that decide what to prune; None:
                the (already pruned) parameter itself.
            **kwargs: the method's constructor keyword arguments.

        Returns:
            The hook now acting on ``<name>``: the new method, or the container.
        """
        old = _find_method(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        hook: BasePruningMethod = method
        if old is not None:
            hook = old if isinstance(old, PruningContainer) else PruningContainer(old)
            hook.add_pruning_method(method)
            orig = module._parameters[name + "_orig"]
            default_mask = getattr(module, name + "_mask").detach().clone()
        else:
            orig = module._parameters.get(name)
            if orig is None:
                if hasattr(module, name):
                    raise TypeError(
                        f"prune: {name!r} of {type(module).__name__} is a "
                        f"{type(getattr(module, name)).__name__}, not a Parameter; only "
                        "parameters can be pruned"
                    )
                raise AttributeError(f"'{type(module).__name__}' object has no attribute '{name}'")
            default_mask = ones_like(orig)
        if importance_scores is not None:
            _check_scores(importance_scores, orig, name, module)
            scores = importance_scores
        else:
            scores = orig * default_mask if old is not None else orig
        try:
            mask = hook.compute_mask(scores, default_mask=default_mask)
        except Exception:
            if old is not None:  # the failed method leaves the history as it was
                old_methods = hook._pruning_methods[:-1]
                hook._pruning_methods = old_methods
            raise
        if old is None:
            del module._parameters[name]
            module.register_parameter(name + "_orig", orig)
            module.register_buffer(name + "_mask", mask)
        else:
            setattr(module, name + "_mask", mask)
            _drop_pre_hook(module, old)
        setattr(module, name, hook.apply_mask(module))
        module.register_forward_pre_hook(hook)
        return hook

    def prune(
        self,
        t: Tensor,
        default_mask: Tensor | None = None,
        importance_scores: Tensor | None = None,
    ) -> Tensor:
        """``t`` times the mask :meth:`compute_mask` draws from ``importance_scores`` (default:
        ``t``) on top of ``default_mask`` (default: ones)."""
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(t.shape):
                raise AssertionError("importance_scores should have the same shape as tensor t")
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``module.<name>`` is again a Parameter (the
        ``<name>_orig`` object, now holding the masked values); ``<name>_orig`` and
        ``<name>_mask`` are gone. The caller unregisters the hook (see ``prune.remove``)."""
        name = getattr(self, "_tensor_name", None)
        if name is None:
            raise ValueError(
                f"Module {module} has to be pruned by {type(self).__name__} before pruning "
                "can be removed"
            )
        weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters.pop(name + "_orig")
        orig.data = weight.detach()
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning history of one tensor: its methods in the order applied.

    :meth:`compute_mask` applies the latest method to what earlier ones left, as its
    ``PRUNING_TYPE`` says: ``'unstructured'`` on the entries still unpruned, ``'structured'``
    on the channels (along the method's ``dim``) not entirely pruned, ``'global'`` on the
    whole tensor; the result keeps every earlier zero.

    Args:
        *args: pruning methods, or iterables of them, all acting on the same tensor.
    """

    def __init__(self, *args: Any) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        for arg in args:
            methods = arg if isinstance(arg, Iterable) else [arg]
            for method in methods:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``; it must act on the container's tensor."""
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        name = getattr(method, "_tensor_name", None)
        if not hasattr(self, "_tensor_name"):
            if name is None:
                raise AttributeError(
                    f"PruningContainer: {type(method).__name__} has no _tensor_name (apply it "
                    "to a module first, or set the name of the tensor it prunes)"
                )
            self._tensor_name = name
        elif name != self._tensor_name:
            raise ValueError(
                "Can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}' to PruningContainer {self}. Found '{name}'"
            )
        self._pruning_methods = (*self._pruning_methods, method)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Iterator[BasePruningMethod]:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: int) -> BasePruningMethod:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the latest method's mask applied where it may act."""
        if not self._pruning_methods:
            raise RuntimeError("PruningContainer.compute_mask: the container holds no method")
        method = self._pruning_methods[-1]
        kind = getattr(method, "PRUNING_TYPE", None)
        if kind == "global":
            return method.compute_mask(t, default_mask=default_mask)
        mask = default_mask.clone()
        if kind == "unstructured":
            keep = default_mask == 1
            mask[keep] = method.compute_mask(t[keep], default_mask=default_mask[keep]).to(
                dtype=mask.dtype
            )
            return mask
        if kind == "structured":
            dim = getattr(method, "dim", None)
            if dim is None:
                raise AttributeError(
                    f"structured pruning method {type(method).__name__} has no attribute 'dim'"
                )
            if not -t.dim() <= dim < t.dim():
                raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")
            dim = dim % t.dim()
            others = tuple(d for d in range(t.dim()) if d != dim)
            alive = (default_mask.sum(dim=others) != 0).nonzero().view(-1)
            index = (slice(None),) * dim + (alive,)
            part = method.compute_mask(t[index], default_mask=default_mask[index])
            mask[index] = part.to(dtype=mask.dtype)
            return mask
        raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")


def _validate_amount(amount: Any) -> None:
    """``amount`` is a count (int >= 0) or a fraction (float in [0, 1])."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0
    ):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative "
            "integer"
        )


def _count(amount: Any, size: int) -> int:
    """How many of ``size`` units ``amount`` prunes (a fraction rounds half to even, as
    Python's ``round``); a count above ``size`` is an error."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(
                f"amount={amount} should be smaller than the number of parameters to prune={size}"
            )
        return int(amount)
    return round(float(amount) * size)


def _channel_dim(t: Tensor, dim: int) -> int:
    """Check that ``t`` has channels along ``dim`` (structured pruning); the dim, >= 0."""
    if t.dim() <= 1:
        raise ValueError(
            "Structured pruning can only be applied to multidimensional tensors. Found tensor "
            f"of shape {t.shape} with {t.dim()} dims"
        )
    if not -t.dim() <= dim < t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")
    return dim % t.dim()
