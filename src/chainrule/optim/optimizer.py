"""``Optimizer``: parameter groups, per-parameter state, and the step loop every optimizer shares.

A concrete optimizer only says how to start a parameter's state (``_init_state``) and how to
update one parameter from its gradient (``_update``). Both work on raw arrays (NumPy or CuPy,
through ``xp = get_array_module(...)``) and Python numbers, and change ``p._data`` in place, so
a step records no graph. What users see in ``optimizer.state[p]`` is PyTorch's: tensors
sharing those arrays' memory, and the counters (``step``, ASGD's ``eta``/``mu``, NAdam's
``mu_product``) as 0-d tensors, so ``state["step"].item()`` or ``state["exp_avg"].norm()``
carry over. ``_state.py``'s ``array_state`` unwraps a parameter's state for the rule and
``store_state`` writes the rule's results back (in place where the rule updated in place).
The layout of ``state_dict()`` is PyTorch's::

    {"state": {0: {"step": tensor(3.), "exp_avg": tensor(...), ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}]}

State holds tensors and plain numbers only, so a checkpoint can be written without pickling
objects (``cr.save``: tensors in PyTorch's format, which ``torch.load`` also reads).

PyTorch's hook API (step pre/post hooks per optimizer and for all optimizers, state-dict
hooks) is in ``_hooks.py``; every class's ``step`` is wrapped once, when the class is made.
The argument checks every constructor shares (``required``, ``lr``/``eps``/``betas`` with
PyTorch's texts, named parameters) are in ``_arguments.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._user_warnings import warn_at_caller
from ..autograd.grad_mode import enable_grad
from ..autograd.ieee import quiet_fp
from ..autograd.tensor import Tensor
from ..backend import get_array_module

# the argument checks (_arguments.py), re-exported: each optimizer imports them from here
from ._arguments import _check_beta as _check_beta
from ._arguments import _check_betas as _check_betas
from ._arguments import _check_non_negative as _check_non_negative
from ._arguments import _check_number, _split_names, required
from ._arguments import _unpack_betas as _unpack_betas

# re-exported under PyTorch's names in torch.optim.optimizer: the hook type aliases and the
# global step-hook registries
from ._hooks import GlobalOptimizerPostHook as GlobalOptimizerPostHook
from ._hooks import GlobalOptimizerPreHook as GlobalOptimizerPreHook
from ._hooks import (
    OptimizerHooksMixin,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)
from ._hooks import _global_optimizer_post_hooks as _global_optimizer_post_hooks
from ._hooks import _global_optimizer_pre_hooks as _global_optimizer_pre_hooks
from ._state import array_state, store_state
from ._state_dict import OptimizerStateDictMixin
from ._update_helpers import _update_as_real, step_writes

__all__ = [
    "Optimizer",
    "register_optimizer_step_post_hook",
    "register_optimizer_step_pre_hook",
]


class Optimizer(OptimizerStateDictMixin, OptimizerHooksMixin):
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors (one group), of ``(name, tensor)`` pairs
            (``model.named_parameters()``: the names are kept as the group's
            ``param_names``), or of dicts, each with a ``"params"`` entry and optional
            per-group options that override ``defaults``.
        defaults: the default option values (``lr``, ``momentum``, ...).

    Attributes:
        param_groups: list of dicts; ``group["params"]`` is the list of tensors and the other
            keys are the group's options (schedulers change ``group["lr"]`` between steps).
        state: per-parameter state dicts, keyed by the parameter tensor.
        defaults: the option values used where a group gives none.

    Hooks (PyTorch's API): ``register_step_pre_hook`` / ``register_step_post_hook`` (and the
    module's ``register_optimizer_step_pre_hook`` / ``..._post_hook`` for every optimizer),
    ``register_state_dict_pre_hook`` / ``..._post_hook`` and
    ``register_load_state_dict_pre_hook`` / ``..._post_hook``.
    """

    # set by add_param_group when a group lists a tensor twice (PyTorch warns and keeps both)
    _has_duplicate_params = False
    # PyTorch's SGD reads every parameter's state before updating any: each copy of a
    # repeated parameter that had no state when the step began starts its own (the last
    # one is kept). The other optimizers share one state, made at the first copy.
    _duplicates_read_state_first = False
    # PyTorch's built-in optimizers keep ``step`` (and ASGD's ``eta``/``mu``) as 0-d tensors;
    # SparseAdam keeps a Python int ``step``
    _tensor_counters = True
    # each parameter's state tensors have its shape (LBFGS: flat vectors over all of them)
    _shaped_state = True

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self._init_hooks()
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, but got a Tensor; "
                "pass [tensor] or model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer to fine-tune).

        A tensor that does not require grad is accepted, as in PyTorch (a frozen backbone
        inside ``model.parameters()``, or a layer to unfreeze later): it has no gradient, so
        ``step`` skips it until it gets one.

        Raises:
            TypeError: a parameter is not a Tensor, or params is an unordered set.
            ValueError: a parameter is not a leaf, appears in two groups, a required
                option (``lr`` with no default) is missing, or named and unnamed parameters
                are mixed (within the group, or with the other groups).

        A group that lists a tensor twice warns (PyTorch's UserWarning) and keeps both:
        ``step`` updates the tensor once per copy, as PyTorch does.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}.add_param_group: expected a dict, got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise KeyError(
                f"{name}.add_param_group: a parameter group must have a 'params' "
                f"key holding its tensors; got keys {sorted(param_group)}"
            )
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters need to be organized in ordered collections "
                "(a list or tuple), but got a set whose order changes between runs"
            )
        else:
            params = list(params)
        params, names = _split_names(params, name)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name} can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name} can't optimize a non-leaf Tensor (shape "
                    f"{tuple(p.shape)}); optimize the leaf it was computed from"
                )
        group = dict(param_group)
        group["params"] = params
        if names is not None:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(
                    f"{name}: parameter group didn't specify a value of required "
                    f"optimization parameter {key}"
                )
            group.setdefault(key, default)
            if (
                isinstance(default, (int, float))
                and not isinstance(default, bool)
                and default is not required
            ):
                _check_number(key, group[key], name)
        ids = {id(p) for p in params}
        if len(ids) != len(params):  # kept, as PyTorch does: each copy is updated in turn
            warn_at_caller(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                "more information"
            )
            self._has_duplicate_params = True
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                kind = "with" if "param_names" in group else "without"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {kind} names to the optimizer"
                )
            if any(id(p) in ids for p in other["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -------------------------------------------------------------------- step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: set ``p.grad = None`` (cheapest, the default) instead of filling
                it with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif type(g) is not Tensor and g.is_sparse:
                    p.grad = _zero_sparse_like(g)  # PyTorch's zero_(): no entries left
                else:
                    # PyTorch's: a .grad with history (backward(create_graph=True)) is
                    # detached in place (detach_, else requires_grad_(False)), then zero_()
                    if g.grad_fn is not None:
                        g.detach_()
                    elif g.requires_grad:
                        g.requires_grad_(False)
                    if getattr(g._data.flags, "writeable", True):  # CuPy has no flag
                        g._data.fill(0)
                        g._vc[0] += 1  # PyTorch's zero_(): an in-place change
                    else:  # read-only memory (a loaded memory map): new zeros instead
                        p.grad = Tensor._make(
                            get_array_module(g._data).zeros_like(g._data), False, None, 0
                        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (those with ``grad is None`` are skipped).

        Args:
            closure: optional function that clears the gradients, recomputes the loss, calls
                ``backward`` and returns the loss; it runs with gradient recording enabled.

        Returns:
            The closure's loss, or None.

        Every class's ``step`` (this one, a subclass's own) runs between the step hooks
        (``register_step_pre_hook``, ``register_optimizer_step_pre_hook``, ...).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        update = self._update_parameter
        with quiet_fp():  # inf/nan updates without NumPy's warnings, as PyTorch
            for group in self.param_groups:
                self._check_group(group)
                # read by _update_parameter; grad_writes: the step's writes into p.grad
                self._writes, self._buffer_writes, grad_writes = step_writes(self, group)
                restart = self._stateless_duplicates(group)
                for p in group["params"]:
                    grad = p.grad  # read once: a property
                    if grad is None:
                        continue
                    if restart and id(p) in restart:
                        self.state[p] = {}
                    if type(grad) is not Tensor and grad.is_sparse:
                        state = array_state(self.state[p])
                        self._update_sparse(p, grad, state, group)
                        store_state(self.state[p], state, self._tensor_counters, True)
                        if not self.state[p]:
                            del self.state[p]
                        continue
                    update(p, grad._data, group)
                    if grad_writes:
                        grad._vc[0] += grad_writes
        return loss

    def _update_sparse(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """A parameter whose ``.grad`` is sparse (``nn.Embedding(sparse=True)``): refused,
        as PyTorch's optimizers without a sparse rule refuse it (SGD, Adagrad and
        SparseAdam have one, which updates ``p`` and its array ``state`` in place)."""
        raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")

    def _check_group(self, group: dict[str, Any]) -> None:
        """Checks PyTorch makes of a whole group before updating any of its parameters
        (its ``_init_group``); none by default."""

    def _stateless_duplicates(self, group: dict[str, Any]) -> frozenset[int]:
        """The ids of the parameters whose every copy starts a new state in this step: only
        for an optimizer that reads states first (``_duplicates_read_state_first``, SGD)
        and a group with repeated parameters, the parameters with no state yet."""
        if not (self._has_duplicate_params and self._duplicates_read_state_first):
            return frozenset()
        return frozenset(id(p) for p in group["params"] if not self.state.get(p))

    def _update_parameter(self, p: Tensor, grad: Any, group: dict[str, Any]) -> None:
        """One parameter's update: state on first sight, then ``_update`` in place."""
        data = p._data
        if grad.shape != data.shape:
            raise RuntimeError(
                f"{type(self).__name__}.step: gradient shape {tuple(grad.shape)} does "
                f"not match parameter shape {tuple(data.shape)}"
            )
        entry = self.state[p]  # the rules fill the arrays' dict, never self.state itself
        state = array_state(entry)
        first = not state
        if first:
            self._init_state(data, state, group)
        if data.dtype.kind == "c":
            _update_as_real(self._update, data, grad, state, group)
        else:
            self._update(data, grad, state, group)
        if state:
            store_state(entry, state, stepped=True)
            # PyTorch's in-place writes into the state buffers (_state_writes)
            if not first:
                for key, _, per_step in self._buffer_writes:
                    buf = entry.get(key)
                    if buf is not None:
                        buf._vc[0] += per_step
            else:
                for key, at_first, _ in self._buffer_writes:
                    buf = entry.get(key)
                    if buf is not None:
                        buf._vc[0] = at_first
        elif not entry:  # no state kept (SGD without momentum): no entry, as PyTorch
            del self.state[p]
        p._vc[0] += self._writes  # PyTorch's in-place writes into p (_param_writes)

    # how many in-place writes PyTorch's step makes into each parameter of the group being
    # updated (its version counter moves by that much), and into each state buffer: set per
    # group by ``step``
    _writes = 1
    _buffer_writes: tuple = ()
    # (key, version after the first step, writes per later step) of each state buffer
    # PyTorch's step updates in place (``exp_avg.lerp_``: 1 a step; ``exp_avg_sq.mul_``
    # then ``addcmul_``: 2), the same for its foreach and per-parameter loops; a buffer the
    # first step makes from the gradient (SGD's ``clone(grad)``) starts at 0. The counters
    # (``step``, ``eta``, ...) move by one a step in ``store_state``.
    _state_writes: tuple = ()

    def _param_writes(self, group: dict[str, Any]) -> int:
        """How many in-place ops PyTorch's step applies to each parameter of ``group``
        (``p._version`` after a step moves by this): one by default (``param.add_``);
        an optimizer whose step also decays the parameter in place (``param.mul_``, AdamW's
        decoupled weight decay) or writes it twice (NAdam, ASGD's loop) says so. Read once
        per group and step, so a parameter's bump stays one integer add."""
        return 1

    def _state_buffer_writes(self, group: dict[str, Any]) -> tuple:
        """PyTorch's in-place writes into the state buffers of ``group``'s parameters per
        step (``state[key]._version`` after a step moves by these): the class's
        ``_state_writes``, less the buffers the group's flags leave out (``_optional_state``:
        no lookup per parameter for them); an optimizer whose counts depend on the group
        says so (Rprop's foreach kernel). Read once per group and step."""
        optional = self._optional_state
        if not optional:
            return self._state_writes
        return tuple(w for w in self._state_writes if w[0] not in optional or optional[w[0]](group))

    # state key -> whether a group keeps that buffer (Adam's max_exp_avg_sq with amsgrad)
    _optional_state: dict = {}
    _has_fused = False  # takes PyTorch's fused flag: _update_helpers.step_writes reads it

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Fill ``state`` for a parameter seen for the first time (arrays and numbers)."""

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update the array ``param`` in place from ``grad`` (kept, but where ``_grad_writes``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    def _counters_as_tensors(self) -> bool:
        """Whether loading turns an older checkpoint's number counters into tensors: PyTorch's
        built-in optimizers do (their ``__setstate__``); a subclass with its own ``step()``
        keeps its numbers as it saved them."""
        return type(self)._update is not Optimizer._update

    # -------------------------------------------------------------------- repr
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            if i:  # PyTorch: a blank line between groups
                lines.append("")
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _zero_sparse_like(g: Any) -> Any:
    """A sparse COO tensor of ``g``'s shape and dtype with no entries (what PyTorch's
    in-place ``zero_()`` leaves in a sparse gradient)."""
    from ..ops.sparse_construction import sparse_coo_tensor

    values = g._values()._data
    xp = get_array_module(values)
    indices = Tensor._make(xp.zeros((g.sparse_dim(), 0), dtype=np.int64), False, None, 0)
    empty = Tensor._make(xp.zeros((0, *values.shape[1:]), dtype=values.dtype), False, None, 0)
    return sparse_coo_tensor(indices, empty, tuple(g.shape), is_coalesced=True)
