"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import jit as _jit
from .._kernels import optim_more as _kernels
from ..backend import get_array_module
from ._array_math import addcmul_, lerp_
from ._flags import check_flags
from ._update_helpers import decay_weights_, regularized_grad
from .optimizer import Optimizer, _check_betas, _check_non_negative, _unpack_betas

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (PyTorch's ``torch.optim.RAdam``; Liu et al., 2020).

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2\\
        \rho_\infty &= \tfrac{2}{1-\beta_2} - 1, \qquad
            \rho_t = \rho_\infty - \tfrac{2 t \beta_2^t}{1-\beta_2^t}\\
        \hat m_t &= m_t / (1-\beta_1^t)\\
        \theta_t &= \theta_{t-1} - \gamma \hat m_t \, r_t \sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon)
            \quad\text{if } \rho_t > 5, \text{ else } \theta_{t-1} - \gamma \hat m_t\\
        r_t &= \sqrt{\tfrac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    In the first steps the variance of the adaptive learning rate is too large to trust, so
    RAdam takes plain momentum (SGD-like) steps: a built-in warm-up.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty (or decoupled, with ``decoupled_weight_decay=True``).
        decoupled_weight_decay: shrink the weights directly, as AdamW does.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
        capturable: CUDA graph capture; only False is supported (True raises
            NotImplementedError).
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        _check_non_negative("lr", lr, "RAdam")
        _check_non_negative("eps", eps, "RAdam")
        _check_betas(betas, "RAdam")
        _check_non_negative("weight_decay", weight_decay, "RAdam")
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": betas,  # as given: PyTorch keeps a list a list
                "eps": eps,
                "weight_decay": weight_decay,
                "decoupled_weight_decay": decoupled_weight_decay,
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "differentiable": differentiable,
            },
        )
        check_flags("RAdam", self.defaults)

    _state_writes = (
        ("exp_avg", 1, 1),
        ("exp_avg_sq", 2, 2),
    )  # PyTorch's exp_avg.lerp_; exp_avg_sq.mul_ and addcmul_

    def _check_group(self, group: dict[str, Any]) -> None:
        """PyTorch's step unpacks ``group["betas"]`` before anything else (a third value,
        which its constructor takes, fails here)."""
        _unpack_betas(group)

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)

    def _param_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's one write of the update, after ``param.mul_(1 - lr * weight_decay)``
        with a decoupled weight decay that is not zero."""
        return 2 if group.get("decoupled_weight_decay") and group["weight_decay"] != 0 else 1

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("RAdam", group)
        xp = get_array_module(param)
        lr = float(group["lr"])  # float: lr may be a Tensor
        beta1, beta2 = (float(b) for b in group["betas"])  # float: betas may be Tensors
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        bias1 = 1 - beta1**step
        bias2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias2
        rect = None
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
        if (
            type(param) is np.ndarray
            and _jit.backend() == "numba"
            and _fused.fused_step(
                _kernels.radam_step,
                param,
                grad,
                (exp_avg, exp_avg_sq),
                (
                    1 - lr * group["weight_decay"],
                    group["weight_decay"],
                    1 - beta1,
                    beta2,
                    1 - beta2,
                    bias1,
                    lr,
                    group["eps"],
                    bias2**0.5,
                    0 if rect is None else rect,
                    1,
                ),
                _fused.rule_mode(group) | (0 if rect is None else _kernels.RECTIFIED),
            )
        ):
            return  # one fused compiled pass (chainrule._kernels.optim_more), the same float ops
        decay_weights_(param, group)  # AdamW's decoupled decay: shrinks param in place
        grad = regularized_grad(param, grad, group)
        # PyTorch's single-tensor sequence, rounded as its CPU kernels round (_array_math)
        lerp_(exp_avg, grad, 1 - beta1)  # exact at beta1 = 0
        exp_avg_sq *= beta2
        addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
        update = exp_avg / bias1  # bias_corrected_exp_avg
        update *= lr
        if rect is not None:
            denom = xp.sqrt(exp_avg_sq)
            denom += group["eps"]
            # PyTorch's `bias2 ** 0.5 / denom` is denom.reciprocal() * (bias2 ** 0.5)
            adaptive = xp.reciprocal(denom)
            adaptive *= bias2**0.5
            update *= adaptive
            update *= rect
        param -= update  # param.add_(update, alpha=-1.0)
