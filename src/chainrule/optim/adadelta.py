"""Adadelta: unit-consistent steps from running averages of squared gradients and updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backend import get_array_module
from ._array_math import add_, addcmul_
from ._flags import check_flags
from ._update_helpers import regularized_grad
from .optimizer import Optimizer, _check_non_negative


class Adadelta(Optimizer):
    r"""Adadelta (PyTorch's ``torch.optim.Adadelta``; Zeiler, 2012).

    .. math::
        g &\leftarrow g_t + \lambda\theta_{t-1}\\
        v_t &= \rho v_{t-1} + (1-\rho) g^2\\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g, \qquad
            u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2\\
        \theta_t &= \theta_{t-1} - \gamma \Delta_t

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: coefficient :math:`\gamma` that scales :math:`\Delta` (1.0 in the paper).
        rho: decay rate :math:`\rho` of both running averages, in [0, 1].
        eps: added inside both square roots for numerical stability.
        weight_decay: L2 penalty :math:`\lambda`.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        capturable: CUDA graph capture; only False is supported (True raises
            NotImplementedError).
        maximize: maximize the objective instead of minimizing it.
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check_non_negative("lr", lr, "Adadelta")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative("eps", eps, "Adadelta")
        _check_non_negative("weight_decay", weight_decay, "Adadelta")
        super().__init__(
            params,
            {
                "lr": lr,
                "rho": rho,
                "eps": eps,
                "weight_decay": weight_decay,
                "maximize": maximize,
                "capturable": capturable,
                "foreach": foreach,
                "differentiable": differentiable,
            },
        )
        check_flags("Adadelta", self.defaults)

    _state_writes = (
        ("square_avg", 2, 2),
        ("acc_delta", 2, 2),
    )  # PyTorch's each buffer's mul_ and addcmul_

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0
        state["square_avg"] = xp.zeros_like(param)
        state["acc_delta"] = xp.zeros_like(param)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("Adadelta", group)
        xp = get_array_module(param)
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        grad = regularized_grad(param, grad, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        # PyTorch's single-tensor sequence, rounded as its CPU kernels round (_array_math)
        square_avg *= rho
        addcmul_(square_avg, grad, grad, 1 - rho)
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        addcmul_(acc_delta, delta, delta, 1 - rho)
        add_(param, delta, -float(group["lr"]))  # float: lr may be a Tensor
