"""``SparseAdam``: Adam for sparse gradients (PyTorch's ``torch.optim.SparseAdam``).

It updates only the rows a sparse gradient lists (an ``nn.Embedding(sparse=True)``'s
looked-up rows): the averages and the parameter elsewhere are left as they are, which is
not Adam on the dense gradient (whose zero rows would still decay the averages and move
the parameter). With the gradient coalesced to unique rows ``r`` and values ``g``:

    m_r <- m_r + (1 - beta1) (g - m_r)          v_r <- v_r + (1 - beta2) (g^2 - v_r)
    param_r <- param_r - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m_r / (sqrt(v_r) + eps)

evaluated in PyTorch's order, so the results agree to the last bit. A dense gradient raises
RuntimeError, as PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .optimizer import Optimizer, _check_number

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Adam restricted to the rows of sparse gradients (see the module docstring).

    Args:
        params: the parameters (dense tensors whose gradients are sparse) or param groups.
        lr: learning rate (> 0). betas: the averages' decay rates, each in [0, 1).
        eps: added to the root of the second moment (> 0). maximize: ascend instead.
    """

    _tensor_counters = False  # state["step"] is a Python int, as PyTorch's

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        _check_number("lr", lr, "SparseAdam")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        sparse_params = [
            [i, j]
            for i, group in enumerate(self.param_groups)
            for j, p in enumerate(group["params"])
            if p.is_sparse
        ]
        if sparse_params:
            raise ValueError(
                f"Sparse params at indices {sparse_params}: SparseAdam requires dense "
                "parameter tensors"
            )

    def _update_parameter(self, p: Tensor, grad: Any, group: dict[str, Any]) -> None:
        raise RuntimeError(
            "SparseAdam does not support dense gradients, please consider Adam instead"
        )

    def _update_sparse(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """One parameter's update from its sparse gradient (the rows it lists)."""
        param = p._data
        xp = get_array_module(param)
        grad = grad.coalesce()
        if group["maximize"]:
            grad = -grad
        rows = tuple(grad._indices()._data)
        values = grad._values()._data
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1  # as PyTorch: also for a gradient with no entries
        if values.size == 0:
            return
        beta1, beta2 = (float(b) for b in group["betas"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        old_exp_avg = exp_avg[rows]
        exp_avg_update = (values - old_exp_avg) * (1 - beta1)
        exp_avg[rows] += exp_avg_update
        old_exp_avg_sq = exp_avg_sq[rows]
        exp_avg_sq_update = (values**2 - old_exp_avg_sq) * (1 - beta2)
        exp_avg_sq[rows] += exp_avg_sq_update
        numer = exp_avg_update + old_exp_avg
        denom = xp.sqrt(exp_avg_sq_update + old_exp_avg_sq) + group["eps"]
        step = state["step"]
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = float(group["lr"]) * math.sqrt(bias_correction2) / bias_correction1
        param[rows] += -step_size * (numer / denom)
        p._vc[0] += 1  # an in-place change, as PyTorch records it
