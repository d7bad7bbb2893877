"""Adafactor: Adam-like steps with a factored (row x column) second-moment estimate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._array_math import lerp
from ._flags import check_flags
from .optimizer import Optimizer, _check_number

__all__ = ["Adafactor"]

_FACTORED = ("row_var", "col_var")


class Adafactor(Optimizer):
    r"""Adafactor (PyTorch's ``torch.optim.Adafactor``; Shazeer & Stern, 2018).

    For a matrix-shaped gradient (and batches of them: the last two dims) only a row and a
    column average of :math:`g^2` are kept, so the state is O(rows + cols) instead of
    O(rows · cols). With :math:`\hat\beta_{2,t} = 1 - t^{c}` (:math:`c` = ``beta2_decay``):

    .. math::
        \rho_t &= \min(\gamma, 1/\sqrt t), \qquad
            \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\rho_t\\
        \theta_{t-1} &\leftarrow (1 - \gamma\lambda)\theta_{t-1}\\
        R_t &= \mathrm{lerp}(R_{t-1}, \mathrm{mean}_{\text{cols}}(g^2), t^{c}), \quad
            C_t = \mathrm{lerp}(C_{t-1}, \mathrm{mean}_{\text{rows}}(g^2), t^{c})\\
        \hat V_t &= R_t C_t / \max(\mathrm{mean}(R_t), \epsilon_1)
            \quad(\text{vectors: } \hat V_t = \mathrm{lerp}(V_{t-1}, g^2, t^c))\\
        U_t &= g / \sqrt{\max(\hat V_t, \epsilon_1^2)}, \qquad
        \theta_t = \theta_{t-1} - \frac{\alpha_t}{\max(1, \mathrm{RMS}(U_t)/d)} U_t

    Like PyTorch (and unlike the paper) ``eps[0]`` is added to the denominator, defaulting to
    the machine epsilon of the parameter dtype, and ``lr`` caps the relative step size.
    (PyTorch takes that default from the first parameter of a group and reuses it for the
    rest; chainrule takes each parameter's own dtype, which differs only for a group that
    mixes float dtypes.)

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: maximum relative step size :math:`\gamma` (also scales the weight decay).
        beta2_decay: :math:`c \le 0`, the decay exponent of :math:`\hat\beta_2`.
        eps: :math:`(\epsilon_1, \epsilon_2)`; :math:`\epsilon_1` None means the dtype's
            machine epsilon.
        d: update clipping threshold (>= 1).
        weight_decay: decoupled weight decay :math:`\lambda`.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ):
        _check_number("lr", lr, "Adafactor")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1, eps2), got {eps!r}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": tuple(eps),
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        check_flags("Adafactor", defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        # PyTorch refuses a complex parameter before it updates any of the group's
        for p in group["params"]:
            if p.grad is not None and p.dtype.is_complex:
                raise RuntimeError("Adafactor does not support complex parameters")

    _state_writes = (
        ("variance", 1, 1),
        ("row_var", 1, 1),
        ("col_var", 1, 1),
    )  # PyTorch's each buffer's lerp_

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        if param.dtype.kind == "c":
            raise RuntimeError("Adafactor does not support complex parameters")
        state["step"] = 0.0
        if param.ndim > 1:
            state["row_var"] = xp.zeros(param.shape[:-1] + (1,), dtype=param.dtype)
            state["col_var"] = xp.zeros(param.shape[:-2] + (1, param.shape[-1]), param.dtype)
        else:
            state["variance"] = xp.zeros_like(param)

    def _param_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's ``param.add_`` of the update, after ``param.mul_(1 - lr *
        weight_decay)`` for a weight decay that is not zero."""
        return 2 if group["weight_decay"] != 0 else 1

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("Adafactor", group)
        xp = get_array_module(param)
        lr, wd = float(group["lr"]), group["weight_decay"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(param.dtype).eps)
        grad = -grad if group["maximize"] else grad
        state["step"] += 1
        step = state["step"]
        weight = step ** group["beta2_decay"]  # 1 - beta2_t
        rho = min(lr, 1 / step**0.5)
        rms = float(xp.sqrt(xp.vdot(param.ravel(), param.ravel()))) / param.size**0.5
        alpha = max(eps2, rms) * rho
        if wd != 0:
            param *= 1 - lr * wd
        sq = grad * grad
        if grad.ndim > 1:
            row, col = state["row_var"], state["col_var"]
            row[...] = lerp(row, sq.sum(-1, keepdims=True) / grad.shape[-1], weight)
            col[...] = lerp(col, sq.sum(-2, keepdims=True) / grad.shape[-2], weight)
            var = row @ col
            var /= xp.maximum(row.mean(-2, keepdims=True), eps1)
        else:
            variance = state["variance"]
            variance[...] = lerp(variance, sq, weight)
            var = variance.copy()
        xp.maximum(var, eps1 * eps1, out=var)
        update = grad / xp.sqrt(var)
        norm = float(xp.sqrt(xp.vdot(update.ravel(), update.ravel())))
        denom = max(1.0, norm / (update.size**0.5 * group["d"]))
        param -= (alpha / denom) * update

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`Optimizer.load_state_dict`; the factored ``row_var``/``col_var`` (whose
        shapes differ from the parameter's) are checked against the shapes they must have."""
        held: dict[Any, dict[str, Any]] = {}
        stripped = {"state": {}, "param_groups": state_dict["param_groups"]}
        for key, saved in state_dict["state"].items():
            held[int(key)] = {k: v for k, v in saved.items() if k in _FACTORED}
            stripped["state"][key] = {k: v for k, v in saved.items() if k not in _FACTORED}
        super().load_state_dict(stripped)
        index = {
            int(i): p
            for g, sg in zip(self.param_groups, state_dict["param_groups"])
            for i, p in zip(sg["params"], g["params"])
        }
        for key, factored in held.items():
            p = index.get(key)
            if p is None or not factored:
                continue
            shape = tuple(p.shape)
            expect = {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1, shape[-1])}
            xp = get_array_module(p._data)
            for name, value in factored.items():
                arr = value._data if isinstance(value, Tensor) else value
                if len(shape) < 2 or tuple(arr.shape) != expect[name]:
                    raise ValueError(
                        f"Adafactor.load_state_dict: state {name!r} has shape "
                        f"{tuple(arr.shape)}; a parameter of shape {shape} needs "
                        f"{expect.get(name) if len(shape) >= 2 else 'no factored state'}"
                    )
                if (
                    isinstance(value, Tensor)
                    and get_array_module(arr) is xp
                    and arr.dtype == p._data.dtype
                    and getattr(arr.flags, "writeable", True)
                ):  # PyTorch's ``.to``: a tensor already of the right dtype is kept
                    self.state[p][name] = value
                else:  # a tensor, as every other state entry (never a bare array)
                    self.state[p][name] = Tensor._make(
                        xp.array(arr, dtype=p._data.dtype, copy=True), False, None, 0
                    )
