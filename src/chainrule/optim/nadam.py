"""NAdam: Adam with Nesterov momentum and a warming-up momentum schedule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import jit as _jit
from .._kernels import optim_more as _kernels
from ..backend import get_array_module
from ._array_math import addcdiv_, addcmul_, lerp_, scalar_dtype_round
from ._flags import check_flags
from ._update_helpers import decay_weights_, regularized_grad
from .optimizer import Optimizer, _check_betas, _check_non_negative, _unpack_betas


class NAdam(Optimizer):
    r"""NAdam (PyTorch's ``torch.optim.NAdam``; Dozat, 2016).

    .. math::
        \mu_t &= \beta_1 (1 - \tfrac12 \cdot 0.96^{t\psi}), \qquad
            \Pi_t = \textstyle\prod_{i\le t} \mu_i\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2\\
        d &= \sqrt{v_t / (1-\beta_2^t)} + \epsilon\\
        \theta_t &= \theta_{t-1} - \gamma\frac{1-\mu_t}{1-\Pi_t}\frac{g}{d}
            - \gamma\frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}}\frac{m_t}{d}

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay :math:`\lambda` (L2 on the gradient unless decoupled).
        momentum_decay: :math:`\psi` in the momentum schedule.
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
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        _check_non_negative("lr", lr, "NAdam")
        _check_non_negative("eps", eps, "NAdam")
        _check_betas(betas, "NAdam")
        _check_non_negative("weight_decay", weight_decay, "NAdam")
        _check_non_negative("momentum_decay", momentum_decay, "NAdam")
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": betas,  # as given: PyTorch keeps a list a list
                "eps": eps,
                "weight_decay": weight_decay,
                "momentum_decay": momentum_decay,
                "decoupled_weight_decay": decoupled_weight_decay,
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "differentiable": differentiable,
            },
        )
        check_flags("NAdam", self.defaults)

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
        state["mu_product"] = 1.0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)

    def _param_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's two ``param.addcdiv_`` (the gradient's and the momentum's parts), after
        ``param.mul_(1 - lr * weight_decay)`` with a decoupled weight decay that is not zero."""
        return 3 if group.get("decoupled_weight_decay") and group["weight_decay"] != 0 else 2

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("NAdam", group)
        xp = get_array_module(param)
        lr, psi = float(group["lr"]), group["momentum_decay"]  # lr may be a Tensor
        beta1, beta2 = (float(b) for b in group["betas"])  # float: betas may be Tensors
        state["step"] += 1
        step = state["step"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        # PyTorch keeps mu_product in a 0-d tensor of its scalar dtype (float32 unless the
        # default dtype is float64; a float64 parameter's dtype after load_state_dict) and
        # multiplies in that dtype: the same number here
        held = state["mu_product"]
        mu_product = scalar_dtype_round(held * scalar_dtype_round(mu, held), held)
        state["mu_product"] = mu_product
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        bias2 = 1 - beta2**step
        mu_product_next = mu_product * mu_next
        c1 = (-lr * (1.0 - mu)) / (1.0 - mu_product)  # the two addcdiv_ values
        c2 = (-lr * mu_next) / (1.0 - mu_product_next)
        if (
            type(param) is np.ndarray
            and _jit.backend() == "numba"
            and _fused.fused_step(
                _kernels.nadam_step,
                param,
                grad,
                (exp_avg, exp_avg_sq),
                (
                    1 - lr * group["weight_decay"],
                    group["weight_decay"],
                    1 - beta1,
                    beta2,
                    1 - beta2,
                    bias2,
                    group["eps"],
                    c1,
                    c2,
                    1,
                ),
                _fused.rule_mode(group),
            )
        ):
            return  # one fused compiled pass (chainrule._kernels.optim_more), the same float ops
        decay_weights_(param, group)  # AdamW's decoupled decay: shrinks param in place
        grad = regularized_grad(param, grad, group)
        # PyTorch's single-tensor sequence, rounded as its CPU kernels round (_array_math)
        lerp_(exp_avg, grad, 1 - beta1)  # exact at beta1 = 0
        exp_avg_sq *= beta2
        addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
        denom = xp.sqrt(exp_avg_sq / bias2)
        denom += group["eps"]
        addcdiv_(param, grad, denom, c1)
        addcdiv_(param, exp_avg, denom, c2)
