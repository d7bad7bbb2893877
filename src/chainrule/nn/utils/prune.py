"""Pruning: ``torch.nn.utils.prune``.

Pruning ``module.<name>`` keeps the original values as the Parameter ``<name>_orig``, the 0/1
mask as the buffer ``<name>_mask``, and makes ``module.<name>`` their product, recomputed by a
forward pre-hook (the pruning method itself) before each forward. Pruning again combines the
masks (see :class:`PruningContainer`); :func:`remove` makes the pruning permanent.

>>> import chainrule as cr
>>> from chainrule.nn.utils import prune
>>> m = cr.nn.Linear(3, 2)
>>> with cr.no_grad():
...     _ = m.weight.copy_(cr.tensor([[0.5, -2.0, 0.1], [3.0, -0.2, 1.0]]))
>>> _ = prune.l1_unstructured(m, "weight", amount=2)
>>> m.weight_mask
tensor([[1., 1., 0.],
        [1., 0., 1.]])
>>> list(m.state_dict().keys())
['bias', 'weight_orig', 'weight_mask']
>>> _ = prune.remove(m, "weight")
>>> prune.is_pruned(m)
False
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from ...autograd.tensor import Tensor
from ...creation import ones_like
from ...ops.joining import cat
from ..module import Module
from ._prune_base import BasePruningMethod, PruningContainer, _find_method, _pre_hooks
from ._prune_base import _drop_pre_hook as _drop
from ._prune_methods import (
    CustomFromMask,
    Identity,
    L1Unstructured,
    LnStructured,
    RandomStructured,
    RandomUnstructured,
)

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]

T_module = TypeVar("T_module", bound=Module)


def identity(module: T_module, name: str) -> T_module:
    """Add the pruning re-parametrization of ``module.<name>`` with a mask of ones.

    Returns:
        ``module``, with ``<name>_orig``, ``<name>_mask`` and the forward pre-hook.
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module: T_module, name: str, amount: int | float) -> T_module:
    """Prune ``amount`` (a count, or a fraction of the unpruned entries) random entries of
    ``module.<name>``, drawn from chainrule's generator.

    Returns:
        ``module``, pruned in place.
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(
    module: T_module, name: str, amount: int | float, importance_scores: Tensor | None = None
) -> T_module:
    """Prune the ``amount`` (a count, or a fraction of the unpruned entries) entries of
    ``module.<name>`` of smallest magnitude (of ``importance_scores`` when given).

    Returns:
        ``module``, pruned in place.
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: T_module, name: str, amount: int | float, dim: int) -> T_module:
    """Prune ``amount`` (a count, or a fraction of the unpruned channels) random channels of
    ``module.<name>`` along ``dim``.

    Returns:
        ``module``, pruned in place.
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(
    module: T_module,
    name: str,
    amount: int | float,
    n: Any,
    dim: int,
    importance_scores: Tensor | None = None,
) -> T_module:
    """Prune the ``amount`` (a count, or a fraction of the unpruned channels) channels of
    ``module.<name>`` along ``dim`` of smallest L``n`` norm (``n`` as ``torch.norm``'s ``p``).

    Returns:
        ``module``, pruned in place.
    """
    LnStructured.apply(
        module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores
    )
    return module


def custom_from_mask(module: T_module, name: str, mask: Tensor) -> T_module:
    """Prune ``module.<name>`` with the given ``mask`` (same shape; its zeros are pruned).

    Returns:
        ``module``, pruned in place.
    """
    CustomFromMask.apply(module, name, mask=mask)
    return module


def global_unstructured(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: type[BasePruningMethod],
    importance_scores: dict | None = None,
    **kwargs: Any,
) -> None:
    """Prune several parameters together: ``pruning_method(**kwargs)`` (an ``'unstructured'``
    method, e.g. ``L1Unstructured`` with ``amount``) chooses among all their unpruned entries
    at once; each parameter then gets its share through :func:`custom_from_mask`.

    Args:
        parameters: ``(module, name)`` pairs.
        pruning_method: the method class.
        importance_scores: ``{(module, name): scores}``; a pair not in it is scored by its
            (already pruned) parameter.
        **kwargs: the method's arguments (``amount``: a count or a fraction of all the
            unpruned entries).

    Raises:
        TypeError: ``parameters`` is not iterable, or the method is not unstructured.
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    pairs = list(parameters)
    if not pairs:
        raise ValueError("global_unstructured(): parameters is empty; pass (module, name) pairs")
    scores_of = importance_scores if importance_scores is not None else {}
    if not isinstance(scores_of, dict):
        raise TypeError(
            "global_unstructured(): importance_scores must be a dict of (module, name) -> "
            f"Tensor, got {type(scores_of).__name__}"
        )
    scores, masks = [], []
    for module, name in pairs:
        param = getattr(module, name)
        score = scores_of.get((module, name), param)
        if tuple(score.shape) != tuple(param.shape):
            raise ValueError(
                f"global_unstructured(): importance_scores for {name!r} of "
                f"{type(module).__name__} have shape {score.shape}, the parameter {param.shape}"
            )
        mask = getattr(module, name + "_mask", None)
        scores.append(score.reshape(-1))
        masks.append((mask if mask is not None else ones_like(param)).reshape(-1))
    method = pruning_method(**kwargs)
    kind = getattr(method, "PRUNING_TYPE", None)
    if kind != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {kind}"
        )
    method._tensor_name = "global"
    container = PruningContainer(method)
    final = container.compute_mask(cat(scores), default_mask=cat(masks))
    start = 0
    for module, name in pairs:
        param = getattr(module, name)
        size = param.numel()
        custom_from_mask(module, name, mask=final[start : start + size].view(param.shape))
        start += size


def remove(module: T_module, name: str) -> T_module:
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` is a Parameter again,
    holding the pruned values; ``<name>_orig``, ``<name>_mask`` and the hook are gone.

    Raises:
        ValueError: ``module.<name>`` is not pruned.
    """
    hook = _find_method(module, name)
    if hook is None:
        raise ValueError(
            f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
        )
    hook.remove(module)
    _drop(module, hook)
    return module


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any submodule has a pruning hook."""
    return any(
        isinstance(hook, BasePruningMethod) for sub in module.modules() for hook in _pre_hooks(sub)
    )
