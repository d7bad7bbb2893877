"""Adamax: Adam with the infinity norm in place of the root mean square."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import jit as _jit
from .._kernels import optim_more as _kernels
from ..backend import get_array_module
from ._array_math import addcdiv_, lerp_
from ._flags import check_flags
from ._update_helpers import regularized_grad
from .optimizer import Optimizer, _check_betas, _check_non_negative, _unpack_betas


class Adamax(Optimizer):
    r"""Adamax (PyTorch's ``torch.optim.Adamax``; Kingma & Ba, 2015, section 7).

    .. math::
        g &\leftarrow g_t + \lambda\theta_{t-1}\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g, \qquad
            u_t = \max(\beta_2 u_{t-1}, |g| + \epsilon)\\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\, m_t / u_t

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: added to :math:`|g|` so :math:`u_t` is never zero.
        weight_decay: L2 penalty :math:`\lambda`.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
        capturable: CUDA graph capture; only False is supported (True raises
            NotImplementedError).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        _check_non_negative("lr", lr, "Adamax")
        _check_non_negative("eps", eps, "Adamax")
        _check_betas(betas, "Adamax")
        _check_non_negative("weight_decay", weight_decay, "Adamax")
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": betas,  # as given: PyTorch keeps a list a list
                "eps": eps,
                "weight_decay": weight_decay,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
                "capturable": capturable,
            },
        )
        check_flags("Adamax", self.defaults)

    _state_writes = (
        ("exp_avg", 1, 1),
        ("exp_inf", 2, 2),
    )  # PyTorch's exp_avg.lerp_; exp_inf's two writes (amax into it, then its update)

    def _check_group(self, group: dict[str, Any]) -> None:
        """PyTorch's step unpacks ``group["betas"]`` before anything else (a third value,
        which its constructor takes, fails here)."""
        _unpack_betas(group)

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_inf"] = xp.zeros_like(param)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("Adamax", group)
        xp = get_array_module(param)
        beta1, beta2 = (float(b) for b in group["betas"])  # float: betas may be Tensors
        state["step"] += 1
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        clr = float(group["lr"]) / (1 - beta1 ** state["step"])
        if (
            type(param) is np.ndarray
            and _jit.backend() == "numba"
            and _fused.fused_step(
                _kernels.adamax_step,
                param,
                grad,
                (exp_avg, exp_inf),
                (-clr, group["weight_decay"], 1 - beta1, beta2, group["eps"], 1),
                _fused.rule_mode(group),
            )
        ):
            return  # one fused compiled pass (chainrule._kernels.optim_more), the same float ops
        grad = regularized_grad(param, grad, group)
        lerp_(exp_avg, grad, 1 - beta1)  # PyTorch's lerp_ (exact at beta1 = 0)
        exp_inf *= beta2
        norm = xp.abs(grad)
        norm += group["eps"]
        xp.maximum(exp_inf, norm, out=exp_inf)
        addcdiv_(param, exp_avg, exp_inf, -clr)
