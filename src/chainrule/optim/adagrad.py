"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import jit as _jit
from .._kernels import optim_more as _kernels
from ..backend import get_array_module
from ._array_math import addcdiv_, addcmul_
from ._flags import check_flags, check_fused_options, check_fused_param
from ._state import store_state
from ._update_helpers import regularized_grad
from .optimizer import Optimizer, _check_non_negative


class Adagrad(Optimizer):
    r"""Adagrad (PyTorch's ``torch.optim.Adagrad``; Duchi et al., 2011).

    .. math::
        \tilde\gamma &= \gamma / (1 + (t-1)\eta) \quad(\text{lr decay } \eta)\\
        g &\leftarrow g_t + \lambda\theta_{t-1}\\
        r_t &= r_{t-1} + g \odot g\\
        \theta_t &= \theta_{t-1} - \tilde\gamma\, g / (\sqrt{r_t} + \epsilon)

    Coordinates whose past gradients were large take smaller steps: the lectures'
    :math:`d = g / (\delta + \sqrt{r})` with :math:`\delta = \epsilon`.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        lr_decay: learning-rate decay :math:`\eta`.
        weight_decay: L2 penalty :math:`\lambda`.
        initial_accumulator_value: starting value of :math:`r`.
        eps: added to the denominator for numerical stability.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
        fused: PyTorch's fused-kernel implementation; accepted and stored like ``foreach``.
            As in PyTorch, ``fused=True`` with ``foreach=True`` or ``differentiable=True``
            raises RuntimeError, and so does a parameter that is not real floating point
            (at its first step).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        _check_non_negative("lr", lr, "Adagrad")
        _check_non_negative("lr_decay", lr_decay, "Adagrad")
        _check_non_negative("weight_decay", weight_decay, "Adagrad")
        _check_non_negative("initial_accumulator_value", initial_accumulator_value, "Adagrad")
        _check_non_negative("eps", eps, "Adagrad")
        super().__init__(
            params,
            {
                "lr": lr,
                "lr_decay": lr_decay,
                "weight_decay": weight_decay,
                "initial_accumulator_value": initial_accumulator_value,
                "eps": eps,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
                "fused": fused,
            },
        )
        check_fused_options(fused, foreach, differentiable)
        check_flags("Adagrad", self.defaults)
        # PyTorch makes every parameter's state here, not at its first step: the state dict
        # of a fresh optimizer (or of one whose parameter never got a gradient) lists them.
        # Its sums start at this argument's value, even in a group that gives its own
        # initial_accumulator_value (and so do a group's added later, see _init_state)
        start = {"initial_accumulator_value": initial_accumulator_value}
        for group in self.param_groups:
            for p in group["params"]:
                state: dict[str, Any] = {}
                self._init_state(p._data, state, start)
                store_state(self.state[p], state)

    def share_memory(self) -> None:
        """Move each parameter's ``sum`` to shared memory (PyTorch's
        ``Adagrad.share_memory``, for Hogwild-style training in several processes)."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    def _update_sparse(
        self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """A sparse ``.grad`` (``nn.Embedding(sparse=True)``), as PyTorch: the gradient is
        coalesced (duplicate rows summed), then only the rows it lists change: ``sum[rows] +=
        g**2`` and ``param[rows] -= clr * g / (sqrt(sum[rows]) + eps)``.

        Raises:
            RuntimeError: the group has a weight decay (PyTorch's refusal).
        """
        check_flags("Adagrad", group)
        if group.get("fused"):  # PyTorch's fused kernel takes dense gradients only
            raise RuntimeError("`fused` does not support sparse grad or complex param")
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        if not state:
            self._init_state(p._data, state, group)
        state["step"] += 1
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * group["lr_decay"])
        grad = grad.coalesce()
        rows = tuple(grad._indices()._data)
        values = grad._values()._data
        if group.get("maximize"):
            values = -values
        acc = state["sum"]
        acc[rows] += values * values
        p._data[rows] -= clr * values / (np.sqrt(acc[rows]) + group["eps"])
        p._vc[0] += 1  # an in-place change, as PyTorch records it

    _state_writes = (("sum", 1, 1),)  # PyTorch's state_sum.addcmul_
    _has_fused = True  # a fused group bumps no version (_update_helpers.step_writes)

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0
        # PyTorch starts every sum at the constructor's value: also a group's added later
        # with its own initial_accumulator_value (its state is made at its first step)
        init = self.defaults["initial_accumulator_value"]
        # a complex parameter is a pair of reals: both parts start at the value, as PyTorch
        state["sum"] = xp.full_like(param, complex(init, init) if param.dtype.kind == "c" else init)

    def _update_parameter(self, p: Any, grad: Any, group: dict[str, Any]) -> None:
        # fused=True refuses a complex parameter at step, as PyTorch (its state exists from
        # __init__); checked here, before a complex parameter is viewed as reals
        check_fused_param(p._data, group)
        super()._update_parameter(p, grad, group)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("Adagrad", group)
        xp = get_array_module(param)
        state["step"] += 1
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * group["lr_decay"])
        acc = state["sum"]
        if (
            type(param) is np.ndarray
            and _jit.backend() == "numba"
            and _fused.fused_step(
                _kernels.adagrad_step,
                param,
                grad,
                (acc,),
                (-clr, group["weight_decay"], group["eps"]),
                _fused.rule_mode(group),
            )
        ):
            return  # one fused compiled pass (chainrule._kernels.optim_more), the same float ops
        grad = regularized_grad(param, grad, group)
        addcmul_(acc, grad, grad, 1)  # PyTorch's state_sum.addcmul_(grad, grad, value=1)
        std = xp.sqrt(acc)
        std += group["eps"]
        addcdiv_(param, grad, std, -clr)
