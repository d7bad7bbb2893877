"""RMSprop: steps scaled by a running average of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import jit as _jit
from ..backend import get_array_module
from ._array_math import add_, addcdiv_, addcmul_, lerp_
from ._flags import check_flags
from ._update_helpers import regularized_grad
from .optimizer import Optimizer, _check_non_negative


class RMSprop(Optimizer):
    r"""RMSprop (PyTorch's ``torch.optim.RMSprop``; Hinton's lecture 6e).

    .. math::
        g &\leftarrow g_t + \lambda\theta_{t-1}\\
        v_t &= \alpha v_{t-1} + (1-\alpha) g^2\\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g, \quad
            \tilde v_t = v_t - \bar g_t^2 \quad(\text{centered})\\
        b_t &= \mu b_{t-1} + g / (\sqrt{\tilde v_t} + \epsilon), \quad
            \theta_t = \theta_{t-1} - \gamma b_t \quad(\text{momentum} > 0)\\
        \theta_t &= \theta_{t-1} - \gamma g / (\sqrt{\tilde v_t} + \epsilon) \quad(\text{else})

    Unlike Adagrad the average forgets old gradients, so steps do not shrink forever.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        alpha: smoothing constant :math:`\alpha`.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda`.
        momentum: momentum factor :math:`\mu`.
        centered: normalize by the estimated variance instead of the raw second moment.
        capturable: CUDA graph capture; only False is supported (True raises
            NotImplementedError).
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check_non_negative("lr", lr, "RMSprop")
        _check_non_negative("eps", eps, "RMSprop")
        _check_non_negative("momentum", momentum, "RMSprop")
        _check_non_negative("weight_decay", weight_decay, "RMSprop")
        _check_non_negative("alpha", alpha, "RMSprop")
        super().__init__(
            params,
            {
                "lr": lr,
                "alpha": alpha,
                "eps": eps,
                "weight_decay": weight_decay,
                "momentum": momentum,
                "centered": centered,
                "capturable": capturable,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
            },
        )
        check_flags("RMSprop", self.defaults)

    _state_writes = (
        ("square_avg", 2, 2),
        ("grad_avg", 1, 1),
        ("momentum_buffer", 2, 2),
    )  # PyTorch's square_avg.mul_ and addcmul_; grad_avg.lerp_; buf.mul_ and addcdiv_
    _optional_state = {
        "grad_avg": lambda group: group["centered"],
        "momentum_buffer": lambda group: group["momentum"] > 0,
    }

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0
        state["square_avg"] = xp.zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(param)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("RMSprop", group)
        xp = get_array_module(param)
        alpha = group["alpha"]
        state["step"] += 1
        if type(param) is np.ndarray and _jit.backend() == "numba":
            if self._compiled_update(param, grad, state, group):
                return  # one fused compiled pass (chainrule._kernels.optim), the same float ops
        grad = regularized_grad(param, grad, group)
        square_avg = state["square_avg"]
        # PyTorch's single-tensor sequence, rounded as its CPU kernels round (_array_math)
        square_avg *= alpha
        addcmul_(square_avg, grad, grad, 1 - alpha)
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = xp.zeros_like(param)
            lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.array(square_avg, copy=True)  # square_avg.addcmul(grad_avg, grad_avg, -1)
            addcmul_(avg, grad_avg, grad_avg, -1)
            avg = xp.sqrt(avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        lr = float(group["lr"])  # float: lr may be a Tensor
        if group["momentum"] > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.zeros_like(param)
            buf *= group["momentum"]
            addcdiv_(buf, grad, avg, 1)
            add_(param, buf, -lr)
        else:
            addcdiv_(param, grad, avg, -lr)

    @staticmethod
    def _compiled_update(
        param: np.ndarray, grad: Any, state: dict[str, Any], group: dict[str, Any]
    ) -> bool:
        """The update below as one compiled pass
        (:func:`chainrule._kernels.dispatch_optim.rmsprop`), a missing ``grad_avg`` or
        momentum buffer made (zeros) as below; False (nothing done, nothing made) where it
        does not apply."""
        grad_avg = buf = None
        new = {}
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = new["grad_avg"] = np.zeros_like(param)
        momentum = group["momentum"]
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = new["momentum_buffer"] = np.zeros_like(param)
        wd = 0 if group.get("decoupled_weight_decay") else group["weight_decay"]
        done = _fused.rmsprop(
            param,
            grad,
            state["square_avg"],
            grad_avg,
            buf,
            float(group["lr"]),  # float: lr may be a Tensor
            group["alpha"],
            group["eps"],
            momentum,
            wd,
            group.get("maximize"),
        )
        if done:
            state.update(new)
        return done
