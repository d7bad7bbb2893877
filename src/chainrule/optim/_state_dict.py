"""``Optimizer.state_dict`` / ``load_state_dict``: the optimizer's state in PyTorch's layout.

A mixin of :class:`~chainrule.optim.optimizer.Optimizer`, apart because saving and loading
(parameters replaced by their indices, state tensors cast to their parameter's dtype and
device, the state-dict hooks) is its own concern beside the step loop. The layout::

    {"state": {0: {"step": tensor(3.), "exp_avg": tensor(...), ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}]}
"""

from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from typing import Any

from ..autograd.tensor import Tensor
from ._state import cast_nested

__all__ = ["OptimizerStateDictMixin"]


class OptimizerStateDictMixin:
    """``state_dict`` and ``load_state_dict`` of every optimizer (PyTorch's)."""

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout: parameters are replaced by indices.

        The arrays in ``state`` are the live buffers (not copies), as in PyTorch; save or
        copy them before the next ``step`` if you need a snapshot. The state-dict pre hooks
        run first; each post hook may change the dict or return one that replaces it.
        """
        self._run_state_dict_pre_hooks()
        index: dict[int, int] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # a parameter's index is its position over all groups; PyTorch's, where a
            # repeated parameter takes the position of its last copy
            index.update((id(p), i) for i, p in enumerate(group["params"], start))
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(group["params"])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index and s}
        # a key that is no tensor (MADGRAD's step counter ``self.state['k']``) is saved as it
        # is, under its own key, as PyTorch packs it
        state.update((k, v) for k, v in self.state.items() if not isinstance(k, Tensor))
        return self._run_state_dict_post_hooks({"state": state, "param_groups": groups})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state produced by :meth:`state_dict` (of an optimizer over equally shaped
        parameters in the same order). A state tensor already of its parameter's dtype and
        device is kept as it is (PyTorch's ``.to``: loading a live optimizer's state dict
        shares its buffers); other tensors and arrays are copied to that dtype and device.

        The load-state-dict pre hooks get a shallow copy of ``state_dict`` (a dict one returns
        is loaded instead); the post hooks run at the end.

        Raises:
            ValueError: the number of groups or of parameters in a group differs, or a state
                array's shape does not match its parameter's.
        """
        state_dict = self._run_load_state_dict_pre_hooks(state_dict)
        name = type(self).__name__
        # a deep copy, as PyTorch's: the loaded groups share no list, dict or tensor with
        # ``state_dict`` (a later edit of one is not seen by the other)
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups\n"
                f"{name}.load_state_dict: the loaded state dict has {len(saved_groups)}, "
                f"the optimizer {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the "
                    "size of optimizer's group\n"
                    f"{name}.load_state_dict: parameter group {i} has "
                    f"{len(saved['params'])} parameters in the loaded state dict "
                    f"but {len(group['params'])} in the optimizer"
                )
            for idx, p in zip(saved["params"], group["params"]):
                by_index[int(idx)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        # PyTorch's built-in optimizers turn an older checkpoint's number ``step`` into a
        # tensor (their __setstate__); an Optimizer subclass with its own step() (Lion, Muon,
        # SparseAdam) keeps its numbers as it saved them
        counters = self._counters_as_tensors()
        # a subclass with its own step() keeps whatever state it likes (Shampoo's Kronecker
        # factors, GaLore's low-rank moments): PyTorch checks no shapes, so neither do we
        own_step = getattr(type(self).step, "__module__", None) or ""
        shaped = self._shaped_state and own_step.startswith("chainrule.")
        for key, saved in state_dict["state"].items():
            try:  # an index, or its text after a JSON round trip
                p = by_index.get(int(key))
            except (TypeError, ValueError):  # no index (MADGRAD's 'k'): kept, as PyTorch does
                new_state[key] = saved
                continue
            if p is None:  # an index of no parameter: kept under its key, as PyTorch does
                new_state[key] = saved
                continue
            new_state[p] = {
                k: cast_nested(v, p, k, name, counters, shaped) for k, v in saved.items()
            }
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            # kept as saved, as PyTorch: a list (``betas`` after a JSON round trip) stays one
            restored = {k: v for k, v in saved.items() if k != "params"}
            restored["params"] = group["params"]
            if "param_names" in group and "param_names" not in restored:
                restored["param_names"] = group["param_names"]  # PyTorch keeps the names
            new_groups.append(restored)
        # through __setstate__, as PyTorch: a subclass's override (Adan's
        # ``group.setdefault('no_prox', False)``) fills what an older checkpoint lacks
        self.__setstate__({"state": new_state, "param_groups": new_groups})
        self._run_load_state_dict_post_hooks()
