"""Rprop: per-element step sizes grown or shrunk by the sign agreement of gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backend import get_array_module
from ._flags import check_flags
from .optimizer import Optimizer, _check_non_negative

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Resilient backpropagation (PyTorch's ``torch.optim.Rprop``; Riedmiller & Braun, 1993).

    Only the sign of the gradient is used. Per element, with the previous gradient
    :math:`g_{t-1}` (zeroed after a sign change):

    .. math::
        \eta_t &= \min(\eta_{\max}, \eta_+ \eta_{t-1}) \text{ if } g_t g_{t-1} > 0,\quad
            \max(\eta_{\min}, \eta_- \eta_{t-1}) \text{ if } g_t g_{t-1} < 0,\quad
            \eta_{t-1} \text{ else}\\
        g_t &\leftarrow 0 \text{ where } g_t g_{t-1} < 0 \quad(\text{no step after a sign
            flip})\\
        \theta_t &= \theta_{t-1} - \eta_t\,\mathrm{sign}(g_t)

    The step sizes start at ``lr``. Complex parameters are treated as pairs of reals, as in
    PyTorch.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: initial step size.
        etas: :math:`(\eta_-, \eta_+)`, with :math:`0 < \eta_- < 1 < \eta_+`.
        step_sizes: :math:`(\eta_{\min}, \eta_{\max})`, the allowed step sizes.
        capturable: CUDA-graph capture; only False is supported (True raises).
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported (True raises).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check_non_negative("lr", lr, "Rprop")
        if len(etas) != 2:
            raise ValueError(f"Rprop: etas must be a pair (etaminus, etaplus), got {etas!r}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        if len(step_sizes) != 2:
            raise ValueError(f"Rprop: step_sizes must be a pair (min, max), got {step_sizes!r}")
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        check_flags("Rprop", defaults)
        super().__init__(params, defaults)

    _state_writes = (("prev", 1, 1), ("step_size", 2, 2))  # prev.copy_; step_size.mul_, clamp_

    def _state_buffer_writes(self, group: dict[str, Any]) -> tuple:
        """PyTorch's foreach kernel writes ``prev`` twice a step (thrice with ``maximize``,
        which negates the gradients in place first); its loop once."""
        if group.get("foreach"):
            n = 3 if group.get("maximize") else 2
            return (("prev", n, n), ("step_size", 2, 2))
        return self._state_writes

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        state["step"] = 0
        state["prev"] = xp.zeros_like(param)
        lr = float(group["lr"])
        state["step_size"] = xp.full_like(param, complex(lr, lr) if param.dtype.kind == "c" else lr)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("Rprop", group)
        xp = get_array_module(param)
        etaminus, etaplus = group["etas"]
        step_min, step_max = group["step_sizes"]
        state["step"] += 1
        prev, step_size = state["prev"], state["step_size"]
        # a new array either way (written below); out=: NumPy makes -grad a scalar when 0-d
        if group["maximize"]:
            grad = xp.negative(grad, out=xp.empty_like(grad))
        else:
            grad = grad.copy()
        if param.dtype.kind == "c":  # torch.view_as_real: each part on its own
            real = param.real.dtype
            param, grad = param.view(real), grad.view(real)
            prev, step_size = prev.view(real), step_size.view(real)
        prod = grad * prev
        factor = xp.where(prod > 0, etaplus, xp.where(prod < 0, etaminus, 1.0)).astype(
            param.dtype, copy=False
        )
        step_size *= factor
        xp.clip(step_size, step_min, step_max, out=step_size)
        grad[prod < 0] = 0
        param -= xp.sign(grad) * step_size
        prev[...] = grad
