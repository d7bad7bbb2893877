"""ASGD: SGD with a decaying step and a running (Polyak-Ruppert) average of the iterates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backend import get_array_module
from ._array_math import scalar_dtype_round
from ._flags import check_flags
from ._update_helpers import regularized_grad
from .optimizer import Optimizer, _check_non_negative, _check_number

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (PyTorch's ``torch.optim.ASGD``; Polyak &
    Juditsky, 1992).

    .. math::
        g &\leftarrow g_t + \lambda_{wd}\theta_{t-1}\\
        \theta_t &= (1 - \lambda\eta_t)\theta_{t-1} - \eta_t g\\
        \bar\theta_t &= \bar\theta_{t-1} + \mu_t(\theta_t - \bar\theta_{t-1})
            \quad(\bar\theta_t = \theta_t \text{ while } \mu_t = 1)\\
        \eta_{t+1} &= \gamma / (1 + \lambda\gamma t)^{\alpha}, \qquad
        \mu_{t+1} = 1 / \max(1, t - t_0)

    The average is kept in ``state["ax"]``. As in PyTorch, ``eta`` and ``mu`` are stored
    rounded to the optimizer scalar dtype (float32 unless the default dtype is float64), so
    the parameters follow PyTorch's to rounding.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        lambd: decay term :math:`\lambda`.
        alpha: power :math:`\alpha` of the step-size decay.
        t0: the step after which averaging starts.
        weight_decay: L2 penalty :math:`\lambda_{wd}`.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (True raises).
        capturable: only False is supported (True raises).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        _check_non_negative("lr", lr, "ASGD")
        _check_non_negative("weight_decay", weight_decay, "ASGD")
        for key, value in (("lambd", lambd), ("alpha", alpha), ("t0", t0)):
            _check_number(key, value, "ASGD")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        check_flags("ASGD", defaults)
        super().__init__(params, defaults)

    _state_writes = (("ax", 1, 1),)  # PyTorch's ax.add_ (or copy_)

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0.0
        state["eta"] = scalar_dtype_round(float(group["lr"]))
        state["mu"] = 1.0
        state["ax"] = xp.zeros_like(param)

    def _param_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's per-parameter loop writes the parameter twice (``param.mul_(1 - lambd *
        eta)``, then ``param.add_(grad, alpha=-eta)``), its ``foreach=True`` kernel once
        (``foreach=None`` is the loop on the CPU, as PyTorch picks there)."""
        return 1 if group.get("foreach") else 2

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("ASGD", group)
        lr, lambd = float(group["lr"]), group["lambd"]
        state["step"] += 1
        step = state["step"]
        grad = regularized_grad(param, grad, group)
        eta, mu, ax = state["eta"], state["mu"], state["ax"]
        param *= 1 - lambd * eta  # decay term
        param -= eta * grad
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        state["eta"] = scalar_dtype_round(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = scalar_dtype_round(1 / max(1, step - group["t0"]))
