"""Muon: momentum SGD whose update is orthogonalised by a Newton-Schulz iteration."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..backend import get_array_module
from ._array_math import lerp
from .optimizer import Optimizer, _check_number

__all__ = ["Muon"]

_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def _zeropower_via_newtonschulz(
    grad: Any, ns_coefficients: tuple[float, float, float], ns_steps: int, eps: float
) -> Any:
    """Approximately orthogonalise a 2-d array (U S V^T -> U S' V^T, S' ~ 1) by ``ns_steps``
    steps of the quintic X <- a X + (b A + c A^2) X, A = X X^T, after scaling X to unit
    Frobenius norm (Jordan et al.'s Muon; PyTorch's ``_zeropower_via_newtonschulz``).

    Deliberate difference: PyTorch runs the iteration in bfloat16 (fast on GPUs, ~3
    significant digits); chainrule runs it in the gradient's own dtype, so a float64 problem
    gets a float64 update. The formula and the steps are the same.
    """
    if ns_steps >= 100:
        raise ValueError("Muon: number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError(f"Muon: input tensor gradient must be a 2D matrix, got {grad.ndim}-d")
    if len(ns_coefficients) != 3:
        raise ValueError("Muon: coefficients must be a tuple of exactly 3 values")
    xp = get_array_module(grad)
    a, b, c = ns_coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = grad.T if tall else grad
    x = x / max(float(xp.sqrt(xp.vdot(x.ravel(), x.ravel()))), eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        update = b * gram + c * (gram @ gram)
        x = a * x + update @ x
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, ...]) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(Optimizer):
    r"""Muon (PyTorch's ``torch.optim.Muon``; Jordan et al., 2024) for 2-d parameters.

    .. math::
        B_t &= \mathrm{lerp}(B_{t-1}, G_t, 1-\mu), \qquad
            U_t = \mathrm{lerp}(G_t, B_t, \mu) \;(\text{nesterov}) \text{ or } B_t\\
        O_t &= \mathrm{NewtonSchulz}(U_t), \qquad
        \theta_t = (1 - \gamma\lambda)\theta_{t-1} - \gamma' O_t

    with :math:`\gamma' = \gamma\sqrt{\max(1, A/B)}` (``adjust_lr_fn`` None or
    ``"original"``) or :math:`0.2\gamma\sqrt{\max(A, B)}` (``"match_rms_adamw"``) for an
    A x B parameter. Biases, embeddings and other non-matrix parameters belong to another
    optimizer (e.g. AdamW). See :func:`_zeropower_via_newtonschulz` for the one deliberate
    difference from PyTorch (the iteration's precision).

    Args:
        params: 2-d tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        weight_decay: decoupled weight decay :math:`\lambda`.
        momentum: momentum factor :math:`\mu`.
        nesterov: use Nesterov momentum.
        ns_coefficients: :math:`(a, b, c)` of the Newton-Schulz polynomial.
        eps: floor of the norm the update is divided by.
        ns_steps: Newton-Schulz steps (< 100).
        adjust_lr_fn: None, ``"original"`` or ``"match_rms_adamw"``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-07,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ):
        _check_number("lr", lr, "Muon")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        _check_number("momentum", momentum, "Muon")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        _check_number("weight_decay", weight_decay, "Muon")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(
            params,
            {
                "lr": lr,
                "weight_decay": weight_decay,
                "momentum": momentum,
                "nesterov": nesterov,
                "ns_coefficients": tuple(ns_coefficients),
                "eps": eps,
                "ns_steps": ns_steps,
                "adjust_lr_fn": adjust_lr_fn,
            },
        )
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a parameter with "
                        f"size: {p.size()}"
                    )

    _state_writes = (("momentum_buffer", 1, 1),)  # PyTorch's buf.lerp_

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        if param.dtype.kind == "c":
            raise RuntimeError("Muon does not support complex parameters")
        state["momentum_buffer"] = get_array_module(param).zeros_like(param)

    def _param_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's ``param.mul_(1 - lr * weight_decay)`` (whatever the weight decay, zero
        too), then ``param.add_`` of the orthogonalized update."""
        return 2

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        if grad.ndim != 2:
            raise ValueError("Muon: param gradient must be a 2D matrix")
        lr, momentum = float(group["lr"]), group["momentum"]
        buf = state["momentum_buffer"]
        buf[...] = lerp(buf, grad, 1 - momentum)
        update = lerp(grad, buf, momentum) if group["nesterov"] else buf
        update = _zeropower_via_newtonschulz(
            update, group["ns_coefficients"], group["ns_steps"], group["eps"]
        )
        adjusted = _adjust_lr(lr, group["adjust_lr_fn"], param.shape)
        param *= 1 - lr * group["weight_decay"]
        param -= adjusted * update.astype(param.dtype, copy=False)
