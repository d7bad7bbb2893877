"""Adam and AdamW: bias-corrected running averages of the gradient and its square."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import optim as _kernels
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._array_math import addcdiv_, addcmul_, lerp_
from ._flags import (
    check_flags,
    check_foreach_tensor_lr,
    check_foreach_tensor_options,
    check_fused_options,
    check_fused_param,
)
from ._update_helpers import decay_weights_, regularized_grad
from .optimizer import Optimizer, _check_betas, _check_non_negative, _unpack_betas


class Adam(Optimizer):
    r"""Adam (PyTorch's ``torch.optim.Adam``; Kingma & Ba, 2015).

    .. math::
        g &\leftarrow g_t + \lambda\theta_{t-1} \quad(\text{or } \theta_{t-1} \leftarrow
            (1-\gamma\lambda)\theta_{t-1} \text{ when decoupled})\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2\\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \;(\text{amsgrad}),
            \quad \hat v_t = v_t \;(\text{else})\\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, decay rates of the two averages, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay :math:`\lambda` (an L2 penalty on the gradient, unless
            ``decoupled_weight_decay``).
        amsgrad: use the running maximum of :math:`v_t` (Reddi et al., 2018).
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``). As in PyTorch, a Tensor
            ``lr`` or ``betas`` with ``foreach=True`` raises ValueError.
        maximize: maximize the objective instead of minimizing it.
        capturable: CUDA graph capture; only False is supported (True raises
            NotImplementedError).
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
        fused: PyTorch's fused-kernel implementation; accepted and stored like ``foreach``.
            As in PyTorch, ``fused=True`` with ``foreach=True`` or ``differentiable=True``
            raises RuntimeError, and so does a parameter that is not real floating point
            (at its first step).
        decoupled_weight_decay: shrink the weights directly, as AdamW does.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ):
        name = type(self).__name__
        if isinstance(lr, Tensor) and foreach and not capturable:  # PyTorch checks it first
            raise ValueError(
                "lr as a Tensor is not supported for capturable=False and foreach=True"
            )
        _check_non_negative("lr", lr, name)
        _check_non_negative("eps", eps, name)
        _check_betas(betas, name)
        _check_non_negative("weight_decay", weight_decay, name)
        pair = (betas[0], betas[1])  # PyTorch reads these two only (a third: see step)
        if not (
            all(isinstance(b, float) for b in pair) or all(isinstance(b, Tensor) for b in pair)
        ):  # PyTorch's rule: betas=(0, 0.99) (an int 0) is refused
            raise ValueError("betas must be either both floats or both Tensors")
        check_foreach_tensor_options(lr, pair, foreach, capturable)
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "differentiable": differentiable,
                "fused": fused,
                "decoupled_weight_decay": decoupled_weight_decay,
            },
        )
        check_fused_options(fused, foreach, differentiable)
        check_flags(name, self.defaults)

    def _update_sparse(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        raise RuntimeError(
            "Adam does not support sparse gradients, please consider SparseAdam instead"
        )

    # PyTorch's exp_avg.lerp_; exp_avg_sq.mul_ and addcmul_; maximum(..., out=max_exp_avg_sq)
    _state_writes = (("exp_avg", 1, 1), ("exp_avg_sq", 2, 2), ("max_exp_avg_sq", 1, 1))
    _optional_state = {"max_exp_avg_sq": lambda group: group["amsgrad"]}
    _has_fused = True  # a fused group bumps no version (_update_helpers.step_writes)

    def _check_group(self, group: dict[str, Any]) -> None:
        """PyTorch's step unpacks ``group["betas"]`` before anything else (a third value,
        which its constructor takes, fails here)."""
        _unpack_betas(group)

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_fused_param(param, group)
        xp = get_array_module(param)
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param)

    def _param_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's ``param.addcdiv_``, after ``param.mul_(1 - lr * weight_decay)`` with
        decoupled weight decay (AdamW) that is not zero."""
        return 2 if group.get("decoupled_weight_decay") and group["weight_decay"] != 0 else 1

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags(type(self).__name__, group)
        check_foreach_tensor_lr(group)
        lr, eps = float(group["lr"]), group["eps"]  # float: lr may be a Tensor
        beta1, beta2 = group["betas"]
        beta1, beta2 = float(beta1), float(beta2)  # float: betas may be Tensors
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5  # PyTorch's `** 0.5`, not sqrt
        weight = 1 - beta1  # exp_avg.lerp_(grad, weight), PyTorch's two-branch lerp
        wd = group.get("weight_decay", 0)
        amsgrad = group["amsgrad"]
        if amsgrad:  # made here too: a state loaded without it, or amsgrad turned on later
            max_sq = state.get("max_exp_avg_sq")
            if max_sq is None:
                max_sq = get_array_module(param).zeros_like(param)
                state["max_exp_avg_sq"] = max_sq
        if type(param) is np.ndarray and _fused.fused_step(
            _kernels.adam_amsgrad_step if amsgrad else _kernels.adam_step,
            param,
            grad,
            (exp_avg, exp_avg_sq, max_sq) if amsgrad else (exp_avg, exp_avg_sq),
            (
                weight,
                beta2,
                1 - beta2,
                bias_correction2_sqrt,
                eps,
                -step_size,
                wd,
                1 - lr * wd,
                1,
            ),
            _fused.rule_mode(group),
        ):
            return  # one fused compiled pass (chainrule._kernels.optim), the same float ops
        xp = get_array_module(param)
        # AdamW's decoupled decay shrinks param before the update (regularized_grad then
        # does not read param)
        decay_weights_(param, group)
        grad = regularized_grad(param, grad, group)
        # PyTorch's single-tensor sequence, rounded as its CPU kernels round (_array_math)
        lerp_(exp_avg, grad, weight)
        exp_avg_sq *= beta2
        addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
        if amsgrad:
            xp.maximum(max_sq, exp_avg_sq, out=max_sq)
            denom = xp.sqrt(max_sq)
        else:
            denom = xp.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += eps
        addcdiv_(param, exp_avg, denom, -step_size)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW``;
    Loshchilov & Hutter, 2019): each step first shrinks the weights,
    :math:`\theta \leftarrow (1-\gamma\lambda)\theta`, then takes the Adam step on the raw
    gradient, so the decay is not rescaled by the adaptive denominator.

    Args:
        params, lr, betas, eps, amsgrad, maximize, foreach, capturable, differentiable,
            fused: as for :class:`Adam` (``foreach`` and ``fused`` are stored and select
            nothing else; ``capturable=True`` and ``differentiable=True`` raise).
        weight_decay: decoupled weight decay :math:`\lambda` (default 1e-2).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
