"""Stochastic gradient descent, with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import dispatch_optim as _fused
from .._kernels import jit as _jit
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ._array_math import add_
from ._flags import check_flags, check_fused_options, check_fused_param
from ._update_helpers import regularized_grad
from .optimizer import Optimizer, _check_non_negative


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD``).

    With gradient :math:`g_t` of the loss at :math:`\theta_{t-1}`:

    .. math::
        g &\leftarrow g_t + \lambda\theta_{t-1} \quad(\text{weight decay})\\
        b_t &= g \;(t=1), \qquad b_t = \mu b_{t-1} + (1-\tau) g \;(t>1)\\
        g &\leftarrow g + \mu b_t \;(\text{nesterov}) \quad\text{or}\quad g \leftarrow b_t\\
        \theta_t &= \theta_{t-1} - \gamma g

    This is the lectures' momentum update :math:`d = \mu d + \alpha g` with the learning
    rate pulled out of the buffer, so the two agree for a constant learning rate.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma`.
        momentum: momentum factor :math:`\mu`.
        dampening: dampening :math:`\tau` for the momentum.
        weight_decay: L2 penalty :math:`\lambda`.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.
        foreach: PyTorch's choice of the multi-tensor (True) or per-parameter (False)
            implementation; any value is accepted and stored in the parameter groups, and
            selects nothing else: chainrule's one implementation computes the update rule
            that both compute (see ``chainrule.optim._flags``).
        differentiable: autograd through ``step``; only False is supported (True raises
            NotImplementedError).
        fused: PyTorch's fused-kernel implementation; accepted and stored like ``foreach``.
            As in PyTorch, ``fused=True`` with ``foreach=True`` or ``differentiable=True``
            raises RuntimeError, and so does a parameter that is not real floating point
            (at its first step).
    """

    _duplicates_read_state_first = True  # PyTorch's SGD (see Optimizer)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        _check_non_negative("lr", lr, "SGD", nan_ok=True)
        _check_non_negative("momentum", momentum, "SGD", nan_ok=True)
        _check_non_negative("weight_decay", weight_decay, "SGD", nan_ok=True)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
                "foreach": foreach,
                "differentiable": differentiable,
                "fused": fused,
            },
        )
        check_fused_options(fused, foreach, differentiable)
        check_flags("SGD", self.defaults)

    _state_writes = (
        ("momentum_buffer", 0, 2),
    )  # PyTorch's clone(grad) at the first step, then buf.mul_ and add_
    _has_fused = True  # a fused group bumps no version (_update_helpers.step_writes)

    def _grad_writes(self, group: dict[str, Any]) -> int:
        """PyTorch's multi-tensor Nesterov step adds the momentum buffers into the
        gradients in place (``_foreach_add_(grads, bufs, alpha=momentum)``: ``p.grad``
        holds ``grad + momentum * buf`` after the step, its version one more) where they
        are still the ``.grad`` tensors: no weight decay, no ``maximize`` (both make new
        ones first)."""
        return int(_writes_grads(group))

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_fused_param(param, group)

    def _update_sparse(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """A sparse ``.grad`` (``nn.Embedding(sparse=True)``): ``param += -lr * grad`` on the
        rows it lists (duplicates added one by one), as PyTorch's ``param.add_(grad,
        alpha=-lr)``; the rows it does not list are left as they are. With momentum the
        buffer is a sparse tensor too, as PyTorch's: the first gradient, then ``momentum *
        buf + (1 - dampening) * grad`` (its entries concatenated, so it lists every row any
        gradient listed); Nesterov steps along ``grad + momentum * buf``."""
        check_flags("SGD", group)
        # PyTorch's fused kernel takes dense gradients only; a group's foreach=True picks
        # the multi-tensor path before fused (PyTorch's sgd() tests foreach first)
        if group.get("fused") and not group.get("foreach"):
            raise RuntimeError("`_fused_sgd` does not support sparse gradients")
        if group["weight_decay"] != 0:  # PyTorch's grad.add(param, alpha=weight_decay)
            raise RuntimeError(
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
            )
        if group.get("maximize"):
            grad = -grad
        momentum = group["momentum"]
        if momentum != 0:
            with no_grad():
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = grad.detach().clone()
                elif isinstance(buf, Tensor):
                    buf = buf.mul(momentum).add(grad, alpha=1 - group["dampening"])
                else:  # a dense buffer (from dense gradients): PyTorch's in-place
                    # buf.mul_(momentum).add_(grad) keeps it dense
                    buf *= momentum
                    buf += (1 - group["dampening"]) * grad.to_dense()._data
                state["momentum_buffer"] = buf
                if not isinstance(buf, Tensor):
                    if group["nesterov"]:  # PyTorch's grad.add(buf): sparse + dense
                        raise RuntimeError(
                            "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
                        )
                    p._data -= float(group["lr"]) * buf
                    p._vc[0] += 1
                    return
                grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        rows = tuple(grad._indices()._data)
        np.add.at(p._data, rows, -float(group["lr"]) * grad._values()._data)
        p._vc[0] += 1  # an in-place change, as PyTorch records it

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        check_flags("SGD", group)
        lr, momentum = float(group["lr"]), group["momentum"]  # float: lr may be a Tensor
        # the Nesterov sum written into p.grad (foreach); the flag read first: ~30 ns a call
        in_grad = group["nesterov"] and _writes_grads(group)
        if type(param) is np.ndarray and not in_grad and _jit.backend() == "numba":
            # one fused compiled pass (chainrule._kernels.dispatch_optim.sgd, the same float
            # ops), a new momentum buffer filled by it; not taken (nothing done) where the
            # arrays do not suit it or the buffer is sparse (the NumPy path refuses it)
            buf, first = None, False
            if momentum != 0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf, first = np.empty_like(param), True
            if (buf is None or type(buf) is np.ndarray) and _fused.sgd(
                param,
                grad,
                buf,
                lr,
                momentum,
                group["dampening"],
                0 if group.get("decoupled_weight_decay") else group["weight_decay"],
                group["nesterov"],
                group.get("maximize"),
                first,
            ):
                if first:
                    state["momentum_buffer"] = buf
                return
        grad = regularized_grad(param, grad, group)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            elif isinstance(buf, Tensor):  # a sparse buffer (from sparse gradients)
                # PyTorch's buf.mul_(momentum).add_(grad): sparse += dense is refused
                raise RuntimeError(
                    "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
                )
            else:  # PyTorch's buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                buf *= momentum
                add_(buf, grad, 1 - group["dampening"])
            if group["nesterov"]:  # grad.add(buf, alpha=momentum): a new array
                if not in_grad or not _writable_grad(grad):  # (PyTorch's foreach path:
                    grad = np.array(grad, copy=True)  # into p.grad itself)
                add_(grad, buf, momentum)
            else:
                grad = buf
        add_(param, grad, -lr)  # param.add_(grad, alpha=-lr): one fma in float32


def _writes_grads(group: dict[str, Any]) -> bool:
    """Whether ``group``'s step is PyTorch's multi-tensor Nesterov one on the gradients
    themselves (``foreach=True``, no weight decay, no ``maximize``: ``SGD._grad_writes``)."""
    return bool(
        group["nesterov"]
        and group.get("foreach")
        and group["momentum"] != 0
        and group["weight_decay"] == 0
        and not group.get("maximize")
    )


def _writable_grad(grad: Any) -> bool:
    """Whether the foreach Nesterov step can add into ``grad`` in place: PyTorch's
    ``_foreach_add_`` refuses an expanded gradient (a zero stride), with its message; other
    read-only memory (a loaded array) is not written (False: a new array instead)."""
    flags = getattr(grad, "flags", None)
    if flags is None or flags.writeable:
        return True
    if any(st == 0 and n > 1 for st, n in zip(grad.strides, grad.shape)):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to "
            "a single memory location. Please clone() the tensor before performing the "
            "operation."
        )
    return False
